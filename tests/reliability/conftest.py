"""The full-size load and leak tests (marked ``slow``) run only when asked: ``-m slow`` or TMUXCLAUDE_SLOW=1.
The default run keeps their reduced-size twins; ``scripts/bench`` measures the full sizes."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "slow" in (config.getoption("-m") or "") or os.environ.get("TMUXCLAUDE_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="full size: run with -m slow, TMUXCLAUDE_SLOW=1, or scripts/bench")
    for item in items:
        if "slow" in item.keywords and "reliability" in str(item.path):
            item.add_marker(skip)
