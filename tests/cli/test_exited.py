"""When an instance's Claude exits (real tmux, the recorder standing in for a claude that fails): the pane stays with
the status and the text, the state is "exited" everywhere, the user is told, and Claude comes back in place.
And: no secret from the config is on any process's argv (issue 11, finding 4)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.helpers.env import Env, ls_json
from tests.helpers.tty_client import attached_client
from tests.helpers.waiting import retry_until
from tmuxclaude.model.instance import InstanceState
from tmuxclaude.model.states import GLYPHS

pytestmark = pytest.mark.timeout(90)

OFFLINE = (
    "Unable to connect to Anthropic services\n"
    "Failed to connect to api.anthropic.com: ENOTFOUND\n"
    "Check your internet connection and network settings.\n"
)


def only(env: Env) -> dict[str, Any]:
    items = ls_json(env)
    assert len(items) == 1
    return items[0]


def fail_next(env: Env, text: str = OFFLINE, status: int = 1) -> None:
    """The next stand-in Claude that starts (or gets SIGUSR1) prints ``text`` and exits with ``status``."""
    (env.records / "exit-next.json").write_text(json.dumps({"status": status, "text": text}))


def runs(env: Env, instance_id: str) -> list[dict[str, Any]]:
    path = env.records / f"{instance_id}.runs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def pane_text(env: Env, pane: str) -> str:
    return env.tmux("capture-pane", "-p", "-J", "-t", pane)


def run_hook(env: Env, item: dict[str, Any], event: str, session: str) -> None:
    """Run the hook exactly as Claude Code runs it: the command from the instance's --settings file."""
    settings = next(Path(env.vars["XDG_RUNTIME_DIR"]).glob(f"tmuxclaude/*/{item['id']}.settings.json"))
    command = json.loads(settings.read_text())["hooks"][event][0]["hooks"][0]["command"]
    body = json.dumps({"session_id": session, "hook_event_name": event})
    subprocess.run(["sh", "-c", command], input=body, text=True, timeout=10, check=True)


def footer(env: Env, pane: str) -> str:
    """The pane's text once the launcher's footer shows."""
    return retry_until(lambda: next((t for t in [pane_text(env, pane)] if "k: kill instance" in t), None), 10, "footer")


def exited(env: Env) -> dict[str, Any]:
    return retry_until(lambda: next((i for i in ls_json(env) if i["state"] == "exited"), None), 15, "state exited")


@pytest.mark.parametrize("remain", ["on", "off"])
def test_claude_that_cannot_start_stays_visible_is_reported_and_resumes_in_place(
    world: Env, repo: Path, remain: str
) -> None:
    env = world
    env.tmux("set-option", "-g", "remain-on-exit", remain)
    fail_next(env)
    with attached_client(env, "main"):
        env.cli("new", "feat-a", cwd=repo)
        item = exited(env)
        # Reported at once to the attached client: the instance and the first line of the error.
        retry_until(
            lambda: "feat-a" in (log := env.tmux("show-messages")) and "Unable to connect to Anthropic services" in log,
            10,
            "the exit message on the client",
        )
    pane = item["claude_pane"]
    text = footer(env, pane)
    assert "Failed to connect to api.anthropic.com: ENOTFOUND" in text
    assert "Claude Code exited with status 1." in text
    assert "r or Enter: start Claude again here" in text
    assert item["exit"]["status"] == 1
    assert item["exit"]["headline"] == "Unable to connect to Anthropic services"
    assert env.tmux("display-message", "-p", "-t", pane, "#{pane_dead}") == "0"
    # The state shows in the window's status and the summary, and `ls` says it.
    window = item["window_id"]
    assert env.tmux("display-message", "-p", "-t", window, "#{@tmuxclaude_glyph}") == GLYPHS[InstanceState.EXITED]
    assert env.tmux("show-option", "-gv", "@tmuxclaude_summary") == f"✻1 1{GLYPHS[InstanceState.EXITED]}"
    assert "(exited)" in env.cli("ls").stdout
    doctor = env.cli("doctor", check=False)
    assert "[!!] instance feat-a: Claude exited (1): Unable to connect to Anthropic services" in doctor.stdout
    # The user's remain-on-exit is as they set it: globally, and nothing set on our window or pane.
    assert env.tmux("show-option", "-gv", "remain-on-exit") == remain
    assert env.tmux("show-option", "-wqv", "-t", window, "remain-on-exit") == ""
    assert env.tmux("show-option", "-pqv", "-t", pane, "remain-on-exit") == ""

    env.cli("resume", "feat-a")
    retry_until(lambda: len(runs(env, item["id"])) == 2, 10, "Claude started again")
    # No session was recorded (it never started): the conversation of this worktree is continued.
    assert runs(env, item["id"])[1]["argv"][-1] == "--continue"
    again = only(env)
    assert again["claude_pane"] == pane and again["state"] == "idle" and again["exit"] is None
    assert env.tmux("display-message", "-p", "-t", window, "#{@tmuxclaude_glyph}") == GLYPHS[InstanceState.IDLE]


