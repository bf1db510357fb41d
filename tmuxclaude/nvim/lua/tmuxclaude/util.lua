local M = {}

-- vim.uv is the 0.10+ name; vim.loop is all that 0.7 has.
local uv = vim.uv or vim.loop

--- vim.notify that is safe in fast events (luv callbacks, where most of the API is off limits).
---@param msg string
---@param level? integer vim.log.levels.*
function M.notify(msg, level)
  level = level or vim.log.levels.INFO
  local function show()
    vim.notify(msg, level, { title = require('tmuxclaude.config').options.title })
  end
  if vim.in_fast_event() then
    vim.schedule(show)
  else
    show()
  end
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

---@param code integer
---@param message string
---@return tmuxclaude.ToolError
function M.tool_error(code, message)
  return { __error = { code = code, message = message } }
end

return M
