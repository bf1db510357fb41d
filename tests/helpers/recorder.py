"""Stands in for `claude` in a pane: records argv, cwd and environment to <dir>/<CLAUDE_INSTANCE_ID>.json,
then waits (a pane whose command exits would close)."""

from __future__ import annotations

import json
import os
import signal
import sys

out_dir = sys.argv[1]
if sys.argv[2:] == ["--version"]:
    # `tmuxclaude doctor` asks; answer like the CLI does (the current tested version).
    print("2.1.332 (Claude Code)")
    sys.exit(0)
record = {"argv": sys.argv[2:], "cwd": os.getcwd(), "env": dict(os.environ), "pid": os.getpid()}
name = os.environ.get("CLAUDE_INSTANCE_ID", "unknown")
tmp = os.path.join(out_dir, f".{name}.tmp")
with open(tmp, "w") as f:
    json.dump(record, f)
os.replace(tmp, os.path.join(out_dir, f"{name}.json"))
signal.pause()