def test_restart_key_resumes_the_recorded_session_in_the_same_pane(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", "-d", cwd=repo)
    item = only(env)
    run_hook(env, item, "SessionStart", "sess-0001")
    first = env.record(item["id"])
    # Mid-session failure; its text tries tmux format expansion: it must reach the user as plain text.
    marker = Path(env.short) / "PWNED"
    fail_next(env, f"Error: login expired #(touch {marker}) #{{pane_id}}\nrun claude /login\n", status=1)
    with attached_client(env, "main"):
        os.kill(first["pid"], signal.SIGUSR1)
        gone = exited(env)
        assert gone["exit"]["headline"] == f"Error: login expired #(touch {marker}) #{{pane_id}}"
        retry_until(lambda: "login expired #(touch" in env.tmux("show-messages"), 10, "the literal message")
    assert not marker.exists()
    pane = item["claude_pane"]
    footer(env, pane)
    env.tmux("send-keys", "-t", pane, "r")
    retry_until(lambda: len(runs(env, item["id"])) == 2, 10, "Claude started again by the key")
    argv = runs(env, item["id"])[1]["argv"]
    assert argv[-1:] == ["--resume=sess-0001"]
    back = retry_until(lambda: next((i for i in ls_json(env) if i["state"] == "idle"), None), 10, "idle again")
    assert back["claude_pane"] == pane and back["window_id"] == item["window_id"]
    # The restarted Claude has its environment again (the file was rewritten for it).
    second = env.record(item["id"])
    assert second["env"]["CLAUDE_CODE_SSE_PORT"] == str(item["port"])
    # Kill ends the whole pane tree: launcher and Claude.
    launcher = int(env.tmux("display-message", "-p", "-t", pane, "#{pane_pid}"))
    env.cli("kill", "feat-a")
    retry_until(lambda: not psutil.pid_exists(second["pid"]) and not psutil.pid_exists(launcher), 10, "no process left")


def test_exit_while_the_controller_is_down_is_noticed_when_it_starts(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "feat-a", "-d", cwd=repo)
    item = only(env)
    first = env.record(item["id"])
    env.cli("daemon", "stop")
    fail_next(env)
    os.kill(first["pid"], signal.SIGUSR1)
    footer(env, item["claude_pane"])  # the launcher's report found nobody; its footer shows anyway
    gone = exited(env)  # ls starts the controller again
    assert gone["exit"]["status"] == 1 and gone["exit"]["headline"] == "Unable to connect to Anthropic services"
    env.tmux("send-keys", "-t", item["claude_pane"], "r")
    retry_until(lambda: len(runs(env, item["id"])) == 2, 10, "restarted by the key")


def test_kill_key_kills_the_instance(world: Env, repo: Path) -> None:
    env = world
    fail_next(env)
    env.cli("new", "feat-a", "-d", cwd=repo)
    item = exited(env)
    pane = item["claude_pane"]
    footer(env, pane)
    env.tmux("send-keys", "-t", pane, "k")
    retry_until(lambda: "[y/N]" in pane_text(env, pane), 10, "the confirmation")
    env.tmux("send-keys", "-t", pane, "y")
    retry_until(lambda: ls_json(env) == [], 10, "instance killed")
    assert item["window_id"] not in env.tmux("list-windows", "-a", "-F", "#{window_id}").split()
    assert Path(item["worktree"]).is_dir()


def test_claude_code_resume_from_neovim(world: Env, repo: Path) -> None:
    env = world
    fail_next(env)
    env.cli("new", "feat-a", "-d", cwd=repo)
    item = exited(env)
    retry_until(lambda: only(env)["nvim_attached"], 15, "Neovim attached")
    nvim = ["nvim", "--server", item["nvim_socket"], "--remote-expr"]

    def lua(expr: str) -> str:
        out = subprocess.run([*nvim, f"luaeval({json.dumps(expr)})"], capture_output=True, text=True, timeout=20)
        return out.stdout + out.stderr  # where --remote-expr prints depends on the Neovim version

    # What reaches vim.notify (where notification plugins hook in; headless 0.7 keeps no :messages).
    lua("(function() _G.seen = {} vim.notify = function(m) table.insert(_G.seen, m) end return 1 end)()")
    # The exit happened before Neovim attached: a second one, while attached, is told there too.
    subprocess.run([*nvim, "execute('ClaudeCodeResume')"], capture_output=True, text=True, timeout=20, check=True)
    retry_until(lambda: only(env)["state"] == "idle", 10, "resumed from Neovim")
    # "idle" comes when the pane is respawned, before the new Claude has started: signal the second run itself.
    second = retry_until(lambda: runs(env, item["id"])[1:2], 10, "Claude started again")[0]
    fail_next(env)
    os.kill(second["pid"], signal.SIGUSR1)
    exited(env)
    told = "tmuxclaude: Claude exited with status 1: Unable to connect to Anthropic services; :ClaudeCodeResume"
    retry_until(lambda: told in lua("table.concat(_G.seen, '|')"), 10, "told in Neovim")
    out = subprocess.run([*nvim, "execute('ClaudeCodeResume')"], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    retry_until(lambda: only(env)["state"] == "idle", 10, "resumed from Neovim")
    retry_until(lambda: len(runs(env, item["id"])) >= 3, 10, "Claude started a third time")
    assert len(runs(env, item["id"])) == 3


def _tmux_shim(env: Env, log: Path) -> Path:
    """A ``tmux`` first on PATH that records every invocation's argv, then runs the real tmux (exec: same pid)."""
    real = shutil.which("tmux")
    assert real
    shim_dir = Path(env.short) / "shim"
    shim_dir.mkdir()
    shim = shim_dir / "tmux"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    return shim_dir


def _cmdlines_with(needle: bytes) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if needle in cmdline:
                found.append(f"{entry.name}: {cmdline[:200]!r}")
    return found


def test_no_secret_from_config_in_any_argv_and_panes_still_get_them(
    env: Env, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claude_secret = "claude-" + secrets.token_hex(12)
    shell_secret = "shell-" + secrets.token_hex(12)
    log = Path(env.short) / "tmux-argv.log"
    monkeypatch.setenv("PATH", f"{_tmux_shim(env, log)}:{os.environ['PATH']}")
    env.use_recorder(
        f'claude_env = {{ ANTHROPIC_AUTH_TOKEN = "{claude_secret}" }}\n'
        f'shell_env = {{ PROXY_PASSWORD = "{shell_secret}" }}\n'
    )
    # No tmux server yet: tmuxclaude starts it (its first client's argv is the server's for its whole life).
    env.cli("new", "feat-a", "-d", cwd=repo)
    item = only(env)
    rec = env.record(item["id"])
    assert rec["env"]["ANTHROPIC_AUTH_TOKEN"] == claude_secret
    assert rec["env"]["PROXY_PASSWORD"] == shell_secret
    nvim_pid = int(env.tmux("display-message", "-p", "-t", item["nvim_pane"], "#{pane_pid}"))
    nvim_env = Path(f"/proc/{nvim_pid}/environ").read_bytes().split(b"\0")
    assert f"PROXY_PASSWORD={shell_secret}".encode() in nvim_env
    assert not any(v.startswith(b"ANTHROPIC_AUTH_TOKEN=") for v in nvim_env)
    server_pid = int(env.tmux("display-message", "-p", "#{pid}"))
    assert b"new-session" in Path(f"/proc/{server_pid}/cmdline").read_bytes()  # the server tmuxclaude started
    # Respawned too (a restart writes the file again, puts nothing on argv).
    fail_next(env)
    os.kill(rec["pid"], signal.SIGUSR1)
    exited(env)
    env.cli("resume", "feat-a")
    retry_until(lambda: only(env)["state"] == "idle", 10, "resumed")
    calls = log.read_text()
    assert "new-session" in calls and "respawn-pane" in calls
    for secret in (claude_secret, shell_secret):
        assert secret not in calls
        assert _cmdlines_with(secret.encode()) == []


def test_doctor_says_whether_claude_can_start(world: Env) -> None:
    env = world
    home = Path(env.vars["CLAUDE_CONFIG_DIR"])
    home.mkdir(parents=True, exist_ok=True)
    env.use_recorder('claude_env = { ANTHROPIC_BASE_URL = "https://api.anthropic.invalid" }\n')
    out = env.cli("doctor", check=False).stdout
    assert "[ok] claude login: api_key" in out
    assert "[!!] claude first-run setup: not done" in out
    assert "[!!] claude service: api.anthropic.invalid: the resolver cannot resolve it" in out
    (home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True}))
    env.use_recorder('claude_env = { ANTHROPIC_BASE_URL = "http://127.0.0.1:9" }\n')
    out = env.cli("doctor", check=False).stdout
    assert "[ok] claude first-run setup: done" in out
    assert "[ok] claude service: 127.0.0.1 resolves" in out
