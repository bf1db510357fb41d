"""Issue 17 finding 1 with the real Claude Code CLI: the controller is SIGKILLed (or stopped) while both Claudes
are connected; another local user tries to bind their ports; a restarted controller gets every Claude back,
and nothing else ever did."""

from __future__ import annotations

import functools
import os
import signal
import time

import pytest

from tests.e2e.test_two_claudes import Side, World, startup_dialog, user_config, user_settings, world  # noqa: F401
from tests.helpers.waiting import retry_until
from tests.reliability.attacker import Attacker, create_attacker
from tests.reliability.reliability_helpers import controller_pid
from tests.reliability.test_attacks import _squat_fails
from tmuxclaude.adapters.procs import pid_alive

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]


def _connected(w: World, side: Side) -> bool:
    return bool(w.server(side)["clients"] == 1)


def _settled(w: World, side: Side) -> bool:
    """Its Claude finished setting up its IDE connection (it said ``ide_connected``): a kill in the middle of the
    CLI's first handshake is another story (the CLI may not retry a connection it never completed)."""
    return _connected(w, side) and "ide_connected" in w.server(side)["calls"]


@pytest.fixture
def attacker() -> Attacker:
    found = create_attacker()
    if isinstance(found, str):
        pytest.skip(found)
    return found


def test_claude_comes_back_to_the_restarted_controller_only(world: World, attacker: Attacker) -> None:  # noqa: F811
    """SIGKILL (no clean-up at all; `daemon stop` is covered without the CLI in tests/reliability/test_attacks.py).
    Measured on 2.1.332: both Claudes are back 2-4 s after the controller went down. The IDE token is kept for a
    port the keeper held: the CLI does not re-read the lock file when it reconnects (with a rotated token it
    retried 5 times with the old one and gave up), and the token never left your processes."""
    w = world
    for side in (w.a, w.b):
        retry_until(functools.partial(_settled, w, side), 30, f"{side.name}'s IDE connection set up")
    pid = controller_pid(w.env)
    os.kill(pid, signal.SIGKILL)
    retry_until(lambda: not pid_alive(pid), 10, "the controller gone")
    down = time.monotonic()
    for side in (w.a, w.b):
        _squat_fails(attacker, side.port)
    w.env.cli("daemon", "start")
    for side in (w.a, w.b):
        retry_until(functools.partial(_connected, w, side), 60, f"{side.name}'s Claude reconnected")
    print(f"\n[e2e] SIGKILL: both Claudes reconnected {time.monotonic() - down:.1f}s after the controller went down")
    for side in (w.a, w.b):
        assert w.server(side)["refused"] == {}, w.server(side)
