"""When the controller may type into a Claude pane after a rejection: the CLI's empty input box is on screen."""

from __future__ import annotations

from tmuxclaude.controller.prompts import _input_box_ready

EMPTY = """  ⎿  Rejected update to calc.py
───────────────────────────────────────
❯\u00a0
───────────────────────────────────────
  ⏸ manual mode on · ? for shortcuts
"""


def test_only_an_empty_input_box_under_a_rule_is_ready() -> None:
    assert _input_box_ready(EMPTY)
    assert not _input_box_ready(EMPTY.replace("❯\u00a0", "❯\u00a0half a thought"))  # the user's draft
    assert not _input_box_ready("Do you want to make this edit to calc.py?\n❯ 1. Yes\n  2. No\n")  # a dialog
    assert not _input_box_ready("")


def test_a_box_drawn_by_output_above_a_dialog_is_not_the_input_box() -> None:
    """A file or command output Claude shows can hold a rule and a lone ``❯``; the dialog under it is what the
    prompt's Enter would answer."""
    spoof = "⏺ Bash(cat notes.txt)\n  ⎿  x\n     " + "─" * 20 + "\n     ❯\n     " + "─" * 20 + "\n"
    dialog = "\n Bash command\n   rm -rf build\n Do you want to proceed?\n ❯ 1. Yes\n   2. No\n\n Esc to cancel\n"
    assert not _input_box_ready(spoof + dialog)
    assert _input_box_ready(spoof + EMPTY)
