--- tmuxclaude: the Neovim side of a tmuxclaude instance.
---
--- Two ways in: `setup()` (from plugin/tmuxclaude.lua, in any Neovim that has this runtime dir) defines the
--- commands; `attach()` (called over RPC by the controller) binds this Neovim to one instance, starts selection
--- tracking, and makes the commands talk to the controller instead of running the CLI.
local M = {}

--- A file outside this instance's worktree was entered (protocol/nvim_channel.py: BufferEvent).
---@class tmuxclaude.BufferEvent
---@field type 'buffer'
---@field filePath string absolute

--- Everything the controller can be sent as a `tmuxclaude_event` notification; each class is declared in the
--- module that sends it, with the field names of its Python twin in protocol/nvim_channel.py.
---@alias tmuxclaude.Event
---| tmuxclaude.SelectionEvent
---| tmuxclaude.DiffEvent
---| tmuxclaude.PreimageEvent
---| tmuxclaude.BufferEvent
---| tmuxclaude.MentionEvent

--- Everything the controller can be asked as a `tmuxclaude_request` (commands.lua, comments.lua).
---@alias tmuxclaude.Request tmuxclaude.CommandRequest|tmuxclaude.CommentsRequest

M.version = '0.1.0'

---@type tmuxclaude.State
M.state = {}

--- Options and commands. Works whenever it is called, as often as it is called (plugin/tmuxclaude.lua calls it
--- without options; lazy.nvim's `opts` call it again, before or after): each call's options add to the earlier
--- ones and apply at once, also in a Neovim already attached to a controller.
---@param opts? table overrides for tmuxclaude.config.defaults
function M.setup(opts)
  local config = require('tmuxclaude.config')
  config.merge(opts)
  require('tmuxclaude.commands').setup(opts ~= nil)
  if opts and opts.debounce_ms and M.is_attached() then
    require('tmuxclaude.selection').enable(config.options.debounce_ms)
  end
end

--- Whether a controller is attached and its channel still open.
---@return boolean
function M.is_attached()
  local ch = M.state.channel
  if not ch or ch == 0 then
    return false
  end
  local ok, info = pcall(vim.api.nvim_get_chan_info, ch)
  return ok and type(info) == 'table' and info.id ~= nil
end

--- Called by the controller (NvimBridge.attach). Attaching again with the same channel changes nothing; a new
--- channel (a restarted controller) takes over.
---@param opts tmuxclaude.AttachOpts
---@return {pid: integer, version: string}
function M.attach(opts)
  M.setup()
  local info = { pid = vim.fn.getpid(), version = M.version }
  if M.state.channel == opts.channel and M.is_attached() then
    return info
  end
  M.state = {
    channel = opts.channel,
    instance_id = opts.instance_id,
    name = opts.name,
    worktree = opts.worktree,
    status = opts.state,
    glyph = opts.glyph,
  }
  local config = require('tmuxclaude.config')
  -- claudecode.nvim in this Neovim (loaded already, or later): its commands and API act on this instance from
  -- now on (see claudecode.lua).
  require('tmuxclaude.claudecode').take_over()
  local debounce = config.user.debounce_ms or opts.debounce_ms or config.options.debounce_ms
  require('tmuxclaude.selection').enable(debounce)
  require('tmuxclaude.diff').enable()
  require('tmuxclaude.reload').enable()
  require('tmuxclaude.comments').enable()
  M.watch_worktree()
  return info
end

--- This Neovim's instance for a statusline: name and state glyph (`feat-x ●`); '' outside an instance.
--- Called on every redraw, so it only reads what the controller last pushed (set_status): no RPC, no error.
---@return string
function M.statusline()
  local ok, text = pcall(function()
    local s = M.state
    if not s.name or not M.is_attached() then
      return ''
    end
    if s.glyph and s.glyph ~= '' then
      return s.name .. ' ' .. s.glyph
    end
    return s.name
  end)
  return ok and text or ''
end

--- Called by the controller (an RPC notification) when this instance's state changes.
---@param status {state: string, glyph: string}
function M.set_status(status)
  if type(status) ~= 'table' or not M.state.name then
    return
  end
  if M.state.status == status.state and M.state.glyph == status.glyph then
    return
  end
  M.state.status = status.state
  M.state.glyph = status.glyph
  -- A plain 'statusline' redraws now; lualine and friends may also listen for this event.
  pcall(vim.cmd, 'redrawstatus!')
  pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = 'TmuxclaudeStatus', modeline = false })
end

--- Tell the controller when a file outside this instance's worktree is entered: with
--- multi_instance.auto_start_for_worktree it starts (or focuses) that worktree's instance. Once per path.
function M.watch_worktree()
  local seen = {}
  local group = vim.api.nvim_create_augroup('tmuxclaude_worktree', { clear = true })
  vim.api.nvim_create_autocmd('BufEnter', {
    group = group,
    callback = function(args)
      local root = M.state.worktree
      if not root or vim.bo[args.buf].buftype ~= '' then
        return
      end
      local path = vim.api.nvim_buf_get_name(args.buf)
      if path == '' or seen[path] then
        return
      end
      local prefix = root:sub(-1) == '/' and root or (root .. '/')
      if path:sub(1, #prefix) ~= prefix then
        seen[path] = true
        ---@type tmuxclaude.BufferEvent
        local event = { type = 'buffer', filePath = path }
        M.emit(event)
      end
    end,
  })
end

--- Undo attach (the controller is closing this bridge). Diff views of this instance are closed without events:
--- the controller resolves whatever is still pending.
---@param channel? integer only detach if still attached to this channel
---@return boolean
function M.detach(channel)
  if channel and M.state.channel ~= channel then
    return false
  end
  require('tmuxclaude.selection').disable()
  pcall(vim.api.nvim_del_augroup_by_name, 'tmuxclaude_worktree')
  require('tmuxclaude.diff').close_all(false)
  require('tmuxclaude.reload').disable()
  M.state = {}
  return true
end

--- Send an event to the controller. Safe in fast events (rpcnotify is allowed there).
---@param event tmuxclaude.Event
---@return boolean sent
function M.emit(event)
  local ch = M.state.channel
  if not ch then
    return false
  end
  local ok = pcall(vim.rpcnotify, ch, 'tmuxclaude_event', event)
  return ok
end

--- Ask the controller something (blocks until it answers).
---@param payload tmuxclaude.Request
---@return boolean ok, any result_or_error
function M.request(payload)
  if not M.is_attached() then
    return false, 'not attached to a tmuxclaude controller'
  end
  local ok, res = pcall(vim.rpcrequest, M.state.channel, 'tmuxclaude_request', payload)
  if not ok then
    -- Drop Neovim's "Vim:Error invoking 'x' on channel N:\n" wrapper: the controller's message is what matters.
    res = tostring(res):gsub("^.-on channel %d+[^\n]*\n", '')
  end
  return ok, res
end

return M
