"""What the controller reads of a process tree (``adapters/procs.py`` measures it)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TreeStats"]


@dataclass(frozen=True)
class TreeStats:
    rss_mb: float
    cpu_percent: float
    processes: int
