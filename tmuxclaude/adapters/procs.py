"""Processes: liveness and resource use of a process tree (psutil)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil

from tmuxclaude.errors import InstanceError
from tmuxclaude.model.processes import TreeStats

__all__ = ["TreeStats", "end_process", "has_children", "pane_of", "pid_alive", "tree_stats"]


def pid_alive(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    try:
        proc = psutil.Process(pid)
        return bool(proc.status() != psutil.STATUS_ZOMBIE)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def pane_of(pid: int, pane_pids: dict[int, str]) -> str:
    """The tmux pane (from ``{pane pid: pane id}``) whose process is ``pid`` or one of its ancestors; "" when
    none (another tmux server, a process gone)."""
    try:
        proc: psutil.Process | None = psutil.Process(pid)
        for _ in range(32):
            if proc is None:
                break
            if proc.pid in pane_pids:
                return pane_pids[proc.pid]
            proc = proc.parent()
    except psutil.Error:
        pass
    return ""


def has_children(pid: int) -> bool | None:
    """Whether process ``pid`` has a live child (None: no such process, or not ours to look at)."""
    try:
        return any(c.status() != psutil.STATUS_ZOMBIE for c in psutil.Process(pid).children())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def tree_stats(pids: list[int], interval_cache: dict[int, psutil.Process] | None = None) -> TreeStats:
    """RSS and CPU of every process under ``pids`` (pane shells, Claude, Neovim and their children).

    ``interval_cache`` keeps Process objects between calls so cpu_percent measures since the last call instead
    of blocking to sample.
    """
    cache = interval_cache if interval_cache is not None else {}
    seen: set[int] = set()
    rss = 0
    cpu = 0.0
    for root in pids:
        try:
            top = psutil.Process(root)
            procs = [top, *top.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for proc in procs:
            if proc.pid in seen:
                continue
            seen.add(proc.pid)
            cached = cache.setdefault(proc.pid, proc)
            try:
                rss += cached.memory_info().rss
                cpu += cached.cpu_percent(None)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                cache.pop(proc.pid, None)
    for pid in list(cache):
        if pid not in seen:
            del cache[pid]
    return TreeStats(rss_mb=round(rss / 1024 / 1024, 1), cpu_percent=round(cpu, 1), processes=len(seen))


def end_process(pid: int, timeout: float = 5.0) -> bool:
    """Ask a process of this user to exit (SIGTERM) and wait up to ``timeout`` for it to be gone: False when it
    is still there then. InstanceError when it is not ours to stop. A process already gone is fine."""
    try:
        if os.stat(f"/proc/{pid}").st_uid != os.getuid():
            raise InstanceError(f"pid {pid} is not yours")
        os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ProcessLookupError):
        return True
    except OSError as exc:
        raise InstanceError(f"cannot stop pid {pid}: {exc.strerror or exc}") from None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.05)
    return False
