"""The Neovim configs users really have, as init.lua files: none, a lazy.nvim config, and claudecode.nvim both
lazy-loaded (its README's keys/cmd) and eager, with the real plugins or with our own stand-in.

The real lazy.nvim and claudecode.nvim are never part of this repository: tests find them checked out at the
pinned commits under ``$TMUXCLAUDE_NVIM_PLUGINS`` (default ``<cache>/tmuxclaude/nvim-plugins/<name>``) and skip,
naming what is missing, where they are not. The stand-in (tests/fixtures/claudecode-standin, our own code)
reproduces the claudecode.nvim behaviours tmuxclaude cares about and needs nothing from outside."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tmuxclaude.adapters.nvim import runtime_dir

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STANDIN = FIXTURES / "claudecode-standin"

#: name -> pinned commit (the versions these tests were written against).
PINS = {
    "claudecode.nvim": "2390c6e45c4789072c293ac69de051d169668b29",
    "lazy.nvim": "306a05526ada86a7b30af95c5cc81ffba93fef97",
}


def plugins_root() -> Path:
    root = os.environ.get("TMUXCLAUDE_NVIM_PLUGINS")
    if root:
        return Path(root)
    cache = os.environ.get("TMUXCLAUDE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tmuxclaude"
    )
    return Path(cache) / "nvim-plugins"


def real_plugin(name: str) -> Path:
    """The checkout of ``name`` at its pinned commit, or skip saying exactly what is missing."""
    path = plugins_root() / name
    pin = PINS[name]
    try:
        head = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        head = ""
    if head != pin:
        found = f"at {head[:12]}" if head else "not there"
        pytest.skip(f"real {name} needed at {path} checked out at {pin[:12]} ({found}; TMUXCLAUDE_NVIM_PLUGINS)")
    return path


def lua_str(value: str | Path) -> str:
    return json.dumps(str(value))  # a JSON string is a valid Lua string literal for these paths


README_CMDS = [
    "ClaudeCode", "ClaudeCodeFocus", "ClaudeCodeSelectModel", "ClaudeCodeAdd", "ClaudeCodeSend", "ClaudeCodeTreeAdd",
    "ClaudeCodeStatus", "ClaudeCodeStart", "ClaudeCodeStop", "ClaudeCodeOpen", "ClaudeCodeClose",
    "ClaudeCodeDiffAccept", "ClaudeCodeDiffDeny", "ClaudeCodeCloseAllDiffs",
]  # fmt: skip

README_KEYS = """{
      { "<leader>ac", "<cmd>ClaudeCode<cr>", desc = "Toggle Claude" },
      { "<leader>af", "<cmd>ClaudeCodeFocus<cr>", desc = "Focus Claude" },
      { "<leader>ab", "<cmd>ClaudeCodeAdd %<cr>", desc = "Add current buffer" },
      { "<leader>as", "<cmd>ClaudeCodeSend<cr>", mode = "v", desc = "Send to Claude" },
      { "<leader>aa", "<cmd>ClaudeCodeDiffAccept<cr>", desc = "Accept diff" },
      { "<leader>ad", "<cmd>ClaudeCodeDiffDeny<cr>", desc = "Deny diff" },
    }"""

LAZY_OPTS = """{
  rocks = { enabled = false },
  install = { missing = false },
  checker = { enabled = false },
  change_detection = { enabled = false },
}"""


@dataclass(frozen=True)
class UserConfig:
    name: str
    init_lua: str
    #: claudecode.nvim (real or stand-in) is in it
    claudecode: bool
    #: its keys: <leader>as / <leader>aa / <leader>ad (leader is space)
    keys: bool
    real: bool

    @property
    def debounce_ms(self) -> int | None:
        """The debounce_ms the config sets through tmuxclaude's setup(), if any."""
        return 300 if self.name in ("lazy", "plain-setup") else None


