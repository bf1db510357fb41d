"""One writer of an instance's phase: only controller/lifecycle.py sets ``phase`` or ``activity`` on a record
(model/ defines and loads them). Read from the source, so a write on a path no test runs is caught too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tmuxclaude

pytestmark = pytest.mark.unit

PACKAGE = Path(tmuxclaude.__file__).resolve().parent
WRITER = PACKAGE / "controller" / "lifecycle.py"
FIELDS = frozenset({"phase", "activity"})


def phase_writes(source: str) -> list[int]:
    """Lines that set a record's phase or activity: as a keyword (``with_``, ``replace``, the constructor) or
    by assigning the attribute."""
    found: list[int] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            found.extend(node.lineno for kw in node.keywords if kw.arg in FIELDS)
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found.extend(t.lineno for t in targets if isinstance(t, ast.Attribute) and t.attr in FIELDS)
    return found


def test_only_the_lifecycle_writes_the_phase() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != WRITER and path.parent.name != "model"
        for line in phase_writes(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    assert phase_writes(WRITER.read_text(encoding="utf-8")), "the writer itself must be found by the check"


@pytest.mark.parametrize(
    "source",
    [
        "inst.with_(phase=Phase.PAUSED)",
        "replace(inst, activity=Activity.BUSY)",
        "Instance(id='a', phase=Phase.RUNNING)",
        "inst.phase = Phase.DEAD",
    ],
)
def test_the_check_catches_a_direct_write(source: str) -> None:
    assert phase_writes(source) == [1]
