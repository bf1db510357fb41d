"""Private, atomic file writes: a reader sees the old file or the new one, never a part, and only we can read it."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["write_private"]


def write_private(path: Path, data: bytes | str, *, durable: bool = True) -> None:
    """Write ``path`` (mode 0600) through a temp file and one rename, fsynced first.

    ``durable=False`` skips the fsync, for files rewritten at every launch of what reads them (an instance's hook
    settings, hook token and pane environments): the rename alone keeps a reader from a half-written file, and
    after a crash they are written anew before anything reads them. Each fsync costs 1 to 12 ms on a busy disk,
    on the path of Claude's start.

    The temp name (``.<name>.tmp.<pid>``) never ends like the target: Claude Code scans for ``*.lock`` and must
    not pick up a half-written lock file.
    """
    raw = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(raw)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
