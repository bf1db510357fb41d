"""Pausing and resuming an instance's Claude: Neovim, the worktree and the branch stay; the Claude pane shows how
to resume, and resuming continues the same conversation."""

from __future__ import annotations

import shlex
from typing import Any

from tmuxclaude.controller.launch import claude_command, pane_env
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.controller.status import set_state
from tmuxclaude.controller.views import describe, find
from tmuxclaude.errors import InstanceError
from tmuxclaude.model.instance import InstanceState

__all__ = ["pause", "resume"]


async def pause(rt: Runtime, ref: str | None, client: ClientContext) -> dict[str, Any]:
    """Stop Claude (its pane shows how to resume); Neovim, the worktree and the branch stay."""
    inst = find(rt, ref, client)
    if inst.state is InstanceState.PAUSED:
        return describe(rt, inst)
    message = f"paused by tmuxclaude; resume with: tmuxclaude resume {inst.name}"
    rt.tmux.respawn(
        inst.claude_pane,
        cwd=inst.worktree,
        cmd=["sh", "-c", f"printf '%s\\n' {shlex.quote(message)}; exec tail -f /dev/null"],
    )
    set_state(rt, inst.id, InstanceState.PAUSED)
    return describe(rt, rt.registry.get(inst.id) or inst)


async def resume(rt: Runtime, ref: str | None, client: ClientContext) -> dict[str, Any]:
    """Start Claude again in the paused pane, continuing its conversation."""
    inst = find(rt, ref, client)
    if inst.state is not InstanceState.PAUSED:
        raise InstanceError(f"{inst.name} is not paused")
    args = ["--resume", inst.claude_session_id] if inst.claude_session_id else ["--continue"]
    rt.tmux.respawn(inst.claude_pane, cwd=inst.worktree, cmd=claude_command(rt, inst, args), env=pane_env(rt, inst))
    set_state(rt, inst.id, InstanceState.IDLE)
    return describe(rt, rt.registry.get(inst.id) or inst)
