"""The instance lifecycle: phases, the events that move an instance between them, and how what the controller
sees in tmux and on disk becomes an event (pure; docs/lifecycle.md draws the diagram).

    starting ──started──▶ running ◀──pause/resume──▶ paused
                          │  ▲                         │
             claude exited│  │resume                   │
                          ▼  │                         │
                         exited                        │
    running/paused/exited ──windows lost──▶ orphaned ──restore──▶ starting
    any but stopped ──worktree gone──▶ dead
    any ──kill / closed by user──▶ stopped (the record ends)

Only an explicit kill (CLI, Neovim command, tmux key) or ``cleanup_on_exit`` when the user closes the instance's
own window or quits its Neovim ends an instance. Everything else (tmux server killed or restarted, a reboot, the
controller down while windows went away) leaves an ``orphaned`` record that ``restore`` brings back on its old
port and token, its Claude resuming its own conversation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tmuxclaude.errors import InstanceError
from tmuxclaude.model.instance import Activity, InstanceState, Phase, split_state

__all__ = [
    "ACTIVITY",
    "RUNNING",
    "Activity",
    "Event",
    "LifecycleError",
    "Phase",
    "Seen",
    "judge",
    "next_phase",
    "phase_of",
    "step",
    "transition",
]


class Event(enum.StrEnum):
    STARTED = "started"
    PAUSE = "pause"
    RESUME = "resume"
    CLAUDE_EXITED = "claude exited"
    KILL = "kill"
    CLOSED_BY_USER = "closed by user"
    """The user closed the instance's own window or quit its Neovim, and ``cleanup_on_exit`` is on."""
    WINDOWS_LOST = "windows lost"
    """The windows went away with nobody asking: tmux server killed or restarted, reboot, controller down."""
    WORKTREE_GONE = "worktree gone"
    RESTORE = "restore"
    RESERVED = "re-served"
    """Its window is there when the controller starts (or is adopted): it runs again, whatever the record said."""
    IDLE = "idle"
    BUSY = "busy"
    WAITING = "waiting"
    """Claude's activity, as its hooks report it: moves only a starting or running Claude."""


ACTIVITY = {Event.IDLE: Activity.IDLE, Event.BUSY: Activity.BUSY, Event.WAITING: Activity.WAITING}


class LifecycleError(InstanceError):
    """An event that does not apply to the instance's phase (``pause`` of an orphaned instance, ...)."""


RUNNING = frozenset({InstanceState.IDLE, InstanceState.BUSY, InstanceState.WAITING})

_ENDS = {Event.KILL: Phase.STOPPED, Event.CLOSED_BY_USER: Phase.STOPPED, Event.WORKTREE_GONE: Phase.DEAD}
_LIVE = {**_ENDS, Event.WINDOWS_LOST: Phase.ORPHANED}
_ACTIVE = dict.fromkeys(ACTIVITY, Phase.RUNNING)

TRANSITIONS: dict[Phase, dict[Event, Phase]] = {
    Phase.STARTING: {
        Event.STARTED: Phase.RUNNING,
        Event.RESERVED: Phase.RUNNING,
        **_ACTIVE,
        Event.CLAUDE_EXITED: Phase.EXITED,
        **_LIVE,
    },
    Phase.RUNNING: {
        Event.PAUSE: Phase.PAUSED,
        Event.CLAUDE_EXITED: Phase.EXITED,
        Event.RESERVED: Phase.RUNNING,
        **_ACTIVE,
        **_LIVE,
    },
    Phase.PAUSED: {Event.PAUSE: Phase.PAUSED, Event.RESUME: Phase.RUNNING, Event.RESERVED: Phase.PAUSED, **_LIVE},
    Phase.EXITED: {
        Event.CLAUDE_EXITED: Phase.EXITED,
        Event.RESUME: Phase.RUNNING,
        Event.RESERVED: Phase.EXITED,
        **_LIVE,
    },
    Phase.ORPHANED: {
        Event.RESTORE: Phase.STARTING,
        Event.RESERVED: Phase.RUNNING,
        Event.WINDOWS_LOST: Phase.ORPHANED,
        **_ENDS,
    },
    Phase.DEAD: {
        Event.KILL: Phase.STOPPED,
        Event.CLOSED_BY_USER: Phase.STOPPED,
        Event.WORKTREE_GONE: Phase.DEAD,
        Event.RESERVED: Phase.RUNNING,
    },
    Phase.STOPPED: {},
}
"""Every allowed move; anything else is refused with :class:`LifecycleError`."""


