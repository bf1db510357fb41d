--- MCP tools answered from this Neovim (docs/protocol.md §5). Each returns the exact payload the controller wraps as
--- MCP text content, or util.tool_error(code, message) for a JSON-RPC error.
local names = require('tmuxclaude.names')
local util = require('tmuxclaude.util')

local M = {}

local SEVERITY = { 'Error', 'Warning', 'Info', 'Hint' }

---@param args table
---@param key string
---@return string|nil
local function nonempty(args, key)
  local v = args[key]
  if type(v) == 'string' and v ~= '' then
    return v
  end
  return nil
end

---@param buf integer
---@return string
local function language_id(buf)
  local ft = vim.bo[buf].filetype
  return ft ~= '' and ft or 'plaintext'
end

--- Select from (l1, c1) to (l2, c2) (1-based lines, 0-based byte columns, end inclusive) once the RPC call has
--- returned: visual mode started inside an API call would end with it, keys fed for afterwards do not.
local function select_range(l1, c1, l2, c2)
  vim.api.nvim_win_set_cursor(0, { l1, c1 })
  local keys = ('<Esc>v<Cmd>lua vim.api.nvim_win_set_cursor(0, {%d, %d})<CR>'):format(l2, c2)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), 'n', false)
end

---@param buf integer
---@param args table
local function apply_selection(buf, args)
  local count = vim.api.nvim_buf_line_count(buf)
  local start_line = tonumber(args.startLine)
  local end_line = tonumber(args.endLine)
  local start_text = nonempty(args, 'startText')
  if start_line then
    start_line = math.max(1, math.min(start_line, count))
    if end_line then
      end_line = math.max(start_line, math.min(end_line, count))
      local last = vim.api.nvim_buf_get_lines(buf, end_line - 1, end_line, false)[1] or ''
      select_range(start_line, 0, end_line, math.max(#last - 1, 0))
    else
      vim.api.nvim_win_set_cursor(0, { start_line, 0 })
    end
  elseif start_text then
    local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
    for i, line in ipairs(lines) do
      local s = line:find(start_text, 1, true)
      if s then
        local end_text = nonempty(args, 'endText')
        local el, ec = i, s + #start_text - 1
        if end_text then
          for j = i, #lines do
            local from = (j == i) and (s + #start_text) or 1
            local e = lines[j]:find(end_text, from, true)
            if e then
              el, ec = j, e + #end_text - 1
              break
            end
          end
        end
        if args.selectToEndOfLine then
          ec = #lines[el]
        end
        select_range(i, s - 1, el, math.max(ec - 1, 0))
        break
      end
    end
  end
end

--- A window to show a file in: the current one unless it holds a special buffer (terminal, diff proposal).
---@return integer
local function target_window()
  local cur = vim.api.nvim_get_current_win()
  if vim.bo[vim.api.nvim_win_get_buf(cur)].buftype == '' then
    return cur
  end
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    if vim.bo[vim.api.nvim_win_get_buf(win)].buftype == '' then
      return win
    end
  end
  vim.cmd('vsplit')
  return vim.api.nvim_get_current_win()
end

function M.openFile(args)
  local path = nonempty(args, 'filePath')
  if not path then
    return util.tool_error(names.errors.invalid_params, 'Missing filePath')
  end
  path = util.normalize(path)
  if vim.fn.filereadable(path) ~= 1 then
    return util.tool_error(names.errors.tool_error, 'File not found: ' .. path)
  end
  local buf = util.load_buf(path)
  if args.makeFrontmost == false then
    -- The CLI's own call (diagnostic tracking): load the file, never move the user's view.
    return {
      success = true,
      filePath = path,
      languageId = language_id(buf),
      lineCount = vim.api.nvim_buf_line_count(buf),
    }
  end
  local win = target_window()
  vim.api.nvim_set_current_win(win)
  vim.api.nvim_win_set_buf(win, buf)
  apply_selection(buf, args)
  return 'Opened file: ' .. path
end

---@param buf integer
---@return table
local function buffer_diagnostics(buf)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local item = {
      message = d.message,
      severity = SEVERITY[d.severity] or 'Info',
      range = {
        start = { line = d.lnum, character = d.col },
        ['end'] = { line = d.end_lnum or d.lnum, character = d.end_col or d.col },
      },
    }
    if d.source then
      item.source = d.source
    end
    local code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)
    if code ~= nil then
      item.code = tostring(code)
    end
    out[#out + 1] = item
  end
  return out
end

function M.getDiagnostics(args)
  local uri = nonempty(args, 'uri')
  if uri then
    local path = util.normalize(uri)
    local buf = util.find_buf(path)
    -- A file that is not open has no diagnostics here: answer an empty list (as VS Code does) rather than an
    -- error, since the CLI asks for a baseline before every write.
    if not buf then
      return {}
    end
    return { { uri = util.file_uri(vim.api.nvim_buf_get_name(buf)), diagnostics = buffer_diagnostics(buf) } }
  end
  local seen, out = {}, {}
  for _, d in ipairs(vim.diagnostic.get()) do
    local buf = d.bufnr
    if buf and not seen[buf] and util.is_file_buffer(buf) then
      seen[buf] = true
      out[#out + 1] = { uri = util.file_uri(vim.api.nvim_buf_get_name(buf)), diagnostics = buffer_diagnostics(buf) }
    end
  end
  return out
end

function M.getOpenEditors(_)
  local tabs = {}
  local current = vim.api.nvim_get_current_buf()
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.bo[buf].buflisted and util.is_file_buffer(buf) then
      local path = vim.api.nvim_buf_get_name(buf)
      tabs[#tabs + 1] = {
        uri = util.file_uri(path),
        isActive = buf == current,
        isPinned = false,
        isPreview = false,
        isDirty = vim.bo[buf].modified,
        label = vim.fn.fnamemodify(path, ':t'),
        groupIndex = 0,
        viewColumn = 1,
        isGroupActive = true,
        fileName = path,
        languageId = language_id(buf),
        lineCount = vim.api.nvim_buf_line_count(buf),
        isUntitled = false,
      }
    end
  end
  return { tabs = tabs }
end

function M.getWorkspaceFolders(_)
  local root = require('tmuxclaude').state.worktree or vim.fn.getcwd()
  return {
    success = true,
    folders = { { name = vim.fn.fnamemodify(root, ':t'), uri = util.file_uri(root), path = root } },
    rootPath = root,
  }
end

---@param sel tmuxclaude.Selection
local function selection_payload(sel, success)
  local out = {
    text = sel.text,
    filePath = sel.filePath,
    fileUrl = sel.fileUrl,
    selection = sel.selection,
  }
  if success then
    out.success = true
  end
  return out
end

function M.getCurrentSelection(_)
  local sel = require('tmuxclaude.selection').current()
  if not sel then
    return { success = false, message = 'No active editor found' }
  end
  return selection_payload(sel, true)
end

function M.getLatestSelection(_)
  local sel = require('tmuxclaude.selection').latest()
  if not sel then
    return { success = false, message = 'No selection available' }
  end
  return selection_payload(sel, false)
end

--- The open buffer of a tool's filePath, or the payload to answer with when there is none.
---@return string|nil path, integer|table buf_or_payload
local function open_document(args)
  local path = nonempty(args, 'filePath')
  if not path then
    return nil, util.tool_error(names.errors.invalid_params, 'Missing filePath')
  end
  path = util.normalize(path)
  local buf = util.find_buf(path)
  if not buf then
    return nil, { success = false, message = 'Document not open: ' .. path }
  end
  return path, buf
end

function M.checkDocumentDirty(args)
  local path, buf = open_document(args)
  if not path then
    return buf
  end
  return { success = true, filePath = path, isDirty = vim.bo[buf].modified, isUntitled = false }
end

function M.saveDocument(args)
  local path, buf = open_document(args)
  if not path then
    return buf
  end
  local ok, err = pcall(vim.api.nvim_buf_call, buf, function()
    vim.cmd('write')
  end)
  if not ok then
    return { success = false, message = 'Failed to save file: ' .. tostring(err), filePath = path }
  end
  return { success = true, filePath = path, saved = true, message = 'Document saved successfully' }
end

function M.closeAllDiffTabs(_)
  return require('tmuxclaude.diff').close_all(true)
end

local TOOLS = {
  openFile = M.openFile,
  getDiagnostics = M.getDiagnostics,
  getOpenEditors = M.getOpenEditors,
  getWorkspaceFolders = M.getWorkspaceFolders,
  getCurrentSelection = M.getCurrentSelection,
  getLatestSelection = M.getLatestSelection,
  checkDocumentDirty = M.checkDocumentDirty,
  saveDocument = M.saveDocument,
  closeAllDiffTabs = M.closeAllDiffTabs,
}

--- The tools answered here, sorted (protocol/tools.py TOOLS less the ones the controller answers itself).
---@return string[]
function M.names()
  local out = vim.tbl_keys(TOOLS)
  table.sort(out)
  return out
end

--- Entry point for NvimBridge.call_tool.
---@param name string
---@param args? table
---@return any
function M.call(name, args)
  local fn = TOOLS[name]
  if not fn then
    return util.tool_error(names.errors.method_not_found, 'Tool not found: ' .. tostring(name))
  end
  if type(args) ~= 'table' then
    args = {}
  end
  local ok, res = pcall(fn, args)
  if not ok then
    return util.tool_error(names.errors.internal_error, name .. ' failed: ' .. tostring(res))
  end
  return res
end

return M
