"""JSON-RPC 2.0 envelopes: strict parsing and compact encoding, with no I/O.

The Claude Code CLI sends exactly one JSON-RPC message per WebSocket text frame and never batches
(docs/protocol.md §3.4), so :func:`parse` takes one frame's payload and returns one :data:`Message`, or raises
:class:`~tmuxclaude.errors.ProtocolError` carrying the error code to answer with. Everything above this module
(the MCP session) works on the frozen dataclasses and never sees raw JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tmuxclaude.errors import ProtocolError

__all__ = [
    "FILE_NOT_OPEN",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "JSONRPC_VERSION",
    "MAX_ID_LENGTH",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "TOOL_ERROR",
    "InvalidMessage",
    "Message",
    "Notification",
    "Request",
    "RequestId",
    "Response",
    "dumps",
    "encode_error",
    "encode_notification",
    "encode_request",
    "encode_result",
    "parse",
]

JSONRPC_VERSION = "2.0"

PARSE_ERROR = -32700
"""The frame is not valid UTF-8 or not valid JSON. Always answered with ``id: null``."""

INVALID_REQUEST = -32600
"""Valid JSON, but not a JSON-RPC 2.0 message we accept (wrong ``jsonrpc``, bad id/method/params, a batch)."""

METHOD_NOT_FOUND = -32601
"""Unknown method, and (as claudecode.nvim does) an unknown tool name in ``tools/call``."""

INVALID_PARAMS = -32602
"""Params of a known method or arguments of a known tool fail validation."""

INTERNAL_ERROR = -32603
"""A handler failed in a way that is our fault, not the peer's."""

TOOL_ERROR = -32000
"""A tool could not do its job (file not found, diff setup failed, ...): claudecode.nvim's ``-32000``."""

FILE_NOT_OPEN = -32001
"""``getDiagnostics`` was asked about a file that is not open (claudecode.nvim's ``-32001``)."""

MAX_ID_LENGTH = 200
"""Longest request id (in its ``str`` form) we accept. Ids are echoed back, so unbounded ids would let a peer
make us store and resend arbitrary amounts of data."""

RequestId = int | str


