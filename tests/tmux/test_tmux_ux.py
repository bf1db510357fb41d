"""Living in it: the tmux plugin, status line, hooks, picker, notifications, limits, restore (real tmux)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.env import Env, ls_json
from tests.helpers.tty_client import attached_client
from tests.helpers.waiting import retry_until

pytestmark = pytest.mark.timeout(90)

PLUGIN = Path(__file__).resolve().parents[2] / "tmux" / "tmuxclaude.tmux"
HOOK = str(files("tmuxclaude") / "hooks" / "hook.sh")


def only(env: Env) -> dict[str, Any]:
    items = ls_json(env)
    assert len(items) == 1
    return items[0]


def run_hook(env: Env, item: dict[str, Any], event: str, payload: dict[str, Any] | None = None) -> None:
    """Run the hook exactly as Claude Code runs it: the command from the instance's --settings file."""
    settings = Path(env.vars["XDG_RUNTIME_DIR"]).glob(f"tmuxclaude/*/{item['id']}.settings.json")
    hooks = json.loads(next(settings).read_text())["hooks"]
    command = hooks[event][0]["hooks"][0]["command"]
    body = json.dumps({"session_id": "sess-0001", "hook_event_name": event, **(payload or {})})
    out = subprocess.run(["sh", "-c", command], input=body, capture_output=True, text=True, timeout=10, check=False)
    assert out.returncode == 0 and out.stdout == ""


def show(env: Env, target: str, fmt: str) -> str:
    return env.tmux("display-message", "-p", "-t", target, fmt)


def test_plugin_loads_binds_keys_and_status_segments(world: Env, repo: Path) -> None:
    env = world
    env.tmux("run-shell", str(PLUGIN))
    keys = env.tmux("list-keys", "-T", "tmuxclaude")
    for key in ("n", "p", "k", "s", "w", "o"):
        assert f"tmuxclaude {key} " in keys.replace("  ", " ") or f" {key} " in keys
    assert "switch-client -T tmuxclaude" in env.tmux("list-keys", "-T", "prefix")
    assert "@tmuxclaude_summary" in env.tmux("show-option", "-gv", "status-right")
    # No process per redraw: the segments are formats over options, never #(shell commands).
    for option in ("status-right", "window-status-format", "window-status-current-format"):
        assert "#(" not in env.tmux("show-option", "-gv", option)
    # Loading twice does not stack segments.
    env.tmux("run-shell", str(PLUGIN))
    assert env.tmux("show-option", "-gv", "window-status-format").count("@tmuxclaude_glyph") == 1

    env.cli("new", "feat-a", cwd=repo)
    item = only(env)
    rendered = show(env, item["window_id"], "#{E:window-status-format}")
    assert "feat-a" in rendered and "○" in rendered
    assert show(env, "main:", "#{E:status-right}").startswith("✻1 1○")


def test_hooks_drive_state_status_and_session_id(world: Env, repo: Path) -> None:
    env = world
    env.tmux("run-shell", str(PLUGIN))
    env.cli("new", "feat-a", cwd=repo)
    item = only(env)
    run_hook(env, item, "SessionStart")
    assert only(env)["claude_session_id"] == "sess-0001"
    run_hook(env, item, "UserPromptSubmit")
    assert show(env, item["window_id"], "#{@tmuxclaude_state}") == "busy"
    assert "●" in show(env, item["window_id"], "#{E:window-status-format}")
    assert show(env, "main:", "#{@tmuxclaude_summary}") == "✻1 1●"
    run_hook(env, item, "Notification", {"notification_type": "permission_prompt"})
    assert only(env)["state"] == "waiting"
    assert show(env, "main:", "#{@tmuxclaude_summary}") == "✻1 1◆"
    run_hook(env, item, "Stop")
    assert only(env)["state"] == "idle"


