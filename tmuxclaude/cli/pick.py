"""``tmuxclaude pick``: a tmux menu of the instances; choosing one switches to it. Stdlib only (a keypress)."""

from __future__ import annotations

import re
import subprocess
from typing import Any

from tmuxclaude.adapters.paths import Paths
from tmuxclaude.adapters.tmux import shown
from tmuxclaude.cli import client
from tmuxclaude.errors import InstanceError, TmuxError

__all__ = ["menu_args", "pick"]


_WINDOW_ID = re.compile(r"@[0-9]+")
_PANE_ID = re.compile(r"%[0-9]+")


def menu_args(items: list[dict[str, Any]]) -> list[str]:
    """``display-menu`` items: label, key, command. Selecting runs tmux commands only (no process).

    tmux expands formats in both the label and the command (``#(...)`` would run a shell): labels go through
    ``shown``, and the command holds nothing but tmux ids, checked to be ids; an item carrying anything else
    is left out (the reply may come from a controller that is not ours, or a name from a hostile repository).
    """
    args: list[str] = []
    for item in items:
        window, pane = str(item.get("window_id", "")), str(item.get("claude_pane", ""))
        remote = _remote_command(item)
        if not remote and not (_WINDOW_ID.fullmatch(window) and _PANE_ID.fullmatch(pane)):
            continue
        n = item.get("n")
        label = f"{item.get('name')}  [{item.get('branch')}]  {item.get('state')}  :{item.get('port')}"
        if item.get("active"):
            label += "  *"
        key = str(n) if isinstance(n, int) and 0 < n < 10 else ""
        # The window's own session is switched to first, then the window and its Claude pane selected.
        command = remote or f"switch-client -t {window} ; select-window -t {window} ; select-pane -t {pane}"
        # A label starting with "-" is shown disabled, an empty one is a separator: keep it an item.
        args += [" " + shown(label) if label.startswith("-") else shown(label), key, command]
    return args


_SAFE_PATH = re.compile(r"/[A-Za-z0-9_./+-]+")


def _remote_command(item: dict[str, Any]) -> str:
    """A remote instance (another host's): the menu runs ``tmuxclaude switch N`` by its number, the only part of
    the item that goes into the command (checked to be a number), with this very Python."""
    import sys

    n = item.get("n")
    if not item.get("host") or type(n) is not int or not _SAFE_PATH.fullmatch(sys.executable):
        return ""
    return f"run-shell -b '{sys.executable} -m tmuxclaude switch {n}'"


def pick(client_name: str = "") -> None:
    from tmuxclaude.cli.sessions import menu_with_sessions

    items = client.request("ls")
    sessions = client.request("sessions")  # Claude Code's own sessions, under their instance (`ls --all`)
    lists = [x if isinstance(x, list) else [] for x in (items, sessions)]
    entries = menu_with_sessions(menu_args, lists[0], lists[1])
    if not entries:
        raise InstanceError("no instances (start one with `tmuxclaude new BRANCH` or `tmuxclaude open`)")
    socket = Paths.current().tmux_socket
    cmd = ["tmux", "-S", socket, "display-menu", "-T", "#[align=centre]tmuxclaude", "-x", "C", "-y", "C"]
    if client_name:
        cmd[4:4] = ["-c", client_name]
    # display-menu returns only when the menu closes: leave it open and return once tmux has accepted it (an
    # immediate exit means an error, such as no client to show it on).
    proc = subprocess.Popen(
        [*cmd, *entries], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        code = proc.wait(0.3)
    except subprocess.TimeoutExpired:
        return
    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
    if code != 0:
        raise TmuxError(f"display-menu: {err or 'failed (is a tmux client attached?)'}")
