"""The pane channel's wire format: plain HTTP that an instance's own processes send on its IDE port (pure).

Two programs speak it, both in the instance's panes, both as the user: ``hooks/hook.sh`` (every Claude Code hook,
through bash's ``/dev/tcp``: no interpreter start on Claude's path) and ``launch/claude.sh`` (the Claude pane's
launcher: how Claude ended, and the pane's restart and kill keys). Every request carries the instance's hook
token (a 0600 file the controller rewrites on every re-serve) in one header::

    GET /tmuxclaude/hook?event=E&session=S&type=T&tool=N&path=P&source=R   204  (PreToolUse: answered after the
                                                                                file's old text is kept)
    GET /tmuxclaude/exit?status=N&elapsed=S                                 204  (the launcher prints its footer
                                                                                after the answer)
    GET /tmuxclaude/restart                                                 202  (run after answering: it replaces
    GET /tmuxclaude/kill                                                    202   the very process that asked)

Refusals: 403 a missing or wrong token, 400 a session that is not a conversation id (it ends up on Claude's argv as
``--resume=<id>``), 404 any other path, 503 the instance is no longer served by the server that got the request.
``decode`` turns a request target into one typed request, or the refusal to answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "PREFIX",
    "TOKEN_HEADER",
    "ClaudeExited",
    "Hook",
    "PaneKey",
    "PaneRequest",
    "Reply",
    "decode",
    "is_session_id",
]

PREFIX = "/tmuxclaude/"
"""Every pane-channel target starts with this (the IDE server routes them here before any WebSocket check)."""
TOKEN_HEADER = "X-Tmuxclaude-Hook"

_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_FIELD_MAX = 4096
"""Longest query value kept (a path is percent-encoded by hook.sh; PATH_MAX is 4096)."""


def is_session_id(value: str) -> bool:
    """A Claude conversation id: letters, digits, ``-`` and ``_`` (Claude's are UUIDs), never starting with ``-``."""
    return _SESSION_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class Reply:
    """An answer with no request behind it (a refusal), or the answer to a request once handled."""

    status: int
    body: str = ""


OK = Reply(204)
ACCEPTED = Reply(202, "Accepted\n")
FORBIDDEN = Reply(403, "Forbidden\n")
BAD_REQUEST = Reply(400, "Bad Request\n")
NOT_FOUND = Reply(404, "Not Found\n")
GONE = Reply(503, "Service Unavailable\n")


@dataclass(frozen=True)
class Hook:
    """A Claude Code hook: its event, Claude's conversation id, and for file tools the tool and raw path."""

    event: str
    session: str = ""
    tool: str = ""
    path: str = ""
    """Still JSON-escaped as hook.sh found it (model/review.py ``decode_hook_path`` reads it)."""
    source: str = ""
    """SessionStart's source (``fork``: a /fork child reporting through its parent's settings)."""


@dataclass(frozen=True)
class ClaudeExited:
    status: int
    elapsed_s: int


@dataclass(frozen=True)
class PaneKey:
    """A key of the exited Claude's pane: the command it asks for (``resume`` or ``kill``)."""

    command: str


PaneRequest = Hook | ClaudeExited | PaneKey

_KEYS = {"restart": "resume", "kill": "kill"}


def _value(query: dict[str, list[str]], key: str) -> str:
    return (query.get(key) or [""])[0][:_FIELD_MAX]


def _number(query: dict[str, list[str]], key: str, high: int) -> int:
    raw = _value(query, key)
    return min(int(raw), high) if raw.isdigit() and raw.isascii() else 0


def decode(target: str) -> PaneRequest | Reply:
    """The request a target (``/tmuxclaude/...?...``) makes, or the refusal it gets. The token is checked first,
    by the caller (a wrong token learns nothing, not even which paths exist)."""
    split = urlsplit(target)
    if not split.path.startswith(PREFIX):
        return NOT_FOUND
    name = split.path[len(PREFIX) :]
    query = parse_qs(split.query)
    if name == "hook":
        session = _value(query, "session")
        if session and not is_session_id(session):
            return BAD_REQUEST
        return Hook(
            event=_value(query, "event"),
            session=session,
            tool=_value(query, "tool"),
            path=_value(query, "path"),
            source=_value(query, "source"),
        )
    if name == "exit":
        return ClaudeExited(status=_number(query, "status", 255), elapsed_s=_number(query, "elapsed", 10**9))
    if name in _KEYS:
        return PaneKey(_KEYS[name])
    return NOT_FOUND