def test_hook_with_wrong_token_or_dead_controller_is_harmless(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", cwd=repo)
    item = only(env)
    bad = Path(env.short) / "bad-token"
    bad.write_text("not-the-token\n")
    out = subprocess.run(
        ["bash", HOOK, "UserPromptSubmit", str(item["port"]), str(bad)], input=b"{}", capture_output=True, timeout=10
    )
    assert out.returncode == 0 and only(env)["state"] == "idle"
    # Nothing listening: still exit 0, fast, silent.
    out = subprocess.run(["bash", HOOK, "Stop", "1", str(bad)], input=b"{}", capture_output=True, timeout=10)
    assert out.returncode == 0 and out.stdout == b""


def test_waiting_rings_the_bell_on_that_window(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", "-d", cwd=repo)
    item = only(env)
    env.tmux("set-option", "-g", "monitor-bell", "on")
    with attached_client(env, "tmuxclaude"):
        env.tmux("new-window", "-d", "-t", "tmuxclaude:")  # the instance window is not the one being looked at
        env.tmux("select-window", "-t", "tmuxclaude:1")
        run_hook(env, item, "Notification", {"notification_type": "idle_prompt"})
        retry_until(lambda: show(env, item["window_id"], "#{window_bell_flag}") == "1", 10, "bell flag")


def test_stuck_busy_clears_after_quiet_period(world: Env, repo: Path) -> None:
    env = world
    env.use_recorder("[limits]\nbusy_timeout_s = 1.0\n")
    env.cli("new", "feat-a", cwd=repo)
    item = only(env)
    run_hook(env, item, "PreToolUse")
    assert only(env)["state"] == "busy"
    # An interrupt fires no hook; the quiet pane gives it away.
    retry_until(lambda: only(env)["state"] == "idle", 15, "busy cleared")


def test_pick_lists_and_switches(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", "-d", cwd=repo)
    env.cli("new", "feat-b", "-d", cwd=repo)
    a, b = ls_json(env)
    from tmuxclaude.cli.pick import menu_args

    labels = menu_args(ls_json(env))[0::3]
    assert labels[0].startswith("feat-a  [feat-a]  idle  :") and labels[1].startswith("feat-b")
    with attached_client(env, "tmuxclaude") as tty:
        env.tmux("select-window", "-t", a["window_id"])
        client = env.tmux("list-clients", "-F", "#{client_name}")
        env.cli("pick", "--client", client)
        os.write(tty, b"2")
        retry_until(lambda: show(env, "tmuxclaude", "#{window_id}") == b["window_id"], 10, "switched to feat-b")


def test_next_waiting_jumps(world: Env, repo: Path) -> None:
    env = world
    shell = env.tmux("display-message", "-p", "-t", "main:", "#{pane_id}")
    env.cli("new", "feat-a", "-d", cwd=repo, pane=shell)
    env.cli("new", "feat-b", "-d", cwd=repo, pane=shell)
    _, b = ls_json(env)
    assert env.cli("next", check=False, pane=shell).returncode == 6  # nobody is waiting
    run_hook(env, b, "Notification")
    env.cli("next", pane=shell)
    assert show(env, "main", "#{window_id}") == b["window_id"]


def test_auto_start_for_worktree_from_neovim(world: Env, repo: Path) -> None:
    env = world
    env.use_recorder("[multi_instance]\nauto_start_for_worktree = true\n")
    other = repo.parent / "other"
    subprocess.run(["git", "worktree", "add", "-q", "-b", "other", str(other)], cwd=repo, check=True)
    env.cli("open", str(repo), cwd=repo)
    item = retry_until(lambda: [i for i in ls_json(env) if i["nvim_attached"]], 20, "nvim attached")[0]
    import asyncio

    from tmuxclaude.adapters.nvim import NvimClient

    async def edit() -> None:
        client = await NvimClient.connect(item["nvim_socket"])
        await client.request("nvim_command", f"edit {other / 'README.md'}")
        await client.close()

    asyncio.run(edit())
    retry_until(lambda: len(ls_json(env)) == 2, 20, "instance for the other worktree")
    assert {i["worktree"] for i in ls_json(env)} == {str(repo), str(other)}


def test_cleanup_on_exit_when_neovim_quits(world: Env, repo: Path) -> None:
    env = world
    env.cli("open", str(repo), cwd=repo)
    item = retry_until(lambda: [i for i in ls_json(env) if i["nvim_attached"]], 20, "nvim attached")[0]
    env.tmux("send-keys", "-t", item["nvim_pane"], "")  # the pane exists
    import asyncio

    from tmuxclaude.adapters.nvim import NvimClient

    async def quit_nvim() -> None:
        client = await NvimClient.connect(item["nvim_socket"])
        client.notify("nvim_command", "qa!")
        await client.wait_closed()

    asyncio.run(quit_nvim())
    retry_until(lambda: ls_json(env) == [], 15, "instance torn down")
    assert not (env.lock_dir / f"{item['port']}.lock").exists()
    assert item["window_id"] not in env.tmux("list-windows", "-a", "-F", "#{window_id}").split()


@pytest.mark.parametrize(
    ("naming", "expected"),
    [
        ('format = "worktree"', "myapp-feat-x"),
        ('format = "branch"', "feat-x"),
        ('format = "custom"\ncustom_formatter = "{repo}:{branch}#{n}"', "myapp-feat-x-1"),
        ('format = "custom"\ncustom_formatter = "namer_mod:name"', "NAMED-feat-x"),
    ],
)
def test_naming_formats(world: Env, repo: Path, naming: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = world
    mod_dir = env.short / "mods"
    mod_dir.mkdir()
    (mod_dir / "namer_mod.py").write_text("def name(repo, branch, worktree, n):\n    return 'NAMED-' + branch\n")
    env.use_recorder(f"[instance_naming]\n{naming}\n")
    # Added to (not replacing) the PYTHONPATH the suite may run with, and restored afterwards.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(mod_dir), os.environ.get("PYTHONPATH")])))
    env.cli("daemon", "stop")
    env.cli("new", "feat-x", cwd=repo)
    assert only(env)["name"] == expected


def test_bootstrap_copies_include_files_and_runs_post_create(world: Env, repo: Path) -> None:
    env = world
    (repo / ".gitignore").write_text(".env\nconfig/local.json\n")
    (repo / ".env").write_text("SECRET=1\n")
    (repo / "config").mkdir()
    (repo / "config" / "local.json").write_text("{}\n")
    (repo / ".worktreeinclude").write_text("# files a worktree needs\nconfig/local.json\n")
    subprocess.run(["git", "add", ".gitignore", ".worktreeinclude"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "ignore"], cwd=repo, check=True)
    env.use_recorder(
        '[worktrees]\ninclude = [".env"]\npost_create = "echo $TMUXCLAUDE_NAME $TMUXCLAUDE_PORT > created.txt"\n'
    )
    env.cli("new", "feat-a", cwd=repo)
    item = only(env)
    wt = Path(item["worktree"])
    assert (wt / ".env").read_text() == "SECRET=1\n"
    assert (wt / "config" / "local.json").read_text() == "{}\n"
    retry_until(lambda: (wt / "created.txt").exists(), 10, "post_create ran")
    assert (wt / "created.txt").read_text().split() == ["feat-a", str(item["port"])]


def test_stats_in_ls_json_and_rss_warning(world: Env, repo: Path) -> None:
    env = world
    env.use_recorder("[limits]\nmax_rss_mb = 1\n")
    env.cli("new", "feat-a", cwd=repo)
    item = only(env)
    assert item["stats"]["rss_mb"] > 1 and item["stats"]["processes"] >= 2
    assert "rss" in env.cli("ls", "--stats").stdout
    retry_until(lambda: show(env, item["window_id"], "#{@tmuxclaude_warn}") == "rss", 20, "rss warning")


def test_pause_and_resume(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", cwd=repo)
    item = only(env)
    run_hook(env, item, "SessionStart")
    first = env.record(item["id"])
    env.cli("pause", "feat-a")
    assert only(env)["state"] == "paused"
    retry_until(lambda: "paused by tmuxclaude" in env.tmux("capture-pane", "-p", "-t", item["claude_pane"]), 10, "msg")
    assert Path(item["worktree"]).is_dir() and (env.lock_dir / f"{item['port']}.lock").exists()
    (env.records / f"{item['id']}.json").unlink()
    env.cli("resume", "feat-a")
    rec = env.record(item["id"])
    assert rec["argv"][-1:] == ["--resume=sess-0001"] and rec["pid"] != first["pid"]
    assert only(env)["state"] == "idle"


def test_idle_instance_is_paused(world: Env, repo: Path) -> None:
    env = world
    env.use_recorder("[limits]\nidle_minutes = 0.02\n")
    env.cli("new", "feat-a", cwd=repo)
    retry_until(lambda: only(env)["state"] == "paused", 20, "idle pause")


def test_restore_after_tmux_server_restart(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", cwd=repo)
    env.cli("new", "feat-b", cwd=repo)
    before = {i["name"]: i for i in ls_json(env)}
    for item in before.values():
        run_hook(env, item, "SessionStart", {"session_id": f"sid-{item['name']}"})
        (env.records / f"{item['id']}.json").unlink(missing_ok=True)
    env.tmux("kill-server")
    retry_until(lambda: all(i["state"] == "orphaned" for i in ls_json(env)), 15, "instances kept as orphaned")
    assert list(env.lock_dir.glob("*.lock")) == []
    env.start_tmux()
    out = env.cli("restore")
    assert out.stdout.count("restored") == 2
    after = {i["name"]: i for i in ls_json(env)}
    for name, item in after.items():
        assert item["port"] == before[name]["port"] and item["state"] == "idle"
        rec = env.record(item["id"])
        assert rec["argv"][-1:] == [f"--resume=sid-{name}"]
        assert (env.lock_dir / f"{item['port']}.lock").exists()
    assert sys.platform.startswith("linux")


def test_claudecode_in_a_users_own_neovim_creates_and_wires_the_claude_pane(world: Env, repo: Path) -> None:
    """A Neovim not started by tmuxclaude (the plugin on its runtimepath), inside tmux: :ClaudeCode joins it."""
    env = world
    rtp = str(files("tmuxclaude") / "nvim")
    sock = str(env.short / "own.sock")
    pane = env.tmux(
        "split-window", "-P", "-F", "#{pane_id}", "-t", "main:", "-c", str(repo),
        "nvim", "--clean", "--listen", sock, "--cmd", f"set rtp^={rtp}",
    )  # fmt: skip
    retry_until(lambda: os.path.exists(sock), 10, "nvim socket")
    retry_until(lambda: "~" in env.tmux("capture-pane", "-p", "-t", pane), 10, "nvim drawn")
    env.tmux("send-keys", "-t", pane, ":ClaudeCode", "Enter")
    item = retry_until(lambda: [i for i in ls_json(env) if i["nvim_attached"]], 20, "joined instance")[0]
    assert item["nvim_pane"] == pane and item["nvim_socket"] == sock and item["worktree"] == str(repo)
    window = show(env, pane, "#{window_id}")
    assert item["window_id"] == window
    # The Claude pane was split beside this Neovim, with the instance's own environment.
    assert show(env, item["claude_pane"], "#{window_id}") == window
    assert env.record(item["id"])["env"]["CLAUDE_CODE_SSE_PORT"] == str(item["port"])
    env.cli("kill", cwd=repo)  # from the repo dir: that instance
    # Killing it removes only the Claude pane: the user's Neovim stays.
    assert pane in env.tmux("list-panes", "-a", "-F", "#{pane_id}").split()
    assert item["claude_pane"] not in env.tmux("list-panes", "-a", "-F", "#{pane_id}").split()
    assert show(env, pane, "#{@tmuxclaude_id}") == ""  # our tags are gone from the user's window


def test_instance_indicator_off_hides_state_in_the_status_line(world: Env, repo: Path) -> None:
    env = world
    env.use_recorder("[multi_instance]\ninstance_indicator = false\n")
    env.tmux("run-shell", str(PLUGIN))
    env.cli("new", "feat-a", cwd=repo)
    item = only(env)
    run_hook(env, item, "UserPromptSubmit")
    assert only(env)["state"] == "busy"  # the state is still tracked...
    assert "●" not in show(env, item["window_id"], "#{E:window-status-format}")  # ...but not shown
    assert show(env, "main:", "#{@tmuxclaude_summary}") == ""


def test_a_pane_cding_into_another_worktree_is_offered_its_instance(world: Env, repo: Path) -> None:
    env = world
    env.use_recorder("[multi_instance]\nauto_start_for_worktree = true\n")
    other = repo.parent / "other"
    subprocess.run(["git", "worktree", "add", "-q", "-b", "other", str(other)], cwd=repo, check=True)
    env.cli("open", "-d", str(repo), cwd=repo)
    shell = env.tmux("display-message", "-p", "-t", "main:", "#{pane_id}")
    env.tmux("send-keys", "-t", shell, f"cd {other}", "Enter")

    def offered() -> bool:
        events = json.loads(env.cli("daemon", "status", "--json").stdout)["events"]
        return any(f"offered an instance for {other}" in e for e in events)

    retry_until(offered, 15, "offer for the other worktree")
    assert len(ls_json(env)) == 1  # offered, not started behind the user's back
