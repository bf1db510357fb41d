"""Serving one instance: its IDE WebSocket server on its port, its hook files and its lock file, and stopping
all of that again (the Neovim link included)."""

from __future__ import annotations

import functools
from typing import Any

from tmuxclaude.controller.exits import on_pane_http
from tmuxclaude.controller.launch import remove_hook_files, write_hook_files, write_lock
from tmuxclaude.controller.nvim_link import start_link, stop_link
from tmuxclaude.controller.ports import IdeServerPort, Listener
from tmuxclaude.controller.runtime import Runtime
from tmuxclaude.model.instance import Instance

__all__ = ["reserve_free_port", "serve", "serve_socket", "stop_serving"]


def reserve_free_port(rt: Runtime) -> Listener:
    """Bind a free port of the configured range, skipping every port a lock file or a record names."""
    return rt.net.bind_free_port(rt.config.ports.min, rt.config.ports.max, rt.locks.ports() | rt.registry.ports())


async def serve_socket(rt: Runtime, inst: Instance, sock: Listener) -> IdeServerPort:
    """Start the IDE server on ``sock`` (bound: the bind is the port reservation), then the hook files, then the
    lock file. On failure nothing is left: the socket is closed, files removed."""
    server = rt.ide_server(inst.id, inst.token, rt.config.ide)
    server.on_http = functools.partial(_while_served, rt, inst.id, server)
    try:
        await server.start(sock)
    except BaseException:
        sock.close()
        raise
    rt.servers[inst.id] = server
    try:
        write_hook_files(rt, inst)
        # The lock file goes last: a reader must never find a lock whose port is not yet served.
        write_lock(rt, inst)
    except BaseException:
        await server.close()
        rt.servers.pop(inst.id, None)
        remove_hook_files(rt, inst.id)
        raise
    return server


def _while_served(rt: Runtime, instance_id: str, server: IdeServerPort, connection: Any, request: Any) -> Any:
    """Hook and launcher requests count only while this very server serves the instance: one still in flight
    when the instance was orphaned or killed must not move its state afterwards."""
    if rt.servers.get(instance_id) is not server:
        return connection.respond(503, "Service Unavailable\n")
    return on_pane_http(rt, instance_id, connection, request)


async def serve(rt: Runtime, inst: Instance, sock: Listener) -> IdeServerPort:
    """Serve an instance whose panes already run (adopted, re-served after a restart) and link its Neovim."""
    server = await serve_socket(rt, inst, sock)
    start_link(rt, inst.id)
    return server


async def stop_serving(rt: Runtime, instance_id: str) -> None:
    await stop_link(rt, instance_id)
    server = rt.servers.pop(instance_id, None)
    if server is not None:
        await server.close()
