"""The ``tmuxclaude`` command.

What keybindings run (``ls``, ``switch``, ``next``, ``pick``, ``new BRANCH``, ``open [PATH]``) takes a stdlib-only
fast path: no click, no libtmux, no GitPython. Everything else goes through the click application in ``cli.app``.
tests/cli/test_fast_path_parity.py runs every fast-path argv through both and compares request and output.
"""

from __future__ import annotations

import json
import sys

__all__ = ["main"]


def _fast(argv: list[str]) -> int | None:
    """Handle the hot commands without importing click; None means: not a fast-path invocation."""
    from tmuxclaude.cli import client
    from tmuxclaude.errors import TmuxClaudeError
    from tmuxclaude.model import view

    try:
        if argv in (["ls"], ["ls", "--json"]):
            items = client.request("ls", {"stats": argv[-1] == "--json"})
            if argv[-1] == "--json":
                print(json.dumps(items, indent=2))
            else:
                for item in items:
                    print(view.ls_line(view.from_wire(item)))
            return 0
        if len(argv) == 2 and argv[0] == "switch" and not argv[1].startswith("-"):
            client.request("switch", {"ref": argv[1]})
            return 0
        # `new BRANCH` and `open [PATH]` are what the tmux keys run; other spellings go through click.
        detached = "-d" in argv or "--detached" in argv
        words = [a for a in argv if a not in ("--", "-d", "--detached")]
        if len(words) == 2 and words[0] == "new" and not words[1].startswith("-"):
            item = client.request("new", {"branch": words[1], "base": None, "detached": detached})
            print(view.instance_line(view.from_wire(item), "started"))
            return 0
        import os

        # Not a path: a Claude session to promote (`open SESSION`), which click's command handles.
        path_or_none = len(words) == 1 or (len(words) == 2 and ("/" in words[1] or os.path.lexists(words[1])))
        if words[:1] == ["open"] and path_or_none and not any(w.startswith("-") for w in words[1:]):
            path = os.path.abspath(words[1]) if len(words) == 2 else ""
            item = client.request("open", {"path": path, "nvim_server": "", "detached": detached})
            print(view.instance_line(view.from_wire(item), "focused" if item.get("existing") else "started"))
            return 0
        if argv == ["watch", "--json"]:
            from tmuxclaude.cli.watch import watch

            return watch()
        if argv == ["next"]:
            client.request("next_waiting")
            return 0
        if argv[:1] == ["pick"] and (len(argv) == 1 or (len(argv) == 3 and argv[1] == "--client")):
            from tmuxclaude.cli.pick import pick

            pick(argv[2] if len(argv) == 3 else "")
            return 0
    except TmuxClaudeError as exc:
        print(view.printable(f"tmuxclaude: {exc}"), file=sys.stderr)
        return exc.exit_code
    return None


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    code = _fast(args)
    if code is not None:
        sys.exit(code)
    from tmuxclaude.cli.app import cli

    cli.main(args=args, prog_name="tmuxclaude")
