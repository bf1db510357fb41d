"""Foundation, on real tmux (private socket), real git repos and the installed console script."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.helpers.env import Env, ls_json
from tests.helpers.waiting import retry_until

pytestmark = pytest.mark.timeout(90)

LOCK_FIELDS = {
    "pid", "workspaceFolders", "ideName", "transport", "authToken",
    "neovimPid", "instanceId", "worktreePath", "createdAt",
}  # fmt: skip


def test_two_worktrees_two_windows_ports_locks_and_pane_env(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", cwd=repo)
    env.cli("new", "feat-b", cwd=repo)
    items = ls_json(env)
    assert [i["name"] for i in items] == ["feat-a", "feat-b"]
    ports = {i["port"] for i in items}
    assert len(ports) == 2

    windows = env.tmux("list-windows", "-a", "-F", "#{window_id} #{@tmuxclaude_id} #{@tmuxclaude_port}").splitlines()
    tagged = {w.split()[0]: w.split()[1:] for w in windows if len(w.split()) == 3}
    for item in items:
        assert tagged[str(item["window_id"])] == [item["id"], str(item["port"])]

    assert stat.S_IMODE(env.lock_dir.stat().st_mode) == 0o700
    tokens = set()
    for item in items:
        lock = env.lock_dir / f"{item['port']}.lock"
        assert stat.S_IMODE(lock.stat().st_mode) == 0o600
        data = json.loads(lock.read_text())
        assert set(data) >= LOCK_FIELDS
        assert data["transport"] == "ws"
        assert data["instanceId"] == item["id"]
        assert data["worktreePath"] == item["worktree"] == data["workspaceFolders"][0]
        assert data["pid"] != os.getpid()
        assert len(data["authToken"]) >= 32
        tokens.add(data["authToken"])
        # The Claude pane's own environment, as the substitute command recorded it.
        rec = env.record(str(item["id"]))
        assert rec["env"]["CLAUDE_CODE_SSE_PORT"] == str(item["port"])
        assert rec["env"]["ENABLE_IDE_INTEGRATION"] == "true"
        assert rec["env"]["CLAUDE_INSTANCE_ID"] == item["id"]
        assert rec["env"]["CLAUDE_WORKTREE_PATH"] == item["worktree"]
        assert rec["cwd"] == item["worktree"]

        # Neovim attached: its pid lands in the lock file.
        def neovim_pid(lock: Path = lock) -> object:
            return json.loads(lock.read_text())["neovimPid"]

        retry_until(neovim_pid, 15, "neovimPid in lock")
    assert len(tokens) == 2
    # Per pane only: never the global tmux environment.
    assert "CLAUDE_CODE_SSE_PORT" not in env.tmux("show-environment", "-g")


def test_ls_text_format_and_active_marker(world: Env, repo: Path) -> None:
    env = world
    shell = env.tmux("display-message", "-p", "-t", "main:", "#{pane_id}")
    env.cli("open", str(repo), cwd=repo, pane=shell)
    # The port the controller's allocator gave (a port of the range another process holds is skipped).
    item = ls_json(env)[0]
    port = item["port"]
    # Run from the user's pane: the new window went into the user's session and has the focus.
    assert env.cli("ls", pane=shell).stdout.splitlines() == [f"1. [main] ~/projects/myapp (port: {port}) *active*"]
    assert env.tmux("display-message", "-p", "-t", str(item["window_id"]), "#{session_name}") == "main"
    # Claude's pane is the one with the focus, Neovim's is on its left.
    active = env.tmux("display-message", "-p", "-t", str(item["window_id"]), "#{pane_id}")
    assert active == item["claude_pane"]
    lefts = env.tmux("list-panes", "-t", str(item["window_id"]), "-F", "#{pane_id} #{pane_left}").splitlines()
    assert [line.split()[0] for line in lefts] == [item["nvim_pane"], item["claude_pane"]]
    assert int(lefts[0].split()[1]) == 0 < int(lefts[1].split()[1])
    env.tmux("select-window", "-t", "main:0")  # the user looks at another window: no longer active
    assert env.cli("ls", pane=shell).stdout.splitlines() == [f"1. [main] ~/projects/myapp (port: {port})"]
    env.cli("switch", "main", pane=shell)
    assert env.cli("ls", pane=shell).stdout.strip() == f"1. [main] ~/projects/myapp (port: {port}) *active*"
    assert item["worktree"] == str(repo)


def test_open_focuses_existing_instead_of_duplicating(world: Env, repo: Path) -> None:
    env = world
    env.cli("open", cwd=repo)
    (repo / "sub").mkdir()
    out = env.cli("open", str(repo / "sub"), cwd=repo)
    assert out.stdout.startswith("focused main")
    assert len(ls_json(env)) == 1


def test_switch_selects_the_right_window(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", cwd=repo)
    env.cli("new", "feat-b", cwd=repo)
    items = ls_json(env)
    for ref, item in (("1", items[0]), ("feat-b", items[1]), ("feat-a", items[0])):
        env.cli("switch", ref)
        active = env.tmux("display-message", "-p", "-t", "tmuxclaude", "#{window_id}")
        assert active == item["window_id"]
    assert env.cli("switch", "nope", check=False).returncode == 6


def test_kill_removes_window_lock_and_state_only_for_that_instance(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", cwd=repo)
    env.cli("new", "feat-b", cwd=repo)
    a, b = ls_json(env)
    assert env.cli("kill", "feat-a").stdout.strip() == "killed feat-a"
    windows = env.tmux("list-windows", "-a", "-F", "#{window_id}").split()
    assert a["window_id"] not in windows and b["window_id"] in windows
    assert not (env.lock_dir / f"{a['port']}.lock").exists()
    assert (env.lock_dir / f"{b['port']}.lock").exists()
    assert [i["id"] for i in ls_json(env)] == [b["id"]]
    state = next(Path(env.vars["XDG_STATE_HOME"]).glob("tmuxclaude/*/state.json"))
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert [i["id"] for i in json.loads(state.read_text())["instances"]] == [b["id"]]
    # The worktree stays unless asked.
    assert Path(str(a["worktree"])).is_dir()


def test_kill_all_leaves_nothing(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", cwd=repo)
    env.cli("new", "feat-b", cwd=repo)
    env.cli("kill-all")
    assert ls_json(env) == []
    assert list(env.lock_dir.glob("*.lock")) == []
    assert "@tmuxclaude" not in env.tmux("list-windows", "-a", "-F", "#{@tmuxclaude_id}x").replace("x", "")


def test_kill_defaults_to_the_instance_of_the_current_directory(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", cwd=repo)
    env.cli("new", "feat-b", cwd=repo)
    wt = Path(str(ls_json(env)[1]["worktree"]))
    env.cli("kill", cwd=wt)
    assert [i["name"] for i in ls_json(env)] == ["feat-a"]


def test_max_instances_refused_with_clear_error(world: Env, repo: Path) -> None:
    env = world
    env.use_recorder("[multi_instance]\nmax_instances = 2\n")
    env.cli("new", "a1", cwd=repo)
    env.cli("new", "a2", cwd=repo)
    out = env.cli("new", "a3", cwd=repo, check=False)
    assert out.returncode == 7
    assert "max_instances (2) reached" in out.stderr
    assert "Traceback" not in out.stderr
    assert len(ls_json(env)) == 2
    # Nothing half-made: no third lock file or window.
    assert len(list(env.lock_dir.glob("*.lock"))) == 2


def test_single_instance_mode(world: Env, repo: Path) -> None:
    env = world
    env.use_recorder("[multi_instance]\nenabled = false\nmax_instances = 9\n")
    env.cli("new", "a1", cwd=repo)
    out = env.cli("new", "a2", cwd=repo, check=False)
    assert out.returncode == 7 and "one instance at a time" in out.stderr


def test_remove_worktree_refused_when_dirty_unless_forced(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", cwd=repo)
    wt = Path(str(ls_json(env)[0]["worktree"]))
    (wt / "work.txt").write_text("precious\n")
    out = env.cli("kill", "feat-a", "--remove-worktree", check=False)
    assert out.returncode == 5 and "untracked" in out.stderr
    assert (wt / "work.txt").exists() and len(ls_json(env)) == 1  # nothing was torn down
    env.cli("kill", "feat-a", "--remove-worktree", "--force")
    assert not wt.exists()
    # The branch is never deleted.
    assert "feat-a" in os.popen(f"git -C {repo} branch --list feat-a").read()


def test_remove_worktree_refused_with_unpushed_commits(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", cwd=repo)
    wt = Path(str(ls_json(env)[0]["worktree"]))
    (wt / "new.txt").write_text("x\n")
    os.system(f"git -C {wt} add . && git -C {wt} commit -qm wip")
    out = env.cli("kill", "--remove-worktree", "feat-a", check=False)
    assert out.returncode == 5 and "commit(s)" in out.stderr
    assert wt.exists()


def test_remove_clean_worktree(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", cwd=repo)
    wt = Path(str(ls_json(env)[0]["worktree"]))
    env.cli("kill", "feat-a", "--remove-worktree")
    assert not wt.exists()


def test_new_with_base_and_existing_branch(world: Env, repo: Path) -> None:
    env = world
    os.system(f"git -C {repo} branch old-branch")
    env.cli("new", "old-branch", cwd=repo)
    out = env.cli("new", "x", "--base", "nope-ref", cwd=repo, check=False)
    assert out.returncode == 4 and "git worktree add failed" in out.stderr
    assert [i["branch"] for i in ls_json(env)] == ["old-branch"]


def test_new_outside_a_repo_is_a_clear_error(world: Env) -> None:
    out = world.cli("new", "x", cwd=world.home, check=False)
    assert out.returncode == 4
    assert "not inside a git repository" in out.stderr


def test_window_closed_by_user_is_cleaned_up(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", cwd=repo)
    item = ls_json(env)[0]
    env.tmux("kill-window", "-t", str(item["window_id"]))
    assert ls_json(env) == []
    assert not (env.lock_dir / f"{item['port']}.lock").exists()


def test_gc_removes_only_our_stale_locks(world: Env, repo: Path) -> None:
    env = world
    env.cli("ls")  # the controller runs (it also reaps such leftovers when it starts)
    env.lock_dir.mkdir(parents=True, exist_ok=True)
    ours = env.lock_dir / "10500.lock"
    ours.write_text(json.dumps({"pid": 999999, "instanceId": "dead1", "transport": "ws"}))
    theirs = env.lock_dir / "10501.lock"
    theirs.write_text(json.dumps({"pid": 999999, "ideName": "Visual Studio Code", "transport": "ws"}))
    out = env.cli("gc")
    assert "removed 1 stale lock file" in out.stdout
    assert not ours.exists() and theirs.exists()


def test_ports_with_existing_lock_files_are_skipped(world: Env, repo: Path) -> None:
    env = world
    env.lock_dir.mkdir(parents=True, exist_ok=True)
    (env.lock_dir / f"{env.port_base}.lock").write_text("{}")
    env.cli("open", cwd=repo)
    assert ls_json(env)[0]["port"] == env.port_base + 1


def test_doctor_reports(world: Env) -> None:
    out = world.cli("doctor", check=False)
    assert "[ok] tmux: tmux" in out.stdout
    assert "[ok] git: git version" in out.stdout
    assert "claude" in out.stdout


def test_demo_builds_two_worktrees_and_opens_both(world: Env, tmp_path: Path) -> None:
    out = world.cli("demo", "--dir", str(tmp_path / "d"), "--no-attach")
    assert out.stdout.count("started ") == 2
    items = ls_json(world)
    assert sorted(i["branch"] for i in items) == ["feature-a", "feature-b"]
    assert all(Path(str(i["worktree"])).parent == tmp_path / "d" for i in items)


def test_bad_config_is_a_clear_error_naming_the_key(world: Env, repo: Path) -> None:
    world.write_config("[multi_instance]\nmax_instanses = 3\n")
    out = world.cli("new", "x", cwd=repo, check=False)
    assert out.returncode == 3 and "multi_instance.max_instanses" in out.stderr and "Traceback" not in out.stderr
    world.write_config('[multi_instance]\nmax_instances = "three"\n')
    out = world.cli("doctor", check=False)
    assert out.returncode == 1 and "multi_instance.max_instances" in out.stdout
