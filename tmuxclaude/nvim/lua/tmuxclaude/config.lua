---@class tmuxclaude.ConfigModule
local M = {}

---@type tmuxclaude.Config
M.defaults = {
  -- The CLI that the commands run when no controller attached this Neovim (a user's own Neovim).
  cli = 'tmuxclaude',
  -- Selection changes are sent at most once per this many milliseconds (claudecode.nvim uses 100).
  debounce_ms = 100,
  -- Title of every notification.
  title = 'tmuxclaude',
  -- A key for <Plug>(tmuxclaude-comment) in normal and visual mode (e.g. '<leader>cc'); nil: none is bound.
  comment_keymap = nil,
}

---@type tmuxclaude.Config
M.options = vim.deepcopy(M.defaults)

---@param opts? table
function M.merge(opts)
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
end

return M
