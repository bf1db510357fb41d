"""The one way tests wait for a condition: poll it with a deadline (in the spirit of libtmux's ``retry_until``).

A test never sleeps to wait. It waits on an event where one exists (an ``asyncio.Event``, a condition variable),
and otherwise polls with ``retry_until`` (or ``aretry_until`` from async code); the only sleep is the poll
interval inside these helpers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

INTERVAL = 0.02


class WaitTimeout(AssertionError):
    """The condition did not hold within the deadline; a test failure, not an error of the code under test."""


def _timeout(seconds: float, message: str, last: BaseException | None) -> WaitTimeout:
    why = f" (last attempt raised {type(last).__name__}: {last})" if last is not None else ""
    return WaitTimeout(f"timed out after {seconds}s waiting for {message}{why}")


def retry_until(
    predicate: Callable[[], T | None],
    seconds: float = 10.0,
    message: str = "condition",
    *,
    interval: float = INTERVAL,
    retrying: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``predicate`` until it returns something truthy and return that value.

    Exceptions of the types in ``retrying`` count as "not yet"; any other exception propagates at once. After
    ``seconds`` raises :class:`WaitTimeout` naming ``message`` (and the last retried exception, chained).
    The predicate runs at least once, even with ``seconds=0``.
    """
    deadline = time.monotonic() + seconds
    while True:
        last: BaseException | None = None
        try:
            value = predicate()
        except retrying as exc:
            last = exc
        else:
            if value:
                return value
        if time.monotonic() >= deadline:
            raise _timeout(seconds, message, last) from last
        time.sleep(interval)


async def aretry_until(
    predicate: Callable[[], Awaitable[T | None]],
    seconds: float = 10.0,
    message: str = "condition",
    *,
    interval: float = INTERVAL,
    retrying: tuple[type[BaseException], ...] = (),
) -> T:
    """:func:`retry_until` for a coroutine predicate, polling without blocking the event loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        last: BaseException | None = None
        try:
            value = await predicate()
        except retrying as exc:
            last = exc
        else:
            if value:
                return value
        if loop.time() >= deadline:
            raise _timeout(seconds, message, last) from last
        await asyncio.sleep(interval)
