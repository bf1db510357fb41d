"""Everything one instance holds while it is served, owned by one object.

A served instance holds: its IDE WebSocket server on its (bound) port, its hook settings, hook token and pane
environment files, its IDE lock file, and the link to its Neovim (the supervisor task and the attached Neovim).
:meth:`ServedInstance.open` acquires them in that order and, when a step fails, releases what it acquired;
:meth:`ServedInstance.close` releases everything, running every step even when one fails, and raises the failures
together. Every path that starts or ends serving goes through here: spawn (new, open, restore), adopt and re-serve
at start-up, the move to a new port, orphan, kill and close-by-user (teardown), and shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence

from tmuxclaude.controller import nvim_link, pane_channel
from tmuxclaude.controller.launch import remove_hook_files, write_hook_files, write_lock
from tmuxclaude.controller.ports import IdeServerPort, Listener, NvimPort
from tmuxclaude.controller.runtime import Runtime
from tmuxclaude.model.instance import Instance

__all__ = ["ServedInstance", "Step", "reserve_free_port", "run_every_step"]

log = logging.getLogger(__name__)


Step = tuple[str, Callable[[], Awaitable[object] | object]]
"""A named step of a release: a function, or a coroutine function."""


async def run_every_step(steps: Sequence[Step], what: str) -> None:
    """Run every step even when earlier ones fail (pieces already gone are fine); each failure is logged and all
    are raised together (ExceptionGroup ``{what} had errors``). The one runner of every release: an instance's
    close here, its teardown (controller/teardown.py)."""
    errors: list[Exception] = []
    for name, step in steps:
        try:
            result = step()
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            log.warning("%s: %s failed: %s", what, name, exc, exc_info=True)
            errors.append(exc)
    if errors:
        raise ExceptionGroup(f"{what} had errors", errors)


def reserve_free_port(rt: Runtime) -> Listener:
    """Bind a free port of the configured range, skipping every port a lock file or a record names."""
    taken = rt.ports.locks.ports() | rt.registry.ports()
    return rt.ports.net.bind_free_port(rt.config.ports.min, rt.config.ports.max, taken)


class ServedInstance:
    """One instance's served resources. Made only by :meth:`open`; registered in ``rt.served`` while open."""

    def __init__(self, rt: Runtime, inst: Instance, server: IdeServerPort) -> None:
        self._rt = rt
        self.instance_id = inst.id
        self.port = inst.port
        self.server = server
        self.nvim: NvimPort | None = None
        """The attached Neovim, set and cleared by the link (controller/nvim_link.py)."""
        self.link: asyncio.Task[None] | None = None
        """The supervisor that keeps the Neovim attached."""

    @classmethod
    async def open(cls, rt: Runtime, inst: Instance, sock: Listener, *, link: bool = True) -> ServedInstance:
        """Serve ``inst`` on ``sock`` (bound: the bind is the port's reservation): IDE server, hook files, lock
        file (last: a reader must never find a lock whose port is not served), then the Neovim link (``link``:
        spawn starts it once the record exists). On failure nothing is left: the socket is closed, the files
        removed, and the error raised."""
        server = rt.ports.ide(inst.id, inst.token, rt.config.ide)
        served = cls(rt, inst, server)
        server.on_http = pane_channel.handler(rt, served)
        try:
            await server.start(sock)
        except BaseException:
            sock.close()
            raise
        rt.served[inst.id] = served
        try:
            write_hook_files(rt, inst)
            write_lock(rt, inst)
            if link:
                served.start_link()
        except BaseException:
            with contextlib.suppress(BaseExceptionGroup):
                await served.close()
            raise
        return served

    @property
    def current(self) -> bool:
        """This object still serves its instance (a request in flight when it was closed must not count)."""
        return self._rt.served.get(self.instance_id) is self

    def start_link(self) -> None:
        """(Re)start the supervisor that keeps this instance's Neovim attached."""
        if self.link is not None:
            self.link.cancel()
        self.link = asyncio.create_task(nvim_link.supervise(self._rt, self))

    async def close(self, *, keep_files: bool = False) -> None:
        """Stop serving: the Neovim link, the IDE server, the lock file, and (unless ``keep_files``: a controller
        stopping, whose next run serves the instance again) the hook and pane files. Every step runs; the
        failures are raised together (ExceptionGroup)."""
        rt = self._rt
        if self.current:
            del rt.served[self.instance_id]
        steps: list[Step] = [
            ("Neovim link", self._stop_link),
            ("IDE server", self.server.close),
            ("lock file", lambda: rt.ports.locks.remove(self.port)),
        ]
        if not keep_files:
            steps.append(("hook files", lambda: remove_hook_files(rt, self.instance_id)))
        await run_every_step(steps, f"stopping instance {self.instance_id}")

    async def _stop_link(self) -> None:
        task, self.link = self.link, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        nvim, self.nvim = self.nvim, None
        if nvim is not None:
            await nvim.close()
