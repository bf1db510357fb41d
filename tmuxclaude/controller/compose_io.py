"""Part of the composition root: the real ``IoPorts`` (controller/io_ports.py), built from the adapters. With the
root itself, the one controller module that names adapters."""

from __future__ import annotations

from tmuxclaude.adapters import claude_sessions, procs
from tmuxclaude.adapters.formatter import resolve_formatter
from tmuxclaude.adapters.local_files import LocalFiles
from tmuxclaude.adapters.pane_launcher import PaneLauncher
from tmuxclaude.adapters.paths import Paths
from tmuxclaude.adapters.remote_windows import RemoteWindows
from tmuxclaude.adapters.ssh import SshHost
from tmuxclaude.adapters.tmux import Tmux
from tmuxclaude.adapters.tmux_text import PaneText
from tmuxclaude.controller.io_ports import IoPorts, SshLinkPort
from tmuxclaude.model.hosts import HostConfig

__all__ = ["real_io_ports"]


def real_io_ports(tmux_socket: str, paths: Paths) -> IoPorts:
    """Every I/O port for a controller of the tmux server at ``tmux_socket`` (its private dirs in ``paths``)."""

    def ssh(host: HostConfig) -> SshLinkPort:
        return SshHost(host, paths)

    return IoPorts(
        processes=procs,
        files=LocalFiles(),
        claude_sessions=claude_sessions,
        launcher=PaneLauncher(),
        pane_text=PaneText(tmux_socket),
        ssh=ssh,
        remote_windows=RemoteWindows(Tmux(tmux_socket)),
        formatter=resolve_formatter,
    )
