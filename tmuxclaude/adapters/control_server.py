"""The controller's control socket: a unix socket in its private runtime dir, one JSON line per request
(protocol/control.py), and ``watch`` streams that stay open.

Only our uid can reach the socket's directory; the peer is checked on every connection all the same. A
connection must send its request within :data:`REQUEST_TIMEOUT`, and at most :data:`MAX_WAITING_CLIENTS` may be
waiting to: a newcomer beyond that closes the oldest waiting one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tmuxclaude.adapters.peercred import require_own_peer
from tmuxclaude.errors import InsecurePathError
from tmuxclaude.protocol.control import MAX_LINE, encode_error

__all__ = [
    "MAX_WAITING_CLIENTS",
    "REQUEST_TIMEOUT",
    "ControlServer",
    "LineHandler",
    "StreamHandler",
    "control_socket_answers",
]

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 5.0
"""Seconds a control connection may stay open without sending a request line (the CLI sends at once)."""
MAX_WAITING_CLIENTS = 64

LineHandler = Callable[[bytes], Awaitable[bytes]]
"""One request line -> its reply line."""
StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
"""A ``watch`` request: the connection is the handler's until it returns."""

_WATCH = b'{"cmd":"watch"'


class ControlServer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._waiting: dict[asyncio.StreamWriter, None] = {}
        self._handle: LineHandler | None = None
        self._stream: StreamHandler | None = None

    async def start(self, handle: LineHandler, stream: StreamHandler) -> None:
        self._handle, self._stream = handle, stream
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a killed controller's socket; the caller holds the controller flock
        self._server = await asyncio.start_unix_server(self._client, path=str(self.path), limit=MAX_LINE, backlog=512)
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        """Stop listening; connected clients' handlers end quietly (a pending request gets no answer)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

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
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # The controller is stopping (close() cancels connected clients): end quietly, no traceback.
            pass
        finally:
            writer.close()
            # Cancelled here too when the stop comes while this handler is closing: end quietly all the same. A
            # handler task that ends cancelled is logged with a traceback by asyncio's stream server (3.11).
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._handle is not None and self._stream is not None
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
            if line.startswith(_WATCH):
                # A stream, not a reply: the connection stays open for this controller's state changes.
                await self._stream(reader, writer)
                return
            writer.write(await self._handle(line))
            await writer.drain()


def control_socket_answers(path: Path) -> bool:
    """Something accepts connections on the control socket (a controller serves it)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True
