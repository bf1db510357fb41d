"""One instance's IDE endpoint: the WebSocket server Claude Code connects to, routed to that instance's Neovim.

Each connection runs its own sans-I/O ``McpSession``; this module only moves text between the socket and the
session, runs tool calls as tasks (``openDiff`` blocks until the user decides, and must not hold up other
requests), and pushes ``selection_changed`` / ``at_mentioned`` to this instance's clients only. Plain HTTP on the
same port (``/tmuxclaude/...``: the pane channel, protocol/pane_http.py) is handed to the controller as a target
and a token, and answered with what it returns. :class:`IdeServers` makes the servers, all behind one pre-auth gate
(adapters/preauth.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from tmuxclaude import __version__
from tmuxclaude.adapters.preauth import HANDSHAKE_TIMEOUT, LOOPBACK_HOSTS, PreAuthGate, gated_connection
from tmuxclaude.errors import NvimError, NvimGone, ProtocolError
from tmuxclaude.model.config import IdeConfig
from tmuxclaude.protocol import jsonrpc, notifications, tools
from tmuxclaude.protocol.lockfile import token_matches
from tmuxclaude.protocol.mcp import CallTool, ClientEvent, McpSession, Send
from tmuxclaude.protocol.pane_http import PREFIX, TOKEN_HEADER

__all__ = ["AUTH_HEADER", "DiffEditor", "IdeServer", "IdeServers", "PaneHttp"]

log = logging.getLogger(__name__)

AUTH_HEADER = "x-claude-code-ide-authorization"
_conn_ids = itertools.count(1)


class DiffEditor(Protocol):
    """What the IDE server needs from the instance's Neovim (the controller's ``NvimPort`` has it)."""

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any: ...
    async def open_diff(
        self, diff_id: str, old_file_path: str, new_file_path: str, new_file_contents: str, tab_name: str
    ) -> None: ...
    async def close_diff(self, tab_name: str) -> bool: ...


PaneHttp = Callable[[str, "str | None"], "tuple[int, str]"]
"""The pane channel's handler: (request target, hook token presented or None) -> (status, body)."""


@dataclass(eq=False)
class _Client:
    ws: ServerConnection
    session: McpSession
    conn_id: int
    settled: bool = False
    cli_pid: int | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


@dataclass(eq=False)
class _Diff:
    diff_id: str
    tab_name: str
    client: _Client
    future: asyncio.Future[tuple[str, str | None]]


