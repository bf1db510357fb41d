"""How instances read (ls, pick, Neovim's :ClaudeCodeList, every command's answer): the view model, pure.

:class:`InstanceView` is what the read use cases return for a local instance, :class:`RemoteView` for one of
another host's; ``to_dict`` is their one wire form (the control socket's JSON, what the CLI, the tmux plugin and
other hosts read), ``from_wire`` reads it back on the CLI side. Shared by the controller, the CLI fast path and
the click commands."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "InstanceView",
    "PermissionView",
    "RemoteView",
    "StatsView",
    "View",
    "from_wire",
    "instance_line",
    "ls_line",
    "printable",
    "shorten_home",
]

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


@dataclass(frozen=True)
class PermissionView:
    """The permission mode the instance's Claude started in, and who chose it (``model.claude.PermissionChoice``)."""

    mode: str
    chosen_by: str
    reason: str


@dataclass(frozen=True)
class StatsView:
    """Memory and CPU of an instance's process tree (``ls --stats``)."""

    rss_mb: float
    cpu_percent: float
    processes: int


@dataclass(frozen=True)
class InstanceView:
    """One local instance as the commands answer it. The wire keys are the field names (``to_dict``)."""

    n: int
    """Its number in ``ls`` (1-based)."""
    id: str
    name: str
    branch: str
    worktree: str
    repo: str
    port: int
    state: str
    window_id: str
    nvim_pane: str
    claude_pane: str
    nvim_pid: int | None
    nvim_socket: str
    nvim_attached: bool
    clients: int
    parent_port: int | None
    created_at: float
    claude_session_id: str
    exit: dict[str, Any] | None
    """How its Claude ended (``status``, ``headline``, ...), while it is exited."""
    lock_file: str
    worktree_missing: bool
    permission: PermissionView | None = None
    stats: StatsView | None = None
    """Only when asked for (``ls --stats``, the memory check)."""
    active: bool | None = None
    """Whether its window is the current one; known for listed instances only (``ls``). A listed item also says
    ``"host": null`` on the wire: it is a local one (``RemoteView`` names its host)."""
    existing: bool = False
    """``open`` found it running (focused, not started)."""
    worktree_removed: bool = False
    """``kill --remove-worktree`` removed its worktree."""

    def to_dict(self) -> dict[str, Any]:
        """The wire form: keys and order as the control socket has always sent them."""
        data: dict[str, Any] = {
            "n": self.n,
            "id": self.id,
            "name": self.name,
            "branch": self.branch,
            "worktree": self.worktree,
            "repo": self.repo,
            "port": self.port,
            "state": self.state,
            "window_id": self.window_id,
            "nvim_pane": self.nvim_pane,
            "claude_pane": self.claude_pane,
            "nvim_pid": self.nvim_pid,
            "nvim_socket": self.nvim_socket,
            "nvim_attached": self.nvim_attached,
            "clients": self.clients,
            "parent_port": self.parent_port,
            "created_at": self.created_at,
            "claude_session_id": self.claude_session_id,
            "exit": self.exit,
            "lock_file": self.lock_file,
            "worktree_missing": self.worktree_missing,
        }
        if self.permission is not None:
            p = self.permission
            data["permission"] = {"mode": p.mode, "chosen_by": p.chosen_by, "reason": p.reason}
        if self.stats is not None:
            s = self.stats
            data["stats"] = {"rss_mb": s.rss_mb, "cpu_percent": s.cpu_percent, "processes": s.processes}
        if self.active is not None:
            data["active"] = self.active
            data["host"] = None
        if self.existing:
            data["existing"] = True
        if self.worktree_removed:
            data["worktree_removed"] = True
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstanceView:
        """The view of a wire dict (the CLI's side); missing or mistyped keys read as empty."""
        p, s = data.get("permission"), data.get("stats")
        permission = None
        if isinstance(p, dict):
            permission = PermissionView(_str(p.get("mode")), _str(p.get("chosen_by")), _str(p.get("reason")))
        stats = None
        if isinstance(s, dict):
            stats = StatsView(_float(s.get("rss_mb")), _float(s.get("cpu_percent")), _int(s.get("processes")))
        active = data.get("active")
        exit_ = data.get("exit")
        return cls(
            n=_int(data.get("n")),
            id=_str(data.get("id")),
            name=_str(data.get("name")),
            branch=_str(data.get("branch")),
            worktree=_str(data.get("worktree")),
            repo=_str(data.get("repo")),
            port=_int(data.get("port")),
            state=_str(data.get("state")),
            window_id=_str(data.get("window_id")),
            nvim_pane=_str(data.get("nvim_pane")),
            claude_pane=_str(data.get("claude_pane")),
            nvim_pid=_int_or_none(data.get("nvim_pid")),
            nvim_socket=_str(data.get("nvim_socket")),
            nvim_attached=bool(data.get("nvim_attached")),
            clients=_int(data.get("clients")),
            parent_port=_int_or_none(data.get("parent_port")),
            created_at=_float(data.get("created_at")),
            claude_session_id=_str(data.get("claude_session_id")),
            exit=exit_ if isinstance(exit_, dict) else None,
            lock_file=_str(data.get("lock_file")),
            worktree_missing=bool(data.get("worktree_missing")),
            permission=permission,
            stats=stats,
            active=bool(active) if active is not None else None,
            existing=bool(data.get("existing")),
            worktree_removed=bool(data.get("worktree_removed")),
        )


