"""Editor → CLI notifications (docs/protocol.md §6) and the queue for mentions made before a client is ready.

Builders return ``(method, params)`` so the caller can hand them straight to ``McpSession.notify``. Positions
and lines are **0-based**: the CLI adds 1 itself (claude-cli.md, "Notifications from the IDE").
"""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = [
    "AT_MENTIONED",
    "MENTION_MAX_AGE",
    "SELECTION_CHANGED",
    "MentionQueue",
    "at_mentioned",
    "selection_changed",
]

SELECTION_CHANGED = "selection_changed"
AT_MENTIONED = "at_mentioned"

MENTION_MAX_AGE = 5.0
"""Seconds a queued mention stays deliverable (claudecode.nvim's ``queue_timeout``). An older mention would
pop into a prompt long after the user stopped expecting it."""


def _position(name: str, pos: tuple[int, int]) -> dict[str, int]:
    line, character = pos
    if line < 0 or character < 0:
        raise ValueError(f"{name} position must be 0-based and non-negative, got {pos!r}")
    return {"line": line, "character": character}


def selection_changed(
    *, text: str, file_path: str, start: tuple[int, int], end: tuple[int, int]
) -> tuple[str, dict[str, Any]]:
    """A ``selection_changed`` notification.

    Args:
        text: the selected text; ``""`` for a bare cursor, which the CLI shows as "the user opened the file".
        file_path: absolute path of the file.
        start: 0-based ``(line, character)`` of the selection start.
        end: 0-based ``(line, character)`` of the end, exclusive as in LSP.

    ``fileUrl`` is ``file://`` + the raw path, not percent-encoded, matching what the CLI compares elsewhere
    (§5.4); the CLI ignores ``fileUrl`` and ``isEmpty`` but VS Code sends them, so we do too.

    Raises:
        ValueError: a negative line or character (a 1-based/0-based mix-up upstream).
    """
    params = {
        "text": text,
        "filePath": file_path,
        "fileUrl": "file://" + file_path,
        "selection": {
            "start": _position("start", start),
            "end": _position("end", end),
            "isEmpty": start == end and text == "",
        },
    }
    return SELECTION_CHANGED, params


def at_mentioned(
    file_path: str, line_start: int | None = None, line_end: int | None = None
) -> tuple[str, dict[str, Any]]:
    """An ``at_mentioned`` notification; lines are 0-based and omitted when ``None``.

    Raises:
        ValueError: negative lines, an end before the start, or an end without a start (the CLI renders
            ``#L<start>-<end>`` and has no form for an end alone).
    """
    params: dict[str, Any] = {"filePath": file_path}
    if line_start is not None:
        if line_start < 0:
            raise ValueError(f"line_start must be 0-based and non-negative, got {line_start}")
        params["lineStart"] = line_start
    if line_end is not None:
        if line_start is None:
            raise ValueError("line_end given without line_start")
        if line_end < line_start:
            raise ValueError(f"line_end {line_end} is before line_start {line_start}")
        params["lineEnd"] = line_end
    return AT_MENTIONED, params


class MentionQueue:
    """``at_mentioned`` params waiting for a client that can receive them.

    The CLI silently drops notifications sent before its handlers are registered (shortly after
    ``tools/list``), so mentions made before then are held here. Time is injected (``now``, any monotonic
    clock in seconds) to keep this pure and testable. Items come out in push order, at most once, and expire
    after :data:`MENTION_MAX_AGE` seconds. ``maxlen`` bounds memory if nothing ever connects; the oldest
    go first.
    """

    def __init__(self, max_age: float = MENTION_MAX_AGE, maxlen: int = 100) -> None:
        self.max_age = max_age
        self._items: deque[tuple[float, dict[str, Any]]] = deque(maxlen=maxlen)

    def __len__(self) -> int:
        return len(self._items)

    def push(self, params: dict[str, Any], now: float) -> None:
        """Queue one mention's params (copied, so later changes by the caller do not leak in)."""
        self._items.append((now, dict(params)))

    def due(self, now: float, settled: bool) -> list[dict[str, Any]]:
        """Drop expired items, then return and remove the rest if ``settled`` (a client can receive them).

        When not settled, nothing is returned and unexpired items stay queued.
        """
        # Filter the whole queue rather than popping from the left: push times need not be monotonic if the
        # caller mixes clocks, and an expired mention must never be delivered.
        live = [(t, p) for t, p in self._items if now - t <= self.max_age]
        self._items.clear()
        self._items.extend(live)
        if not settled:
            return []
        out = [params for _, params in self._items]
        self._items.clear()
        return out

    def clear(self) -> None:
        """Forget everything queued."""
        self._items.clear()
