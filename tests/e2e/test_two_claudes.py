"""End to end with the real Claude Code CLI: two worktrees, two Claudes, two Neovims, no cross-talk.

Each Claude is started by tmuxclaude in its own pane, exactly as for a user; the only test-specific pieces are
the config (the pinned ``claude`` binary, the mock API as its base URL, onboarding switched off: all through
``[commands]`` keys that users need for proxies and gateways too) and the throwaway HOME.
Typing into Claude is done like a person: tmux send-keys, and capture-pane to read the screen.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.claude_env import commands_toml, prepare_claude_home
from tests.e2e.mock_api import MockApi, RecordedRequest, Text, ToolUse
from tests.e2e.screen import Pane, capture, press, type_text, wait_for_screen, wait_ready
from tests.helpers.env import Env
from tests.helpers.waiting import retry_until
from tests.nvimconfig.user_configs import make_config, needs_08
from tmuxclaude.adapters.nvim import NvimClient

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

CALC = "def add(a, b):\n    return a + b\n"


@dataclass
class Side:
    name: str
    worktree: Path
    port: int
    claude: Pane
    nvim_pane: Pane
    nvim_socket: str

    @property
    def calc(self) -> Path:
        return self.worktree / "calc.py"


@dataclass
class World:
    env: Env
    api: MockApi
    a: Side
    b: Side
    dialogs: dict[str, str] = field(default_factory=dict)
    """Start-up dialogs seen (and dismissed with Escape), by instance name."""

    def status(self) -> dict[str, Any]:
        return json.loads(self.env.cli("daemon", "status", "--json").stdout)  # type: ignore[no-any-return]

    def server(self, side: Side) -> dict[str, Any]:
        servers = self.status()["servers"]
        return next(s for s in servers.values() if s["port"] == side.port)


def nvim(side: Side, code: str, *args: Any) -> Any:
    """One RPC to that side's Neovim (the test's hands on the editor, through its own connection)."""

    async def go() -> Any:
        client = await NvimClient.connect(side.nvim_socket)
        try:
            return await client.exec_lua(code, *args)
        finally:
            await client.close()

    return asyncio.run(go())


def nvim_keys(side: Side, keys: str) -> None:
    """Type into Neovim's pane like a person."""
    subprocess.run(["tmux", "-S", str(side.nvim_pane.socket), "send-keys", "-t", side.nvim_pane.target, keys, "Enter"],
                   check=True)  # fmt: skip


def tabs(side: Side) -> int:
    return int(nvim(side, "return vim.fn.tabpagenr('$')"))


def prompt(side: Side, text: str) -> None:
    wait_ready(side.claude)
    type_text(side.claude, text)
    press(side.claude, "Enter")


def request_from(api: MockApi, side: Side, marker: str, since: int = 0) -> RecordedRequest:
    return api.wait_for_main_request(lambda r: marker in r.request_text, timeout=30, since=since)


def requests_of(api: MockApi, side: Side) -> list[RecordedRequest]:
    return [r for r in api.main_requests() if str(side.worktree) in r.request_text]


@pytest.fixture
def user_settings() -> dict[str, Any] | None:
    """The user's own Claude settings.json (None: they have none). Tests of a user's choices override this."""
    return None


@pytest.fixture
def user_config() -> str:
    """Extra tmuxclaude config.toml text (tests of the [claude] keys override this)."""
    return ""


# 2.1.332 asks a user whose own settings choose the ask mode, once, at start-up (wrapped in a narrow pane).
AUTO_MODE_DIALOG = re.compile(r"Make auto mode your default\s+permission mode\?")


@pytest.fixture
def startup_dialog() -> re.Pattern[str] | None:
    """A dialog the CLI is expected to show at start-up (dismissed with Escape); tests that expect one override."""
    return None


