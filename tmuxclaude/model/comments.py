"""Line comments on Claude's work, per instance, and the prompts that carry them back to Claude (pure).

A comment sits on a line range of one file of the instance's worktree (its path kept relative to the worktree),
on one side of what the user read: the file as it is, Claude's proposed text (an openDiff), or the text from
before Claude wrote it (:ClaudeCodeReview). It quotes the lines it was made on, so the prompt still says what was
meant after the file moved on. ``open`` comments are still to be sent; ``sent`` ones went out in a prompt.

Everything here is bounded: a book holds at most MAX_COMMENTS, a text MAX_TEXT characters, a quote MAX_QUOTE_LINES
lines of MAX_QUOTE_LINE characters. Text that reaches a terminal (the prompt is pasted into Claude's pane) is
cleaned of control characters first: an ESC could end a bracketed paste early and type the rest as keys.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tmuxclaude.errors import TmuxClaudeError

__all__ = [
    "MAX_COMMENTS",
    "MAX_TEXT",
    "SIDES",
    "Comment",
    "CommentBook",
    "CommentError",
    "clean_text",
    "render_denial",
    "render_review",
]

MAX_COMMENTS = 200
MAX_TEXT = 4000
MAX_QUOTE_LINES = 40
MAX_QUOTE_LINE = 400
MAX_PATH = 1024
SIDES = ("file", "proposed", "before")
SIDE_LABEL = {"file": "", "proposed": " of your proposed change", "before": " of the text before your change"}

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
"""Terminal escape sequences: CSI (colours, cursor moves), OSC (titles, links), and two-byte ones."""
_PATH_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Not in a commented path, newlines and tabs included: a path is printed in the prompt typed as the user's own
message, and a file name with a newline would add lines of its author's choosing (a forged "Comment:")."""


class CommentError(TmuxClaudeError):
    """A comment that cannot be added or changed (bad range, too long, too many, unknown id)."""


