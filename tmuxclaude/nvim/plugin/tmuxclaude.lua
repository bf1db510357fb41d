-- Defines the :ClaudeCode* commands in any Neovim that has this directory on its 'runtimepath'.
if vim.g.loaded_tmuxclaude then
  return
end
vim.g.loaded_tmuxclaude = true

if vim.fn.has('nvim-0.7') ~= 1 then
  vim.api.nvim_echo({ { 'tmuxclaude needs Neovim 0.7 or newer', 'WarningMsg' } }, true, {})
  return
end

require('tmuxclaude').setup()