def make_config(name: str) -> UserConfig:
    """The init.lua of config ``name`` (skips when it needs a real plugin that is not there, or Neovim < 0.8 for
    lazy.nvim, which refuses older ones)."""
    head = "vim.g.mapleader = ' '\n"
    if name == "none":
        return UserConfig(name, head, claudecode=False, keys=False, real=False)
    if name == "standin-lazy":
        # Lazy-loaded without a plugin manager: on the key or the command, as lazy.nvim would.
        body = f"""
local dir = {lua_str(STANDIN)}
local function load()
  if vim.g.standin_loaded then return end
  vim.g.standin_loaded = true
  pcall(vim.api.nvim_del_user_command, 'ClaudeCodeSend')
  vim.opt.rtp:append(dir)
  vim.cmd('runtime! plugin/claudecode.lua')
  require('claudecode').setup({{}})
end
vim.api.nvim_create_user_command('ClaudeCodeSend', function(o)
  load()
  vim.cmd((o.range > 0 and (o.line1 .. ',' .. o.line2) or '') .. 'ClaudeCodeSend')
end, {{ range = true }})
for lhs, cmd in pairs({{ ['<leader>aa'] = 'ClaudeCodeDiffAccept', ['<leader>ad'] = 'ClaudeCodeDiffDeny' }}) do
  vim.keymap.set('n', lhs, function() load() vim.cmd(cmd) end)
end
vim.keymap.set('x', '<leader>as', function() load() vim.cmd('ClaudeCodeSend') end)
"""
        return UserConfig(name, head + body, claudecode=True, keys=True, real=False)
    if name == "plain-setup":
        # tmuxclaude's own commands in a config without a plugin manager; setup() runs before its plugin file.
        body = f"vim.opt.rtp:prepend({lua_str(runtime_dir())})\nrequire('tmuxclaude').setup({{ debounce_ms = 300 }})\n"
        return UserConfig(name, head + body, claudecode=False, keys=False, real=False)
    if name == "standin-eager":
        body = f"vim.opt.rtp:append({lua_str(STANDIN)})\nrequire('claudecode').setup({{}})\n"
        return UserConfig(name, head + body, claudecode=True, keys=False, real=False)
    lazy = real_plugin("lazy.nvim")
    boot = f"vim.opt.rtp:prepend({lua_str(lazy)})\n"
    if name == "lazy":
        # The README's spec for tmuxclaude's own commands in the user's Neovim, with options.
        spec = (
            f'{{ dir = {lua_str(runtime_dir())}, name = "tmuxclaude", lazy = false, opts = {{ debounce_ms = 300 }} }}'
        )
        return UserConfig(name, head + boot + f"require('lazy').setup({{ {spec} }}, {LAZY_OPTS})\n", False, False, True)
    cc = real_plugin("claudecode.nvim")
    if name == "lazy-claudecode-keys":
        spec = (
            f'{{ dir = {lua_str(cc)}, name = "claudecode.nvim", config = true,\n'
            f"    cmd = {{ {', '.join(json.dumps(c) for c in README_CMDS)} }},\n    keys = {README_KEYS} }}"
        )
        return UserConfig(name, head + boot + f"require('lazy').setup({{ {spec} }}, {LAZY_OPTS})\n", True, True, True)
    if name == "lazy-claudecode-eager":
        spec = f'{{ dir = {lua_str(cc)}, name = "claudecode.nvim", lazy = false, opts = {{}} }}'
        return UserConfig(name, head + boot + f"require('lazy').setup({{ {spec} }}, {LAZY_OPTS})\n", True, False, True)
    raise ValueError(name)


CONFIGS = [
    "none",
    "plain-setup",
    "standin-lazy",
    "standin-eager",
    "lazy",
    "lazy-claudecode-keys",
    "lazy-claudecode-eager",
]


def needs_08(name: str, nvim_version: str) -> None:
    if name.startswith("lazy") and nvim_version.startswith("0.7."):
        pytest.skip("lazy.nvim and claudecode.nvim need Neovim 0.8 or newer")
