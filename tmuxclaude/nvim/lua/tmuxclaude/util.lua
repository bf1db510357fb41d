local M = {}

-- vim.uv is the 0.10+ name; vim.loop is all that 0.7 has.
local uv = vim.uv or vim.loop

--- vim.notify that is safe in fast events (luv callbacks, where most of the API is off limits).
---@param msg string
---@param level? integer vim.log.levels.*
function M.notify(msg, level)
  level = level or vim.log.levels.INFO
  local function show()
    if M.default_notify() then
      M.echo_one_line(msg, level)
    else
      -- The user's vim.notify (nvim-notify, noice, snacks...) shows long and multi-line text in its own float.
      vim.notify(msg, level, { title = require('tmuxclaude.config').options.title })
    end
  end
  if vim.in_fast_event() then
    vim.schedule(show)
  else
    show()
  end
end

--- Whether vim.notify is still Neovim's own (which echoes: a long or multi-line text would block Neovim on
--- "Press ENTER").
---@return boolean
function M.default_notify()
  local ok, info = pcall(debug.getinfo, vim.notify, 'S')
  local src = ok and info and info.source or ''
  return src:find('vim/_editor', 1, true) ~= nil or src:find('vim/shared', 1, true) ~= nil
end

--- Show msg as one line that fits the command line (never a hit-enter prompt); every line of it goes to
--- :messages. Errors also set v:errmsg, as an error message would.
---@param msg string
---@param level? integer
function M.echo_one_line(msg, level)
  level = level or vim.log.levels.INFO
  local lines = M.split_lines(tostring(msg))
  -- execute() with capture keeps each line in the history without showing it (`:silent` would drop it).
  for _, line in ipairs(lines) do
    pcall(vim.fn.execute, 'echomsg ' .. vim.fn.string(line), '')
  end
  local first = (lines[1] or ''):gsub('%s+$', '')
  local line = #lines > 1 and (first .. ' (more in :messages)') or first
  local space = tonumber(vim.v.echospace) or (vim.o.columns - 12)
  local max = math.max(10, space - 1)
  if vim.fn.strdisplaywidth(line) > max then
    local n = vim.fn.strchars(line)
    while n > 0 and vim.fn.strdisplaywidth(vim.fn.strcharpart(line, 0, n) .. '…') > max do
      n = n - 1
    end
    line = vim.fn.strcharpart(line, 0, n) .. '…'
  end
  local hl = level >= vim.log.levels.ERROR and 'ErrorMsg' or (level >= vim.log.levels.WARN and 'WarningMsg' or 'None')
  if level >= vim.log.levels.ERROR then
    vim.v.errmsg = first
  end
  vim.api.nvim_echo({ { line, hl } }, false, {})
end

---@param msg string
function M.error(msg)
  M.notify(msg, vim.log.levels.ERROR)
end

--- Run fn; report an error with a trimmed traceback instead of raising.
---@param fn function
---@param ... any
---@return boolean ok, any result
function M.try(fn, ...)
  local args = { n = select('#', ...), ... }
  return xpcall(function()
    return fn(unpack(args, 1, args.n))
  end, function(err)
    local trace = debug.traceback(tostring(err), 2)
    -- Keep the first lines: the message and where it came from, not the whole dispatcher stack.
    local lines = M.split_lines(trace)
    M.error(table.concat(vim.list_slice(lines, 1, 6), '\n'))
    return err
  end)
end

