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
        parsed = _operands(argv[1:]) if argv[:1] in (["new"], ["open"]) else None
        if parsed is not None and argv[0] == "new" and len(parsed[0]) == 1:
            item = client.request("new", {"branch": parsed[0][0], "base": None, "detached": parsed[1]})
            print(view.instance_line(view.from_wire(item), "started"))
            return 0
        import os

        if parsed is not None and argv[0] == "open" and len(parsed[0]) <= 1:
            path = parsed[0][0] if parsed[0] else ""
            # Not a path: a Claude session to promote (`open SESSION`), which click's command handles.
            if not path or "/" in path or os.path.lexists(path):
                args = {"path": os.path.abspath(path) if path else "", "nvim_server": "", "detached": parsed[1]}
                item = client.request("open", args)
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
    except (TmuxClaudeError, ExceptionGroup) as exc:
        from tmuxclaude.cli.report import report_error

        return report_error(exc)
    return None


def _operands(args: list[str]) -> tuple[list[str], bool] | None:
    """``new``'s and ``open``'s operands and whether ``-d``/``--detached`` was given, parsed as click parses them
    (options anywhere before ``--``, everything after it an operand, a lone ``-`` an operand); None when another
    option is given (click handles it, or says what is wrong)."""
    operands: list[str] = []
    detached = only_operands = False
    for arg in args:
        if only_operands:
            operands.append(arg)
        elif arg == "--":
            only_operands = True
        elif arg in ("-d", "--detached"):
            detached = True
        elif arg.startswith("-") and arg != "-":
            return None
        else:
            operands.append(arg)
    return operands, detached


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    code = _fast(args)
    if code is not None:
        sys.exit(code)
    from tmuxclaude.cli.app import cli

    cli.main(args=args, prog_name="tmuxclaude")
