"""Every comment that cites the IDE protocol notes points at a section that exists in docs/protocol.md."""

from __future__ import annotations

import re
from pathlib import Path

import tmuxclaude

REPO = Path(tmuxclaude.__file__).resolve().parent.parent
PROTOCOL = REPO / "docs" / "protocol.md"


def _sections() -> set[str]:
    """Headings (``## 7.``, ``### 5.1``) and the numbered items of a top-level section (``7.13``)."""
    found = set()
    top = ""
    for line in PROTOCOL.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#{2,3} (\d+(?:\.\d+)?)[. ]", line)
        if m:
            found.add(m.group(1))
            top = m.group(1) if line.startswith("## ") else ""
        elif top and (item := re.match(r"(\d+)\. ", line)):
            found.add(f"{top}.{item.group(1)}")
    return found


def _citing_files() -> list[Path]:
    roots = [REPO / "tmuxclaude", REPO / "tests"]
    return [p for r in roots for p in r.rglob("*") if p.suffix in (".py", ".lua") and "protocol.md" in p.read_text()]


def test_protocol_notes_are_in_the_repo() -> None:
    assert PROTOCOL.is_file()
    assert {"2.3", "3.2", "4.2", "5.1", "6.1"} <= _sections()


def test_every_cited_section_exists() -> None:
    sections = _sections()
    missing = []
    for path in _citing_files():
        text = path.read_text(encoding="utf-8")
        assert "docs/protocol.md" in text, f"{path}: cite docs/protocol.md by its path in the repo"
        for ref in re.findall(r"§(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?", text):
            missing += [f"{path.name}: §{r}" for r in ref if r and r not in sections]
    assert missing == []
