"""An instance's Neovim with the user's own config (none, lazy.nvim, claudecode.nvim lazy-loaded or eager): the
user's claudecode.nvim keys and commands act on that instance's own Claude, no second server, lock file or Claude
is started, tmuxclaude's commands keep working; outside an instance claudecode.nvim works on its own.

Runs on every tested Neovim. Which configs use the real lazy.nvim/claudecode.nvim and which our stand-in: see
tests/nvimconfig/user_configs.py."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.env import Env, ls_json
from tests.helpers.mcp_ws import ide_client
from tests.helpers.waiting import aretry_until, retry_until
from tests.nvimconfig.user_configs import CONFIGS, make_config, needs_08
from tmuxclaude.adapters.nvim import NvimClient, runtime_dir

pytestmark = pytest.mark.timeout(120)

NOTES = "one\ntwo\nthree\nfour\n"
TERMINALS = """local n = 0
for _, b in ipairs(vim.api.nvim_list_bufs()) do if vim.bo[b].buftype == 'terminal' then n = n + 1 end end
return n"""
HEALTH = """vim.cmd('checkhealth tmuxclaude')
return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\\n')"""


def locks_naming(env: Env, worktree: str) -> list[Path]:
    out = []
    for path in sorted(env.lock_dir.glob("*.lock")) if env.lock_dir.is_dir() else []:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if worktree in data.get("workspaceFolders", []):
            out.append(path)
    return out


async def _tabs(nvim: NvimClient) -> int:
    return len(await nvim.request("nvim_list_tabpages"))


@pytest.fixture(params=CONFIGS)
async def instance(request: pytest.FixtureRequest, world: Env, repo: Path, nvim_version: str) -> AsyncIterator[Any]:
    needs_08(request.param, nvim_version)
    config = make_config(request.param)
    init = Path(world.vars["XDG_CONFIG_HOME"]) / "nvim" / "init.lua"
    init.parent.mkdir(parents=True, exist_ok=True)
    init.write_text(config.init_lua)
    world.use_recorder(nvim=json.dumps(["nvim", "--headless"]))
    await asyncio.to_thread(world.cli, "new", "-d", "feat-b", cwd=repo)

    def attached() -> dict[str, Any] | None:
        items = ls_json(world)
        return items[0] if items and items[0]["nvim_attached"] else None

    item = await asyncio.to_thread(retry_until, attached, 30, "B's Neovim attached")
    item["token"] = json.loads((world.lock_dir / f"{item['port']}.lock").read_text())["authToken"]
    (Path(item["worktree"]) / "notes.txt").write_text(NOTES)
    nvim = await NvimClient.connect(item["nvim_socket"])
    try:
        yield config, item, nvim
    finally:
        await nvim.close()


