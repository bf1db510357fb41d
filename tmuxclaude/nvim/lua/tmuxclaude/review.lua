--- :ClaudeCodeReview: what this instance's Claude changed, as diffs, one file after another.
---
--- The controller keeps each file's text from before Claude first wrote it (per turn and per session, this
--- instance only) and answers the `review` request with the files that differ from it now. Each file is shown in
--- one review tab: the old text (a read-only scratch) on the left, the file's real buffer on the right, both in
--- diff mode. In the file window `do` (or `:diffget`) takes a hunk back from the old text, then `:w`;
--- `:ClaudeCodeReview revert` restores the whole file (removes a file Claude created).
local names = require('tmuxclaude.names')
local util = require('tmuxclaude.util')
-- vim.uv is the 0.10+ name; vim.loop is all that 0.7 has.
local uv = vim.uv or vim.loop

local M = {}

local function say(msg, level)
  require('tmuxclaude.reload').say(msg, level)
end

M.SUBCOMMANDS = { 'turn', 'session', 'next', 'prev', 'revert', 'close', 'send' }

---@class tmuxclaude.ReviewEntry
---@field path string
---@field old? string the text before (absent: Claude created the file, or it was too large to keep)
---@field existed boolean
---@field exists boolean
---@field kept boolean

---@class tmuxclaude.Review
---@field scope string
---@field entries tmuxclaude.ReviewEntry[]
---@field index integer
---@field tab? integer
---@field old_win? integer
---@field file_win? integer

---@type tmuxclaude.Review|nil
M.current = nil

local LABEL = { turn = 'this turn', session = 'this session' }

---@param text string
---@return string[]
local function to_lines(text)
  local lines = util.split_lines(text)
  if #lines > 1 and lines[#lines] == '' then
    table.remove(lines)
  end
  return lines
end

local function short(path)
  return vim.fn.fnamemodify(path, ':~:.')
end

local function tab_valid(r)
  return r and r.tab and vim.api.nvim_tabpage_is_valid(r.tab)
end

--- Take the file window out of diff mode (a buffer remembers 'diff' for its next window) and close the tab.
function M.close()
  local r = M.current
  M.current = nil
  if not tab_valid(r) then
    return
  end
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(r.tab)) do
    pcall(vim.api.nvim_win_call, win, function()
      vim.cmd('diffoff')
    end)
  end
  util.close_tab(r.tab)
end

---@param entry tmuxclaude.ReviewEntry
---@return integer buf
local function old_buffer(entry)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].swapfile = false
  local lines = {}
  if entry.old then
    lines = to_lines(entry.old)
  elseif entry.existed then
    lines = { '(tmuxclaude: the old text of this file was too large to keep)' }
  end
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  local name = 'tmuxclaude://before/' .. entry.path
  if not pcall(vim.api.nvim_buf_set_name, buf, name) then
    pcall(vim.api.nvim_buf_set_name, buf, name .. ' #' .. buf)
  end
  vim.api.nvim_buf_call(buf, function()
    pcall(vim.cmd, 'doautocmd filetypedetect BufRead ' .. vim.fn.fnameescape(entry.path))
  end)
  return buf
end

---@param entry tmuxclaude.ReviewEntry
---@return integer buf
local function file_buffer(entry)
  if vim.fn.filereadable(entry.path) == 1 then
    return (util.load_buf(entry.path))
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = 'wipe'
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { '(tmuxclaude: Claude removed this file)' })
  vim.bo[buf].modifiable = false
  return buf
end

