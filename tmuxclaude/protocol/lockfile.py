"""The IDE lock-file record (docs/protocol.md §2.2-2.4) and the auth-token check (§3.2), with no file I/O.

Writing the file (atomically, mode 0600 in a 0700 directory) belongs to the lock-file adapter; this module
only defines what goes in it and how a name maps to a port.
"""

from __future__ import annotations

import hmac
import json
import math
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from tmuxclaude.errors import LockFileError

__all__ = [
    "LOCK_SUFFIX",
    "TOKEN_MAX_LENGTH",
    "TOKEN_MIN_LENGTH",
    "LockRecord",
    "lock_file_name",
    "port_from_name",
    "token_matches",
]

LOCK_SUFFIX = ".lock"

TOKEN_MIN_LENGTH = 10
TOKEN_MAX_LENGTH = 500
"""Bounds on a presented token, as claudecode.nvim enforces; a 500+ character header is refused outright."""

# Digits only and no leading zero, so that lock_file_name(port_from_name(n)) == n. The CLI uses parseInt on
# the name, so a name like "0123.lock" would be read as port 123 by the CLI but is never one of ours.
_T = TypeVar("_T")

_NAME_RE = re.compile(r"([1-9][0-9]{0,4})\.lock")


def _valid_port(port: int) -> bool:
    return 1 <= port <= 65535


def lock_file_name(port: int) -> str:
    """``<port>.lock``, the name the CLI derives the port from.

    Raises:
        ValueError: ``port`` is not a TCP port.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not _valid_port(port):
        raise ValueError(f"not a TCP port: {port!r}")
    return f"{port}{LOCK_SUFFIX}"


def port_from_name(name: str) -> int | None:
    """The port of a lock file's base name, or ``None`` for anything else (temp files, stray files)."""
    match = _NAME_RE.fullmatch(name)
    if match is None:
        return None
    port = int(match.group(1))
    return port if _valid_port(port) else None


@dataclass(frozen=True)
class LockRecord:
    """What we write into ``<lockdir>/<port>.lock``.

    The first five fields are read by the CLI. ``pid`` must be the long-lived process serving the socket
    (the controller): the CLI deletes locks whose pid is dead. The rest are ours, for reconciling after a
    controller restart; the CLI ignores unknown keys.
    """

    pid: int
    workspace_folders: tuple[str, ...]
    ide_name: str
    auth_token: str
    instance_id: str
    worktree_path: str
    created_at: float
    neovim_pid: int | None = None
    parent_port: int | None = None
    transport: str = "ws"
    """Must stay ``"ws"``: anything else makes the CLI fall back to unauthenticated SSE (§2.3)."""

    def __post_init__(self) -> None:
        # Accept any sequence (a list from a caller) but store a tuple, so the record stays hashable and
        # truly frozen.
        if not isinstance(self.workspace_folders, tuple):
            object.__setattr__(self, "workspace_folders", tuple(self.workspace_folders))

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, keys in the order the file carries them; ``parentPort`` only when set."""
        data: dict[str, Any] = {
            "pid": self.pid,
            "workspaceFolders": list(self.workspace_folders),
            "ideName": self.ide_name,
            "transport": self.transport,
            "authToken": self.auth_token,
            "neovimPid": self.neovim_pid,
            "instanceId": self.instance_id,
            "worktreePath": self.worktree_path,
            "createdAt": self.created_at,
        }
        if self.parent_port is not None:
            data["parentPort"] = self.parent_port
        return data

    def to_json(self) -> str:
        """One line of compact JSON, no trailing newline (like claudecode.nvim's files)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> LockRecord:
        """Parse a lock file written by :meth:`to_json`.

        Raises:
            LockFileError: not JSON, not an object, or a field is missing or of the wrong type. Lock files of
                other editors (claudecode.nvim, VS Code) lack our fields and are refused the same way.
        """
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise LockFileError(f"lock file is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise LockFileError("lock file does not hold a JSON object")
        folders = _field(data, "workspaceFolders", list)
        if not all(isinstance(f, str) for f in folders):
            raise LockFileError("lock file field 'workspaceFolders' must be a list of strings")
        created_at = data.get("createdAt")
        if isinstance(created_at, bool) or not isinstance(created_at, int | float) or not math.isfinite(created_at):
            raise LockFileError("lock file field 'createdAt' must be a number")
        parent_port = _optional_int(data, "parentPort")
        if parent_port is not None and not _valid_port(parent_port):
            raise LockFileError("lock file field 'parentPort' must be a TCP port")
        return cls(
            pid=_field(data, "pid", int),
            workspace_folders=tuple(folders),
            ide_name=_field(data, "ideName", str),
            auth_token=_field(data, "authToken", str),
            instance_id=_field(data, "instanceId", str),
            worktree_path=_field(data, "worktreePath", str),
            created_at=float(created_at),
            neovim_pid=_optional_int(data, "neovimPid"),
            parent_port=parent_port,
            transport=_field(data, "transport", str),
        )


def _field(data: dict[str, Any], key: str, kind: type[_T]) -> _T:
    value = data.get(key)
    # bool is an int subclass; a pid of `true` is corruption, not 1.
    if isinstance(value, bool) or not isinstance(value, kind):
        raise LockFileError(f"lock file field {key!r} must be of type {kind.__name__}")
    return value


def _optional_int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise LockFileError(f"lock file field {key!r} must be an integer or null")
    return value


def token_matches(expected: str, presented: str | None) -> bool:
    """Whether the ``X-Claude-Code-Ide-Authorization`` value equals our token.

    Constant time in the token contents (``hmac.compare_digest``), so response timing leaks nothing about how
    much of a guess was right. Missing, too short (< 10) or too long (> 500) values fail before comparing.
    """
    if presented is None or not TOKEN_MIN_LENGTH <= len(presented) <= TOKEN_MAX_LENGTH:
        return False
    # surrogatepass: a header decoded with surrogateescape must not turn a rejection into an exception.
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), presented.encode("utf-8", "surrogatepass"))
