"""The controller process: one per tmux server, an asyncio loop serving the control socket and every IDE server.

The wire format is ``protocol.control``; the commands are ``controller.commands``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import resource
import signal
import socket
import sys
import time
from typing import Any

from tmuxclaude import __version__
from tmuxclaude.adapters.configfile import config_mtime, load_config
from tmuxclaude.adapters.fsutil import write_private
from tmuxclaude.adapters.logfile import PrivateRotatingFileHandler, RateLimitFilter, SafeFormatter
from tmuxclaude.adapters.paths import Paths
from tmuxclaude.adapters.peercred import require_own_peer
from tmuxclaude.adapters.portkeeper import KeptPorts
from tmuxclaude.adapters.tmux import Tmux
from tmuxclaude.controller import monitor, reconcile, status, watch
from tmuxclaude.controller.commands import Commands
from tmuxclaude.controller.hosts import Hosts
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.errors import InsecurePathError, TmuxClaudeError
from tmuxclaude.model.config import Config
from tmuxclaude.protocol.control import MAX_LINE, decode_request, encode_error, encode_reply

__all__ = ["Controller", "run"]

log = logging.getLogger(__name__)

MONITOR_INTERVAL = 2.0
REQUEST_TIMEOUT = 5.0
"""Seconds a control connection may stay open without sending a request line (the CLI sends at once)."""
MAX_WAITING_CLIENTS = 64
"""Control connections waiting to send a request: a newcomer beyond this closes the oldest waiting one."""


class Controller:
    def __init__(self, paths: Paths, config: Config) -> None:
        self.paths = paths
        self.ports = KeptPorts(paths.runtime_dir)
        self.rt = Runtime(paths, config, Tmux(paths.tmux_socket), net=self.ports)
        self.commands = Commands(self.rt, reload_config=self._reload_config, stop=self.stop)
        self._config_mtime = config_mtime()
        self._stop = asyncio.Event()
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._waiting: dict[asyncio.StreamWriter, None] = {}

    async def serve(self) -> None:
        self.paths.ensure_runtime_dir()
        # The listening sockets the port keeper held while no controller ran (docs/threat-model.md).
        self.ports.take()
        await reconcile.start(self.rt)
        self.ports.release_unused(self.rt.registry.ports())
        self.rt.hosts = Hosts(self.rt)
        self.rt.hosts.apply(self.rt.config)
        self.paths.ensure_runtime_dir()
        sock_path = self.paths.control_socket
        with contextlib.suppress(FileNotFoundError):
            sock_path.unlink()  # a killed controller's socket; we hold the controller flock, so it is stale
        self._server = await asyncio.start_unix_server(self._client, path=str(sock_path), limit=MAX_LINE, backlog=512)
        os.chmod(sock_path, 0o600)
        ticker = asyncio.create_task(self._monitor())
        log.info("controller %s serving %s (tmux %s)", __version__, sock_path, self.paths.tmux_socket)
        try:
            await self._stop.wait()
        finally:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
            self._server.close()
            # Connected clients' handlers end with us, quietly (a pending request gets no answer, the CLI says so).
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            with contextlib.suppress(FileNotFoundError):
                sock_path.unlink()
            await self.rt.hosts.stop()
            await reconcile.shutdown(self.rt)
            log.info("controller stopped")

    def stop(self) -> None:
        self._stop.set()

    async def _monitor(self) -> None:
        """Notice windows closed by the user; stop when the tmux server is gone for good."""
        while True:
            await asyncio.sleep(MONITOR_INTERVAL)
            try:
                await reconcile.reconcile(self.rt)
                await monitor.tick(self.rt)
            except Exception:
                log.exception("reconcile failed")

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        try:
            # The socket's dir is ours alone, so only we (or root) can connect: check the peer all the same.
            require_own_peer(writer.get_extra_info("socket"), "control client")
        except (InsecurePathError, OSError) as exc:
            log.warning("refused a control connection: %s", exc)
            writer.transport.abort()
            return
        try:
            while True:
                if len(self._waiting) >= MAX_WAITING_CLIENTS:
                    oldest = next(iter(self._waiting))
                    del self._waiting[oldest]
                    oldest.transport.abort()
                self._waiting[writer] = None
                try:
                    line = await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT)
                except TimeoutError:
                    return
                except ValueError:
                    writer.write(encode_error("error", "request too large"))
                    await writer.drain()
                    return
                finally:
                    self._waiting.pop(writer, None)
                if not line:
                    return
                if line.startswith(b'{"cmd":"watch"'):
                    # A stream, not a reply: the connection stays open for this controller's state changes.
                    await watch.stream(self.rt, reader, writer)
                    return
                writer.write(await self.handle_line(line))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # The controller is stopping (serve() cancels connected clients): end quietly, no traceback.
            pass
        finally:
            writer.close()
            # Cancelled here too when the stop comes while this handler is closing: end quietly all the same. A
            # handler task that ends cancelled is logged with a traceback by asyncio's stream server (3.11).
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def handle_line(self, line: bytes) -> bytes:
        try:
            request = decode_request(line)
        except ValueError as exc:
            return encode_error("error", f"bad request: {exc}")
        client = ClientContext.from_dict(request.client)
        try:
            return encode_reply(await self.commands.dispatch(request.cmd, request.args, client))
        except TmuxClaudeError as exc:
            return encode_error(exc.kind, str(exc))
        except ExceptionGroup as group:
            return encode_error("error", "; ".join(str(e) for e in _leaves(group)))
        except Exception as exc:
            log.exception("command %s failed", request.cmd)
            return encode_error("error", f"internal error: {exc}")

    def _reload_config(self) -> None:
        """Pick up an edited config.toml; a broken one fails the command with the key named, nothing else."""
        mtime = config_mtime()
        if mtime == self._config_mtime:
            return
        config = load_config()
        self._config_mtime = mtime
        shown = self.rt.config.multi_instance.instance_indicator
        self.rt.config = config
        if self.rt.hosts is not None:
            self.rt.hosts.apply(config)
        if config.multi_instance.instance_indicator != shown:
            status.refresh_all(self.rt)
        log.info("config reloaded")


def _setup_logging(paths: Paths) -> None:
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


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """The errors a group holds, nested groups flattened: what the user is told, one per failed step."""
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out


def _answers(paths: Paths) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(paths.control_socket))
        except OSError:
            return False
    return True


def _take_controller_lock(fd: int, paths: Paths, wait: float = 10.0) -> bool:
    """The controller flock: False when another controller serves. One that is still stopping (its socket
    already gone, ``daemon stop`` then a command at once) is waited for, so the command gets a controller."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if _answers(paths) or time.monotonic() > deadline:
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
    _setup_logging(paths)
    try:
        config = load_config()
    except TmuxClaudeError as exc:
        log.error("%s", exc)
        print(f"tmuxclaude: {exc}", file=sys.stderr)
        return exc.exit_code
    write_private(paths.pid_file, str(os.getpid()))
    _raise_fd_limit()
    controller = Controller(paths, config)

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
