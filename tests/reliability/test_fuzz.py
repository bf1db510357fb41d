"""Hostile input for the IDE WebSocket server: Hypothesis-generated frames, floods, oversized and binary frames,
bad handshakes. The server must never crash; every bad frame gets a JSON-RPC error (or, for frames the transport
itself refuses, a close); other clients and other instances keep being answered.

Most of it drives ``IdeServer`` in-process (fast); ``test_daemon_*`` aim at the real controller.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection
from websockets.protocol import State

from tests.helpers.env import Env
from tests.helpers.waiting import aretry_until
from tests.reliability.reliability_helpers import SLEEPER_NVIM, answers, ctl, daemon_status, lock_token, rpc, ws_connect
from tmuxclaude.adapters.ide_server import IdeServer, IdeServers
from tmuxclaude.adapters.netports import bind_port
from tmuxclaude.model.config import IdeConfig
from tmuxclaude.protocol import tools

pytestmark = pytest.mark.timeout(150)

PARSE, INVALID, NOT_FOUND, PARAMS, TOOL = -32700, -32600, -32601, -32602, -32000
MAX_FRAME = 64 * 1024
"""In-process servers get a small frame limit so oversized frames are cheap to make."""


class FrameCounter:
    def __init__(self) -> None:
        self.by_kind: dict[str, int] = {}

    def add(self, kind: str, n: int = 1) -> None:
        self.by_kind[kind] = self.by_kind.get(kind, 0) + n

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


COUNT = FrameCounter()


# -- frames and what each must produce --------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    payload: str | bytes
    expect: str
    """``error_null``: an error with id null; ``error_id``: an error with ``rid``; ``reply``: a result or error
    with ``rid``; ``result``: a result with ``rid``; ``silent``: nothing."""
    rid: int | str | None = None
    codes: frozenset[int] = frozenset()
    kind: str = ""

    def __repr__(self) -> str:
        payload = self.payload
        if len(payload) > 120:
            payload = payload[:120] + b"..." if isinstance(payload, bytes) else payload[:120] + "..."
        return f"Frame({payload!r}, {self.expect}, {self.rid!r}, {sorted(self.codes)}, {self.kind})"


_ids = iter(range(1, 10**9))


def _next_id() -> int:
    return next(_ids)


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


# Cheap to draw (sampled_from), yet nasty: Hypothesis spends its time choosing among these, not building trees.
_NON_OBJECTS: list[Any] = [
    None, True, False, 0, -1, 2**63, -(2**64), 10**300, 1.5, -0.0, 1e308, 5e-324, "", "x", "\u0000", "\U0001f600",
    "🤖" * 50, "\ufeff", "a" * 5000, [], [[]], [1, "2", None], [{"jsonrpc": "2.0", "id": 1, "method": "ping"}],
    [[[[[[[[[[1]]]]]]]]]], ["\u202e"],
]  # fmt: skip
_OBJECTS: list[Any] = [
    {}, {"": None}, {"a": {"b": {"c": [1, 2, {"d": None}]}}}, {"__proto__": 1}, {"pid": -1}, {"x" * 300: 1},
    {"jsonrpc": "2.0"}, {"id": None}, {"nested": [[{}]] * 20},
]  # fmt: skip
non_object_value = st.sampled_from(_NON_OBJECTS) | st.integers() | st.text(max_size=12)
json_value = non_object_value | st.sampled_from(_OBJECTS)
safe_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=80)


def _is_json(text: str | bytes) -> bool:
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        return True
    except (ValueError, RecursionError):
        return False


@st.composite
def not_json(draw: st.DrawFn) -> Frame:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        text = draw(safe_text.filter(lambda t: not _is_json(t)))
    elif choice == 1:
        valid = _dump({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {}})
        text = valid[: draw(st.integers(0, len(valid) - 1))]
        if _is_json(text):  # "" or a lone "{" prefix can never be JSON; this guards the oracle anyway
            text += "}}"
    elif choice == 2:
        text = draw(st.sampled_from(["NaN", "[NaN]", '{"id": Infinity}', "-Infinity", "{'a': 1}", "[1,]", "\x00"]))
    else:
        text = draw(st.sampled_from(["[" * 60_000, '{"a":' * 12_000, "[" * 3000 + "]" * 2999]))
    return Frame(text, "error_null", codes=frozenset({PARSE}), kind="bad-json")


@st.composite
def binary(draw: st.DrawFn) -> Frame:
    data = draw(st.binary(max_size=200))
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return Frame(data, "error_null", codes=frozenset({PARSE}), kind="binary")
    if isinstance(obj, dict):
        data = b"\xff" + data
        return Frame(data, "error_null", codes=frozenset({PARSE}), kind="binary")
    return Frame(data, "error_null", codes=frozenset({INVALID, PARSE}), kind="binary")


@st.composite
def non_object(draw: st.DrawFn) -> Frame:
    value = draw(non_object_value)
    as_bytes = draw(st.booleans())
    text = _dump(value)
    return Frame(text.encode() if as_bytes else text, "error_null", codes=frozenset({INVALID}), kind="wrong-type")


@st.composite
def bad_envelope(draw: st.DrawFn) -> Frame:
    rid = _next_id()
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": "ping", "params": {}}
    what = draw(st.sampled_from(["jsonrpc", "method", "params"]))
    if what == "jsonrpc":
        bad: object = draw(st.sampled_from([None, "1.0", 2, 2.0, "", [], {}, "2.0 "]) | st.just("absent"))
        if bad == "absent":
            del msg["jsonrpc"]
        else:
            msg["jsonrpc"] = bad
    elif what == "method":
        msg["method"] = draw(st.sampled_from([None, 1, "", [], {}, True]))
    else:
        msg["params"] = draw(non_object_value)
    return Frame(_dump(msg), "error_id", rid, frozenset({INVALID}), kind="bad-envelope")


@st.composite
def bad_id(draw: st.DrawFn) -> Frame:
    choice = draw(st.integers(0, 3))
    if choice == 3:
        # Beyond Python's int-to-str digit limit: the parser itself refuses it.
        digits = draw(st.integers(4400, 20_000))
        text = '{"jsonrpc":"2.0","id":' + "9" * digits + ',"method":"ping"}'
        return Frame(text, "error_null", codes=frozenset({PARSE, INVALID}), kind="huge-id")
    if choice == 0:
        rid: Any = draw(st.integers(min_value=10**200)) * draw(st.sampled_from([1, -1]))
    elif choice == 1:
        rid = draw(st.text(min_size=201, max_size=400))
    else:
        rid = draw(st.sampled_from([None, True, False, 1.5, -0.0, [], [1], {}, {"id": 1}]))
    text = _dump({"jsonrpc": "2.0", "id": rid, "method": draw(st.sampled_from(["ping", "tools/list", "x"]))})
    return Frame(text, "error_null", codes=frozenset({INVALID}), kind="bad-id")


KNOWN_METHODS = {"initialize", "ping", "tools/list", "tools/call", "prompts/list", "resources/list"}
KNOWN_METHODS |= {"resources/templates/list"}


@st.composite
def unknown_method(draw: st.DrawFn) -> Frame:
    rid: int | str = _next_id()
    if draw(st.booleans()):
        rid = f"s-{rid}"
    method = draw(
        st.text(min_size=1, max_size=60).filter(lambda m: m not in KNOWN_METHODS)
        | st.sampled_from(["tools/Call", "TOOLS/LIST", "notifications/initialized", "selection_changed", "x" * 20_000])
    )
    params = draw(st.sampled_from(_OBJECTS))
    text = _dump({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
    return Frame(text, "error_id", rid, frozenset({NOT_FOUND}), kind="unknown-method")


_WRONG_FOR = {
    "string": st.integers() | st.booleans() | st.none() | st.lists(st.text(max_size=3), max_size=2),
    "boolean": st.text(max_size=5) | st.integers() | st.none(),
    "integer": st.text(max_size=5) | st.floats(allow_nan=False, allow_infinity=False) | st.none() | st.booleans(),
}


@st.composite
def bad_tool_call(draw: st.DrawFn) -> Frame:
    rid = _next_id()
    choice = draw(st.integers(0, 4))
    params: dict[str, Any]
    if choice == 0:
        params = {"name": draw(st.none() | st.integers() | st.lists(st.text(max_size=3), max_size=2))}
        codes = {PARAMS}
    elif choice == 1:
        params = {"name": draw(st.text(max_size=30).filter(lambda n: n not in tools.TOOLS)), "arguments": {}}
        codes = {NOT_FOUND}
    elif choice == 2:
        name = draw(st.sampled_from(sorted(tools.TOOLS)))
        params = {"name": name, "arguments": draw(non_object_value.filter(lambda v: v is not None))}
        codes = {PARAMS}
    elif choice == 3:
        name = draw(st.sampled_from(sorted(tools.TOOLS)))
        params = {"name": name, "arguments": {"zz_fuzz_" + draw(st.text(max_size=5)): draw(json_value)}}
        codes = {PARAMS}
    else:
        typed = [
            (name, key, prop["type"])
            for name, spec in sorted(tools.TOOLS.items())
            for key, prop in sorted(spec.input_schema["properties"].items())
        ]
        name, key, kind = draw(st.sampled_from(typed))
        params = {"name": name, "arguments": {key: draw(_WRONG_FOR[kind])}}
        codes = {PARAMS}
    text = _dump({"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": params})
    return Frame(text, "error_id", rid, frozenset(codes), kind="bad-tool-call")


@st.composite
def silent(draw: st.DrawFn) -> Frame:
    choice = draw(st.integers(0, 2))
    if choice == 0:
        msg: dict[str, Any] = {
            "jsonrpc": "2.0",
            "method": draw(st.text(min_size=1, max_size=30) | st.sampled_from(["ide_connected", "x/cancelled"])),
            "params": {draw(st.sampled_from(["pid", "requestId", "x"])): draw(json_value)},
        }
    elif choice == 1:
        msg = {"jsonrpc": "2.0", "id": _next_id(), "result": draw(json_value)}
    else:
        msg = {"jsonrpc": "2.0", "id": None, "error": {"code": draw(st.integers()), "message": draw(st.text())}}
    return Frame(_dump(msg), "silent", kind="unsolicited")


@st.composite
def bad_response(draw: st.DrawFn) -> Frame:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": _next_id()}
    choice = draw(st.integers(0, 2))
    if choice == 1:
        msg.update(result=1, error={"code": 1, "message": "x"})
    elif choice == 2:
        msg["error"] = draw(non_object_value | st.just({"code": "1"}))
    return Frame(_dump(msg), "error_null", codes=frozenset({INVALID}), kind="bad-response")


@st.composite
def valid_request(draw: st.DrawFn) -> Frame:
    rid = _next_id()
    method = draw(st.sampled_from(["ping", "tools/list", "initialize", "prompts/list", "resources/list", "call"]))
    if method == "call":
        name = draw(st.sampled_from(["getDiagnostics", "closeAllDiffTabs", "getOpenEditors", "close_tab", "openDiff"]))
        args: dict[str, Any] = {}
        if name == "close_tab":
            args = {"tab_name": draw(st.text(max_size=30))}
        elif name == "openDiff":
            # No Neovim on the fuzzed server: refused at once with a tool error, never left pending.
            args = {k: draw(st.text(max_size=10)) for k in tools.TOOLS["openDiff"].input_schema["required"]}
        text = _dump({"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {"name": name, "arguments": args}})
        return Frame(text, "reply", rid, kind="valid")
    params = {"protocolVersion": draw(json_value)} if method == "initialize" else {}
    return Frame(_dump({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}), "result", rid, kind="valid")


frame_strategy = st.one_of(
    not_json(),
    binary(),
    non_object(),
    bad_envelope(),
    bad_id(),
    unknown_method(),
    bad_tool_call(),
    silent(),
    bad_response(),
    valid_request(),
)


# -- the in-process world ---------------------------------------------------------------------------------


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    a: IdeServer
    b: IdeServer
    fuzz: ClientConnection
    bystander_a: ClientConnection
    client_b: ClientConnection
    errors: list[logging.LogRecord] = field(default_factory=list)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, 60))


class _Capture(logging.Handler):
    def __init__(self, sink: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record)


async def _start(name: str) -> IdeServer:
    server = IdeServers()(name, secrets.token_urlsafe(32), IdeConfig(max_frame_bytes=MAX_FRAME, settle_ms=0))
    await server.start(bind_port(0))
    return server


async def _initialized(server: IdeServer) -> ClientConnection:
    ws = await ws_connect(server.port, server.token)
    assert "result" in await rpc(ws, "init", "initialize", {"protocolVersion": "2025-06-18"})
    assert "result" in await rpc(ws, "list", "tools/list")
    return ws


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    loop = asyncio.new_event_loop()
    errors: list[logging.LogRecord] = []
    handler = _Capture(errors)
    logging.getLogger().addHandler(handler)
    a = loop.run_until_complete(_start("fuzz-a"))
    b = loop.run_until_complete(_start("fuzz-b"))
    fuzz = loop.run_until_complete(ws_connect(a.port, a.token))
    bystander = loop.run_until_complete(_initialized(a))
    client_b = loop.run_until_complete(_initialized(b))
    w = World(loop, a, b, fuzz, bystander, client_b, errors)
    try:
        yield w
    finally:
        for ws in (w.fuzz, w.bystander_a, w.client_b):
            with contextlib.suppress(Exception):
                loop.run_until_complete(ws.close())
        loop.run_until_complete(a.close())
        loop.run_until_complete(b.close())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        logging.getLogger().removeHandler(handler)
        print(f"\n[fuzz] frames sent in total: {COUNT.total} by kind: {dict(sorted(COUNT.by_kind.items()))}")


def _key(rid: Any) -> str:
    return f"{type(rid).__name__}:{rid}"


async def exchange(ws: ClientConnection, frames: list[Frame]) -> None:
    """Send ``frames`` (reading concurrently, so a flood cannot deadlock on full buffers) and check every answer."""
    want: dict[str, Frame] = {_key(f.rid): f for f in frames if f.expect in ("error_id", "reply", "result")}
    null_frames = [f for f in frames if f.expect == "error_null"]
    sentinel = f"sentinel-{_next_id()}"
    got: dict[str, list[dict[str, Any]]] = {}
    nulls: list[dict[str, Any]] = []

    def complete() -> bool:
        return _key(sentinel) in got and all(k in got for k in want) and len(nulls) >= len(null_frames)

    async def reader() -> None:
        async for raw in ws:
            msg = json.loads(raw)
            if "id" not in msg:
                assert msg.get("method") in ("selection_changed", "at_mentioned"), msg
                continue
            if msg["id"] is None:
                nulls.append(msg)
            else:
                got.setdefault(_key(msg["id"]), []).append(msg)
            if complete():
                return

    task = asyncio.create_task(reader())
    for frame in frames:
        await ws.send(frame.payload)
        COUNT.add(frame.kind)
    await ws.send(json.dumps({"jsonrpc": "2.0", "id": sentinel, "method": "ping"}))
    try:
        await asyncio.wait_for(asyncio.shield(task), 20)
    except TimeoutError:
        raise AssertionError(
            f"not every frame was answered: {len(want) - len(set(want) & set(got))} ids and "
            f"{len(null_frames) - len(nulls)} null-id errors missing"
        ) from None
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    unexpected = set(got) - set(want) - {_key(sentinel)}
    assert not unexpected, f"answers to ids never asked: {unexpected}"
    for k, frame in want.items():
        replies = got[k]
        assert len(replies) == 1, f"{len(replies)} answers to one request: {replies}"
        reply = replies[0]
        if frame.expect == "result":
            assert "result" in reply, (frame, reply)
        elif frame.expect == "error_id":
            assert reply.get("error", {}).get("code") in frame.codes, (frame.payload[:300], reply)
        else:
            assert ("result" in reply) != ("error" in reply), reply
    allowed = set().union(*(f.codes for f in null_frames)) if null_frames else set()
    assert len(nulls) == len(null_frames), (len(nulls), [f.payload[:80] for f in null_frames])
    for msg in nulls:
        assert msg["error"]["code"] in allowed, msg


async def still_served(w: World) -> None:
    assert (await rpc(w.bystander_a, "by", "ping"))["result"] == {}
    assert (await rpc(w.client_b, "b", "ping"))["result"] == {}


@settings(
    max_examples=220,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(frames=st.lists(frame_strategy, min_size=46, max_size=60))
def test_hostile_frames_each_get_an_error_and_nobody_else_notices(world: World, frames: list[Frame]) -> None:
    w = world

    async def go() -> None:
        if w.fuzz.state is not State.OPEN:  # only after an earlier example failed: keep the report readable
            w.fuzz = await ws_connect(w.a.port, w.a.token)
        # Pushes interleave with the fuzzing: the fuzz client (once it listed tools) gets them too.
        w.a.push_selection(
            {
                "text": "x",
                "filePath": "/tmp/f.py",
                "selection": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}},
            }
        )
        await exchange(w.fuzz, frames)
        await still_served(w)

    w.run(go())


def test_hypothesis_run_sent_at_least_ten_thousand_frames(world: World) -> None:
    # Runs after the Hypothesis test in file order; the count is the Hypothesis run's plus nothing else yet.
    hostile = COUNT.total - COUNT.by_kind.get("valid", 0)
    print(f"\n[fuzz] hypothesis frames: {COUNT.total} (hostile {hostile})")
    assert COUNT.total >= 10_000
    w = world
    assert not w.errors, [r.getMessage() for r in w.errors]
    w.run(still_served(w))
    assert w.a.pending_diffs() == 0


async def _expect_close(ws: ClientConnection, code: int) -> None:
    with pytest.raises(websockets.ConnectionClosed) as info:
        for _ in range(100):
            await asyncio.wait_for(ws.recv(), 10)
    assert info.value.rcvd is not None and info.value.rcvd.code == code, info.value


@settings(max_examples=25, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    extra=st.integers(1, 4 * MAX_FRAME),
    as_bytes=st.booleans(),
    bad_utf8=st.binary(min_size=1, max_size=50).filter(lambda b: not _valid_utf8(b)),
)
def test_oversized_and_invalid_utf8_frames_get_a_close(
    world: World, extra: int, as_bytes: bool, bad_utf8: bytes
) -> None:
    w = world

    async def go() -> None:
        ws = await ws_connect(w.a.port, w.a.token)
        big = "[" + " " * (MAX_FRAME + extra) + "]"
        await ws.send(big.encode() if as_bytes else big)
        COUNT.add("oversized")
        await _expect_close(ws, 1009)
        ws = await ws_connect(w.a.port, w.a.token)
        await ws.send(bad_utf8, text=True)  # a text frame that is not UTF-8
        COUNT.add("bad-utf8-text")
        await _expect_close(ws, 1007)
        await still_served(w)

    w.run(go())


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_floods_on_several_connections_at_once(world: World) -> None:
    """Three connections each blast 2,000 frames without waiting; all answered, bystanders fine."""
    w = world
    rng = random.Random(7)
    corpus = deterministic_corpus(rng, 6000)

    async def flood(chunk: list[Frame]) -> None:
        ws = await ws_connect(w.a.port, w.a.token)
        try:
            await exchange(ws, chunk)
        finally:
            await ws.close()

    async def go() -> None:
        before = COUNT.total
        await asyncio.gather(*(flood(corpus[i::3]) for i in range(3)))
        print(f"\n[fuzz] flood frames: {COUNT.total - before}")
        await still_served(w)

    w.run(go())
    assert w.a.clients == 2  # the fuzz client and the bystander; the flooders are gone


def test_connection_flood_and_abrupt_disconnects(world: World) -> None:
    w = world

    async def go() -> None:
        conns = await asyncio.gather(*(ws_connect(w.a.port, w.a.token) for _ in range(100)))
        assert w.a.clients == 102
        # Half leave abruptly (TCP reset, no close frame), half mid-request.
        for i, ws in enumerate(conns):
            if i % 2:
                ws.transport.abort()
            else:
                await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {}}))
                ws.transport.abort()
        COUNT.add("abrupt", 50)

        async def two_left() -> bool:
            return w.a.clients == 2

        await aretry_until(two_left, 10, "only the two Claude stand-ins left connected", interval=0.01)
        await still_served(w)

    w.run(go())


# -- handshakes -----------------------------------------------------------------------------------------


header_value = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=0, max_size=600)


@settings(max_examples=60, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(token=header_value, origin=st.none() | header_value.filter(bool))
def test_every_bad_handshake_is_refused_and_counted(world: World, token: str, origin: str | None) -> None:
    w = world
    if token == w.a.token:
        token += "x"
    before = sum(w.a.refused.values())

    async def go() -> None:
        headers = {"Origin": origin} if origin is not None else {}
        with pytest.raises(websockets.InvalidStatus) as info:
            async with await ws_connect(w.a.port, token, headers=headers):
                pass
        assert info.value.response.status_code == (403 if origin is not None else 401)

    w.run(go())
    assert sum(w.a.refused.values()) == before + 1


def test_refusals_by_kind_are_counted(world: World) -> None:
    w = world
    before = dict(w.a.refused)

    async def refused(token: str | None, **kw: Any) -> None:
        with pytest.raises(websockets.InvalidStatus):
            async with await ws_connect(w.a.port, token, **kw):
                pass

    async def go() -> None:
        await refused(None)  # no token
        await refused("wrong-token-but-long-enough")
        await refused(w.b.token)  # another instance's token
        await refused(w.a.token, headers={"Origin": "http://evil.example"})
        await refused(w.a.token[:-1])  # a prefix of the right token
        await still_served(w)

    w.run(go())
    delta = {k: w.a.refused[k] - before.get(k, 0) for k in w.a.refused}
    print(f"\n[fuzz] refused by kind (in-process): {delta}")
    assert delta == {"no_token": 1, "bad_token": 3, "origin": 1}
    assert w.b.refused.total() == 0


def test_bound_to_loopback_only(world: World) -> None:
    assert_loopback_only(world.a.port)


def _non_loopback_ipv4() -> list[str]:
    out = []
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family == socket.AF_INET and not addr.address.startswith("127."):
                out.append(addr.address)
    return out


def assert_loopback_only(port: int, pid: int | None = None) -> None:
    for address in _non_loopback_ipv4():
        with pytest.raises(ConnectionRefusedError), socket.create_connection((address, port), timeout=5):
            pass
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    listening = [
        c
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
    ]
    assert listening, f"nothing listens on {port}"
    assert {c.laddr.ip for c in listening} == {"127.0.0.1"}
    if pid is not None:
        # The controller serves it; the port keeper holds a duplicate of the same socket (it never accepts), and
        # psutil names one process per socket.
        from tests.helpers.keeper import keeper_pid

        assert {c.pid for c in listening} <= {pid, keeper_pid()}


# -- a corpus for the real controller (no Hypothesis engine across processes) ----------------------------


def deterministic_corpus(rng: random.Random, n: int) -> list[Frame]:
    """A seeded mix of the same kinds of frames as the strategies above."""
    out: list[Frame] = []
    for _ in range(n):
        k = rng.randrange(8)
        rid = _next_id()
        if k == 0:
            text = "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(1, 40)))
            if _is_json(text):
                text = "{" + text
            out.append(Frame(text, "error_null", codes=frozenset({PARSE}), kind="bad-json"))
        elif k == 1:
            data = b"\xff" + rng.randbytes(rng.randrange(0, 60))
            out.append(Frame(data, "error_null", codes=frozenset({PARSE}), kind="binary"))
        elif k == 2:
            value = rng.choice([1, "s", None, True, [], [1, 2], 3.5])
            out.append(Frame(_dump(value), "error_null", codes=frozenset({INVALID}), kind="wrong-type"))
        elif k == 3:
            text = _dump({"jsonrpc": "2.0", "id": rng.choice([10**250, 1.5, True, "x" * 300]), "method": "ping"})
            out.append(Frame(text, "error_null", codes=frozenset({INVALID}), kind="bad-id"))
        elif k == 4:
            text = _dump({"jsonrpc": "2.0", "id": rid, "method": f"no/such/{rng.random()}"})
            out.append(Frame(text, "error_id", rid, frozenset({NOT_FOUND}), kind="unknown-method"))
        elif k == 5:
            params = rng.choice([{"name": 5}, {"name": "nope"}, {"name": "openDiff", "arguments": {"tab_name": 1}}])
            text = _dump({"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": params})
            out.append(Frame(text, "error_id", rid, frozenset({PARAMS, NOT_FOUND}), kind="bad-tool-call"))
        elif k == 6:
            text = _dump({"jsonrpc": rng.choice(["1.0", 2, None]), "id": rid, "method": "ping"})
            out.append(Frame(text, "error_id", rid, frozenset({INVALID}), kind="bad-envelope"))
        else:
            text = _dump({"jsonrpc": "2.0", "method": f"notify/{rng.random()}", "params": {"pid": "x"}})
            out.append(Frame(text, "silent", kind="unsolicited"))
    return out


# -- against the real controller ----------------------------------------------------------------------------


@pytest.fixture
def two(env: Env, repo: Path) -> tuple[Env, list[dict[str, Any]]]:
    env.start_tmux()
    env.use_recorder(nvim=SLEEPER_NVIM)
    env.cli("new", "-d", "fz-a", cwd=repo)
    env.cli("new", "-d", "fz-b", cwd=repo)
    return env, ctl("ls")


async def test_daemon_survives_hostile_frames_and_refuses_bad_handshakes(two: tuple[Env, list[dict[str, Any]]]) -> None:
    env, (a, b) = two
    pid = (await asyncio.to_thread(daemon_status, env))["pid"]
    token_a, token_b = lock_token(env, a["port"]), lock_token(env, b["port"])
    bystander = await ws_connect(b["port"], token_b)
    before = COUNT.total
    try:
        async with await ws_connect(a["port"], token_a) as ws:
            await exchange(ws, deterministic_corpus(random.Random(11), 1500))
        # The frame limit of the real server (16 MiB by default) and a non-UTF-8 text frame: a close each.
        ws = await ws_connect(a["port"], token_a)
        await ws.send("[" + " " * (16 * 1024 * 1024 + 1) + "]")
        COUNT.add("oversized")
        await _expect_close(ws, 1009)
        ws = await ws_connect(a["port"], token_a)
        await ws.send(b"\xc3\x28", text=True)
        COUNT.add("bad-utf8-text")
        await _expect_close(ws, 1007)
        # Refused handshakes: no token, a wrong one, the other instance's, and an Origin with the right token.
        for token, headers in (
            (None, {}),
            ("not-the-token-0123456789", {}),
            (token_b, {}),
            (token_a, {"Origin": "https://evil.example"}),
        ):
            with pytest.raises(websockets.InvalidStatus):
                async with await ws_connect(a["port"], token, headers=headers):
                    pass
        assert (await rpc(bystander, 1, "ping"))["result"] == {}
        assert (await rpc(bystander, 2, "tools/list"))["result"]["tools"]
    finally:
        await bystander.close()
    print(f"\n[fuzz] frames at the real controller: {COUNT.total - before}")
    assert await answers(a["port"], token_a) and await answers(b["port"], token_b)
    status = await asyncio.to_thread(daemon_status, env)
    assert status["pid"] == pid, "the controller restarted"
    refused_a = status["servers"][a["id"]]["refused"]
    print(f"[fuzz] refused by kind (daemon status --json): {refused_a}")
    assert refused_a == {"no_token": 1, "bad_token": 2, "origin": 1}
    assert status["servers"][b["id"]]["refused"] == {}
    for item in (a, b):
        assert_loopback_only(item["port"], pid)


# -- tmux formats: what ``literal`` escapes reaches tmux exactly as given ---------------------------------------


@pytest.fixture(scope="module")
def plain_tmux() -> Iterator[str]:
    import shutil
    import subprocess
    import tempfile

    short = tempfile.mkdtemp(prefix="tc-fz-", dir="/tmp")
    sock = f"{short}/tmux.sock"
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    subprocess.run(["tmux", "-S", sock, "-f", "/dev/null", "new-session", "-d", "-s", "fz"], check=True, env=env)
    try:
        yield sock
    finally:
        subprocess.run(["tmux", "-S", sock, "kill-server"], check=False, env=env)
        shutil.rmtree(short, ignore_errors=True)


format_text = st.text(alphabet="#{}()[],;:?=!<>&|$`'\" \\-abcxyz019_/", min_size=1, max_size=40)


def _expanded(sock: str, value: str) -> str:
    import subprocess

    out = subprocess.run(
        ["tmux", "-S", sock, "display-message", "-p", "-t", "fz:", "--", value],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.removesuffix("\n")


@settings(max_examples=120, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=format_text)
def test_literal_and_shown_values_reach_tmux_unexpanded(plain_tmux: str, value: str) -> None:
    """Format syntax of every shape (``#{...}``, ``#(...)``, ``#[...]``, ``##``, conditionals, a leading ``-``,
    a trailing ``;`` that would split the command line): through ``literal``, tmux's expansion gives back the
    value itself; through ``shown``, the value with each ``#`` before a ``[`` doubled (which tmux then draws as
    a plain ``#``, not a style)."""
    import re

    from tmuxclaude.adapters.tmux import literal, shown

    assert _expanded(plain_tmux, literal(value)) == value
    assert _expanded(plain_tmux, shown(value)) == re.sub(r"#+(?=\[)", lambda m: m.group() * 2, value)
    COUNT.add("tmux-literal", 2)


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(
    items=st.lists(
        st.fixed_dictionaries(
            {
                "n": st.integers(-3, 30) | st.text(max_size=3),
                "name": format_text,
                "branch": format_text,
                "state": format_text,
                "port": st.integers(0, 70000) | format_text,
                "window_id": st.sampled_from(["@1", "@23"]) | format_text,
                "claude_pane": st.sampled_from(["%1", "%42"]) | format_text,
            }
        ),
        max_size=8,
    )
)
def test_pick_menu_commands_hold_only_tmux_ids(items: list[dict[str, Any]]) -> None:
    """Whatever a controller replies: every menu label has its ``#`` escaped, and every command is exactly the
    three switch commands over ids that are ids."""
    import re

    from tmuxclaude.cli.pick import menu_args

    args = menu_args(items)
    assert len(args) % 3 == 0
    for label, key, command in zip(args[::3], args[1::3], args[2::3], strict=True):
        assert re.fullmatch(r"(?:[^#]|##)*", label), label
        assert key in ("", *map(str, range(1, 10)))
        assert re.fullmatch(r"switch-client -t @\d+ ; select-window -t @\d+ ; select-pane -t %\d+", command)
