--- Line comments on Claude's work, sent back to this instance's Claude as one review.
---
--- A comment sits on lines of a file as the user reads it: the file itself, Claude's proposed text in an openDiff
--- view, or the text from before Claude's change in :ClaudeCodeReview. The controller keeps them (per instance,
--- across diff tabs and controller restarts); this module shows them beside their lines as virtual text
--- (highlight groups TmuxclaudeComment and TmuxclaudeCommentSent, link them to taste) and sends the commands.
---
--- Commands: :[range]ClaudeCodeComment [text], :ClaudeCodeCommentEdit [text], :ClaudeCodeCommentDelete,
--- :ClaudeCodeComments (quickfix list), :ClaudeCodeSendTerminal [pane]; `:ClaudeCodeReview send` and
--- `:ClaudeCodeDiffDeny [reason]` send them. Mapping: <Plug>(tmuxclaude-comment) in normal and visual mode
--- (bound to a key only when setup's `comment_keymap` names one).
local util = require('tmuxclaude.util')

local M = {}

--- The comments command: list, or add / edit / delete one (protocol/nvim_channel.py: CommentsRequest).
---@class tmuxclaude.CommentsRequest
---@field cmd 'comments'
---@field action 'list'|'add'|'edit'|'delete'
---@field id? string edit, delete
---@field file? string add: absolute
---@field line1? integer add: 1-based
---@field line2? integer add
---@field text? string add, edit
---@field quoted? string[] add: the lines commented on
---@field side? 'file'|'proposed'|'before' add

---@class tmuxclaude.Comment
---@field id string
---@field path string relative to the worktree
---@field file string absolute
---@field line1 integer 1-based
---@field line2 integer
---@field text string
---@field quoted string[]
---@field side 'file'|'proposed'|'before'
---@field state 'open'|'sent'

---@type tmuxclaude.Comment[]
M.items = {}

local ns = vim.api.nvim_create_namespace('tmuxclaude_comments')

local function tmuxclaude()
  return require('tmuxclaude')
end

local function say(msg)
  require('tmuxclaude.reload').say(msg)
end

--- What a buffer shows, as a comment sees it: the file's absolute path and the side, or nil.
---@param buf integer
---@return string|nil path, string|nil side
function M.target(buf)
  for _, d in pairs(require('tmuxclaude.diff').diffs) do
    if d.prop_buf == buf then
      return d.file_path, 'proposed'
    end
  end
  local name = vim.api.nvim_buf_get_name(buf)
  local before = name:match('^tmuxclaude://before/(.+)$')
  if before then
    return before, 'before'
  end
  if util.is_file_buffer(buf) and name ~= '' then
    return name, 'file'
  end
  return nil, nil
end

---@param c tmuxclaude.Comment
---@return string
local function label(c)
  local first = vim.split(c.text, '\n', { plain = true })[1]
  local lines = c.line1 == c.line2 and tostring(c.line1) or (c.line1 .. '-' .. c.line2)
  return ('  ▎ %s%s [%s]'):format(c.state == 'sent' and '(sent) ' or '', first, lines)
end

--- Draw the comments of one buffer (its file and side).
---@param buf integer
function M.draw(buf)
  if not vim.api.nvim_buf_is_valid(buf) or not vim.api.nvim_buf_is_loaded(buf) then
    return
  end
  vim.api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  local path, side = M.target(buf)
  if not path then
    return
  end
  local count = vim.api.nvim_buf_line_count(buf)
  for _, c in ipairs(M.items) do
    if c.file == path and c.side == side then
      local row = math.min(c.line1, count) - 1
      pcall(vim.api.nvim_buf_set_extmark, buf, ns, row, 0, {
        virt_text = { { label(c), c.state == 'sent' and 'TmuxclaudeCommentSent' or 'TmuxclaudeComment' } },
        virt_text_pos = 'eol',
        sign_text = c.state == 'sent' and '·' or '▎',
        sign_hl_group = c.state == 'sent' and 'TmuxclaudeCommentSent' or 'TmuxclaudeComment',
      })
    end
  end
end

function M.draw_all()
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) then
      M.draw(buf)
    end
  end
end

--- Take the controller's list (every answer carries the whole list) and redraw.
---@param res any
local function take(res)
  if type(res) == 'table' and type(res.comments) == 'table' then
    M.items = res.comments
    M.draw_all()
  end
end

