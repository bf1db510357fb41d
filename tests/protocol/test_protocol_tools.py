"""Tool registry: schemas, argument validation and result shapes."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pytest

from tmuxclaude.errors import ProtocolError
from tmuxclaude.protocol import tools
from tmuxclaude.protocol.jsonrpc import INVALID_PARAMS, METHOD_NOT_FOUND
from tmuxclaude.protocol.tools import TOOLS, list_tools, validate_arguments

EXPECTED_TOOLS = {
    "openFile",
    "openDiff",
    "close_tab",
    "closeAllDiffTabs",
    "getDiagnostics",
    "getOpenEditors",
    "getWorkspaceFolders",
    "getCurrentSelection",
    "getLatestSelection",
    "checkDocumentDirty",
    "saveDocument",
}

DIFF_ARGS = {
    "old_file_path": "/p/calc.py",
    "new_file_path": "/p/calc.py",
    "new_file_contents": "x = 1\n",
    "tab_name": "✻ [Claude Code] calc.py (102100) ⧉",
}


class ToolCase(NamedTuple):
    test_id: str
    good: dict[str, Any]
    required: str | None  # a required key to drop, if the tool has one
    wrong_type: tuple[str, object] | None  # a key and a value of the wrong type, if the tool has keys


TOOL_CASES = [
    ToolCase("openFile", {"filePath": "/p/a.py", "startLine": 1, "endLine": 3}, "filePath", ("preview", "no")),
    ToolCase("openDiff", DIFF_ARGS, "tab_name", ("new_file_contents", 1)),
    ToolCase("close_tab", {"tab_name": "t"}, "tab_name", ("tab_name", None)),
    ToolCase("closeAllDiffTabs", {}, None, None),
    ToolCase("getDiagnostics", {"uri": "file:///p/a b.py"}, None, ("uri", ["file:///x"])),
    ToolCase("getOpenEditors", {}, None, None),
    ToolCase("getWorkspaceFolders", {}, None, None),
    ToolCase("getCurrentSelection", {}, None, None),
    ToolCase("getLatestSelection", {}, None, None),
    ToolCase("checkDocumentDirty", {"filePath": "/p/a.py"}, "filePath", ("filePath", {"p": 1})),
    ToolCase("saveDocument", {"filePath": "/p/a.py"}, "filePath", ("filePath", True)),
]


def test_cases_cover_every_tool() -> None:
    assert {c.test_id for c in TOOL_CASES} == set(TOOLS) == EXPECTED_TOOLS


def test_no_execute_code() -> None:
    assert "executeCode" not in TOOLS
    with pytest.raises(ProtocolError) as info:
        validate_arguments("executeCode", {"code": "print(1)"})
    assert info.value.code == METHOD_NOT_FOUND


def test_list_tools_shape() -> None:
    listed = list_tools()
    assert {t["name"] for t in listed} == EXPECTED_TOOLS - {"close_tab"}
    for entry in listed:
        assert set(entry) == {"name", "description", "inputSchema"}
        assert isinstance(entry["name"], str) and entry["name"]
        assert isinstance(entry["description"], str) and entry["description"]
        schema = entry["inputSchema"]
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False
        assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
        assert isinstance(schema["properties"], dict)
        assert set(schema.get("required", [])) <= set(schema["properties"])
    # The whole list survives JSON encoding with empty objects intact.
    encoded = json.dumps(listed)
    assert '"properties": {}' in encoded


def test_close_tab_is_unlisted_but_callable() -> None:
    assert TOOLS["close_tab"].listed is False
    assert validate_arguments("close_tab", {"tab_name": "t"}) == {"tab_name": "t"}


def test_list_tools_returns_copies() -> None:
    first = list_tools()
    first[0]["inputSchema"]["properties"]["evil"] = {"type": "string"}
    assert "evil" not in list_tools()[0]["inputSchema"]["properties"]


def test_required_fields_match_protocol() -> None:
    assert TOOLS["openFile"].input_schema["required"] == ["filePath"]
    assert set(TOOLS["openDiff"].input_schema["required"]) == set(DIFF_ARGS)
    assert "required" not in TOOLS["getDiagnostics"].input_schema


@pytest.mark.parametrize("case", TOOL_CASES, ids=[c.test_id for c in TOOL_CASES])
def test_good_arguments(case: ToolCase) -> None:
    result = validate_arguments(case.test_id, dict(case.good))
    assert result == case.good


@pytest.mark.parametrize("case", [c for c in TOOL_CASES if c.required], ids=lambda c: c.test_id)
def test_missing_required(case: ToolCase) -> None:
    assert case.required is not None
    args = {k: v for k, v in case.good.items() if k != case.required}
    with pytest.raises(ProtocolError) as info:
        validate_arguments(case.test_id, args)
    assert info.value.code == INVALID_PARAMS
    assert case.required in info.value.message
    assert info.value.data == {"field": case.required}


@pytest.mark.parametrize("case", [c for c in TOOL_CASES if c.wrong_type], ids=lambda c: c.test_id)
def test_wrong_type(case: ToolCase) -> None:
    assert case.wrong_type is not None
    key, value = case.wrong_type
    with pytest.raises(ProtocolError) as info:
        validate_arguments(case.test_id, {**case.good, key: value})
    assert info.value.code == INVALID_PARAMS
    assert key in info.value.message


@pytest.mark.parametrize("case", TOOL_CASES, ids=[c.test_id for c in TOOL_CASES])
def test_unknown_key(case: ToolCase) -> None:
    with pytest.raises(ProtocolError) as info:
        validate_arguments(case.test_id, {**case.good, "bogus": 1})
    assert info.value.code == INVALID_PARAMS
    assert "bogus" in info.value.message


@pytest.mark.parametrize("args", [None, [], "x", 1])
def test_non_object_arguments(args: object) -> None:
    with pytest.raises(ProtocolError) as info:
        validate_arguments("getDiagnostics", args)
    assert info.value.code == INVALID_PARAMS


def test_unknown_tool() -> None:
    with pytest.raises(ProtocolError) as info:
        validate_arguments("nope", {})
    assert info.value.code == METHOD_NOT_FOUND
    assert info.value.message == "Tool not found: nope"


def test_cli_open_file_arguments_validate() -> None:
    # The exact call the CLI makes (services/diagnosticTracking.ts ensureFileOpened).
    args = {
        "filePath": "/p/calc.py",
        "preview": False,
        "startText": "",
        "endText": "",
        "selectToEndOfLine": False,
        "makeFrontmost": False,
    }
    assert validate_arguments("openFile", args) == {
        "filePath": "/p/calc.py",
        "preview": False,
        "selectToEndOfLine": False,
        "makeFrontmost": False,
    }
    assert "startText" in args  # the caller's dict is not modified


def test_open_file_keeps_non_empty_text_range() -> None:
    args = {"filePath": "/p", "startText": "def", "endText": "return"}
    assert validate_arguments("openFile", args) == args


@pytest.mark.parametrize("value", [True, 1.5, "3"])
def test_integer_rejects_bool_float_and_string(value: object) -> None:
    with pytest.raises(ProtocolError, match="startLine"):
        validate_arguments("openFile", {"filePath": "/p", "startLine": value})


def test_integer_minimum() -> None:
    with pytest.raises(ProtocolError, match=r"endLine.*at least 1"):
        validate_arguments("openFile", {"filePath": "/p", "endLine": 0})


def test_boolean_rejects_int() -> None:
    with pytest.raises(ProtocolError, match="makeFrontmost"):
        validate_arguments("openFile", {"filePath": "/p", "makeFrontmost": 1})


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("string", "s", 1),
        ("boolean", False, 0),
        ("integer", 3, 3.0),
        ("number", 3.5, True),
        ("number", 3, "3"),
        ("object", {}, []),
        ("array", [], {}),
    ],
)
def test_primitive_type_checks(kind: str, good: object, bad: object) -> None:
    # The validator supports every primitive JSON Schema type, even those no current schema uses.
    assert tools._type_ok(kind, good)
    assert not tools._type_ok(kind, bad)


def test_unsupported_schema_type_is_a_bug() -> None:
    with pytest.raises(AssertionError):
        tools._type_ok("null", None)


def test_text_result() -> None:
    assert tools.text_result("a", "b") == {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    assert tools.text_result() == {"content": []}


def test_json_result_encodes_compactly() -> None:
    assert tools.json_result({}) == {"content": [{"type": "text", "text": "{}"}]}
    assert tools.json_result([]) == {"content": [{"type": "text", "text": "[]"}]}
    result = tools.json_result([{"uri": "file:///a b", "diagnostics": []}])
    assert result["content"][0]["text"] == '[{"uri":"file:///a b","diagnostics":[]}]'
    assert tools.json_result({"ok": "✻"})["content"][0]["text"] == '{"ok":"✻"}'


def test_error_result() -> None:
    assert tools.error_result("boom") == {"content": [{"type": "text", "text": "boom"}], "isError": True}


def test_diff_answers() -> None:
    assert tools.file_saved("x\n") == {
        "content": [{"type": "text", "text": "FILE_SAVED"}, {"type": "text", "text": "x\n"}]
    }
    assert tools.diff_rejected("tab") == {
        "content": [{"type": "text", "text": "DIFF_REJECTED"}, {"type": "text", "text": "tab"}]
    }
    assert tools.tab_closed() == {"content": [{"type": "text", "text": "TAB_CLOSED"}]}
    assert tools.closed_diff_tabs(0) == {"content": [{"type": "text", "text": "CLOSED_0_DIFF_TABS"}]}
    assert tools.closed_diff_tabs(3)["content"][0]["text"] == "CLOSED_3_DIFF_TABS"
