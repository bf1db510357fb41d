#!/usr/bin/env bash
# The Claude pane's program: starts Claude Code with the instance's environment, and when Claude exits keeps the
# pane, says why, and offers to start it again in place.
# usage: claude.sh ENV_FILE PORT TOKEN_FILE NAME -- COMMAND [ARG...]
#
# Environment: read from ENV_FILE (0600, in the instance's private runtime dir, rewritten by the controller on every
# spawn), NUL-separated KEY=VALUE records, each one word given to `export`: no value is ever parsed as shell, and no
# secret from the config is on any argv (readable by every local user in /proc/*/cmdline).
#
# Exit: Claude runs as a child, so this script outlives it and the pane stays whatever the user's remain-on-exit
# says (that option is never touched). The exit is reported to the controller the way hooks/hook.sh reports hook
# events (plain HTTP to the instance's own IDE port, 127.0.0.1, with the hook token); the controller reads the
# pane's last lines, marks the instance "exited" and tells attached clients. Claude's last screen stays above the
# footer. Restart and kill go through the controller too (`tmuxclaude resume NAME` does the same restart), so the
# environment and settings files are rewritten and the conversation is resumed by its recorded session id.
env_file=$1 port=$2 token_file=$3 name=$4
shift 4
[[ ${1-} == -- ]] && shift

# GET $1 from the controller; true on a 2xx answer.
ask() {
  local token line
  read -r token < "$token_file" 2>/dev/null || return 1
  exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || return 1
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Tmuxclaude-Hook: %s\r\nConnection: close\r\n\r\n' "$1" "$token" >&3 2>/dev/null
  read -r -t 5 -u 3 line 2>/dev/null
  exec 3<&-
  [[ $line == HTTP/1.[01]\ 2* ]]
}

status=127
if [[ -r $env_file ]]; then
  while IFS= read -r -d '' kv; do export "$kv"; done < "$env_file"
  # Ctrl-C and Ctrl-\ belong to Claude; a trap (not an ignore: that would be inherited) keeps this script alive.
  trap : INT QUIT
  start=$SECONDS
  "$@"
  status=$?
  elapsed=$((SECONDS - start))
  trap - INT QUIT
else
  printf 'tmuxclaude: %s is missing; Claude was not started\n' "$env_file"
  elapsed=0
fi

# A crashed TUI can leave the terminal raw, the cursor hidden, mouse or paste modes on.
stty sane 2>/dev/null
printf '\e[?25h\e[?1000l\e[?1002l\e[?1003l\e[?1006l\e[?1004l\e[?2004l\e[<u'
ask "/tmuxclaude/exit?status=$status&elapsed=$elapsed"

if ((status > 128)); then
  why="was stopped by signal $((status - 128))"
else
  why="exited with status $status"
fi
printf '\n\e[7m tmuxclaude \e[0m Claude Code %s.\n' "$why"
printf '  r or Enter: start Claude again here, resuming its conversation\n  k: kill instance %s\n' "$name"
# One key at a time, unechoed, for as long as the menu shows: between two reads a canonical-mode terminal could
# hold a typed key back.
stty -icanon -echo 2>/dev/null
while :; do
  IFS= read -rn1 key || exit "$status"  # the terminal is gone
  case $key in
    r | R | '')
      printf 'restarting...\n'
      # The controller replaces this pane's program: this script ends here when it does.
      if ask /tmuxclaude/restart; then sleep 5; fi
      printf 'not restarted (is tmuxclaude running?); from a shell run: tmuxclaude resume %s\n' "$name"
      ;;
    k | K)
      printf 'kill instance %s (its window and Neovim; the worktree stays)? [y/N] ' "$name"
      IFS= read -rn1 key || exit "$status"
      printf '%s\n' "$key"
      if [[ $key == [yY] ]]; then
        if ask /tmuxclaude/kill; then sleep 5; fi
        printf 'not killed (is tmuxclaude running?); from a shell run: tmuxclaude kill %s\n' "$name"
      fi
      ;;
  esac
done