async def test_claudecode_keys_act_on_the_instances_own_claude(world: Env, instance: Any) -> None:
    config, item, nvim = instance
    worktree = item["worktree"]
    notes = f"{worktree}/notes.txt"
    async with ide_client(item["port"], item["token"]) as claude:
        await nvim.request("nvim_command", f"edit {notes}")
        if config.keys:
            await nvim.request("nvim_input", "2GVj as")  # <leader>as on lines 2-3, leader = space
        else:
            await nvim.request("nvim_input", ":2,3ClaudeCodeSend<CR>")
        params = await claude.received.wait_for("at_mentioned", lambda p: p["filePath"] == notes)
        assert (params["lineStart"], params["lineEnd"]) == (1, 2)
        # Nothing started inside Neovim: no terminal, no child process; one lock file for this worktree: ours.
        assert await nvim.exec_lua(TERMINALS) == 0
        pid = await nvim.exec_lua("return vim.fn.getpid()")
        assert await nvim.request("nvim_get_proc_children", pid) == []
        assert [p.name for p in locks_naming(world, worktree)] == [f"{item['port']}.lock"]
        # tmuxclaude's own commands are still there, whatever claudecode.nvim defined.
        commands = await nvim.request("nvim_get_commands", {"builtin": False})
        assert {"ClaudeCodeList", "ClaudeCodeSwitch", "ClaudeCodeKill"} <= set(commands)
        if config.claudecode:
            report = await nvim.exec_lua(HEALTH)
            assert "claudecode.nvim found: handled by tmuxclaude" in report
            await nvim.request("nvim_command", "tabclose")
        # The instance's diff: accepted with the user's accept key (or command).
        target = Path(worktree) / "notes.txt"
        proposed = "one\nTWO\nthree\nfour\n"
        call = asyncio.create_task(
            claude.call_texts(
                "openDiff",
                {"old_file_path": str(target), "new_file_path": str(target), "new_file_contents": proposed,
                 "tab_name": "✻ [Claude Code] notes.txt (k1) ⧉"},
            )
        )  # fmt: skip
        await aretry_until(lambda: _more_tabs(nvim), 10, "diff tab open")
        await nvim.request("nvim_input", "<Esc> aa" if config.keys else "<Esc>:ClaudeCodeDiffAccept<CR>")
        assert await asyncio.wait_for(call, 10) == ["FILE_SAVED", proposed]
        assert (await nvim.request("nvim_get_mode"))["blocking"] is False
        # ...and the next one denied with the deny key (or command).
        await claude.call_texts("close_tab", {"tab_name": "✻ [Claude Code] notes.txt (k1) ⧉"})  # as the CLI does
        await aretry_until(lambda: _one_tab(nvim), 10, "the accepted diff's tab closed")
        call = asyncio.create_task(
            claude.call_texts(
                "openDiff",
                {"old_file_path": str(target), "new_file_path": str(target), "new_file_contents": "no\n",
                 "tab_name": "tab-deny"},
            )
        )  # fmt: skip
        await aretry_until(lambda: _more_tabs(nvim), 10, "second diff tab open")
        await nvim.request("nvim_input", "<Esc> ad" if config.keys else "<Esc>:ClaudeCodeDiffDeny<CR>")
        assert await asyncio.wait_for(call, 10) == ["DIFF_REJECTED", "tab-deny"]
        assert target.read_text() == NOTES
        # Focus (claudecode.nvim's name) goes to this instance's Claude pane.
        world.tmux("select-pane", "-t", item["nvim_pane"])
        await nvim.request("nvim_input", "<Esc>:ClaudeCodeFocus<CR>")
        await asyncio.to_thread(
            retry_until,
            lambda: world.tmux("display-message", "-p", "-t", item["window_id"], "#{pane_id}") == item["claude_pane"],
            10,
            "the Claude pane active",
        )
    # Killed: no lock file naming the worktree stays behind (ours is removed by the controller; none other exists).
    await asyncio.to_thread(world.cli, "kill", "feat-b")
    await asyncio.to_thread(retry_until, lambda: not locks_naming(world, worktree), 15, "no lock file left")


async def test_the_users_setup_options_are_in_effect(instance: Any) -> None:
    """lazy.nvim's `opts = { debounce_ms = 300 }` (setup after the plugin file ran) and a plain setup() call
    (before it): either way the instance's selection tracking uses 300 ms, not the controller's 100."""
    config, _, nvim = instance
    got = await nvim.exec_lua(
        "return {require('tmuxclaude.config').options.debounce_ms, require('tmuxclaude.selection').state.debounce_ms}"
    )
    want = config.debounce_ms or 100
    assert got == [want, want]


async def _one_tab(nvim: NvimClient) -> bool:
    return await _tabs(nvim) == 1


async def _more_tabs(nvim: NvimClient) -> bool:
    return await _tabs(nvim) >= 2


@pytest.mark.parametrize("name", ["standin-lazy", "lazy-claudecode-keys"])
def test_outside_an_instance_claudecode_works_on_its_own(
    tmp_path: Path, nvim_bin: Path, nvim_version: str, name: str
) -> None:
    """A Neovim tmuxclaude has nothing to do with (tmuxclaude's plugin on its 'runtimepath' all the same):
    claudecode.nvim starts its own server and writes its lock file for the cwd, and removes it on exit."""
    needs_08(name, nvim_version)
    config = make_config(name)
    xdg = tmp_path / "xdg"
    (xdg / "config" / "nvim").mkdir(parents=True)
    (xdg / "config" / "nvim" / "init.lua").write_text(config.init_lua)
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text(NOTES)
    claude_dir = tmp_path / "claude"
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "TERM": "xterm",
        "XDG_CONFIG_HOME": str(xdg / "config"), "XDG_DATA_HOME": str(xdg / "data"),
        "XDG_STATE_HOME": str(xdg / "state"), "XDG_CACHE_HOME": str(xdg / "cache"),
        "CLAUDE_CONFIG_DIR": str(claude_dir),
    }  # fmt: skip
    sock = tmp_path / "n.sock"
    proc = subprocess.Popen(
        [str(nvim_bin), "--headless", "--cmd", f"set rtp^={runtime_dir()}", "--listen", str(sock), "notes.txt"],
        cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def locks() -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted((claude_dir / "ide").glob("*.lock"))] if (
            claude_dir / "ide").is_dir() else []  # fmt: skip

    try:
        retry_until(sock.exists, 10, "Neovim listening")

        def remote(*args: str) -> str:
            out = subprocess.run([str(nvim_bin), "--server", str(sock), *args], capture_output=True, text=True,
                                 timeout=10, check=False, env=env)  # fmt: skip
            return out.stdout

        remote("--remote-send", "2GVj as")
        found = retry_until(locks, 15, "claudecode.nvim's own lock file")
        assert [lock["workspaceFolders"] for lock in found] == [[str(work)]]
        assert found[0]["pid"] == proc.pid
        remote("--remote-send", "<C-\\><C-n>:qa!<CR>")  # it may have opened its terminal
        proc.wait(timeout=15)
        assert locks() == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.parametrize("name", ["standin-eager", "lazy-claudecode-eager"])
