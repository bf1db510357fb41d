#!/usr/bin/env bash
# A Claude Code hook that reports the instance's state (and the file a file tool is about to write, or wrote) to
# the tmuxclaude controller.
# usage: hook.sh EVENT PORT TOKEN_FILE   (the hook's JSON arrives on stdin)
#
# Runs on every prompt and tool call, so it must be fast: bash's /dev/tcp talks plain HTTP to the instance's own
# IDE port (127.0.0.1), no interpreter start. It prints nothing (a UserPromptSubmit hook's stdout would reach the
# model) and always exits 0: a missing controller must never fail a Claude turn.
# PreToolUse waits for the answer: the controller keeps the file's old text (for :ClaudeCodeReview) before
# answering, so before the tool writes.
event=$1 port=$2 token_file=$3
input=$(cat)
re_sid='"session_id"[[:space:]]*:[[:space:]]*"([A-Za-z0-9_-]+)"'
re_type='"notification_type"[[:space:]]*:[[:space:]]*"([A-Za-z_]+)"'
# SessionStart's source: "fork" is a /fork child reporting through its parent's settings (a new session id).
re_src='"source"[[:space:]]*:[[:space:]]*"([a-z]+)"'
re_tool='"tool_name"[[:space:]]*:[[:space:]]*"([A-Za-z0-9_]+)"'
# The raw JSON string (escapes kept; the controller decodes it). A key can only match outside strings: inside one,
# every quote is escaped.
re_path='"(file_path|notebook_path)"[[:space:]]*:[[:space:]]*"(([^"\\]|\\.)*)"'
sid="" kind="" tool="" path="" src=""
[[ $input =~ $re_sid ]] && sid=${BASH_REMATCH[1]}
[[ $input =~ $re_type ]] && kind=${BASH_REMATCH[1]}
[[ $input =~ $re_src ]] && src=${BASH_REMATCH[1]}
if [[ $input =~ $re_tool ]]; then
  tool=${BASH_REMATCH[1]}
  case $tool in
    Edit|Write|MultiEdit|NotebookEdit) [[ $input =~ $re_path ]] && path=${BASH_REMATCH[2]} ;;
  esac
fi
read -r token < "$token_file" 2>/dev/null || exit 0
if [[ -n $path ]]; then
  # Percent-encode byte by byte (LC_ALL=C: a multibyte character is several bytes).
  LC_ALL=C
  encoded="" i=0 c=""
  for ((i = 0; i < ${#path}; i++)); do
    c=${path:i:1}
    case $c in
      [A-Za-z0-9._~/-]) encoded+=$c ;;
      *) printf -v c '%%%02X' "'$c"; encoded+=$c ;;
    esac
  done
  path=$encoded
fi
exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || exit 0
printf 'GET /tmuxclaude/hook?event=%s&session=%s&type=%s&tool=%s&path=%s&source=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Tmuxclaude-Hook: %s\r\n\r\n' \
  "$event" "$sid" "$kind" "$tool" "$path" "$src" "$token" >&3 2>/dev/null
read -r -t 2 -u 3 _ 2>/dev/null
exit 0
