"""The real Claude Code CLI exiting in an instance pane: one that cannot reach its service at the start, and one
the user ends with /exit and starts again with the pane's restart key (resuming the same conversation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.claude_env import FAKE_API_KEY, prepare_claude_home
from tests.e2e.mock_api import MockApi, Text
from tests.e2e.screen import Pane, press, type_text, wait_for_screen, wait_ready
from tests.helpers.env import Env, ls_json
from tests.helpers.waiting import retry_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

QUIET = (
    "DISABLE_TELEMETRY", "DISABLE_ERROR_REPORTING", "DISABLE_AUTOUPDATER", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
    "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL", "CLAUDE_CODE_IDE_SKIP_AUTO_INSTALL",
    "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY", "DISABLE_COST_WARNINGS",
)  # fmt: skip


def configure(env: Env, claude_bin: Path, claude_env: dict[str, str]) -> None:
    table = ", ".join(f"{k} = {json.dumps(v)}" for k, v in claude_env.items())
    env.write_config(
        f"[commands]\nclaude = {json.dumps([str(claude_bin)])}\nclaude_env = {{ {table} }}\n"
        'nvim = ["nvim", "--clean", "--headless"]\n'
    )


def exited(env: Env, timeout: float = 30) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next((i for i in ls_json(env) if i["state"] == "exited"), None)

    return retry_until(find, timeout, "instance exited")


def test_cli_that_cannot_reach_its_service_leaves_the_reason_in_its_pane(
    env: Env, repo: Path, claude_bin: Path
) -> None:
    # A first start (no onboarding done) through a proxy that refuses: the real CLI stops as it does offline.
    settings = {k: "1" for k in QUIET} | {"ANTHROPIC_API_KEY": FAKE_API_KEY, "HTTPS_PROXY": "http://127.0.0.1:9"}
    configure(env, claude_bin, settings)
    env.start_tmux()
    env.cli("open", "-d", str(repo), cwd=repo)
    item = exited(env)
    assert item["exit"]["status"] == 1
    assert item["exit"]["headline"] == "Unable to connect to Anthropic services"
    pane = Pane(Path(env.socket), item["claude_pane"])
    screen = wait_for_screen(pane, "k: kill instance", 10)
    assert "Failed to connect to" in screen and "Claude Code exited with status 1." in screen
    assert "(exited)" in env.cli("ls").stdout
    # doctor names both reasons, having sent nothing to the service.
    out = env.cli("doctor", check=False).stdout
    assert "[ok] claude login: api_key" in out
    assert "[!!] claude first-run setup: not done" in out
    assert "[!!] claude service: the HTTPS proxy 127.0.0.1:9 (for api.anthropic.com)" in out


def test_exit_then_restart_key_resumes_the_conversation_in_the_same_pane(
    env: Env, repo: Path, claude_bin: Path, mock_api: MockApi
) -> None:
    full = prepare_claude_home(env.home, api_url=mock_api.url, trusted_dirs=[repo])
    configure(
        env, claude_bin, {k: v for k, v in full.items() if k.startswith(("ANTHROPIC_", "DISABLE_", "CLAUDE_CODE_"))}
    )
    env.start_tmux()
    env.cli("open", "-d", str(repo), cwd=repo)
    (item,) = ls_json(env)
    pane = Pane(Path(env.socket), item["claude_pane"])
    wait_ready(pane, 40)
    # One turn, so the conversation exists on disk to be resumed.
    mock_api.script([Text("first answer")])
    type_text(pane, "remember this")
    press(pane, "Enter")
    wait_for_screen(pane, "first answer", 30)
    session = retry_until(lambda: ls_json(env)[0]["claude_session_id"], 20, "the session id from the hooks")
    wait_ready(pane, 20)
    type_text(pane, "/exit")
    press(pane, "Enter")
    gone = exited(env)
    assert gone["exit"]["status"] == 0 and gone["claude_pane"] == item["claude_pane"]
    wait_for_screen(pane, "k: kill instance", 10)
    old = pane.pid
    press(pane, "r")
    retry_until(lambda: pane.pid != old, 15, "the pane respawned")
    launcher = psutil.Process(pane.pid)
    wait_ready(pane, 40)
    wait_for_screen(pane, "first answer", 20)  # the resumed conversation shows its history
    claude = retry_until(lambda: launcher.children(), 10, "Claude under the launcher")[0]
    cmdline = claude.cmdline()
    assert f"--resume={session}" in cmdline  # one argv word: a session id can never be read as an option
    back = retry_until(lambda: (i := ls_json(env)[0])["state"] == "idle" and i, 20, "idle again")
    assert back["claude_pane"] == item["claude_pane"] and back["exit"] is None
