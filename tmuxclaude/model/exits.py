"""What a Claude that exited said, read from the last lines of its pane (pure).

Claude Code prints why it stopped under its logo, e.g. (wide pane; a narrow one wraps it with blank lines)::

    .......█ █   █ █..........
     Unable to connect to Anthropic services
     Failed to connect to api.anthropic.com: ENOTFOUND
     Check your internet connection and network settings.

The headline is read from what follows the last line drawn without words (logo art, dots, box rules): the first
line there that reads like an error, else the first line of its last paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["EARLY_EXIT_S", "ClaudeExit", "error_headline", "last_lines", "read_footer"]

EARLY_EXIT_S = 10
"""A Claude that stops within this many seconds of starting never became usable: tell the user at once."""

_WORD = re.compile(r"[^\W\d_]{2,}")
_ERROR = re.compile(
    r"\b(errors?|unable|fail(ed|ure)?|cannot|can't|couldn't|could not|denied|invalid|expired|refused|not found|"
    r"not logged|missing|fatal|panic|exception|E[A-Z]{4,})\b",
    re.IGNORECASE,
)
_MAX = 200


def _has_words(line: str) -> bool:
    return bool(_WORD.search(line))


_FOOTER = re.compile(r"tmuxclaude .*Claude Code (?:exited with status (\d+)|was stopped by signal (\d+))\.\s*$")
"""The launcher's (launch/claude.sh) first footer line, after its reverse-video " tmuxclaude " tag."""


def read_footer(screen: Sequence[str]) -> tuple[int, list[str]] | None:
    """The exit status the pane launcher's last footer shows and the screen above it (what Claude printed), or
    None when the screen has no footer."""
    for n in range(len(screen) - 1, -1, -1):
        found = _FOOTER.search(screen[n])
        if found:
            status = int(found[1]) if found[1] is not None else 128 + int(found[2])
            return status, list(screen[:n])
    return None


def last_lines(screen: Sequence[str], n: int = 5) -> list[str]:
    """The last ``n`` non-blank lines, right-stripped."""
    lines = [line.rstrip() for line in screen if line.strip()]
    return lines[-n:]


def _wrapped(line: str, following: str, width: int) -> bool:
    """Whether ``following`` continues ``line`` the TUI wrapped: its first word would not have fit on it, and it
    goes on mid-sentence (lower case, after no full stop). A line of its own that just fills the width is not, nor
    one longer than the pane (tmux wrapped that one, and ``capture-pane -J`` joined it already)."""
    words = following.split()
    return (
        width > 0
        and bool(words)
        and len(line) <= width < len(line) + 1 + len(words[0])
        and words[0][0].islower()
        and not line.endswith((".", "!", "?", ":"))
    )


def error_headline(screen: Sequence[str], width: int = 0) -> str:
    """The line that says why Claude stopped (``""`` when the screen holds no words), at most 200 chars.

    ``width``: the pane's, to rejoin a line the TUI wrapped (0: do not)."""
    lines = [line.rstrip() for line in screen]
    start = 0
    for n, line in enumerate(lines):
        if line.strip() and not _has_words(line):
            start = n + 1
    tail = lines[start:]
    at = next((n for n, line in enumerate(tail) if _ERROR.search(line)), -1)
    if at < 0:
        while tail and not tail[-1].strip():
            tail.pop()
        at = len(tail)
        while at and tail[at - 1].strip():
            at -= 1
    parts = tail[at : at + 1]
    for following in tail[at + 1 :]:
        if not _wrapped(parts[-1], following, width):
            break
        parts.append(following)
    text = " ".join(" ".join(parts).split())
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"


@dataclass(frozen=True)
class ClaudeExit:
    """How an instance's Claude last ended (reported by the pane launcher, read from its pane)."""

    status: int
    elapsed_s: int
    headline: str
    at: float = 0.0
    """When the controller learnt of it (wall clock)."""

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "elapsed_s": self.elapsed_s, "headline": self.headline, "at": self.at}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClaudeExit:
        """A stored record; fields of the wrong type read as zero/empty (the state file is ours, but old)."""

        def number(key: str) -> int:
            value = data.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

        at = data.get("at")
        headline = data.get("headline")
        return cls(
            status=number("status"),
            elapsed_s=number("elapsed_s"),
            headline=headline if isinstance(headline, str) else "",
            at=float(at) if isinstance(at, int | float) and not isinstance(at, bool) else 0.0,
        )

    @property
    def early(self) -> bool:
        return self.elapsed_s < EARLY_EXIT_S

    @property
    def reason(self) -> str:
        """``exited with status 1`` / ``was stopped by signal 9`` (the launcher's own wording)."""
        if self.status > 128:
            return f"was stopped by signal {self.status - 128}"
        return f"exited with status {self.status}"

    def summary(self) -> str:
        return f"{self.reason}: {self.headline}" if self.headline else self.reason

    def worth_telling(self) -> bool:
        """Tell every attached client: a failure, or any exit right after the start (never became usable).
        A user's own /exit (status 0, later) is seen in the pane by the user who typed it."""
        return self.status != 0 or self.early
