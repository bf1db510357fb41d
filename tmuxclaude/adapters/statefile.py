"""The controller's versioned state file: atomic writes under a file lock, with a backup to recover from."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tmuxclaude.adapters.fsutil import write_private
from tmuxclaude.adapters.paths import ensure_private_dir
from tmuxclaude.model.instance import Registry

__all__ = ["StateFile"]

log = logging.getLogger(__name__)


class StateFile:
    """``state.json`` (0600: it holds auth tokens) plus ``state.json.bak``, the last good version."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.backup = path.with_name(path.name + ".bak")
        self.lock_path = path.with_name(path.name + ".flock")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        ensure_private_dir(self.path.parent)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _read(self, path: Path) -> Registry | None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        data: Any = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("state is not a JSON object")
        return Registry.from_dict(data)

    def load(self) -> Registry:
        """Load the registry; a corrupt or truncated file is set aside and the backup used instead."""
        with self.locked():
            try:
                registry = self._read(self.path)
                if registry is None:
                    # No state.json (first run, or removed by hand): the backup, if any, is the best we have.
                    registry = self._read(self.backup)
                return registry if registry is not None else Registry()
            except (ValueError, TypeError, KeyError, OSError) as exc:
                aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
                with contextlib.suppress(OSError):
                    os.replace(self.path, aside)
                log.error("state file unreadable (%s); kept it as %s, using the backup", exc, aside.name)
                try:
                    registry = self._read(self.backup)
                except (ValueError, TypeError, KeyError, OSError) as exc2:
                    log.error("backup state unreadable too (%s); starting empty", exc2)
                    registry = None
                return registry if registry is not None else Registry()

    def save(self, registry: Registry) -> None:
        data = json.dumps(registry.to_dict(), indent=1, sort_keys=True).encode()
        with self.locked():
            if self.path.exists():
                # Keep the current version as the fallback without ever leaving state.json absent: the backup is
                # a second link to the current file, then state.json is replaced in one atomic step.
                link = self.path.with_name(f".{self.path.name}.bak.{os.getpid()}")
                with contextlib.suppress(FileNotFoundError):
                    link.unlink()
                with contextlib.suppress(OSError):
                    os.link(self.path, link)
                    os.replace(link, self.backup)
            write_private(self.path, data)
