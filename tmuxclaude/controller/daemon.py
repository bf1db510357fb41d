"""The controller: one per tmux server, an asyncio loop serving the control socket and every instance.

It takes back what the last controller left (kept ports, records, windows), serves until stopped, and runs the
periodic reconcile and monitor tick. The wire format is ``protocol.control``; the commands are
``controller.commands``; the process around it (lock, logging, signals) and its adapters are
``controller.compose``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from tmuxclaude import __version__
from tmuxclaude.controller import monitor, reconcile, status, watch
from tmuxclaude.controller.commands import Commands
from tmuxclaude.controller.hosts import Hosts
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.errors import TmuxClaudeError
from tmuxclaude.model.config import Config
from tmuxclaude.protocol.control import decode_request, encode_error, encode_reply

__all__ = ["ConfigSource", "ControlServerPort", "Controller", "PortKeeperPort"]

log = logging.getLogger(__name__)

MONITOR_INTERVAL = 2.0


class ConfigSource(Protocol):
    """The user's config file (``adapters.configfile``)."""

    def mtime(self) -> float: ...
    def load(self) -> Config:
        """Raises ConfigError (one line naming the key) for a broken file."""
        ...


class PortKeeperPort(Protocol):
    """The port keeper (``adapters.portkeeper.KeptPorts``): the listening sockets it held while no controller ran."""

    def take(self) -> set[int]: ...
    def release_unused(self, keep: set[int]) -> list[int]: ...


class ControlServerPort(Protocol):
    """The control socket (``adapters.control_server.ControlServer``)."""

    async def start(
        self,
        handle: Callable[[bytes], Awaitable[bytes]],
        stream: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    ) -> None: ...
    async def close(self) -> None: ...


class Controller:
    """Serves one tmux server's instances until :meth:`stop`; builds the command table and hands its entry points
    to the runtime (the pane channel's keys and Neovim's commands run through them)."""

    def __init__(
        self, rt: Runtime, *, keeper: PortKeeperPort, config: ConfigSource, control: ControlServerPort
    ) -> None:
        self.rt = rt
        self._keeper = keeper
        self._config = config
        self._control = control
        self.commands = Commands(rt, reload_config=self._reload_config, stop=self.stop)
        rt.dispatch = self.commands.dispatch
        rt.nvim_dispatch = self.commands.from_nvim
        self._config_mtime = config.mtime()
        self._stop = asyncio.Event()

    async def serve(self) -> None:
        rt = self.rt
        rt.ports.paths.ensure_runtime_dir()
        # The listening sockets the port keeper held while no controller ran (docs/threat-model.md).
        self._keeper.take()
        await reconcile.start(rt)
        self._keeper.release_unused(rt.registry.ports())
        rt.hosts = Hosts(rt)
        rt.hosts.apply(rt.config)
        rt.ports.paths.ensure_runtime_dir()
        await self._control.start(self.handle_line, self._watch)
        ticker = asyncio.create_task(self._monitor())
        log.info("controller %s serving (tmux %s)", __version__, rt.ports.paths.tmux_socket)
        try:
            await self._stop.wait()
        finally:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
            await self._control.close()
            await rt.hosts.stop()
            await reconcile.shutdown(rt)
            log.info("controller stopped")

    def stop(self) -> None:
        self._stop.set()

    async def _watch(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await watch.stream(self.rt, reader, writer)

    async def _monitor(self) -> None:
        """Notice windows closed by the user; stop when the tmux server is gone for good."""
        while True:
            await asyncio.sleep(MONITOR_INTERVAL)
            try:
                await reconcile.reconcile(self.rt)
                await monitor.tick(self.rt)
            except Exception:
                log.exception("reconcile failed")

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
        mtime = self._config.mtime()
        if mtime == self._config_mtime:
            return
        config = self._config.load()
        self._config_mtime = mtime
        shown = self.rt.config.multi_instance.instance_indicator
        self.rt.config = config
        if self.rt.hosts is not None:
            self.rt.hosts.apply(config)
        if config.multi_instance.instance_indicator != shown:
            status.refresh_all(self.rt)
        log.info("config reloaded")


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """The errors a group holds, nested groups flattened: what the user is told, one per failed step."""
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out
