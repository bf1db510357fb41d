"""The host side of ``tmuxclaude watch --json``: a control connection that stays open and gets a snapshot line of
this controller's instances at once and again after every change (``protocol.watch``). Changes are pushed from
``status.publish_summary``, which every state or lifecycle move already goes through: nothing polls."""

from __future__ import annotations

import asyncio
import contextlib
import os

from tmuxclaude import __version__
from tmuxclaude.controller import views
from tmuxclaude.controller.runtime import ClientContext, Runtime
from tmuxclaude.protocol import watch

__all__ = ["changed", "stream"]


def changed(rt: Runtime) -> None:
    """Wake every watcher (each sends a line only when its snapshot differs from the last one it sent)."""
    for event in rt.watchers:
        event.set()


def _snapshot(rt: Runtime) -> bytes:
    items = [item.to_dict() for item in views.list_instances(rt, ClientContext(cwd="/"))]
    return watch.encode(items, version=__version__, home=os.path.expanduser("~"))


async def stream(rt: Runtime, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Serve one watcher until it hangs up or the controller stops."""
    event = asyncio.Event()
    rt.watchers.add(event)
    # The watcher sends nothing after its request: EOF (or anything) from it ends the stream.
    hangup = asyncio.ensure_future(reader.read(1))
    last = b""
    try:
        while True:
            event.clear()
            line = _snapshot(rt)
            if line != last:
                writer.write(line)
                await writer.drain()
                last = line
            waiter = asyncio.ensure_future(event.wait())
            done, _ = await asyncio.wait({waiter, hangup}, return_when=asyncio.FIRST_COMPLETED)
            if hangup in done:
                waiter.cancel()
                return
    finally:
        rt.watchers.discard(event)
        hangup.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await hangup
