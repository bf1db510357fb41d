"""The controller process: one per tmux server, an asyncio loop serving the control socket and every IDE server.

Control protocol: one JSON object per line each way. Request ``{"cmd": str, "args": {...}, "client": {...}}``;
reply ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {"kind": str, "message": str}}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import resource
import signal
import sys
import time
from typing import Any

from tmuxclaude import __version__
from tmuxclaude.adapters.configfile import config_mtime, load_config
from tmuxclaude.adapters.fsutil import write_private
from tmuxclaude.adapters.logfile import PrivateRotatingFileHandler, RateLimitFilter, SafeFormatter
from tmuxclaude.adapters.paths import Paths
from tmuxclaude.adapters.peercred import require_own_peer
from tmuxclaude.adapters.tmux import Tmux
from tmuxclaude.controller.manager import ClientContext, InstanceManager
from tmuxclaude.errors import InsecurePathError, TmuxClaudeError
from tmuxclaude.model.config import Config

__all__ = ["Controller", "run"]

log = logging.getLogger(__name__)

MAX_REQUEST = 1024 * 1024
MONITOR_INTERVAL = 2.0
REQUEST_TIMEOUT = 5.0
"""Seconds a control connection may stay open without sending a request line (the CLI sends at once)."""
MAX_WAITING_CLIENTS = 64
"""Control connections waiting to send a request: a newcomer beyond this closes the oldest waiting one."""


class Controller:
    def __init__(self, paths: Paths, config: Config) -> None:
        self.paths = paths
        self.config = config
        self.manager = InstanceManager(paths, config, Tmux(paths.tmux_socket))
        self.started = time.time()
        self._config_mtime = config_mtime()
        self._stop = asyncio.Event()
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._waiting: dict[asyncio.StreamWriter, None] = {}

    async def serve(self) -> None:
        await self.manager.start()
        self.paths.ensure_runtime_dir()
        sock_path = self.paths.control_socket
        with contextlib.suppress(FileNotFoundError):
            sock_path.unlink()  # a killed controller's socket; we hold the controller flock, so it is stale
        self._server = await asyncio.start_unix_server(self._client, path=str(sock_path), limit=MAX_REQUEST)
        os.chmod(sock_path, 0o600)
        monitor = asyncio.create_task(self._monitor())
        log.info("controller %s serving %s (tmux %s)", __version__, sock_path, self.paths.tmux_socket)
        try:
            await self._stop.wait()
        finally:
            monitor.cancel()
            self._server.close()
            # Connected clients' handlers end with us, quietly (a pending request gets no answer, the CLI says so).
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            with contextlib.suppress(FileNotFoundError):
                sock_path.unlink()
            await self.manager.shutdown()
            log.info("controller stopped")

    def stop(self) -> None:
        self._stop.set()

    async def _monitor(self) -> None:
        """Notice windows closed by the user; stop when the tmux server is gone for good."""
        while True:
            await asyncio.sleep(MONITOR_INTERVAL)
            try:
                await self.manager.reconcile()
                await self.manager.tick()
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
                    await self._reply(writer, {"ok": False, "error": {"kind": "error", "message": "request too large"}})
                    return
                finally:
                    self._waiting.pop(writer, None)
                if not line:
                    return
                reply = await self.handle_line(line)
                await self._reply(writer, reply)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, reply: dict[str, Any]) -> None:
        writer.write(json.dumps(reply, separators=(",", ":")).encode() + b"\n")
        await writer.drain()

    async def handle_line(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
                raise ValueError("request must be an object with a 'cmd'")
        except ValueError as exc:
            return {"ok": False, "error": {"kind": "error", "message": f"bad request: {exc}"}}
        cmd = request["cmd"]
        args = request.get("args") or {}
        client = ClientContext.from_dict(request.get("client") or {})
        try:
            result = await self.dispatch(cmd, args if isinstance(args, dict) else {}, client)
            return {"ok": True, "result": result}
        except TmuxClaudeError as exc:
            return {"ok": False, "error": {"kind": exc.kind, "message": str(exc)}}
        except ExceptionGroup as group:
            return {
                "ok": False,
                "error": {"kind": "error", "message": "; ".join(str(e) for e in group.exceptions)},
            }
        except Exception as exc:
            log.exception("command %s failed", cmd)
            return {"ok": False, "error": {"kind": "error", "message": f"internal error: {exc}"}}

    def _reload_config(self) -> None:
        """Pick up an edited config.toml; a broken one fails the command with the key named, nothing else."""
        mtime = config_mtime()
        if mtime == self._config_mtime:
            return
        config = load_config()
        self._config_mtime = mtime
        self.config = self.manager.config = config
        log.info("config reloaded")

    async def dispatch(self, cmd: str, args: dict[str, Any], client: ClientContext) -> Any:
        m = self.manager
        if cmd not in ("ping", "status", "stop"):
            self._reload_config()
        if cmd == "ping":
            return {"pid": os.getpid(), "version": __version__}
        if cmd in ("ls", "list"):
            await m.reconcile()
            return m.list_instances(client, stats=bool(args.get("stats")))
        if cmd == "new":
            return await m.new(str(args["branch"]), args.get("base"), client, focus=not args.get("detached"))
        if cmd == "open":
            return await m.open(
                str(args.get("path") or ""),
                client,
                str(args.get("nvim_server") or ""),
                focus=not args.get("detached"),
            )
        if cmd == "switch":
            return await m.switch(str(args["ref"]), client)
        if cmd == "kill":
            return await m.kill(
                args.get("ref"),
                client,
                remove_worktree=bool(args.get("remove_worktree")),
                force=bool(args.get("force")),
            )
        if cmd == "kill_all":
            return await m.kill_all()
        if cmd == "send":
            return await m.send(args.get("to"), str(args["file"]), args.get("line_start"), args.get("line_end"), client)
        if cmd == "gc":
            return await m.gc()
        if cmd == "pause":
            return await m.pause(args.get("ref"), client)
        if cmd == "resume":
            return await m.resume(args.get("ref"), client)
        if cmd == "restore":
            return await m.restore(client)
        if cmd == "next_waiting":
            return m.next_waiting(client)
        if cmd == "status":
            return {
                "pid": os.getpid(),
                "version": __version__,
                "uptime": round(time.time() - self.started, 1),
                "tmux_socket": self.paths.tmux_socket,
                "instances": len(m.registry),
                "servers": {
                    iid: {
                        "port": s.port,
                        "clients": s.clients,
                        "client_pids": s.client_pids(),
                        "connects": s.connects,
                        "nvim": s.nvim is not None,
                        "refused": dict(s.refused),
                        "calls": s.tool_log[-40:],
                    }
                    for iid, s in m.servers.items()
                },
                "events": m.events[-20:],
            }
        if cmd == "stop":
            asyncio.get_running_loop().call_soon(self.stop)
            return {"stopping": True}
        raise TmuxClaudeError(f"unknown command {cmd!r}")


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
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
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
