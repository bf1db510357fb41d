"""tmux windows as the controller sees them (pure data: ``adapters/tmux.py`` reads them from tmux)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InstanceWindow", "WindowRow"]


@dataclass(frozen=True)
class InstanceWindow:
    session_id: str
    window_id: str
    nvim_pane: str
    claude_pane: str
    server_id: str = ""
    """``pid:start_time`` of the tmux server it was made on, read in the same tmux command ("" if not)."""


@dataclass(frozen=True)
class WindowRow:
    session_id: str
    window_id: str
    active: bool
    session_attached: bool
    instance_id: str
