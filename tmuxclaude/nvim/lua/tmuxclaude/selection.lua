--- Selection tracking: what the CLI turns into "The user selected the lines ..." (docs/protocol.md §6.1).
---
--- Positions are 0-based LSP-style with byte columns, like claudecode.nvim: char-wise `v` runs from col-1 to the
--- exclusive end column, line-wise `V` from 0 to the length of the last line; block-wise is approximated as a
--- char-wise span. A cursor without selection is sent as text "" with start == end.
local util = require('tmuxclaude.util')
-- vim.uv is the 0.10+ name; vim.loop is all that 0.7 has.
local uv = vim.uv or vim.loop

local M = {}

--- The event sent to the controller when the selection (or the cursor) changes (protocol/nvim_channel.py:
--- SelectionEvent, same field names).
---@class tmuxclaude.SelectionEvent
---@field type 'selection'
---@field text string the selected text; '' for a bare cursor
---@field filePath string absolute
---@field fileUrl string
---@field selection tmuxclaude.Range 0-based, end exclusive
---@field isEmpty boolean

---@class tmuxclaude.SelectionState
---@field timer? userdata luv timer used for the debounce
---@field group? integer
---@field debounce_ms integer
---@field last_key? string identity of the last value sent
---@field latest? tmuxclaude.Selection
M.state = { debounce_ms = 100 }

local VISUAL = { v = 'v', V = 'V', ['\22'] = '\22', s = 'v', S = 'V', ['\19'] = '\22' }

---@param mode string
---@return string|nil visual mode char (v, V or CTRL-V) or nil
local function visual_kind(mode)
  return VISUAL[mode:sub(1, 1)]
end

---@return tmuxclaude.Selection
local function record(path, text, sl, sc, el, ec)
  return {
    text = text,
    filePath = path,
    fileUrl = util.file_uri(path),
    selection = {
      start = { line = sl, character = sc },
      ['end'] = { line = el, character = ec },
      isEmpty = text == '',
    },
  }
end

---@param buf integer
---@param path string
---@param kind string
---@param a integer[] getpos() result
---@param b integer[] getpos() result
---@return tmuxclaude.Selection
local function visual_record(buf, path, kind, a, b)
  local sl, sc, el, ec = a[2], a[3], b[2], b[3]
  if el < sl or (el == sl and ec < sc) then
    sl, sc, el, ec = el, ec, sl, sc
  end
  local lines = vim.api.nvim_buf_get_lines(buf, sl - 1, el, false)
  if #lines == 0 then
    return record(path, '', sl - 1, 0, sl - 1, 0)
  end
  local last = lines[#lines]
  if kind == 'V' then
    return record(path, table.concat(lines, '\n'), sl - 1, 0, el - 1, #last)
  end
  -- Char-wise (and block-wise, approximated). ec is the 1-based byte of the last selected character, or
  -- v:maxcol after `$`: clamp it and extend over the continuation bytes of a multibyte character.
  if ec > #last then
    ec = #last
  end
  while ec < #last do
    local byte = last:byte(ec + 1)
    if byte < 0x80 or byte >= 0xC0 then
      break
    end
    ec = ec + 1
  end
  local first = lines[1]
  if sc > #first + 1 then
    sc = #first + 1
  end
  local text
  if #lines == 1 then
    text = first:sub(sc, ec)
  else
    local parts = { first:sub(sc) }
    for i = 2, #lines - 1 do
      parts[#parts + 1] = lines[i]
    end
    parts[#parts + 1] = last:sub(1, ec)
    text = table.concat(parts, '\n')
  end
  return record(path, text, sl - 1, sc - 1, el - 1, ec)
end

--- The selection (or cursor) in the current window, or nil when the current buffer is not a file buffer.
---@param from_marks? boolean use the last visual selection ('< and '>) instead of the live one
---@return tmuxclaude.Selection|nil
function M.current(from_marks)
  local buf = vim.api.nvim_get_current_buf()
  if not util.is_file_buffer(buf) then
    return nil
  end
  local path = vim.api.nvim_buf_get_name(buf)
  if from_marks then
    local kind = visual_kind(vim.fn.visualmode())
    if kind then
      return visual_record(buf, path, kind, vim.fn.getpos("'<"), vim.fn.getpos("'>"))
    end
  else
    local kind = visual_kind(vim.api.nvim_get_mode().mode)
    if kind then
      return visual_record(buf, path, kind, vim.fn.getpos('v'), vim.fn.getpos('.'))
    end
  end
  local cursor = vim.api.nvim_win_get_cursor(0)
  return record(path, '', cursor[1] - 1, cursor[2], cursor[1] - 1, cursor[2])
end

--- The last selection seen by the tracker (what getLatestSelection reports).
---@return tmuxclaude.Selection|nil
function M.latest()
  return M.state.latest
end

--- Compute the selection and send it if it changed.
---@param from_marks? boolean
function M.update(from_marks)
  local sel = M.current(from_marks)
  if not sel then
    return
  end
  local r = sel.selection
  local key = table.concat({
    sel.filePath,
    r.start.line,
    r.start.character,
    r['end'].line,
    r['end'].character,
    sel.text,
  }, '\0')
  M.state.latest = sel
  if key == M.state.last_key then
    return
  end
  M.state.last_key = key
  ---@type tmuxclaude.SelectionEvent
  local event = {
    type = 'selection',
    text = sel.text,
    filePath = sel.filePath,
    fileUrl = sel.fileUrl,
    selection = sel.selection,
    isEmpty = r.isEmpty,
  }
  require('tmuxclaude').emit(event)
end

local function debounce()
  local timer = M.state.timer
  if not timer then
    return
  end
  if M.state.debounce_ms <= 0 then
    -- No debounce asked for: send now, without the timer's two trips through the event loop.
    M.update(false)
    return
  end
  timer:stop()
  timer:start(
    M.state.debounce_ms,
    0,
    vim.schedule_wrap(function()
      if M.state.timer then
        M.update(false)
      end
    end)
  )
end

local function on_mode_changed()
  local ev = vim.v.event
  if visual_kind(ev.old_mode or '') and not visual_kind(ev.new_mode or '') then
    -- A selection made and released faster than the debounce would be lost (claudecode.nvim #246): send the
    -- just-ended selection from its marks right now, and drop the pending debounced update.
    if M.state.timer then
      M.state.timer:stop()
    end
    M.update(true)
  else
    debounce()
  end
end

---@param debounce_ms integer
function M.enable(debounce_ms)
  M.disable()
  M.state.debounce_ms = debounce_ms
  M.state.timer = uv.new_timer()
  M.state.last_key = nil
  local group = vim.api.nvim_create_augroup('tmuxclaude_selection', { clear = true })
  M.state.group = group
  vim.api.nvim_create_autocmd({ 'CursorMoved', 'CursorMovedI', 'BufEnter', 'TextChanged' }, {
    group = group,
    callback = debounce,
    desc = 'tmuxclaude: track the selection',
  })
  vim.api.nvim_create_autocmd('ModeChanged', {
    group = group,
    callback = on_mode_changed,
    desc = 'tmuxclaude: flush the selection when visual mode ends',
  })
  debounce()
end

function M.disable()
  if M.state.group then
    pcall(vim.api.nvim_del_augroup_by_id, M.state.group)
    M.state.group = nil
  end
  local timer = M.state.timer
  if timer then
    M.state.timer = nil
    util.stop_close(timer)
  end
end

return M
