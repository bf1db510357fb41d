"""A scripted mock of the Anthropic Messages API for driving the real Claude Code CLI offline.

The server runs on ``127.0.0.1`` (port 0) in a background thread, so it works the same from sync and async
tests. Each ``POST /v1/messages`` that is not a side query consumes the next scripted turn::

    with MockApi() as api:
        api.script([ToolUse("Write", {"file_path": "/abs/x.txt", "content": "hi\\n"}), Text("done")])
        env = prepare_claude_home(home, api_url=api.url, version="2.1.332", trusted_dirs=[cwd])
        ...
        req = api.wait_for_request(lambda r: "hello" in r.request_text)

Side queries (the TUI's title generator and any other request without tools, or with a JSON-schema
``output_config``) never consume turns: they get a small JSON text. Once the script is exhausted every main
request is answered with the text ``(done)``.

In async tests use ``await api.await_request(...)`` (``wait_for_request`` blocks the calling thread).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

DEFAULT_MODEL = "claude-opus-4-8"
DONE_TEXT = "(done)"
SIDE_QUERY_TEXT = '{"title": "Test"}'

__all__ = [
    "DEFAULT_MODEL",
    "DONE_TEXT",
    "SIDE_QUERY_TEXT",
    "Block",
    "Gated",
    "MockApi",
    "RecordedRequest",
    "Text",
    "ToolUse",
    "Turn",
    "is_side_query",
]


# --------------------------------------------------------------------------------------------------- script


@dataclass(frozen=True)
class Text:
    """An assistant text block."""

    text: str


@dataclass(frozen=True)
class ToolUse:
    """An assistant tool_use block. ``id`` defaults to a fresh unique ``toolu_...`` id when served."""

    name: str
    input: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


Block = Text | ToolUse


@dataclass(frozen=True)
class Gated:
    """A turn whose response is held back until ``gate`` is set (or ``timeout`` passes).

    Useful to observe the CLI while it is "thinking". The request is recorded before the wait starts.
    """

    turn: Block | Sequence[Block]
    gate: threading.Event
    timeout: float = 60.0


Turn = Block | Sequence[Block] | Gated


def new_tool_use_id() -> str:
    return "toolu_01" + uuid.uuid4().hex[:22]


def _new_message_id() -> str:
    return "msg_01" + uuid.uuid4().hex[:22]


# ------------------------------------------------------------------------------------------------- recording


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the mock saw it."""

    seq: int
    time: float  # time.monotonic() when the request was fully read
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON (usually a dict), or None
    request_text: str  # the raw body text
    side_query: bool
    #: what the mock answered: the list of content blocks (API JSON shape), or None for non-messages requests
    response_content: list[dict[str, Any]] | None = None

    @property
    def is_messages(self) -> bool:
        return self.method == "POST" and self.path == "/v1/messages"

    @property
    def messages(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict) and isinstance(self.body.get("messages"), list):
            return list(self.body["messages"])
        return []

    @property
    def tool_names(self) -> list[str]:
        tools = self.body.get("tools") if isinstance(self.body, dict) else None
        return [t.get("name", "") for t in tools or [] if isinstance(t, dict)]

    def tool_results(self) -> list[dict[str, Any]]:
        """All ``tool_result`` blocks in the last user message."""
        for msg in reversed(self.messages):
            if msg.get("role") == "user":
                content = msg.get("content")
                if isinstance(content, list):
                    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
                return []
        return []

    def tool_result_text(self, tool_use_id: str | None = None) -> str:
        """Text of the tool_result for ``tool_use_id`` (default: the first one) in the last user message."""
        for block in self.tool_results():
            if tool_use_id is None or block.get("tool_use_id") == tool_use_id:
                content = block.get("content")
                if isinstance(content, str):
                    return content
                if isinstance(content, list):
                    return "".join(c.get("text", "") for c in content if isinstance(c, dict))
                return ""
        raise KeyError(f"no tool_result for {tool_use_id!r} in request #{self.seq}")

    def response_tool_use_ids(self) -> list[str]:
        return [b["id"] for b in self.response_content or [] if b.get("type") == "tool_use"]


def is_side_query(body: Any) -> bool:
    """True for requests that must not consume a scripted turn (title generation and the like)."""
    if not isinstance(body, dict):
        return True
    if not body.get("tools"):
        return True
    output_config = body.get("output_config")
    return isinstance(output_config, dict) and "schema" in json.dumps(output_config)