---@param payload tmuxclaude.CommentsRequest|{cmd?: string, action: string}
---@return boolean ok, any res
local function request(payload)
  if not tmuxclaude().is_attached() then
    util.error("tmuxclaude: comments need a tmuxclaude instance's Neovim (see :ClaudeCode)")
    return false, nil
  end
  payload.cmd = 'comments'
  local ok, res = util.answer(tmuxclaude().request(payload))
  if ok then
    take(res)
    if type(res) == 'table' and res.message and res.message ~= '' then
      say(res.message)
    end
  end
  return ok, res
end

--- Ask the controller for the list again.
function M.fetch()
  if not tmuxclaude().is_attached() then
    return
  end
  local ok, res = tmuxclaude().request({ cmd = 'comments', action = 'list' })
  if ok then
    take(res)
  end
end

---@param text string|nil
---@param default string|nil
---@param fn fun(text: string)
local function with_text(text, default, fn)
  if text and text ~= '' then
    fn(text)
    return
  end
  vim.ui.input({ prompt = 'Comment: ', default = default }, function(input)
    if input and vim.trim(input) ~= '' then
      fn(input)
    end
  end)
end

--- :[range]ClaudeCodeComment [text]
---@param line1 integer
---@param line2 integer
---@param text string|nil
function M.add(line1, line2, text)
  local buf = vim.api.nvim_get_current_buf()
  local path, side = M.target(buf)
  if not path then
    util.error('tmuxclaude: this buffer is not a file, a proposed diff or a review')
    return
  end
  if line2 < line1 then
    line1, line2 = line2, line1
  end
  local quoted = vim.api.nvim_buf_get_lines(buf, line1 - 1, line2, false)
  with_text(text, nil, function(t)
    request({ action = 'add', file = path, side = side, line1 = line1, line2 = line2, quoted = quoted, text = t })
  end)
end

--- The comment under the cursor in the current window (open ones first, the newest of them), or nil.
---@return tmuxclaude.Comment|nil
function M.at_cursor()
  local buf = vim.api.nvim_get_current_buf()
  local path, side = M.target(buf)
  if not path then
    return nil
  end
  local line = vim.api.nvim_win_get_cursor(0)[1]
  local found
  for _, c in ipairs(M.items) do
    if c.file == path and c.side == side and c.line1 <= line and line <= c.line2 then
      if not found or c.state == 'open' or found.state ~= 'open' then
        found = c
      end
    end
  end
  return found
end

---@param text string|nil
function M.edit(text)
  local c = M.at_cursor()
  if not c then
    util.error('tmuxclaude: no comment on this line (:ClaudeCodeComments lists them)')
    return
  end
  with_text(text, c.text, function(t)
    request({ action = 'edit', id = c.id, text = t })
  end)
end

function M.delete()
  local c = M.at_cursor()
  if not c then
    util.error('tmuxclaude: no comment on this line (:ClaudeCodeComments lists them)')
    return
  end
  request({ action = 'delete', id = c.id })
end

--- :ClaudeCodeComments: every comment of this instance in the quickfix list.
function M.list()
  if not request({ action = 'list' }) then
    return
  end
  local qf = {}
  for _, c in ipairs(M.items) do
    local where = ''
    if c.side == 'proposed' then
      where = ' (on the proposed change)'
    elseif c.side == 'before' then
      where = ' (on the old text)'
    end
    qf[#qf + 1] = {
      filename = c.file,
      lnum = c.line1,
      end_lnum = c.line2,
      text = ('[%s] %s%s'):format(c.state, vim.split(c.text, '\n', { plain = true })[1], where),
    }
  end
  vim.fn.setqflist({}, ' ', { title = 'tmuxclaude comments', items = qf })
  if #qf == 0 then
    say('no comments')
    return
  end
  vim.cmd('copen')
end

--- :ClaudeCodeReview send: every open comment to this instance's Claude, as one prompt (queued while it is busy).
function M.send()
  if not tmuxclaude().is_attached() then
    require('tmuxclaude.commands').run_cli({ 'review', 'send' })
    return
  end
  local ok, res = util.answer(tmuxclaude().request({ cmd = 'review_send' }))
  if ok then
    say(tostring(res))
  end
end

--- :ClaudeCodeDiffDeny [reason]: deny the diff in this tab, then give Claude the reason and the open comments on
--- that file as the next prompt.
---@param reason string|nil
---@return boolean
function M.deny(reason)
  local diff = require('tmuxclaude.diff')
  local tab = vim.api.nvim_get_current_tabpage()
  local file
  for _, d in pairs(diff.diffs) do
    if d.ui_open and d.tab == tab then
      file = d.file_path
    end
  end
  local rejected = diff.reject_current()
  if rejected and file and tmuxclaude().is_attached() then
    local ok, res = util.answer(tmuxclaude().request({ cmd = 'deny_reason', arg = reason or '', file = file }))
    if ok and type(res) == 'string' and res ~= '' then
      say(res)
    end
  end
  return rejected
