get_tmux_option() {
  local value
  value=$(tmux show-option -gqv "$1")
  if [ -n "$value" ]; then echo "$value"; else echo "$2"; fi
}

# Whether KEY is bound in the prefix table to tmuxclaude's table (by an earlier load of this plugin).
prefix_key_ours() {
  case "$(tmux list-keys -T prefix -- "$1" 2>/dev/null)" in
    *"switch-client -T tmuxclaude"*) return 0 ;;
    *) return 1 ;;
  esac
}

# Whether KEY is bound in the prefix table to something other than ours (the user's binding or one of tmux's
# defaults): such a key is left alone.
prefix_key_taken() {
  local binding
  binding=$(tmux list-keys -T prefix -- "$1" 2>/dev/null) || return 1
  case "$binding" in
    *"@tmuxclaude-run"* | *"switch-client -T tmuxclaude"*) return 1 ;;  # ours, from an earlier load
    *) return 0 ;;
  esac
}
