"""The pane channel's codec (protocol/pane_http.py): what hook.sh and the pane launcher send becomes one typed
request, or the refusal it gets."""

from __future__ import annotations

import pytest

from tmuxclaude.protocol import pane_http as ph

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("target", "decoded"),
    [
        (
            "/tmuxclaude/hook?event=PreToolUse&session=abc-1&type=&tool=Edit&path=%2Fw%2Fa.py&source=",
            ph.Hook("PreToolUse", "abc-1", "Edit", "/w/a.py", ""),
        ),
        ("/tmuxclaude/hook?event=SessionStart&session=s2&source=fork", ph.Hook("SessionStart", "s2", source="fork")),
        ("/tmuxclaude/exit?status=1&elapsed=3", ph.ClaudeExited(1, 3)),
        ("/tmuxclaude/exit?status=999&elapsed=x", ph.ClaudeExited(255, 0)),
        ("/tmuxclaude/exit?status=%C2%B2", ph.ClaudeExited(0, 0)),
        ("/tmuxclaude/restart", ph.PaneKey("resume")),
        ("/tmuxclaude/kill", ph.PaneKey("kill")),
        ("/tmuxclaude/hook?event=Stop&session=--settings%3D%2Ftmp%2Fx", ph.BAD_REQUEST),
        ("/tmuxclaude/hook?event=Stop&session=-x", ph.BAD_REQUEST),
        ("/tmuxclaude/other", ph.NOT_FOUND),
        ("/elsewhere", ph.NOT_FOUND),
    ],
)
def test_decode(target: str, decoded: object) -> None:
    assert ph.decode(target) == decoded


def test_a_huge_value_is_cut() -> None:
    hook = ph.decode("/tmuxclaude/hook?event=Stop&path=" + "a" * 100_000)
    assert isinstance(hook, ph.Hook) and len(hook.path) == 4096
