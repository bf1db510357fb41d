"""When an instance's Claude exits: the pane launcher (``launch/claude.sh``) reports it here, and its restart and
kill keys ask for those here, all as plain HTTP on the instance's own IDE port with the hook token (like
``hooks/hook.sh``, whose requests this also routes).

``GET /tmuxclaude/exit?status=N&elapsed=S``: the instance becomes "exited"; what Claude last printed is read from
its pane (before the launcher prints its footer: the launcher waits for this answer), kept with the instance for
``ls --json`` and told to every attached client when it is a failure or came right after the start.
``GET /tmuxclaude/restart`` / ``/tmuxclaude/kill``: answered at once (202), then run in the background through
the command table, exactly as the CLI's ``resume`` and ``kill`` (they replace or end the very process that asked).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.controller.status import on_hook_http, set_state
from tmuxclaude.errors import TmuxClaudeError
from tmuxclaude.model.exits import ClaudeExit, error_headline
from tmuxclaude.model.instance import Instance, InstanceState
from tmuxclaude.protocol.lockfile import token_matches

__all__ = ["claude_exited", "on_pane_http"]

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


def claude_exited(rt: Runtime, inst: Instance, status: int, elapsed: int) -> ClaudeExit:
    screen = rt.tmux.run("capture-pane", "-p", "-J", "-t", inst.claude_pane, "-S", f"-{HISTORY_LINES}", check=False)
    width = rt.tmux.run("display-message", "-p", "-t", inst.claude_pane, "#{pane_width}", check=False)
    headline = error_headline(screen, int(width[0]) if width and width[0].isdigit() else 0)
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
    return ended


async def _command(rt: Runtime, cmd: str, inst: Instance) -> None:
    if rt.commands is None:
        return
    try:
        await rt.commands.dispatch(cmd, {"ref": inst.id}, ClientContext(cwd=inst.worktree, pane=inst.claude_pane))
    except (TmuxClaudeError, ExceptionGroup) as exc:
        log.warning("%s of %s from its pane failed: %s", cmd, inst.name, exc)
        rt.tmux.message_clients(f"tmuxclaude: {cmd} {inst.name}: {exc}")
