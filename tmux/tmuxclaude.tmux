#!/usr/bin/env bash
# tmuxclaude, as a tmux plugin (TPM, or `run-shell /path/to/tmux/tmuxclaude.tmux` in .tmux.conf).
# Binds keys that run the tmuxclaude CLI and adds status-line segments built from @tmuxclaude_* options, which
# the controller keeps current: no process is spawned per status redraw. No logic lives here.
#
# Keys never take a binding away: the prefix key is bound only when free (or when @tmuxclaude-key names it
# explicitly). Key actions run scripts/run.sh, which reports the CLI's output or error as a tmux message. No value
# (a directory, a prompt answer, a path) is ever pasted into a shell string or a format: see run.sh.
CURRENT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$CURRENT_DIR/scripts/variables.sh"
source "$CURRENT_DIR/scripts/helpers.sh"

# What a window shows after its name: the state glyph, and "!" when over the memory limit.
WINDOW_SEGMENT='#{?#{||:#{@tmuxclaude_id},#{@tmuxclaude_remote}}, #{@tmuxclaude_glyph}#{?#{==:#{@tmuxclaude_warn},rss},!,},}'
SUMMARY_SEGMENT='#{?@tmuxclaude_summary,#{@tmuxclaude_summary} ,}'
# Index of our one-shot hooks in tmux's hook arrays (a user's own hooks are at other indexes).
HOOK_INDEX=4217

# Show TEXT once per tmux server: now when a client is attached, else to the first client that shows up.
tell_once() {
  local text=$1 show
  [ "$(tmux show-option -gqv @tmuxclaude-told)" = "$text" ] && return 0
  tmux set-option -gq @tmuxclaude-told "$text"
  # The text is displayed from an option, so display-message expands nothing of it.
  tmux set-option -gq @tmuxclaude-notice "$text"
  if [ -n "$(tmux list-clients -F '#{client_name}')" ]; then
    tmux display-message -d 0 '#{@tmuxclaude-notice}'
    return 0
  fi
  show="display-message -d 0 '#{@tmuxclaude-notice}' ; set-hook -gu 'client-attached[$HOOK_INDEX]' ;"
  show+=" set-hook -gu 'client-session-changed[$HOOK_INDEX]'"
  tmux set-hook -g "client-attached[$HOOK_INDEX]" "$show"
  tmux set-hook -g "client-session-changed[$HOOK_INDEX]" "$show"
}

bind_keys() {
  local key explicit next_key previous
  explicit=$(tmux show-option -gqv "$key_option")
  key=${explicit:-$key_default}
  previous=$(tmux show-option -gqv @tmuxclaude-bound-key)
  if [ -n "$previous" ] && [ "$previous" != "$key" ] && prefix_key_ours "$previous"; then
    tmux unbind-key -- "$previous"  # @tmuxclaude-key changed since the last load: our old key goes
  fi
  if [ -z "$explicit" ] && prefix_key_taken "$key"; then
    tell_once "tmuxclaude: prefix $key is already bound, so it was left alone; set $key_option to choose tmuxclaude's key"
  else
    tmux bind-key -- "$key" switch-client -T tmuxclaude
    tmux set-option -gq @tmuxclaude-bound-key "$key"
  fi
  # Every action: run.sh with the pane and client the key was pressed in (tmux ids, quoted for sh all the same).
  # Questions (n, s) are asked by run.sh itself in a popup, which reads the answer as data: no command-prompt
  # template ever holds an answer (tmux substitutes it into a command, on 3.3 twice).
  tmux set-option -gq @tmuxclaude-run "$CURRENT_DIR/scripts/run.sh"
  local run='bash #{q:@tmuxclaude-run} #{q:pane_id} #{q:client_name}'
  tmux bind-key -T tmuxclaude n run-shell -b "$run new"
  tmux bind-key -T tmuxclaude p run-shell -b "$run pick"
  tmux bind-key -T tmuxclaude k confirm-before -p "kill this window's Claude instance? (y/n)" "run-shell -b \"$run kill\""
  tmux bind-key -T tmuxclaude s run-shell -b "$run send"
  tmux bind-key -T tmuxclaude w run-shell -b "$run next"
  tmux bind-key -T tmuxclaude o run-shell -b "$run open"
  next_key=$(get_tmux_option "$next_key_option" "$next_key_default")
  if [ -n "$next_key" ]; then  # only ever set by the user: asked for, so bound even over another binding
    tmux bind-key -- "$next_key" run-shell -b "$run next"
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
    tell_once "tmuxclaude: the tmuxclaude command is not on PATH (set $bin_option)"
    return 0
  fi
  tmux set-option -gq "$bin_option" "$bin"
  bind_keys
  if [ "$(get_tmux_option "$status_option" "$status_default")" = "on" ]; then
    add_segment status-right "$SUMMARY_SEGMENT" '#{tmuxclaude_status}' prepend
    add_segment window-status-format "$WINDOW_SEGMENT" '#{tmuxclaude_window}' append
    add_segment window-status-current-format "$WINDOW_SEGMENT" '#{tmuxclaude_window}' append
  fi
}
main
