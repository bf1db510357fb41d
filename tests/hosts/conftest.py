"""One SSH host (sshd_host.py) for the whole session: made once, removed at the end even after a failure."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hosts.sshd_host import SshdHost, start_host, unavailable


@pytest.fixture(scope="session")
def sshd_host() -> Iterator[SshdHost]:
    why = unavailable()
    if why:
        pytest.skip(why)
    started = time.monotonic()
    host = start_host(Path(tempfile.mkdtemp(prefix="tch-", dir="/tmp")))
    print(f"\nssh host ready in {time.monotonic() - started:.1f}s")
    try:
        yield host
    finally:
        host.teardown()
