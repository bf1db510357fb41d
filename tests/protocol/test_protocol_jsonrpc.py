"""JSON-RPC envelope parsing and encoding."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pytest

from tmuxclaude.errors import ProtocolError
from tmuxclaude.protocol import jsonrpc
from tmuxclaude.protocol.jsonrpc import (
    INVALID_REQUEST,
    PARSE_ERROR,
    InvalidMessage,
    Notification,
    Request,
    Response,
    encode_error,
    encode_notification,
    encode_request,
    encode_result,
    parse,
)


class BadCase(NamedTuple):
    test_id: str
    text: str | bytes
    code: int
    request_id: int | str | None = None


BAD_CASES = [
    BadCase("invalid-utf8", b'{"jsonrpc":"2.0","id":1,"method":"\xff"}', PARSE_ERROR),
    BadCase("truncated-json", '{"jsonrpc":"2.0","id":1,', PARSE_ERROR),
    BadCase("empty", "", PARSE_ERROR),
    BadCase("not-json", "hello", PARSE_ERROR),
    BadCase("nan-constant", '{"jsonrpc":"2.0","id":NaN,"method":"ping"}', PARSE_ERROR),
    BadCase("infinity-constant", '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":-Infinity}}', PARSE_ERROR),
    BadCase("int-beyond-str-digits-limit", '{"jsonrpc":"2.0","id":' + "9" * 5000 + "}", PARSE_ERROR),
    BadCase("deep-nesting", "[" * 100_000 + "]" * 100_000, PARSE_ERROR),
    BadCase("utf8-bom", '\ufeff{"jsonrpc":"2.0","id":1,"method":"ping"}', PARSE_ERROR),
    BadCase("batch", '[{"jsonrpc":"2.0","id":1,"method":"ping"}]', INVALID_REQUEST),
    BadCase("empty-batch", "[]", INVALID_REQUEST),
    BadCase("scalar-number", "1", INVALID_REQUEST),
    BadCase("scalar-null", "null", INVALID_REQUEST),
    BadCase("scalar-string", '"ping"', INVALID_REQUEST),
    BadCase("wrong-version-keeps-id", '{"jsonrpc":"1.0","id":5,"method":"ping"}', INVALID_REQUEST, 5),
    BadCase("missing-version-keeps-id", '{"id":"a","method":"ping"}', INVALID_REQUEST, "a"),
    BadCase("id-bool", '{"jsonrpc":"2.0","id":true,"method":"ping"}', INVALID_REQUEST),
    BadCase("id-float", '{"jsonrpc":"2.0","id":1.0,"method":"ping"}', INVALID_REQUEST),
    BadCase("id-null", '{"jsonrpc":"2.0","id":null,"method":"ping"}', INVALID_REQUEST),
    BadCase("id-array", '{"jsonrpc":"2.0","id":[1],"method":"ping"}', INVALID_REQUEST),
    BadCase("id-object", '{"jsonrpc":"2.0","id":{},"method":"ping"}', INVALID_REQUEST),
    BadCase("id-long-string", json.dumps({"jsonrpc": "2.0", "id": "x" * 201, "method": "ping"}), INVALID_REQUEST),
    BadCase("id-long-int", '{"jsonrpc":"2.0","id":' + "1" * 201 + ',"method":"ping"}', INVALID_REQUEST),
    BadCase("method-empty", '{"jsonrpc":"2.0","id":2,"method":""}', INVALID_REQUEST, 2),
    BadCase("method-number", '{"jsonrpc":"2.0","id":2,"method":7}', INVALID_REQUEST, 2),
    BadCase("method-null-notification", '{"jsonrpc":"2.0","method":null}', INVALID_REQUEST),
    BadCase("params-array", '{"jsonrpc":"2.0","id":3,"method":"ping","params":[1,2]}', INVALID_REQUEST, 3),
    BadCase("params-null", '{"jsonrpc":"2.0","id":3,"method":"ping","params":null}', INVALID_REQUEST, 3),
    BadCase("params-string", '{"jsonrpc":"2.0","method":"x","params":"s"}', INVALID_REQUEST),
    BadCase("no-method-no-id", '{"jsonrpc":"2.0"}', INVALID_REQUEST),
    BadCase("response-wrong-version", '{"jsonrpc":"1.0","id":1,"result":{}}', INVALID_REQUEST),
    BadCase("response-no-result-or-error", '{"jsonrpc":"2.0","id":1}', INVALID_REQUEST),
    BadCase("response-result-and-error", '{"jsonrpc":"2.0","id":1,"result":1,"error":{}}', INVALID_REQUEST),
    BadCase("response-bad-id", '{"jsonrpc":"2.0","id":1.5,"result":1}', INVALID_REQUEST),
    BadCase("response-error-not-object", '{"jsonrpc":"2.0","id":1,"error":"boom"}', INVALID_REQUEST),
    BadCase(
        "response-error-code-bool",
        '{"jsonrpc":"2.0","id":1,"error":{"code":true,"message":"m"}}',
        INVALID_REQUEST,
    ),
    BadCase("response-error-no-message", '{"jsonrpc":"2.0","id":1,"error":{"code":1}}', INVALID_REQUEST),
]


@pytest.mark.parametrize("case", BAD_CASES, ids=[c.test_id for c in BAD_CASES])
def test_parse_rejects(case: BadCase) -> None:
    with pytest.raises(InvalidMessage) as info:
        parse(case.text)
    assert isinstance(info.value, ProtocolError)
    assert info.value.code == case.code
    assert info.value.request_id == case.request_id
    assert info.value.message


def test_parse_error_carries_invalid_json_data() -> None:
    with pytest.raises(InvalidMessage) as info:
        parse("{")
    assert info.value.data == "Invalid JSON"


def test_parse_request_with_and_without_params() -> None:
    assert parse('{"jsonrpc":"2.0","id":1,"method":"tools/list"}') == Request(1, "tools/list", {})
    msg = parse('{"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"name":"x"}}')
    assert msg == Request("abc", "tools/call", {"name": "x"})


def test_parse_id_boundaries() -> None:
    assert isinstance(parse(json.dumps({"jsonrpc": "2.0", "id": "x" * 200, "method": "m"})), Request)
    assert parse('{"jsonrpc":"2.0","id":0,"method":"m"}') == Request(0, "m", {})
    assert parse('{"jsonrpc":"2.0","id":-7,"method":"m"}') == Request(-7, "m", {})


def test_parse_notification() -> None:
    msg = parse('{"jsonrpc":"2.0","method":"ide_connected","params":{"pid":42}}')
    assert msg == Notification("ide_connected", {"pid": 42})
    assert parse('{"jsonrpc":"2.0","method":"notifications/initialized"}') == Notification(
        "notifications/initialized", {}
    )


def test_parse_responses() -> None:
    assert parse('{"jsonrpc":"2.0","id":1,"result":{"a":1}}') == Response(1, result={"a": 1})
    assert parse('{"jsonrpc":"2.0","id":1,"result":null}') == Response(1, result=None)
    err = {"code": -1, "message": "m"}
    assert parse(json.dumps({"jsonrpc": "2.0", "id": None, "error": err})) == Response(None, error=err)


def test_parse_bytes_and_unicode() -> None:
    text = '{"jsonrpc":"2.0","id":1,"method":"m","params":{"t":"✻ tab ⧉"}}'
    assert parse(text.encode("utf-8")) == Request(1, "m", {"t": "✻ tab ⧉"})


def test_parse_ignores_unknown_top_level_keys() -> None:
    assert parse('{"jsonrpc":"2.0","id":1,"method":"m","extra":true}') == Request(1, "m", {})


def test_error_code_constants() -> None:
    assert (jsonrpc.PARSE_ERROR, jsonrpc.INVALID_REQUEST, jsonrpc.METHOD_NOT_FOUND) == (
        -32700,
        -32600,
        -32601,
    )
    assert (jsonrpc.INVALID_PARAMS, jsonrpc.INTERNAL_ERROR) == (-32602, -32603)
    assert (jsonrpc.TOOL_ERROR, jsonrpc.FILE_NOT_OPEN) == (-32000, -32001)


def test_encode_result_is_compact() -> None:
    assert encode_result(1, {}) == '{"jsonrpc":"2.0","id":1,"result":{}}'
    assert encode_result("x", {"a": [1, {}]}) == '{"jsonrpc":"2.0","id":"x","result":{"a":[1,{}]}}'


def test_encode_error() -> None:
    assert encode_error(None, PARSE_ERROR, "Parse error", "Invalid JSON") == (
        '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error","data":"Invalid JSON"}}'
    )
    assert encode_error(4, -32601, "nope") == '{"jsonrpc":"2.0","id":4,"error":{"code":-32601,"message":"nope"}}'


def test_encode_notification_and_request_empty_params_are_objects() -> None:
    assert encode_notification("m", {}) == '{"jsonrpc":"2.0","method":"m","params":{}}'
    assert encode_notification("m") == '{"jsonrpc":"2.0","method":"m","params":{}}'
    assert encode_request(1, "ping", {}) == '{"jsonrpc":"2.0","id":1,"method":"ping","params":{}}'
    assert encode_request(2, "m", {"k": "v"}) == '{"jsonrpc":"2.0","id":2,"method":"m","params":{"k":"v"}}'


def test_encode_keeps_non_ascii_readable() -> None:
    text = encode_result(1, {"t": "✻ é"})
    assert "✻ é" in text


def test_encode_lone_surrogate_falls_back_to_ascii_escapes() -> None:
    text = encode_result("\ud800", {"t": "é"})
    text.encode("utf-8")  # must not raise: the transport sends UTF-8
    decoded: dict[str, Any] = json.loads(text)
    assert decoded["id"] == "\ud800"
    assert decoded["result"] == {"t": "é"}


def test_encode_round_trips_through_parse() -> None:
    assert parse(encode_request(9, "tools/call", {"name": "x"})) == Request(9, "tools/call", {"name": "x"})
    assert parse(encode_notification("n", {"a": 1})) == Notification("n", {"a": 1})
    assert parse(encode_result(9, {"ok": True})) == Response(9, result={"ok": True})
