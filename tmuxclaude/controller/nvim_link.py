"""Each instance's link to its own Neovim: the attach supervisor (attach, and attach again after a restart) and
the routing of what the Lua shim reports (selection, diffs, mentions, opened buffers) to that instance only."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from typing import Any

from tmuxclaude.controller import comments
from tmuxclaude.controller.launch import write_lock
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.errors import InstanceError, NvimError, TmuxClaudeError, WorktreeError
from tmuxclaude.model.states import GLYPHS

__all__ = ["send", "show_error", "start_link", "stop_link"]

log = logging.getLogger(__name__)


def start_link(rt: Runtime, instance_id: str) -> None:
    """(Re)start the supervisor that keeps this instance's Neovim attached."""
    old = rt.nvim_tasks.pop(instance_id, None)
    if old is not None:
        old.cancel()
    rt.nvim_tasks[instance_id] = asyncio.create_task(_supervise(rt, instance_id))


async def stop_link(rt: Runtime, instance_id: str) -> None:
    task = rt.nvim_tasks.pop(instance_id, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    bridge = rt.bridges.pop(instance_id, None)
    if bridge is not None:
        with contextlib.suppress(Exception):
            await bridge.close()


async def _supervise(rt: Runtime, instance_id: str) -> None:
    """Keep this instance's Neovim attached: wait for its socket, attach, and attach again after a restart."""
    from tmuxclaude.adapters.nvim import NvimBridge

    delay = 0.02
    while True:
        inst = rt.registry.get(instance_id)
        server = rt.servers.get(instance_id)
        if inst is None or server is None:
            return
        address = inst.nvim_socket
        if address and (":" in address or os.path.exists(address)):
            try:
                bridge = await NvimBridge.attach(
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
                rt.bridges[instance_id] = bridge
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
                await bridge.client.wait_closed()
                rt.bridges.pop(instance_id, None)
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


async def _on_request(rt: Runtime, instance_id: str, cmd: str, payload: dict[str, Any]) -> Any:
    if rt.commands is None:
        raise NvimError("the controller is not taking commands yet")
    return await rt.commands.from_nvim(instance_id, cmd, payload)


def _on_event(rt: Runtime, instance_id: str, event: dict[str, Any]) -> None:
    server = rt.servers.get(instance_id)
    if server is None:
        return
    kind = event.get("type")
    if kind == "selection":
        server.push_selection(event)
    elif kind == "diff":
        server.diff_event(event)
    elif kind == "preimage" and isinstance(event.get("text"), str):
        rt.edits.on_buffer_preimage(instance_id, str(event.get("filePath", "")), event["text"].encode())
    elif kind == "buffer" and rt.config.multi_instance.auto_start_for_worktree:
        rt.background(_auto_start(rt, instance_id, str(event.get("filePath", ""))))
    elif kind == "mention":
        to = event.get("to")
        try:
            target = rt.registry.find(str(to)) if to else rt.registry.get(instance_id)
        except InstanceError as exc:  # an ambiguous name
            log.warning("mention dropped: %s", exc)
            return
        if target is None or target.id not in rt.servers:
            # A notification has no answer: tell the Neovim that sent it, as an error message.
            text = f"no instance {to!r} (see :ClaudeCodeList)" if target is None else f"{target.name} is not served"
            rt.background(show_error(rt, instance_id, f"tmuxclaude: {text}"))
            return
        line_start = event.get("lineStart")
        line_end = event.get("lineEnd")
        rt.servers[target.id].push_mention(
            str(event.get("filePath", "")),
            line_start if isinstance(line_start, int) else None,
            line_end if isinstance(line_end, int) else None,
        )


async def show_error(rt: Runtime, instance_id: str, text: str) -> None:
    """Show ``text`` in this instance's Neovim as an error message (it stays in :messages)."""
    bridge = rt.bridges.get(instance_id)
    if bridge is None:
        log.warning("%s (no Neovim to show it in)", text)
        return
    with contextlib.suppress(Exception):
        await bridge.client.exec_lua("require('tmuxclaude.util').error(...)", text)


async def _auto_start(rt: Runtime, instance_id: str, path: str) -> None:
    """A file of another worktree was opened in this instance's Neovim: start that worktree's instance."""
    try:
        info = await asyncio.to_thread(rt.git.resolve_worktree, path)
    except WorktreeError:
        return  # not in a git worktree: nothing to start
    if rt.registry.by_worktree(info.root) is not None or rt.commands is None:
        return
    source = rt.registry.get(instance_id)
    client = ClientContext(cwd=info.root, pane=source.nvim_pane if source else "")
    try:
        item = await rt.commands.dispatch("open", {"path": info.root, "detached": True}, client)
    except TmuxClaudeError as exc:
        log.warning("auto-start for %s failed: %s", info.root, exc)
        return
    bridge = rt.bridges.get(instance_id)
    if bridge is not None:
        with contextlib.suppress(Exception):
            await bridge.client.exec_lua("vim.notify(...)", f"tmuxclaude: started instance {item.name} for {info.root}")


async def send(
    rt: Runtime, ref: str | None, file: str, line_start: int | None, line_end: int | None, client: ClientContext
) -> dict[str, Any]:
    """Mention a file (and lines) to an instance's Claude, as :ClaudeCodeSend does."""
    from tmuxclaude.controller.views import find

    inst = find(rt, ref, client)
    path = os.path.abspath(os.path.join(client.cwd, os.path.expanduser(file)))
    if not os.path.exists(path):
        raise InstanceError(f"no such file: {path}")
    server = rt.servers.get(inst.id)
    if server is None:
        raise InstanceError(f"{inst.name} is not being served")
    server.push_mention(path, line_start, line_end)
    return {"name": inst.name, "file": path, "clients": server.clients}
