"""Instances as data: the persisted record, its states and the registry rules (pure, no I/O)."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from tmuxclaude.errors import InstanceError
from tmuxclaude.model.exits import ClaudeExit
from tmuxclaude.model.naming import unique_name

__all__ = ["STATE_VERSION", "Activity", "Instance", "InstanceState", "Phase", "Registry", "split_state", "state_of"]

STATE_VERSION = 1
"""The state file's format version. Changes so far are additive (new fields have defaults, unknown fields and
unknown state names are tolerated on load), so every version-1 file loads. A file with another version is not
migrated: the state file adapter sets it aside (``state.json.corrupt-*``) and falls back to the backup."""


class Phase(enum.StrEnum):
    """Where an instance is in its lifecycle (model/lifecycle.py moves it; controller/lifecycle.py writes it)."""

    STARTING = "starting"
    RUNNING = "running"
    """Claude runs; what it is doing is the instance's :class:`Activity`."""
    PAUSED = "paused"
    EXITED = "exited"
    """Claude's process ended on its own; the pane stays, showing why, until resumed or killed."""
    ORPHANED = "orphaned"
    """Its windows are gone but nobody asked to kill it: restorable."""
    DEAD = "dead"
    """Its worktree is gone: nothing to restore into; kill it (``kill --remove-worktree`` prunes git's record)."""
    STOPPED = "stopped"
    """Ended by an explicit kill: the record is dropped (never stored)."""


class Activity(enum.StrEnum):
    """What a running Claude is doing, as its hooks report it."""

    IDLE = "idle"
    BUSY = "busy"
    WAITING = "waiting"


class InstanceState(enum.StrEnum):
    """What ``ls``, the status line and Neovim show: the phase, or a running Claude's activity. Derived from
    :class:`Phase` and :class:`Activity` (``Instance.state``), and the name the state file stores."""

    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    WAITING = "waiting"
    PAUSED = "paused"
    EXITED = "exited"
    """Claude's process ended (its pane stays, showing why); ``resume`` or the pane's restart key brings it back."""
    ORPHANED = "orphaned"
    """The windows are gone but nobody asked to kill it (model/lifecycle.py): ``restore`` brings it back."""
    DEAD = "dead"
    """The worktree is gone (re-derived from the disk at start-up: see ``Instance.from_dict``)."""


@dataclass(frozen=True)
class Instance:
    """One worktree's Claude + Neovim pair. Serialisable: this is what the state file holds."""

    id: str
    name: str
    worktree: str
    repo: str
    branch: str
    port: int
    token: str
    created_at: float
    session_id: str = ""
    """tmux session id ($N) the window lives in."""
    window_id: str = ""
    nvim_pane: str = ""
    claude_pane: str = ""
    nvim_socket: str = ""
    nvim_pid: int | None = None
    parent_port: int | None = None
    phase: Phase = Phase.STARTING
    activity: Activity = Activity.IDLE
    claude_session_id: str = ""
    """Claude Code's own conversation id (from its SessionStart hook), for ``--resume``."""
    hook_token: str = ""
    """Authenticates this instance's Claude hooks (not the IDE token: hooks need less)."""
    state_since: float = 0.0
    """When ``state`` last changed (idle pause, stuck-busy clearing)."""
    exit: ClaudeExit | None = None
    """How its Claude last ended, while it stays exited (``ls --json``, the pane's message)."""
    external_nvim: bool = False
    """The Neovim was not started by us (a user's own Neovim joined with :ClaudeCode)."""
    tmux_server: str = ""
    """Identity (pid:start time) of the tmux server the window was made in: a window missing from another
    server was lost with its server, not closed by the user. Empty in records written before it existed."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> InstanceState:
        return state_of(self.phase, self.activity)

    def to_dict(self) -> dict[str, Any]:
        """The state file's record: phase and activity are stored as the one ``state`` name they derive."""
        data = asdict(self)
        del data["phase"], data["activity"]
        data["state"] = self.state.value
        data["exit"] = self.exit.to_dict() if self.exit is not None else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Instance:
        known = {f.name for f in fields(cls)} - {"phase", "activity", "exit"}
        kwargs = {k: v for k, v in data.items() if k in known}
        try:
            state = InstanceState(data.get("state", "starting"))
        except ValueError:
            # A state a newer version wrote: keep the record, restorable, rather than lose the whole file.
            state = InstanceState.ORPHANED
        if state is InstanceState.DEAD:
            # Records written before "orphaned" existed called an instance whose tmux server went away "dead";
            # whether the worktree is really gone is a fact of the disk, checked again at every start-up.
            state = InstanceState.ORPHANED
        kwargs["phase"], kwargs["activity"] = split_state(state)
        extra = dict(kwargs.get("extra") or {})
        # Records written before the exit record was typed kept it in ``extra``.
        raw_exit = data.get("exit") or extra.pop("exit", None)
        kwargs["extra"] = extra
        kwargs["exit"] = ClaudeExit.from_dict(raw_exit) if isinstance(raw_exit, dict) else None
        return cls(**kwargs)

    def with_(self, **changes: Any) -> Instance:
        return replace(self, **changes)


