"""Forks made in an instance (``/fork``): the child runs with its parent's settings, so its hooks reach the
parent instance's hook endpoint. Recorded here (``ls --all`` shows it under that instance at once, before
``claude agents`` lists it); its hooks never move the instance's state or conversation id."""

from __future__ import annotations

from tmuxclaude.controller.runtime import Runtime
from tmuxclaude.model.claude_sessions import ClaudeSession, valid_session_id
from tmuxclaude.model.instance import Instance

__all__ = ["on_hook"]


def on_hook(rt: Runtime, inst: Instance, event: str, session: str, source: str) -> bool:
    """A hook that is not the instance's own conversation's: a ``/fork`` child's (it runs with its parent's
    settings, so it reports here). Its SessionStart (``source: fork``) is recorded; it and every later hook of it
    leave the instance's state and session id alone. Returns True when the hook was a fork's."""
    if not valid_session_id(session) or session == inst.claude_session_id:
        return False
    if event == "SessionStart" and source == "fork":
        rt.forks[session] = ClaudeSession(
            session_id=session,
            kind="fork",
            cwd=inst.worktree,
            state="blocked",
            started_at=rt.ports.clock.time(),
            parent_session_id=inst.claude_session_id,
            instance_id=inst.id,
            repo=inst.repo,
        )
        rt.event(f"{inst.name}: fork {session[:8]} (`tmuxclaude ls --all`)")
        return True
    return session in rt.forks
