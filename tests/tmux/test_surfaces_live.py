"""The surfaces against a running controller: names across repos, refusals that point at the instance, CPU stats
for several instances, the status glyphs after a reload, and the Neovim picker, completion and statusline fed by
the controller (real tmux, git, headless Neovim, the console script)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.env import Env, ls_json
from tests.helpers.waiting import aretry_until, retry_until
from tmuxclaude.adapters.nvim import NvimClient

pytestmark = pytest.mark.timeout(120)

PLUGIN = Path(__file__).resolve().parents[2] / "tmux" / "tmuxclaude.tmux"


def run_hook(env: Env, item: dict[str, Any], event: str) -> None:
    """The hook command exactly as the instance's --settings file gives it to Claude Code."""
    settings = Path(env.vars["XDG_RUNTIME_DIR"]).glob(f"tmuxclaude/*/{item['id']}.settings.json")
    command = json.loads(next(settings).read_text())["hooks"][event][0]["hooks"][0]["command"]
    body = json.dumps({"session_id": "sess-1", "hook_event_name": event})
    subprocess.run(["sh", "-c", command], input=body, text=True, capture_output=True, timeout=10, check=True)


def by_name(env: Env) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in ls_json(env)}


def test_names_across_repos_are_qualified_and_resolvable(world: Env, repo: Path) -> None:
    env = world
    shop = env.make_repo("shop")
    shell = env.tmux("display-message", "-p", "-t", "main:", "#{pane_id}")
    env.cli("open", "-d", str(repo))
    env.cli("open", "-d", str(shop))
    env.cli("new", "-d", "wt-ß", cwd=shop)
    names = by_name(env)
    assert sorted(names) == ["main", "shop/main", "wt-ß"]
    assert env.tmux("display-message", "-p", "-t", names["wt-ß"]["window_id"], "#{window_name}") == "wt-ß"
    for ref, expected in (("shop", "shop/main"), ("myapp", "main"), ("shop/main", "shop/main"),
                          ("myapp/main", "main"), ("shop/wt-ß", "wt-ß"), ("wt-ß", "wt-ß")):  # fmt: skip
        env.cli("switch", ref, pane=shell)
        assert env.tmux("display-message", "-p", "-t", names[expected]["window_id"], "#{window_active}") == "1", ref


def test_new_for_a_branch_with_an_instance_points_at_it(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "-d", "feat-x", cwd=repo)
    out = env.cli("new", "-d", "feat-x", cwd=repo, check=False)
    assert out.returncode == 6 and "Traceback" not in out.stderr
    assert "feat-x already has an instance, feat-x" in out.stderr and "tmuxclaude switch feat-x" in out.stderr
    # A branch checked out in a worktree without an instance: `open` is the way.
    other = repo.parent / "elsewhere"
    subprocess.run(["git", "worktree", "add", "-q", "-b", "feat-y", str(other)], cwd=repo, check=True)
    out = env.cli("new", "-d", "feat-y", cwd=repo, check=False)
    assert out.returncode == 4 and f"`tmuxclaude open {other}`" in out.stderr
    assert len(ls_json(env)) == 1


def test_single_instance_refusal_names_the_running_one(world: Env, repo: Path) -> None:
    env = world
    env.use_recorder("[multi_instance]\nenabled = false\n")
    env.cli("new", "-d", "feat-a", cwd=repo)
    out = env.cli("new", "-d", "feat-b", cwd=repo, check=False)
    assert out.returncode == 7 and "feat-a is running" in out.stderr and "tmuxclaude kill feat-a" in out.stderr


def test_cpu_of_every_instance_is_measured(world: Env, repo: Path) -> None:
    """Two instances whose Claude panes burn CPU: both show it (a shared process cache made them all 0.0%)."""
    env = world
    burner = json.dumps(["sh", "-c", "while :; do :; done"])  # the appended --settings FILE become $0 $1
    sleeper = json.dumps(["sh", "-c", "exec sleep infinity", "nvim"])
    env.write_config(f"[commands]\nclaude = {burner}\nnvim = {sleeper}\n")
    env.cli("new", "-d", "hot-a", cwd=repo)
    env.cli("new", "-d", "hot-b", cwd=repo)

    def both_busy() -> bool:
        cpu = [i["stats"]["cpu_percent"] for i in ls_json(env)]
        return len(cpu) == 2 and all(c > 1.0 for c in cpu)

    retry_until(both_busy, 20, "CPU of both instances")


def test_instance_indicator_off_after_a_reload_drops_the_glyphs(world: Env, repo: Path) -> None:
    env = world
    env.tmux("run-shell", str(PLUGIN))
    env.cli("new", "-d", "feat-a", cwd=repo)
    window = ls_json(env)[0]["window_id"]

    def rendered() -> str:
        return env.tmux("display-message", "-p", "-t", window, "#{E:window-status-format}")

    assert "○" in rendered() and env.tmux("show-option", "-gv", "@tmuxclaude_summary") == "✻1 1○"
    env.use_recorder("[multi_instance]\ninstance_indicator = false\n")
    env.cli("ls")  # the next command picks the edited config up
    assert "○" not in rendered() and env.tmux("display-message", "-p", "-t", window, "#{@tmuxclaude_glyph}") == ""
    retry_until(lambda: env.tmux("show-option", "-gqv", "@tmuxclaude_summary") == "", 5, "summary cleared")
    env.use_recorder()
    env.cli("ls")
    assert "○" in rendered()


async def shows(client: NvimClient, text: str) -> bool:
    """Whether the statusline component renders ``text`` in a real 'statusline'."""
    result = await client.request("nvim_eval_statusline", "%{v:lua.require'tmuxclaude'.statusline()}", {})
    return str(result["str"]) == text


def all_attached(env: Env, n: int) -> list[dict[str, Any]] | None:
    items = ls_json(env)
    return items if len(items) == n and all(i["nvim_attached"] for i in items) else None


def test_neovim_picker_completion_and_statusline_from_the_controller(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "-d", "feat-a", cwd=repo)
    env.cli("new", "-d", "feat-b", cwd=repo)
    a, b = retry_until(lambda: all_attached(env, 2), 20, "both Neovims attached")

    async def drive() -> None:
        client = await NvimClient.connect(a["nvim_socket"])
        try:
            await aretry_until(lambda: shows(client, "feat-a ○"), 10, "statusline")
            run_hook(env, a, "UserPromptSubmit")
            await aretry_until(lambda: shows(client, "feat-a ●"), 10, "busy glyph pushed")
            got = await client.request("nvim_call_function", "getcompletion", ["ClaudeCodeSwitch feat", "cmdline"])
            assert got == ["feat-a", "feat-b"]
            await client.exec_lua(
                "vim.ui.select = function(items, opts, cb) _G.lines = vim.tbl_map(opts.format_item, items);"
                " cb(items[2]) end"
            )
            await client.request("nvim_command", "ClaudeCodeSwitch")
            lines = await client.exec_lua("return _G.lines")
            assert lines[0].startswith("feat-a  [feat-a]  busy  :") and lines[1].startswith("feat-b  [feat-b]  idle")
        finally:
            await client.close()

    asyncio.run(drive())
    # The picker's choice switched the session of a's window to b's.
    session = env.tmux("display-message", "-p", "-t", a["window_id"], "#{session_id}")
    assert env.tmux("display-message", "-p", "-t", session, "#{window_id}") == b["window_id"]
