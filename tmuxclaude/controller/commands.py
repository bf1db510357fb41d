"""The one command table: every command the control socket takes, and the subset Neovim's ``:ClaudeCode*``
commands send over their RPC channel, each named once with its handler.

A handler raises :class:`~tmuxclaude.errors.TmuxClaudeError` on bad input; the daemon turns that into an error
reply, the Neovim RPC boundary into an error ``rpcrequest()`` raises (the shim shows it as an error message).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tmuxclaude import __version__
from tmuxclaude.controller import (
    claude_sessions,
    comments,
    hosts,
    nvim_link,
    pausing,
    reconcile,
    spawn,
    teardown,
    views,
)
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.errors import InstanceError, TmuxClaudeError
from tmuxclaude.model.view import ls_line

__all__ = ["Command", "Commands", "NvimForm"]

Handler = Callable[[Runtime, dict[str, Any], ClientContext], Awaitable[Any]]


@dataclass(frozen=True)
class NvimForm:
    """How a Neovim command asks for a command of the table, and how the answer reads there."""

    args: Callable[[str, dict[str, Any]], dict[str, Any]]
    """(instance id of the asking Neovim, its payload ``{cmd, arg, path}``) -> the command's args."""
    text: Callable[[Any], Any]
    """The answer Neovim gets: the text it shows, or data the shim reads (the picker's instances)."""


@dataclass(frozen=True)
class Command:
    run: Handler
    nvim: tuple[str, NvimForm] | None = None
    """The name Neovim's shim sends for this command, and its form (None: not offered to Neovim)."""


def _ref(args: dict[str, Any]) -> str | None:
    ref = args.get("ref")
    return str(ref) if ref else None


