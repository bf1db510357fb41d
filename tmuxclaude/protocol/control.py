"""The control-socket wire format, the one codec the CLI, the daemon and the tests share (sans-I/O).

One JSON object per line each way. Request ``{"cmd": str, "args": {...}, "client": {"cwd": str, "pane": str}}``;
reply ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {"kind": str, "message": str}}``, where
``kind`` names a class of the exception tree (``errors.KINDS``), so the CLI raises what the controller raised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tmuxclaude.errors import KINDS, ControllerError, TmuxClaudeError

__all__ = ["MAX_LINE", "Request", "decode_reply", "decode_request", "encode_error", "encode_reply", "encode_request"]

MAX_LINE = 1024 * 1024
"""The longest request line the controller reads; longer ones get an error reply."""


@dataclass(frozen=True)
class Request:
    cmd: str
    args: dict[str, Any] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=dict)
    """Who asks: ``cwd`` and, inside this tmux server, ``pane``."""


def _wire(value: object) -> Any:
    """A typed answer (``model.view.InstanceView`` and kin) as its wire form: the one place it becomes JSON."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=_wire).encode() + b"\n"


def encode_request(request: Request) -> bytes:
    return _line({"cmd": request.cmd, "args": request.args, "client": request.client})


def decode_request(line: bytes) -> Request:
    """Raises:
    ValueError: not JSON, or not an object with a string ``cmd``.
    """
    data = json.loads(line)
    if not isinstance(data, dict) or not isinstance(data.get("cmd"), str):
        raise ValueError("request must be an object with a 'cmd'")
    args = data.get("args") or {}
    client = data.get("client") or {}
    return Request(data["cmd"], args if isinstance(args, dict) else {}, client if isinstance(client, dict) else {})


def encode_reply(result: Any) -> bytes:
    """``result`` is JSON data, in which any object with a ``to_dict()`` (the views) stands for what it returns."""
    return _line({"ok": True, "result": result})


def encode_error(kind: str, message: str) -> bytes:
    return _line({"ok": False, "error": {"kind": kind, "message": message}})


def decode_reply(data: bytes) -> Any:
    """The result of a reply line.

    Raises:
        TmuxClaudeError: the controller's error, as the class its ``kind`` names.
        ControllerError: the reply is not a reply.
    """
    try:
        reply = json.loads(data)
    except ValueError:
        raise ControllerError("controller sent a malformed reply") from None
    if not isinstance(reply, dict):
        raise ControllerError("controller sent a malformed reply")
    if reply.get("ok"):
        return reply.get("result")
    error = reply.get("error") or {}
    cls: type[TmuxClaudeError] = KINDS.get(str(error.get("kind", "error")), KINDS["error"])
    raise cls(str(error.get("message", "unknown error")))
