# Options a user may set in .tmux.conf (before the plugin runs), with their defaults.
key_option="@tmuxclaude-key"                 # prefix + this enters the tmuxclaude key table
key_default="A"                              # free in tmux's default bindings (C is customize-mode)
bin_option="@tmuxclaude-bin"                 # path of the tmuxclaude command
status_option="@tmuxclaude-status"           # on: add the summary segment and per-window state glyphs
status_default="on"
next_key_option="@tmuxclaude-next-waiting-key"  # optional prefix key jumping to the next waiting instance
next_key_default=""