async def _ls(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    # ls shows what is there: closed windows are noticed first, not two seconds later.
    await reconcile.reconcile(rt)
    items = views.list_instances(rt, client, stats=bool(args.get("stats")))
    if rt.hosts is not None and not args.get("cached"):
        await rt.hosts.ready()  # only right after start: at most the hosts' connect timeout
    return hosts.with_remote(rt, items)


async def _new(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    if args.get("host"):
        return await hosts.new(rt, str(args["host"]), str(args["branch"]), str(args.get("repo") or ""), client,
                               focus=not args.get("detached"))  # fmt: skip
    return await spawn.new(rt, str(args["branch"]), args.get("base"), client, focus=not args.get("detached"))


async def _open(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    return await spawn.open_worktree(
        rt, str(args.get("path") or ""), client, str(args.get("nvim_server") or ""), focus=not args.get("detached")
    )


async def _sessions(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    return await claude_sessions.list_sessions(rt)


async def _open_session(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    return await claude_sessions.promote(
        rt, str(args.get("ref") or ""), client, yes=bool(args.get("yes")), focus=not args.get("detached")
    )


async def _switch(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    if remote := await hosts.resolve(rt, str(args["ref"]), client):
        return await hosts.switch(rt, *remote, client)
    return await views.switch(rt, str(args["ref"]), client)


async def _kill(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    if remote := await hosts.resolve(rt, _ref(args), client):
        return await hosts.kill(*remote, remove_worktree=bool(args.get("remove_worktree")),
                                force=bool(args.get("force")))  # fmt: skip
    return await teardown.kill(
        rt, _ref(args), client, remove_worktree=bool(args.get("remove_worktree")), force=bool(args.get("force"))
    )


async def _kill_all(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    return await teardown.kill_all(rt)


async def _send(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    if remote := await hosts.resolve(rt, args.get("to"), client):
        return await hosts.send(*remote, str(args["file"]), args.get("line_start"), args.get("line_end"))
    return await nvim_link.send(rt, args.get("to"), str(args["file"]), args.get("line_start"), args.get("line_end"),
                                client)  # fmt: skip


async def _gc(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    return await reconcile.gc(rt)


async def _pause(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    if remote := await hosts.resolve(rt, _ref(args), client):
        return await hosts.pause(*remote)
    return await pausing.pause(rt, _ref(args), client)


async def _resume(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    if remote := await hosts.resolve(rt, _ref(args), client):
        return await hosts.resume(*remote)
    return await pausing.resume(rt, _ref(args), client)


async def _restore(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    return await reconcile.restore(rt, client)


async def _next_waiting(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    try:
        return views.next_waiting(rt, client)
    except InstanceError:
        remote = hosts.next_remote_waiting(rt)
        if remote is None:
            raise
        return await hosts.switch(rt, *remote, client)


async def _ping(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    return {"pid": os.getpid(), "version": __version__}


async def _status(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    return {
        "pid": os.getpid(),
        "version": __version__,
        "uptime": round(rt.ports.clock.time() - rt.started, 1),
        "tmux_socket": rt.ports.paths.tmux_socket,
        "instances": len(rt.registry),
        "servers": {
            iid: {
                "port": s.port,
                "clients": s.clients,
                "client_pids": s.client_pids(),
                "connects": s.connects,
                "nvim": s.nvim is not None,
                "refused": dict(s.refused),
                "calls": s.tool_log[-40:],
            }
            for iid, s in ((iid, served.server) for iid, served in rt.served.items())
        },
        "events": rt.events[-20:],
    }


async def _review(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    """What an instance's Claude changed (its Neovim renders the diffs): ``{instance, scope: turn|session}``."""
    inst = rt.registry.get(str(args.get("instance") or ""))
    if inst is None:
        raise TmuxClaudeError("review: no such instance")
    return rt.edits.review(inst.id, "session" if args.get("scope") == "session" else "turn", root=inst.worktree)


async def _comments(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    return await comments.comments(rt, args)


async def _review_send(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    inst = rt.registry.get(str(args.get("instance") or "")) or await views.find(rt, _ref(args), client)
    return await comments.review_send(rt, inst)


async def _deny_reason(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    return await comments.deny_reason(rt, args)


async def _send_terminal(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    inst = rt.registry.get(str(args.get("instance") or "")) or await views.find(rt, _ref(args), client)
    return await comments.send_terminal(rt, inst, str(args.get("pane") or ""))


async def _panes(rt: Runtime, args: dict[str, Any], client: ClientContext) -> Any:
    inst = rt.registry.get(str(args.get("instance") or "")) or await views.find(rt, _ref(args), client)
    return await comments.panes(rt, inst)


def _comment_args(iid: str, p: dict[str, Any]) -> dict[str, Any]:
    keys = ("action", "id", "file", "line1", "line2", "text", "quoted", "side")
    return {**{k: p.get(k) for k in keys}, "instance": iid}


def _deny_args(iid: str, p: dict[str, Any]) -> dict[str, Any]:
    return {"instance": iid, "file": p.get("file"), "reason": p.get("arg") or ""}


def _message(answer: Any) -> str:
    return str(answer.get("message") or "")


def _sent_terminal(item: Any) -> str:
    return f"sent {item['lines']} lines of {item['pane']} to {item['name']}"


def _data(value: Any) -> Any:
    """The answer as it is (a list the Neovim side renders itself)."""
    return value


def _lines(items: Any) -> str:
    return "\n".join(ls_line(item) for item in items) or "no instances"


def _name(item: Any) -> str:
    return str(item["name"])


def _picker_items(items: Any) -> list[dict[str, Any]]:
    """What :ClaudeCodeSwitch's picker and name completion need of each instance."""
    keys = ("n", "name", "branch", "state", "port", "active")
    return [{k: item.get(k) for k in keys} for item in items]


TABLE: dict[str, Command] = {
    "ping": Command(_ping),
    "status": Command(_status),
    "ls": Command(_ls, nvim=("list", NvimForm(lambda iid, p: {}, _lines))),
    "instances": Command(_ls, nvim=("instances", NvimForm(lambda iid, p: {}, _picker_items))),
    "new": Command(_new),
    "open": Command(_open, nvim=("open", NvimForm(lambda iid, p: {"path": p.get("path") or ""}, _name))),
    "sessions": Command(_sessions),
    "open_session": Command(_open_session),
    "switch": Command(_switch, nvim=("switch", NvimForm(lambda iid, p: {"ref": str(p.get("arg") or "")}, _name))),
    "kill": Command(_kill, nvim=("kill", NvimForm(lambda iid, p: {"ref": p.get("arg") or iid}, _name))),
    "kill_all": Command(
        _kill_all, nvim=("kill_all", NvimForm(lambda iid, p: {}, lambda names: f"killed {len(names)}"))
    ),
    "send": Command(_send),
    "gc": Command(_gc),
    "pause": Command(_pause),
    "resume": Command(
        _resume,
        nvim=("resume", NvimForm(lambda iid, p: {"ref": p.get("arg") or iid}, lambda i: f"resumed {i['name']}")),
    ),
    "restore": Command(_restore),
    "next_waiting": Command(_next_waiting),
    "review": Command(
        _review, nvim=("review", NvimForm(lambda iid, p: {"instance": iid, "scope": p.get("arg") or "turn"}, _data))
    ),
    "comments": Command(_comments, nvim=("comments", NvimForm(_comment_args, _data))),
    "review_send": Command(_review_send, nvim=("review_send", NvimForm(lambda iid, p: {"instance": iid}, _message))),
    "deny_reason": Command(_deny_reason, nvim=("deny_reason", NvimForm(_deny_args, _message))),
    "panes": Command(_panes, nvim=("panes", NvimForm(lambda iid, p: {"instance": iid}, _data))),
    "send_terminal": Command(
        _send_terminal,
        nvim=("send_terminal", NvimForm(lambda iid, p: {"instance": iid, "pane": p.get("arg") or ""}, _sent_terminal)),
    ),
}
"""Every command, by the name the control socket uses (``stop`` is the daemon's own: see ``Commands``)."""

ALIASES = {"list": "ls"}

NO_RELOAD = frozenset({"ping", "status", "stop"})
"""Commands that answer even when config.toml is broken (they never read it)."""


class Commands:
    """The table bound to one runtime, for the daemon (control socket) and the Neovim links alike."""

    def __init__(self, rt: Runtime, *, reload_config: Callable[[], None], stop: Callable[[], None]) -> None:
        self.rt = rt
        self._reload_config = reload_config
        self._stop = stop
        self._by_nvim_name = {c.nvim[0]: (name, c.nvim[1]) for name, c in TABLE.items() if c.nvim is not None}

    async def dispatch(self, cmd: str, args: dict[str, Any], client: ClientContext) -> Any:
        cmd = ALIASES.get(cmd, cmd)
        if cmd not in NO_RELOAD:
            self._reload_config()
        if cmd == "stop":
            asyncio.get_running_loop().call_soon(self._stop)
            return {"stopping": True}
        command = TABLE.get(cmd)
        if command is None:
            raise TmuxClaudeError(f"unknown command {cmd!r}")
        return await command.run(self.rt, args, client)

    async def from_nvim(self, instance_id: str, cmd: str, payload: dict[str, Any]) -> Any:
        """A ``:ClaudeCode*`` command from instance ``instance_id``'s Neovim; the answer is the text it shows."""
        found = self._by_nvim_name.get(cmd)
        if found is None:
            raise TmuxClaudeError(f"unknown command {cmd!r}")
        name, form = found
        inst = self.rt.registry.get(instance_id)
        client = ClientContext(cwd=inst.worktree if inst else os.getcwd(), pane=inst.nvim_pane if inst else "")
        args = form.args(instance_id, payload)
        if name == "open" and not args.get("path"):
            args["path"] = client.cwd
        # Not in the RPC handler's own task: killing this Neovim's instance closes its link, which cancels the
        # handler; the kill itself must run to the end regardless (shield), only its answer is lost.
        task = self.rt.background(self.dispatch(name, args, client))
        return form.text(await asyncio.shield(task))
