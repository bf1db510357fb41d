"""What one instance's Claude changed, for :ClaudeCodeReview (pure): the files' texts from before, per turn and
per session, in bounded memory.

A *pre-image* is a file's content just before Claude's instance first wrote it: taken by the controller in the
PreToolUse hook of Edit/Write/MultiEdit/NotebookEdit (the hook waits for the answer, so this happens before the
tool runs), or, for a file a Bash command wrote, the text of the unmodified Neovim buffer that was about to be
reloaded. The first pre-image of a path wins: later ones are intermediate states, not "what it was before".

A turn starts at UserPromptSubmit; a session at the instance's start or when Claude's session id changes.
Everything lives in the controller's memory, never on disk (the texts may be secrets), within ``max_bytes`` per
instance; a file over ``max_file_bytes`` is listed without its text ("too large to review").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["FILE_TOOLS", "FileText", "PreImage", "ReviewStore", "Scope", "decode_hook_path"]

FILE_TOOLS = frozenset({"Edit", "Write", "MultiEdit", "NotebookEdit"})
"""The tools whose PreToolUse/PostToolUse hooks carry the path they write."""

Scope = Literal["turn", "session"]

MAX_FILE_BYTES = 1 << 20
MAX_INSTANCE_BYTES = 8 << 20
MAX_FILES = 500


@dataclass(frozen=True)
class FileText:
    """A file's current content, as read for a review (``adapters/filetext.py`` reads it)."""

    existed: bool
    text: bytes | None
    """None when the file is missing, not a regular file, unreadable, or larger than the limit."""


@dataclass(frozen=True)
class PreImage:
    path: str
    text: bytes | None
    """The content before; None when the file did not exist (Claude created it) or was not kept."""
    existed: bool
    kept: bool = True
    """False: the file was too large or the memory budget was spent; the review can only name it."""

    @property
    def size(self) -> int:
        """What the entry costs: its text and its path (a hook may send 8 KiB paths)."""
        return (len(self.text) if self.text is not None else 0) + len(self.path)


@dataclass
class ReviewStore:
    max_file_bytes: int = MAX_FILE_BYTES
    max_bytes: int = MAX_INSTANCE_BYTES
    max_files: int = MAX_FILES
    session_id: str = ""
    turn: int = 0
    untracked: int = 0
    """Writes not recorded at all because the store was full (its entry count or its bytes): every entry counts,
    a file whose text was not kept too."""
    _session: dict[str, PreImage] = field(default_factory=dict)
    _turn: dict[str, PreImage] = field(default_factory=dict)

    @property
    def used_bytes(self) -> int:
        # A pre-image shared by turn and session (same object) is counted once.
        seen = {id(p): p.size for p in (*self._session.values(), *self._turn.values())}
        return sum(seen.values())

    def new_turn(self) -> None:
        self.turn += 1
        self._turn = {}

    def new_session(self, session_id: str) -> None:
        """A different Claude conversation: nothing of the old one is "this session" any more."""
        if session_id == self.session_id:
            return
        had = bool(self.session_id)
        self.session_id = session_id
        if had:
            self._session = {}
            self._turn = {}

    def wants(self, path: str) -> bool:
        """Whether a pre-image of ``path`` would be kept now (callers skip reading the file otherwise)."""
        return path not in self._turn or path not in self._session

    def record(self, path: str, text: bytes | None, existed: bool) -> bool:
        """Keep ``text`` as ``path``'s content before this turn's (and this session's) first write. Returns
        whether anything was stored."""
        if not self.wants(path):
            return False
        if path not in self._session and len(self._session) >= self.max_files:
            self.untracked += 1  # checked first: cheap, and a full store is what a flood meets
            return False
        used = self.used_bytes
        if path not in self._session and used + len(path) > self.max_bytes:
            # Every path of the turn is in the session too, so this bounds both.
            self.untracked += 1
            return False
        image = PreImage(path, text, existed, kept=text is not None or not existed)
        if text is not None and (len(text) > self.max_file_bytes or used + len(path) + len(text) > self.max_bytes):
            image = PreImage(path, None, existed, kept=False)
        stored = False
        if path not in self._turn:
            self._turn[path] = image
            stored = True
        if path not in self._session:
            self._session[path] = image
            stored = True
        return stored

    def changes(self, scope: Scope) -> list[PreImage]:
        """Pre-images of the files written in this turn or this session, in the order they were first written."""
        return list((self._turn if scope == "turn" else self._session).values())


def decode_hook_path(raw: str) -> str | None:
    """hook.sh sends the path as the raw JSON string body (escapes kept): decode it. None when it is not one, or
    not absolute (Claude's file tools take absolute paths only)."""
    if not raw or len(raw) > 8192:
        return None
    try:
        value = json.loads(f'"{raw}"')
    except ValueError:
        return None
    if not isinstance(value, str) or not value.startswith("/") or "\0" in value:
        return None
    return value
