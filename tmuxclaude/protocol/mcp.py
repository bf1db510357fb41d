"""The MCP server session the Claude Code CLI talks to, as a sans-I/O state machine.

Modelled on websockets' ``Protocol``: text goes in through :meth:`McpSession.receive`, and a list of actions
comes out. The I/O layer sends every :class:`Send`, runs every :class:`CallTool` (possibly for minutes: an
``openDiff`` waits for the user) and answers it later with :meth:`McpSession.complete` or
:meth:`McpSession.fail`, and reacts to :class:`ClientEvent` (for example, waiting ~0.5 s after
``tools_listed`` before pushing the first selection, because the CLI drops earlier notifications).

Layering follows the MCP SDK: :mod:`~tmuxclaude.protocol.jsonrpc` handles envelopes, a method table here
dispatches by name, and :mod:`~tmuxclaude.protocol.tools` owns tool schemas. The session knows nothing about
Neovim, instances or sockets, so one instance of it serves one WebSocket connection.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tmuxclaude.errors import ProtocolError
from tmuxclaude.protocol import tools
from tmuxclaude.protocol.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    InvalidMessage,
    Notification,
    Request,
    RequestId,
    Response,
    encode_error,
    encode_notification,
    encode_result,
    parse,
)

__all__ = [
    "DEFAULT_PROTOCOL_VERSION",
    "Action",
    "CallTool",
    "ClientEvent",
    "McpSession",
    "Send",
    "SessionState",
]

DEFAULT_PROTOCOL_VERSION = "2024-11-05"
"""Answered when the client's version is not a date string; the reference servers use it and current CLIs
accept it (docs/protocol.md §4.2)."""

# MCP versions are dates. Newer CLIs send newer dates (2.1.197 sends 2025-11-25) and the SDK client rejects an
# answer that is not on its own list, so echoing whatever date-shaped version it offered is the safe choice.
_VERSION_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class SessionState(enum.Enum):
    """Where the connection is in the MCP lifecycle."""

    NEW = "new"
    """Nothing answered yet."""
    INITIALIZED = "initialized"
    """``initialize`` answered."""
    READY = "ready"
    """``tools/list`` answered: the CLI is about to register its notification handlers."""
    CLOSED = "closed"
    """:meth:`McpSession.close` was called; input is ignored."""


@dataclass(frozen=True)
class Send:
    """Send ``text`` to the client as one WebSocket text frame."""

    text: str


@dataclass(frozen=True)
class CallTool:
    """Run tool ``name`` with validated ``arguments``, then answer ``request_id`` via complete() or fail()."""

    request_id: RequestId
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ClientEvent:
    """Something the client told us that the I/O layer may care about.

    ``kind`` is ``"initialized"`` (``notifications/initialized``), ``"ide_connected"`` (``data = {"pid":
    int | None}``, the CLI's pid) or ``"tools_listed"`` (our ``tools/list`` answer is in the list just
    before it).
    """

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


Action = Send | CallTool | ClientEvent

_Handler = Callable[["McpSession", Request], list[Action]]


class McpSession:
    """One MCP server session over one client connection.

    Args:
        server_name: ``serverInfo.name`` in the ``initialize`` answer.
        server_version: ``serverInfo.version``.
    """

    def __init__(self, server_name: str, server_version: str) -> None:
        self.server_name = server_name
        self.server_version = server_version
        self._state = SessionState.NEW
        self._pending: set[RequestId] = set()

    @property
    def state(self) -> SessionState:
        """The current :class:`SessionState`."""
        return self._state

    def pending(self) -> frozenset[RequestId]:
        """Ids of ``tools/call`` requests handed out as :class:`CallTool` and not answered yet."""
        return frozenset(self._pending)

    def receive(self, text: str | bytes) -> list[Action]:
        """Handle one frame from the client and return what to do about it.

        Never raises for bad input: malformed messages produce an error :class:`Send`, and the session stays
        usable. Returns ``[]`` once closed.
        """
        if self._state is SessionState.CLOSED:
            return []
        try:
            message = parse(text)
        except InvalidMessage as exc:
            return [Send(encode_error(exc.request_id, exc.code, exc.message, exc.data))]
        if isinstance(message, Response):
            # We never send requests, so any response is unsolicited. JSON-RPC forbids answering a response.
            return []
        if isinstance(message, Notification):
            return self._notification(message)
        handler = _HANDLERS.get(message.method)
        if handler is None:
            return [Send(encode_error(message.id, METHOD_NOT_FOUND, f"Method not found: {message.method}"))]
        try:
            return handler(self, message)
        except ProtocolError as exc:
            return [Send(encode_error(message.id, exc.code, exc.message, exc.data))]

    def complete(self, request_id: RequestId, result: dict[str, Any]) -> Send:
        """Answer a pending :class:`CallTool` with a ``CallToolResult`` (see the builders in ``tools``).

        Raises:
            ProtocolError: ``INTERNAL_ERROR`` if ``request_id`` is not pending (unknown or already answered):
                answering twice is a bug in the caller, and the client would reject the second answer anyway.
            TypeError, ValueError: ``result`` is not JSON-serialisable. The call then stays pending, so the
                caller can still :meth:`fail` it.
        """
        self._check_pending(request_id)
        # Encode before forgetting the id, so an encoding failure leaves the call answerable.
        text = encode_result(request_id, result)
        self._pending.discard(request_id)
        return Send(text)

    def fail(self, request_id: RequestId, code: int, message: str, data: object = None) -> Send:
        """Answer a pending :class:`CallTool` with a JSON-RPC error.

        Raises:
            ProtocolError: ``INTERNAL_ERROR`` if ``request_id`` is not pending.
        """
        self._check_pending(request_id)
        text = encode_error(request_id, code, message, data)
        self._pending.discard(request_id)
        return Send(text)

    def notify(self, method: str, params: dict[str, Any]) -> Send:
        """A server→client notification, such as ``selection_changed`` (see ``notifications``)."""
        return Send(encode_notification(method, params))

    def close(self) -> frozenset[RequestId]:
        """Mark the connection gone. Returns the tool calls that were still pending, which are forgotten:
        the I/O layer should cancel their work (for ``openDiff``, tear the diff down as rejected)."""
        abandoned = frozenset(self._pending)
        self._pending.clear()
        self._state = SessionState.CLOSED
        return abandoned

    def _check_pending(self, request_id: RequestId) -> None:
        if request_id not in self._pending:
            raise ProtocolError(INTERNAL_ERROR, f"No pending tool call with id {request_id!r}")

    def _notification(self, message: Notification) -> list[Action]:
        # Notifications are never answered, not even with an error (JSON-RPC 2.0 §4.1), and unknown ones are
        # ignored like the reference servers do.
        if message.method == "notifications/initialized":
            return [ClientEvent("initialized", {})]
        if message.method == "ide_connected":
            pid = message.params.get("pid")
            if isinstance(pid, bool) or not isinstance(pid, int):
                pid = None
            return [ClientEvent("ide_connected", {"pid": pid})]
        # notifications/cancelled is ignored on purpose: the CLI never cancels its internal calls (§4.5), and
        # MCP lets a server finish anyway. The call stays pending and its late answer is harmless.
        return []

    # -- request handlers (registered in _HANDLERS) ------------------------------------------------------

    def _initialize(self, request: Request) -> list[Action]:
        # Lenient on purpose: a missing or odd protocolVersion gets the default rather than an error, because
        # failing initialize leaves the CLI without an IDE and no visible reason.
        offered = request.params.get("protocolVersion")
        version = offered if isinstance(offered, str) and _VERSION_RE.fullmatch(offered) else DEFAULT_PROTOCOL_VERSION
        if self._state is SessionState.NEW:
            self._state = SessionState.INITIALIZED
        result = {
            "protocolVersion": version,
            # Advertise only tools: the CLI fetches prompts/resources only when advertised (§4.3).
            "capabilities": {"tools": {"listChanged": True}},
            "serverInfo": {"name": self.server_name, "version": self.server_version},
        }
        return [Send(encode_result(request.id, result))]

    def _ping(self, request: Request) -> list[Action]:
        return [Send(encode_result(request.id, {}))]

    def _tools_list(self, request: Request) -> list[Action]:
        # Answered before initialize too: the CLI always initializes first, so being strict would only
        # break hand-written test clients.
        self._state = SessionState.READY
        return [
            Send(encode_result(request.id, {"tools": tools.list_tools()})),
            ClientEvent("tools_listed", {}),
        ]

    def _tools_call(self, request: Request) -> list[Action]:
        if request.id in self._pending:
            raise ProtocolError(INVALID_REQUEST, f"Duplicate request id {request.id!r}: a call is in flight")
        name = request.params.get("name")
        if not isinstance(name, str):
            raise ProtocolError(INVALID_PARAMS, "tools/call: name must be a string")
        arguments = request.params.get("arguments")
        # MCP makes arguments optional; the CLI sends {} for argument-less tools but others may omit it.
        arguments = tools.validate_arguments(name, {} if arguments is None else arguments)
        self._pending.add(request.id)
        return [CallTool(request.id, name, arguments)]


def _empty_list_handler(key: str) -> _Handler:
    # prompts/list and resources/list are not advertised, but answering them with an empty list costs
    # nothing and avoids the -32601 that claude-code-ide.el produces (§4.3).
    def handler(session: McpSession, request: Request) -> list[Action]:
        return [Send(encode_result(request.id, {key: []}))]

    return handler


_HANDLERS: dict[str, _Handler] = {
    "initialize": McpSession._initialize,
    "ping": McpSession._ping,
    "tools/list": McpSession._tools_list,
    "tools/call": McpSession._tools_call,
    "prompts/list": _empty_list_handler("prompts"),
    "resources/list": _empty_list_handler("resources"),
    "resources/templates/list": _empty_list_handler("resourceTemplates"),
}
