"""The Neovim link's codec: what the Lua shim (``tmuxclaude/nvim/lua/tmuxclaude``) and the controller say to each
other over one instance's msgpack-RPC channel, as typed values. Pure: no I/O, no msgpack (the adapter decodes the
bytes; this module decodes the values).

Neovim -> controller, two methods:

- ``tmuxclaude_event`` (a notification, ``rpcnotify``): one table with a ``type``; :func:`decode_event` turns it
  into a :data:`NvimEvent`. Each type is mirrored as a LuaCATS ``---@class`` in the Lua module that sends it
  (``LUA_CLASS`` names it; the wire keys are the dataclass's ``WIRE`` keys, the same names).
- ``tmuxclaude_request`` (a request, ``rpcrequest``): a ``:ClaudeCode*`` command asking the command table
  (``{cmd, arg?, path?, file?}``) or the comments command (``{cmd = 'comments', action, ...}``);
  :func:`decode_request` turns it into a :data:`NvimRequest`.

Malformed input raises :class:`~tmuxclaude.errors.ProtocolError` with a one-line message: the adapter logs a bad
event and drops it, and answers a bad request with that line (``rpcrequest`` raises it in Lua).

Controller -> Neovim: every Lua function the controller calls is named once below as a :class:`LuaCall`
(``ATTACH`` ... ``SAY``), with the payload builders for the calls that take a table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, Final, Literal

from tmuxclaude.errors import ProtocolError

__all__ = [
    "ALL_CALLS",
    "ATTACH",
    "CALL_TOOL",
    "CHECK_FILE",
    "CLOSE_DIFF",
    "COMMENT_ACTIONS",
    "DETACH",
    "EVENT_METHOD",
    "EVENT_TYPES",
    "INVALID_PARAMS",
    "NOTIFY",
    "OPEN_DIFF",
    "REQUEST_METHOD",
    "REQUEST_TYPES",
    "SAY",
    "SET_COMMENTS",
    "SET_STATUS",
    "SHOW_ERROR",
    "BufferEvent",
    "CommandRequest",
    "CommentsRequest",
    "DiffEvent",
    "Level",
    "LuaCall",
    "MentionEvent",
    "NvimEvent",
    "NvimRequest",
    "Position",
    "PreimageEvent",
    "SelectionEvent",
    "attach_payload",
    "decode_event",
    "decode_request",
    "diff_payload",
    "status_payload",
]

EVENT_METHOD: Final = "tmuxclaude_event"
REQUEST_METHOD: Final = "tmuxclaude_request"
INVALID_PARAMS: Final = -32602
"""JSON-RPC's "invalid params": the code every refusal here carries."""


def _refuse(message: str) -> ProtocolError:
    return ProtocolError(INVALID_PARAMS, message)


# -- field readers: each checks one key of a decoded table -----------------------------------------------


