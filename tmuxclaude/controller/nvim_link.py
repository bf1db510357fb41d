"""Each instance's link to its own Neovim: the attach supervisor (attach, and attach again after a restart) and
the routing of what the Lua shim reports (selection, diffs, mentions, opened buffers) to that instance only."""

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

if TYPE_CHECKING:
    from tmuxclaude.controller.served import ServedInstance

__all__ = ["send", "show_error", "supervise"]

log = logging.getLogger(__name__)


async def supervise(rt: Runtime, served: ServedInstance) -> None:
    """Keep this instance's Neovim attached: wait for its socket, attach, and attach again after a restart. Runs
    as ``served.link`` (controller/served.py owns the task and the attached Neovim)."""
    from tmuxclaude.adapters.nvim import NvimBridge

    instance_id = served.instance_id
    server = served.server
    delay = 0.02
    while True:
        inst = rt.registry.get(instance_id)
        if inst is None or not served.current:
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
                await bridge.client.wait_closed()
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


async def _on_request(rt: Runtime, instance_id: str, cmd: str, payload: dict[str, Any]) -> Any:
    return await rt.nvim_dispatch(instance_id, cmd, payload)


def _on_event(rt: Runtime, instance_id: str, event: dict[str, Any]) -> None:
    served = rt.served.get(instance_id)
    if served is None:
        return
    server = served.server
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
        if target is None or target.id not in rt.served:
            # A notification has no answer: tell the Neovim that sent it, as an error message.
            text = f"no instance {to!r} (see :ClaudeCodeList)" if target is None else f"{target.name} is not served"
            rt.background(show_error(rt, instance_id, f"tmuxclaude: {text}"))
            return
        line_start = event.get("lineStart")
        line_end = event.get("lineEnd")
        rt.served[target.id].server.push_mention(
            str(event.get("filePath", "")),
            line_start if isinstance(line_start, int) else None,
            line_end if isinstance(line_end, int) else None,
        )


async def show_error(rt: Runtime, instance_id: str, text: str) -> None:
    """Show ``text`` in this instance's Neovim as an error message (it stays in :messages)."""
    bridge = rt.nvim(instance_id)
    if bridge is None:
        log.warning("%s (no Neovim to show it in)", text)
        return
    with contextlib.suppress(Exception):
        await bridge.client.exec_lua("require('tmuxclaude.util').error(...)", text)


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
        with contextlib.suppress(Exception):
            await bridge.client.exec_lua(
                "vim.notify(...)", f"tmuxclaude: started instance {item['name']} for {info.root}"
            )


async def send(
    rt: Runtime, ref: str | None, file: str, line_start: int | None, line_end: int | None, client: ClientContext
) -> dict[str, Any]:
    """Mention a file (and lines) to an instance's Claude, as :ClaudeCodeSend does."""
    from tmuxclaude.controller.views import find

    inst = find(rt, ref, client)
    path = os.path.abspath(os.path.join(client.cwd, os.path.expanduser(file)))
    if not os.path.exists(path):
        raise InstanceError(f"no such file: {path}")
    served = rt.served.get(inst.id)
    if served is None:
        raise InstanceError(f"{inst.name} is not being served")
    served.server.push_mention(path, line_start, line_end)
    return {"name": inst.name, "file": path, "clients": served.server.clients}
