--- Diff views for openDiff (docs/protocol.md §5.1).
---
--- A diff is a new tab: the original file (or an empty scratch for a new file) on the left, a scratch
--- "proposed" buffer ('buftype' acwrite) on the right. Accept = `:w` in the proposed buffer or
--- :ClaudeCodeDiffAccept, which only *reports* the final text: the CLI writes the file itself. Reject = deny,
--- closing the view, wiping/hiding the proposed buffer, or Neovim exiting. Each diff emits exactly one outcome.
--- Only diffs opened here are ever closed by this module, so the user's own diff windows are left alone.
local util = require('tmuxclaude.util')
-- vim.uv is the 0.10+ name; vim.loop is all that 0.7 has.
local uv = vim.uv or vim.loop

local M = {}

---@type table<string, tmuxclaude.Diff>
M.diffs = {}

local seq = 0

--- The user's decision on a diff, sent to the controller once per diff (protocol/nvim_channel.py: DiffEvent).
---@class tmuxclaude.DiffEvent
---@field type 'diff'
---@field id string the id openDiff gave
---@field tab_name string
---@field outcome 'accepted'|'rejected'
---@field contents? string the final text (accepted only)

---@param d tmuxclaude.Diff
---@param outcome "accepted"|"rejected"
---@param contents? string
local function emit(d, outcome, contents)
  ---@type tmuxclaude.DiffEvent
  local event = {
    type = 'diff',
    id = d.id,
    tab_name = d.tab_name,
    outcome = outcome,
    contents = contents,
  }
  require('tmuxclaude').emit(event)
end

---@param d tmuxclaude.Diff
---@return boolean
local function accept(d)
  if d.status ~= 'pending' or not vim.api.nvim_buf_is_valid(d.prop_buf) then
    return false
  end
  local lines = vim.api.nvim_buf_get_lines(d.prop_buf, 0, -1, false)
  local contents = table.concat(lines, '\n')
  if vim.bo[d.prop_buf].eol then
    contents = contents .. '\n'
  end
  d.status = 'accepted'
  d.stat = uv.fs_stat(d.file_path) or false
  vim.bo[d.prop_buf].modified = false
  emit(d, 'accepted', contents)
  return true
end

---@param d tmuxclaude.Diff
---@return boolean
local function reject(d)
  if d.status ~= 'pending' then
    return false
  end
  d.status = 'rejected'
  emit(d, 'rejected')
  return true
end

--- Close the view of d (no events). Must not run inside an autocmd of its own buffers: callers schedule it.
---@param d tmuxclaude.Diff
---@return boolean closed whether a view was still open
local function teardown(d)
  if not d.ui_open then
    return false
  end
  d.ui_open = false
  if d.group then
    pcall(vim.api.nvim_del_augroup_by_id, d.group)
  end
  if d.orig_win and vim.api.nvim_win_is_valid(d.orig_win) then
    -- 'diff', 'scrollbind', 'foldmethod' are window options that a buffer remembers for its next window:
    -- reset them so the user's file does not come back in diff mode later.
    pcall(vim.api.nvim_win_call, d.orig_win, function()
      vim.cmd('diffoff')
    end)
  end
  if d.tab and vim.api.nvim_tabpage_is_valid(d.tab) then
    util.close_tab(d.tab)
  end
  if d.prop_buf and vim.api.nvim_buf_is_valid(d.prop_buf) then
    pcall(vim.api.nvim_buf_delete, d.prop_buf, { force = true })
  end
  if d.orig_buf and vim.api.nvim_buf_is_valid(d.orig_buf) then
    local unused = #vim.fn.win_findbuf(d.orig_buf) == 0
    if d.orig_scratch or (d.orig_created and unused and not vim.bo[d.orig_buf].modified) then
      pcall(vim.api.nvim_buf_delete, d.orig_buf, { force = d.orig_scratch })
    end
  end
  return true
end

--- After an accepted diff the CLI writes the file: reload unmodified buffers of it once that happened.
---@param d tmuxclaude.Diff
local function reload_after_write(d)
  local path, before = d.file_path, d.stat
  local function changed()
    local now = uv.fs_stat(path)
    if not now or not before then
      return now ~= nil
    end
    return now.size ~= before.size or now.mtime.sec ~= before.mtime.sec or now.mtime.nsec ~= before.mtime.nsec
  end
  local function reload()
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if
        vim.api.nvim_buf_is_loaded(buf)
        and util.is_file_buffer(buf)
        and vim.api.nvim_buf_get_name(buf) == path
        and not vim.bo[buf].modified
      then
        if vim.o.autoread then
          pcall(vim.cmd, 'checktime ' .. buf)
        else
          pcall(vim.api.nvim_buf_call, buf, function()
            vim.cmd('edit')
          end)
        end
      end
    end
  end
  -- Poll the file for a few seconds rather than guessing one delay: the CLI writes after close_tab returns.
  local timer = uv.new_timer()
  local ticks = 0
  timer:start(
    100,
    100,
    vim.schedule_wrap(function()
      ticks = ticks + 1
      if changed() or ticks >= 50 then
        util.stop_close(timer)
        reload()
      end
    end)
  )
