"""Pausing and resuming an instance's Claude: Neovim, the worktree and the branch stay; the Claude pane shows how
to resume, and resuming (also of an instance whose Claude exited) continues the same conversation."""

from __future__ import annotations

import shlex
from typing import Any

from tmuxclaude.controller.launch import respawn_claude, resume_args
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.controller.status import set_state
from tmuxclaude.controller.views import describe, find
from tmuxclaude.errors import InstanceError
from tmuxclaude.model.instance import InstanceState
from tmuxclaude.model.lifecycle import Event, Phase, phase_of, transition

__all__ = ["pause", "resume"]


async def pause(rt: Runtime, ref: str | None, client: ClientContext) -> dict[str, Any]:
    """Stop Claude (its pane shows how to resume); Neovim, the worktree and the branch stay."""
    async with rt.lock:
        inst = find(rt, ref, client)
        if inst.state is InstanceState.PAUSED:
            return describe(rt, inst)
        transition(inst.state, Event.PAUSE, name=inst.name)  # refuses orphaned, dead, exited
        message = f"paused by tmuxclaude; resume with: tmuxclaude resume {inst.name}"
        rt.tmux.respawn(
            inst.claude_pane,
            cwd=inst.worktree,
            cmd=["sh", "-c", f"printf '%s\\n' {shlex.quote(message)}; exec tail -f /dev/null"],
        )
        set_state(rt, inst.id, InstanceState.PAUSED)
        return describe(rt, rt.registry.get(inst.id) or inst)


async def resume(rt: Runtime, ref: str | None, client: ClientContext) -> dict[str, Any]:
    """Start Claude again in a paused (or exited) instance's pane, continuing its conversation."""
    async with rt.lock:
        inst = find(rt, ref, client)
        if phase_of(inst.state) is Phase.RUNNING:
            raise InstanceError(f"{inst.name} is not paused")
        state = transition(inst.state, Event.RESUME, name=inst.name)
        respawn_claude(rt, inst, resume_args(inst))
        set_state(rt, inst.id, state or InstanceState.IDLE)
        return describe(rt, rt.registry.get(inst.id) or inst)
