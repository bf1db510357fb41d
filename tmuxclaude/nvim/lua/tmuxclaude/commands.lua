--- The :ClaudeCode* commands. In an attached Neovim they talk to the controller over the RPC channel; in a
--- user's own Neovim (no controller attached) they run the tmuxclaude CLI as a job, so Neovim never blocks on it.
local util = require('tmuxclaude.util')

local M = {}

--- :ClaudeCodeSend / SendTo / Add: a file (and 0-based lines) for a Claude (protocol/nvim_channel.py:
--- MentionEvent).
---@class tmuxclaude.MentionEvent
---@field type 'mention'
---@field filePath string absolute; a directory ends with '/'
---@field lineStart? integer 0-based
---@field lineEnd? integer 0-based, not before lineStart (never without it)
---@field to? string the instance named; nil: this Neovim's own

--- A :ClaudeCode* command for the controller's command table (protocol/nvim_channel.py: CommandRequest).
---@class tmuxclaude.CommandRequest
---@field cmd string the command's Neovim name (list, switch, kill, review, deny_reason, ...)
---@field arg? string its argument as typed
---@field path? string the current buffer's file
---@field file? string the file a deny reason is about

local function tmuxclaude()
  return require('tmuxclaude')
end

---@return string|nil
local function current_path()
  local buf = vim.api.nvim_get_current_buf()
  if util.is_file_buffer(buf) then
    return vim.api.nvim_buf_get_name(buf)
  end
  return nil
end

--- Run the CLI asynchronously and show its output (echo for listings, notifications otherwise).
---@param args string[]
---@param echo? boolean
---@return integer|nil job id
function M.run_cli(args, echo)
  return util.cli_job(args, function(code, out, err, cli)
    if code ~= 0 then
      util.error(err ~= '' and err or (out ~= '' and out or ('%s exited with %d'):format(cli, code)))
    elseif out ~= '' then
      if echo then
        vim.api.nvim_echo({ { out } }, true, {})
      else
        util.notify(out)
      end
    end
  end)
end

--- Ask the controller (attached mode) and show the answer.
---@param cmd string
---@param arg? string
---@param echo? boolean
local function ask(cmd, arg, echo)
  local ok, res = util.answer(tmuxclaude().request({ cmd = cmd, arg = arg, path = current_path() }))
  if not ok then
    return
  end
  if type(res) == 'string' and res ~= '' then
    if echo then
      vim.api.nvim_echo({ { res } }, true, {})
    else
      util.notify(res)
    end
  end
end

