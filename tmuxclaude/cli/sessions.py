"""``ls --all`` and ``open SESSION``: Claude Code sessions tmuxclaude did not start, under their instance or repo."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Any

import click

from tmuxclaude.adapters.tmux import shown
from tmuxclaude.errors import InstanceError
from tmuxclaude.model import view

if TYPE_CHECKING:
    from tmuxclaude.cli.app import App

__all__ = ["menu_with_sessions", "open_session", "print_all", "session_line"]

_SESSION_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{7,63}")


def session_line(item: dict[str, Any]) -> str:
    """``   #2 fork (blocked) fix the parser  [1a2b3c4d]``: its number for `open`, kind, state, name, short id."""
    state = item.get("state") or item.get("status") or "?"
    name = f" {item['name']}" if item.get("name") else ""
    line = f"   #{item['n']} {item['kind']} ({state}){name}  [{str(item['session_id'])[:8]}]"
    if item.get("kind") == "interactive" and item.get("pid"):
        line += f" pid {item['pid']}"
    return view.printable(line)


def print_all(app: App, instances: list[dict[str, Any]], *, as_json: bool) -> None:
    sessions = app.request("sessions", {})
    sessions = sessions if isinstance(sessions, list) else []
    if as_json:
        click.echo(json.dumps({"instances": instances, "sessions": sessions}, indent=2))
        return
    for item in instances:
        click.echo(view.ls_line(view.from_wire(item)))
        for s in sessions:
            if s.get("instance_id") == item.get("id"):
                click.echo(session_line(s))
    rest = [s for s in sessions if not s.get("instance_id")]
    for repo in sorted({str(s.get("repo")) for s in rest}):
        click.echo(view.printable(f"{view.shorten_home(repo)}:"))
        for s in rest:
            if s.get("repo") == repo:
                click.echo(session_line(s))


def can_ask() -> bool:
    """A person at a terminal can answer a question (not a key binding's run-shell, not a script)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def open_session(app: App, ref: str, *, detached: bool, yes: bool) -> None:
    """Promote a session; one running interactively in another pane needs ``--yes``, or a "y" at the prompt."""
    args = {"ref": ref, "detached": detached, "yes": yes}
    try:
        item = app.request("open_session", args)
    except InstanceError as exc:
        if yes or "runs interactively" not in str(exc) or not can_ask():
            raise
        click.echo(view.printable(str(exc)))
        if not click.confirm("End it there and continue its conversation in a new instance?", default=False):
            raise InstanceError("left alone") from None
        item = app.request("open_session", args | {"yes": True})
    click.echo(view.instance_line(view.from_wire(item), "promoted to"))


def _session_entry(s: dict[str, Any]) -> list[str]:
    """A menu item that promotes the session (run.sh's ``open-session``); left out unless its id is an id: it
    is the only value in the command, which tmux expands as a format."""
    sid = str(s.get("session_id", ""))
    if not _SESSION_ID.fullmatch(sid):
        return []
    label = "  ↳" + session_line(s).strip().removeprefix(f"#{s.get('n')}")
    command = f"run-shell -b 'bash #{{q:@tmuxclaude-run}} #{{q:pane_id}} #{{q:client_name}} open-session {sid}'"
    return [shown(label), "", command]


def menu_with_sessions(menu_args: Any, instances: list[dict[str, Any]], sessions: list[dict[str, Any]]) -> list[str]:
    """The pick menu: each instance (``menu_args`` of pick.py), the sessions under it, then those under a
    repository only."""
    args: list[str] = []
    for item in instances:
        own = menu_args([item])
        args += own
        if own:
            for s in sessions:
                if s.get("instance_id") == item.get("id"):
                    args += _session_entry(s)
    for s in sessions:
        if not s.get("instance_id"):
            args += _session_entry(s)
    return args