@dataclass(frozen=True)
class Request:
    """A call that expects exactly one response carrying the same ``id``."""

    id: RequestId
    method: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    """A one-way message: no ``id``, never answered, not even with an error."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    """An answer from the peer. The editor never sends requests, so these are only validated and dropped."""

    id: RequestId | None
    result: Any = None
    error: dict[str, Any] | None = None


Message = Request | Notification | Response


class InvalidMessage(ProtocolError):
    """A frame :func:`parse` refused. Still a :class:`ProtocolError`, plus the id to answer with."""

    def __init__(self, code: int, message: str, data: object = None, request_id: RequestId | None = None) -> None:
        super().__init__(code, message, data)
        self.request_id: RequestId | None = request_id
        """The request's id when it could be recovered and is itself valid, else ``None`` (answer with null).
        It is only set once the id has been validated, so an invalid id is never echoed."""


def _fail(code: int, message: str, request_id: RequestId | None = None, data: object = None) -> InvalidMessage:
    return InvalidMessage(code, message, data, request_id)


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are Python extensions to JSON; the CLI's parser would choke on them if echoed.
    raise ValueError(f"non-standard JSON constant {name}")


def _valid_id(value: object) -> bool:
    # bool is a subclass of int, and JSON true/false are not ids. Floats are allowed by the spec but
    # discouraged; the CLI uses small integers, so rejecting them avoids 1 vs 1.0 matching questions.
    if isinstance(value, bool) or not isinstance(value, int | str):
        return False
    return len(str(value)) <= MAX_ID_LENGTH


def parse(text: str | bytes) -> Message:
    """Parse one JSON-RPC 2.0 message.

    Args:
        text: one WebSocket frame's payload. Bytes (a binary frame) must be UTF-8.

    Returns:
        A :class:`Request`, :class:`Notification` or :class:`Response`. Absent ``params`` become ``{}``.

    Raises:
        InvalidMessage: (a :class:`ProtocolError`) ``PARSE_ERROR`` for bad UTF-8 or bad JSON,
            ``INVALID_REQUEST`` for anything else malformed. Its ``request_id`` attribute is the request's id
            when it could be recovered (so the error can be answered with it), else ``None``.
    """
    if isinstance(text, bytes | bytearray | memoryview):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise _fail(PARSE_ERROR, "Parse error", data="Invalid UTF-8") from None
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError and ints beyond sys.get_int_max_str_digits(); RecursionError
        # covers absurdly deep nesting. Either way the frame is unusable.
        raise _fail(PARSE_ERROR, "Parse error", data="Invalid JSON") from None

    if isinstance(obj, list):
        raise _fail(INVALID_REQUEST, "Batch requests are not supported")
    if not isinstance(obj, dict):
        raise _fail(INVALID_REQUEST, "Invalid Request: expected a JSON object")

    has_id = "id" in obj
    raw_id = obj.get("id")
    request_id: RequestId | None = raw_id if _valid_id(raw_id) else None

    if "method" not in obj:
        return _parse_response(obj)

    if obj.get("jsonrpc") != JSONRPC_VERSION:
        raise _fail(INVALID_REQUEST, 'Invalid Request: jsonrpc must be "2.0"', request_id)
    if has_id and request_id is None:
        # A null id is legal JSON-RPC but unanswerable without ambiguity; other types are simply invalid.
        raise _fail(INVALID_REQUEST, "Invalid Request: id must be an integer or a string of at most 200 characters")
    method = obj["method"]
    if not isinstance(method, str) or not method:
        raise _fail(INVALID_REQUEST, "Invalid Request: method must be a non-empty string", request_id)
    params = obj.get("params", {})
    if not isinstance(params, dict):
        # Positional (array) params are legal JSON-RPC, but no MCP or IDE method uses them.
        raise _fail(INVALID_REQUEST, "Invalid Request: params must be an object", request_id)

    if request_id is None:
        return Notification(method, params)
    return Request(request_id, method, params)


def _parse_response(obj: dict[str, Any]) -> Response:
    # Errors found here are reported with id null: echoing the id of a *response* would look like we are
    # answering one of our own (non-existent) requests.
    if obj.get("jsonrpc") != JSONRPC_VERSION:
        raise _fail(INVALID_REQUEST, 'Invalid Request: jsonrpc must be "2.0"')
    if "id" not in obj:
        raise _fail(INVALID_REQUEST, "Invalid Request: missing method")
    raw_id = obj["id"]
    if raw_id is not None and not _valid_id(raw_id):
        raise _fail(INVALID_REQUEST, "Invalid Request: bad response id")
    has_result, has_error = "result" in obj, "error" in obj
    if has_result == has_error:
        raise _fail(INVALID_REQUEST, "Invalid Request: a response needs exactly one of result and error")
    if has_error:
        error = obj["error"]
        if (
            not isinstance(error, dict)
            or isinstance(error.get("code"), bool)
            or not isinstance(error.get("code"), int)
            or not isinstance(error.get("message"), str)
        ):
            raise _fail(INVALID_REQUEST, "Invalid Request: malformed error object")
        return Response(raw_id, error=error)
    return Response(raw_id, result=obj["result"])


def dumps(obj: object) -> str:
    """Compact JSON, as sent on the wire.

    ``ensure_ascii=False`` keeps non-ASCII text (tab names carry ``✻`` and ``⧉``) readable and small. A lone
    surrogate (possible in strings the peer sent us as ``\\ud800`` escapes and we echo back) cannot be encoded
    as UTF-8 by the transport, so such output falls back to ASCII escapes, which is still the same JSON value.

    Raises:
        TypeError: ``obj`` holds something JSON cannot represent.
        ValueError: ``obj`` holds NaN or infinity.
    """
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return text


def encode_result(id: RequestId, result: object) -> str:
    """A success response."""
    return dumps({"jsonrpc": JSONRPC_VERSION, "id": id, "result": result})


def encode_error(id: RequestId | None, code: int, message: str, data: object = None) -> str:
    """An error response; ``id`` is ``None`` when the request's id could not be determined."""
    error: dict[str, object] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return dumps({"jsonrpc": JSONRPC_VERSION, "id": id, "error": error})


def encode_notification(method: str, params: dict[str, Any] | None = None) -> str:
    """A notification. ``params`` is always an object, ``{}`` when empty (docs/protocol.md §4.1)."""
    return dumps({"jsonrpc": JSONRPC_VERSION, "method": method, "params": params or {}})


def encode_request(id: RequestId, method: str, params: dict[str, Any] | None = None) -> str:
    """A request (used by tests and stand-in clients; the editor itself never calls the CLI)."""
    return dumps({"jsonrpc": JSONRPC_VERSION, "id": id, "method": method, "params": params or {}})