async def test_a_joined_neovim_running_claudecode_hands_it_over(
    world: Env, repo: Path, nvim_version: str, name: str
) -> None:
    """The user's own Neovim (tmuxclaude's plugin on its 'runtimepath', claudecode.nvim running with its server
    and lock file) joins an instance: claudecode.nvim is stopped (its lock file goes), its commands act on the
    instance, and killing the instance leaves no lock file naming the worktree."""
    needs_08(name, nvim_version)
    config = make_config(name)
    init = Path(world.vars["XDG_CONFIG_HOME"]) / "nvim" / "init.lua"
    init.parent.mkdir(parents=True, exist_ok=True)
    init.write_text(config.init_lua)
    (repo / "notes.txt").write_text(NOTES)
    sock = str(world.short / "own.sock")
    pane = world.tmux(
        "split-window", "-P", "-F", "#{pane_id}", "-t", "main:", "-c", str(repo),
        "nvim", "--listen", sock, "--cmd", f"set rtp^={runtime_dir()}", "notes.txt",
    )  # fmt: skip
    own = await asyncio.to_thread(retry_until, lambda: locks_naming(world, str(repo)), 15, "claudecode's lock file")
    assert len(own) == 1
    await asyncio.to_thread(world.cli, "open", "--nvim-server", sock, str(repo), cwd=repo, pane=pane)

    def attached() -> dict[str, Any] | None:
        items = [i for i in ls_json(world) if i["nvim_attached"]]
        return items[0] if items else None

    item = await asyncio.to_thread(retry_until, attached, 30, "the joined instance")
    token = json.loads((world.lock_dir / f"{item['port']}.lock").read_text())["authToken"]
    assert [p.name for p in locks_naming(world, str(repo))] == [f"{item['port']}.lock"]
    nvim = await NvimClient.connect(sock)
    try:
        async with ide_client(item["port"], token) as claude:
            await nvim.request("nvim_input", ":2,3ClaudeCodeSend<CR>")
            params = await claude.received.wait_for("at_mentioned")
            assert (params["filePath"], params["lineStart"], params["lineEnd"]) == (str(repo / "notes.txt"), 1, 2)
            assert await nvim.exec_lua("return require('claudecode').tmuxclaude") is True
    finally:
        await nvim.close()
    await asyncio.to_thread(world.cli, "kill", cwd=repo)
    await asyncio.to_thread(retry_until, lambda: not locks_naming(world, str(repo)), 15, "no lock file left")


def test_outside_an_instance_an_eager_claudecode_keeps_its_commands(tmp_path: Path, nvim_bin: Path) -> None:
    """claudecode.nvim set up in the user's config, tmuxclaude's plugin file sourced after it: the commands of the
    same name stay claudecode.nvim's; tmuxclaude's own (:ClaudeCodeList...) are there too."""
    config = make_config("standin-eager")
    script = tmp_path / "check.lua"
    script.write_text(
        "vim.cmd('edit notes.txt') vim.cmd('2,3ClaudeCodeSend')\n"
        "local m = require('claudecode').mentions\n"
        "io.stdout:write(vim.fn.json_encode({ n = #m, first = m[1], list = vim.fn.exists(':ClaudeCodeList') }))\n"
        "vim.cmd('qa!')\n"
    )
    (tmp_path / "cfg" / "nvim").mkdir(parents=True)
    (tmp_path / "cfg" / "nvim" / "init.lua").write_text(config.init_lua)
    (tmp_path / "notes.txt").write_text(NOTES)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_STATE_HOME": str(tmp_path / "state"),
           "CLAUDE_CONFIG_DIR": str(tmp_path / "claude")}  # fmt: skip
    out = subprocess.run(
        [str(nvim_bin), "--headless", "--cmd", f"set rtp^={runtime_dir()}", "-c", f"luafile {script}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    got = json.loads(out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "{}")
    assert got == {"n": 1, "first": [str(tmp_path / "notes.txt"), 1, 2], "list": 2}, out.stderr
