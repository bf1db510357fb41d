"""Stands in for `claude` in a pane: records argv, cwd and environment to <dir>/<CLAUDE_INSTANCE_ID>.json (and
appends the run to <id>.runs.jsonl), then waits, like a Claude waiting for input. ``--version`` and
``auth status`` are answered like the CLI.

Made to fail the way a Claude that cannot start does: when <dir>/exit-next.json exists ({"status": 1, "text": "..."}),
the first run that claims it (an atomic rename) prints the text and exits with that status instead of waiting;
a run that gets SIGUSR1 claims it the same way (a Claude that fails mid-session).
"""

from __future__ import annotations

import json
import os
import signal
import sys

out_dir = sys.argv[1]
# What `tmuxclaude doctor` asks the CLI, answered like the CLI (a logged-in API key user) without recording a run.
if sys.argv[2:3] == ["--version"]:
    print("2.1.332 (Claude Code stand-in)")
    sys.exit(0)
if sys.argv[2:4] == ["auth", "status"]:
    print(json.dumps({"loggedIn": True, "authMethod": "api_key", "apiProvider": "firstParty"}))
    sys.exit(0)


def fail_if_planned(*_: object) -> None:
    claimed = os.path.join(out_dir, f".exit-next.{os.getpid()}")
    try:
        os.rename(os.path.join(out_dir, "exit-next.json"), claimed)
    except FileNotFoundError:
        return
    with open(claimed) as f:
        plan = json.load(f)
    os.unlink(claimed)
    sys.stdout.write(plan["text"])
    sys.stdout.flush()
    os._exit(int(plan["status"]))


# SIGUSR1 later: fail the same way mid-session (a crash, an expired login). Installed before the run is recorded:
# a test signals the pid it reads from the record, and SIGUSR1's default action would kill this run instead.
signal.signal(signal.SIGUSR1, fail_if_planned)
record = {"argv": sys.argv[2:], "cwd": os.getcwd(), "env": dict(os.environ), "pid": os.getpid()}
name = os.environ.get("CLAUDE_INSTANCE_ID", "unknown")
tmp = os.path.join(out_dir, f".{name}.tmp")
with open(tmp, "w") as f:
    json.dump(record, f)
os.replace(tmp, os.path.join(out_dir, f"{name}.json"))
with open(os.path.join(out_dir, f"{name}.runs.jsonl"), "a") as f:
    f.write(json.dumps({"argv": record["argv"], "pid": record["pid"]}) + "\n")
fail_if_planned()
# Claude's empty input box, as the CLI draws it: the controller types a prompt only into that (controller/prompts.py).
rule = "\u2500" * 20  # narrower than any pane: a wrapped rule is not one
sys.stdout.write(f"{rule}\n\u276f \n{rule}\n  ? for shortcuts\n")
sys.stdout.flush()
while True:
    signal.pause()
