"""Fixtures shared by the controller's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.controller.fakes import World, make_world
from tmuxclaude.controller import reconcile


@pytest.fixture
async def w(tmp_path: Path) -> AsyncIterator[World]:
    """The controller's use cases over fakes of every port (no tmux, git, Neovim or sockets)."""
    world = make_world(tmp_path)
    yield world
    await reconcile.shutdown(world.rt)
    await world.rt.drain_background()
