"""A git worktree as the controller knows it (pure data: ``adapters/git.py`` reads it from the disk)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WorktreeInfo"]


@dataclass(frozen=True)
class WorktreeInfo:
    root: str
    """The worktree's top-level directory (``git rev-parse --show-toplevel``)."""
    branch: str
    """Branch name, or ``HEAD@<sha>`` when detached, or ``(unborn)`` before the first commit."""
    main_root: str
    """The repository's main worktree (the one that holds the common .git dir)."""
    repo_name: str
    is_main: bool
