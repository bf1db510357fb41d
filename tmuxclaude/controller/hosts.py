"""Other hosts, from the local controller: one link per ``[hosts.NAME]`` (a shared ssh connection and one
long-lived ``tmuxclaude watch --json`` stream over it), the hosts' last known instances, and the commands that
act on a ``HOST:NAME`` instance by running that host's own tmuxclaude.

A link that breaks marks its host unreachable (last known instances kept, the reason in one line) and is tried
again with backoff; nothing local waits on it. What a host sends is decoded by ``protocol.watch`` and escaped
by the ports' adapters before it reaches tmux; it never reaches a local shell. The ssh links and the local view
windows are ports (``rt.ports.ssh``, ``rt.ports.remote_windows``: controller/ports.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import Any

from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.errors import HostError, InstanceError, TmuxClaudeError
from tmuxclaude.model.config import Config
from tmuxclaude.model.hosts import HostConfig, HostRef, HostStatus, last_line, remote_argv, split_ref, valid_branch
from tmuxclaude.model.instance import InstanceState
from tmuxclaude.model.states import GLYPHS
from tmuxclaude.protocol import watch

__all__ = ["HostLink", "Hosts", "with_remote"]

log = logging.getLogger(__name__)

FIRST_DELAY = 0.5
MAX_DELAY = 5.0
"""Backoff between attempts to reach a host: doubled from FIRST_DELAY up to this, reset by a working stream."""
COMMAND_TIMEOUT = 30.0
NEW_TIMEOUT = 180.0
SNAPSHOT_INTERVAL = 0.1
"""A host's snapshots are applied at most ten a second: one that floods its stream (each snapshot may run tmux
commands here) makes its own list lag, not the controller."""
NOTIFY_BUDGET = (3, 5.0)
"""At most this many waiting notifications (a message and a bell: tmux commands) per host in this many seconds."""


class HostLink:
    """One host: its connection, its stream, and what it last said."""

    def __init__(self, rt: Runtime, config: HostConfig) -> None:
        self.rt = rt
        self.config = config
        self.ssh = rt.ports.ssh(config)
        self.status = HostStatus(config.name)
        self.first = asyncio.Event()
        """Set once the first attempt has ended either way (``ls`` waits for it, bounded)."""
        self.changed = asyncio.Event()
        self.proc: asyncio.subprocess.Process | None = None
        self.task: asyncio.Task[None] | None = None
        self.snapshots = 0
        self.notified: list[float] = []
        """When the last waiting notifications of this host went out (NOTIFY_BUDGET)."""

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"host-{self.config.name}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        self._kill()
        await asyncio.to_thread(self.ssh.exit_master)

    def _kill(self) -> None:
        """End the stream. Its ssh is a client of the shared connection, which holds the stream's pipes until the
        session there ends: closing our end of its stdin is what ends that session (the host's ``watch`` leaves
        on EOF), killing the client alone would leave it open."""
        if self.proc is None:
            return
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    async def _run(self) -> None:
        delay = FIRST_DELAY
        while True:
            try:
                await asyncio.to_thread(self.ssh.start_master)
                if await self._stream():
                    delay = FIRST_DELAY
            except TmuxClaudeError as exc:
                self._down(str(exc).removeprefix(f"host {self.config.name}: "))
            except OSError as exc:
                self._down(f"cannot run ssh: {exc.strerror or exc}")
            except Exception:
                # The link must outlive any surprise: it is the only way this host's view comes back.
                log.exception("host %s: link failed", self.config.name)
                self._down("internal error (see the controller log)")
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)

    async def _stream(self) -> bool:
        """Read the host's watch stream until it ends; True when it delivered at least one snapshot."""
        line = remote_argv(self.config, ["watch", "--json"])
        self.proc = await asyncio.create_subprocess_exec(
            *self.ssh.command_argv(line), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, limit=watch.MAX_LINE + 2,
        )  # fmt: skip
        proc = self.proc
        assert proc.stdout is not None and proc.stderr is not None
        errors = asyncio.ensure_future(proc.stderr.read(8192))
        got = False
        reason = ""
        try:
            while True:
                try:
                    raw = await proc.stdout.readline()
                except ValueError:
                    reason = "stream line too long"
                    break
                if not raw:
                    break
                try:
                    snap = watch.decode(raw)
                except ValueError as exc:
                    reason = str(exc)
                    break
                got = True
                self._update(snap)
                await asyncio.sleep(SNAPSHOT_INTERVAL)  # pacing: the rest waits in the pipe (and on the host)
        finally:
            self._kill()
            code = -1
            with contextlib.suppress(TimeoutError):
                code = await asyncio.wait_for(proc.wait(), 3.0)
            err = b""
            with contextlib.suppress(Exception):
                err = await asyncio.wait_for(errors, 1.0)
            errors.cancel()
        if not reason:
            said = last_line(err, "").removeprefix("tmuxclaude: ")
            reason = said or ("connection lost" if code == 255 else f"stream ended (exit {code})")
        self._down(reason)
        return got

    def _update(self, snap: watch.Snapshot) -> None:
        before = {i["name"]: i["state"] for i in self.status.instances}
        self.status.instances = [
            {"name": i.name, "branch": i.branch, "worktree": i.worktree, "repo": i.repo, "port": i.port,
             "state": i.state} for i in snap.instances
        ]  # fmt: skip
        self.status.home, self.status.version = snap.home, snap.version
        was_reachable = self.status.reachable
        self.status.reachable, self.status.reason = True, ""
        self.snapshots += 1
        after = {i["name"]: i["state"] for i in self.status.instances}
        if not was_reachable:
            self.rt.event(f"host {self.config.name} reachable ({len(after)} instance(s))")
        now = time.monotonic()
        count, window = NOTIFY_BUDGET
        self.notified = [t for t in self.notified if now - t < window]
        for name, state in after.items():
            if state == "waiting" and before.get(name) != "waiting" and len(self.notified) < count:
                self.notified.append(now)
                notify_waiting(self.rt, self.config.name, name)
        if before != after:
            tag_views(self.rt, self.config.name, after)
        self._publish()

    def _down(self, reason: str) -> None:
        reason = reason.replace("\n", " ")[:200]
        if self.status.reachable or self.status.reason != reason:
            self.rt.event(f"host {self.config.name} unreachable: {reason}")
        self.status.reachable, self.status.reason = False, reason
        self._publish()

    def _publish(self) -> None:
        from tmuxclaude.controller.status import publish_summary

        self.first.set()
        self.changed.set()
        self.changed = asyncio.Event()
        publish_summary(self.rt)

    # -- commands on this host ---------------------------------------------------------------------------------

    async def settled(self) -> None:
        """Until the first attempt to reach the host has ended (right after start), at most its connect timeout."""
        if not self.first.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.first.wait(), self.config.connect_timeout + 1)

    def require_reachable(self) -> None:
        if not self.status.reachable:
            raise HostError(f"host {self.config.name} is unreachable: {self.status.reason}")

    async def run(self, args: list[str], *, cwd: str = "", timeout: float = COMMAND_TIMEOUT) -> str:
        """The host's tmuxclaude with ``args``; its stdout, or HostError with its one-line error."""
        await self.settled()
        self.require_reachable()
        out = await self.ssh.run_async(remote_argv(self.config, args, cwd=cwd), timeout=timeout)
        if out.returncode != 0:
            said = last_line(out.stderr or out.stdout, f"exit {out.returncode}").removeprefix("tmuxclaude: ")
            raise HostError(f"{self.config.name}: {said}")
        return out.stdout


