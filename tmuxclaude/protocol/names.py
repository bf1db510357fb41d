"""Names the Python side shares with the Lua side (tmuxclaude/nvim/lua/tmuxclaude/names.lua) that have no other
home here. The other shared ones live with what they name: the command names in controller/commands.py TABLE,
the tool names in protocol/tools.py, the JSON-RPC codes in protocol/jsonrpc.py, the version in
tmuxclaude/__init__.py, the debounce default in model/config.py. tests/nvim/test_shared_names.py loads the Lua
side in every tested Neovim and compares each with its owner here."""

from __future__ import annotations

__all__ = ["NVIM_EVENT", "NVIM_REQUEST"]

NVIM_REQUEST = "tmuxclaude_request"
"""The RPC request a :ClaudeCode* command sends the controller on its channel (``rpcrequest``)."""
NVIM_EVENT = "tmuxclaude_event"
"""The RPC notification Neovim sends the controller: selections, mentions, diff decisions (``rpcnotify``)."""