def clean_text(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` without terminal escape sequences and control characters (ESC, CR, C1...): tabs stay, newlines
    stay unless told otherwise."""
    text = text.replace("\r\n", "\n")
    text = _CONTROL.sub("", _ESCAPES.sub("", text))
    return text if keep_newlines else text.replace("\n", " ")


@dataclass(frozen=True)
class Comment:
    id: str
    path: str
    """Relative to the instance's worktree (never absolute, never ``..``)."""
    line1: int
    line2: int
    """1-based, inclusive."""
    text: str
    quoted: tuple[str, ...] = ()
    side: str = "file"
    state: str = "open"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "line1": self.line1,
            "line2": self.line2,
            "text": self.text,
            "quoted": list(self.quoted),
            "side": self.side,
            "state": self.state,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comment:
        """A comment from untrusted data (a request, a file on disk): checked and bounded, or CommentError."""
        path = check_path(str(data.get("path") or ""))
        try:
            line1 = int(data.get("line1") or 0)
            line2 = int(data.get("line2") or line1)
        except (TypeError, ValueError) as exc:
            raise CommentError("comment: line numbers must be integers") from exc
        if line1 < 1 or line2 < line1 or line2 > 10_000_000:
            raise CommentError(f"comment: bad line range {line1}-{line2}")
        text = clean_text(str(data.get("text") or "")).strip()
        if not text:
            raise CommentError("comment: the text is empty")
        if len(text) > MAX_TEXT:
            raise CommentError(f"comment: the text is longer than {MAX_TEXT} characters")
        raw_quoted = data.get("quoted") or ()
        if not isinstance(raw_quoted, (list, tuple)):
            raise CommentError("comment: quoted lines must be a list")
        quoted = tuple(clean_text(str(q), keep_newlines=False)[:MAX_QUOTE_LINE] for q in raw_quoted[:MAX_QUOTE_LINES])
        side = str(data.get("side") or "file")
        if side not in SIDES:
            raise CommentError(f"comment: unknown side {side!r}")
        state = str(data.get("state") or "open")
        if state not in ("open", "sent"):
            raise CommentError(f"comment: unknown state {state!r}")
        cid = str(data.get("id") or "") or new_id()
        if not re.fullmatch(r"[0-9a-f]{1,32}", cid):
            raise CommentError("comment: bad id")
        return cls(cid, path, line1, line2, text, quoted, side, state)


def new_id() -> str:
    return secrets.token_hex(4)


def check_path(path: str) -> str:
    """A worktree-relative path, as given: no absolute path, no ``..`` part, no control characters (newlines too)."""
    if not path or len(path) > MAX_PATH or path.startswith("/") or _PATH_CONTROL.search(path):
        raise CommentError(f"comment: bad file path {path[:80]!r}")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise CommentError(f"comment: bad file path {path[:80]!r}")
    return path


@dataclass
class CommentBook:
    """One instance's comments, in the order they were made."""

    comments: list[Comment] = field(default_factory=list)

    def add(self, data: Mapping[str, Any]) -> Comment:
        if len(self.comments) >= MAX_COMMENTS:
            # Sent comments make room first: they are history, the open ones are the user's unsent work.
            sent = next((c for c in self.comments if c.state == "sent"), None)
            if sent is None:
                raise CommentError(f"comment: {MAX_COMMENTS} open comments already; send or delete some first")
            self.comments.remove(sent)
        comment = Comment.from_dict({**data, "id": "", "state": "open"})
        while any(c.id == comment.id for c in self.comments):
            comment = replace(comment, id=new_id())
        self.comments.append(comment)
        return comment

    def get(self, cid: str) -> Comment:
        for c in self.comments:
            if c.id == cid:
                return c
        raise CommentError(f"comment: no comment {cid[:40]!r}")

    def edit(self, cid: str, text: str) -> Comment:
        old = self.get(cid)
        new = Comment.from_dict({**old.to_dict(), "text": text, "state": "open"})
        self.comments[self.comments.index(old)] = new
        return new

    def delete(self, cid: str) -> Comment:
        old = self.get(cid)
        self.comments.remove(old)
        return old

    def open(self, path: str | None = None) -> list[Comment]:
        return [c for c in self.comments if c.state == "open" and (path is None or c.path == path)]

    def mark_sent(self, ids: Iterable[str]) -> None:
        wanted = set(ids)
        self.comments = [replace(c, state="sent") if c.id in wanted else c for c in self.comments]

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "comments": [c.to_dict() for c in self.comments]}

    @classmethod
    def from_json(cls, data: Any) -> CommentBook:
        """A book from what was saved; entries that no longer check out are dropped, never fatal."""
        book = cls()
        items = data.get("comments") if isinstance(data, dict) else None
        for item in (items if isinstance(items, list) else [])[:MAX_COMMENTS]:
            if isinstance(item, dict):
                try:
                    book.comments.append(Comment.from_dict(item))
                except CommentError:
                    continue
        return book


def _lines(c: Comment) -> str:
    return f"line {c.line1}" if c.line1 == c.line2 else f"lines {c.line1}-{c.line2}"


def _render_comments(comments: Sequence[Comment]) -> list[str]:
    """Grouped by file (in the order files were first commented), each comment with its lines and quote."""
    by_file: dict[str, list[Comment]] = {}
    for c in comments:
        by_file.setdefault(c.path, []).append(c)
    out: list[str] = []
    for path, items in by_file.items():
        out.append(f"## {path}")
        for c in sorted(items, key=lambda c: (c.side, c.line1, c.line2)):
            out.append(f"- {path} {_lines(c)}{SIDE_LABEL.get(c.side, '')}:")
            out.extend(f"    > {q}" for q in c.quoted)
            first, *rest = c.text.splitlines() or [""]
            out.append(f"  Comment: {first}")
            out.extend(f"  {line}" for line in rest)
        out.append("")
    return out


def render_review(comments: Sequence[Comment]) -> str:
    """One prompt with every comment (``:ClaudeCodeReview send``)."""
    n = len(comments)
    plural = "s" if n != 1 else ""
    head = f"Review comments from the user on your changes ({n} comment{plural}, line numbers are 1-based):"
    return "\n".join([head, "", *_render_comments(comments), "Please address each comment."]).strip() + "\n"


def render_denial(path: str, reason: str, comments: Sequence[Comment]) -> str:
    """The prompt after a denied openDiff: why, and the comments made on that diff."""
    lines = [f"I rejected your proposed edit to {path}."]
    reason = clean_text(reason, keep_newlines=False).strip()[:MAX_TEXT]
    if reason:
        lines.append(f"Reason: {reason}")
    if comments:
        lines += ["", "My comments on it (line numbers are 1-based):", "", *_render_comments(comments)]
    lines.append("Please revise the edit with this in mind.")
    return "\n".join(lines).strip() + "\n"
