"""Claude Code's IDE lock files on disk: atomic 0600 writes in a 0700 dir, listing, reaping ours."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from tmuxclaude.adapters.fsutil import write_private
from tmuxclaude.adapters.paths import ensure_private_dir
from tmuxclaude.errors import LockFileError
from tmuxclaude.protocol.boundedjson import loads_bounded
from tmuxclaude.protocol.lockfile import LockRecord, lock_file_name, port_from_name

MAX_LOCK_BYTES = 1 << 16
"""A lock file is one short line; anything larger in the lock dir is not ours."""

__all__ = ["LockDir"]

log = logging.getLogger(__name__)


class LockDir:
    def __init__(self, path: Path) -> None:
        self.path = path

    def file_for(self, port: int) -> Path:
        return self.path / lock_file_name(port)

    def write(self, port: int, record: LockRecord) -> Path:
        """Write ``<port>.lock`` atomically: O_EXCL temp file (mode 0600) then rename.

        The temp name must not end in ``.lock``: the CLI scans for that suffix and would read a half-written file.
        """
        try:
            ensure_private_dir(self.path)
        except OSError as exc:
            raise LockFileError(f"cannot create lock dir {self.path}: {exc.strerror}") from exc
        target = self.file_for(port)
        try:
            write_private(target, record.to_json())
        except OSError as exc:
            raise LockFileError(f"cannot write lock file {target}: {exc.strerror}") from exc
        return target

    def remove(self, port: int) -> bool:
        try:
            self.file_for(port).unlink()
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            log.warning("could not remove lock file for port %s: %s", port, exc)
            return False

    def ports(self) -> set[int]:
        """Ports that have any lock file (ours or another editor's): never allocate those."""
        try:
            names = os.listdir(self.path)
        except OSError:
            return set()
        return {p for p in (port_from_name(n) for n in names) if p is not None}

    def read_raw(self, port: int) -> dict[str, Any] | None:
        try:
            data = loads_bounded(self.file_for(port).read_bytes()[: MAX_LOCK_BYTES + 1], max_bytes=MAX_LOCK_BYTES)
        except (OSError, ValueError):  # JsonBoundsError too: another editor's odd lock file is not ours
            return None
        return data if isinstance(data, dict) else None

    def ours(self) -> dict[int, dict[str, Any]]:
        """Lock files written by tmuxclaude (they carry ``instanceId``); other editors' locks are never touched."""
        found: dict[int, dict[str, Any]] = {}
        for port in self.ports():
            data = self.read_raw(port)
            if data is not None and isinstance(data.get("instanceId"), str):
                found[port] = data
        return found