def step(phase: Phase, activity: Activity, event: Event) -> tuple[Phase, Activity]:
    """The phase and activity after ``event``. Entering ``running`` from elsewhere starts idle; an activity event
    sets the activity; anything else keeps it.

    Raises:
        LifecycleError: ``event`` does not apply in ``phase``.
    """
    after = next_phase(phase, event)
    if event in ACTIVITY:
        return after, ACTIVITY[event]
    if after is Phase.RUNNING and phase is not Phase.RUNNING:
        return after, Activity.IDLE
    return after, activity


_STATE_OF_PHASE = {
    Phase.STARTING: InstanceState.STARTING,
    Phase.RUNNING: InstanceState.IDLE,
    Phase.PAUSED: InstanceState.PAUSED,
    Phase.EXITED: InstanceState.EXITED,
    Phase.ORPHANED: InstanceState.ORPHANED,
    Phase.DEAD: InstanceState.DEAD,
}

_HINTS = {
    Phase.ORPHANED: "its windows are gone; `tmuxclaude restore` brings it back",
    Phase.DEAD: "its worktree is gone; `tmuxclaude kill` it",
    Phase.PAUSED: "it is paused; `tmuxclaude resume` it",
    Phase.STARTING: "it is starting",
    Phase.RUNNING: "it is running",
    Phase.EXITED: "its Claude exited; `tmuxclaude resume` it",
}


def phase_of(state: InstanceState) -> Phase:
    return split_state(state)[0]


def next_phase(current: Phase, event: Event) -> Phase:
    """Raises:
    LifecycleError: ``event`` does not apply in ``current``.
    """
    after = TRANSITIONS[current].get(event)
    if after is None:
        raise LifecycleError(f"cannot {event} an instance that is {current}: {_HINTS.get(current, '')}".rstrip(": "))
    return after


def transition(state: InstanceState, event: Event, *, name: str = "") -> InstanceState | None:
    """The state after ``event``; None when the instance ends (stopped). A running instance keeps its activity
    when an event leaves it running.

    Raises:
        LifecycleError: ``event`` does not apply (the message names the instance and what to do instead).
    """
    current = phase_of(state)
    try:
        after = next_phase(current, event)
    except LifecycleError as exc:
        raise LifecycleError(f"{name}: {exc}" if name else str(exc)) from None
    if after is Phase.STOPPED:
        return None
    if after is current and current is Phase.RUNNING:
        return state
    return _STATE_OF_PHASE[after]


@dataclass(frozen=True)
class Seen:
    """What the controller sees of one served instance at a reconcile."""

    tmux_up: bool
    same_server: bool
    """The tmux server is the one the instance's window was made in (its pid and start time match)."""
    window: bool
    """Its window, tagged with its id, exists."""
    nvim_alive: bool
    """Its Neovim pane exists and its process has not exited (with remain-on-exit a dead pane stays)."""
    worktree: bool


def judge(state: InstanceState, seen: Seen, *, cleanup_on_exit: bool) -> Event | None:
    """The event what the controller sees amounts to, or None when nothing changed.

    A missing window means the user closed it only when the tmux server is the same one it was made in: a new
    server (killed and started again, a reboot) has none of our windows, and that is no request to kill.
    """
    current = phase_of(state)
    if current in (Phase.STARTING, Phase.STOPPED):
        return None
    if not seen.worktree:
        return None if current is Phase.DEAD else Event.WORKTREE_GONE
    if current in (Phase.ORPHANED, Phase.DEAD):
        return None
    if not seen.tmux_up or (not seen.window and not seen.same_server):
        return Event.WINDOWS_LOST
    if not seen.window:
        return Event.CLOSED_BY_USER if cleanup_on_exit else Event.WINDOWS_LOST
    if not seen.nvim_alive and cleanup_on_exit:
        return Event.CLOSED_BY_USER
    return None
