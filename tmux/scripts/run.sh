#!/usr/bin/env bash
# One key press: run one tmuxclaude command and show what it printed, or its error, as a tmux message.
#
#   run.sh PANE CLIENT COMMAND                 (what the plugin's key bindings run, through run-shell -b)
#   run.sh PANE CLIENT new|send --ask          (in a popup: reads the answer from its terminal)
#
# Nothing here is evaluated by a shell or expanded as a tmux format: the pane's directory is asked from tmux,
# a prompt answer is read by this script itself, from a popup's terminal (tmux's command-prompt substitutes an
# answer into a command, and tmux 3.3 did that twice: no escaping survives both), both reach the CLI as
# arguments, and the CLI's output has every # doubled before display-message sees it. Nothing is printed:
# run-shell would show any output in view mode, and a non-zero exit as "'...' returned N" without the error text.
pane=$1 client=$2 cmd=$3 mode=$4 given=$5

quoted() {  # one word for sh, whatever it holds
  printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

ask() {  # in the popup: read the answer, then run the command with it (the popup closes when it is done)
  local prompt
  case "$cmd" in new) prompt="new worktree + branch:" ;; *) prompt="send file[:L1-L2]:" ;; esac
  IFS= read -r -e -p "$prompt " given || return 0
  [ -n "$given" ] || return 0  # an empty answer (or Ctrl-D): nothing to do
  printf '%s\n' "working..."
  mode=--answer
  main >/dev/null 2>&1
}

message() {  # text, delay (ms; empty: the user's display-time)
  local text=$1
  text=${text//$'\n'/; }
  text=${text//[[:cntrl:]]/?}  # no terminal escape from a file name reaches the client's screen
  text=${text//\#/\#\#}
  case "$text" in tmuxclaude:*) ;; *) text="tmuxclaude: $text" ;; esac
  case "$text" in *';') text="${text%;}\;" ;; esac  # an argument ending in ; would end the tmux command there
  if [ -n "$2" ]; then
    tmux display-message -c "$client" -d "$2" -- "$text" || tmux display-message -d "$2" -- "$text"
  else
    tmux display-message -c "$client" -- "$text" || tmux display-message -- "$text"
  fi
}

main() {
  local bin dir input out code delay
  local -a args
  bin=$(tmux show-option -gqv @tmuxclaude-bin)
  case "$cmd" in
    new | send)
      if [ "$mode" != --answer ]; then
        # The popup runs this script again (a command string of ours: the script, a pane id, a client name).
        tmux display-popup -c "$client" -t "$pane" -E -w 70 -h 3 \
          "bash $(quoted "$0") $(quoted "$pane") $(quoted "$client") $cmd --ask"
        return 0
      fi
      input=$given
      [ -n "$input" ] || return 0
      args=("$cmd" -- "$input") ;;
    pick) args=(pick --client "$client") ;;
    kill | next | open) args=("$cmd") ;;
    open-session)  # a Claude Code session chosen in the pick menu: its id, checked to be one
      [[ ${4:-} =~ ^[0-9A-Za-z][0-9A-Za-z_-]{7,63}$ ]] || return 0
      args=(open -- "$4") ;;
    *) message "unknown key action: $cmd" 5000; return 0 ;;
  esac
  if [ -z "$bin" ]; then
    message "the tmuxclaude command is not on PATH (set @tmuxclaude-bin)" 5000
    return 0
  fi
  # The command runs where the key was pressed: that pane's directory, and TMUX_PANE naming it.
  dir=$(tmux display-message -p -t "$pane" '#{pane_current_path}')
  cd -- "${dir:-/}" 2>/dev/null || cd -- "${HOME:-/}" || cd /
  out=$(TMUX_PANE=$pane "$bin" "${args[@]}" 2>&1 </dev/null)
  code=$?
  if [ "$code" -ne 0 ]; then
    delay=$(tmux show-option -gqv display-time)
    [ "${delay:-0}" -ge 5000 ] 2>/dev/null || delay=5000  # an error stays long enough to be read
    message "${out:-"tmuxclaude $cmd failed (exit $code)"}" "$delay"
  elif [ -n "$out" ]; then
    message "$out" ""
  fi
}

if [ "$mode" = --ask ]; then
  ask
  exit 0
fi
main >/dev/null 2>&1
exit 0
