#!/usr/bin/env bash
# Starts a pane's program with the environment tmuxclaude prepared for it (the Neovim pane).
# usage: pane.sh ENV_FILE -- COMMAND [ARG...]
#
# The variables (the user's [commands] shell_env among them: proxies, tokens) come from a 0600 file in the
# instance's private runtime dir, NUL-separated KEY=VALUE records, never from argv: every local user can read any
# process's argv in /proc/*/cmdline, and a tmux server keeps the argv of the client that started it for its whole
# life. Each record is one word given to `export`, so no value is ever parsed as shell.
env_file=$1
shift
[[ ${1-} == -- ]] && shift
if [[ -r $env_file ]]; then
  while IFS= read -r -d '' kv; do export "$kv"; done < "$env_file"
else
  printf 'tmuxclaude: %s is missing; the pane starts without its environment\n' "$env_file" >&2
fi
exec "$@"
