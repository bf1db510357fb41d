"""Claude conversation ids: what a hook may report and what reaches Claude's argv as ``--resume=<id>`` (pure).

A hook request is answered by anyone holding the hook token, and the id it carries is later put on Claude's
command line, so it is checked where it enters (``protocol/pane_http.py``) and again where the argv is built: an
id is letters, digits, ``-`` and ``_`` (Claude's are UUIDs), never starting with ``-``.
"""

from __future__ import annotations

from tmuxclaude.protocol.pane_http import is_session_id

__all__ = ["is_session_id", "resume_argv"]


def resume_argv(session_id: str) -> list[str]:
    """Claude's arguments to continue this conversation: ``--resume=<id>``, else the worktree's latest."""
    return [f"--resume={session_id}"] if is_session_id(session_id) else ["--continue"]
