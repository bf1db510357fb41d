"""When an instance's Claude exits: the pane launcher (``launch/claude.sh``) reports it through the pane channel
(controller/pane_channel.py). The instance becomes "exited"; what Claude last printed is read from its pane (before
the launcher prints its footer: the launcher waits for the answer), kept with the instance for ``ls --json`` and
told to every attached client when it is a failure or came right after the start.

A Claude that exited while no controller ran (its report found nobody) is noticed when the controller starts: its
launcher has no child left, and its footer says how Claude ended.
"""

from __future__ import annotations

import logging

from tmuxclaude.controller.lifecycle import apply_if_allowed
from tmuxclaude.controller.runtime import Runtime
from tmuxclaude.model.exits import ClaudeExit, error_headline, read_footer
from tmuxclaude.model.instance import Instance, InstanceState
from tmuxclaude.model.lifecycle import Event
from tmuxclaude.protocol.nvim_channel import Level

__all__ = ["claude_exited", "notice_lost_exits"]

log = logging.getLogger(__name__)

HISTORY_LINES = 200
"""How far back the pane is read for what Claude printed last."""

MESSAGE_S = 10
"""How long the exit message stays on the clients (tmux's default display-time, 750 ms, is easily missed)."""


def claude_exited(
    rt: Runtime, inst: Instance, status: int, elapsed: int, screen: list[str] | None = None
) -> ClaudeExit:
    """Mark ``inst`` exited, keep what its Claude said (read from ``screen``, default: its pane now), tell users."""
    tmux = rt.ports.tmux
    captured, width = tmux.capture(inst.claude_pane, history=HISTORY_LINES) if screen is None else (screen, 0)
    headline = error_headline(captured, width)
    ended = ClaudeExit(status=status, elapsed_s=elapsed, headline=headline, at=rt.ports.clock.time())
    apply_if_allowed(rt, inst.id, Event.CLAUDE_EXITED, exit=ended)
    rt.event(f"{inst.name}: Claude {ended.summary()}")
    if ended.worth_telling():
        # message_clients shows the text literally: Claude's output is never expanded as a tmux format.
        rt.ports.tmux.message_clients(
            f"tmuxclaude: {inst.name}: Claude {ended.summary()} (r in its pane, or: tmuxclaude resume {inst.name})",
            seconds=MESSAGE_S,
        )
        bridge = rt.nvim(inst.id)
        if bridge is not None:
            # Its own Neovim too (the user is often there): a notification, the controller never waits on it.
            text = f"tmuxclaude: Claude {ended.summary()}; :ClaudeCodeResume starts it again"
            bridge.notify(text, Level.WARN if ended.status else Level.INFO)
    return ended


def notice_lost_exits(rt: Runtime) -> None:
    """Claudes that exited while no controller was running: their launcher waits alone, its footer shown."""
    panes = rt.ports.tmux.panes()
    for inst in rt.registry.ordered():
        pid = panes.get(inst.claude_pane, {}).get("pid", "")
        if inst.state in (InstanceState.PAUSED, InstanceState.EXITED, InstanceState.DEAD) or not pid.isdigit():
            continue
        if rt.ports.processes.has_children(int(pid)) is not False:
            continue
        screen, _ = rt.ports.tmux.capture(inst.claude_pane, history=HISTORY_LINES)
        footer = read_footer(screen)
        if footer is not None:
            rt.event(f"{inst.name}: its Claude exited while the controller was down")
            claude_exited(rt, inst, footer[0], 10**9, screen=footer[1])