def _str(data: dict[str, Any], key: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise _refuse(f"{what}: {key} must be a string, got {type(value).__name__}")
    return value


def _opt_str(data: dict[str, Any], key: str, what: str) -> str | None:
    return None if data.get(key) is None else _str(data, key, what)


def _int(value: object, key: str, what: str) -> int:
    # Lua numbers arrive as msgpack integers when integral; a float that is integral is accepted as well.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refuse(f"{what}: {key} must be an integer, got {type(value).__name__}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise _refuse(f"{what}: {key} must be an integer, got {value!r}")
    number = int(value)
    if number < 0:
        raise _refuse(f"{what}: {key} must not be negative, got {number}")
    return number


def _opt_int(data: dict[str, Any], key: str, what: str) -> int | None:
    value = data.get(key)
    return None if value is None else _int(value, key, what)


def _bool(data: dict[str, Any], key: str, what: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise _refuse(f"{what}: {key} must be a boolean, got {type(value).__name__}")
    return value


def _table(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _refuse(f"{what} must be a table with named fields, got {type(value).__name__}")
    return value


# -- events: Neovim -> controller (notifications) -------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """0-based line and byte column (``tmuxclaude.Position``)."""

    line: int
    character: int

    def wire(self) -> dict[str, int]:
        return {"line": self.line, "character": self.character}


@dataclass(frozen=True)
class SelectionEvent:
    """The selection (or the cursor) changed in a file buffer (selection.lua)."""

    LUA_CLASS: ClassVar[str] = "tmuxclaude.SelectionEvent"
    WIRE: ClassVar[tuple[str, ...]] = ("type", "text", "filePath", "fileUrl", "selection", "isEmpty")

    text: str
    file_path: str
    file_url: str
    start: Position
    end: Position
    is_empty: bool

    def wire(self) -> dict[str, Any]:
        range_ = {"start": self.start.wire(), "end": self.end.wire(), "isEmpty": self.is_empty}
        return {"type": "selection", "text": self.text, "filePath": self.file_path, "fileUrl": self.file_url,
                "selection": range_, "isEmpty": self.is_empty}  # fmt: skip


@dataclass(frozen=True)
class DiffEvent:
    """The user decided on a diff the controller opened (diff.lua): accepted with the final text, or rejected."""

    LUA_CLASS: ClassVar[str] = "tmuxclaude.DiffEvent"
    WIRE: ClassVar[tuple[str, ...]] = ("type", "id", "tab_name", "outcome", "contents")

    id: str
    tab_name: str
    outcome: Literal["accepted", "rejected"]
    contents: str | None = None

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "diff", "id": self.id, "tab_name": self.tab_name, "outcome": self.outcome}
        if self.contents is not None:
            out["contents"] = self.contents
        return out


@dataclass(frozen=True)
class PreimageEvent:
    """A buffer is about to be reloaded from a file changed on disk: its text before (reload.lua)."""

    LUA_CLASS: ClassVar[str] = "tmuxclaude.PreimageEvent"
    WIRE: ClassVar[tuple[str, ...]] = ("type", "filePath", "text")

    file_path: str
    text: str

    def wire(self) -> dict[str, Any]:
        return {"type": "preimage", "filePath": self.file_path, "text": self.text}


@dataclass(frozen=True)
class BufferEvent:
    """A file outside this instance's worktree was entered (init.lua): maybe start that worktree's instance."""

    LUA_CLASS: ClassVar[str] = "tmuxclaude.BufferEvent"
    WIRE: ClassVar[tuple[str, ...]] = ("type", "filePath")

    file_path: str

    def wire(self) -> dict[str, Any]:
        return {"type": "buffer", "filePath": self.file_path}


@dataclass(frozen=True)
class MentionEvent:
    """:ClaudeCodeSend / SendTo / Add: mention a file (0-based lines) to this instance's Claude or to ``to``'s
    (commands.lua)."""

    LUA_CLASS: ClassVar[str] = "tmuxclaude.MentionEvent"
    WIRE: ClassVar[tuple[str, ...]] = ("type", "filePath", "lineStart", "lineEnd", "to")

    file_path: str
    line_start: int | None = None
    line_end: int | None = None
    to: str | None = None
    """The instance named (``:ClaudeCodeSendTo``); None: the sender's own."""

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "mention", "filePath": self.file_path}
        for key, value in (("lineStart", self.line_start), ("lineEnd", self.line_end), ("to", self.to)):
            if value is not None:
                out[key] = value
        return out


NvimEvent = SelectionEvent | DiffEvent | PreimageEvent | BufferEvent | MentionEvent


def _position(raw: object, key: str) -> Position:
    what = f"selection event: {key}"
    data = _table(raw, what)
    return Position(_int(data.get("line"), "line", what), _int(data.get("character"), "character", what))


def _selection(data: dict[str, Any]) -> SelectionEvent:
    what = "selection event"
    file_path = _str(data, "filePath", what)
    range_ = _table(data.get("selection"), f"{what}: selection")
    start, end = _position(range_.get("start"), "start"), _position(range_.get("end"), "end")
    if (end.line, end.character) < (start.line, start.character):
        raise _refuse(f"{what}: the end is before the start")
    file_url = _opt_str(data, "fileUrl", what)
    is_empty = _bool(data, "isEmpty", what, _bool(range_, "isEmpty", what, start == end))
    return SelectionEvent(_str(data, "text", what), file_path, file_url or "file://" + file_path, start, end, is_empty)


def _diff(data: dict[str, Any]) -> DiffEvent:
    what = "diff event"
    outcome = data.get("outcome")
    contents = _opt_str(data, "contents", what)
    if outcome == "accepted":
        return DiffEvent(_str(data, "id", what), _str(data, "tab_name", what), "accepted", contents or "")
    if outcome == "rejected":
        return DiffEvent(_str(data, "id", what), _str(data, "tab_name", what), "rejected")
    raise _refuse(f"{what}: outcome must be 'accepted' or 'rejected', got {outcome!r}")


def _preimage(data: dict[str, Any]) -> PreimageEvent:
    return PreimageEvent(_str(data, "filePath", "preimage event"), _str(data, "text", "preimage event"))


def _buffer(data: dict[str, Any]) -> BufferEvent:
    return BufferEvent(_str(data, "filePath", "buffer event"))


def _mention(data: dict[str, Any]) -> MentionEvent:
    what = "mention event"
    file_path = _str(data, "filePath", what)
    if not file_path:
        raise _refuse(f"{what}: filePath is empty")
    start, end = _opt_int(data, "lineStart", what), _opt_int(data, "lineEnd", what)
    if end is not None and (start is None or end < start):
        raise _refuse(f"{what}: lineEnd {end} without a lineStart at or before it")
    return MentionEvent(file_path, start, end, _opt_str(data, "to", what) or None)


_EVENT_DECODERS: Final[dict[str, Callable[[dict[str, Any]], NvimEvent]]] = {
    "selection": _selection,
    "diff": _diff,
    "preimage": _preimage,
    "buffer": _buffer,
    "mention": _mention,
}
EVENT_TYPES: Final[tuple[type[Any], ...]] = (SelectionEvent, DiffEvent, PreimageEvent, BufferEvent, MentionEvent)


def decode_event(raw: object) -> NvimEvent:
    """One ``tmuxclaude_event`` table as its typed event.

    Raises:
        ProtocolError: not a table, an unknown ``type``, or a field missing or of the wrong type.
    """
    data = _table(raw, "event")
    kind = data.get("type")
    decoder = _EVENT_DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        raise _refuse(f"event: unknown type {kind!r}")
    return decoder(data)


# -- requests: Neovim -> controller (rpcrequest, answered) ----------------------------------------------


@dataclass(frozen=True)
class CommandRequest:
    """A ``:ClaudeCode*`` command for the command table (commands.lua, picker.lua, review.lua, comments.lua's
    review_send / deny_reason / send_terminal / panes). ``cmd`` is the Neovim name of a table entry."""

    LUA_CLASS: ClassVar[str] = "tmuxclaude.CommandRequest"
    WIRE: ClassVar[tuple[str, ...]] = ("cmd", "arg", "path", "file")

    cmd: str
    arg: str | None = None
    """The command's argument as typed (an instance name, a scope, a reason, a pane)."""
    path: str | None = None
    """The current buffer's file, when it is one."""
    file: str | None = None
    """The file a deny reason is about."""

    def payload(self) -> dict[str, Any]:
        """The ``{cmd, arg, path, file}`` table the command table's Neovim forms read (None fields left out)."""
        out: dict[str, Any] = {"cmd": self.cmd}
        for key, value in (("arg", self.arg), ("path", self.path), ("file", self.file)):
            if value is not None:
                out[key] = value
        return out


COMMENT_ACTIONS: Final = ("list", "add", "edit", "delete")


@dataclass(frozen=True)
class CommentsRequest:
    """The review comments of this instance: list, add, edit or delete one (comments.lua)."""

    LUA_CLASS: ClassVar[str] = "tmuxclaude.CommentsRequest"
    WIRE: ClassVar[tuple[str, ...]] = ("cmd", "action", "id", "file", "line1", "line2", "text", "quoted", "side")

    action: Literal["list", "add", "edit", "delete"]
    id: str | None = None
    file: str | None = None
    line1: int | None = None
    line2: int | None = None
    text: str | None = None
    quoted: tuple[str, ...] = ()
    side: str | None = None

    cmd: ClassVar[str] = "comments"

    def payload(self) -> dict[str, Any]:
        """The table the comments command reads (model/comments.py checks the values themselves)."""
        out: dict[str, Any] = {"cmd": self.cmd, "action": self.action}
        for key in ("id", "file", "line1", "line2", "text", "side"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.quoted:
            out["quoted"] = list(self.quoted)
        return out


NvimRequest = CommandRequest | CommentsRequest
REQUEST_TYPES: Final[tuple[type[Any], ...]] = (CommandRequest, CommentsRequest)


def _quoted(data: dict[str, Any], what: str) -> tuple[str, ...]:
    raw = data.get("quoted")
    if raw is None or raw == {}:  # an empty Lua table may arrive as either an empty array or an empty map
        return ()
    if not isinstance(raw, list) or not all(isinstance(q, str) for q in raw):
        raise _refuse(f"{what}: quoted must be a list of strings")
    return tuple(raw)


def _comments(data: dict[str, Any]) -> CommentsRequest:
    what = "comments request"
    action = data.get("action", "list")
    if action == "list":
        return CommentsRequest("list")
    if action not in ("add", "edit", "delete"):
        raise _refuse(f"{what}: unknown action {action!r}")
    return CommentsRequest(
        action,
        id=_opt_str(data, "id", what),
        file=_opt_str(data, "file", what),
        line1=_opt_int(data, "line1", what),
        line2=_opt_int(data, "line2", what),
        text=_opt_str(data, "text", what),
        quoted=_quoted(data, what),
        side=_opt_str(data, "side", what),
    )


def decode_request(raw: object) -> NvimRequest:
    """One ``tmuxclaude_request`` table as its typed request.

    Raises:
        ProtocolError: not a table, no ``cmd``, or a field of the wrong type.
    """
    data = _table(raw, "request")
    cmd = data.get("cmd")
    if not isinstance(cmd, str) or not cmd:
        raise _refuse(f"request: cmd must be a command name, got {cmd!r}")
    if cmd == CommentsRequest.cmd:
        return _comments(data)
    what = f"{cmd} request"
    return CommandRequest(cmd, _opt_str(data, "arg", what), _opt_str(data, "path", what), _opt_str(data, "file", what))


# -- controller -> Neovim -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LuaCall:
    """One function of the Lua runtime the controller calls, with positional arguments (``...``)."""

    module: str
    function: str

    @property
    def source(self) -> str:
        """The ``nvim_exec_lua`` chunk that calls it and returns its result."""
        return f"return require('{self.module}').{self.function}(...)"


ATTACH: Final = LuaCall("tmuxclaude", "attach")
"""``(tmuxclaude.AttachOpts) -> {pid, version}``: register this instance (the adapter first puts the runtime on
'runtimepath')."""
DETACH: Final = LuaCall("tmuxclaude", "detach")
"""``(channel)``: undo attach if still attached to that channel."""
SET_STATUS: Final = LuaCall("tmuxclaude", "set_status")
"""``({state, glyph})``: the instance's state for the statusline (:func:`status_payload`)."""
CALL_TOOL: Final = LuaCall("tmuxclaude.tools", "call")
"""``(name, arguments)``: run an MCP tool; an ``{__error = {code, message}}`` result is a tool error."""
OPEN_DIFF: Final = LuaCall("tmuxclaude.diff", "open")
"""``(opts)`` (:func:`diff_payload`): show a diff; the decision comes back as a :class:`DiffEvent`."""
CLOSE_DIFF: Final = LuaCall("tmuxclaude.diff", "close")
"""``(tab_name) -> bool``: tear a diff down without an event."""
CHECK_FILE: Final = LuaCall("tmuxclaude.reload", "check")
"""``(path, by)``: look at a file just written (reload an unmodified buffer, keep and tell about a modified one)."""
NOTIFY: Final = LuaCall("tmuxclaude.util", "notify")
"""``(text, level)``: a message at a :class:`Level`."""
SHOW_ERROR: Final = LuaCall("tmuxclaude.util", "error")
"""``(text)``: an error message (it stays in :messages)."""
SET_COMMENTS: Final = LuaCall("tmuxclaude.comments", "set")
"""``(listing)``: the instance's review comments, each ``tmuxclaude.Comment``."""
SAY: Final = LuaCall("tmuxclaude.reload", "say")
"""``(text)``: a short message, merged with others said in the same moment."""

ALL_CALLS: Final = (ATTACH, DETACH, SET_STATUS, CALL_TOOL, OPEN_DIFF, CLOSE_DIFF, CHECK_FILE, NOTIFY, SHOW_ERROR,
                    SET_COMMENTS, SAY)  # fmt: skip


class Level(IntEnum):
    """``vim.log.levels``."""

    DEBUG = 1
    INFO = 2
    WARN = 3
    ERROR = 4


def attach_payload(
    channel: int, instance_id: str, name: str, worktree: str, debounce_ms: int, status: tuple[str, str] | None
) -> dict[str, Any]:
    """``tmuxclaude.AttachOpts`` (types.lua): which instance this Neovim now belongs to, and its state."""
    opts: dict[str, Any] = {"channel": channel, "instance_id": instance_id, "name": name, "worktree": worktree,
                            "debounce_ms": debounce_ms}  # fmt: skip
    if status is not None:
        opts["state"], opts["glyph"] = status
    return opts


def status_payload(state: str, glyph: str) -> dict[str, str]:
    return {"state": state, "glyph": glyph}


def diff_payload(
    diff_id: str, old_file_path: str, new_file_path: str, new_file_contents: str, tab_name: str
) -> dict[str, str]:
    return {"id": diff_id, "old_file_path": old_file_path, "new_file_path": new_file_path,
            "new_file_contents": new_file_contents, "tab_name": tab_name}  # fmt: skip