end

--- :ClaudeCodeSendTerminal [pane]: the pane's recent output, as a file, mentioned to this instance's Claude.
---@param pane string|nil
function M.send_terminal(pane)
  local function go(p)
    if tmuxclaude().is_attached() then
      local ok, res = util.answer(tmuxclaude().request({ cmd = 'send_terminal', arg = p }))
      if ok then
        say(tostring(res))
      end
    else
      require('tmuxclaude.commands').run_cli({ 'send', '--pane', p })
    end
  end
  if pane and pane ~= '' then
    go(pane)
    return
  end
  if not tmuxclaude().is_attached() then
    vim.ui.input({ prompt = 'tmux pane (id like %3, or session:window.pane): ' }, function(input)
      if input and vim.trim(input) ~= '' then
        go(vim.trim(input))
      end
    end)
    return
  end
  -- No pane named: choose one of this tmux server's panes (the user's picker, when they have one).
  local ok, list = util.answer(tmuxclaude().request({ cmd = 'panes' }))
  if not ok then
    return
  end
  if type(list) ~= 'table' or #list == 0 then
    say('no other tmux pane to send')
    return
  end
  vim.ui.select(list, {
    prompt = "Send Claude this pane's output",
    kind = 'tmuxclaude.pane',
    format_item = function(p)
      return ('%s  %s  %s  (%s)'):format(p.id, p.target, p.command, p.window)
    end,
  }, function(choice)
    if choice then
      go(choice.id)
    end
  end)
end

local enabled = false

--- Start showing comments (called on attach): highlight groups, redraw on entering buffers.
function M.enable()
  -- `highlight default link`: the user's own links win (nvim_set_hl's `default` key is 0.8+).
  vim.cmd('highlight default link TmuxclaudeComment DiagnosticInfo')
  vim.cmd('highlight default link TmuxclaudeCommentSent Comment')
  if not enabled then
    enabled = true
    vim.api.nvim_create_autocmd({ 'BufWinEnter', 'BufReadPost' }, {
      group = vim.api.nvim_create_augroup('tmuxclaude_comments', { clear = true }),
      desc = 'tmuxclaude: show line comments',
      callback = function(args)
        if #M.items > 0 then
          M.draw(args.buf)
        end
      end,
    })
  end
  -- The list itself comes from the controller right after the attach (M.set).
end

--- Called by the controller (an RPC notification) after it attached this Neovim: the instance's comments, kept
--- across controller restarts, shown again.
---@param list tmuxclaude.Comment[]
function M.set(list)
  take({ comments = list })
end

--- The commands of this module (called from commands.setup).
---@param def fun(name: string, fn: function, opts: table)
function M.define(def)
  def('ClaudeCodeComment', function(o)
    M.add(o.line1, o.line2, o.args ~= '' and o.args or nil)
  end, { range = true, nargs = '*', desc = 'Comment the line (or range) for Claude; no text: ask for it' })
  def('ClaudeCodeCommentEdit', function(o)
    M.edit(o.args ~= '' and o.args or nil)
  end, { nargs = '*', desc = 'Change the comment under the cursor' })
  def('ClaudeCodeCommentDelete', function()
    M.delete()
  end, { desc = 'Delete the comment under the cursor' })
  def('ClaudeCodeComments', function()
    M.list()
  end, { desc = "This instance's comments in the quickfix list" })
  def('ClaudeCodeSendTerminal', function(o)
    M.send_terminal(o.args ~= '' and o.args or nil)
  end, { nargs = '?', desc = "Give Claude a tmux pane's recent output (as a file); no pane: choose one" })
  -- ':' in visual mode inserts the '<,'> range: the command gets the selected lines.
  local plug = '<Plug>(tmuxclaude-comment)'
  vim.keymap.set('n', plug, ':ClaudeCodeComment<CR>', { silent = true, desc = 'Comment this line for Claude' })
  vim.keymap.set('x', plug, ':ClaudeCodeComment<CR>', { silent = true, desc = 'Comment these lines for Claude' })
  local key = require('tmuxclaude.config').options.comment_keymap
  if type(key) == 'string' and key ~= '' then
    vim.keymap.set({ 'n', 'x' }, key, plug, { remap = true, desc = 'tmuxclaude: comment' })
  end
end

return M
