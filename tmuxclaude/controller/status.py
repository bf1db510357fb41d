"""Instance states as tmux shows them: window tags, the global status segment, waiting notifications, and the
hook endpoint through which Claude Code's hooks report busy / waiting / idle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tmuxclaude.controller import forks, prompts
from tmuxclaude.controller.runtime import Runtime
from tmuxclaude.model.instance import Instance, InstanceState
from tmuxclaude.model.lifecycle import Phase, phase_of
from tmuxclaude.model.session_ids import is_session_id
from tmuxclaude.model.states import GLYPHS, next_state, summary_text
from tmuxclaude.protocol.lockfile import token_matches

__all__ = ["glyph", "on_hook_http", "publish_summary", "push_to_nvim", "refresh_all", "set_state", "tag_window"]

log = logging.getLogger(__name__)


def glyph(rt: Runtime, state: InstanceState) -> str:
    """What the window shows for a state; multi_instance.instance_indicator = false shows nothing."""
    return GLYPHS[state] if rt.config.multi_instance.instance_indicator else ""


def set_state(rt: Runtime, instance_id: str, state: InstanceState) -> None:
    inst = rt.registry.get(instance_id)
    if inst is None or inst.state is state:
        return
    previous = inst.state
    if phase_of(previous) in (Phase.ORPHANED, Phase.DEAD) and phase_of(state) not in (Phase.ORPHANED, Phase.DEAD):
        # Only restore (or a re-serve at start-up) brings an orphan back, and it does so by writing the record.
        log.info("%s is %s; %s ignored", inst.name, previous, state)
        return
    inst = inst.with_(state=state, state_since=rt.clock.time())
    rt.registry.put(inst)
    if phase_of(state) is not phase_of(previous):
        # Activity (idle/busy/waiting) is not worth a write; a lifecycle move is.
        rt.save()
    tag_window(rt, inst)
    push_to_nvim(rt, inst)
    publish_summary(rt)
    if state is InstanceState.WAITING:
        notify_waiting(rt, inst)
    prompts.on_state(rt, inst.id, state)


def tag_window(rt: Runtime, inst: Instance) -> None:
    if inst.window_id:
        rt.tmux.set_window_options(
            inst.window_id, {"state": inst.state.value, "glyph": glyph(rt, inst.state)}, check=False
        )


def push_to_nvim(rt: Runtime, inst: Instance) -> None:
    """The state for ``require('tmuxclaude').statusline()`` in the instance's Neovim: pushed (a notification) on
    every change, so the statusline reads a cached value. It shows whatever instance_indicator says: the user put
    the component there."""
    bridge = rt.bridges.get(inst.id)
    if bridge is not None:
        bridge.push_status(inst.state.value, GLYPHS.get(inst.state, ""))


def refresh_all(rt: Runtime) -> None:
    """Every window's tags and the summary again, for the current config (after a reload that changed
    instance_indicator the glyphs must go, or come back)."""
    for inst in rt.registry.ordered():
        tag_window(rt, inst)
    publish_summary(rt)


def publish_summary(rt: Runtime) -> None:
    """The global status segment: one option the status line reads (no process per redraw).

    Deferred to the next loop turn: a burst of changes costs one tmux call, after the reply has gone out.
    """
    if not rt.status.pending:
        rt.status.pending = True
        asyncio.get_running_loop().call_soon(_publish_summary_now, rt)


def _publish_summary_now(rt: Runtime) -> None:
    rt.status.pending = False
    from tmuxclaude.controller import watch

    watch.changed(rt)
    text = ""
    if rt.config.multi_instance.instance_indicator:
        remote = rt.hosts.states() if rt.hosts is not None else []
        text = summary_text([*(i.state for i in rt.registry.ordered()), *remote])
    if text != rt.status.summary:
        rt.status.summary = text
        rt.tmux.run("set-option", "-g", "@tmuxclaude_summary", text, check=False)


def notify_waiting(rt: Runtime, inst: Instance) -> None:
    if rt.config.status.message_on_waiting:
        rt.tmux.message_clients(f"tmuxclaude: {inst.name} is waiting for input")
    if rt.config.status.bell_on_waiting and inst.claude_pane:
        # A BEL written to the pane's terminal makes tmux flag the window (monitor-bell) like any bell.
        tty = rt.tmux.pane_tty(inst.claude_pane)
        if tty.startswith("/dev/"):
            with contextlib.suppress(OSError), open(tty, "w") as f:
                f.write("\a")


def on_hook_http(rt: Runtime, instance_id: str, connection: Any, request: Any) -> Any:
    """``GET /tmuxclaude/hook?event=..&session=..`` from this instance's Claude hooks (hook.sh)."""
    inst = rt.registry.get(instance_id)
    values = request.headers.get_all("X-Tmuxclaude-Hook")
    if inst is None or not token_matches(inst.hook_token, values[-1] if values else None):
        return connection.respond(403, "Forbidden\n")
    query = parse_qs(urlsplit(request.path).query)
    event = (query.get("event") or [""])[0]
    session = (query.get("session") or [""])[0]
    if session and not is_session_id(session):
        # It ends up on Claude's command line (--resume): an id is an id, nothing else gets in.
        log.warning("hook of %s: refused a session value that is not a session id", inst.name)
        return connection.respond(400, "Bad Request\n")
    if forks.on_hook(rt, inst, event, session, (query.get("source") or [""])[0]):
        return connection.respond(204, "")
    # Before answering: a PreToolUse of a file tool keeps the file's old text before the tool writes it.
    rt.edits.on_hook(instance_id, event, session, (query.get("tool") or [""])[0], (query.get("path") or [""])[0])
    if session and session != inst.claude_session_id:
        # Claude's own conversation id: `restore` resumes exactly this conversation.
        inst = rt.update(inst, claude_session_id=session)
    prompts.after_hook(rt, instance_id, event)
    set_state(rt, instance_id, next_state(inst.state, event))
    return connection.respond(204, "")
