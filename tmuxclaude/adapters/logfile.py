"""The controller's log file: private (0600, rotated files too), one line per record, and bounded.

- Rotation renames the live file and opens a new one: ``RotatingFileHandler`` would create that with the
  umask (0644) and leave older backups as they were; here every file is created and kept 0600, never through
  a symlink.
- Names and paths come from repositories: a newline or an escape sequence in one must not forge a log line or
  drive the terminal of whoever reads the log, so control characters in messages are shown escaped.
- A local process flooding a server (or asyncio's accept errors once descriptors run out) must not rotate the
  useful log away: each message template is let through a few times per window, then counted and summarised.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import time

__all__ = ["PrivateRotatingFileHandler", "RateLimitFilter", "SafeFormatter", "open_private_log"]

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def open_private_log(path: str) -> int:
    """Open ``path`` for appending, created 0600 (an existing file is tightened), never following a symlink."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)
    return fd


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    def _open(self):  # type: ignore[no-untyped-def]  # typeshed types the stdlib's own as returning a TextIO
        return open(open_private_log(self.baseFilename), self.mode, encoding=self.encoding, errors=self.errors)

    def rotate(self, source: str, dest: str) -> None:
        super().rotate(source, dest)
        # A backup left by an older version (or the umask) is tightened as it moves along.
        if os.path.lexists(dest) and not os.path.islink(dest):
            os.chmod(dest, 0o600)


class SafeFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", record.message)
        return super().formatMessage(record)


class RateLimitFilter(logging.Filter):
    """At most ``burst`` records per message template (logger + format string) per ``window`` seconds."""

    def __init__(self, burst: int = 10, window: float = 60.0, max_keys: int = 2000) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.max_keys = max_keys
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        start, count = self._seen.get(key, (now, 0))
        if now - start >= self.window:
            suppressed = count - self.burst
            start, count = now, 0
            if suppressed > 0:
                record.msg = f"[{suppressed} similar message(s) suppressed in the last {self.window:.0f}s] {record.msg}"
        if len(self._seen) >= self.max_keys and key not in self._seen:
            self._seen.clear()
        self._seen[key] = (start, count + 1)
        return count < self.burst
