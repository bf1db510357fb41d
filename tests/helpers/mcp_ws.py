"""Claude's stand-in: the ``mcp`` package's ClientSession over a WebSocket that sends the IDE auth header.

mcp 2.x ships no WebSocket client transport (WebSocket was never part of the MCP spec), so this small adapter
moves JSON-RPC text frames between a ``websockets`` client and the SDK's memory streams; all the MCP logic on
the client side (initialize, tools/list, tools/call, result validation) is the SDK's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.shared.message import SessionMessage
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

AUTH = "x-claude-code-ide-authorization"


@dataclass
class Received:
    """Notifications the server pushed (raw JSON), recorded before the SDK sees them."""

    items: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, msg: dict[str, Any]) -> None:
        self.items.append(msg)
        self.changed.set()

    def of(self, method: str) -> list[dict[str, Any]]:
        return [m["params"] for m in self.items if m.get("method") == method]

    async def wait_for(self, method: str, predicate: Any = None, timeout: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                for params in self.of(method):
                    if predicate is None or predicate(params):
                        return params
                self.changed.clear()
                await self.changed.wait()


@dataclass
class IdeClient:
    session: ClientSession
    ws: ClientConnection
    received: Received

    async def call(self, name: str, arguments: dict[str, Any] | None = None) -> types.CallToolResult:
        result = await self.session.call_tool(name, arguments or {})
        assert isinstance(result, types.CallToolResult)
        return result

    async def call_json(self, name: str, arguments: dict[str, Any] | None = None) -> Any:
        result = await self.call(name, arguments)
        block = result.content[0]
        assert isinstance(block, types.TextContent)
        return json.loads(block.text)

    async def call_texts(self, name: str, arguments: dict[str, Any] | None = None) -> list[str]:
        result = await self.call(name, arguments)
        return [b.text for b in result.content if isinstance(b, types.TextContent)]


@contextlib.asynccontextmanager
async def ide_client(port: int, token: str, *, initialize: bool = True) -> AsyncIterator[IdeClient]:
    received = Received()
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](100)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](100)
    async with connect(
        f"ws://127.0.0.1:{port}", subprotocols=[Subprotocol("mcp")], additional_headers={AUTH: token}
    ) as ws:

        async def reader() -> None:
            async with read_writer:
                async for raw in ws:
                    data = json.loads(raw)
                    if "method" in data and "id" not in data:
                        received.add(data)
                        # The IDE's own notifications are not MCP ones; the SDK need not see them.
                        if data["method"] in ("selection_changed", "at_mentioned"):
                            continue
                    try:
                        message = types.jsonrpc_message_adapter.validate_json(raw, by_name=False)
                    except ValueError as exc:
                        await read_writer.send(exc)
                        continue
                    await read_writer.send(SessionMessage(message))

        async def writer() -> None:
            async with write_reader:
                async for msg in write_reader:
                    await ws.send(msg.message.model_dump_json(by_alias=True, exclude_unset=True))

        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            tg.start_soon(writer)
            async with ClientSession(read_stream, write_stream) as session:
                if initialize:
                    await session.initialize()
                    await session.list_tools()
                yield IdeClient(session, ws, received)
            tg.cancel_scope.cancel()
