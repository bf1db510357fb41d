get_tmux_option() {
  local value
  value=$(tmux show-option -gqv "$1")
  if [ -n "$value" ]; then echo "$value"; else echo "$2"; fi
}