@pytest.fixture
def world(
    env: Env,
    repo: Path,
    claude_bin: Path,
    claude_version: str,
    mock_api: MockApi,
    user_settings: dict[str, Any] | None,
    user_config: str,
    startup_dialog: re.Pattern[str] | None,
    nvim_user_config: str | None,
) -> Iterator[World]:
    (repo / "calc.py").write_text(CALC)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "calc"], cwd=repo, check=True)
    worktrees = []
    for branch in ("feat-a", "feat-b"):
        wt = repo.parent / f"myapp-{branch}"
        subprocess.run(["git", "worktree", "add", "-q", "-b", branch, str(wt)], cwd=repo, check=True)
        worktrees.append(wt)
    claude_env = prepare_claude_home(env.home, api_url=mock_api.url, version=claude_version, trusted_dirs=worktrees)
    if user_settings is not None:
        (Path(env.vars["CLAUDE_CONFIG_DIR"]) / "settings.json").write_text(json.dumps(user_settings))
    nvim_cmd = ["nvim", "--clean"]
    if nvim_user_config is not None:
        init = Path(env.vars["XDG_CONFIG_HOME"]) / "nvim" / "init.lua"
        init.parent.mkdir(parents=True, exist_ok=True)
        init.write_text(nvim_user_config)
        nvim_cmd = ["nvim"]
    env.write_config(commands_toml(claude_bin, claude_env, nvim_cmd) + user_config)
    env.start_tmux()
    sides = []
    for wt in worktrees:
        env.cli("open", "-d", str(wt), cwd=wt)
    items = retry_until(
        lambda: [i for i in json.loads(env.cli("ls", "--json").stdout) if i["nvim_attached"]] or None, 20, "ls"
    )
    items = json.loads(env.cli("ls", "--json").stdout)
    sock = Path(env.socket)
    for item in items:
        sides.append(
            Side(
                item["name"],
                Path(item["worktree"]),
                item["port"],
                Pane(sock, item["claude_pane"]),
                Pane(sock, item["nvim_pane"]),
                item["nvim_socket"],
            )
        )
    w = World(env, mock_api, sides[0], sides[1])
    for side in sides:
        if startup_dialog is not None:
            # It comes a moment after the input box: wait for it, or a later keystroke would land in it. An Escape
            # that arrives while it is still being drawn is lost: press again until it is gone.
            w.dialogs[side.name] = wait_for_screen(side.claude, startup_dialog, timeout=40)

            def dismissed(side: Side = side, dialog: re.Pattern[str] = startup_dialog) -> bool:
                press(side.claude, "Escape")
                try:
                    retry_until(lambda: not dialog.search(capture(side.claude)), 1.5, "dialog gone")
                except AssertionError:
                    return False
                return True

            retry_until(dismissed, 20, "the start-up dialog dismissed with Escape", interval=0)
        wait_ready(side.claude, timeout=40)

        # Connected, server-side: one client on this instance's own server.
        def connected(side: Side = side) -> bool:
            return bool(w.server(side)["clients"] == 1)

        retry_until(connected, 30, f"{side.name}'s Claude connected")
    yield w
    # Shown by pytest only when the test failed: what the controller and both Claudes last said.
    for log in Path(env.vars["XDG_STATE_HOME"]).glob("tmuxclaude/*/controller.log"):
        print("--- controller.log (tail)\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:]))
    for side in sides:
        try:
            print(f"--- {side.name} claude pane\n" + capture(side.claude))
            print(f"--- {side.name} nvim pane\n" + capture(side.nvim_pane))
        except RuntimeError as exc:  # the test killed it
            print(f"--- {side.name} claude pane: {exc}")


def test_each_cli_connects_to_its_own_instance(world: World) -> None:
    w = world
    panes = {line.split()[0]: int(line.split()[1]) for line in
             w.env.tmux("list-panes", "-a", "-F", "#{pane_id} #{pane_pid}").splitlines()}  # fmt: skip
    for side in (w.a, w.b):
        server = w.server(side)
        # The CLI announces its own pid (ide_connected): it is the process the launcher of this instance's Claude
        # pane runs (the launcher stays its parent, to keep the pane when Claude exits).
        assert [psutil.Process(pid).ppid() for pid in server["client_pids"]] == [panes[side.claude.target]]
        assert server["refused"] == {}
        for step in ("initialized", "ide_connected", "tools_listed"):
            assert step in server["calls"]
        print(f"observed at connect ({side.name}): {server['calls']}")


def test_selection_reaches_only_its_own_claude(world: World) -> None:
    w = world
    nvim_keys(w.a, f":edit {w.a.calc}")
    retry_until(lambda: nvim(w.a, "return vim.fn.expand('%:t')") == "calc.py", 10, "file open in A")
    subprocess.run(["tmux", "-S", w.env.socket, "send-keys", "-t", w.a.nvim_pane.target, "ggVj"], check=True)
    wait_for_screen(w.a.claude, "2 lines selected", timeout=15)
    w.api.script([Text("ok A")])
    prompt(w.a, "question from A")
    req = request_from(w.api, w.a, "question from A")
    assert f"The user selected the lines 1 to 2 from {w.a.calc}" in req.request_text
    assert "return a + b" in req.request_text
    w.api.script([Text("ok B")])
    since = w.api.next_seq
    prompt(w.b, "question from B")
    req_b = request_from(w.api, w.b, "question from B", since)
    assert str(w.a.calc) not in req_b.request_text
    assert "selected the lines" not in req_b.request_text
    assert "2 lines selected" not in capture(w.b.claude)


def _script_edit(w: World, side: Side, new: str) -> None:
    w.api.script(
        [
            ToolUse("Read", {"file_path": str(side.calc)}),
            ToolUse("Edit", {"file_path": str(side.calc), "old_string": "a + b", "new_string": new}),
            Text("edit finished"),
        ]
    )


def state_of(w: World, side: Side) -> dict[str, Any]:
    return next(i for i in json.loads(w.env.cli("ls", "--json").stdout) if i["port"] == side.port)


def test_edit_by_b_opens_diff_in_b_only_and_accept_writes_file(world: World) -> None:
    w = world
    _script_edit(w, w.b, "a + b + 1")
    prompt(w.b, "please edit")
    retry_until(lambda: tabs(w.b) == 2, 30, "diff tab in Neovim B")
    assert tabs(w.a) == 1
    # Claude's own hooks (installed with --settings) report the permission prompt: B waits for the user.
    retry_until(lambda: state_of(w, w.b)["state"] == "waiting", 30, "B waiting")
    assert state_of(w, w.a)["state"] == "idle"
    window = state_of(w, w.b)["window_id"]
    assert w.env.tmux("display-message", "-p", "-t", window, "#{@tmuxclaude_state}") == "waiting"
    assert state_of(w, w.b)["claude_session_id"]
    assert w.b.calc.read_text() == CALC  # pending: nothing written yet
    nvim_keys(w.b, ":ClaudeCodeDiffAccept")
    retry_until(lambda: "a + b + 1" in w.b.calc.read_text(), 30, "edit written to disk")
    assert w.a.calc.read_text() == CALC
    wait_for_screen(w.b.claude, "edit finished", timeout=30)
    retry_until(lambda: tabs(w.b) == 1, 15, "diff tab closed")
    retry_until(lambda: state_of(w, w.b)["state"] == "idle", 30, "B idle after its turn (Stop hook)")
    calls = w.server(w.b)["calls"]
    print(f"observed in an accepted edit: {calls}")
    assert "tools/call openDiff" in calls and "tools/call close_tab" in calls
    # The diff is closed after it was answered. (closeAllDiffTabs is not asserted: both CLIs now and then skip it
    # on a first prompt right after connecting, docs/claude-code-versions.md; tmuxclaude does not depend on it.)
    assert calls.index("tools/call openDiff") < calls.index("tools/call close_tab")


def test_reject_leaves_file_identical_and_claude_is_told(world: World) -> None:
    w = world
    before = w.b.calc.read_bytes()
    _script_edit(w, w.b, "a - b")
    prompt(w.b, "please edit")
    retry_until(lambda: tabs(w.b) == 2, 30, "diff tab in Neovim B")
    nvim_keys(w.b, ":ClaudeCodeDiffDeny")
    screen = wait_for_screen(w.b.claude, r"(?i)rejected", timeout=30)
    assert "calc.py" in screen
    assert w.b.calc.read_bytes() == before
    retry_until(lambda: tabs(w.b) == 1, 15, "diff tab closed")


def test_send_to_mentions_in_the_right_claude_only(world: World) -> None:
    w = world
    out = w.env.cli("send", "--to", w.b.name, f"{w.b.calc}:1-2")
    assert w.b.name in out.stdout
    wait_for_screen(w.b.claude, "calc.py#L1-2", timeout=20)
    assert "calc.py#L" not in capture(w.a.claude)
    # From Neovim A, :ClaudeCodeSendTo with a range reaches B too, and not A.
    nvim_keys(w.a, f":edit {w.a.calc}")
    retry_until(lambda: nvim(w.a, "return vim.fn.expand('%:t')") == "calc.py", 10, "file open in A")
    nvim_keys(w.a, f":2ClaudeCodeSendTo {w.b.name}")
    wait_for_screen(w.b.claude, r"calc\.py#L2\b", timeout=20)
    assert "calc.py#L" not in capture(w.a.claude)
    w.api.script([Text("got it")])
    since = w.api.next_seq
    press(w.b.claude, "Enter")
    req = w.api.wait_for_main_request(lambda r: "calc.py" in r.request_text, timeout=30, since=since)
    assert "return a + b" in req.request_text  # the mentioned file went into B's request


def test_killing_a_leaves_b_working(world: World) -> None:
    w = world
    w.env.cli("kill", w.a.name)
    assert not (w.env.lock_dir / f"{w.a.port}.lock").exists()
    _script_edit(w, w.b, "a * b")
    prompt(w.b, "edit after kill")
    retry_until(lambda: tabs(w.b) == 2, 30, "diff tab in Neovim B")
    nvim_keys(w.b, ":ClaudeCodeDiffAccept")
    retry_until(lambda: "a * b" in w.b.calc.read_text(), 30, "edit written")


def test_controller_sigkill_and_restart_b_reconnects(world: World) -> None:
    """Design: the restarted controller re-serves each instance on its old port with its old token (kept in
    the 0600 state file); the CLI's own reconnect (same URL, same token) finds it again."""
    w = world
    pid = w.status()["pid"]
    lock_before = json.loads((w.env.lock_dir / f"{w.b.port}.lock").read_text())
    os.kill(pid, signal.SIGKILL)
    retry_until(lambda: w.env.cli("daemon", "status", check=False).returncode == 1, 10, "controller gone")
    w.env.cli("ls")  # any command starts it again
    new_pid = w.status()["pid"]
    assert new_pid != pid
    lock_after = json.loads((w.env.lock_dir / f"{w.b.port}.lock").read_text())
    assert lock_after["authToken"] == lock_before["authToken"] and lock_after["pid"] == new_pid
    retry_until(lambda: w.server(w.b)["clients"] == 1 and w.server(w.b)["nvim"], 40, "B's Claude reconnected")
    _script_edit(w, w.b, "a ** b")
    prompt(w.b, "edit after restart")
    retry_until(lambda: tabs(w.b) == 2, 30, "diff tab in Neovim B")
    nvim_keys(w.b, ":ClaudeCodeDiffAccept")
    retry_until(lambda: "a ** b" in w.b.calc.read_text(), 30, "edit written")


# ==============================================================================================================
# Every edit seen in its own Neovim, whatever the permission mode (issue 10).

NEW_LINE = "    return a + b + 1"


def newer(version: str) -> bool:
    return tuple(map(int, version.split("."))) >= (2, 1, 332)


def claude_argv(w: World, side: Side) -> list[str]:
    """The command line of the CLI in that Claude pane (the pane's process, or a launcher's child)."""
    pane = psutil.Process(int(w.env.tmux("display-message", "-p", "-t", side.claude.target, "#{pane_pid}")))
    for proc in [pane, *pane.children(recursive=True)]:
        argv: list[str] = proc.cmdline()
        if "--settings" in argv:
            return argv
    raise AssertionError(f"no claude process under pane {side.claude.target}")


def buffer_lines(side: Side, path: Path) -> list[str] | None:
    lines: list[str] | None = nvim(
        side,
        "local b = require('tmuxclaude.util').find_buf(...); "
        "return b and vim.api.nvim_buf_get_lines(b, 0, -1, false) or nil",
        str(path),
    )
    return lines


def messages(side: Side) -> str:
    return str(nvim(side, "return vim.fn.execute('messages')"))


def shown(side: Side) -> str:
    """What tmuxclaude's floating message window in that Neovim shows ('' when none)."""
    return str(nvim(side, "return require('tmuxclaude.reload').shown()"))


def open_in(side: Side, path: Path) -> None:
    nvim_keys(side, f":edit {path}")
    retry_until(lambda: buffer_lines(side, path) is not None, 10, f"{path.name} open in {side.name}")


def script_edit(w: World, side: Side, old: str, new: str, done: str) -> None:
    w.api.script(
        [
            ToolUse("Read", {"file_path": str(side.calc)}),
            ToolUse("Edit", {"file_path": str(side.calc), "old_string": old, "new_string": new}),
            Text(done),
        ]
    )


def review_of(side: Side, scope: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = nvim(
        side, "local ok, r = require('tmuxclaude').request({cmd = 'review', arg = ...}); return r", scope
    )
    return result


# -- no choice of the user's: the ask mode, diffs in Neovim -----------------------------------------------------


def test_no_user_choice_starts_the_ask_mode_by_its_versions_name(world: World, claude_version: str) -> None:
    w = world
    mode = "manual" if newer(claude_version) else "default"
    for side in (w.a, w.b):
        argv = claude_argv(w, side)
        assert argv[argv.index("--permission-mode") + 1] == mode
    assert w.dialogs == {}
    if newer(claude_version):
        assert "manual mode on" in capture(w.b.claude)
    # The diff flow itself (B only, accept writes, deny leaves the file byte-identical) is test_two_claudes.py's.


# -- the user's own ask mode ----------------------------------------------------------------------------------


class TestUsersAskMode:
    @pytest.fixture
    def user_settings(self) -> dict[str, Any]:
        return {"permissions": {"defaultMode": "default"}}

    @pytest.fixture
    def startup_dialog(self, claude_version: str) -> re.Pattern[str] | None:
        return AUTO_MODE_DIALOG if newer(claude_version) else None

    def test_their_settings_are_kept_and_edits_open_diffs_in_b_only(self, world: World, claude_version: str) -> None:
        w = world
        settings = Path(w.env.vars["CLAUDE_CONFIG_DIR"]) / "settings.json"
        before = settings.read_bytes()
        # Their choice: tmuxclaude adds no --permission-mode of its own.
        assert "--permission-mode" not in claude_argv(w, w.b)
        # 2.1.332 asks such a user once whether auto mode should become the default; Escape dismissed it.
        if newer(claude_version):
            assert set(w.dialogs) == {w.a.name, w.b.name}
        else:
            assert w.dialogs == {}
        calc_before = w.b.calc.read_bytes()
        script_edit(w, w.b, "a + b", "a + b + 1", "edit finished")
        prompt(w.b, "please edit")
        retry_until(lambda: tabs(w.b) == 2, 30, "diff tab in Neovim B")
        assert tabs(w.a) == 1
        nvim_keys(w.b, ":ClaudeCodeDiffDeny")
        wait_for_screen(w.b.claude, r"(?i)rejected", timeout=30)
        assert w.b.calc.read_bytes() == calc_before
        assert settings.read_bytes() == before


# -- the user's auto mode: nothing asked, nothing hidden --------------------------------------------------------


class TestUsersAutoMode:
    @pytest.fixture
    def user_settings(self, claude_version: str) -> dict[str, Any]:
        # 2.1.197 has no auto mode; its mode that applies edits without asking is acceptEdits.
        return {"permissions": {"defaultMode": "auto" if newer(claude_version) else "acceptEdits"}}

    def test_edit_shows_in_b_at_once_unsaved_work_survives_and_review_shows_it(self, world: World) -> None:
        w = world
        assert "--permission-mode" not in claude_argv(w, w.b)
        open_in(w.a, w.a.calc)
        open_in(w.b, w.b.calc)
        nvim(w.b, "vim.api.nvim_win_set_cursor(0, {2, 4})")

        # 1. An edit applied without asking: B's unmodified buffer shows it within 1 s of the write.
        script_edit(w, w.b, "a + b", "a + b + 1", "first edit done")
        prompt(w.b, "edit without asking")
        retry_until(lambda: NEW_LINE in w.b.calc.read_text(), 30, "Claude B's edit on disk")
        written = os.stat(w.b.calc).st_mtime
        retry_until(lambda: (buffer_lines(w.b, w.b.calc) or [""])[1:2] == [NEW_LINE], 2, "B's buffer reloaded")
        seen = time.time()
        assert seen - written < 1.0, f"buffer showed the edit {seen - written:.2f}s after the write"
        assert nvim(w.b, "return vim.api.nvim_win_get_cursor(0)") == [2, 4]
        assert nvim(w.b, "return vim.bo.modified") is False
        assert tabs(w.b) == 1  # no diff: nothing was asked
        wait_for_screen(w.b.claude, "first edit done", timeout=30)

        # 2. :ClaudeCodeReview in B: the change as a diff against the text from before.
        nvim_keys(w.b, ":ClaudeCodeReview turn")
        retry_until(lambda: tabs(w.b) == 2, 10, "review tab in Neovim B")
        panes = nvim(
            w.b,
            "local out = {} for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do "
            "if vim.api.nvim_win_get_config(win).relative == '' then "
            "local b = vim.api.nvim_win_get_buf(win) out[#out + 1] = {vim.api.nvim_buf_get_name(b), "
            "vim.wo[win].diff, vim.api.nvim_buf_get_lines(b, 1, 2, false)[1]} end end return out",
        )
        assert panes == [
            [f"tmuxclaude://before/{w.b.calc}", True, "    return a + b"],
            [str(w.b.calc), True, NEW_LINE],
        ]
        nvim_keys(w.b, ":ClaudeCodeReview close")
        retry_until(lambda: tabs(w.b) == 1, 10, "review closed")

        # 3. Unsaved work in B's buffer, then another edit: the user's text stays, the file has Claude's edit,
        #    and Neovim B says so, naming the file and how to compare.
        nvim(w.b, "vim.api.nvim_buf_set_lines(0, 0, 1, false, {'def add(a, b):  # mine, unsaved'})")
        script_edit(w, w.b, "a + b + 1", "a + b + 2", "second edit done")
        prompt(w.b, "edit again")
        retry_until(lambda: "a + b + 2" in w.b.calc.read_text(), 30, "second edit on disk")
        told = "calc.py changed on disk by Claude; your unsaved text is kept: :ClaudeCodeCompare"
        retry_until(lambda: told in shown(w.b), 2, "the message in Neovim B")
        # The command line of this narrow pane shows it cut in the middle (never a "Press ENTER" prompt).
        assert messages(w.b).splitlines()[-1].startswith("calc.py chan")
        assert buffer_lines(w.b, w.b.calc) == ["def add(a, b):  # mine, unsaved", NEW_LINE]
        assert nvim(w.b, "return vim.bo.modified") is True
        assert w.b.calc.read_text() == CALC.replace("a + b", "a + b + 2")
        wait_for_screen(w.b.claude, "second edit done", timeout=30)
        assert [i["path"] for i in review_of(w.b, "session")] == [str(w.b.calc)]

        # Neovim A was untouched throughout: its file, its buffer, its messages, its review.
        assert w.a.calc.read_text() == CALC
        assert buffer_lines(w.a, w.a.calc) == CALC.splitlines()
        assert "changed on disk" not in messages(w.a) and shown(w.a) == ""
        assert tabs(w.a) == 1 and review_of(w.a, "session") == []


# -- a Bash command's write, in the mode the user set in tmuxclaude's config -------------------------------------


class TestBashWriteInConfiguredMode:
    # (bypassPermissions would be the obvious mode, but the CLI refuses it for root, as the CI machine runs.)
    @pytest.fixture
    def user_config(self) -> str:
        return '\n[claude]\npermission_mode = "acceptEdits"\n'

    @pytest.fixture
    def user_settings(self) -> dict[str, Any]:
        return {"permissions": {"allow": ["Bash"]}}

    def test_a_shell_write_reloads_b_and_is_reviewable(self, world: World) -> None:
        w = world
        argv = claude_argv(w, w.b)
        assert argv[argv.index("--permission-mode") + 1] == "acceptEdits"
        notes = w.b.worktree / "notes.txt"
        notes.write_text("old note\n")
        open_in(w.b, notes)
        w.api.script(
            [ToolUse("Bash", {"command": f"printf 'new note\\n' > {json.dumps(str(notes))}"}), Text("bash done")]
        )
        prompt(w.b, "write with the shell")
        retry_until(lambda: notes.read_text() == "new note\n", 30, "the shell write")
        written = os.stat(notes).st_mtime
        retry_until(lambda: buffer_lines(w.b, notes) == ["new note"], 2, "B's buffer reloaded")
        assert time.time() - written < 1.0
        wait_for_screen(w.b.claude, "bash done", timeout=30)
        items = retry_until(lambda: review_of(w.b, "turn") or None, 5, "the shell write in B's review")
        assert [(i["path"], i["old"]) for i in items] == [(str(notes), "old note\n")]
        assert review_of(w.a, "session") == []


@pytest.mark.current_cli_only
class TestUsersClaudecodeConfig:
    """The user's Neovim config holds claudecode.nvim, lazy-loaded on its README's keys (the real one with the
    real lazy.nvim where they are checked out, tests/nvimconfig/user_configs.py; our stand-in everywhere)."""

    @pytest.fixture(params=["standin-lazy", "lazy-claudecode-keys"])
    def nvim_user_config(self, request: pytest.FixtureRequest, nvim_version: str) -> str:
        needs_08(request.param, nvim_version)
        return make_config(request.param).init_lua

    def test_leader_as_reaches_claude_b_only_and_leader_aa_accepts_bs_diff(self, world: World) -> None:
        w = world
        nvim_keys(w.b, f":edit {w.b.calc}")
        retry_until(lambda: nvim(w.b, "return vim.fn.expand('%:t')") == "calc.py", 10, "file open in B")
        subprocess.run(["tmux", "-S", w.env.socket, "send-keys", "-t", w.b.nvim_pane.target, "ggVj", " as"],
                       check=True)  # fmt: skip
        wait_for_screen(w.b.claude, r"calc\.py#L1-2", timeout=20)
        assert "calc.py#L" not in capture(w.a.claude)
        # Nothing started inside Neovim B, and one lock file names B's worktree: the instance's own.
        pid = int(nvim(w.b, "return vim.fn.getpid()"))
        assert psutil.Process(pid).children(recursive=True) == []
        claims = [p.name for p in w.env.lock_dir.glob("*.lock")
                  if str(w.b.worktree) in json.loads(p.read_text()).get("workspaceFolders", [])]  # fmt: skip
        assert claims == [f"{w.b.port}.lock"]
        # Claude B's edit: accepted with the user's <leader>aa.
        _script_edit(w, w.b, "a + b + 1")
        prompt(w.b, "please edit")
        retry_until(lambda: tabs(w.b) == 2, 30, "diff tab in Neovim B")
        assert tabs(w.a) == 1
        subprocess.run(["tmux", "-S", w.env.socket, "send-keys", "-t", w.b.nvim_pane.target, "Escape", " aa"],
                       check=True)  # fmt: skip
        retry_until(lambda: "a + b + 1" in w.b.calc.read_text(), 30, "edit written to disk")
        assert w.a.calc.read_text() == CALC
        wait_for_screen(w.b.claude, "edit finished", timeout=30)
