"""Pausing and resuming an instance's Claude: Neovim, the worktree and the branch stay; the Claude pane shows how
to resume, and resuming continues the same conversation. Resuming also restarts a Claude that exited (its pane's
restart key and ``:ClaudeCodeResume`` come here too)."""

from __future__ import annotations

import shlex
from typing import Any

from tmuxclaude.controller.launch import respawn_claude, resume_args
from tmuxclaude.controller.lifecycle import apply
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.controller.views import describe, find
from tmuxclaude.errors import InstanceError
from tmuxclaude.model.instance import InstanceState
from tmuxclaude.model.lifecycle import Event, transition

__all__ = ["pause", "resume"]


async def pause(rt: Runtime, ref: str | None, client: ClientContext) -> dict[str, Any]:
    """Stop Claude (its pane shows how to resume); Neovim, the worktree and the branch stay."""
    async with rt.lock:
        inst = await find(rt, ref, client)
        if inst.state is InstanceState.PAUSED:
            return describe(rt, inst)
        transition(inst.state, Event.PAUSE, name=inst.name)  # refuses orphaned, dead, exited
        message = f"paused by tmuxclaude; resume with: tmuxclaude resume {inst.name}"
        rt.ports.tmux.respawn(
            inst.claude_pane,
            cwd=inst.worktree,
            cmd=["sh", "-c", f"printf '%s\\n' {shlex.quote(message)}; exec tail -f /dev/null"],
        )
        apply(rt, inst.id, Event.PAUSE)
        return describe(rt, rt.registry.get(inst.id) or inst)


async def resume(rt: Runtime, ref: str | None, client: ClientContext) -> dict[str, Any]:
    """Start Claude again in its pane (paused, or exited), continuing its conversation."""
    async with rt.lock:
        inst = await find(rt, ref, client)
        return restart(rt, inst.id)


def restart(rt: Runtime, instance_id: str) -> dict[str, Any]:
    """Respawn the Claude pane (same pane id) with ``--resume <session id>`` when one was recorded, else
    ``--continue`` (this worktree's latest conversation). The caller holds ``rt.lock``."""
    inst = rt.registry.get(instance_id)
    if inst is None:
        raise InstanceError(f"no instance {instance_id!r}")
    if inst.state not in (InstanceState.PAUSED, InstanceState.EXITED):
        raise InstanceError(f"{inst.name} is {inst.state.value}: only a paused or exited Claude is resumed")
    args = resume_args(inst)
    respawn_claude(rt, inst, args)
    apply(rt, inst.id, Event.RESUME, exit=None)
    rt.event(f"{inst.name}: Claude started again ({' '.join(args)})")
    return describe(rt, rt.registry.get(inst.id) or inst)
