"""How instances read as lines (ls, pick, Neovim's :ClaudeCodeList): the view model, pure.

Shared by the controller, the CLI fast path and the click commands."""

from __future__ import annotations

import os
import re
from typing import Any

__all__ = ["instance_line", "ls_line", "printable", "shorten_home"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: control characters (ESC starts sequences that retitle, write the
    clipboard, or worse) shown as ``\\xNN``. Paths and names come from repositories."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def shorten_home(path: str) -> str:
    home = os.path.expanduser("~").rstrip("/")
    if home and (path == home or path.startswith(home + "/")):
        return "~" + path[len(home) :]
    return path


def ls_line(item: dict[str, Any]) -> str:
    """``1. [main] ~/projects/myapp (port: 10001) *active*``"""
    if item.get("host"):
        from tmuxclaude.model.hosts import remote_ls_line

        return printable(remote_ls_line(item))
    line = f"{item['n']}. [{item['name']}] {shorten_home(item['worktree'])} (port: {item['port']})"
    if item.get("worktree_missing"):
        line += " (worktree deleted)"
    elif item.get("state") in ("paused", "exited", "orphaned", "dead"):
        line += f" ({item['state']})"
    if item.get("active"):
        line += " *active*"
    return printable(line)


def instance_line(item: dict[str, Any], verb: str) -> str:
    """``started feat-x: ~/projects/myapp-feat-x (port: 10002)``"""
    return printable(f"{verb} {item['name']}: {shorten_home(item['worktree'])} (port: {item['port']})")