class Hosts:
    """Every configured host's link; the controller holds one (``rt.hosts``)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.links: dict[str, HostLink] = {}

    def apply(self, config: Config) -> None:
        """Start links for new hosts, restart changed ones, stop removed ones (config reload)."""
        for name in list(self.links):
            if config.hosts.get(name) != self.links[name].config:
                self.rt.background(self.links.pop(name).stop())
        for name, host in config.hosts.items():
            if name not in self.links:
                link = HostLink(self.rt, host)
                self.links[name] = link
                link.start()

    async def stop(self) -> None:
        links, self.links = list(self.links.values()), {}
        await asyncio.gather(*(link.stop() for link in links), return_exceptions=True)

    def states(self) -> list[InstanceState]:
        out = []
        for link in self.links.values():
            for item in link.status.instances:
                with contextlib.suppress(ValueError):
                    out.append(InstanceState(item["state"]))
        return out

    async def ready(self) -> None:
        """Until every host's first attempt has ended, at most its connect timeout (``ls`` right after start)."""
        pending = [link for link in self.links.values() if not link.first.is_set()]
        if pending:
            limit = max(link.config.connect_timeout for link in pending)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(link.first.wait() for link in pending)), limit)

    def items(self, start: int) -> list[dict[str, Any]]:
        """The hosts' instances as ``ls`` items, numbered on from ``start``."""
        out: list[dict[str, Any]] = []
        for link in self.links.values():
            for item in link.status.instances:
                out.append({
                    **item, "n": start + len(out) + 1, "name": f"{link.config.name}:{item['name']}",
                    "host": link.config.name, "remote_name": item["name"], "home": link.status.home,
                    "unreachable": None if link.status.reachable else link.status.reason, "active": False,
                })  # fmt: skip
        return out

    def link(self, host: str) -> HostLink:
        link = self.links.get(host)
        if link is None:
            raise HostError(f"no host {host!r} in the config ([hosts.{host}])")
        return link


