"""The pane channel: what an instance's own processes tell the controller on its IDE port (hooks/hook.sh on every
Claude hook, launch/claude.sh when Claude ends and for its pane's keys). The wire format and the contract both
scripts speak are protocol/pane_http.py; this module checks the token once, decodes the request once, and
carries it out:

- a hook moves the instance's activity (controller/lifecycle.py), records Claude's conversation id, keeps a file's
  old text before a file tool writes it (controller/edits.py), records ``/fork`` children (controller/forks.py)
  and lets queued prompts go (controller/prompts.py);
- Claude's exit makes the instance "exited" and tells the user why (controller/exits.py);
- the restart and kill keys run ``resume`` / ``kill`` through the command table, after the answer (they replace
  or end the very process that asked).

A hook's path from the socket to Neovim: adapters/ide_server.py -> this module -> controller/lifecycle.py ->
the Neovim adapter (its statusline push).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tmuxclaude.controller import exits, forks, prompts
from tmuxclaude.controller.lifecycle import apply_if_allowed
from tmuxclaude.controller.ports import PaneHttp
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.errors import TmuxClaudeError
from tmuxclaude.model.instance import Instance, InstanceState
from tmuxclaude.model.lifecycle import Event
from tmuxclaude.model.states import hook_event
from tmuxclaude.protocol import pane_http
from tmuxclaude.protocol.lockfile import token_matches

if TYPE_CHECKING:
    from tmuxclaude.controller.served import ServedInstance

__all__ = ["handle", "handler"]

log = logging.getLogger(__name__)


def handler(rt: Runtime, served: ServedInstance) -> PaneHttp:
    """The pane-channel handler of one served instance's IDE server."""

    def on_request(target: str, token: str | None) -> tuple[int, str]:
        reply = handle(rt, served, target, token)
        return reply.status, reply.body

    return on_request


def handle(rt: Runtime, served: ServedInstance, target: str, token: str | None) -> pane_http.Reply:
    # A request still in flight when the instance was orphaned or killed must not move its state afterwards.
    if not served.current:
        return pane_http.GONE
    inst = rt.registry.get(served.instance_id)
    if inst is None or not token_matches(inst.hook_token, token):
        return pane_http.FORBIDDEN
    request = pane_http.decode(target)
    if isinstance(request, pane_http.Reply):
        if request is pane_http.BAD_REQUEST:
            log.warning("pane channel of %s: refused %s", inst.name, target.partition("?")[0])
        return request
    if isinstance(request, pane_http.Hook):
        _hook(rt, inst, request)
        return pane_http.OK
    if isinstance(request, pane_http.ClaudeExited):
        exits.claude_exited(rt, inst, request.status, request.elapsed_s)
        return pane_http.OK
    if request.command == "resume" and inst.state not in (InstanceState.PAUSED, InstanceState.EXITED):
        # Only an exited Claude's launcher offers this key: its exit report was lost (controller down then).
        apply_if_allowed(rt, inst.id, Event.CLAUDE_EXITED)
    rt.background(_run_key(rt, request.command, inst))
    return pane_http.ACCEPTED


def _hook(rt: Runtime, inst: Instance, hook: pane_http.Hook) -> None:
    if forks.on_hook(rt, inst, hook.event, hook.session, hook.source):
        return
    # Before answering: a PreToolUse of a file tool keeps the file's old text before the tool writes it.
    rt.edits.on_hook(inst.id, hook.event, hook.session, hook.tool, hook.path)
    if hook.session and hook.session != inst.claude_session_id:
        # Claude's own conversation id: `restore` resumes exactly this conversation.
        inst = rt.update(inst, claude_session_id=hook.session)
    prompts.after_hook(rt, inst.id, hook.event)
    event = hook_event(inst.phase, hook.event)
    if event is not None:
        apply_if_allowed(rt, inst.id, event)


async def _run_key(rt: Runtime, command: str, inst: Instance) -> None:
    try:
        await rt.dispatch(command, {"ref": inst.id}, ClientContext(cwd=inst.worktree, pane=inst.claude_pane))
    except (TmuxClaudeError, ExceptionGroup) as exc:
        log.warning("%s of %s from its pane failed: %s", command, inst.name, exc)
        rt.ports.tmux.message_clients(f"tmuxclaude: {command} {inst.name}: {exc}")
