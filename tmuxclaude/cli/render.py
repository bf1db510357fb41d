"""How instances look on a terminal: the view model lives in ``model.view``; the CLI prints its lines."""

from __future__ import annotations

from tmuxclaude.model.view import instance_line, ls_line, printable, shorten_home

__all__ = ["instance_line", "ls_line", "printable", "shorten_home"]
