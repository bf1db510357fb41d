"""How instances read as lines (ls, pick, Neovim's :ClaudeCodeList): the view model, pure.

Shared by the controller, the CLI fast path and the click commands."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["instance_line", "ls_line", "shorten_home"]


def shorten_home(path: str) -> str:
    home = os.path.expanduser("~").rstrip("/")
    if home and (path == home or path.startswith(home + "/")):
        return "~" + path[len(home) :]
    return path


def ls_line(item: dict[str, Any]) -> str:
    """``1. [main] ~/projects/myapp (port: 10001) *active*``"""
    line = f"{item['n']}. [{item['name']}] {shorten_home(item['worktree'])} (port: {item['port']})"
    if item.get("state") in ("paused", "exited", "dead"):
        line += f" ({item['state']})"
    if item.get("active"):
        line += " *active*"
    return line


def instance_line(item: dict[str, Any], verb: str) -> str:
    """``started feat-x: ~/projects/myapp-feat-x (port: 10002)``"""
    return f"{verb} {item['name']}: {shorten_home(item['worktree'])} (port: {item['port']})"
