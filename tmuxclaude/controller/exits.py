"""When an instance's Claude exits: the pane launcher (``launch/claude.sh``) reports it here, and its restart and
kill keys ask for those here, all as plain HTTP on the instance's own IDE port with the hook token (like
``hooks/hook.sh``, whose requests this also routes).

``GET /tmuxclaude/exit?status=N&elapsed=S``: the instance becomes "exited"; what Claude last printed is read from
its pane (before the launcher prints its footer: the launcher waits for this answer), kept with the instance for
``ls --json`` and told to every attached client when it is a failure or came right after the start.
``GET /tmuxclaude/restart`` / ``/tmuxclaude/kill``: answered at once (202), then run in the background through
the command table, exactly as the CLI's ``resume`` and ``kill`` (they replace or end the very process that asked).

A Claude that exited while no controller ran (its report found nobody) is noticed when the controller starts: its
launcher has no child left, and its footer says how Claude ended.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tmuxclaude.adapters.procs import has_children
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.controller.status import on_hook_http, set_state
from tmuxclaude.errors import TmuxClaudeError
from tmuxclaude.model.exits import ClaudeExit, error_headline, read_footer
from tmuxclaude.model.instance import Instance, InstanceState
from tmuxclaude.protocol.lockfile import token_matches
from tmuxclaude.protocol.nvim_channel import Level

__all__ = ["claude_exited", "notice_lost_exits", "on_pane_http"]

log = logging.getLogger(__name__)

HISTORY_LINES = 200
"""How far back the pane is read for what Claude printed last."""

MESSAGE_S = 10
"""How long the exit message stays on the clients (tmux's default display-time, 750 ms, is easily missed)."""


def _number(query: dict[str, list[str]], key: str, high: int) -> int:
    raw = (query.get(key) or ["0"])[0]
    return min(int(raw), high) if raw.isdigit() else 0


def on_pane_http(rt: Runtime, instance_id: str, connection: Any, request: Any) -> Any:
    """Every ``/tmuxclaude/...`` request on an instance's IDE port, from its hooks or its pane launcher."""
    split = urlsplit(request.path)
    if split.path == "/tmuxclaude/hook":
        return on_hook_http(rt, instance_id, connection, request)
    inst = rt.registry.get(instance_id)
    values = request.headers.get_all("X-Tmuxclaude-Hook")
    if inst is None or not token_matches(inst.hook_token, values[-1] if values else None):
        return connection.respond(403, "Forbidden\n")
    if split.path == "/tmuxclaude/exit":
        query = parse_qs(split.query)
        claude_exited(rt, inst, _number(query, "status", 255), _number(query, "elapsed", 10**9))
        return connection.respond(204, "")
    keys = {"/tmuxclaude/restart": "resume", "/tmuxclaude/kill": "kill"}
    if split.path in keys:
        if split.path == "/tmuxclaude/restart" and inst.state not in (InstanceState.PAUSED, InstanceState.EXITED):
            # Only an exited Claude's launcher offers this key: its exit report was lost (controller down then).
            set_state(rt, inst.id, InstanceState.EXITED)
        rt.background(_command(rt, keys[split.path], inst))
        return connection.respond(202, "Accepted\n")
    return connection.respond(404, "Not Found\n")


def _screen(rt: Runtime, pane: str) -> tuple[list[str], int]:
    """The pane's text (with some history) and its width."""
    screen = rt.tmux.run("capture-pane", "-p", "-J", "-t", pane, "-S", f"-{HISTORY_LINES}", check=False)
    width = rt.tmux.run("display-message", "-p", "-t", pane, "#{pane_width}", check=False)
    return screen, int(width[0]) if width and width[0].isdigit() else 0


def claude_exited(
    rt: Runtime, inst: Instance, status: int, elapsed: int, screen: list[str] | None = None
) -> ClaudeExit:
    """Mark ``inst`` exited, keep what its Claude said (read from ``screen``, default: its pane now), tell users."""
    captured, width = _screen(rt, inst.claude_pane) if screen is None else (screen, 0)
    headline = error_headline(captured, width)
    ended = ClaudeExit(status=status, elapsed_s=elapsed, headline=headline)
    record = {"status": status, "elapsed_s": elapsed, "headline": ended.headline, "at": rt.clock.time()}
    rt.update(inst, extra={**inst.extra, "exit": record})
    set_state(rt, inst.id, InstanceState.EXITED)
    rt.event(f"{inst.name}: Claude {ended.summary()}")
    if ended.worth_telling():
        # message_clients shows the text literally: Claude's output is never expanded as a tmux format.
        rt.tmux.message_clients(
            f"tmuxclaude: {inst.name}: Claude {ended.summary()} (r in its pane, or: tmuxclaude resume {inst.name})",
            seconds=MESSAGE_S,
        )
        bridge = rt.bridges.get(inst.id)
        if bridge is not None:
            # Its own Neovim too (the user is often there): a notification, the controller never waits on it.
            text = f"tmuxclaude: Claude {ended.summary()}; :ClaudeCodeResume starts it again"
            bridge.notify(text, Level.WARN if ended.status else Level.INFO)
    return ended


def notice_lost_exits(rt: Runtime) -> None:
    """Claudes that exited while no controller was running: their launcher waits alone, its footer shown."""
    panes = rt.tmux.panes()
    for inst in rt.registry.ordered():
        pid = panes.get(inst.claude_pane, {}).get("pid", "")
        if inst.state in (InstanceState.PAUSED, InstanceState.EXITED, InstanceState.DEAD) or not pid.isdigit():
            continue
        if has_children(int(pid)) is not False:
            continue
        screen, _ = _screen(rt, inst.claude_pane)
        footer = read_footer(screen)
        if footer is not None:
            rt.event(f"{inst.name}: its Claude exited while the controller was down")
            claude_exited(rt, inst, footer[0], 10**9, screen=footer[1])


async def _command(rt: Runtime, cmd: str, inst: Instance) -> None:
    if rt.commands is None:
        return
    try:
        await rt.commands.dispatch(cmd, {"ref": inst.id}, ClientContext(cwd=inst.worktree, pane=inst.claude_pane))
    except (TmuxClaudeError, ExceptionGroup) as exc:
        log.warning("%s of %s from its pane failed: %s", cmd, inst.name, exc)
        rt.tmux.message_clients(f"tmuxclaude: {cmd} {inst.name}: {exc}")
