"""Text into and out of tmux panes, as data only: a prompt pasted into a Claude pane, a pane's recent output.

A prompt goes in through a named paste buffer loaded from stdin (``load-buffer -``) and pasted bracketed
(``paste-buffer -p``), then Enter: nothing in it is ever a tmux command argument, a format or a key name. The text
is cleaned of control characters before (``model.comments.clean_text``): an ESC inside a bracketed paste could
end it early. Output comes out through ``capture-pane -p`` (no ``-e``: tmux has already interpreted the colour
escapes; what is left of control characters is dropped here).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess

from tmuxclaude.errors import TmuxError
from tmuxclaude.model.comments import clean_text

__all__ = ["PANE_TARGET", "PaneText", "capture_pane", "capture_screen", "list_panes", "paste_prompt", "resolve_pane"]

PANE_TARGET = re.compile(r"^(?:%[0-9]{1,9}|[A-Za-z0-9_][A-Za-z0-9_.:@$%+-]{0,199})$")
"""What a pane reference may look like: a pane id (``%12``) or a target (``session:window.pane``), never a flag
and never anything tmux could read as a format (``#``) or a command separator (``;``)."""


def _tmux(socket: str, *args: str, data: bytes | None = None, timeout: float = 10.0) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    try:
        proc = subprocess.run(["tmux", "-S", socket, *args], input=data, capture_output=True, env=env,
                              timeout=timeout, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TmuxError(f"tmux {args[0]}: {exc}") from exc
    if proc.returncode != 0:
        raise TmuxError(f"tmux {args[0]}: {proc.stderr.decode(errors='replace').strip() or proc.returncode}")
    return proc.stdout.decode(errors="replace")


def resolve_pane(socket: str, ref: str) -> str:
    """The pane id (``%N``) that ``ref`` names on this tmux server, or TmuxError."""
    if not PANE_TARGET.match(ref):
        raise TmuxError(f"not a tmux pane: {ref[:60]!r} (use a pane id like %3 or session:window.pane)")
    try:
        # display-message falls back to the current pane when its target is not found: capture-pane does not.
        _tmux(socket, "capture-pane", "-p", "-S", "0", "-E", "0", "-t", ref)
        out = _tmux(socket, "display-message", "-p", "-t", ref, "#{pane_id}").strip()
    except TmuxError as exc:
        raise TmuxError(f"no tmux pane {ref!r} on this server") from exc
    if not re.fullmatch(r"%[0-9]+", out):
        raise TmuxError(f"no tmux pane {ref!r} on this server")
    return out


def strip_terminal(text: str) -> str:
    """Text without escape sequences or control characters (tabs and newlines stay), trailing blanks trimmed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in clean_text(text).split("\n"))


def capture_pane(socket: str, pane_id: str, *, max_lines: int, max_bytes: int) -> tuple[str, int]:
    """The last ``max_lines`` lines of the pane (history and screen), at most ``max_bytes`` bytes of UTF-8, cut at
    a line start; and how many lines that is."""
    raw = _tmux(socket, "capture-pane", "-p", "-J", "-S", f"-{max_lines}", "-t", pane_id)
    lines = strip_terminal(raw).split("\n")
    while lines and not lines[-1]:
        lines.pop()
    lines = lines[-max_lines:]
    size = 0
    keep: list[str] = []
    for line in reversed(lines):
        size += len(line.encode()) + 1
        if size > max_bytes:
            break
        keep.append(line)
    keep.reverse()
    return "\n".join(keep) + ("\n" if keep else ""), len(keep)


def list_panes(socket: str) -> list[dict[str, str]]:
    """Every pane of the server: id, ``session:window.pane``, its command and its window's name (for a picker)."""
    sep = "\x1f"
    fmt = sep.join(["#{pane_id}", "#{session_name}:#{window_index}.#{pane_index}", "#{pane_current_command}",
                    "#{window_name}"])  # fmt: skip
    panes = []
    for line in _tmux(socket, "list-panes", "-a", "-F", fmt).splitlines():
        parts = line.split(sep)
        if len(parts) == 4:
            panes.append({"id": parts[0], "target": parts[1], "command": parts[2], "window": parts[3]})
    return panes


def capture_screen(socket: str, pane_id: str) -> str:
    """What the pane shows now (its visible screen, as text)."""
    return _tmux(socket, "capture-pane", "-p", "-t", pane_id)


def paste_prompt(socket: str, pane_id: str, text: str) -> None:
    """Type ``text`` into the pane as one bracketed paste, then press Enter."""
    name = f"tmuxclaude-prompt-{secrets.token_hex(4)}"
    _tmux(socket, "load-buffer", "-b", name, "-", data=clean_text(text).encode())
    try:
        _tmux(socket, "paste-buffer", "-p", "-d", "-b", name, "-t", pane_id)
    except TmuxError:
        _tmux_quiet(socket, "delete-buffer", "-b", name)
        raise
    _tmux(socket, "send-keys", "-t", pane_id, "Enter")


def _tmux_quiet(socket: str, *args: str) -> None:
    with contextlib.suppress(TmuxError):
        _tmux(socket, *args)


class PaneText:
    """The functions above, bound to one tmux server's socket (the controller's ``PaneTextPort``)."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def resolve_pane(self, ref: str) -> str:
        return resolve_pane(self.socket, ref)

    def capture_pane(self, pane_id: str, *, max_lines: int, max_bytes: int) -> tuple[str, int]:
        return capture_pane(self.socket, pane_id, max_lines=max_lines, max_bytes=max_bytes)

    def list_panes(self) -> list[dict[str, str]]:
        return list_panes(self.socket)

    def capture_screen(self, pane_id: str) -> str:
        return capture_screen(self.socket, pane_id)

    def paste_prompt(self, pane_id: str, text: str) -> None:
        paste_prompt(self.socket, pane_id, text)