# ------------------------------------------------------------------------------------------------ rendering


def _blocks_json(turn: Block | Sequence[Block]) -> list[dict[str, Any]]:
    blocks: Sequence[Block] = [turn] if isinstance(turn, Text | ToolUse) else turn
    out: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, Text):
            out.append({"type": "text", "text": block.text})
        elif isinstance(block, ToolUse):
            out.append(
                {
                    "type": "tool_use",
                    "id": block.id or new_tool_use_id(),
                    "name": block.name,
                    "input": dict(block.input),
                }
            )
        else:  # pragma: no cover - defensive
            raise TypeError(f"not a content block: {block!r}")
    return out


def _usage(body: Any, output_tokens: int) -> dict[str, Any]:
    input_tokens = max(1, len(json.dumps(body)) // 4) if body is not None else 1
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _stop_reason(content: list[dict[str, Any]]) -> str:
    return "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"


def _output_tokens(content: list[dict[str, Any]]) -> int:
    return max(1, len(json.dumps(content)) // 4)


def _message_json(model: str, content: list[dict[str, Any]], body: Any) -> dict[str, Any]:
    return {
        "id": _new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": _stop_reason(content),
        "stop_sequence": None,
        "usage": _usage(body, _output_tokens(content)),
    }


def _chunks(text: str, size: int = 16) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _sse_events(model: str, content: list[dict[str, Any]], body: Any) -> bytes:
    events: list[tuple[str, dict[str, Any]]] = []
    start_usage = _usage(body, 1)
    events.append(
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": _new_message_id(),
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
        )
    )
    events.append(("ping", {"type": "ping"}))
    for index, block in enumerate(content):
        if block["type"] == "text":
            events.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
            )
            for piece in _chunks(block["text"]):
                events.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "text_delta", "text": piece},
                        },
                    )
                )
        else:
            events.append(
                (
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {
                            "type": "tool_use",
                            "id": block["id"],
                            "name": block["name"],
                            "input": {},
                        },
                    },
                )
            )
            for piece in _chunks(json.dumps(block["input"]), 32):
                events.append(
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece},
                        },
                    )
                )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    end_usage = dict(start_usage, output_tokens=_output_tokens(content))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": _stop_reason(content), "stop_sequence": None},
                "usage": end_usage,
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return b"".join(
        f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode() for name, data in events
    )


