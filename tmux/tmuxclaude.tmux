#!/usr/bin/env bash
# tmuxclaude, as a tmux plugin (TPM, or `run-shell /path/to/tmux/tmuxclaude.tmux` in .tmux.conf).
# Binds keys that run the tmuxclaude CLI and adds status-line segments built from @tmuxclaude_* options, which
# the controller keeps current: no process is spawned per status redraw. No logic lives here.
CURRENT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$CURRENT_DIR/scripts/variables.sh"
source "$CURRENT_DIR/scripts/helpers.sh"

# What a window shows after its name: the state glyph, and "!" when over the memory limit.
WINDOW_SEGMENT='#{?@tmuxclaude_id, #{@tmuxclaude_glyph}#{?#{==:#{@tmuxclaude_warn},rss},!,},}'
SUMMARY_SEGMENT='#{?@tmuxclaude_summary,#{@tmuxclaude_summary} ,}'

bind_keys() {
  local bin=$1 key
  key=$(get_tmux_option "$key_option" "$key_default")
  tmux bind-key "$key" switch-client -T tmuxclaude
  # run-shell expands formats: the command learns the pane and directory it was pressed in.
  local ctx="cd '#{pane_current_path}' && TMUX_PANE='#{pane_id}'"
  tmux bind-key -T tmuxclaude n command-prompt -p "new worktree + branch:" \
    "run-shell -b \"$ctx '$bin' new -- '%1'\""
  tmux bind-key -T tmuxclaude p run-shell -b "$ctx '$bin' pick --client '#{client_name}'"
  tmux bind-key -T tmuxclaude k confirm-before -p "kill this window's Claude instance? (y/n)" \
    "run-shell -b \"$ctx '$bin' kill\""
  tmux bind-key -T tmuxclaude s command-prompt -p "send file[:L1-L2]:" \
    "run-shell -b \"$ctx '$bin' send '%1'\""
  tmux bind-key -T tmuxclaude w run-shell -b "$ctx '$bin' next"
  tmux bind-key -T tmuxclaude o run-shell -b "$ctx '$bin' open"
  local next_key
  next_key=$(get_tmux_option "$next_key_option" "$next_key_default")
  if [ -n "$next_key" ]; then
    tmux bind-key "$next_key" run-shell -b "$ctx '$bin' next"
  fi
}

add_segment() {  # option, segment, placeholder, position (append|prepend)
  local option=$1 segment=$2 placeholder=$3 position=$4 current
  current=$(tmux show-option -gqv "$option")
  case "$current" in
    *"$placeholder"*) tmux set-option -gq "$option" "${current//"$placeholder"/$segment}" ;;
    *"@tmuxclaude_"*) ;;  # already there (the plugin ran before)
    *) if [ "$position" = prepend ]; then tmux set-option -gq "$option" "$segment$current"
       else tmux set-option -gq "$option" "$current$segment"; fi ;;
  esac
}

main() {
  local bin
  bin=$(get_tmux_option "$bin_option" "$(command -v tmuxclaude)")
  if [ -z "$bin" ]; then
    tmux display-message "tmuxclaude: the tmuxclaude command is not on PATH (set $bin_option)"
    return 0
  fi
  tmux set-option -gq "$bin_option" "$bin"
  bind_keys "$bin"
  if [ "$(get_tmux_option "$status_option" "$status_default")" = "on" ]; then
    add_segment status-right "$SUMMARY_SEGMENT" '#{tmuxclaude_status}' prepend
    add_segment window-status-format "$WINDOW_SEGMENT" '#{tmuxclaude_window}' append
    add_segment window-status-current-format "$WINDOW_SEGMENT" '#{tmuxclaude_window}' append
  fi
}
main