class IdeServer:
    """Serve one instance: auth by token, subprotocol ``mcp``, tools answered by this instance's Neovim."""

    def __init__(self, instance_id: str, token: str, config: IdeConfig, gate: PreAuthGate) -> None:
        self.instance_id = instance_id
        self.token = token
        self.config = config
        self._gate = gate
        self.port = 0
        self.nvim: DiffEditor | None = None
        self.refused: Counter[str] = Counter()
        self.connects = 0
        self._server: Server | None = None
        self._clients: set[_Client] = set()
        self._diffs: dict[str, _Diff] = {}
        self._latest_selection: dict[str, Any] | None = None
        self._mentions = notifications.MentionQueue()
        self.on_http: PaneHttp | None = None
        self.tool_log: list[str] = []
        """Methods and tools the clients called, newest last (bounded): what the CLI does, observable."""

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self, sock: socket.socket) -> None:
        """Serve on an already bound socket: the bind was the port's reservation."""
        self.port = sock.getsockname()[1]
        self._server = await serve(
            self._handle,
            sock=sock,
            process_request=self._check_request,
            select_subprotocol=self._select_subprotocol,
            max_size=self.config.max_frame_bytes,
            ping_interval=self.config.ping_interval,
            ping_timeout=self.config.ping_timeout,
            # Loopback needs no compression, and deflate contexts cost memory per connection.
            compression=None,
            server_header=None,
            open_timeout=HANDSHAKE_TIMEOUT,
            create_connection=gated_connection(self._gate, id(self)),
        )

    async def close(self) -> None:
        for diff in list(self._diffs.values()):
            self._resolve(diff, "rejected", None)
        if self._server is not None:
            self._server.close(close_connections=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        for client in list(self._clients):
            for task in list(client.tasks):
                task.cancel()

    @property
    def clients(self) -> int:
        return len(self._clients)

    def client_pids(self) -> list[int]:
        return [c.cli_pid for c in self._clients if c.cli_pid]

    # -- handshake -------------------------------------------------------------------------------------

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self._gate.judged(connection)
        headers: Headers = request.headers
        host = headers.get("Host", "")
        if host.rpartition(":")[0] not in LOOPBACK_HOSTS and host not in LOOPBACK_HOSTS:
            # DNS rebinding: a web page whose name now resolves to 127.0.0.1 still sends its own name as Host.
            self.refused["host"] += 1
            log.warning("refused a request for host %r", host, extra={"tc_instance": self.instance_id})
            return connection.respond(403, "Forbidden: Host not allowed\n")
        if "Origin" in headers:
            # Browsers always send Origin and the CLI never does: refusing it closes the CVE-2025-52882 hole,
            # for the WebSocket and for the hook endpoint alike.
            self.refused["origin"] += 1
            log.warning("refused a connect carrying an Origin header", extra={"tc_instance": self.instance_id})
            return connection.respond(403, "Forbidden: Origin not allowed\n")
        if request.path.startswith(PREFIX) and self.on_http is not None:
            # Plain HTTP from this instance's Claude hooks (a bash one-liner is far faster than a Python start).
            tokens = headers.get_all(TOKEN_HEADER)
            status, body = self.on_http(request.path, tokens[-1] if tokens else None)
            return connection.respond(status, body)
        values = headers.get_all(AUTH_HEADER)
        presented = values[-1] if values else None
        if presented is None:
            self.refused["no_token"] += 1
            return connection.respond(401, f"Unauthorized: missing {AUTH_HEADER}\n")
        if not token_matches(self.token, presented):
            self.refused["bad_token"] += 1
            log.warning("refused a connect with a wrong token", extra={"tc_instance": self.instance_id})
            return connection.respond(401, "Unauthorized: invalid authentication token\n")
        return None

    @staticmethod
    def _select_subprotocol(connection: ServerConnection, subprotocols: Sequence[Subprotocol]) -> Subprotocol | None:
        # The CLI always offers "mcp" and aborts if it is not echoed; a client offering nothing is let through.
        return Subprotocol("mcp") if "mcp" in subprotocols else None

    # -- connection ------------------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        client = _Client(ws, McpSession("tmuxclaude", __version__), next(_conn_ids))
        self._clients.add(client)
        self.connects += 1
        log.info("client %s connected to instance %s", client.conn_id, self.instance_id)
        try:
            async for message in ws:
                for action in client.session.receive(message):
                    if isinstance(action, Send):
                        await ws.send(action.text)
                    elif isinstance(action, CallTool):
                        self._record(f"tools/call {action.name}")
                        task = asyncio.create_task(self._call(client, action))
                        client.tasks.add(task)
                        task.add_done_callback(client.tasks.discard)
                    elif isinstance(action, ClientEvent):
                        self._client_event(client, action)
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)
            for diff in [d for d in self._diffs.values() if d.client is client]:
                # The CLI went away mid-diff: reject it and take the UI down, so nothing is half-applied.
                self._resolve(diff, "rejected", None)
                await self._close_diff_ui(diff.tab_name)
            for task in list(client.tasks):
                task.cancel()
            log.info("client %s left instance %s", client.conn_id, self.instance_id)

    def _record(self, what: str) -> None:
        self.tool_log.append(what)
        del self.tool_log[:-200]

    def _client_event(self, client: _Client, event: ClientEvent) -> None:
        self._record(event.kind)
        if event.kind == "ide_connected":
            pid = event.data.get("pid")
            client.cli_pid = pid if isinstance(pid, int) else None
        elif event.kind == "tools_listed" and not client.settled:
            # The CLI registers its notification handlers only after tools/list: a push sent right away is lost.
            asyncio.get_running_loop().call_later(self.config.settle_ms / 1000, self._settle, client)

    def _settle(self, client: _Client) -> None:
        if client not in self._clients:
            return
        client.settled = True
        if self._latest_selection is not None:
            self._send(client, "selection_changed", self._latest_selection)
        self._flush_mentions()

    def _send(self, client: _Client, method: str, params: dict[str, Any]) -> None:
        text = client.session.notify(method, params).text
        task = asyncio.create_task(self._safe_send(client, text))
        client.tasks.add(task)
        task.add_done_callback(client.tasks.discard)

    @staticmethod
    async def _safe_send(client: _Client, text: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await client.ws.send(text)

    # -- pushes from Neovim / the controller -----------------------------------------------------------

    def push_selection(self, event: dict[str, Any]) -> None:
        """A selection (or cursor) change in this instance's Neovim."""
        try:
            sel = event["selection"]
            _, params = notifications.selection_changed(
                text=str(event.get("text", "")),
                file_path=str(event["filePath"]),
                start=(int(sel["start"]["line"]), int(sel["start"]["character"])),
                end=(int(sel["end"]["line"]), int(sel["end"]["character"])),
            )
        except (KeyError, TypeError, ValueError):
            log.warning("ignored a malformed selection event from Neovim")
            return
        self._latest_selection = params
        for client in self._clients:
            if client.settled:
                self._send(client, "selection_changed", params)

    def push_mention(self, file_path: str, line_start: int | None, line_end: int | None) -> None:
        _, params = notifications.at_mentioned(file_path, line_start, line_end)
        self._mentions.push(params, time.monotonic())
        self._flush_mentions()

    def _flush_mentions(self) -> None:
        settled = [c for c in self._clients if c.settled]
        for params in self._mentions.due(time.monotonic(), bool(settled)):
            for client in settled:
                self._send(client, "at_mentioned", params)

    # -- Neovim attach / detach ------------------------------------------------------------------------

    def set_nvim(self, nvim: DiffEditor) -> None:
        self.nvim = nvim

    def nvim_lost(self) -> None:
        """Neovim went away: every pending diff is rejected (a closed editor never means accept)."""
        self.nvim = None
        for diff in list(self._diffs.values()):
            self._resolve(diff, "rejected", None)

    def diff_event(self, event: dict[str, Any]) -> None:
        diff = self._diffs.get(str(event.get("id", "")))
        if diff is None:
            return
        if event.get("outcome") == "accepted":
            contents = event.get("contents")
            self._resolve(diff, "accepted", contents if isinstance(contents, str) else "")
        else:
            self._resolve(diff, "rejected", None)

    def _resolve(self, diff: _Diff, outcome: str, contents: str | None) -> None:
        self._diffs.pop(diff.diff_id, None)
        if not diff.future.done():
            diff.future.set_result((outcome, contents))

    async def _close_diff_ui(self, tab_name: str) -> None:
        nvim = self.nvim
        if nvim is None:
            return
        with contextlib.suppress(NvimError, ProtocolError, asyncio.TimeoutError):
            await nvim.close_diff(tab_name)

    # -- tool calls ------------------------------------------------------------------------------------

    async def _call(self, client: _Client, call: CallTool) -> None:
        session = client.session
        try:
            result = await self._tool(client, call.name, call.arguments)
            reply = session.complete(call.request_id, result)
        except ProtocolError as exc:
            reply = session.fail(call.request_id, exc.code, exc.message)
        except NvimGone:
            reply = session.fail(call.request_id, jsonrpc.TOOL_ERROR, "Neovim is not connected")
        except NvimError as exc:
            reply = session.fail(call.request_id, jsonrpc.TOOL_ERROR, f"Neovim error: {exc}")
        except asyncio.CancelledError:
            with contextlib.suppress(ProtocolError):
                session.fail(call.request_id, jsonrpc.INTERNAL_ERROR, "cancelled")
            raise
        except Exception:
            log.exception("tool %s failed", call.name)
            reply = session.fail(call.request_id, jsonrpc.INTERNAL_ERROR, f"internal error in {call.name}")
        await self._safe_send(client, reply.text)

    def _require_nvim(self) -> DiffEditor:
        if self.nvim is None:
            raise ProtocolError(jsonrpc.TOOL_ERROR, "Neovim is not connected to this instance")
        return self.nvim

    async def _tool(self, client: _Client, name: str, args: dict[str, Any]) -> dict[str, Any]:
        if name == "openDiff":
            return await self._open_diff(client, args)
        if name == "close_tab":
            tab = str(args["tab_name"])
            for diff in [d for d in self._diffs.values() if d.tab_name == tab]:
                self._resolve(diff, "rejected", None)
            await self._close_diff_ui(tab)
            return tools.tab_closed()
        if name == "closeAllDiffTabs":
            for diff in list(self._diffs.values()):
                self._resolve(diff, "rejected", None)
            closed = 0
            if self.nvim is not None:
                closed = int(await self.nvim.call_tool("closeAllDiffTabs", {}) or 0)
            return tools.closed_diff_tabs(closed)
        if name == "getDiagnostics" and self.nvim is None:
            # The CLI asks around every edit; with no editor attached there is simply nothing to report.
            return tools.json_result([])
        result = await self._require_nvim().call_tool(name, args)
        if isinstance(result, str):
            return tools.text_result(result)
        return tools.json_result(result)

    async def _open_diff(self, client: _Client, args: dict[str, Any]) -> dict[str, Any]:
        nvim = self._require_nvim()
        tab = str(args["tab_name"])
        for old in [d for d in self._diffs.values() if d.tab_name == tab]:
            # A second openDiff for the same tab replaces the first, which counts as rejected.
            self._resolve(old, "rejected", None)
        diff = _Diff(uuid.uuid4().hex, tab, client, asyncio.get_running_loop().create_future())
        self._diffs[diff.diff_id] = diff
        try:
            await nvim.open_diff(
                diff.diff_id,
                str(args["old_file_path"]),
                str(args["new_file_path"]),
                str(args["new_file_contents"]),
                tab,
            )
        except BaseException:
            self._diffs.pop(diff.diff_id, None)
            raise
        outcome, contents = await diff.future
        if outcome == "accepted":
            return tools.file_saved(contents or "")
        return tools.diff_rejected(tab)

    def pending_diffs(self) -> int:
        return len(self._diffs)


class IdeServers:
    """Makes the IDE servers of one controller, all counted by one pre-auth gate (``(instance id, token, config)
    -> server``: the controller's ``IdeServerFactory``)."""

    def __init__(self, gate: PreAuthGate | None = None) -> None:
        self.gate = gate if gate is not None else PreAuthGate()

    def __call__(self, instance_id: str, token: str, config: IdeConfig) -> IdeServer:
        return IdeServer(instance_id, token, config, self.gate)