# ---------------------------------------------------------------------------------------------------- server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    mock: MockApi

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The CLI may be killed mid-response; a reset connection is not worth a traceback.
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- helpers
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until blank line
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, content_type: str, payload: bytes, *, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("request-id", "req_" + uuid.uuid4().hex[:24])
        if content_type.startswith("text/event-stream"):
            self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if not head:
            self.wfile.write(payload)
            self.wfile.flush()

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, "application/json", json.dumps(obj).encode())

    def _not_found(self) -> None:
        self._json(
            HTTPStatus.NOT_FOUND,
            {
                "type": "error",
                "error": {"type": "not_found_error", "message": f"{self.command} {self.path} not mocked"},
            },
        )

    def _handle(self) -> None:
        raw = self._read_body() if self.command not in ("GET", "HEAD") else b""
        text = raw.decode("utf-8", errors="replace")
        split = urlsplit(self.path)
        body: Any = None
        if text:
            try:
                body = json.loads(text)
            except ValueError:
                body = None
        mock = self.server.mock
        is_messages = self.command == "POST" and split.path == "/v1/messages"
        side = is_messages and is_side_query(body)
        headers = {k.lower(): v for k, v in self.headers.items()}

        if self.command == "HEAD" and split.path == "/":
            mock._record(self.command, split.path, split.query, headers, body, text, False, None)
            self._send(HTTPStatus.OK, "text/plain", b"", head=True)
            return
        if not is_messages:
            mock._record(self.command, split.path, split.query, headers, body, text, False, None)
            if self.command == "HEAD":
                self._send(HTTPStatus.NOT_FOUND, "application/json", b"", head=True)
            else:
                self._not_found()
            return

        model = body.get("model") if isinstance(body, dict) and isinstance(body.get("model"), str) else None
        model = model or mock.model
        gate: Gated | None = None
        if side:
            content = _blocks_json(Text(mock.side_query_text))
        else:
            turn = mock._next_turn()
            if isinstance(turn, Gated):
                gate = turn
                turn = turn.turn
            content = _blocks_json(turn)
        mock._record(self.command, split.path, split.query, headers, body, text, side, content)
        if gate is not None:
            gate.gate.wait(gate.timeout)

        if isinstance(body, dict) and body.get("stream"):
            self._send(HTTPStatus.OK, "text/event-stream; charset=utf-8", _sse_events(model, content, body))
        else:
            self._json(HTTPStatus.OK, _message_json(model, content, body))

    def do_HEAD(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()


class MockApi:
    """Scripted Anthropic Messages API on 127.0.0.1 (random port), served from a background thread.

    Use as a (sync or async) context manager, or call :meth:`start` / :meth:`stop`.
    """

    def __init__(self, *, model: str = DEFAULT_MODEL, side_query_text: str = SIDE_QUERY_TEXT) -> None:
        self.model = model
        self.side_query_text = side_query_text
        self._cond = threading.Condition()
        self._turns: deque[Turn] = deque()
        self._requests: list[RecordedRequest] = []
        self._next_seq = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> Self:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.mock = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="MockApi", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("MockApi is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for ``ANTHROPIC_BASE_URL``."""
        return f"http://127.0.0.1:{self.port}"

    # -- script
    def script(self, turns: Iterable[Turn]) -> None:
        """Replace the remaining script. Each main ``/v1/messages`` request consumes one turn, in order."""
        with self._cond:
            self._turns = deque(turns)

    def extend(self, turns: Iterable[Turn]) -> None:
        """Append turns to the remaining script."""
        with self._cond:
            self._turns.extend(turns)

    @property
    def remaining_turns(self) -> int:
        with self._cond:
            return len(self._turns)

    def _next_turn(self) -> Turn:
        with self._cond:
            return self._turns.popleft() if self._turns else Text(DONE_TEXT)

    # -- recording
    def _record(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: Any,
        text: str,
        side: bool,
        content: list[dict[str, Any]] | None,
    ) -> RecordedRequest:
        with self._cond:
            req = RecordedRequest(
                seq=self._next_seq,
                time=time.monotonic(),
                method=method,
                path=path,
                query=query,
                headers=headers,
                body=body,
                request_text=text,
                side_query=side,
                response_content=content,
            )
            self._next_seq += 1
            self._requests.append(req)
            self._cond.notify_all()
            return req

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request so far, in arrival order."""
        with self._cond:
            return list(self._requests)

    def messages_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.is_messages]

    def main_requests(self) -> list[RecordedRequest]:
        """``POST /v1/messages`` requests that consumed (or would have consumed) a scripted turn."""
        return [r for r in self.requests if r.is_messages and not r.side_query]

    def side_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.is_messages and r.side_query]

    def clear(self) -> None:
        """Forget recorded requests (the script is left alone)."""
        with self._cond:
            self._requests.clear()

    def wait_for_request(
        self,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        timeout: float = 30.0,
        *,
        since: int = 0,
        main_only: bool = False,
    ) -> RecordedRequest:
        """Return the first recorded request (with ``seq >= since``) matching ``predicate``, waiting for it.

        ``main_only`` restricts the search to non-side ``/v1/messages`` requests. Raises ``TimeoutError``
        listing what was received.
        """

        def match(r: RecordedRequest) -> bool:
            if r.seq < since:
                return False
            if main_only and not (r.is_messages and not r.side_query):
                return False
            return predicate is None or predicate(r)

        deadline = time.monotonic() + timeout
        with self._cond:
            checked = 0
            while True:
                for r in self._requests[checked:]:
                    if match(r):
                        return r
                checked = len(self._requests)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = ", ".join(
                        f"#{r.seq} {r.method} {r.path}{' (side)' if r.side_query else ''}" for r in self._requests
                    )
                    raise TimeoutError(f"no matching request within {timeout}s; received: [{got}]")
                self._cond.wait(remaining)

    def wait_for_main_request(
        self,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        timeout: float = 30.0,
        *,
        since: int = 0,
    ) -> RecordedRequest:
        return self.wait_for_request(predicate, timeout, since=since, main_only=True)

    async def await_request(
        self,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        timeout: float = 30.0,
        *,
        since: int = 0,
        main_only: bool = False,
    ) -> RecordedRequest:
        """Async version of :meth:`wait_for_request` (runs the wait in a worker thread)."""
        return await asyncio.to_thread(self.wait_for_request, predicate, timeout, since=since, main_only=main_only)

    @property
    def next_seq(self) -> int:
        """The ``seq`` the next request will get; pass it as ``since=`` to wait only for newer requests."""
        with self._cond:
            return self._next_seq