end

---@param contents string
---@return string[] lines, boolean eol
local function to_lines(contents)
  local lines = util.split_lines(contents)
  local eol = false
  if #lines > 1 and lines[#lines] == '' then
    table.remove(lines)
    eol = true
  end
  return lines, eol
end

---@param buf integer
---@param path string
local function detect_filetype(buf, path)
  vim.api.nvim_buf_call(buf, function()
    pcall(vim.cmd, 'doautocmd filetypedetect BufRead ' .. vim.fn.fnameescape(path))
  end)
end

---@param d tmuxclaude.Diff
local function user_closed(d)
  reject(d)
  vim.schedule(function()
    teardown(d)
    if d.status == 'rejected' and M.diffs[d.tab_name] == d then
      -- Nothing left to do for a rejected diff whose view is gone; an accepted one waits for close() to reload.
      M.diffs[d.tab_name] = nil
    end
  end)
end

---@param opts {id: string, old_file_path: string, new_file_path: string, new_file_contents: string, tab_name: string}
---@param made {d?: tmuxclaude.Diff} receives the diff as soon as it exists, for cleanup after a failure
---@return true|tmuxclaude.ToolError
local function open(opts, made)
  local path = util.normalize(opts.old_file_path)
  local existing = util.find_buf(path)
  if existing and vim.bo[existing].modified then
    return util.tool_error(-32000, 'Cannot create diff: file has unsaved changes')
  end
  local old = M.diffs[opts.tab_name]
  if old then
    reject(old)
    teardown(old)
    M.diffs[opts.tab_name] = nil
  end

  seq = seq + 1
  ---@type tmuxclaude.Diff
  local d = {
    id = opts.id,
    tab_name = opts.tab_name,
    file_path = path,
    status = 'pending',
    ui_open = true,
    orig_created = false,
    orig_scratch = false,
  }
  made.d = d

  if existing then
    d.orig_buf = existing
    if not vim.api.nvim_buf_is_loaded(existing) then
      d.orig_buf, d.orig_created = util.load_buf(path)
    end
  elseif vim.fn.filereadable(path) == 1 then
    d.orig_buf, d.orig_created = util.load_buf(path)
  else
    -- New file: diff against an empty scratch buffer.
    d.orig_scratch = true
    d.orig_buf = vim.api.nvim_create_buf(false, true)
    vim.bo[d.orig_buf].bufhidden = 'wipe'
    vim.bo[d.orig_buf].modifiable = false
  end

  local prop = vim.api.nvim_create_buf(false, true)
  d.prop_buf = prop
  local lines, eol = to_lines(opts.new_file_contents or '')
  vim.api.nvim_buf_set_lines(prop, 0, -1, false, lines)
  vim.bo[prop].eol = eol
  vim.bo[prop].fixeol = false
  vim.bo[prop].buftype = 'acwrite'
  vim.bo[prop].bufhidden = 'wipe'
  vim.bo[prop].swapfile = false
  -- A URL-like name is never expanded against the cwd; the tab name makes it unique per diff.
  local name = 'tmuxclaude://proposed/' .. opts.tab_name
  if not pcall(vim.api.nvim_buf_set_name, prop, name) then
    pcall(vim.api.nvim_buf_set_name, prop, name .. ' #' .. seq)
  end
  -- Setting a filetype loads its syntax and ftplugins (milliseconds): show the diff first, highlight it on the
  -- next turn of the event loop.
  local orig_buf, scratch = d.orig_buf, d.orig_scratch
  vim.schedule(function()
    if not vim.api.nvim_buf_is_valid(prop) then
      return
    end
    if scratch then
      -- A new file has no buffer to take the filetype from: detect it from the name.
      detect_filetype(prop, path)
      if vim.api.nvim_buf_is_valid(orig_buf) then
        vim.bo[orig_buf].filetype = vim.bo[prop].filetype
      end
    elseif vim.api.nvim_buf_is_valid(orig_buf) and vim.bo[orig_buf].filetype ~= '' then
      vim.bo[prop].filetype = vim.bo[orig_buf].filetype
    end
    vim.bo[prop].modified = false
  end)
  vim.bo[prop].modified = false

  vim.cmd('tabnew')
  d.tab = vim.api.nvim_get_current_tabpage()
  d.orig_win = vim.api.nvim_get_current_win()
  local stray = vim.api.nvim_get_current_buf()
  vim.api.nvim_win_set_buf(d.orig_win, d.orig_buf)
  if stray ~= d.orig_buf and vim.api.nvim_buf_get_name(stray) == '' and not vim.bo[stray].modified then
    pcall(vim.api.nvim_buf_delete, stray, { force = true })
  end
  vim.cmd('diffthis')
  vim.cmd('rightbelow vsplit')
  vim.api.nvim_win_set_buf(0, prop)
  vim.cmd('diffthis')
  vim.api.nvim_tabpage_set_var(d.tab, 'tmuxclaude_diff', opts.tab_name)

  d.group = vim.api.nvim_create_augroup('tmuxclaude_diff_' .. seq, { clear = true })
  vim.api.nvim_create_autocmd('BufWriteCmd', {
    group = d.group,
    buffer = prop,
    desc = 'tmuxclaude: accept the proposed change (the CLI writes the file)',
    callback = function()
      if not accept(d) then
        vim.bo[prop].modified = false
      end
    end,
  })
  vim.api.nvim_create_autocmd({ 'BufWipeout', 'BufUnload', 'BufDelete', 'BufHidden' }, {
    group = d.group,
    buffer = prop,
    desc = 'tmuxclaude: the proposed buffer went away: reject',
    callback = function()
      user_closed(d)
    end,
  })
  vim.api.nvim_create_autocmd('WinClosed', {
    group = d.group,
    desc = 'tmuxclaude: the proposed buffer is visible nowhere: reject',
    callback = function()
      -- WinClosed fires before the window is gone: look again once it is.
      vim.schedule(function()
        if d.ui_open and (not vim.api.nvim_buf_is_valid(prop) or #vim.fn.win_findbuf(prop) == 0) then
          user_closed(d)
        end
      end)
    end,
  })
  M.diffs[opts.tab_name] = d
  return true
end

--- Open a diff view. Returns true, or a tool error table (never raises: setup errors reach the CLI as
--- JSON-RPC errors, and it falls back to its own prompt).
---@param opts {id: string, old_file_path: string, new_file_path: string, new_file_contents: string, tab_name: string}
---@return true|tmuxclaude.ToolError
function M.open(opts)
  local made = {}
  local ok, res = pcall(open, opts, made)
  if ok then
    return res
  end
  if made.d then
    teardown(made.d)
    if M.diffs[opts.tab_name] == made.d then
      M.diffs[opts.tab_name] = nil
    end
  end
  return util.tool_error(-32000, 'Cannot create diff: ' .. tostring(res))
end

---@return tmuxclaude.Diff|nil
local function in_current_tab()
  local tab = vim.api.nvim_get_current_tabpage()
  for _, d in pairs(M.diffs) do
    if d.ui_open and d.tab == tab then
      return d
    end
  end
  return nil
end

--- :ClaudeCodeDiffAccept
---@return boolean
function M.accept_current()
  local d = in_current_tab()
  if not d then
    util.notify('No Claude Code diff in this tab', vim.log.levels.WARN)
    return false
  end
  return accept(d)
end

--- :ClaudeCodeDiffDeny
---@return boolean
function M.reject_current()
  local d = in_current_tab()
  if not d then
    util.notify('No Claude Code diff in this tab', vim.log.levels.WARN)
    return false
  end
  local rejected = reject(d)
  teardown(d)
  if M.diffs[d.tab_name] == d and d.status ~= 'accepted' then
    M.diffs[d.tab_name] = nil
  end
  return rejected
end

--- close_tab from the CLI: tear the view down. A pending diff is dropped without an event (the controller
--- answers the openDiff itself); after an accepted one, reload the file once the CLI has written it.
---@param tab_name string
---@return boolean known
function M.close(tab_name)
  local d = M.diffs[tab_name]
  if not d then
    return false
  end
  M.diffs[tab_name] = nil
  if d.status == 'pending' then
    d.status = 'rejected'
  end
  teardown(d)
  if d.status == 'accepted' then
    reload_after_write(d)
  end
  return true
end

--- closeAllDiffTabs: close every diff opened here (pending ones are rejected, with an event when emit is
--- true) and return how many views were closed.
---@param send_events? boolean default true
---@return integer
function M.close_all(send_events)
  local count = 0
  for tab_name, d in pairs(M.diffs) do
    M.diffs[tab_name] = nil
    if send_events == false then
      if d.status == 'pending' then
        d.status = 'rejected'
      end
    else
      reject(d)
    end
    if teardown(d) then
      count = count + 1
    end
    if d.status == 'accepted' then
      reload_after_write(d)
    end
  end
  return count
end

local enabled = false

--- Reject pending diffs when Neovim exits (a blocked openDiff must not wait forever).
function M.enable()
  if enabled then
    return
  end
  enabled = true
  vim.api.nvim_create_autocmd('VimLeavePre', {
    group = vim.api.nvim_create_augroup('tmuxclaude_diff', { clear = true }),
    desc = 'tmuxclaude: reject pending diffs on exit',
    callback = function()
      for _, d in pairs(M.diffs) do
        reject(d)
      end
    end,
  })
end

return M
