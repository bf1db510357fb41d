--- Files written behind Neovim's back (by this instance's Claude, in any permission mode) show up at once.
---
--- Two triggers, no polling: the controller's PostToolUse hook for Claude's file tools calls `check(path)`, and a
--- libuv fs_event watcher on the directory of every open file buffer catches the rest (a Bash command's write).
--- A directory watch survives the write-to-temp-and-rename that replaces a file's inode. Both end in `:checktime`.
---
--- `:checktime` on a changed file normally asks W11/W12 ("Load file?"), which would block an RPC or a headless
--- Neovim: the FileChangedShell handler answers instead (v:fcs_choice). An unmodified buffer is reloaded (views
--- kept); a buffer with unsaved changes is never touched: the user's text stays, the file keeps the new text, and
--- the user is told which file and how to compare (:ClaudeCodeCompare). A later plain `:w` of that buffer is
--- refused (Vim's own "file changed since reading it" check is spent once the change was handled); `:w!` writes
--- the user's text over it on every Neovim without a prompt (0.7 to 0.10 would ask "Do you really want to write
--- to it", newer ones would not: the user was told already, and asked for the write with the bang), then says in
--- one line that Claude's change was overwritten, so it is never lost silently.
local util = require('tmuxclaude.util')
-- vim.uv is the 0.10+ name; vim.loop is all that 0.7 has.
local uv = vim.uv or vim.loop

local M = {}

--- A buffer's text before a reload replaced it, for :ClaudeCodeReview (protocol/nvim_channel.py: PreimageEvent).
---@class tmuxclaude.PreimageEvent
---@field type 'preimage'
---@field filePath string absolute
---@field text string valid UTF-8

local DEBOUNCE_MS = 10
local MAX_PREIMAGE = 1024 * 1024

---@type table<string, userdata> directory -> fs_event handle
local watchers = {}
---@type table<integer, userdata> buffer -> debounce timer
local timers = {}
---@type table<integer, string> buffer -> who wrote it, for the next FileChangedShell ("Claude")
local writer = {}
---@type table<integer, boolean> buffers whose file changed under unsaved changes
M.conflicts = {}
---@type table<integer, {sec: integer, nsec: integer}> buffer -> the file's mtime when Neovim last read or wrote it
local read_mtime = {}
---@type table<integer, boolean> buffers a `:w!` is writing over a conflict
local forced = {}

local enabled = false

--- Tell the user something at once, never with a "Press ENTER" prompt (which would block this Neovim's RPC):
--- the command line shows one line cut to fit beside 'showcmd' and the ruler (also kept in :messages), and a
--- small floating window at the top right shows the whole text for a few seconds. Messages of the same moment
--- are joined.
local said = nil
local float = { win = nil, buf = nil, timer = nil }
local FLOAT_MS = 8000

local function close_float()
  if float.win and vim.api.nvim_win_is_valid(float.win) then
    pcall(vim.api.nvim_win_close, float.win, true)
  end
  float.win = nil
end

---@param text string
local function show_float(text)
  local width = math.min(70, math.max(20, vim.o.columns - 4))
  local lines = {}
  for _, part in ipairs(util.split_lines(text)) do
    while vim.fn.strdisplaywidth(part) > width do
      local cut = vim.fn.strcharpart(part, 0, width)
      lines[#lines + 1] = cut
      part = vim.fn.strcharpart(part, vim.fn.strchars(cut))
    end
    lines[#lines + 1] = part
  end
  if not (float.buf and vim.api.nvim_buf_is_valid(float.buf)) then
    float.buf = vim.api.nvim_create_buf(false, true)
    vim.bo[float.buf].bufhidden = 'hide'
  end
  vim.api.nvim_buf_set_lines(float.buf, 0, -1, false, lines)
  local config = {
    relative = 'editor',
    anchor = 'NE',
    row = 0,
    col = vim.o.columns,
    width = width,
    height = math.min(#lines, math.max(1, vim.o.lines - 3)),
    style = 'minimal',
    border = 'single',
    focusable = false,
    zindex = 200,
  }
  if float.win and vim.api.nvim_win_is_valid(float.win) then
    config.anchor, config.row, config.col = 'NE', 0, vim.o.columns
    vim.api.nvim_win_set_config(float.win, config)
  else
    float.win = vim.api.nvim_open_win(float.buf, false, config)
    vim.wo[float.win].wrap = true
  end
  if float.timer then
    float.timer:stop()
  else
    float.timer = uv.new_timer()
  end
  float.timer:start(FLOAT_MS, 0, vim.schedule_wrap(close_float))
end

--- The text the floating message window shows now ('' when closed): what the user reads.
---@return string
function M.shown()
  if not (float.win and vim.api.nvim_win_is_valid(float.win)) then
    return ''
  end
  return table.concat(vim.api.nvim_buf_get_lines(float.buf, 0, -1, false), '')
end

---@param msg string
---@param level? integer vim.log.levels.*
function M.say(msg, level)
  if said then
    said.msgs[#said.msgs + 1] = msg
    said.level = math.max(said.level, level or vim.log.levels.INFO)
    return
  end
  said = { msgs = { msg }, level = level or vim.log.levels.INFO }
  vim.schedule(function()
    local text = 'tmuxclaude: ' .. table.concat(said.msgs, '\n')
    local hl = said.level >= vim.log.levels.WARN and 'WarningMsg' or 'None'
    said = nil
    local line = text:gsub('\n', ' | ')
    -- What fits beside 'showcmd' and 'ruler' without a hit-enter prompt, at any width.
    local max = math.max(10, (tonumber(vim.v.echospace) or (vim.o.columns - 12)) - 1)
    if vim.fn.strdisplaywidth(line) > max then
      line = line:sub(#'tmuxclaude: ' + 1)
    end
    if vim.fn.strdisplaywidth(line) > max then
      -- Cut from the middle: the start names the files, the end says what to do.
      local n = vim.fn.strchars(line)
      local head = math.floor((max - 1) / 2)
      line = vim.fn.strcharpart(line, 0, head) .. '…' .. vim.fn.strcharpart(line, n - (max - 1 - head))
    end
    vim.api.nvim_echo({ { line, hl } }, true, {})
    pcall(show_float, text)
  end)
end

---@param buf integer
---@return string|nil path
local function file_of(buf)
  if not util.is_file_buffer(buf) or not vim.api.nvim_buf_is_loaded(buf) then
    return nil
  end
  return vim.api.nvim_buf_get_name(buf)
end

local function dirname(path)
  return (path:match('^(.*)/[^/]*$')) or '/'
end

local function basename(path)
  return (path:match('([^/]*)$'))
end

---@param buf integer
local function text_of(buf)
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local nl = vim.bo[buf].fileformat == 'dos' and '\r\n' or '\n'
  local text = table.concat(lines, nl)
  if vim.bo[buf].eol or vim.bo[buf].fixeol then
    text = text .. nl
  end
  return text
end

--- Reload buf if its file changed, keeping every window's view of it.
---@param buf integer
function M.check_buf(buf)
  if not file_of(buf) then
    return
  end
  local views = {}
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    views[win] = vim.api.nvim_win_call(win, vim.fn.winsaveview)
  end
  local tick = vim.api.nvim_buf_get_changedtick(buf)
  -- The text a reload replaces is what the file was before: the controller keeps it for :ClaudeCodeReview (only
  -- while a Claude turn runs). Taken here, not in FileChangedShell: with 'autoread' an unmodified buffer is
  -- reloaded without that event. Not for huge buffers: the controller would not keep them anyway.
  local before = nil
  if not vim.bo[buf].modified and vim.api.nvim_buf_get_offset(buf, vim.api.nvim_buf_line_count(buf)) <= MAX_PREIMAGE then
    before = text_of(buf)
  end
  pcall(vim.cmd, 'checktime ' .. buf)
  if vim.api.nvim_buf_is_valid(buf) and vim.api.nvim_buf_get_changedtick(buf) ~= tick then
    -- Only valid UTF-8 goes over RPC as a string; other encodings are not kept.
    if before and not vim.bo[buf].modified and vim.fn.iconv(before, 'utf-8', 'utf-8') == before then
      ---@type tmuxclaude.PreimageEvent
      local event = { type = 'preimage', filePath = vim.api.nvim_buf_get_name(buf), text = before }
      require('tmuxclaude').emit(event)
    end
    for win, view in pairs(views) do
      if vim.api.nvim_win_is_valid(win) and vim.api.nvim_win_get_buf(win) == buf then
        pcall(vim.api.nvim_win_call, win, function()
          vim.fn.winrestview(view)
        end)
      end
    end
  end
end

--- From the controller (PostToolUse of Edit/Write/MultiEdit/NotebookEdit): look at path now.
---@param path string
---@param by? string who wrote it
---@return boolean whether a buffer shows that file
function M.check(path, by)
  local buf = util.find_buf(path)
  if not buf or not vim.api.nvim_buf_is_loaded(buf) then
    return false
  end
  writer[buf] = by
  M.check_buf(buf)
  return true
end

--- A directory event: check (debounced) the loaded buffers of that file. Runs in a fast event.
local function on_dir_event(dir, name)
  vim.schedule(function()
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      local path = file_of(buf)
      if path and dirname(path) == dir and (name == nil or basename(path) == name) then
        local timer = timers[buf]
        if not timer then
          timer = uv.new_timer()
          timers[buf] = timer
        end
        timer:stop()
        timer:start(DEBOUNCE_MS, 0, vim.schedule_wrap(function()
          M.check_buf(buf)
        end))
      end
    end
  end)
end

local function watch_dir(dir)
  if watchers[dir] or vim.fn.isdirectory(dir) ~= 1 then
    return
  end
  local handle = uv.new_fs_event()
  if not handle then
    return
  end
  local ok = handle:start(dir, {}, function(err, name)
    if err then
      return
    end
    on_dir_event(dir, name)
  end)
  if ok ~= 0 and ok ~= true then
    handle:close()
    return
  end
  watchers[dir] = handle
end

--- Stop watching directories no loaded file buffer lives in any more.
local function prune()
  local wanted = {}
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    local path = file_of(buf)
    if path then
      wanted[dirname(path)] = true
    end
  end
  for dir, handle in pairs(watchers) do
    if not wanted[dir] then
      util.stop_close(handle)
      watchers[dir] = nil
    end
  end
end

---@param buf integer
local function forget(buf)
  local timer = timers[buf]
  if timer then
    util.stop_close(timer)
    timers[buf] = nil
  end
  writer[buf] = nil
  M.conflicts[buf] = nil
  read_mtime[buf] = nil
  forced[buf] = nil
end

---@param buf integer
local function remember_mtime(buf)
  local path = vim.api.nvim_buf_get_name(buf)
  local st = path ~= '' and uv.fs_stat(path) or nil
  read_mtime[buf] = st and st.mtime or nil
end

--- `:w!` over a conflict: Neovim 0.7 to 0.10 compare the file's mtime with the one they read and ask (a prompt
--- that blocks RPC and headless Neovims). The user chose already, so the file gets back that mtime for the
--- instant before it is overwritten, and every Neovim writes the same way.
---@param buf integer
local function allow_forced_write(buf)
  local m = read_mtime[buf]
  local path = vim.api.nvim_buf_get_name(buf)
  -- 0.11 and newer do not ask. The older ones compare nanoseconds, which uv.fs_utime (a double) cannot give
  -- back exactly: GNU touch can; elsewhere the nearest double is the best there is.
  if m and vim.fn.has('nvim-0.11') == 0 then
    local stamp = ('@%d.%09d'):format(m.sec, m.nsec)
    if vim.fn.executable('touch') == 1 then
      vim.fn.system({ 'touch', '-m', '-c', '-d', stamp, '--', path })
    end
    if vim.fn.executable('touch') ~= 1 or vim.v.shell_error ~= 0 then
      local when = m.sec + m.nsec / 1e9
      pcall(uv.fs_utime, path, when, when)
    end
  end
  forced[buf] = true
end

--- FileChangedShell: decide without asking.
---@param buf integer
local function on_changed(buf)
  local path = vim.api.nvim_buf_get_name(buf)
  local who = writer[buf]
  writer[buf] = nil
  local reason = vim.v.fcs_reason
  local short = vim.fn.fnamemodify(path, ':~:.')
  if reason == 'deleted' then
    vim.v.fcs_choice = ''
    M.say(('%s was deleted on disk; the buffer keeps its text'):format(short), vim.log.levels.WARN)
    return
  end
  if reason == 'mode' or reason == 'time' then
    vim.v.fcs_choice = ''
    return
  end
  if vim.bo[buf].modified then
    vim.v.fcs_choice = ''
    M.conflicts[buf] = true
    M.say(
      ('%s changed on disk%s; your unsaved text is kept: :ClaudeCodeCompare'):format(
        short,
        who and (' by ' .. who) or ''
      ),
      vim.log.levels.WARN
    )
    return
  end
  vim.v.fcs_choice = 'reload'
end

function M.enable()
  if enabled then
    return
  end
  enabled = true
  local group = vim.api.nvim_create_augroup('tmuxclaude_reload', { clear = true })
  vim.api.nvim_create_autocmd('FileChangedShell', {
    group = group,
    desc = 'tmuxclaude: reload or keep without prompting (a prompt would block RPC and headless Neovims)',
    callback = function(args)
      on_changed(args.buf)
    end,
  })
  vim.api.nvim_create_autocmd({ 'BufReadPost', 'BufNewFile', 'BufFilePost', 'BufWritePost' }, {
    group = group,
    callback = function(args)
      if args.event == 'BufWritePost' and forced[args.buf] then
        local short = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(args.buf), ':~:.')
        M.say(('%s: your text was written over the change made on disk'):format(short), vim.log.levels.WARN)
      end
      forced[args.buf] = nil
      M.conflicts[args.buf] = nil
      remember_mtime(args.buf)
      local path = file_of(args.buf)
      if path then
        watch_dir(dirname(path))
      end
    end,
  })
  vim.api.nvim_create_autocmd({ 'BufUnload', 'BufWipeout', 'BufDelete' }, {
    group = group,
    callback = function(args)
      forget(args.buf)
      vim.schedule(prune)
    end,
  })
  vim.api.nvim_create_autocmd('BufWritePre', {
    group = group,
    desc = 'tmuxclaude: do not write over a file that changed on disk under unsaved changes without :w!',
    callback = function(args)
      if M.conflicts[args.buf] and vim.v.cmdbang ~= 1 then
        local short = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(args.buf), ':~:.')
        error(('tmuxclaude: %s changed on disk since you started editing; :ClaudeCodeCompare to see how, '
          .. ':w! to write yours over it'):format(short), 0)
      end
      if M.conflicts[args.buf] then
        allow_forced_write(args.buf)
      end
    end,
  })
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    local path = file_of(buf)
    if path then
      watch_dir(dirname(path))
      if not vim.bo[buf].modified then
        remember_mtime(buf)
      end
    end
  end
end

function M.disable()
  close_float()
  if not enabled then
    return
  end
  enabled = false
  pcall(vim.api.nvim_del_augroup_by_name, 'tmuxclaude_reload')
  for dir, handle in pairs(watchers) do
    util.stop_close(handle)
    watchers[dir] = nil
  end
  for buf in pairs(timers) do
    forget(buf)
  end
  M.conflicts = {}
  read_mtime = {}
  forced = {}
end

---@return integer number of directories watched (tests, :checkhealth)
function M.watched()
  local n = 0
  for _ in pairs(watchers) do
    n = n + 1
  end
  return n
end

--- :ClaudeCodeCompare: the current buffer against the file on disk, in diff mode in a new tab. `do`/`:diffget`
--- in the buffer takes a hunk from disk.
function M.compare()
  local buf = vim.api.nvim_get_current_buf()
  local path = file_of(buf)
  if not path then
    util.error('The current buffer is not a file')
    return
  end
  local disk = vim.fn.filereadable(path) == 1 and vim.fn.readfile(path, 'b') or {}
  if #disk > 0 and disk[#disk] == '' then
    table.remove(disk)
  end
  local ft = vim.bo[buf].filetype
  vim.cmd('tab split')
  vim.cmd('diffthis')
  local scratch = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(scratch, 0, -1, false, disk)
  vim.bo[scratch].bufhidden = 'wipe'
  vim.bo[scratch].modifiable = false
  pcall(vim.api.nvim_buf_set_name, scratch, 'tmuxclaude://disk/' .. path)
  vim.cmd('rightbelow vsplit')
  vim.api.nvim_win_set_buf(0, scratch)
  vim.bo[scratch].filetype = ft
  vim.cmd('diffthis')
  vim.cmd('wincmd p')
  M.say(('left: your buffer, right: %s on disk; do takes a hunk from disk'):format(vim.fn.fnamemodify(path, ':t')))
end

return M
