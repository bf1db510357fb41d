-- Run by `--cmd` in every Neovim that tmuxclaude starts for an instance, before the user's config (init.lua,
-- lazy.nvim, ...). It only prepares; attaching happens later over RPC (require('tmuxclaude').attach).
--
-- claudecode.nvim in the user's config would start its own server and lock file for this worktree and a second
-- Claude in a terminal. Here its plugin file is told it already ran (vim.g.loaded_claudecode) and
-- require('claudecode') answers with tmuxclaude's stand-in (tmuxclaude.claudecode), so that lazy.nvim's
-- `require('claudecode').setup(opts)` and the user's keys act on this instance's own Claude.
local dir = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
vim.g.tmuxclaude_runtime = dir
-- lazy.nvim resets 'runtimepath' during the user's config: the stand-in is found through package.loaded, and
-- puts the runtime dir back on 'runtimepath' itself whenever it needs another module.
local ok, compat = pcall(dofile, dir .. '/lua/tmuxclaude/claudecode.lua')
if ok then
  vim.g.loaded_claudecode = 1
  package.loaded['claudecode'] = compat
  package.loaded['tmuxclaude.claudecode'] = compat
  compat.install()
end
