"""``tmuxclaude pick``: a tmux menu of the instances; choosing one switches to it. Stdlib only (a keypress)."""

from __future__ import annotations

import subprocess
from typing import Any

from tmuxclaude.adapters.paths import Paths
from tmuxclaude.cli import client
from tmuxclaude.errors import InstanceError, TmuxError

__all__ = ["menu_args", "pick"]


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def menu_args(items: list[dict[str, Any]]) -> list[str]:
    """``display-menu`` items: label, key, command. Selecting runs tmux commands only (no process)."""
    args: list[str] = []
    for item in items:
        n = int(item["n"])
        label = f"{item['name']}  [{item['branch']}]  {item['state']}  :{item['port']}"
        if item.get("active"):
            label += "  *"
        key = str(n) if n < 10 else ""
        # The window's own session is switched to first, then the window and its Claude pane selected.
        command = (
            f"switch-client -t {_quote(str(item['window_id']))} ; "
            f"select-window -t {_quote(str(item['window_id']))} ; "
            f"select-pane -t {_quote(str(item['claude_pane']))}"
        )
        args += [label.replace("#", "##"), key, command]
    return args


def pick(client_name: str = "") -> None:
    items = client.request("ls")
    if not items:
        raise InstanceError("no instances (start one with `tmuxclaude new BRANCH` or `tmuxclaude open`)")
    socket = Paths.current().tmux_socket
    cmd = ["tmux", "-S", socket, "display-menu", "-T", "#[align=centre]tmuxclaude", "-x", "C", "-y", "C"]
    if client_name:
        cmd[4:4] = ["-c", client_name]
    # display-menu returns only when the menu closes: leave it open and return once tmux has accepted it (an
    # immediate exit means an error, such as no client to show it on).
    proc = subprocess.Popen(
        [*cmd, *menu_args(items)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        code = proc.wait(0.3)
    except subprocess.TimeoutExpired:
        return
    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
    if code != 0:
        raise TmuxError(f"display-menu: {err or 'failed (is a tmux client attached?)'}")
