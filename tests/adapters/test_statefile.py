"""The state file: atomic, 0600, never absent while saving, and recovered from its backup."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from tmuxclaude.adapters.statefile import StateFile
from tmuxclaude.model.instance import Instance, Registry


def registry(n: int) -> Registry:
    return Registry(
        [
            Instance(
                id=f"i{k}",
                name=f"n{k}",
                worktree="/w",
                repo="/w",
                branch="b",
                port=1000 + k,
                token="secret",
                created_at=float(k),
            )
            for k in range(n)
        ]
    )


def test_state_json_is_never_missing_while_saving(tmp_path: Path) -> None:
    store = StateFile(tmp_path / "state" / "state.json")
    store.save(registry(1))
    missing = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if not store.path.exists():
                missing.append(1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    for k in range(200):
        store.save(registry(k % 5 + 1))
    done.set()
    watcher.join()
    assert missing == []
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.backup.stat().st_mode) == 0o600
    assert len(store.load()) == 199 % 5 + 1  # the last save wins


def test_missing_or_corrupt_state_falls_back_to_the_backup(tmp_path: Path) -> None:
    store = StateFile(tmp_path / "state.json")
    store.save(registry(2))
    store.save(registry(3))  # the backup now holds the 2-instance version
    store.path.unlink()
    assert len(store.load()) == 2
    store.save(registry(3))
    store.path.write_text('{"version": 1, "instances": [')  # truncated
    assert len(store.load()) == 2
    assert len(list(tmp_path.glob("state.json.corrupt-*"))) == 1
