from __future__ import annotations

from tmuxclaude.cli import main

main()
