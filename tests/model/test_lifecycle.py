"""The lifecycle as pure rules (model/lifecycle.py): transitions, what a reconcile's observations amount to, and
state records written by earlier versions."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from tmuxclaude.model.instance import Instance, InstanceState
from tmuxclaude.model.lifecycle import (
    TRANSITIONS,
    Event,
    LifecycleError,
    Phase,
    Seen,
    judge,
    next_phase,
    phase_of,
    transition,
)

pytestmark = pytest.mark.unit

S = InstanceState


def test_only_kill_or_closing_by_the_user_stops() -> None:
    for phase, moves in TRANSITIONS.items():
        for event, after in moves.items():
            if after is Phase.STOPPED:
                assert event in (Event.KILL, Event.CLOSED_BY_USER), (phase, event)


def test_every_live_phase_can_be_killed_and_orphaned_and_nothing_leaves_stopped() -> None:
    for phase in (Phase.RUNNING, Phase.PAUSED, Phase.EXITED, Phase.ORPHANED, Phase.DEAD):
        assert next_phase(phase, Event.KILL) is Phase.STOPPED
    for phase in (Phase.RUNNING, Phase.PAUSED, Phase.EXITED):
        assert next_phase(phase, Event.WINDOWS_LOST) is Phase.ORPHANED
    assert TRANSITIONS[Phase.STOPPED] == {}


class Move(NamedTuple):
    test_id: str
    state: InstanceState
    event: Event
    after: InstanceState | None


MOVES = [
    Move("pause", S.BUSY, Event.PAUSE, S.PAUSED),
    Move("resume-paused", S.PAUSED, Event.RESUME, S.IDLE),
    Move("claude-exits", S.WAITING, Event.CLAUDE_EXITED, S.EXITED),
    Move("resume-exited", S.EXITED, Event.RESUME, S.IDLE),
    Move("server-lost", S.IDLE, Event.WINDOWS_LOST, S.ORPHANED),
    Move("paused-lost", S.PAUSED, Event.WINDOWS_LOST, S.ORPHANED),
    Move("restore", S.ORPHANED, Event.RESTORE, S.STARTING),
    Move("worktree-gone", S.ORPHANED, Event.WORKTREE_GONE, S.DEAD),
    Move("kill-dead", S.DEAD, Event.KILL, None),
    Move("closed", S.BUSY, Event.CLOSED_BY_USER, None),
]


@pytest.mark.parametrize("case", MOVES, ids=[m.test_id for m in MOVES])
def test_transitions(case: Move) -> None:
    assert transition(case.state, case.event) == case.after


@pytest.mark.parametrize(
    ("state", "event"),
    [(S.ORPHANED, Event.PAUSE), (S.DEAD, Event.RESTORE), (S.IDLE, Event.RESTORE), (S.DEAD, Event.RESUME)],
)
def test_refused_moves_say_what_to_do(state: InstanceState, event: Event) -> None:
    with pytest.raises(LifecycleError, match="feat-x: cannot"):
        transition(state, event, name="feat-x")


class Look(NamedTuple):
    test_id: str
    state: InstanceState
    seen: Seen
    cleanup: bool
    event: Event | None


def seen(*, up: bool = True, same: bool = True, window: bool = True, nvim: bool = True, worktree: bool = True) -> Seen:
    return Seen(tmux_up=up, same_server=same, window=window, nvim_alive=nvim, worktree=worktree)


LOOKS = [
    Look("all-there", S.IDLE, seen(), True, None),
    Look("server-down", S.BUSY, seen(up=False, window=False), True, Event.WINDOWS_LOST),
    Look("new-server-at-once", S.IDLE, seen(same=False, window=False), True, Event.WINDOWS_LOST),
    Look("closed-same-server", S.IDLE, seen(window=False), True, Event.CLOSED_BY_USER),
    Look("closed-no-cleanup", S.IDLE, seen(window=False), False, Event.WINDOWS_LOST),
    Look("nvim-quit", S.WAITING, seen(nvim=False), True, Event.CLOSED_BY_USER),
    Look("nvim-quit-no-cleanup", S.WAITING, seen(nvim=False), False, None),
    Look("worktree-deleted", S.IDLE, seen(worktree=False), True, Event.WORKTREE_GONE),
    Look("dead-stays", S.DEAD, seen(worktree=False), True, None),
    Look("orphan-stays", S.ORPHANED, seen(window=False), True, None),
    Look("starting-is-spawns-business", S.STARTING, seen(window=False), True, None),
    Look("paused-server-lost", S.PAUSED, seen(up=False, window=False), True, Event.WINDOWS_LOST),
]


@pytest.mark.parametrize("case", LOOKS, ids=[c.test_id for c in LOOKS])
def test_judge(case: Look) -> None:
    assert judge(case.state, case.seen, cleanup_on_exit=case.cleanup) is case.event


def _record(**changes: object) -> dict[str, object]:
    inst = Instance(id="a1", name="a", worktree="/w", repo="/r", branch="a", port=1, token="t", created_at=1.0)
    return {**inst.to_dict(), **changes}


def test_records_of_the_previous_version_load() -> None:
    # "dead" used to mean "tmux server went away, kept for restore"; and tmux_server did not exist.
    data = _record(state="dead")
    del data["tmux_server"]
    inst = Instance.from_dict(data)
    assert inst.state is S.ORPHANED and inst.tmux_server == ""
    assert phase_of(inst.state) is Phase.ORPHANED


def test_unknown_state_of_a_newer_version_keeps_the_record() -> None:
    assert Instance.from_dict(_record(state="hibernating")).state is S.ORPHANED
