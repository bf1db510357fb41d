--- The names and values the Lua side shares with the Python side, each written once in Lua: here. Python owns
--- them (each entry names where); tests/nvim/test_shared_names.py loads this module in every tested Neovim and
--- fails on any difference, and on a literal of one of them written anywhere else in this plugin.
local M = {}

--- The package version (tmuxclaude/__init__.py __version__).
M.version = '0.1.0'

--- Default of the selection debounce in milliseconds (model/config.py IdeConfig.debounce_ms).
M.debounce_ms = 100

--- The RPC methods of the channel the controller attaches on (adapters/nvim.py NvimBridge).
M.rpc = {
  request = 'tmuxclaude_request',
  event = 'tmuxclaude_event',
}

--- What the :ClaudeCode* commands send as `cmd` (controller/commands.py TABLE, each command's `nvim=` name).
M.cmd = {
  comments = 'comments',
  deny_reason = 'deny_reason',
  instances = 'instances',
  kill = 'kill',
  kill_all = 'kill_all',
  list = 'list',
  open = 'open',
  panes = 'panes',
  resume = 'resume',
  review = 'review',
  review_send = 'review_send',
  send_terminal = 'send_terminal',
  switch = 'switch',
}

--- JSON-RPC error codes a tool answers with (protocol/jsonrpc.py).
M.errors = {
  method_not_found = -32601,
  invalid_params = -32602,
  internal_error = -32603,
  tool_error = -32000,
}

--- The CLI the commands run when no controller is attached (cli/app.py), each an argv prefix: its command
--- words, then an option that takes the next word.
M.cli = {
  kill = { 'kill' },
  kill_all = { 'kill-all' },
  list = { 'ls' },
  list_json = { 'ls', '--json' },
  open_joining = { 'open', '--nvim-server' },
  resume = { 'resume' },
  review_send = { 'review', 'send' },
  send = { 'send' },
  send_pane = { 'send', '--pane' },
  send_to = { 'send', '--to' },
  switch = { 'switch' },
}

--- A new argv: `prefix` (one of M.cli), then the given words; nil words are left out.
---@param prefix string[]
---@return string[]
function M.argv(prefix, ...)
  local out = vim.list_extend({}, prefix)
  for i = 1, select('#', ...) do
    local word = select(i, ...)
    if word ~= nil then
      out[#out + 1] = word
    end
  end
  return out
end

return M
