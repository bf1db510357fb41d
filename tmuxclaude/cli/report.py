"""The CLI's one error reporter: what the fast path and the click application print for an error, and the exit
code. Stdlib only (the fast path imports it on every key press)."""

from __future__ import annotations

import sys

from tmuxclaude.errors import TmuxClaudeError
from tmuxclaude.model.view import printable

__all__ = ["report_error"]


def report_error(exc: TmuxClaudeError | BaseExceptionGroup[BaseException]) -> int:
    """Print ``tmuxclaude: MESSAGE`` (one line, control characters escaped) on stderr; the exit code to leave
    with: the error's own (``errors.py``), 1 for several errors at once (``kill-all``, ``restore``), each message
    said."""
    if isinstance(exc, BaseExceptionGroup):
        message, code = "; ".join(str(e) for e in exc.exceptions), 1
    else:
        message, code = str(exc), exc.exit_code
    print(printable(f"tmuxclaude: {message}"), file=sys.stderr)
    return code
