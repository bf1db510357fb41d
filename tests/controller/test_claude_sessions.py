"""Claude Code's own sessions in the controller, on fakes of its ports: a fork's hooks at its parent's endpoint,
the Interrupt hook per CLI version, the repo root's lock, promotion (`claude` itself is a small script here)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.controller.fakes import World, make_world
from tmuxclaude.controller import claude_sessions, claude_worktrees, reconcile, spawn
from tmuxclaude.controller.runtime import ClientContext
from tmuxclaude.errors import InstanceError
from tmuxclaude.model.claude import PermissionChoice, Version
from tmuxclaude.model.config import CommandsConfig, Config
from tmuxclaude.model.instance import Instance, InstanceState

pytestmark = pytest.mark.unit

SID = "dc5151ef-9db8-47fc-91f0-dd0abffa8800"
OWN = "c947a14c-08af-4ac3-9dfa-b7b900ceaf56"


class Headers:
    def __init__(self, token: str) -> None:
        self.token = token

    def get_all(self, name: str) -> list[str]:
        return [self.token] if name == "X-Tmuxclaude-Hook" else []


class Cli:
    """The ClaudeCliPort with a chosen version."""

    def __init__(self, version: Version | None) -> None:
        self._version = version

    def permission_choice(
        self, command: Sequence[str], config_mode: str, worktree: str, pane_env: Mapping[str, str]
    ) -> PermissionChoice:
        return PermissionChoice((), "test")

    def version(self, command: Sequence[str], pane_env: Mapping[str, str]) -> Version | None:
        return self._version


async def start(w: World, path: Path) -> Instance:
    await spawn.open_worktree(w.rt, str(path), ClientContext(cwd=str(path)), focus=False)
    inst = w.rt.registry.by_worktree(str(path))
    assert inst is not None
    return inst


def hook(w: World, inst: Instance, query: str) -> int:
    """What the instance's pane channel answers hook.sh's request (status code)."""
    on_http = w.rt.served[inst.id].server.on_http
    assert on_http is not None
    return on_http("/tmuxclaude/hook?" + query, inst.hook_token)[0]


async def test_a_forks_hooks_are_recorded_and_never_move_its_parent(w: World) -> None:
    inst = await start(w, w.git.repo)
    assert hook(w, inst, f"event=SessionStart&session={OWN}&source=startup") == 204
    assert hook(w, inst, f"event=UserPromptSubmit&session={OWN}") == 204
    assert hook(w, inst, f"event=Stop&session={OWN}") == 204
    assert hook(w, inst, f"event=SessionStart&session={SID}&source=fork") == 204
    assert hook(w, inst, f"event=UserPromptSubmit&session={SID}") == 204
    current = w.rt.registry.get(inst.id)
    assert current is not None and current.claude_session_id == OWN and current.state is InstanceState.IDLE
    fork = w.rt.forks[SID]
    assert (fork.instance_id, fork.parent_session_id, fork.kind) == (inst.id, OWN, "fork")
    # A hostile session id is no fork and is never recorded.
    hook(w, inst, "event=SessionStart&session=--resume%3Dx&source=fork")
    assert list(w.rt.forks) == [SID]


@pytest.mark.parametrize(("version", "registered"), [((2, 1, 332), False), ((2, 1, 336), True), (None, False)])
async def test_interrupt_hook_only_for_clis_that_know_it(w: World, version: Version | None, registered: bool) -> None:
    w.rt.ports = replace(w.rt.ports, claude_cli=Cli(version))
    inst = await start(w, w.git.repo)
    settings = json.loads(w.rt.ports.paths.settings_file(inst.id).read_text())
    assert ("Interrupt" in settings["hooks"]) is registered
    hook(w, inst, f"event=UserPromptSubmit&session={OWN}")
    assert w.rt.registry.get(inst.id).state is InstanceState.BUSY  # type: ignore[union-attr]
    hook(w, inst, f"event=Interrupt&session={OWN}")
    assert w.rt.registry.get(inst.id).state is InstanceState.IDLE  # type: ignore[union-attr]


async def test_the_repo_roots_lock_names_no_workspace_while_claude_worktrees_exist(w: World) -> None:
    root = await start(w, w.git.repo)
    other = w.git.root / "repo-b"
    other.mkdir()
    b = await start(w, other)
    assert w.locks.files[root.port]["workspaceFolders"] == [str(w.git.repo)]
    (w.git.repo / ".claude" / "worktrees" / "wt1").mkdir(parents=True)
    claude_worktrees.guard_root_locks(w.rt)
    assert w.locks.files[root.port]["workspaceFolders"] == []
    assert w.locks.files[b.port]["workspaceFolders"] == [str(other)]
    (w.git.repo / ".claude" / "worktrees" / "wt1").rmdir()
    claude_worktrees.guard_root_locks(w.rt)
    assert w.locks.files[root.port]["workspaceFolders"] == [str(w.git.repo)]


def fake_claude(tmp_path: Path, agents: list[dict[str, Any]]) -> tuple[Path, Path]:
    """A `claude` that answers `agents --json` and records `stop ID` (and where it ran)."""
    log = tmp_path / "claude.log"
    script = tmp_path / "claude"
    script.write_text(
        f'#!/bin/sh\necho "$(pwd) $*" >> {log}\nif [ "$1" = agents ]; then cat {tmp_path / "agents.json"}; fi\n'
    )
    (tmp_path / "agents.json").write_text(json.dumps(agents))
    script.chmod(0o755)
    return script, log


async def test_promote_stops_a_background_session_and_resumes_it_in_a_new_worktree(tmp_path: Path) -> None:
    config_dir = tmp_path / "claude-config"
    repo = tmp_path / "repo"
    agents = [{"pid": 4383, "id": "dc5151ef", "cwd": str(repo), "kind": "background", "sessionId": SID,
               "name": "parser fix", "status": "idle", "state": "working"}]  # fmt: skip
    script, log = fake_claude(tmp_path, agents)
    config = Config(commands=CommandsConfig(claude=[str(script)], claude_env={"CLAUDE_CONFIG_DIR": str(config_dir)}))
    w = make_world(tmp_path, config)
    try:
        inst = await start(w, w.git.repo)
        listed = await claude_sessions.list_sessions(w.rt)
        assert [(s["n"], s["kind"], s["repo"], s["instance"]) for s in listed] == [
            (1, "background", str(repo), inst.name)
        ]
        # No transcript of it: nothing to continue, nothing started, and it is left running (still promotable).
        with pytest.raises(InstanceError, match="no conversation"):
            await claude_sessions.promote(w.rt, "1", ClientContext(cwd=str(repo)), yes=False, focus=False)
        assert "stop" not in log.read_text() and len(w.rt.registry) == 1
        (config_dir / "projects" / "-repo").mkdir(parents=True)
        (config_dir / "projects" / "-repo" / f"{SID}.jsonl").write_text("{}\n")
        with pytest.raises(InstanceError, match="no Claude session"):
            await claude_sessions.promote(w.rt, "nope", ClientContext(cwd=str(repo)), yes=False, focus=False)
        item = await claude_sessions.promote(w.rt, "parser fix", ClientContext(cwd=str(repo)), yes=False, focus=False)
        assert item["worktree"] == str(tmp_path / "repo-parser-fix")
        promoted = w.rt.registry.by_worktree(item["worktree"])
        assert promoted is not None and promoted.claude_session_id == SID
        assert any(f"--resume={SID}" in argv for _, argv in w.tmux.respawned)
        calls = log.read_text().splitlines()
        assert "/ stop dc5151ef" in calls and all(c.startswith("/ ") for c in calls)  # never in a repository
    finally:
        await reconcile.shutdown(w.rt)
        await w.rt.drain_background()


async def test_an_interactive_session_elsewhere_needs_a_yes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    agents = [{"pid": 999999, "cwd": str(repo), "kind": "interactive", "sessionId": SID}]
    script, _ = fake_claude(tmp_path, agents)
    w = make_world(tmp_path, Config(commands=CommandsConfig(claude=[str(script)])))
    try:
        await start(w, w.git.repo)
        with pytest.raises(InstanceError, match="--yes"):
            await claude_sessions.promote(w.rt, SID[:8], ClientContext(cwd=str(repo)), yes=False, focus=False)
        assert len(w.rt.registry) == 1
    finally:
        await reconcile.shutdown(w.rt)
        await w.rt.drain_background()


async def test_a_session_with_its_own_worktree_is_promoted_there(tmp_path: Path) -> None:
    config_dir = tmp_path / "claude-config"
    repo = tmp_path / "repo"
    own = tmp_path / "repo" / ".claude" / "worktrees" / "wt1"
    own.mkdir(parents=True)
    agents = [{"pid": 4383, "id": "dc5151ef", "cwd": str(own), "kind": "background", "sessionId": SID}]
    script, _ = fake_claude(tmp_path, agents)
    (config_dir / "jobs" / "dc5151ef").mkdir(parents=True)
    (config_dir / "jobs" / "dc5151ef" / "state.json").write_text(json.dumps({"worktreePath": str(own)}))
    (config_dir / "projects" / "p").mkdir(parents=True)
    (config_dir / "projects" / "p" / f"{SID}.jsonl").write_text("{}\n")
    env = {"CLAUDE_CONFIG_DIR": str(config_dir)}
    w = make_world(tmp_path, Config(commands=CommandsConfig(claude=[str(script)], claude_env=env)))
    try:
        await start(w, w.git.repo)
        listed = await claude_sessions.list_sessions(w.rt)
        # A --worktree session shows under its repository, not under the root's instance.
        assert [(s["worktree_path"], s["instance"], s["repo"]) for s in listed] == [(str(own), "", str(repo))]
        item = await claude_sessions.promote(w.rt, "1", ClientContext(cwd=str(repo)), yes=False, focus=False)
        assert item["worktree"] == str(own) and not (tmp_path / "repo-claude-dc5151ef").exists()
    finally:
        await reconcile.shutdown(w.rt)
        await w.rt.drain_background()
