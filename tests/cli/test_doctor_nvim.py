"""`tmuxclaude doctor` names the user's Neovim and where it stands against the tested range, and lists other
IDEs' lock files that claim an instance's worktree."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers.env import Env, fake_command, ls_json
from tests.helpers.waiting import retry_until


def _fake_nvim(env: Env, first_line: str) -> Path:
    return fake_command(env, "nvim", f"echo '{first_line}'\necho 'Build type: Release'\n")


@pytest.mark.parametrize(
    ("first", "ok", "expect"),
    [
        ("NVIM v0.11.4", True, "0.11.4 is in the tested range 0.7.2 to 0.12.0-dev"),
        ("NVIM v0.12.6", True, "0.12.6 is in the tested range"),
        ("NVIM v0.12.0-dev-1386+gfbb1caf", True, "0.12.0-dev is in the tested range"),
        ("NVIM v0.6.1", False, "is older than the tested range 0.7.2 to 0.12.0-dev"),
        ("NVIM v0.13.0", False, "is newer than the tested range 0.7.2 to 0.12.0-dev"),
    ],
)
def test_doctor_names_the_neovim_and_the_range(env: Env, first: str, ok: bool, expect: str) -> None:
    path = _fake_nvim(env, first)
    out = env.cli("doctor", check=False)
    line = next(x for x in out.stdout.splitlines() if "] nvim:" in x)
    assert line.startswith("[ok]" if ok else "[!!]") and expect in line and str(path) in line, line


def test_doctor_with_the_real_neovim_on_path(env: Env, nvim_version: str) -> None:
    out = env.cli("doctor", check=False)
    line = next(x for x in out.stdout.splitlines() if "] nvim:" in x)
    assert line.startswith("[ok] nvim: NVIM v" + nvim_version), line


def test_doctor_lists_another_ides_lock_file_claiming_an_instances_worktree(world: Env, repo: Path) -> None:
    world.cli("new", "-d", "feat-b", cwd=repo)
    item = retry_until(lambda: ls_json(world), 20, "the instance")[0]
    world.lock_dir.mkdir(parents=True, exist_ok=True)
    foreign = {"pid": os.getpid(), "workspaceFolders": [item["worktree"]], "ideName": "Neovim\x1b[31m",
               "transport": "ws", "authToken": "x"}  # fmt: skip
    (world.lock_dir / "23456.lock").write_text(json.dumps(foreign))
    # A lock file for somewhere else is not listed.
    (world.lock_dir / "23457.lock").write_text(json.dumps({**foreign, "workspaceFolders": ["/elsewhere"]}))
    out = world.cli("doctor", check=False)
    lines = [x for x in out.stdout.splitlines() if "] other IDE:" in x]
    assert len(lines) == 1 and out.returncode == 1
    assert lines[0].startswith(f"[!!] other IDE: 23456.lock (Neovim?[31m, pid {os.getpid()}) claims")
    assert f"the worktree of instance {item['name']}" in lines[0]
