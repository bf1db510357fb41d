"""The watch stream (``tmuxclaude watch --json``), sans-I/O: one JSON line per state change on a host, each a full
snapshot of that host's instances, read by the controller of another machine over ssh.

``{"watch": 1, "version": "0.1.0", "home": "/home/u", "instances": [{"name", "branch", "worktree", "repo",
"port", "state"}, ...]}``

The decoder is the trust boundary: a host may send anything, so every field is type-checked and bounded, an
unknown state or a malformed entry is dropped, and nothing else of the line is kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_INSTANCES", "MAX_LINE", "PROTOCOL", "RemoteInstance", "Snapshot", "decode", "encode"]

PROTOCOL = 1
"""Bumped when a field changes meaning; a host speaking another one is shown as incompatible."""
MAX_LINE = 1024 * 1024
MAX_INSTANCES = 500
MAX_TEXT = 4096
STATES = frozenset({"starting", "idle", "busy", "waiting", "paused", "exited", "orphaned", "dead"})
_FIELDS = ("name", "branch", "worktree", "repo")


@dataclass(frozen=True)
class RemoteInstance:
    name: str
    branch: str
    worktree: str
    repo: str
    port: int
    state: str


@dataclass(frozen=True)
class Snapshot:
    version: str
    home: str
    instances: tuple[RemoteInstance, ...]


def encode(items: list[dict[str, Any]], *, version: str, home: str) -> bytes:
    """The line for ``items`` (``ls`` dicts of the host's own instances)."""
    instances = [{k: item.get(k) for k in (*_FIELDS, "port", "state")} for item in items]
    data = {"watch": PROTOCOL, "version": version, "home": home, "instances": instances}
    return json.dumps(data, separators=(",", ":")).encode() + b"\n"


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        return None
    return value


def _instance(data: Any) -> RemoteInstance | None:
    if not isinstance(data, dict):
        return None
    texts = [_text(data.get(k)) for k in _FIELDS]
    port, state = data.get("port"), data.get("state")
    if any(t is None for t in texts) or not texts[0]:
        return None
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        return None
    if state not in STATES:
        return None
    name, branch, worktree, repo = (t or "" for t in texts)
    return RemoteInstance(name, branch, worktree, repo, port, str(state))


def decode(line: bytes) -> Snapshot:
    """Raises:
    ValueError: not a watch line of this protocol (the message says what, in one line).
    """
    if len(line) > MAX_LINE:
        raise ValueError("watch line too long")
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("not a watch line (is tmuxclaude installed there?)") from None
    if not isinstance(data, dict) or "watch" not in data:
        raise ValueError("not a watch line (is tmuxclaude installed there?)")
    if data["watch"] != PROTOCOL:
        raise ValueError(f"incompatible tmuxclaude there (watch protocol {str(data['watch'])[:20]!r}, need {PROTOCOL})")
    items = data.get("instances")
    if not isinstance(items, list):
        raise ValueError("watch line without instances")
    instances = [i for i in (_instance(x) for x in items[:MAX_INSTANCES]) if i is not None]
    # Names identify instances there: a duplicate would make HOST:NAME ambiguous, so only the first counts.
    seen: set[str] = set()
    unique = [i for i in instances if not (i.name in seen or seen.add(i.name))]  # type: ignore[func-returns-value]
    return Snapshot(_text(data.get("version"), 64) or "?", _text(data.get("home")) or "", tuple(unique))
