"""The full-size load and leak tests (marked ``slow``) run only when asked: ``-m slow`` or TMUXCLAUDE_SLOW=1.
The default run keeps their reduced-size twins; ``scripts/bench`` measures the full sizes."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.attacker import Attacker, create_attacker


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "slow" in (config.getoption("-m") or "") or os.environ.get("TMUXCLAUDE_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="full size: run with -m slow, TMUXCLAUDE_SLOW=1, or scripts/bench")
    for item in items:
        if "slow" in item.keywords and "reliability" in str(item.path):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def attacker() -> Attacker:
    """Another local user (uid), for the attacks that need one."""
    found = create_attacker()
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A world-writable sticky directory like /tmp (TMUX_TMPDIR points here), private to this test."""
    path = Path(tempfile.mkdtemp(prefix="tc-shared-", dir="/tmp"))
    os.chmod(path, 0o1777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
