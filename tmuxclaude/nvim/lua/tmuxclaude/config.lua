---@class tmuxclaude.ConfigModule
local M = {}

---@type tmuxclaude.Config
M.defaults = {
  -- The CLI that the commands run when no controller attached this Neovim (a user's own Neovim).
  cli = 'tmuxclaude',
  -- Selection changes are sent at most once per this many milliseconds (claudecode.nvim uses 100).
  debounce_ms = require('tmuxclaude.names').debounce_ms,
  -- Title of every notification.
  title = 'tmuxclaude',
  -- A key for <Plug>(tmuxclaude-comment) in normal and visual mode (e.g. '<leader>cc'); nil: none is bound.
  comment_keymap = nil,
}

---@type tmuxclaude.Config
M.options = vim.deepcopy(M.defaults)

--- What the user's own setup() calls gave, merged in call order. It wins over what a controller passes at
--- attach time: the user's Neovim config is the more specific one.
---@type table
M.user = {}

--- Merge the options of one setup() call: every call adds to the earlier ones (lazy.nvim's `opts` may come
--- before or after plugin/tmuxclaude.lua's own setup()).
---@param opts? table
function M.merge(opts)
  M.user = vim.tbl_deep_extend('force', M.user, opts or {})
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), M.user)
end

return M