---@param index integer
local function show(index)
  local r = M.current
  if not r then
    return
  end
  local entry = r.entries[index]
  r.index = index
  if not tab_valid(r) then
    vim.cmd('tabnew')
    r.tab = vim.api.nvim_get_current_tabpage()
    r.old_win = vim.api.nvim_get_current_win()
    local stray = vim.api.nvim_get_current_buf()
    vim.cmd('rightbelow vsplit')
    r.file_win = vim.api.nvim_get_current_win()
    vim.bo[stray].bufhidden = 'wipe'
  else
    vim.api.nvim_set_current_tabpage(r.tab)
    for _, win in ipairs({ r.old_win, r.file_win }) do
      if win and vim.api.nvim_win_is_valid(win) then
        pcall(vim.api.nvim_win_call, win, function()
          vim.cmd('diffoff')
        end)
      end
    end
  end
  if not (vim.api.nvim_win_is_valid(r.old_win) and vim.api.nvim_win_is_valid(r.file_win)) then
    M.close()
    util.error('tmuxclaude: the review windows were closed; run :ClaudeCodeReview again')
    return
  end
  vim.api.nvim_win_set_buf(r.old_win, old_buffer(entry))
  vim.api.nvim_win_set_buf(r.file_win, file_buffer(entry))
  for _, win in ipairs({ r.old_win, r.file_win }) do
    vim.api.nvim_win_call(win, function()
      vim.cmd('diffthis')
    end)
  end
  vim.api.nvim_set_current_win(r.file_win)
  pcall(vim.cmd, 'normal! gg]c')
  vim.api.nvim_tabpage_set_var(r.tab, 'tmuxclaude_review', entry.path)
  local what = entry.existed and 'changed' or 'created'
  -- The help lives in the statuslines (never a "Press ENTER" prompt); the echo is one short line.
  local where = ('%d/%d %s'):format(index, #r.entries, LABEL[r.scope])
  vim.wo[r.old_win].statusline = ('before Claude (%s) %%=%s'):format(what, where)
  vim.wo[r.file_win].statusline = '%f %m%=do: take a hunk back, :w · :ClaudeCodeReview next|prev|revert|close'
  say(('review %s: %s %s'):format(where, what, short(entry.path)))
end

---@param scope string 'turn' | 'session'
function M.open(scope)
  local ok, res = util.answer(require('tmuxclaude').request({ cmd = names.cmd.review, arg = scope }))
  if not ok then
    return
  end
  if type(res) ~= 'table' or #res == 0 then
    say(('Claude changed no file in %s'):format(LABEL[scope]))
    return
  end
  M.close()
  M.current = { scope = scope, entries = res, index = 1 }
  show(1)
end

---@param delta integer
function M.step(delta)
  local r = M.current
  if not r then
    util.error('tmuxclaude: no review open (:ClaudeCodeReview)')
    return
  end
  local index = r.index + delta
  if index < 1 or index > #r.entries then
    say(('that was the %s file of %d'):format(delta > 0 and 'last' or 'first', #r.entries))
    return
  end
  show(index)
end

--- The file to write (or, for one to remove, its directory) resolves inside the instance's worktree
--- (``entry.root``, given by the controller): a symlink that leads out of it is never written through.
---@param entry table
---@return boolean
local function inside_worktree(entry)
  local root = type(entry.root) == 'string' and uv.fs_realpath(entry.root) or nil
  local real
  if entry.existed then
    real = uv.fs_realpath(entry.path)
  else
    local dir = uv.fs_realpath(vim.fn.fnamemodify(entry.path, ':h'))
    real = dir and (dir .. '/' .. vim.fn.fnamemodify(entry.path, ':t')) or nil
  end
  return root ~= nil and real ~= nil and real:sub(1, #root + 1) == root .. '/'
end

--- Put the shown file back as it was before (a created file is removed).
function M.revert()
  local r = M.current
  if not (r and tab_valid(r)) then
    util.error('tmuxclaude: no review open (:ClaudeCodeReview)')
    return
  end
  local entry = r.entries[r.index]
  if entry.existed and not entry.old then
    util.error(('tmuxclaude: the old text of %s was not kept (too large); cannot revert'):format(short(entry.path)))
    return
  end
  if not inside_worktree(entry) then
    util.error(('tmuxclaude: %s leads out of the worktree (a symlink); not reverted'):format(short(entry.path)))
    return
  end
  local open_buf = util.find_buf(entry.path)
  if open_buf and vim.bo[open_buf].modified then
    util.error(('tmuxclaude: %s has unsaved changes; save or undo them first'):format(short(entry.path)))
    return
  end
  if not entry.existed then
    local buf = open_buf
    uv.fs_unlink(entry.path)
    if buf then
      pcall(vim.api.nvim_buf_delete, buf, { force = true })
    end
    say(('removed %s (Claude created it)'):format(short(entry.path)))
  else
    local buf = util.load_buf(entry.path)
    local lines = to_lines(entry.old)
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
    vim.bo[buf].eol = entry.old:sub(-1) == '\n'
    vim.api.nvim_buf_call(buf, function()
      vim.cmd('silent write!')
    end)
    say(('%s is back to what it was before'):format(short(entry.path)))
  end
  if r.index < #r.entries then
    show(r.index + 1)
  else
    M.close()
  end
end

--- :ClaudeCodeReview [turn|session|next|prev|revert|close]; no argument asks which changes to show.
---@param arg string|nil
function M.command(arg)
  if arg == 'turn' or arg == 'session' then
    M.open(arg)
  elseif arg == 'next' then
    M.step(1)
  elseif arg == 'prev' then
    M.step(-1)
  elseif arg == 'revert' then
    M.revert()
  elseif arg == 'close' then
    M.close()
  elseif arg == 'send' then
    -- Every open comment (:ClaudeCodeComment) to this instance's Claude as one prompt.
    require('tmuxclaude.comments').send()
  elseif arg == nil then
    vim.ui.select({ 'turn', 'session' }, {
      prompt = "Review Claude's changes of",
      format_item = function(item)
        return LABEL[item]
      end,
    }, function(choice)
      if choice then
        M.open(choice)
      end
    end)
  else
    util.error('Usage: :ClaudeCodeReview [' .. table.concat(M.SUBCOMMANDS, '|') .. ']')
  end
end

--- The commands of this module (called from commands.setup).
---@param def fun(name: string, fn: function, opts: table)
function M.define(def)
  def('ClaudeCodeReview', function(o)
    M.command(o.args ~= '' and o.args or nil)
  end, {
    nargs = '?',
    complete = function(lead)
      return vim.tbl_filter(function(s)
        return s:sub(1, #lead) == lead
      end, M.SUBCOMMANDS)
    end,
    desc = "Review this instance's Claude changes (this turn or this session) as diffs; revert files or hunks",
  })
  def('ClaudeCodeCompare', function()
    require('tmuxclaude.reload').compare()
  end, { desc = 'Diff the current buffer against its file on disk' })
end

return M
