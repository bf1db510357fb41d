"""End to end with the real Claude Code CLI: `tmuxclaude new BRANCH` from a shell in a tmux pane, as a user runs it.

Claude's pane starts before its IDE server and lock file exist (controller/spawn.py: the lock file is read only
when the CLI looks for its IDE); this shows that the CLI still finds its own IDE on its first try, and that the
window is what the user expects: Claude's pane focused on the right, Neovim's on the left.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.claude_env import commands_toml, prepare_claude_home
from tests.e2e.mock_api import MockApi
from tests.e2e.screen import Pane, wait_ready
from tests.helpers.env import Env, ls_json
from tests.helpers.waiting import retry_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def _server(env: Env, port: int) -> dict[str, Any] | None:
    servers = json.loads(env.cli("daemon", "status", "--json").stdout)["servers"].values()
    return next((s for s in servers if s["port"] == port), None)


def test_new_from_a_pane_connects_its_claude_on_the_first_try(
    env: Env, repo: Path, claude_bin: Path, claude_version: str, mock_api: MockApi
) -> None:
    branch = "feat-fast"
    worktree = repo.parent / f"{repo.name}-{branch}"  # the default worktrees.dir template
    claude_env = prepare_claude_home(env.home, api_url=mock_api.url, version=claude_version, trusted_dirs=[worktree])
    env.write_config(commands_toml(claude_bin, claude_env, ["nvim", "--clean"]))
    env.start_tmux()
    shell = env.tmux("display-message", "-p", "-t", "main:", "#{pane_id}")
    env.cli("ls")  # the controller runs, as for a user's second command

    out = env.cli("new", branch, cwd=repo, pane=shell)

    assert out.stdout.startswith("started ")
    (item,) = ls_json(env)
    assert item["worktree"] == str(worktree)
    claude = Pane(Path(env.socket), item["claude_pane"])
    wait_ready(claude, timeout=40)
    steps = ("initialized", "ide_connected", "tools_listed")

    def connected() -> dict[str, Any] | None:
        s = _server(env, item["port"])
        return s if s and s["clients"] == 1 and all(step in s["calls"] for step in steps) else None

    server = retry_until(connected, 30, "Claude connected to its IDE")
    # One connect, nothing refused: the CLI found the lock file and the server up on its first look.
    assert server["connects"] == 1 and server["refused"] == {}
    lock = json.loads((env.lock_dir / f"{item['port']}.lock").read_text())
    assert lock["workspaceFolders"][0] == str(worktree)
    # The window went to the caller's session with Claude's pane focused, Neovim's on its left.
    window = item["window_id"]
    assert env.tmux("display-message", "-p", "-t", window, "#{session_name} #{window_active} #{pane_id}") == (
        f"main 1 {item['claude_pane']}"
    )
    panes = env.tmux("list-panes", "-t", window, "-F", "#{pane_id}").split()
    assert panes == [item["nvim_pane"], item["claude_pane"]]
