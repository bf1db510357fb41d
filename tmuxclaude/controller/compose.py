"""The composition root: the one module of the controller that names adapters. It builds the :class:`Ports`
bundle for this machine, the runtime and the controller over it, and runs the controller process (its flock,
log file, descriptor limit and signals)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import os
import resource
import signal
import sys
import time
from typing import TYPE_CHECKING

from tmuxclaude.adapters.configfile import config_mtime, load_config
from tmuxclaude.adapters.control_server import ControlServer, control_socket_answers
from tmuxclaude.adapters.fsutil import write_private
from tmuxclaude.adapters.logfile import PrivateRotatingFileHandler, RateLimitFilter, SafeFormatter
from tmuxclaude.adapters.paths import Paths
from tmuxclaude.errors import TmuxClaudeError
from tmuxclaude.model.config import Config

if TYPE_CHECKING:
    from tmuxclaude.controller.daemon import Controller

__all__ = ["build", "run", "setup_logging"]

log = logging.getLogger(__name__)


class _ConfigFile:
    """The user's config.toml (``controller.daemon.ConfigSource``)."""

    def mtime(self) -> float:
        return config_mtime()

    def load(self) -> Config:
        return load_config()


def build(paths: Paths, config: Config) -> Controller:
    """The controller of the tmux server ``paths`` names, over the real adapters."""
    # Imported here, after the controller flock: when twenty `tmuxclaude new` at once each start a controller,
    # the nineteen that lose the flock exit without paying for websockets, msgpack, libtmux and psutil.
    from tmuxclaude.adapters import claude_sessions, procs
    from tmuxclaude.adapters import git as gitx
    from tmuxclaude.adapters.claude_cli import LocalClaudeCli
    from tmuxclaude.adapters.formatter import resolve_formatter
    from tmuxclaude.adapters.ide_server import IdeServers
    from tmuxclaude.adapters.local_files import LocalFiles
    from tmuxclaude.adapters.lockfiles import LockDir
    from tmuxclaude.adapters.nvim import NvimBridge
    from tmuxclaude.adapters.pane_launcher import PaneLauncher
    from tmuxclaude.adapters.portkeeper import KeptPorts
    from tmuxclaude.adapters.remote_windows import RemoteWindows
    from tmuxclaude.adapters.ssh import SshHost
    from tmuxclaude.adapters.statefile import StateFile
    from tmuxclaude.adapters.tmux import Tmux
    from tmuxclaude.adapters.tmux_text import PaneText
    from tmuxclaude.controller.daemon import Controller
    from tmuxclaude.controller.ports import Ports
    from tmuxclaude.controller.runtime import Runtime

    keeper = KeptPorts(paths.runtime_dir)
    tmux = Tmux(paths.tmux_socket)
    ports = Ports(
        paths=paths,
        tmux=tmux,
        git=gitx,
        locks=LockDir(paths.lock_dir),
        state=StateFile(paths.state_file),
        net=keeper,
        clock=time,
        claude_cli=LocalClaudeCli(),
        ide=IdeServers(),
        nvim=NvimBridge,
        processes=procs,
        files=LocalFiles(),
        claude_sessions=claude_sessions,
        launcher=PaneLauncher(),
        pane_text=PaneText(paths.tmux_socket),
        ssh=functools.partial(SshHost, paths=paths),
        remote_windows=RemoteWindows(tmux),
        formatter=resolve_formatter,
    )
    rt = Runtime(config, ports)
    return Controller(rt, keeper=keeper, config=_ConfigFile(), control=ControlServer(paths.control_socket))


def setup_logging(paths: Paths) -> None:
    """The controller logs to a private, rotated file in its state dir (never a pane)."""
    paths.ensure_state_dir()
    # Not through umask: a tmux server the controller starts would hand it to every shell of the user's session.
    handler = PrivateRotatingFileHandler(paths.log_file, maxBytes=2_000_000, backupCount=2)
    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RateLimitFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = os.environ.get("TMUXCLAUDE_LOG_LEVEL", "INFO").upper()
    root.setLevel(level)
    # websockets logs every handshake failure with a traceback at INFO/ERROR; our own refusal counters suffice.
    logging.getLogger("websockets").setLevel(logging.WARNING)


def _take_controller_lock(fd: int, paths: Paths, wait: float = 10.0) -> bool:
    """The controller flock: False when another controller serves. One that is still stopping (its socket
    already gone, ``daemon stop`` then a command at once) is waited for, so the command gets a controller."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if control_socket_answers(paths.control_socket) or time.monotonic() > deadline:
                return False
            time.sleep(0.02)


def _raise_fd_limit() -> None:
    """Every instance costs descriptors (its server, clients, Neovim): use what the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def run(tmux_socket: str | None = None) -> int:
    """Run the controller in the foreground (the CLI daemonises it). Exit 0 if another one already runs."""
    # Never act on the tmux server of whoever started us: only the one named by the socket path.
    for var in ("TMUX", "TMUX_PANE"):
        os.environ.pop(var, None)
    paths = Paths.current(tmux_socket)
    try:
        paths.ensure_runtime_dir()
    except TmuxClaudeError as exc:
        print(f"tmuxclaude: {exc}", file=sys.stderr)
        return exc.exit_code
    lock_fd = os.open(paths.runtime_dir / "controller.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    if not _take_controller_lock(lock_fd, paths):
        os.close(lock_fd)
        return 0
    setup_logging(paths)
    try:
        config = load_config()
    except TmuxClaudeError as exc:
        log.error("%s", exc)
        print(f"tmuxclaude: {exc}", file=sys.stderr)
        return exc.exit_code
    write_private(paths.pid_file, str(os.getpid()))
    _raise_fd_limit()
    controller = build(paths, config)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, controller.stop)
        await controller.serve()

    try:
        asyncio.run(main())
    finally:
        with contextlib.suppress(FileNotFoundError):
            paths.pid_file.unlink()
        os.close(lock_fd)
    return 0
