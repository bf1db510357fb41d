"""The MCP session state machine, driven with JSON text as the CLI would send it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tmuxclaude.errors import ProtocolError
from tmuxclaude.protocol import tools
from tmuxclaude.protocol.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    TOOL_ERROR,
)
from tmuxclaude.protocol.mcp import (
    DEFAULT_PROTOCOL_VERSION,
    Action,
    CallTool,
    ClientEvent,
    McpSession,
    Send,
    SessionState,
)


def request(id: int | str, method: str, params: dict[str, Any] | None = None) -> str:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    return json.dumps(msg)


def notification(method: str, params: dict[str, Any] | None = None) -> str:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    return json.dumps(msg)


def only_send(actions: list[Action]) -> dict[str, Any]:
    assert len(actions) == 1
    action = actions[0]
    assert isinstance(action, Send)
    decoded: dict[str, Any] = json.loads(action.text)
    return decoded


def result_of(actions: list[Action]) -> Any:
    msg = only_send(actions)
    assert "error" not in msg, msg
    return msg["result"]


def error_of(actions: list[Action]) -> dict[str, Any]:
    msg = only_send(actions)
    assert "result" not in msg, msg
    error: dict[str, Any] = msg["error"]
    return error


def call(session: McpSession, id: int | str, name: str, arguments: dict[str, Any] | None = None) -> list[Action]:
    params: dict[str, Any] = {"name": name}
    if arguments is not None:
        params["arguments"] = arguments
    return session.receive(request(id, "tools/call", params))


def state(session: McpSession) -> SessionState:
    # A function call stops mypy from narrowing the property across receive() calls.
    return session.state


def ready_session() -> McpSession:
    session = McpSession("tmuxclaude", "0.1.0")
    session.receive(request(0, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {}}))
    session.receive(notification("notifications/initialized"))
    session.receive(request(1, "tools/list"))
    return session


def test_cli_handshake_sequence() -> None:
    session = McpSession("tmuxclaude", "0.1.0")
    assert state(session) is SessionState.NEW

    init = session.receive(
        request(
            0,
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {"roots": {}, "elicitation": {}},
                "clientInfo": {"name": "claude-code", "version": "2.1.197"},
            },
        )
    )
    msg = only_send(init)
    assert msg["id"] == 0 and msg["jsonrpc"] == "2.0"
    assert msg["result"] == {
        "protocolVersion": "2025-11-25",
        "capabilities": {"tools": {"listChanged": True}},
        "serverInfo": {"name": "tmuxclaude", "version": "0.1.0"},
    }
    assert state(session) is SessionState.INITIALIZED

    assert session.receive(notification("notifications/initialized")) == [ClientEvent("initialized", {})]
    assert session.receive(notification("ide_connected", {"pid": 4321})) == [
        ClientEvent("ide_connected", {"pid": 4321})
    ]

    actions = session.receive(request(1, "tools/list"))
    assert len(actions) == 2
    assert actions[1] == ClientEvent("tools_listed", {})
    listed = result_of(actions[:1])["tools"]
    assert [t["name"] for t in listed] == [t["name"] for t in tools.list_tools()]
    assert session.state is SessionState.READY


@pytest.mark.parametrize(
    ("offered", "answered"),
    [
        ("2025-11-25", "2025-11-25"),
        ("2025-03-26", "2025-03-26"),
        ("2024-11-05", "2024-11-05"),
        ("2031-01-01", "2031-01-01"),
        ("latest", DEFAULT_PROTOCOL_VERSION),
        ("2025-11-25\n", DEFAULT_PROTOCOL_VERSION),
        ("25-11-25", DEFAULT_PROTOCOL_VERSION),
        (20251125, DEFAULT_PROTOCOL_VERSION),
        (None, DEFAULT_PROTOCOL_VERSION),
    ],
)
def test_initialize_version(offered: object, answered: str) -> None:
    session = McpSession("s", "1")
    params = {} if offered is None else {"protocolVersion": offered}
    assert result_of(session.receive(request(1, "initialize", params)))["protocolVersion"] == answered


def test_initialize_without_params() -> None:
    session = McpSession("s", "1")
    assert result_of(session.receive(request(1, "initialize")))["protocolVersion"] == DEFAULT_PROTOCOL_VERSION


def test_reinitialize_does_not_downgrade_state() -> None:
    session = ready_session()
    result_of(session.receive(request(9, "initialize", {"protocolVersion": "2025-03-26"})))
    assert session.state is SessionState.READY


def test_ping_and_empty_lists() -> None:
    session = ready_session()
    assert result_of(session.receive(request(5, "ping"))) == {}
    assert result_of(session.receive(request(6, "prompts/list"))) == {"prompts": []}
    assert result_of(session.receive(request(7, "resources/list"))) == {"resources": []}
    assert result_of(session.receive(request(8, "resources/templates/list"))) == {"resourceTemplates": []}


def test_requests_before_initialize_are_answered() -> None:
    session = McpSession("s", "1")
    assert result_of(session.receive(request(1, "ping"))) == {}
    actions = session.receive(request(2, "tools/list"))
    assert isinstance(actions[0], Send)
    assert session.state is SessionState.READY
    assert isinstance(call(session, 3, "getOpenEditors", {})[0], CallTool)


def test_ping_empty_result_encodes_as_object() -> None:
    actions = McpSession("s", "1").receive(request(1, "ping"))
    assert isinstance(actions[0], Send)
    assert actions[0].text == '{"jsonrpc":"2.0","id":1,"result":{}}'


def test_unknown_method_keeps_session_usable() -> None:
    session = ready_session()
    error = error_of(session.receive(request(3, "logging/setLevel", {"level": "debug"})))
    assert error["code"] == METHOD_NOT_FOUND
    assert "logging/setLevel" in error["message"]
    assert result_of(session.receive(request(4, "ping"))) == {}
    assert session.state is SessionState.READY


def test_malformed_input_keeps_session_usable() -> None:
    session = ready_session()
    msg = only_send(session.receive("{not json"))
    assert msg["id"] is None and msg["error"]["code"] == PARSE_ERROR
    msg = only_send(session.receive(b"\xff\xfe"))
    assert msg["error"]["code"] == PARSE_ERROR
    msg = only_send(session.receive('{"jsonrpc":"1.0","id":12,"method":"ping"}'))
    assert msg["id"] == 12 and msg["error"]["code"] == INVALID_REQUEST
    msg = only_send(session.receive("[]"))
    assert msg["id"] is None and msg["error"]["code"] == INVALID_REQUEST
    assert result_of(session.receive(request(13, "ping"))) == {}


def test_notifications_are_never_answered() -> None:
    session = ready_session()
    assert session.receive(notification("notifications/cancelled", {"requestId": 1, "reason": "x"})) == []
    assert session.receive(notification("log_event", {"eventName": "x"})) == []
    assert session.receive(notification("something/new")) == []


@pytest.mark.parametrize("pid", ["42", None, True, 1.5])
def test_ide_connected_with_odd_pid(pid: object) -> None:
    session = ready_session()
    params = {} if pid is None else {"pid": pid}
    assert session.receive(notification("ide_connected", params)) == [ClientEvent("ide_connected", {"pid": None})]


def test_responses_from_client_are_ignored() -> None:
    session = ready_session()
    assert session.receive('{"jsonrpc":"2.0","id":1,"result":{}}') == []
    assert session.receive('{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"m"}}') == []


def test_tools_call_emits_call_tool() -> None:
    session = ready_session()
    args = {"old_file_path": "/a", "new_file_path": "/a", "new_file_contents": "x", "tab_name": "t"}
    assert call(session, 10, "openDiff", args) == [CallTool(10, "openDiff", args)]
    assert session.pending() == frozenset({10})


def test_tools_call_without_arguments_means_empty() -> None:
    session = ready_session()
    assert call(session, 11, "closeAllDiffTabs") == [CallTool(11, "closeAllDiffTabs", {})]
    assert session.receive(request(12, "tools/call", {"name": "getDiagnostics", "arguments": None})) == [
        CallTool(12, "getDiagnostics", {})
    ]


def test_tools_call_ignores_meta() -> None:
    session = ready_session()
    params = {"name": "getDiagnostics", "arguments": {}, "_meta": {"progressToken": 1}}
    assert session.receive(request(13, "tools/call", params)) == [CallTool(13, "getDiagnostics", {})]


def test_tools_call_drops_empty_open_file_text() -> None:
    session = ready_session()
    args = {
        "filePath": "/p/a.py",
        "preview": False,
        "startText": "",
        "endText": "",
        "selectToEndOfLine": False,
        "makeFrontmost": False,
    }
    [action] = call(session, 14, "openFile", args)
    assert isinstance(action, CallTool)
    assert "startText" not in action.arguments and "endText" not in action.arguments


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"name": "nope", "arguments": {}}, METHOD_NOT_FOUND),
        ({"arguments": {}}, INVALID_PARAMS),
        ({"name": 5}, INVALID_PARAMS),
        ({"name": "openDiff", "arguments": {}}, INVALID_PARAMS),
        ({"name": "getDiagnostics", "arguments": {"uri": 1}}, INVALID_PARAMS),
        ({"name": "getDiagnostics", "arguments": {"bogus": "x"}}, INVALID_PARAMS),
        ({"name": "getDiagnostics", "arguments": []}, INVALID_PARAMS),
    ],
)
def test_tools_call_errors(params: dict[str, Any], code: int) -> None:
    session = ready_session()
    msg = only_send(session.receive(request(20, "tools/call", params)))
    assert msg["id"] == 20
    assert msg["error"]["code"] == code
    assert session.pending() == frozenset()
    assert result_of(session.receive(request(21, "ping"))) == {}


def test_unknown_tool_message() -> None:
    error = error_of(call(ready_session(), 22, "executeCode", {"code": "1"}))
    assert error == {"code": METHOD_NOT_FOUND, "message": "Tool not found: executeCode"}


def test_duplicate_in_flight_id() -> None:
    session = ready_session()
    call(session, 30, "getDiagnostics", {})
    error = error_of(call(session, 30, "getOpenEditors", {}))
    assert error["code"] == INVALID_REQUEST
    assert session.pending() == frozenset({30})
    # Once answered, the id may be reused.
    session.complete(30, tools.json_result([]))
    assert isinstance(call(session, 30, "getOpenEditors", {})[0], CallTool)


def test_int_and_str_ids_are_distinct() -> None:
    session = ready_session()
    call(session, 1, "getDiagnostics", {})
    assert isinstance(call(session, "1", "getDiagnostics", {})[0], CallTool)
    assert session.pending() == frozenset({1, "1"})


def test_complete() -> None:
    session = ready_session()
    call(
        session,
        40,
        "openDiff",
        {"old_file_path": "/a", "new_file_path": "/a", "new_file_contents": "x", "tab_name": "t"},
    )
    send = session.complete(40, tools.file_saved("x\n"))
    assert json.loads(send.text) == {
        "jsonrpc": "2.0",
        "id": 40,
        "result": {"content": [{"type": "text", "text": "FILE_SAVED"}, {"type": "text", "text": "x\n"}]},
    }
    assert session.pending() == frozenset()


def test_fail() -> None:
    session = ready_session()
    call(session, "s-1", "saveDocument", {"filePath": "/a"})
    send = session.fail("s-1", TOOL_ERROR, "Failed to save", {"filePath": "/a"})
    assert json.loads(send.text) == {
        "jsonrpc": "2.0",
        "id": "s-1",
        "error": {"code": TOOL_ERROR, "message": "Failed to save", "data": {"filePath": "/a"}},
    }
    assert session.pending() == frozenset()


def test_double_answer_raises() -> None:
    session = ready_session()
    call(session, 50, "getDiagnostics", {})
    session.complete(50, tools.json_result([]))
    with pytest.raises(ProtocolError) as info:
        session.complete(50, tools.json_result([]))
    assert info.value.code == INTERNAL_ERROR
    with pytest.raises(ProtocolError):
        session.fail(50, TOOL_ERROR, "late")
    with pytest.raises(ProtocolError):
        session.complete(999, tools.tab_closed())


def test_unencodable_result_leaves_call_pending() -> None:
    session = ready_session()
    call(session, 60, "getDiagnostics", {})
    with pytest.raises(TypeError):
        session.complete(60, {"content": [object()]})
    assert session.pending() == frozenset({60})
    assert "error" in json.loads(session.fail(60, INTERNAL_ERROR, "bug").text)


def test_notify() -> None:
    send = ready_session().notify("at_mentioned", {"filePath": "a.py"})
    assert send.text == '{"jsonrpc":"2.0","method":"at_mentioned","params":{"filePath":"a.py"}}'
    assert McpSession("s", "1").notify("x", {}).text == '{"jsonrpc":"2.0","method":"x","params":{}}'


def test_close() -> None:
    session = ready_session()
    call(session, 70, "getDiagnostics", {})
    call(session, 71, "getDiagnostics", {})
    assert session.close() == frozenset({70, 71})
    assert session.state is SessionState.CLOSED
    assert session.pending() == frozenset()
    assert session.receive(request(72, "ping")) == []
    with pytest.raises(ProtocolError):
        session.complete(70, tools.tab_closed())


# -- property test: arbitrary input never breaks the session -----------------------------------------------

_json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_methods = st.sampled_from(
    [
        "initialize",
        "ping",
        "tools/list",
        "tools/call",
        "prompts/list",
        "resources/list",
        "notifications/initialized",
        "notifications/cancelled",
        "ide_connected",
        "nope",
        "",
    ]
)
_tool_params = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from([*tools.TOOLS, "executeCode", ""]) | _json,
        "arguments": st.dictionaries(
            st.sampled_from(["filePath", "uri", "tab_name", "startText", "startLine", "x"]), _json, max_size=4
        )
        | _json,
    },
)
_envelopes = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0"]) | _json,
        "id": st.integers(min_value=-3, max_value=3) | st.text(max_size=3) | _json,
        "method": _methods | _json,
        "params": _tool_params | _json,
        "result": _json,
        "error": _json,
    },
)
_frames = (
    st.text(max_size=200)
    | st.binary(max_size=200)
    | _json.map(json.dumps)
    | _envelopes.map(json.dumps)
    | _envelopes.map(lambda e: json.dumps(e).encode("utf-8"))
)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_frames, min_size=1, max_size=4))
def test_receive_never_raises_and_answers_valid_jsonrpc(frames: list[str | bytes]) -> None:
    session = McpSession("tmuxclaude", "0.1.0")
    for frame in frames:
        for action in session.receive(frame):
            assert isinstance(action, Send | CallTool | ClientEvent)
            if isinstance(action, CallTool):
                assert action.request_id in session.pending()
                assert action.name in tools.TOOLS
                continue
            if isinstance(action, ClientEvent):
                assert action.kind in {"initialized", "ide_connected", "tools_listed"}
                continue
            action.text.encode("utf-8")  # sendable as a text frame
            msg = json.loads(action.text)
            assert msg["jsonrpc"] == "2.0"
            assert "id" in msg
            assert isinstance(msg["id"], int | str) or msg["id"] is None
            assert ("result" in msg) != ("error" in msg)
            if "error" in msg:
                assert isinstance(msg["error"]["code"], int)
                assert isinstance(msg["error"]["message"], str)
    # Whatever happened, the session still answers.
    if session.state is not SessionState.CLOSED:
        pong = session.receive(request("final-ping", "ping"))
        assert json.loads(pong[0].text if isinstance(pong[0], Send) else "") == {
            "jsonrpc": "2.0",
            "id": "final-ping",
            "result": {},
        }
