"""Reading a file's current text for :ClaudeCodeReview: bounded, regular files only, never blocking."""

from __future__ import annotations

import os
import stat

from tmuxclaude.model.review import FileText

__all__ = ["FileText", "read_file_text", "read_regular"]


def read_regular(path: str | os.PathLike[str], limit: int, *, nofollow: bool = False) -> bytes | None:
    """At most ``limit`` bytes of a regular file; None when it is missing, unreadable or not a regular file. Opened
    non-blocking: a FIFO or device a hostile repository (or another process) put there is never read."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | (os.O_NOFOLLOW if nofollow else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_file_text(path: str, max_bytes: int) -> FileText:
    """The file's bytes if it is a regular file of at most ``max_bytes``. A FIFO or device (a hostile repository
    can put one where Claude is told to write) is opened non-blocking and never read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        return FileText(False, None)
    except OSError:
        return FileText(os.path.lexists(path), None)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            return FileText(True, None)
        chunks = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        return FileText(True, data if len(data) <= max_bytes else None)
    except OSError:
        return FileText(True, None)
    finally:
        os.close(fd)
