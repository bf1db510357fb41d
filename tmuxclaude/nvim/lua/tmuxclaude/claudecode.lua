--- tmuxclaude's stand-in for claudecode.nvim in a Neovim that belongs to a tmuxclaude instance.
---
--- Such a Neovim already has its Claude (in the instance's tmux pane, connected to the controller). What the
--- user's claudecode.nvim config asks for maps onto that instance: Send/Add/TreeAdd become at-mentions to it,
--- ClaudeCode/Focus/Open go to its Claude pane, DiffAccept/DiffDeny answer its pending diff. Nothing here starts
--- a server, writes a lock file or opens a terminal. Outside an instance this module is never loaded and
--- claudecode.nvim works as it does without tmuxclaude.
---
--- Two ways in: instance.lua (a `--cmd` before the user's config) puts this module in
--- package.loaded['claudecode']; a joined Neovim where claudecode.nvim already runs gets `take_over()` at attach
--- (its stop() removes its server and lock file, then this module replaces it).
local M = {}

--- Marks the stand-in (a joined Neovim may hold the real module under the same name).
M.tmuxclaude = true

---@type table what the user passed to setup(); kept for `:checkhealth`, otherwise unused
M.opts = {}
---@type string|nil how claudecode.nvim was handled, for `:checkhealth tmuxclaude`
M.handled = nil

--- The commands claudecode.nvim defines (its README), all of which this module defines again.
M.command_names = {
  'ClaudeCode',
  'ClaudeCodeFocus',
  'ClaudeCodeOpen',
  'ClaudeCodeClose',
  'ClaudeCodeSend',
  'ClaudeCodeSendText',
  'ClaudeCodeAdd',
  'ClaudeCodeTreeAdd',
  'ClaudeCodeDiffAccept',
  'ClaudeCodeDiffDeny',
  'ClaudeCodeCloseAllDiffs',
  'ClaudeCodeSelectModel',
  'ClaudeCodeStart',
  'ClaudeCodeStop',
  'ClaudeCodeStatus',
}

--- require('tmuxclaude'), with the runtime dir put back on 'runtimepath' first (lazy.nvim may have reset it).
---@return table
local function tc()
  local dir = vim.g.tmuxclaude_runtime
  if type(dir) == 'string' and dir ~= '' then
    local present = false
    for _, p in ipairs(vim.api.nvim_list_runtime_paths()) do
      if p == dir then
        present = true
        break
      end
    end
    if not present then
      vim.o.runtimepath = dir:gsub(',', '\\,') .. ',' .. vim.o.runtimepath
    end
  end
  return require('tmuxclaude')
end

---@param msg string
---@param level? integer
local function say(msg, level)
  require('tmuxclaude.util').notify(msg, level)
end

--- Go to this instance's Claude pane.
local function focus()
  local t = tc()
  if not t.is_attached() then
    say('tmuxclaude: this Neovim is not attached to its instance yet', vim.log.levels.WARN)
    return
  end
  local request = { cmd = require('tmuxclaude.names').cmd.switch, arg = t.state.name }
  local ok, res = require('tmuxclaude.util').answer(t.request(request))
  if ok and type(res) == 'string' and res ~= '' then
    say(res)
  end
end

--- The path a file tree shows under the cursor (nvim-tree, neo-tree, oil, mini.files, netrw), or nil.
---@return string|nil
local function tree_path()
  local ft = vim.bo.filetype
  local getters = {
    NvimTree = function()
      return require('nvim-tree.api').tree.get_node_under_cursor().absolute_path
    end,
    ['neo-tree'] = function()
      local state = require('neo-tree.sources.manager').get_state('filesystem')
      return state.tree:get_node():get_id()
    end,
    oil = function()
      local oil = require('oil')
      return oil.get_current_dir() .. oil.get_cursor_entry().name
    end,
    minifiles = function()
      return require('mini.files').get_fs_entry().path
    end,
    netrw = function()
      return vim.fn['netrw#Call']('NetrwFile', vim.fn['netrw#Call']('NetrwGetWord'))
    end,
  }
  local get = getters[ft]
  if not get then
    return nil
  end
  local ok, path = pcall(get)
  return ok and type(path) == 'string' and path ~= '' and path or nil
end

---@param def fun(name: string, fn: function, opts: table)
local function define_extra(def)
  local commands = require('tmuxclaude.commands')
  def('ClaudeCodeFocus', focus, { desc = "Go to this instance's Claude pane (tmuxclaude)" })
  def('ClaudeCodeOpen', focus, { desc = "Go to this instance's Claude pane (tmuxclaude)" })
  def('ClaudeCodeClose', function()
    say("tmuxclaude: this instance's Claude runs in its tmux pane; `:ClaudeCodeKill` ends it")
  end, { desc = 'Nothing to close here: Claude runs in the tmux pane (tmuxclaude)' })
  def('ClaudeCodeTreeAdd', function()
    local path = tree_path() or vim.api.nvim_buf_get_name(0)
    if path == '' then
      require('tmuxclaude.util').error('No file under the cursor')
      return
    end
    path = require('tmuxclaude.util').normalize(path)
    if vim.fn.isdirectory(path) == 1 then
      path = path .. '/'
    end
    commands.mention(path, nil, nil, nil)
  end, { desc = 'Mention the file under the cursor of a file tree to Claude Code (tmuxclaude)' })
  def('ClaudeCodeSendText', function()
    say("tmuxclaude: type into the instance's Claude pane (:ClaudeCodeFocus); no text is sent from here", vim.log.levels.WARN)
  end, { nargs = '*', desc = 'Not supported by tmuxclaude: use the Claude pane' })
  def('ClaudeCodeCloseAllDiffs', function()
    require('tmuxclaude.diff').close_all(true)
  end, { desc = 'Reject every open Claude Code diff (tmuxclaude)' })
  def('ClaudeCodeSelectModel', function()
    say("tmuxclaude: choose the model in the Claude pane (/model)", vim.log.levels.WARN)
  end, { nargs = '*', desc = 'Choose the model in the Claude pane (tmuxclaude)' })
  def('ClaudeCodeStart', function()
    say("tmuxclaude: this instance's Claude runs in its tmux pane; nothing to start here")
  end, { desc = 'Nothing to start: the instance has its Claude (tmuxclaude)' })
  def('ClaudeCodeStop', function()
    say("tmuxclaude: this instance's Claude runs in its tmux pane; `:ClaudeCodeKill` ends it")
  end, { desc = 'Nothing to stop here (tmuxclaude)' })
  def('ClaudeCodeStatus', function()
    local t = tc()
    local s = t.state
    if t.is_attached() then
      say(('tmuxclaude instance %s: %s'):format(s.name or '?', s.status or 'running'))
    else
      say('tmuxclaude: not attached to an instance yet')
    end
  end, { desc = "This instance's state (tmuxclaude)" })
end

--- (Re)define every claudecode.nvim command name on tmuxclaude's side: ours where we have one, the rest above.
function M.define_commands()
  tc()
  local commands = require('tmuxclaude.commands')
  commands.define()
  define_extra(commands.def)
end

local installed = false

--- Re-assert the commands after anything loads that might redefine them (lazy.nvim loading a plugin, any
--- plugin script sourced). Only in an instance's Neovim.
function M.install()
  if installed then
    return
  end
  installed = true
  local group = vim.api.nvim_create_augroup('tmuxclaude_claudecode', { clear = true })
  local function reassert()
    -- Once tmuxclaude's commands exist; before that the attach defines them.
    if vim.fn.exists(':ClaudeCodeList') == 2 then
      pcall(M.define_commands)
    end
  end
  vim.api.nvim_create_autocmd('User', { group = group, pattern = { 'LazyLoad', 'VeryLazy' }, callback = reassert })
  -- Without a plugin manager: claudecode.nvim's own files being sourced (packadd, :runtime).
  vim.api.nvim_create_autocmd('SourcePost', { group = group, pattern = '*claudecode*', callback = reassert })
end

--- claudecode.nvim's setup(opts): in an instance's Neovim it takes over the commands and starts nothing.
---@param opts? table
---@return table
function M.setup(opts)
  M.opts = opts or {}
  M.handled = M.handled or 'stand-in loaded before your config; setup() started no server and no terminal'
  M.define_commands()
  return M
end

--- claudecode.nvim's start(): no server is started here (the controller serves this instance's Claude).
---@return boolean, string
function M.start()
  return false, "tmuxclaude: this instance's Claude connects to the tmuxclaude controller"
end

---@return boolean
function M.stop()
  return true
end

---@return boolean
function M.is_claude_connected()
  return tc().is_attached()
end

--- claudecode.nvim's send_at_mention(path, start, end, context) (0-based lines): to this instance's Claude.
---@param path string
---@param line_start? integer
---@param line_end? integer
---@return boolean, string|nil
function M.send_at_mention(path, line_start, line_end)
  if type(path) ~= 'string' or path == '' then
    return false, 'no path'
  end
  require('tmuxclaude.commands').mention(require('tmuxclaude.util').normalize(path), line_start, line_end, nil)
  return true, nil
end

--- A joined Neovim in which the real claudecode.nvim was loaded: stop it (its stop() closes its server and
--- removes its lock file), answer require('claudecode') from now on, and take over the commands.
---@return boolean whether there was something to take over
function M.take_over()
  local current = package.loaded['claudecode']
  vim.g.loaded_claudecode = 1
  M.install()
  if type(current) ~= 'table' or current.tmuxclaude then
    package.loaded['claudecode'] = M
    M.define_commands()
    return false
  end
  local stopped = type(current.stop) == 'function' and pcall(current.stop)
  package.loaded['claudecode'] = M
  M.handled = stopped and 'was running in this Neovim: stopped (its server and lock file removed), commands taken over'
    or 'was running in this Neovim: its stop() failed; commands taken over'
  M.define_commands()
  return true
end

return M
