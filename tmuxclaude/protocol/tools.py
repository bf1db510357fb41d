"""The IDE tool registry: names, descriptions, JSON schemas, argument validation and result shapes.

This module only describes tools. Doing the work (talking to Neovim) belongs to the layers above: the MCP
session validates a ``tools/call`` here, hands the caller a ``CallTool`` action, and the caller answers with
one of the result builders below. Shapes follow docs/protocol.md §4.4, §4.5 and §5.

``executeCode`` is deliberately absent: it is arbitrary code execution and the model can call it (§5.6).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from tmuxclaude.errors import ProtocolError
from tmuxclaude.protocol.jsonrpc import INVALID_PARAMS, METHOD_NOT_FOUND, dumps

__all__ = [
    "CLOSED_DIFF_TABS_FORMAT",
    "CONTROLLER_TOOLS",
    "DIFF_REJECTED",
    "FILE_SAVED",
    "JSON_SCHEMA_DRAFT",
    "TAB_CLOSED",
    "TOOLS",
    "ToolSpec",
    "closed_diff_tabs",
    "diff_rejected",
    "error_result",
    "file_saved",
    "json_result",
    "list_tools",
    "tab_closed",
    "text_result",
    "validate_arguments",
]

JSON_SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"

# The CLI compares content[0].text against these exact strings (docs/protocol.md §5.1-5.3).
FILE_SAVED = "FILE_SAVED"
DIFF_REJECTED = "DIFF_REJECTED"
TAB_CLOSED = "TAB_CLOSED"
CLOSED_DIFF_TABS_FORMAT = "CLOSED_{n}_DIFF_TABS"


@dataclass(frozen=True)
class ToolSpec:
    """One tool: what ``tools/list`` advertises and what ``tools/call`` arguments must look like.

    ``listed=False`` hides the tool from ``tools/list`` while still accepting calls: the CLI calls
    ``close_tab`` without ever looking it up (§4.4), and the reference servers do not list it.
    """

    name: str
    description: str
    input_schema: dict[str, Any]
    listed: bool = True


def _schema(properties: dict[str, dict[str, Any]], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "$schema": JSON_SCHEMA_DRAFT,
    }
    if required:
        schema["required"] = list(required)
    return schema


def _string(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _boolean(description: str, default: bool) -> dict[str, Any]:
    return {"type": "boolean", "description": description, "default": default}


def _line(description: str) -> dict[str, Any]:
    return {"type": "integer", "description": description, "minimum": 1}


_FILE_PATH = _string("Absolute path of the file")

_SPECS = (
    ToolSpec(
        "openFile",
        "Open a file in the editor and optionally select a range of text",
        _schema(
            {
                "filePath": _string("Path to the file to open"),
                "preview": _boolean("Whether to open the file in preview mode", False),
                "startText": _string("Text pattern to find the start of the selection range"),
                "endText": _string("Text pattern to find the end of the selection range"),
                "selectToEndOfLine": _boolean("Extend the selection to the end of the line", False),
                "makeFrontmost": _boolean(
                    "Make the file the active editor tab; when false, answer with file details only", True
                ),
                "startLine": _line("First line to select (1-based)"),
                "endLine": _line("Last line to select (1-based)"),
            },
            ("filePath",),
        ),
    ),
    ToolSpec(
        "openDiff",
        "Open a diff view comparing a file with proposed new contents, and wait until the user accepts or "
        "rejects it. The file itself is never written by the editor.",
        _schema(
            {
                "old_file_path": _string("Path of the file to compare against"),
                "new_file_path": _string("Path the new contents are for"),
                "new_file_contents": _string("The whole proposed contents of the file"),
                "tab_name": _string("Name of the diff tab; identifies the diff in close_tab"),
            },
            ("old_file_path", "new_file_path", "new_file_contents", "tab_name"),
        ),
    ),
    ToolSpec(
        "close_tab",
        "Close a tab by name; a pending diff with that name is rejected",
        _schema({"tab_name": _string("Name of the tab to close")}, ("tab_name",)),
        listed=False,
    ),
    ToolSpec(
        "closeAllDiffTabs",
        "Close all diff tabs opened by this editor server",
        _schema({}),
    ),
    ToolSpec(
        "getDiagnostics",
        "Get language diagnostics (errors, warnings) from the editor",
        _schema({"uri": _string("file:// URI of a file; omit for all open files")}),
    ),
    ToolSpec(
        "getOpenEditors",
        "Get the list of files currently open in the editor",
        _schema({}),
    ),
    ToolSpec(
        "getWorkspaceFolders",
        "Get the workspace folders of the editor",
        _schema({}),
    ),
    ToolSpec(
        "getCurrentSelection",
        "Get the current text selection in the active editor",
        _schema({}),
    ),
    ToolSpec(
        "getLatestSelection",
        "Get the most recent text selection, even if the editor is no longer focused",
        _schema({}),
    ),
    ToolSpec(
        "checkDocumentDirty",
        "Check whether a document has unsaved changes",
        _schema({"filePath": _FILE_PATH}, ("filePath",)),
    ),
    ToolSpec(
        "saveDocument",
        "Save a document with unsaved changes",
        _schema({"filePath": _FILE_PATH}, ("filePath",)),
    ),
)

TOOLS: dict[str, ToolSpec] = {spec.name: spec for spec in _SPECS}
"""Every tool we accept in ``tools/call``, listed or not."""

CONTROLLER_TOOLS = frozenset({"openDiff", "close_tab"})
"""Tools the controller answers itself (the IDE server holds the pending diffs); Neovim's ``tmuxclaude.tools``
answers every other one of TOOLS (tests/nvim/test_shared_names.py checks both sides)."""

# Keys that mean "not given" when empty: the CLI's own openFile call sends startText:"" and endText:""
# (docs/protocol.md §5.5), and claudecode.nvim treats that as "no range".
_EMPTY_MEANS_ABSENT = frozenset({"startText", "endText"})


def list_tools() -> list[dict[str, Any]]:
    """The ``tools`` array of a ``tools/list`` result: listed tools only, as
    ``{name, description, inputSchema}``.

    Schemas are deep copies, so a caller (or an encoder) cannot mutate the registry.
    """
    return [
        {"name": spec.name, "description": spec.description, "inputSchema": copy.deepcopy(spec.input_schema)}
        for spec in TOOLS.values()
        if spec.listed
    ]


def _type_ok(expected: str, value: object) -> bool:
    # bool is an int subclass in Python but a distinct type in JSON Schema, hence the explicit exclusions.
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array":
        return isinstance(value, list)
    raise AssertionError(f"schema uses unsupported type {expected!r}")


def validate_arguments(name: str, arguments: object) -> dict[str, object]:
    """Check ``tools/call`` arguments against the tool's schema.

    Supports exactly the schema features this registry uses: ``properties`` with a primitive ``type``,
    ``minimum``, ``required`` and ``additionalProperties: false``. That keeps us free of a jsonschema
    dependency while matching what ``tools/list`` advertises.

    Args:
        name: the tool name from ``tools/call``.
        arguments: the ``arguments`` value (the session maps an absent value to ``{}``).

    Returns:
        A new dict of the arguments, with empty ``startText``/``endText`` dropped.

    Raises:
        ProtocolError: ``METHOD_NOT_FOUND`` for an unknown tool, ``INVALID_PARAMS`` (naming the field) for bad
            arguments.
    """
    spec = TOOLS.get(name)
    if spec is None:
        raise ProtocolError(METHOD_NOT_FOUND, f"Tool not found: {name}")
    if not isinstance(arguments, dict):
        raise ProtocolError(INVALID_PARAMS, f"{name}: arguments must be an object")
    schema = spec.input_schema
    properties: dict[str, dict[str, Any]] = schema["properties"]
    for key, value in arguments.items():
        prop = properties.get(key)
        if prop is None:
            raise ProtocolError(INVALID_PARAMS, f"{name}: unknown argument {key!r}", {"field": key})
        if not _type_ok(prop["type"], value):
            raise ProtocolError(
                INVALID_PARAMS, f"{name}: argument {key!r} must be of type {prop['type']}", {"field": key}
            )
        minimum = prop.get("minimum")
        if minimum is not None and value < minimum:
            raise ProtocolError(INVALID_PARAMS, f"{name}: argument {key!r} must be at least {minimum}", {"field": key})
    for key in schema.get("required", ()):
        if key not in arguments:
            raise ProtocolError(INVALID_PARAMS, f"{name}: missing required argument {key!r}", {"field": key})
    return {k: v for k, v in arguments.items() if not (k in _EMPTY_MEANS_ABSENT and v == "")}


def text_result(*texts: str) -> dict[str, Any]:
    """A ``CallToolResult`` with one text item per argument."""
    return {"content": [{"type": "text", "text": text} for text in texts]}


def json_result(obj: object) -> dict[str, Any]:
    """A ``CallToolResult`` whose single text item is ``obj`` as compact JSON.

    The CLI parses structured results out of ``content[0].text`` (§4.5). Python's encoder keeps ``{}`` an
    object and lists arrays, the distinction Lua and Elisp encoders get wrong (§7.13).
    """
    return text_result(dumps(obj))


def error_result(message: str) -> dict[str, Any]:
    """A failed tool call as a result (``isError``), which the CLI raises with ``message`` as the text."""
    return {"content": [{"type": "text", "text": message}], "isError": True}


def file_saved(contents: str) -> dict[str, Any]:
    """``openDiff`` accepted: the final contents, including any edits the user made in the diff."""
    return text_result(FILE_SAVED, contents)


def diff_rejected(tab_name: str) -> dict[str, Any]:
    """``openDiff`` rejected (also the answer when the diff is closed without accepting)."""
    return text_result(DIFF_REJECTED, tab_name)


def tab_closed() -> dict[str, Any]:
    """``close_tab``'s answer. Never use it for a pending ``openDiff``: the CLI reads it as accept (§5.1)."""
    return text_result(TAB_CLOSED)


def closed_diff_tabs(n: int) -> dict[str, Any]:
    """``closeAllDiffTabs``'s answer for ``n`` closed diffs."""
    return text_result(CLOSED_DIFF_TABS_FORMAT.format(n=n))
