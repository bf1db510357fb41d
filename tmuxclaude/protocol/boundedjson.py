"""JSON from files a repository or another program wrote, parsed within bounds (pure, no I/O).

``json.loads`` recurses once per nesting level: a file of 100,000 ``[`` ends in RecursionError (which is no
ValueError, so it escaped every ``except ValueError`` and became "internal error"). The depth is checked first, in
one linear pass that skips strings, and the size before that.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "JsonBoundsError", "loads_bounded"]

MAX_DEPTH = 64
"""Nesting levels allowed: settings and lock files use a handful."""


class JsonBoundsError(ValueError):
    """Too large or too deeply nested: the message says which, for a one-line error naming the file."""


def _depth(text: str) -> int:
    deepest = depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def loads_bounded(raw: str | bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` of ``raw``; JsonBoundsError if larger than ``max_bytes`` or nested deeper than
    ``max_depth``, ValueError if not JSON."""
    if len(raw) > max_bytes:
        raise JsonBoundsError(f"larger than {max_bytes} bytes")
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    if _depth(text) > max_depth:
        raise JsonBoundsError(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise JsonBoundsError(f"nested deeper than {max_depth} levels") from None