def with_remote(rt: Runtime, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``ls``: the local items (``"host": null``), then every host's, numbered on."""
    for item in items:
        item.setdefault("host", None)
    if rt.hosts is None:
        return items
    hosts: Hosts = rt.hosts
    return [*items, *hosts.items(len(items))]


def _view_ref(rt: Runtime, client: ClientContext) -> str:
    """The ``HOST:NAME`` of the local window the caller's pane is in, when it shows a remote instance."""
    return rt.ports.remote_windows.view_of_pane(client.pane) if client.pane else ""


async def resolve(rt: Runtime, ref: str | None, client: ClientContext) -> tuple[HostLink, dict[str, Any]] | None:
    """The remote instance ``ref`` means (``HOST:NAME``, or a number past the local ones, or, without a ref, the
    remote instance the caller's window shows); None when it means a local one."""
    hosts: Hosts | None = rt.hosts
    if hosts is None or not hosts.links:
        return None
    if not ref:
        ref = _view_ref(rt, client)
        if not ref:
            return None
    target: HostRef | None = split_ref(ref, hosts.links)
    if target is None:
        if not ref.isdigit() or int(ref) <= len(rt.registry):
            return None
        await hosts.ready()
        for item in hosts.items(len(rt.registry)):
            if item["n"] == int(ref):
                return hosts.link(item["host"]), item
        return None
    link = hosts.link(target.host)
    await link.settled()
    for item in hosts.items(0):
        if item["host"] == target.host and item["remote_name"] == target.name:
            return link, item
    link.require_reachable()
    raise InstanceError(f"no instance {target.name!r} on host {target.host} (see `tmuxclaude ls`)")


def _remote_item(link: HostLink, item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**item, "name": f"{link.config.name}:{item['remote_name']}", **extra}


async def switch(rt: Runtime, link: HostLink, item: dict[str, Any], client: ClientContext) -> dict[str, Any]:
    """Show the remote instance in a local window (one per remote instance, reused): ssh -t to the host's tmux,
    attached to that instance's window. Closing it ends the ssh client only."""
    label = f"{link.config.name}:{item['remote_name']}"
    window = _find_view(rt, label)
    if not window:
        await link.settled()
        link.require_reachable()
        cmd = link.ssh.command_argv(remote_argv(link.config, ["attach", "--", item["remote_name"]]), tty=True)
        session = ""
        if client.pane:
            info = rt.ports.tmux.pane_info(client.pane)
            session = info["session_id"] if info else ""
        if not session:
            session = rt.ports.remote_windows.first_session()
        glyph = _glyph(rt, str(item.get("state", "")))
        window = rt.ports.remote_windows.create_view(session, label, cmd, glyph=glyph)
    rt.ports.tmux.select(window, None, client.pane or None)
    return _remote_item(link, item, window_id=window)


def _find_view(rt: Runtime, label: str) -> str:
    return next((window for window, tag in rt.ports.remote_windows.views() if tag == label), "")


def _glyph(rt: Runtime, state: str) -> str:
    if not rt.config.multi_instance.instance_indicator:
        return ""
    with contextlib.suppress(ValueError):
        return GLYPHS[InstanceState(state)]
    return ""


def tag_views(rt: Runtime, host: str, states: dict[str, str]) -> None:
    """The glyph of each local window showing one of ``host``'s instances, for its current state; the window of
    an instance the host no longer has is closed (only the view: it showed nothing any more)."""
    for window, tag in rt.ports.remote_windows.views():
        h, _, name = tag.partition(":")
        if h != host:
            continue
        if name in states:
            rt.ports.remote_windows.set_glyph(window, _glyph(rt, states[name]))
        else:
            rt.ports.tmux.kill_window(window)


def notify_waiting(rt: Runtime, host: str, name: str) -> None:
    """Like a local instance: a message on every client and a bell (in its local window when there is one,
    else on each client's terminal)."""
    label = f"{host}:{name}"
    if rt.config.status.message_on_waiting:
        rt.ports.tmux.message_clients(f"tmuxclaude: {label} is waiting for input")
    if not rt.config.status.bell_on_waiting:
        return
    window = _find_view(rt, label)
    ttys = [rt.ports.tmux.pane_tty(window)] if window else rt.ports.remote_windows.client_ttys()
    for tty in ttys:
        if tty.startswith("/dev/"):
            with contextlib.suppress(OSError), open(tty, "w") as f:
                f.write("\a")


async def kill(link: HostLink, item: dict[str, Any], *, remove_worktree: bool, force: bool) -> dict[str, Any]:
    flags = [*(["--remove-worktree"] if remove_worktree else []), *(["--force"] if force else [])]
    out = await link.run(["kill", *flags, "--", item["remote_name"]])
    return _remote_item(link, item, worktree_removed="(worktree removed)" in out)


async def pause(link: HostLink, item: dict[str, Any]) -> dict[str, Any]:
    await link.run(["pause", "--", item["remote_name"]])
    return _remote_item(link, item)


async def resume(link: HostLink, item: dict[str, Any]) -> dict[str, Any]:
    await link.run(["resume", "--", item["remote_name"]])
    return _remote_item(link, item)


async def send(link: HostLink, item: dict[str, Any], file: str, start: Any, end: Any) -> dict[str, Any]:
    """``send --to HOST:NAME FILE``: FILE is a path on that host (relative to the instance's worktree)."""
    target = file if start is None else f"{file}:{int(start) + 1}-{int(end if end is not None else start) + 1}"
    await link.run(["send", f"--to={item['remote_name']}", "--", target], cwd=str(item["worktree"]))
    return _remote_item(link, item, file=file)


_STARTED = re.compile(r"^started (?P<name>.+?): ")


async def new(rt: Runtime, host: str, branch: str, repo: str, client: ClientContext, *, focus: bool) -> dict[str, Any]:
    """``new BRANCH --host NAME [--repo PATH]``: the worktree and instance are made there, by its tmuxclaude."""
    hosts: Hosts | None = rt.hosts
    if hosts is None:
        raise HostError(f"no host {host!r} in the config ([hosts.{host}])")
    link = hosts.link(host)
    if not valid_branch(branch):
        raise InstanceError(f"not a valid branch name: {branch!r}")
    where = repo or link.config.repo
    if not where:
        raise HostError(f"host {host}: no repository to use (pass --repo PATH or set [hosts.{host}] repo)")
    changed = link.changed
    out = await link.run(["new", "-d", "--", branch], cwd=where, timeout=NEW_TIMEOUT)
    match = _STARTED.match(out.strip().splitlines()[0] if out.strip() else "")
    name = match["name"] if match else branch
    # The host's controller pushes the new instance on its stream right after answering: wait for it (briefly).
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 3.0
    while True:
        found = [i for i in hosts.items(len(rt.registry)) if i["host"] == host and i["remote_name"] == name]
        if found or loop.time() > deadline:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), max(0.0, deadline - loop.time()))
        changed = link.changed
    if not found:
        return {"name": f"{host}:{name}", "host": host, "worktree": where, "port": "?"}
    if focus:
        await switch(rt, link, found[0], client)
    return _remote_item(link, found[0])


def next_remote_waiting(rt: Runtime) -> tuple[HostLink, dict[str, Any]] | None:
    hosts: Hosts | None = rt.hosts
    if hosts is None:
        return None
    for item in hosts.items(len(rt.registry)):
        if item["state"] == "waiting" and not item["unreachable"]:
            return hosts.link(item["host"]), item
    return None