_ACTIVITY_STATES = {Activity.IDLE: InstanceState.IDLE, Activity.BUSY: InstanceState.BUSY,
                    Activity.WAITING: InstanceState.WAITING}  # fmt: skip


def state_of(phase: Phase, activity: Activity) -> InstanceState:
    """The one name shown for a phase and activity (a running Claude shows its activity)."""
    if phase is Phase.RUNNING:
        return _ACTIVITY_STATES[activity]
    if phase is Phase.STOPPED:
        raise ValueError("a stopped instance has no state: its record is gone")
    return InstanceState(phase.value)


def split_state(state: InstanceState) -> tuple[Phase, Activity]:
    """The phase and activity a shown state name stands for (the inverse of :func:`state_of`)."""
    if state.value in Activity.__members__.values():
        return Phase.RUNNING, Activity(state.value)
    return Phase(state.value), Activity.IDLE


def _repo_name(inst: Instance) -> str:
    return inst.repo.rstrip("/").rsplit("/", 1)[-1]


def _choices(items: list[Instance]) -> str:
    return ", ".join(i.name for i in items) + " (name one)"


class Registry:
    """Ordered instances by id; numbering (1-based) follows creation order."""

    def __init__(self, instances: list[Instance] | None = None) -> None:
        self._items: dict[str, Instance] = {}
        for inst in sorted(instances or [], key=lambda i: i.created_at):
            self._items[inst.id] = inst

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Any:
        return iter(list(self._items.values()))

    def __contains__(self, instance_id: object) -> bool:
        return instance_id in self._items

    def get(self, instance_id: str) -> Instance | None:
        return self._items.get(instance_id)

    def put(self, inst: Instance) -> None:
        self._items[inst.id] = inst

    def remove(self, instance_id: str) -> Instance | None:
        return self._items.pop(instance_id, None)

    def ids(self) -> list[str]:
        return list(self._items)

    def ordered(self) -> list[Instance]:
        return list(self._items.values())

    def number_of(self, instance_id: str) -> int:
        for n, inst in enumerate(self._items.values(), start=1):
            if inst.id == instance_id:
                return n
        return 0

    def find(self, ref: str) -> Instance | None:
        """Look up by 1-based number, id, name, ``repo/branch``, branch or repo name, in that order.

        A branch or repo name several instances share is ambiguous (InstanceError naming them), except that a repo
        name means its main worktree's instance when there is one.
        """
        items = self.ordered()
        if ref.isdigit():
            n = int(ref)
            if 1 <= n <= len(items):
                return items[n - 1]
        for key in ("id", "name"):
            for inst in items:
                if getattr(inst, key) == ref:
                    return inst
        repo_branch = [i for i in items if f"{_repo_name(i)}/{i.branch}" == ref]
        if repo_branch:
            return repo_branch[0]
        by_branch = [i for i in items if i.branch == ref]
        if len(by_branch) > 1:
            raise InstanceError(f"{ref!r} is ambiguous: {_choices(by_branch)}")
        if by_branch:
            return by_branch[0]
        by_repo = [i for i in items if _repo_name(i) == ref]
        main = [i for i in by_repo if i.worktree == i.repo]
        if len(by_repo) > 1 and not main:
            raise InstanceError(f"{ref!r} is ambiguous: {_choices(by_repo)}")
        found = main or by_repo
        return found[0] if found else None

    def by_worktree(self, path: str) -> Instance | None:
        for inst in self._items.values():
            if inst.worktree == path:
                return inst
        return None

    def by_pane_or_window(self, target: str) -> Instance | None:
        for inst in self._items.values():
            if target in (inst.window_id, inst.nvim_pane, inst.claude_pane):
                return inst
        return None

    def ports(self) -> set[int]:
        return {inst.port for inst in self._items.values()}

    def unique_name(self, wanted: str, *, exclude: str = "", repo: str = "") -> str:
        """``wanted`` if free, else qualified by ``repo`` (``shop/main``), else numbered (see naming.unique_name)."""
        return unique_name(wanted, {i.name for i in self._items.values() if i.id != exclude}, repo=repo)

    def to_dict(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "instances": [i.to_dict() for i in self._items.values()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Registry:
        version = data.get("version")
        if version != STATE_VERSION:
            raise ValueError(f"unsupported state version {version!r}")
        return cls([Instance.from_dict(d) for d in data.get("instances", [])])