@dataclass(frozen=True)
class RemoteView:
    """One instance of another host (``[hosts.NAME]``), as its watch stream last showed it. Not an InstanceView:
    the host tells only these fields (``protocol.watch``), none of the local ones (panes, lock file, pids)."""

    name: str
    """``HOST:NAME``."""
    branch: str
    worktree: str
    """A path on that host."""
    repo: str
    port: int | None
    """None: not seen on the host's stream yet (right after ``new --host``); the wire says ``"?"``."""
    state: str
    n: int
    host: str
    remote_name: str
    """Its name there."""
    home: str
    """The home directory there (``ls`` shortens paths with it)."""
    unreachable: str | None
    """Why the host cannot be reached now (the view is its last known one); None while it can."""
    active: bool = False
    window_id: str | None = None
    """The local window showing it (``switch``)."""
    worktree_removed: bool | None = None
    """``kill``: whether the host removed its worktree."""
    file: str | None = None
    """``send``: the file mentioned."""

    def to_dict(self) -> dict[str, Any]:
        if self.port is None:
            return {"name": self.name, "host": self.host, "worktree": self.worktree, "port": "?"}
        data: dict[str, Any] = {
            "name": self.name,
            "branch": self.branch,
            "worktree": self.worktree,
            "repo": self.repo,
            "port": self.port,
            "state": self.state,
            "n": self.n,
            "host": self.host,
            "remote_name": self.remote_name,
            "home": self.home,
            "unreachable": self.unreachable,
            "active": self.active,
        }
        for key, value in (("window_id", self.window_id), ("worktree_removed", self.worktree_removed),
                           ("file", self.file)):  # fmt: skip
            if value is not None:
                data[key] = value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RemoteView:
        port = data.get("port")
        unreachable = data.get("unreachable")
        removed = data.get("worktree_removed")
        return cls(
            name=_str(data.get("name")),
            branch=_str(data.get("branch")),
            worktree=_str(data.get("worktree")),
            repo=_str(data.get("repo")),
            port=port if isinstance(port, int) and not isinstance(port, bool) else None,
            state=_str(data.get("state")),
            n=_int(data.get("n")),
            host=_str(data.get("host")),
            remote_name=_str(data.get("remote_name")),
            home=_str(data.get("home")),
            unreachable=str(unreachable) if unreachable else None,
            active=bool(data.get("active")),
            window_id=_str(data["window_id"]) if data.get("window_id") is not None else None,
            worktree_removed=bool(removed) if removed is not None else None,
            file=_str(data["file"]) if data.get("file") is not None else None,
        )


View = InstanceView | RemoteView


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def from_wire(data: dict[str, Any]) -> View:
    """The view a wire dict (an item of a reply) stands for: a remote one when it names a host."""
    return RemoteView.from_dict(data) if data.get("host") else InstanceView.from_dict(data)


def ls_line(item: View) -> str:
    """``1. [main] ~/projects/myapp (port: 10001) *active*``"""
    if isinstance(item, RemoteView):
        from tmuxclaude.model.hosts import remote_ls_line

        return printable(remote_ls_line(item))
    line = f"{item.n}. [{item.name}] {shorten_home(item.worktree)} (port: {item.port})"
    if item.worktree_missing:
        line += " (worktree deleted)"
    elif item.state in ("paused", "exited", "orphaned", "dead"):
        line += f" ({item.state})"
    if item.active:
        line += " *active*"
    return printable(line)


def instance_line(item: View, verb: str) -> str:
    """``started feat-x: ~/projects/myapp-feat-x (port: 10002)``"""
    port = "?" if item.port is None else item.port
    return printable(f"{verb} {item.name}: {shorten_home(item.worktree)} (port: {port})")
