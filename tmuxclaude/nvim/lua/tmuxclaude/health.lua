--- :checkhealth tmuxclaude. Neovim 0.7 has require('health').report_*, 0.8+ vim.health.*, 0.10 renamed to
--- start/ok/warn/error/info: pick whichever exists.
local M = {}

local function reporter()
  local h = vim.health or require('health')
  return {
    start = h.start or h.report_start,
    ok = h.ok or h.report_ok,
    warn = h.warn or h.report_warn,
    error = h.error or h.report_error,
    info = h.info or h.report_info,
  }
end

function M.check()
  local report = reporter()
  report.start('tmuxclaude')

  if vim.fn.has('nvim-0.7') == 1 then
    local v = vim.version()
    report.ok(('Neovim %d.%d.%d (0.7 or newer)'):format(v.major, v.minor, v.patch))
  else
    report.error('Neovim 0.7 or newer is required')
  end

  local tc = require('tmuxclaude')
  if tc.is_attached() then
    report.ok(('attached to the controller as instance %s (%s), channel %d'):format(
      tc.state.name or '?',
      tc.state.instance_id or '?',
      tc.state.channel
    ))
  else
    report.info('not attached to a controller: the :ClaudeCode* commands run the tmuxclaude CLI')
  end

  local cli = require('tmuxclaude.config').options.cli
  if vim.fn.executable(cli) == 1 then
    report.ok(('`%s` found: %s'):format(cli, vim.fn.exepath(cli)))
  elseif tc.is_attached() then
    report.warn(('`%s` is not on PATH (only needed in a Neovim the controller did not start)'):format(cli))
  else
    report.error(('`%s` is not on PATH: the controller cannot be reached'):format(cli))
  end

  if (vim.env.TMUX or '') ~= '' then
    report.ok('running inside tmux')
  else
    report.warn('not inside tmux: instances open in tmux windows, which this Neovim cannot show')
  end

  -- claudecode.nvim: loaded (the real one, or tmuxclaude's stand-in), or installed (on 'runtimepath' or known
  -- to lazy.nvim) and not loaded yet.
  local cc = package.loaded['claudecode']
  local installed = #vim.api.nvim_get_runtime_file('lua/claudecode/init.lua', true) > 0
  local ok_lazy, lazy_config = pcall(require, 'lazy.core.config')
  if ok_lazy and type(lazy_config.plugins) == 'table' and lazy_config.plugins['claudecode.nvim'] then
    installed = true
  end
  if type(cc) == 'table' and cc.tmuxclaude then
    report.ok(('claudecode.nvim found: handled by tmuxclaude (%s); its commands and keys act on this instance\'s '
      .. 'Claude, no server, lock file or terminal of its own'):format(cc.handled or 'commands taken over'))
  elseif type(cc) == 'table' or installed then
    if tc.is_attached() then
      report.warn('claudecode.nvim found, not yet handled: it is taken over when it loads')
    else
      report.info('claudecode.nvim found: this Neovim is not an instance\'s, so it works on its own as usual')
    end
  else
    report.info('claudecode.nvim not found')
  end

  local server = vim.v.servername
  if server and server ~= '' then
    report.ok('server address: ' .. server)
  else
    report.warn('no server address (v:servername is empty); :ClaudeCode will start one')
  end
end

return M
