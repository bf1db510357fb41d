"""Each instance's link to its own Neovim: the attach supervisor (attach, and attach again after a restart) and
the routing of what the Lua shim reports (selection, diffs, mentions, opened buffers) to that instance only.

Neovim is reached through ports only: ``rt.ports.nvim`` attaches (an ``NvimConnector``) and gives an
``NvimPort``; what the shim sends arrives decoded (protocol/nvim_channel.py). No Lua is written here."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from typing import TYPE_CHECKING, Any

from tmuxclaude.controller import comments
from tmuxclaude.controller.launch import write_lock
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.errors import InstanceError, NvimError, TmuxClaudeError, WorktreeError
from tmuxclaude.model.states import GLYPHS
from tmuxclaude.protocol.nvim_channel import (
    BufferEvent,
    DiffEvent,
    Level,
    MentionEvent,
    NvimEvent,
    NvimRequest,
    PreimageEvent,
    SelectionEvent,
)

if TYPE_CHECKING:
    from tmuxclaude.controller.served import ServedInstance

__all__ = ["send", "show_error", "supervise"]

log = logging.getLogger(__name__)


async def supervise(rt: Runtime, served: ServedInstance) -> None:
    """Keep this instance's Neovim attached: wait for its socket, attach, and attach again after a restart. Runs
    as ``served.link`` (controller/served.py owns the task and the attached Neovim)."""
    instance_id = served.instance_id
    server = served.server
    delay = 0.02
    while True:
        inst = rt.registry.get(instance_id)
        if inst is None or not served.current:
            return
        address = inst.nvim_socket
        if address:
            try:
                bridge = await rt.ports.nvim.attach(
                    address,
                    instance_id=inst.id,
                    name=inst.name,
                    worktree=inst.worktree,
                    on_event=functools.partial(_on_event, rt, instance_id),
                    on_request=functools.partial(_on_request, rt, instance_id),
                    debounce_ms=rt.config.ide.debounce_ms,
                    status=(inst.state.value, GLYPHS[inst.state]),
                )
            except (NvimError, OSError) as exc:
                log.debug("attach to %s failed: %s", address, exc)
            else:
                served.nvim = bridge
                server.set_nvim(bridge)
                comments.push_to_nvim(rt, instance_id)
                current = rt.registry.get(instance_id)
                if current is not None and current.state is not inst.state:
                    bridge.push_status(current.state.value, GLYPHS[current.state])  # changed while attaching
                current = rt.registry.get(instance_id)
                if current is not None and current.nvim_pid != bridge.pid:
                    current = rt.update(current, nvim_pid=bridge.pid)
                    with contextlib.suppress(TmuxClaudeError):
                        write_lock(rt, current)
                rt.event(f"{inst.name}: Neovim attached (pid {bridge.pid})")
                await bridge.wait_closed()
                served.nvim = None
                server.nvim_lost()
                rt.event(f"{inst.name}: Neovim detached")
                delay = 0.02
        if delay < 1.0:
            # A Neovim just starting (or restarting) is found within milliseconds...
            await asyncio.sleep(delay)
            delay *= 2
        else:
            # ...after that every waiting instance shares one tick a second: no per-instance polling.
            await rt.ticker.wait()


async def _on_request(rt: Runtime, instance_id: str, request: NvimRequest) -> Any:
    return await rt.nvim_dispatch(instance_id, request.cmd, request.payload())


def _on_event(rt: Runtime, instance_id: str, event: NvimEvent) -> None:
    server = rt.server(instance_id)
    if server is None:
        return
    if isinstance(event, SelectionEvent):
        server.push_selection(event.wire())
    elif isinstance(event, DiffEvent):
        server.diff_event(event.wire())
    elif isinstance(event, PreimageEvent):
        rt.edits.on_buffer_preimage(instance_id, event.file_path, event.text.encode())
    elif isinstance(event, BufferEvent):
        if rt.config.multi_instance.auto_start_for_worktree:
            rt.background(_auto_start(rt, instance_id, event.file_path))
    elif isinstance(event, MentionEvent):
        _mention(rt, instance_id, event)


def _mention(rt: Runtime, instance_id: str, event: MentionEvent) -> None:
    try:
        target = rt.registry.find(event.to) if event.to else rt.registry.get(instance_id)
    except InstanceError as exc:  # an ambiguous name
        show_error(rt, instance_id, f"tmuxclaude: {exc}")
        return
    target_server = rt.server(target.id) if target is not None else None
    if target is None or target_server is None:
        # A notification has no answer: tell the Neovim that sent it, as an error message.
        text = f"no instance {event.to!r} (see :ClaudeCodeList)" if target is None else f"{target.name} is not served"
        show_error(rt, instance_id, f"tmuxclaude: {text}")
        return
    target_server.push_mention(event.file_path, event.line_start, event.line_end)


def show_error(rt: Runtime, instance_id: str, text: str) -> None:
    """Show ``text`` in this instance's Neovim as an error message (it stays in :messages)."""
    bridge = rt.nvim(instance_id)
    if bridge is None:
        log.warning("%s (no Neovim to show it in)", text)
        return
    bridge.show_error(text)


async def _auto_start(rt: Runtime, instance_id: str, path: str) -> None:
    """A file of another worktree was opened in this instance's Neovim: start that worktree's instance."""
    try:
        info = await asyncio.to_thread(rt.ports.git.resolve_worktree, path)
    except WorktreeError:
        return  # not in a git worktree: nothing to start
    if rt.registry.by_worktree(info.root) is not None:
        return
    source = rt.registry.get(instance_id)
    client = ClientContext(cwd=info.root, pane=source.nvim_pane if source else "")
    try:
        item = await rt.dispatch("open", {"path": info.root, "detached": True}, client)
    except TmuxClaudeError as exc:
        log.warning("auto-start for %s failed: %s", info.root, exc)
        return
    bridge = rt.nvim(instance_id)
    if bridge is not None:
        bridge.notify(f"tmuxclaude: started instance {item['name']} for {info.root}", Level.INFO)


async def send(
    rt: Runtime, ref: str | None, file: str, line_start: int | None, line_end: int | None, client: ClientContext
) -> dict[str, Any]:
    """Mention a file (and lines) to an instance's Claude, as :ClaudeCodeSend does."""
    from tmuxclaude.controller.views import find

    inst = await find(rt, ref, client)
    path = os.path.abspath(os.path.join(client.cwd, os.path.expanduser(file)))
    if not os.path.exists(path):
        raise InstanceError(f"no such file: {path}")
    server = rt.server(inst.id)
    if server is None:
        raise InstanceError(f"{inst.name} is not being served")
    server.push_mention(path, line_start, line_end)
    return {"name": inst.name, "file": path, "clients": server.clients}