--- Split on "\n" without patterns (vim.split's signature changed between 0.7 and 0.10).
---@param s string
---@return string[]
function M.split_lines(s)
  local out, pos = {}, 1
  while true do
    local nl = s:find('\n', pos, true)
    if not nl then
      out[#out + 1] = s:sub(pos)
      return out
    end
    out[#out + 1] = s:sub(pos, nl - 1)
    pos = nl + 1
  end
end

---@param path string
---@return string
function M.file_uri(path)
  -- Raw path, not percent-encoded: the CLI compares it to the path it asked for without URL-decoding.
  return 'file://' .. path
end

---@param path string
---@return string
function M.normalize(path)
  if path:sub(1, 7) == 'file://' then
    path = path:sub(8)
  end
  local full = vim.fn.fnamemodify(path, ':p')
  if #full > 1 and full:sub(-1) == '/' then
    full = full:sub(1, -2)
  end
  return full
end

--- A named, loaded-or-listed buffer for a regular file ('buftype' empty): the only kind we report.
---@param buf integer
---@return boolean
function M.is_file_buffer(buf)
  return vim.api.nvim_buf_is_valid(buf) and vim.bo[buf].buftype == '' and vim.api.nvim_buf_get_name(buf) ~= ''
end

--- The buffer showing path (exact name first, then the same file through symlinks), or nil.
---@param path string
---@return integer|nil
function M.find_buf(path)
  local want = M.normalize(path)
  local real = uv.fs_realpath(want)
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if M.is_file_buffer(buf) then
      local name = vim.api.nvim_buf_get_name(buf)
      if name == want or (real and uv.fs_realpath(name) == real) then
        return buf
      end
    end
  end
  return nil
end

--- Load path into a buffer without showing it and without the swap-file prompt (which would block a headless
--- or RPC-driven Neovim).
---@param path string
---@return integer buf, boolean created
function M.load_buf(path)
  local existing = M.find_buf(path)
  if existing and vim.api.nvim_buf_is_loaded(existing) then
    return existing, false
  end
  local buf = existing or vim.fn.bufadd(path)
  local shortmess = vim.o.shortmess
  vim.o.shortmess = shortmess .. 'A'
  local ok, err = pcall(vim.fn.bufload, buf)
  vim.o.shortmess = shortmess
  if not ok then
    error(err, 0)
  end
  vim.bo[buf].buflisted = true
  return buf, existing == nil
end

--- Stop a luv handle (timer, fs_event) and close it unless it is closing already.
---@param handle uv_timer_t|uv_fs_event_t
function M.stop_close(handle)
  handle:stop()
  if not handle:is_closing() then
    handle:close()
  end
end

--- Close every window of tab; never Neovim's last tab (that would mean quitting): leave an empty one instead.
---@param tab integer
function M.close_tab(tab)
  if #vim.api.nvim_list_tabpages() == 1 then
    vim.cmd('tabnew')
  end
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(tab)) do
    pcall(vim.api.nvim_win_close, win, true)
  end
end

--- A controller answer as `tmuxclaude.request` returns it: `true, result`, or `false` once the failure is shown
--- (an older controller answers errors as a result; they are shown all the same).
---@param ok boolean
---@param res any
---@return boolean ok, any result
function M.answer(ok, res)
  if not ok then
    M.error(tostring(res))
    return false, nil
  end
  if type(res) == 'table' and res.error then
    M.error(tostring(res.error))
    return false, nil
  end
  return true, res
end

---@param lines string[]
---@return string
local function joined(lines)
  return (table.concat(lines or {}, '\n'):gsub('^%s+', ''):gsub('%s+$', ''))
end

--- Run the tmuxclaude CLI as a job (Neovim never blocks on it); `on_exit(code, stdout, stderr, cli)` gets the
--- output trimmed. A CLI that is missing or cannot start is shown as an error and `on_exit` is not called.
---@param args string[]
---@param on_exit fun(code: integer, out: string, err: string, cli: string)
---@return integer|nil job id
function M.cli_job(args, on_exit)
  local cli = require('tmuxclaude.config').options.cli
  if vim.fn.executable(cli) ~= 1 then
    M.error(('`%s` is not on PATH: install tmuxclaude or attach this Neovim to a controller'):format(cli))
    return nil
  end
  local cmd = { cli }
  vim.list_extend(cmd, args)
  local stdout, stderr = {}, {}
  local job = vim.fn.jobstart(cmd, {
    stdout_buffered = true,
    stderr_buffered = true,
    on_stdout = function(_, data)
      stdout = data
    end,
    on_stderr = function(_, data)
      stderr = data
    end,
    on_exit = function(_, code)
      on_exit(code, joined(stdout), joined(stderr), cli)
    end,
  })
  if job <= 0 then
    M.error('could not run ' .. cli)
    return nil
  end
  return job
end

---@param code integer
---@param message string
---@return tmuxclaude.ToolError
function M.tool_error(code, message)
  return { __error = { code = code, message = message } }
end

return M
