--- Instances for :ClaudeCodeSwitch's picker and for completing instance names.
---
--- Attached (an instance's Neovim, or one joined with :ClaudeCode): asked from the controller, one RPC per use.
--- Otherwise: the CLI, as a job for the picker, and through click's completion protocol for names, which answers
--- at once and never starts a controller.
local shared = require('tmuxclaude.names')
local util = require('tmuxclaude.util')

local M = {}

local function tmuxclaude()
  return require('tmuxclaude')
end

--- One picker line: name, branch, state, port (and * for the instance of the current tmux window).
---@param item table an instance as `tmuxclaude ls --json` describes it
---@return string
function M.format_item(item)
  local line = ('%s  [%s]  %s  :%s'):format(
    tostring(item.name),
    tostring(item.branch or ''),
    tostring(item.state or ''),
    tostring(item.port or '')
  )
  if item.active then
    line = line .. '  *'
  end
  return line
end

--- Fetch the instances and call `cb(items)`; a failure is shown as an error and `cb` is not called.
---@param cb fun(items: table[])
function M.instances(cb)
  if tmuxclaude().is_attached() then
    local ok, res = util.answer(tmuxclaude().request({ cmd = shared.cmd.instances }))
    if ok and type(res) == 'table' then
      cb(res)
    end
    return
  end
  util.cli_job(shared.argv(shared.cli.list_json), function(code, out, err, cli)
    if code ~= 0 then
      util.error(err ~= '' and err or ('%s ls exited with %d'):format(cli, code))
      return
    end
    local ok, items = pcall(vim.fn.json_decode, out)
    if not ok or type(items) ~= 'table' then
      util.error(('unexpected output from `%s ls --json`'):format(cli))
      return
    end
    cb(items)
  end)
end

--- Pick an instance with vim.ui.select (telescope, fzf-lua, snacks... take over through their ui.select
--- provider), then call `on_choice(item)`.
---@param on_choice fun(item: table)
function M.pick(on_choice)
  M.instances(function(items)
    if #items == 0 then
      util.notify('no instances (start one with :ClaudeCode or `tmuxclaude new BRANCH`)')
      return
    end
    vim.ui.select(items, {
      prompt = 'Claude Code instance',
      kind = 'tmuxclaude.instance',
      format_item = M.format_item,
    }, function(choice)
      if choice then
        on_choice(choice)
      end
    end)
  end)
end

--- The names of the instances, for command-line completion. Never an error, never a controller start.
---@return string[]
local function names()
  local out = {}
  if tmuxclaude().is_attached() then
    local ok, res = tmuxclaude().request({ cmd = shared.cmd.instances })
    if ok and type(res) == 'table' and not res.error then
      for _, item in ipairs(res) do
        out[#out + 1] = tostring(item.name)
      end
    end
    return out
  end
  local cli = require('tmuxclaude.config').options.cli
  if vim.fn.executable(cli) ~= 1 then
    return out
  end
  -- The same answer a shell gets when it completes `tmuxclaude switch <Tab>` (see the README's completion).
  local lines = vim.fn.systemlist({
    'env',
    '_TMUXCLAUDE_COMPLETE=bash_complete',
    'COMP_WORDS=tmuxclaude switch ',
    'COMP_CWORD=2',
    cli,
  })
  if vim.v.shell_error == 0 then
    for _, line in ipairs(lines) do
      local value = line:match('^plain,(.+)$')
      if value then
        out[#out + 1] = value
      end
    end
  end
  return out
end

--- `complete` function of the commands that take an instance name.
---@param arglead string
---@return string[]
function M.complete(arglead)
  local ok, all = pcall(names)
  local out = {}
  for _, name in ipairs(ok and all or {}) do
    if name:sub(1, #arglead) == arglead then
      out[#out + 1] = name
    end
  end
  return out
end

return M
