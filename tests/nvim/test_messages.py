"""No message of ours blocks Neovim: with a UI 40 columns wide, every kind of notification shows one line and
leaves Neovim answering (no "Press ENTER"), the full text in :messages."""

from __future__ import annotations

import pytest

from tests.helpers.waiting import aretry_until
from tmuxclaude.adapters.nvim import NvimBridge

LONG = "tmuxclaude could not reach instance feat-something-long: " + "x" * 120
MULTI = "Claude exited (status 1):\nAPI error: connection refused\n  at line 2\n  at line 3\n  at line 4"

# Each runs on the next tick, as from a command or a callback (not inside the test's RPC call, which an error
# message would fail).
KINDS = {
    "notify": "local t = ... vim.schedule(function() require('tmuxclaude.util').notify(t) end)",
    "warn": "local t = ... vim.schedule(function() require('tmuxclaude.util').notify(t, vim.log.levels.WARN) end)",
    "error": "local t = ... vim.schedule(function() require('tmuxclaude.util').error(t) end)",
    "traceback": "local t = ... vim.schedule(function() require('tmuxclaude.util').try(function() error(t) end) end)",
    "reload": "local t = ... vim.schedule(function() require('tmuxclaude.reload').say(t) end)",
}


async def _blocking(bridge: NvimBridge) -> bool:
    return bool((await bridge.client.request("nvim_get_mode"))["blocking"])


@pytest.mark.parametrize("width", [40, 100])
@pytest.mark.parametrize("kind", list(KINDS))
async def test_no_message_blocks_neovim(bridge: NvimBridge, kind: str, width: int) -> None:
    await bridge.client.request("nvim_ui_attach", width, 10, {"ext_linegrid": True})
    # The check can fail: a plain multi-line echo does block this Neovim.
    await bridge.client.request("nvim_input", ':echo "a\\nb\\nc\\nd"<CR>')
    await aretry_until(lambda: _blocking(bridge), 5, "a multi-line echo blocking (sanity)")
    await bridge.client.request("nvim_input", "<CR>")
    await aretry_until(lambda: _not_blocking(bridge), 5, "the prompt answered")
    for text in (LONG, MULTI):
        # A message that blocked would leave this call unanswered (Neovim waits for ENTER inside it).
        await bridge.client.exec_lua(KINDS[kind], text)
        # reload.say shows on the next tick: a request after it has run sees its result.
        await bridge.client.exec_lua("vim.wait(50)")
        assert await _blocking(bridge) is False, f"{kind} of {text[:20]!r} left Neovim blocked"
        # The whole text is still there to read: in :messages, or (file-change notes) in the float.
        history = str(await bridge.client.request("nvim_exec", "messages", True))
        if kind == "reload":
            history = str(await bridge.client.exec_lua("return require('tmuxclaude.reload').shown()"))
        assert text.splitlines()[0][:30] in history


async def _not_blocking(bridge: NvimBridge) -> bool:
    return not await _blocking(bridge)