--- Mention a file (and lines, 0-based) to the instance, or to the one named `to`.
---@param path string absolute
---@param line_start? integer 0-based
---@param line_end? integer 0-based
---@param to? string
function M.mention(path, line_start, line_end, to)
  if tmuxclaude().is_attached() then
    ---@type tmuxclaude.MentionEvent
    local event = { type = 'mention', filePath = path, lineStart = line_start, lineEnd = line_end, to = to }
    tmuxclaude().emit(event)
    return
  end
  local spec = path
  if line_start then
    spec = ('%s:%d-%d'):format(path, line_start + 1, (line_end or line_start) + 1)
  end
  local args = { 'send' }
  if to then
    vim.list_extend(args, { '--to', to })
  end
  args[#args + 1] = spec
  M.run_cli(args)
end

---@param opts table user-command callback argument
---@param to? string
local function send_range(opts, to)
  local path = current_path()
  if not path then
    util.error('The current buffer is not a file')
    return
  end
  -- opts.range is 0 without a range, 1 or 2 with one. A `<cmd>ClaudeCodeSend<cr>` mapping in visual mode (what
  -- claudecode.nvim's README binds) gives no range: the selection is still on, so take its lines.
  local mode = vim.api.nvim_get_mode().mode
  if (opts.range or 0) == 0 and (mode == 'v' or mode == 'V' or mode == '\22') then
    local a, b = vim.fn.line('v'), vim.fn.line('.')
    vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('<Esc>', true, false, true), 'n', false)
    M.mention(path, math.min(a, b) - 1, math.max(a, b) - 1, to)
  elseif (opts.range or 0) > 0 then
    M.mention(path, opts.line1 - 1, opts.line2 - 1, to)
  else
    M.mention(path, nil, nil, to)
  end
end

---@param fargs string[]
local function add(fargs)
  local path = util.normalize(vim.fn.expand(fargs[1]))
  local is_dir = vim.fn.isdirectory(path) == 1
  if not is_dir and vim.fn.filereadable(path) ~= 1 then
    util.error('No such file or directory: ' .. path)
    return
  end
  local s, e = tonumber(fargs[2]), tonumber(fargs[3])
  if (fargs[2] and not s) or (fargs[3] and not e) then
    util.error('Usage: :ClaudeCodeAdd {file} [start-line] [end-line]')
    return
  end
  if is_dir then
    -- Like claudecode.nvim: a directory is mentioned with a trailing slash and no lines.
    M.mention(path:sub(-1) == '/' and path or path .. '/', nil, nil, nil)
  elseif s then
    M.mention(path, s - 1, (e or s) - 1, nil)
  else
    M.mention(path, nil, nil, nil)
  end
end

local function open(opts)
  local arg = opts.args ~= '' and opts.args or nil
  if tmuxclaude().is_attached() then
    ask('open', arg)
    return
  end
  local server = vim.v.servername
  if server == nil or server == '' then
    server = vim.fn.serverstart()
  end
  local path = arg and util.normalize(vim.fn.expand(arg)) or current_path() or vim.fn.getcwd()
  M.run_cli({ 'open', '--nvim-server', server, path })
end

---@param cmd string controller command
---@param cli_args fun(arg: string|nil): string[]
---@param echo? boolean
local function controller_or_cli(cmd, cli_args, echo)
  return function(opts)
    local arg = opts.args ~= '' and opts.args or nil
    if tmuxclaude().is_attached() then
      ask(cmd, arg, echo)
    else
      M.run_cli(cli_args(arg), echo)
    end
  end
end

local did_setup = false

---@type table<string, boolean> names this module defined
local defined = {}

--- Define (or replace) one user command; errors are shown, never raised. Outside an instance's Neovim a command
--- of the same name that another plugin defined first (claudecode.nvim's :ClaudeCode*, or lazy.nvim's stub that
--- loads it) is left alone: there claudecode.nvim works as it does without tmuxclaude. An instance takes every
--- name over when it attaches (tmuxclaude.claudecode).
---@param name string
---@param fn function
---@param opts table nvim_create_user_command options
function M.def(name, fn, opts)
  if not defined[name] and not tmuxclaude().is_attached() and vim.api.nvim_get_commands({})[name] then
    return
  end
  defined[name] = true
  opts.force = true
  vim.api.nvim_create_user_command(name, function(o)
    util.try(fn, o)
  end, opts)
end

--- Define the commands once; later calls define them again only with `again` (a later setup(opts) whose
--- options change what they bind, comment_keymap say).
---@param again? boolean
function M.setup(again)
  if did_setup and not again then
    return
  end
  did_setup = true
  M.define()
end

--- Define every command again (another plugin, claudecode.nvim say, may have replaced some).
function M.define()
  local def = M.def
  def('ClaudeCode', open, { nargs = '?', complete = 'file', desc = 'Open a Claude Code instance for a path' })
  def(
    'ClaudeCodeList',
    controller_or_cli('list', function()
      return { 'ls' }
    end, true),
    { desc = 'List Claude Code instances' }
  )
  local switch = controller_or_cli('switch', function(arg)
    return { 'switch', arg }
  end)
  local picker = require('tmuxclaude.picker')
  def('ClaudeCodeSwitch', function(o)
    if o.args ~= '' then
      switch(o)
    else
      -- No argument: choose with vim.ui.select (the user's picker, when they have one).
      picker.pick(function(item)
        switch({ args = tostring(item.name) })
      end)
    end
  end, {
    nargs = '?',
    complete = picker.complete,
    desc = 'Switch to a Claude Code instance (number or name; none: pick one)',
  })
  def(
    'ClaudeCodeKill',
    controller_or_cli('kill', function(arg)
      return arg and { 'kill', arg } or { 'kill' }
    end),
    { nargs = '?', complete = picker.complete, desc = 'Kill a Claude Code instance (this one by default)' }
  )
  def(
    'ClaudeCodeResume',
    controller_or_cli('resume', function(arg)
      return arg and { 'resume', arg } or { 'resume' }
    end),
    {
      nargs = '?',
      complete = picker.complete,
      desc = 'Start Claude Code again in its pane after it exited or was paused (this one by default)',
    }
  )
  def(
    'ClaudeCodeKillAll',
    controller_or_cli('kill_all', function()
      return { 'kill-all' }
    end),
    { desc = 'Kill every Claude Code instance' }
  )
  def('ClaudeCodeSend', function(o)
    send_range(o, nil)
  end, { range = true, desc = 'Mention this file (or the range) to Claude Code' })
  def('ClaudeCodeSendTo', function(o)
    send_range(o, o.args)
  end, {
    range = true,
    nargs = 1,
    complete = picker.complete,
    desc = 'Mention this file (or the range) to the named instance',
  })
  def('ClaudeCodeAdd', function(o)
    add(o.fargs)
  end, { nargs = '+', complete = 'file', desc = 'Mention {file} [start] [end] to Claude Code' })
  def('ClaudeCodeDiffAccept', function()
    require('tmuxclaude.diff').accept_current()
  end, { desc = 'Accept the Claude Code diff in this tab' })
  def('ClaudeCodeDiffDeny', function(o)
    -- With a reason (or comments on that file), Claude gets them as its next prompt (comments.lua).
    require('tmuxclaude.comments').deny(o.args ~= '' and o.args or nil)
  end, { nargs = '?', desc = 'Reject the Claude Code diff in this tab [with a reason for Claude]' })
  require('tmuxclaude.review').define(def)
  require('tmuxclaude.comments').define(def)
end

return M
