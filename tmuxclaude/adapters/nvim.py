"""Neovim adapter: a small asyncio msgpack-RPC client and the per-instance bridge to the Lua shim.

pynvim is not used on purpose: it runs a private event loop on greenlets, so it cannot share the
controller's asyncio loop. Neovim's RPC is plain msgpack-RPC (``[0, id, method, params]`` requests,
``[1, id, error, result]`` responses, ``[2, method, params]`` notifications) in both directions over one
stream, which fits in a page.

``NvimClient`` is the transport (no knowledge of tmuxclaude); ``NvimBridge`` loads the Lua runtime shipped in
``tmuxclaude/nvim``, decodes its notifications and requests with the channel's codec (protocol/nvim_channel.py)
into typed controller callbacks, and is the controller's ``NvimPort``: the only place that sends Lua to Neovim.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import itertools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import msgpack

from tmuxclaude.adapters.peercred import require_own_peer
from tmuxclaude.errors import InsecurePathError, NvimError, NvimGone, ProtocolError
from tmuxclaude.protocol import nvim_channel as channel
from tmuxclaude.protocol.nvim_channel import Level, LuaCall, NvimEvent, NvimRequest

__all__ = ["MAX_MESSAGE_SIZE", "NvimBridge", "NvimClient", "runtime_dir"]

logger = logging.getLogger(__name__)

MAX_MESSAGE_SIZE: Final = 64 * 1024 * 1024
"""A single msgpack message larger than this closes the connection (a runaway peer must not eat memory)."""

_READ_CHUNK: Final = 256 * 1024
_REQUEST: Final = 0
_RESPONSE: Final = 1
_NOTIFICATION: Final = 2
# Neovim's EXT types (nvim_get_api_info()[1].types): Buffer, Window, Tabpage; each payload is a msgpack int.
_NVIM_EXT_CODES: Final = frozenset({0, 1, 2})

NotificationHandler = Callable[[str, list[Any]], None]
RequestHandler = Callable[[str, list[Any]], Awaitable[Any]]


def runtime_dir() -> Path:
    """The Lua runtime dir shipped as package data (``lua/tmuxclaude/*.lua``, ``plugin/tmuxclaude.lua``)."""
    return Path(str(importlib.resources.files("tmuxclaude") / "nvim"))


def _ext_hook(code: int, data: bytes) -> Any:
    if code in _NVIM_EXT_CODES:
        # Handles are plain integers on the wire inside the EXT payload; every API accepts the int back.
        return msgpack.unpackb(data)
    return msgpack.ExtType(code, data)


def _parse_address(address: str) -> tuple[str, int] | str:
    """``host:port`` (``[::1]:port`` for IPv6) is TCP; anything else (a path) is a unix socket."""
    if "/" not in address:
        host, sep, port = address.rpartition(":")
        if sep and host and port.isdigit():
            return host.strip("[]"), int(port)
    return address


class NvimClient:
    """One msgpack-RPC connection to a Neovim ``--listen`` address.

    Requests may overlap freely (Neovim answers in any order, and it processes requests from a channel even
    while it is itself blocked in ``rpcrequest`` on that channel), so nothing here serialises calls.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        address: str,
        on_notification: NotificationHandler | None,
        on_request: RequestHandler | None,
    ) -> None:
        self.address = address
        self.channel_id: int = 0
        """Neovim's channel id for this connection (``nvim_get_api_info()[0]``), used by ``rpcnotify``."""
        self.pid: int = 0
        self._reader = reader
        self._writer = writer
        self._on_notification = on_notification
        self._on_request = on_request
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._handlers: set[asyncio.Task[None]] = set()
        self._closed = asyncio.Event()
        self._close_reason = "connection closed"
        # The buffer may hold one maximal message plus the next read chunk; strings and binaries are capped.
        self._unpacker = msgpack.Unpacker(
            raw=False,
            ext_hook=_ext_hook,
            strict_map_key=False,
            max_buffer_size=MAX_MESSAGE_SIZE + _READ_CHUNK,
            max_str_len=MAX_MESSAGE_SIZE,
            max_bin_len=MAX_MESSAGE_SIZE,
        )
        self._read_task = asyncio.get_running_loop().create_task(self._read_loop(), name=f"nvim-rpc {address}")

    @classmethod
    async def connect(
        cls,
        address: str,
        *,
        on_notification: NotificationHandler | None = None,
        on_request: RequestHandler | None = None,
        timeout: float = 5.0,
    ) -> NvimClient:
        """Connect to ``address`` (unix socket path or ``host:port``) and learn the channel id and pid.

        Raises:
            NvimGone: nothing listens at ``address`` or it went away during the handshake.
            NvimError: the handshake did not finish within ``timeout``, or another user serves ``address`` (a
                fake Neovim would answer Claude's tool calls and could send the controller requests).
        """
        target = _parse_address(address)
        try:
            async with asyncio.timeout(timeout):
                if isinstance(target, tuple):
                    reader, writer = await asyncio.open_connection(*target, limit=_READ_CHUNK)
                else:
                    reader, writer = await asyncio.open_unix_connection(target, limit=_READ_CHUNK)
        except TimeoutError as exc:
            raise NvimError(f"timed out connecting to Neovim at {address}") from exc
        except OSError as exc:
            raise NvimGone(f"cannot connect to Neovim at {address}: {exc.strerror or exc}") from exc
        try:
            require_own_peer(writer.get_extra_info("socket"), f"Neovim at {address}")
        except (InsecurePathError, OSError) as exc:
            writer.close()
            raise NvimError(str(exc)) from None
        client = cls(reader, writer, address=address, on_notification=on_notification, on_request=on_request)
        try:
            api_info = await client.request("nvim_get_api_info", timeout=timeout)
            client.channel_id = int(api_info[0])
            client.pid = int(await client.request("nvim_call_function", "getpid", [], timeout=timeout))
        except BaseException:
            await client.close()
            raise
        logger.debug("connected to nvim %s channel %s pid %s", address, client.channel_id, client.pid)
        return client

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        """Return once the connection is gone (closed by us, by Neovim, or broken)."""
        await self._closed.wait()

    async def request(self, method: str, *args: Any, timeout: float | None = 10.0) -> Any:
        """Call an API method and return its result.

        Raises:
            NvimError: Neovim answered with an error (its message is the exception text), or no answer within
                ``timeout`` seconds.
            NvimGone: the connection is closed or was lost before the answer arrived.
        """
        if self.closed:
            raise NvimGone(f"Neovim connection {self.address} is closed: {self._close_reason}")
        msgid = next(self._ids) & 0xFFFFFFFF
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msgid] = future
        try:
            self._send([_REQUEST, msgid, method, list(args)])
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError as exc:
            raise NvimError(f"Neovim did not answer {method} within {timeout}s") from exc
        finally:
            self._pending.pop(msgid, None)

    async def exec_lua(self, code: str, *args: Any) -> Any:
        """Run Lua ``code`` (``...`` are ``args``) and return what it returns."""
        return await self.request("nvim_exec_lua", code, list(args))

    def notify(self, method: str, *args: Any) -> None:
        """Send a notification (no answer; Neovim reports failures through ``nvim_error_event``)."""
        if self.closed:
            raise NvimGone(f"Neovim connection {self.address} is closed: {self._close_reason}")
        self._send([_NOTIFICATION, method, list(args)])

    async def close(self) -> None:
        """Close the connection; pending requests fail with NvimGone. Safe to call more than once."""
        self._teardown("closed by client")
        self._read_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._read_task
        for task in list(self._handlers):
            task.cancel()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    # -- internals -------------------------------------------------------------------------------------------

    def _send(self, message: list[Any]) -> None:
        try:
            data = msgpack.packb(message, use_bin_type=True)
        except (TypeError, ValueError, OverflowError) as exc:
            raise NvimError(f"cannot encode message for Neovim: {exc}") from exc
        if self._writer.is_closing():
            raise NvimGone(f"Neovim connection {self.address} is closed: {self._close_reason}")
        # No drain(): messages are small and Neovim reads eagerly; a dead peer shows up as EOF in the reader.
        self._writer.write(data)

    async def _read_loop(self) -> None:
        reason = "Neovim closed the connection"
        try:
            while True:
                data = await self._reader.read(_READ_CHUNK)
                if not data:
                    break
                self._unpacker.feed(data)
                for message in self._unpacker:
                    self._dispatch(message)
        except msgpack.BufferFull:
            reason = f"message from Neovim exceeds {MAX_MESSAGE_SIZE} bytes"
            logger.warning("closing nvim %s: %s", self.address, reason)
        except (ValueError, msgpack.UnpackException) as exc:
            # Oversized strings raise ValueError, garbage an unpack error: the stream is lost either way.
            reason = f"bad data from Neovim: {exc}"
            logger.warning("closing nvim %s: %s", self.address, reason)
        except OSError as exc:
            reason = f"connection to Neovim lost: {exc}"
        finally:
            self._teardown(reason)

    def _teardown(self, reason: str) -> None:
        if self._closed.is_set():
            return
        self._close_reason = reason
        self._closed.set()
        self._writer.close()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(NvimGone(f"Neovim connection {self.address} lost: {reason}"))
        self._pending.clear()
        logger.debug("nvim connection %s closed: %s", self.address, reason)

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, list) or not message:
            logger.warning("ignored malformed message from nvim %s: %r", self.address, message)
            return
        kind = message[0]
        if kind == _RESPONSE and len(message) == 4:
            _, msgid, error, result = message
            future = self._pending.get(msgid)
            if future is None or future.done():
                return  # a request that timed out or was cancelled meanwhile
            if error is not None:
                future.set_exception(NvimError(_error_text(error)))
            else:
                future.set_result(result)
        elif kind == _NOTIFICATION and len(message) == 3:
            _, method, params = message
            if self._on_notification is None:
                return
            try:
                self._on_notification(str(method), list(params or []))
            except Exception:
                # A faulty handler must not take the connection down with it.
                logger.exception("notification handler failed for %s", method)
        elif kind == _REQUEST and len(message) == 4:
            _, msgid, method, params = message
            task = asyncio.get_running_loop().create_task(self._answer(msgid, str(method), list(params or [])))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        else:
            logger.warning("ignored malformed message from nvim %s: %r", self.address, message)

    async def _answer(self, msgid: int, method: str, params: list[Any]) -> None:
        error: str | None = None
        result: Any = None
        try:
            if self._on_request is None:
                raise NvimError(f"no handler for request {method}")
            result = await self._on_request(method, params)
        except Exception as exc:
            # The RPC boundary: whatever the handler raises becomes the error that rpcrequest() raises in Lua.
            error = str(exc) or type(exc).__name__
        if self.closed:
            return
        try:
            self._send([_RESPONSE, msgid, error, result])
        except NvimError as exc:
            self._send([_RESPONSE, msgid, str(exc), None])


def _error_text(error: Any) -> str:
    # Neovim sends [error_type, message]; other peers may send a bare string.
    if isinstance(error, list | tuple) and len(error) == 2:
        return str(error[1])
    return str(error)


_ATTACH_LUA: Final = (
    """
local dir, opts = ...
local present = false
for _, p in ipairs(vim.api.nvim_list_runtime_paths()) do
  if p == dir then present = true break end
end
if not present then
  -- Commas separate 'runtimepath' entries, so a literal comma in the path must be escaped.
  vim.o.runtimepath = dir:gsub(',', '\\\\,') .. ',' .. vim.o.runtimepath
end
"""
    + f"return require('{channel.ATTACH.module}').{channel.ATTACH.function}(opts)\n"
)


class NvimBridge:
    """The controller's view of one instance's Neovim (``controller.ports.NvimPort``): tools, diffs, messages,
    and the typed events and requests of the Lua shim. The class itself is the ``NvimConnector`` (``attach``)."""

    def __init__(
        self,
        *,
        instance_id: str,
        name: str,
        worktree: str,
        on_event: Callable[[NvimEvent], None],
        on_request: Callable[[NvimRequest], Awaitable[Any]] | None,
    ) -> None:
        self.instance_id = instance_id
        self.name = name
        self.worktree = worktree
        self.pid: int = 0
        self.version: str = ""
        self._on_event = on_event
        self._on_request = on_request
        self._client: NvimClient | None = None

    @classmethod
    async def attach(
        cls,
        address: str,
        *,
        instance_id: str,
        name: str,
        worktree: str,
        on_event: Callable[[NvimEvent], None],
        on_request: Callable[[NvimRequest], Awaitable[Any]] | None = None,
        debounce_ms: int = 100,
        status: tuple[str, str] | None = None,
    ) -> NvimBridge:
        """Connect to Neovim at ``address``, load the Lua runtime and register this instance.

        Raises:
            NvimGone: Neovim is not reachable.
            NvimError: the runtime failed to load (for example Neovim older than 0.7).
        """
        bridge = cls(instance_id=instance_id, name=name, worktree=worktree, on_event=on_event, on_request=on_request)
        client = await NvimClient.connect(
            address, on_notification=bridge._handle_notification, on_request=bridge._handle_request
        )
        bridge._client = client
        opts = channel.attach_payload(client.channel_id, instance_id, name, worktree, debounce_ms, status)
        try:
            info = await client.exec_lua(_ATTACH_LUA, str(runtime_dir()), opts)
        except BaseException:
            await client.close()
            raise
        if isinstance(info, dict):
            bridge.pid = int(info.get("pid") or client.pid)
            bridge.version = str(info.get("version") or "")
        else:
            bridge.pid = client.pid
        logger.info("attached nvim pid %s at %s to instance %s", bridge.pid, address, instance_id)
        return bridge

    @property
    def client(self) -> NvimClient:
        if self._client is None:
            raise NvimGone("Neovim bridge is not attached")
        return self._client

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Run MCP tool ``name`` in Neovim and return its payload (docs/protocol.md §5 shapes).

        Raises:
            ProtocolError: the tool failed in a way the MCP peer should see (unknown tool, missing file).
            NvimError / NvimGone: the RPC itself failed.
        """
        return _unwrap(await self._call(channel.CALL_TOOL, name, arguments or {}))

    async def open_diff(
        self, diff_id: str, old_file_path: str, new_file_path: str, new_file_contents: str, tab_name: str
    ) -> None:
        """Show a diff and return at once; the decision arrives later as a ``{"type": "diff"}`` event.

        Raises:
            ProtocolError: the diff cannot be shown (for example the target buffer has unsaved changes).
        """
        payload = channel.diff_payload(diff_id, old_file_path, new_file_path, new_file_contents, tab_name)
        _unwrap(await self._call(channel.OPEN_DIFF, payload))

    async def close_diff(self, tab_name: str) -> bool:
        """Tear down the diff UI for ``tab_name``; a pending diff emits no event (the caller resolves it).

        Returns whether such a diff was known.
        """
        return bool(_unwrap(await self._call(channel.CLOSE_DIFF, tab_name)))

    async def check_file(self, path: str, by: str) -> None:
        """Have Neovim look at ``path`` now (it was just written): an unmodified buffer of it reloads, a modified
        one is kept and the user told (reload.lua). Bounded: a busy Neovim's own file watcher covers it."""
        await self._call(channel.CHECK_FILE, path, by, timeout=2.0)

    def push_status(self, state: str, glyph: str) -> None:
        """Tell Neovim its instance's state (for ``require('tmuxclaude').statusline()``): a notification, so
        the statusline reads a cached value and the controller never waits on Neovim for it."""
        self._tell(channel.SET_STATUS, channel.status_payload(state, glyph))

    def notify(self, text: str, level: Level) -> None:
        """Show ``text`` at ``level`` (a notification: the controller never waits on Neovim for it)."""
        self._tell(channel.NOTIFY, text, int(level))

    def show_error(self, text: str) -> None:
        """Show ``text`` as an error message (it stays in :messages)."""
        self._tell(channel.SHOW_ERROR, text)

    def set_comments(self, listing: list[dict[str, Any]]) -> None:
        """Give Neovim the instance's review comments (each ``tmuxclaude.Comment``); it redraws them."""
        self._tell(channel.SET_COMMENTS, listing)

    def say(self, text: str) -> None:
        """A short message, merged with others said in the same moment (reload.lua)."""
        self._tell(channel.SAY, text)

    async def wait_closed(self) -> None:
        """Return once the connection is gone (Neovim exited or restarted, or we closed it)."""
        await self.client.wait_closed()

    async def close(self) -> None:
        """Detach the Lua side (best effort) and close the connection."""
        client = self._client
        if client is None or client.closed:
            return
        with contextlib.suppress(NvimError):
            await self._call(channel.DETACH, client.channel_id, timeout=2.0)
        await client.close()

    async def _call(self, call: LuaCall, *args: Any, timeout: float | None = 10.0) -> Any:
        return await self.client.request("nvim_exec_lua", call.source, list(args), timeout=timeout)

    def _tell(self, call: LuaCall, *args: Any) -> None:
        """Call without waiting for the answer: a notification; a closed connection just misses it."""
        with contextlib.suppress(NvimError):
            self.client.notify("nvim_exec_lua", call.source, list(args))

    def _handle_notification(self, method: str, args: list[Any]) -> None:
        if method != channel.EVENT_METHOD:
            if method == "nvim_error_event":
                logger.warning("nvim reported an error: %r", args)
            return
        try:
            event = channel.decode_event(args[0] if len(args) == 1 else args)
        except ProtocolError as exc:
            # One line, and the link stays up: a malformed event is the shim's bug, not a reason to detach.
            logger.warning("ignored an event from nvim %s: %s", self.name, exc.message)
            return
        self._on_event(event)

    async def _handle_request(self, method: str, args: list[Any]) -> Any:
        if method != channel.REQUEST_METHOD:
            raise NvimError(f"unknown request: {method}")
        if self._on_request is None:
            raise NvimError("the tmuxclaude controller does not take requests from this Neovim")
        # A malformed request raises ProtocolError here: its one line is what rpcrequest() raises in Lua.
        request = channel.decode_request(args[0] if len(args) == 1 else args)
        return await self._on_request(request)


def _unwrap(result: Any) -> Any:
    """Turn the Lua side's ``{__error = {code, message}}`` convention into ProtocolError."""
    if isinstance(result, dict) and "__error" in result:
        err = result["__error"]
        if isinstance(err, dict):
            raise ProtocolError(int(err.get("code", -32603)), str(err.get("message", "Neovim tool failed")))
        raise ProtocolError(-32603, str(err))
    return result
