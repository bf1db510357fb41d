"""Neovim's :ClaudeCode* commands against the real controller, from a real headless Neovim of an instance."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.env import Env, ls_json, new_attached
from tests.helpers.mcp_ws import ide_client
from tests.helpers.waiting import aretry_until, retry_until
from tmuxclaude.adapters.nvim import NvimClient
from tmuxclaude.errors import NvimError

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def two(world: Env, repo: Path) -> AsyncIterator[list[dict[str, Any]]]:
    """Two instances whose Neovims are attached; each item also carries its IDE token."""
    items = await asyncio.to_thread(new_attached, world, repo, "feat-a", "feat-b")
    for item in items:
        item["token"] = json.loads((world.lock_dir / f"{item['port']}.lock").read_text())["authToken"]
    yield items


async def _messages(nvim: NvimClient) -> str:
    return str(await nvim.request("nvim_exec", "messages", True))


async def _type(nvim: NvimClient, command: str) -> None:
    """Type ``:command<CR>`` as a user does (through nvim_command an error would become the API call's error,
    never shown to a user)."""
    await nvim.request("nvim_input", f":{command}<CR>")


async def test_command_errors_are_shown_as_error_messages(world: Env, two: list[dict[str, Any]]) -> None:
    nvim = await NvimClient.connect(two[0]["nvim_socket"])
    try:
        await nvim.request("nvim_command", f"edit {two[0]['worktree']}/README.md")  # SendTo sends a file
        for command in ("ClaudeCodeSwitch nope", "ClaudeCodeKill nope", "ClaudeCodeSendTo nope"):
            await _type(nvim, command)
            await aretry_until(lambda: _has(nvim, "nope", 1), 10, f"the error of {command} in :messages")
            await nvim.exec_lua("vim.cmd('messages clear')")
            # Shown as an error (v:errmsg is set by error messages only), not as a plain echo.
            assert "nope" in str(await nvim.exec_lua("return vim.v.errmsg"))
            await nvim.exec_lua("vim.v.errmsg = ''")
    finally:
        await nvim.close()
    assert [i["name"] for i in ls_json(world)] == ["feat-a", "feat-b"]  # nothing was killed


async def _has(nvim: NvimClient, word: str, count: int) -> bool:
    text = await _messages(nvim)
    return sum(f"no instance '{word}'" in line for line in text.splitlines()) >= count


@pytest.mark.parametrize("command", ["ClaudeCodeKill", "ClaudeCodeKillAll"])
async def test_kill_from_the_instances_own_neovim_with_claude_connected(
    world: Env, two: list[dict[str, Any]], command: str
) -> None:
    own = two[0]
    async with ide_client(own["port"], own["token"]):
        nvim = await NvimClient.connect(own["nvim_socket"])
        try:
            # The window (and this Neovim) goes away while the command runs: the call may never be answered.
            with contextlib.suppress(NvimError, OSError, TimeoutError):
                await asyncio.wait_for(nvim.request("nvim_command", command), 10)
        finally:
            with contextlib.suppress(Exception):
                await nvim.close()
    gone = two if command == "ClaudeCodeKillAll" else [own]
    left = [i["name"] for i in two if i not in gone]

    def done() -> bool:
        return [i["name"] for i in ls_json(world)] == left

    await asyncio.to_thread(retry_until, done, 15, f"{command} finished")
    windows = world.tmux("list-windows", "-a", "-F", "#{@tmuxclaude_id}").split()
    for item in gone:
        assert item["id"] not in windows
        assert not (world.lock_dir / f"{item['port']}.lock").exists()
        with pytest.raises(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", item["port"])
            writer.close()
