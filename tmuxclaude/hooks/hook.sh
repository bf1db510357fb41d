#!/usr/bin/env bash
# A Claude Code hook that reports the instance's state to the tmuxclaude controller.
# usage: hook.sh EVENT PORT TOKEN_FILE   (the hook's JSON arrives on stdin)
#
# Runs on every prompt and tool call, so it must be fast: bash's /dev/tcp talks plain HTTP to the instance's own
# IDE port (127.0.0.1), no interpreter start. It prints nothing (a UserPromptSubmit hook's stdout would reach the
# model) and always exits 0: a missing controller must never fail a Claude turn.
event=$1 port=$2 token_file=$3
input=$(cat)
re_sid='"session_id"[[:space:]]*:[[:space:]]*"([A-Za-z0-9_-]+)"'
re_type='"notification_type"[[:space:]]*:[[:space:]]*"([A-Za-z_]+)"'
sid="" kind=""
[[ $input =~ $re_sid ]] && sid=${BASH_REMATCH[1]}
[[ $input =~ $re_type ]] && kind=${BASH_REMATCH[1]}
read -r token < "$token_file" 2>/dev/null || exit 0
exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || exit 0
printf 'GET /tmuxclaude/hook?event=%s&session=%s&type=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Tmuxclaude-Hook: %s\r\n\r\n' \
  "$event" "$sid" "$kind" "$token" >&3 2>/dev/null
read -r -t 2 -u 3 _ 2>/dev/null
exit 0
