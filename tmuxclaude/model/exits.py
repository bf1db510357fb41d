"""What a Claude that exited said, read from the last lines of its pane (pure).

Claude Code prints why it stopped as a short paragraph at the bottom of its screen, under its logo, e.g.::

    .......█ █   █ █..........
     Unable to connect to Anthropic services
     Failed to connect to api.anthropic.com: ENOTFOUND
     Check your internet connection and network settings.

The headline is the first line of the last paragraph: the run of non-blank lines, bottom-up, that hold words
(a line of logo art, dots or rules ends it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["EARLY_EXIT_S", "ClaudeExit", "error_headline", "last_lines"]

EARLY_EXIT_S = 10
"""A Claude that stops within this many seconds of starting never became usable: tell the user at once."""

_WORD = re.compile(r"[^\W\d_]{2,}")
_MAX = 200


def _has_words(line: str) -> bool:
    return bool(_WORD.search(line))


def last_lines(screen: Sequence[str], n: int = 5) -> list[str]:
    """The last ``n`` non-blank lines, right-stripped."""
    lines = [line.rstrip() for line in screen if line.strip()]
    return lines[-n:]


def error_headline(screen: Sequence[str]) -> str:
    """The first line of the last paragraph of words on ``screen`` (``""`` when there is none), at most 200 chars."""
    lines = [line.rstrip() for line in screen]
    while lines and not lines[-1].strip():
        lines.pop()
    first = ""
    for line in reversed(lines):
        if not line.strip() or not _has_words(line):
            break
        first = line
    text = " ".join(first.split())
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"


@dataclass(frozen=True)
class ClaudeExit:
    """How an instance's Claude last ended (reported by the pane launcher, read from its pane)."""

    status: int
    elapsed_s: int
    headline: str

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
