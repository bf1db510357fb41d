"""Files a repository provides: its committed Claude settings choosing a permission mode (finding 5) and files
built to break a parser (finding 10). On 6eae274 the project's `auto` turned review off and the log called it
the user's choice; a deeply nested settings.json made `open` fail with "internal error" (RecursionError)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers.env import Env, ls_json
from tests.helpers.waiting import retry_until
from tests.reliability.reliability_helpers import log_file

pytestmark = pytest.mark.timeout(90)


def _commit_settings(repo: Path, text: str) -> None:
    (repo / ".claude").mkdir(exist_ok=True)
    (repo / ".claude" / "settings.json").write_text(text)
    subprocess.run(["git", "add", ".claude"], cwd=repo, check=True, capture_output=True)
    subprocess.run(["git", "commit", "-qm", "settings"], cwd=repo, check=True, capture_output=True)


def _argv(env: Env, instance_id: str) -> list[str]:
    return list(retry_until(lambda: env.record(instance_id)["argv"], 10, "the Claude pane's argv"))


def test_a_repositorys_settings_do_not_turn_review_off(world: Env, repo: Path) -> None:
    env = world
    _commit_settings(repo, json.dumps({"permissions": {"defaultMode": "auto"}}))
    env.cli("new", "-d", "proj-auto", cwd=repo)
    (item,) = ls_json(env)
    argv = _argv(env, item["id"])
    mode = argv[argv.index("--permission-mode") + 1]
    assert mode in ("manual", "default"), argv  # the ask-before-edit mode, passed explicitly
    permission = item["permission"]
    assert permission["chosen_by"] == "tmuxclaude" and permission["mode"] == mode
    assert "repository's permissions.defaultMode = 'auto'" in permission["reason"]
    log = log_file(env).read_text()
    assert "chosen by tmuxclaude" in log and "user's choice" not in log
    doctor = env.cli("doctor", cwd=Path(item["worktree"]), check=False).stdout
    assert f"[ok] permission mode: {mode}, chosen by tmuxclaude" in doctor, doctor

    # Your own settings still decide, and are passed explicitly so the project's cannot override them.
    (Path(env.vars["CLAUDE_CONFIG_DIR"])).mkdir(exist_ok=True)
    (Path(env.vars["CLAUDE_CONFIG_DIR"]) / "settings.json").write_text(
        json.dumps({"permissions": {"defaultMode": "acceptEdits"}})
    )
    env.cli("new", "-d", "user-choice", cwd=repo)
    item = next(i for i in ls_json(env) if i["name"] == "user-choice")
    argv = _argv(env, item["id"])
    assert argv[argv.index("--permission-mode") + 1] == "acceptEdits"
    assert item["permission"]["chosen_by"] == "user"


@pytest.mark.parametrize("shape", ["deep", "huge"])
def test_a_hostile_settings_file_gives_one_line_naming_it(world: Env, repo: Path, shape: str) -> None:
    env = world
    text = "[" * 100_000 + "]" * 100_000 if shape == "deep" else json.dumps({"x": "y" * (2 << 20)})
    _commit_settings(repo, text)
    out = env.cli("open", "-d", cwd=repo, check=False)
    assert out.returncode == 3, (out.returncode, out.stderr)
    assert out.stderr.count("\n") == 1 and str(repo / ".claude" / "settings.json") in out.stderr, out.stderr
    assert "internal error" not in out.stderr
    assert ls_json(env) == []


def test_a_deeply_nested_lock_file_in_the_lock_dir_breaks_nothing(world: Env, repo: Path) -> None:
    env = world
    env.lock_dir.mkdir(parents=True, exist_ok=True)
    (env.lock_dir / "1.lock").write_text("[" * 100_000 + "]" * 100_000)
    env.cli("open", "-d", cwd=repo)
    assert len(ls_json(env)) == 1
    assert env.cli("gc").returncode == 0
    doctor = env.cli("doctor", check=False)
    assert "internal error" not in doctor.stdout + doctor.stderr and "Traceback" not in doctor.stderr
