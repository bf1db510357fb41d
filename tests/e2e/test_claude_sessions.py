"""End to end with the real Claude Code CLI: its own sessions join the fleet (a ``/fork`` listed under its instance
and promoted, its conversation continued), and an interrupt (2.1.335+'s Interrupt hook) shows idle at once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.claude_env import commands_toml, prepare_claude_home
from tests.e2e.mock_api import Gated, MockApi, Text, ToolUse
from tests.e2e.screen import Pane, capture, press, type_text, wait_for_screen, wait_ready
from tests.helpers.env import Env
from tests.helpers.waiting import retry_until
from tmuxclaude.adapters.nvim import NvimClient
from tmuxclaude.model.claude import INTERRUPT_HOOK_SINCE, parse_version

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

CALC = "def add(a, b):\n    return a + b\n"


@dataclass
class Inst:
    item: dict[str, Any]

    @property
    def claude(self) -> Pane:
        return Pane(Path(self.env_socket), self.item["claude_pane"])

    env_socket: str = ""

    @property
    def worktree(self) -> Path:
        return Path(self.item["worktree"])


@dataclass
class Fleet:
    env: Env
    api: MockApi
    version: tuple[int, int, int]
    repo: Path
    claude_bin: Path
    claude_env: dict[str, str]

    def ls(self) -> list[dict[str, Any]]:
        return json.loads(self.env.cli("ls", "--json").stdout)  # type: ignore[no-any-return]

    def ls_all(self) -> dict[str, Any]:
        return json.loads(self.env.cli("ls", "--all", "--json").stdout)  # type: ignore[no-any-return]

    def inst(self, item: dict[str, Any]) -> Inst:
        return Inst(item, self.env.socket)

    def ready(self, worktree: Path) -> Inst:
        def found() -> dict[str, Any] | None:
            return next((i for i in self.ls() if i["worktree"] == str(worktree) and i["nvim_attached"]), None)

        inst = self.inst(retry_until(found, 40, f"instance of {worktree}"))
        wait_ready(inst.claude, timeout=40)
        port = inst.item["port"]

        def connected() -> bool:
            status = json.loads(self.env.cli("daemon", "status", "--json").stdout)
            return any(s["port"] == port and s["clients"] == 1 for s in status["servers"].values())

        retry_until(connected, 30, "its Claude connected")
        return inst

    def state(self, inst: Inst) -> str:
        return str(next(i for i in self.ls() if i["id"] == inst.item["id"])["state"])

    def window_state(self, inst: Inst) -> str:
        return self.env.tmux("display-message", "-p", "-t", inst.item["window_id"], "#{@tmuxclaude_state}")


def _end_claude_processes(claude_bin: Path, config_dir: str) -> None:
    """Background sessions and their daemon outlive the test's tmux server: end this test's (its CLI binary, its
    config dir), nothing else."""
    binaries = {str(claude_bin), str(claude_bin.resolve())}
    for proc in psutil.process_iter(["pid", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            ours = (proc.info["cmdline"] or [""])[0] in binaries or proc.exe() in binaries
            if ours and proc.environ().get("CLAUDE_CONFIG_DIR") == config_dir:
                proc.kill()


def _logged_at(fleet: Fleet, needle: str) -> float:
    """When the controller logged a line holding ``needle`` (epoch seconds; 0 when it did not)."""
    for log in Path(fleet.env.vars["XDG_STATE_HOME"]).glob("tmuxclaude/*/controller.log"):
        for line in log.read_text(errors="replace").splitlines():
            if needle in line:
                # The log's times are local (asctime): a naive datetime's timestamp() reads them as such.
                return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return 0.0


def prompt(inst: Inst, text: str) -> None:
    wait_ready(inst.claude)
    type_text(inst.claude, text)
    press(inst.claude, "Enter")


def nvim_tabs(socket: str) -> int:
    async def go() -> int:
        client = await NvimClient.connect(socket)
        try:
            return int(await client.exec_lua("return vim.fn.tabpagenr('$')"))
        finally:
            await client.close()

    return asyncio.run(go())


@pytest.fixture
def fleet(env: Env, repo: Path, claude_bin: Path, claude_version: str, mock_api: MockApi) -> Iterator[Fleet]:
    (repo / "calc.py").write_text(CALC)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "calc"], cwd=repo, check=True)
    wt = repo.parent / "myapp-feat-a"
    subprocess.run(["git", "worktree", "add", "-q", "-b", "feat-a", str(wt)], cwd=repo, check=True)
    # The promoted session's worktree is made beside the others: the folder holding them all is trusted.
    claude_env = prepare_claude_home(
        env.home, api_url=mock_api.url, version=claude_version, trusted_dirs=[repo.parent, repo, wt]
    )
    env.write_config(
        commands_toml(claude_bin, claude_env, ["nvim", "--clean"])
        + "[multi_instance]\nauto_start_for_worktree = true\n"
    )
    env.start_tmux()
    version = parse_version(claude_version)
    assert version is not None
    fleet = Fleet(env, mock_api, version, repo, claude_bin, claude_env)
    env.cli("open", "-d", str(wt), cwd=wt)
    try:
        yield fleet
        for log in Path(env.vars["XDG_STATE_HOME"]).glob("tmuxclaude/*/controller.log"):
            print("--- controller.log (tail)\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:]))
        for item in fleet.ls():
            with contextlib.suppress(RuntimeError):
                print(f"--- {item['name']} claude pane\n" + capture(fleet.inst(item).claude))
    finally:
        _end_claude_processes(claude_bin, claude_env["CLAUDE_CONFIG_DIR"])


def test_an_interrupt_shows_idle_within_a_second(fleet: Fleet) -> None:
    if fleet.version < INTERRUPT_HOOK_SINCE:
        pytest.skip("this CLI sends no Interrupt hook (2.1.335+): an interrupted turn waits for limits.busy_timeout_s")
    a = fleet.ready(fleet.repo.parent / "myapp-feat-a")
    gate = threading.Event()
    fleet.api.script([Gated(Text("never shown"), gate, timeout=60)])
    try:
        prompt(a, "a long turn")
        fleet.api.wait_for_main_request(lambda r: "a long turn" in r.request_text, timeout=30)
        retry_until(lambda: fleet.window_state(a) == "busy", 10, "busy while the mock holds the answer")
        t0 = time.monotonic()
        press(a.claude, "Escape")

        def idle_in_tmux() -> bool:
            # The window's state and the status line's summary segment (published a loop turn later).
            summary = fleet.env.tmux("show-option", "-gv", "@tmuxclaude_summary")
            return fleet.window_state(a) == "idle" and summary == "✻1 1○"

        retry_until(idle_in_tmux, 5, "idle after Escape", interval=0.02)
        took = time.monotonic() - t0
        assert fleet.state(a) == "idle"
        print(f"Escape to idle in the tmux status options: {took:.3f} s")
        assert took < 1.0
    finally:
        gate.set()


def test_a_fork_is_listed_under_its_instance_and_promoted(fleet: Fleet) -> None:
    if fleet.version < (2, 1, 332):
        pytest.skip("this CLI's /fork takes a directive (a subagent): it does not copy the conversation into a session")
    a = fleet.ready(fleet.repo.parent / "myapp-feat-a")
    fleet.api.script([Text("first answer")])
    prompt(a, "first turn marker-F1")
    wait_for_screen(a.claude, "first answer", timeout=30)
    retry_until(lambda: fleet.state(a) == "idle", 30, "A idle after its turn")
    own_session = next(i for i in fleet.ls() if i["id"] == a.item["id"])["claude_session_id"]
    assert own_session
    prompt(a, "/fork")
    # The fork exists once the parent says so ("session waiting · <id>"); it must be listed within 2 s of that.
    wait_for_screen(a.claude, r"session waiting · [0-9a-f]{8}", timeout=30, poll=0.02)
    t0 = time.monotonic()
    wall0 = time.time()

    def fork_listed() -> dict[str, Any] | None:
        sessions = fleet.ls_all()["sessions"]
        return next((s for s in sessions if s["instance_id"] == a.item["id"]), None)

    fork = retry_until(fork_listed, 10, "the fork listed under A", interval=0.05)
    took = time.monotonic() - t0
    t1 = time.monotonic()
    fleet.ls_all()
    ls_took = time.monotonic() - t1
    hook = _logged_at(fleet, ": fork ") - wall0
    print(
        f"fork shown by its parent -> its SessionStart hook at A's endpoint {hook:.3f} s"
        f" -> listed under A by `ls --all` {took:.3f} s (one `ls --all` takes {ls_took:.3f} s)"
    )
    assert took < 2.0
    assert fork["session_id"] != own_session
    text = fleet.env.cli("ls", "--all").stdout
    assert f"[{fork['session_id'][:8]}]" in text
    # The instance's own conversation id and state are not the fork's.
    mine = next(i for i in fleet.ls() if i["id"] == a.item["id"])
    assert mine["claude_session_id"] == own_session

    out = fleet.env.cli("open", "-d", str(fork["n"]), cwd=a.worktree).stdout
    assert "promoted to" in out
    new = retry_until(lambda: next((i for i in fleet.ls() if i["id"] != a.item["id"]), None), 30, "new instance")
    b = fleet.ready(Path(new["worktree"]))
    assert b.worktree != a.worktree and (b.worktree / "calc.py").exists()
    # Its Claude continues the forked conversation: the next request carries the earlier turn.
    since = fleet.api.next_seq
    fleet.api.script([Text("continued")])
    prompt(b, "second turn marker-F2")
    req = fleet.api.wait_for_main_request(lambda r: "marker-F2" in r.request_text, timeout=30, since=since)
    assert "marker-F1" in req.request_text and "first answer" in req.request_text
    assert fork["session_id"] in req.headers.get("x-claude-code-session-id", "")
    # Its edits open as diffs in its own Neovim.
    calc = b.worktree / "calc.py"
    fleet.api.script(
        [
            ToolUse("Read", {"file_path": str(calc)}),
            ToolUse("Edit", {"file_path": str(calc), "old_string": "a + b", "new_string": "a + b + 1"}),
            Text("edited"),
        ]
    )
    prompt(b, "please edit")
    retry_until(lambda: nvim_tabs(new["nvim_socket"]) == 2, 30, "the diff in B's Neovim")
    # The background fork is gone: only instances' own sessions are left.
    retry_until(lambda: not fleet.ls_all()["sessions"], 20, "no session left outside the instances")


def test_a_background_session_is_promoted(fleet: Fleet) -> None:
    if fleet.version < (2, 1, 332):
        pytest.skip("on this CLI a --bg session's turn never reaches the mock API (observed): nothing to continue")
    fleet.ready(fleet.repo.parent / "myapp-feat-a")
    fleet.api.script([Text("bg answer")])
    started = subprocess.run(
        [str(fleet.claude_bin), "--bg", "bg turn marker-B1"],
        cwd=fleet.repo, env=fleet.claude_env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    fleet.api.wait_for_main_request(lambda r: "marker-B1" in r.request_text, timeout=30)

    def listed() -> dict[str, Any] | None:
        return next((s for s in fleet.ls_all()["sessions"] if s["kind"] == "background"), None)

    bg = retry_until(listed, 20, "the background session listed")
    # In the repository root: it shows under the repository, not under an instance.
    assert bg["repo"] == str(fleet.repo) and bg["instance"] == ""
    assert f"[{bg['session_id'][:8]}]" in fleet.env.cli("ls", "--all").stdout
    retry_until(lambda: any(r.is_messages and "bg answer" in json.dumps(r.response_content) for r in
                            fleet.api.main_requests()), 20, "the bg turn answered")  # fmt: skip

    out = fleet.env.cli("open", "-d", bg["session_id"], cwd=fleet.repo).stdout
    assert "promoted to" in out
    new = retry_until(lambda: next((i for i in fleet.ls() if i["worktree"] != str(fleet.repo.parent / "myapp-feat-a")),
                                   None), 30, "new instance")  # fmt: skip
    b = fleet.ready(Path(new["worktree"]))
    # A session in the repo root gets a worktree and branch of its own.
    assert b.worktree.parent == fleet.repo.parent and b.worktree != fleet.repo
    since = fleet.api.next_seq
    fleet.api.script([Text("continued bg")])
    prompt(b, "second turn marker-B2")
    req = fleet.api.wait_for_main_request(lambda r: "marker-B2" in r.request_text, timeout=30, since=since)
    assert "marker-B1" in req.request_text and "bg answer" in req.request_text
    # Stopped first: no background session is left.
    retry_until(lambda: not fleet.ls_all()["sessions"], 20, "no session left outside the instances")


def test_a_worktree_session_in_a_shell_pane_is_offered_and_adopted(fleet: Fleet) -> None:
    fleet.ready(fleet.repo.parent / "myapp-feat-a")
    env_flags = [a for k, v in fleet.claude_env.items() for a in ("-e", f"{k}={v}")]
    pane_id = fleet.env.tmux("new-window", "-d", "-P", "-F", "#{pane_id}", "-c", str(fleet.repo), *env_flags,
                             "bash", "--norc", "--noprofile")  # fmt: skip
    shell = Pane(Path(fleet.env.socket), pane_id)
    type_text(shell, f"{fleet.claude_bin} --worktree wt1")
    press(shell, "Enter")
    wait_ready(shell, timeout=40)
    fleet.api.script([Text("wt answer")])
    type_text(shell, "worktree turn marker-W1")
    press(shell, "Enter")
    wait_for_screen(shell, "wt answer", timeout=30)

    def offered() -> str | None:
        events = json.loads(fleet.env.cli("daemon", "status", "--json").stdout)["events"]
        return next((e for e in events if "offered an instance for Claude session" in e), None)

    event = retry_until(offered, 15, "the --worktree session offered")
    assert f"(pane {pane_id})" in event and ".claude/worktrees/wt1" in event
    session = next(s for s in fleet.ls_all()["sessions"] if s["kind"] == "interactive")
    # Running in another pane: left alone unless the user confirms.
    refused = fleet.env.cli("open", "-d", session["session_id"], cwd=fleet.repo, check=False)
    assert refused.returncode != 0 and "--yes" in refused.stderr
    fleet.env.cli("open", "-d", "--yes", session["session_id"], cwd=fleet.repo)
    wt = fleet.repo / ".claude" / "worktrees" / "wt1"
    b = fleet.ready(wt)
    assert "focused" in fleet.env.cli("open", "-d", ".claude/worktrees/wt1", cwd=fleet.repo).stdout
    since = fleet.api.next_seq
    calc = wt / "calc.py"
    fleet.api.script(
        [
            ToolUse("Read", {"file_path": str(calc)}),
            ToolUse("Edit", {"file_path": str(calc), "old_string": "a + b", "new_string": "a + b + 1"}),
            Text("edited"),
        ]
    )
    prompt(b, "please edit marker-W2")
    req = fleet.api.wait_for_main_request(lambda r: "marker-W2" in r.request_text, timeout=30, since=since)
    assert "marker-W1" in req.request_text
    retry_until(lambda: nvim_tabs(b.item["nvim_socket"]) == 2, 30, "the diff in the adopted instance's Neovim")
    # The repository root's instance: its lock names no workspace while .claude/worktrees/ holds one (with --ide a
    # root workspace would capture every --worktree session), and its own Claude connects all the same.
    fleet.env.cli("open", "-d", str(fleet.repo), cwd=fleet.repo)
    root = fleet.ready(fleet.repo)
    lock = Path(fleet.env.vars["CLAUDE_CONFIG_DIR"]) / "ide" / f"{root.item['port']}.lock"
    assert json.loads(lock.read_text())["workspaceFolders"] == []
