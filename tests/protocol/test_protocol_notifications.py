"""selection_changed / at_mentioned shapes and the mention queue."""

from __future__ import annotations

import pytest

from tmuxclaude.protocol.notifications import MENTION_MAX_AGE, MentionQueue, at_mentioned, selection_changed


def test_selection_changed_shape() -> None:
    method, params = selection_changed(text="a\nb", file_path="/p/a b.py", start=(0, 0), end=(1, 1))
    assert method == "selection_changed"
    assert params == {
        "text": "a\nb",
        "filePath": "/p/a b.py",
        "fileUrl": "file:///p/a b.py",  # raw, not percent-encoded
        "selection": {
            "start": {"line": 0, "character": 0},
            "end": {"line": 1, "character": 1},
            "isEmpty": False,
        },
    }


def test_selection_cursor_only_is_empty() -> None:
    _, params = selection_changed(text="", file_path="/p/é.py", start=(4, 2), end=(4, 2))
    assert params["selection"]["isEmpty"] is True
    assert params["fileUrl"] == "file:///p/é.py"


def test_selection_empty_needs_both_conditions() -> None:
    _, same_pos_text = selection_changed(text="x", file_path="/p", start=(1, 1), end=(1, 1))
    _, no_text_span = selection_changed(text="", file_path="/p", start=(1, 1), end=(1, 2))
    assert same_pos_text["selection"]["isEmpty"] is False
    assert no_text_span["selection"]["isEmpty"] is False


@pytest.mark.parametrize(("start", "end"), [((-1, 0), (0, 0)), ((0, 0), (0, -1))])
def test_selection_rejects_negative_positions(start: tuple[int, int], end: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="0-based"):
        selection_changed(text="", file_path="/p", start=start, end=end)


def test_at_mentioned_shapes() -> None:
    assert at_mentioned("src/a.py") == ("at_mentioned", {"filePath": "src/a.py"})
    assert at_mentioned("src/a.py", 9) == ("at_mentioned", {"filePath": "src/a.py", "lineStart": 9})
    assert at_mentioned("src/a.py", 9, 19) == (
        "at_mentioned",
        {"filePath": "src/a.py", "lineStart": 9, "lineEnd": 19},
    )
    assert at_mentioned("src/", 0, 0)[1] == {"filePath": "src/", "lineStart": 0, "lineEnd": 0}


@pytest.mark.parametrize(("start", "end"), [(None, 3), (-1, None), (5, 4)])
def test_at_mentioned_rejects_bad_lines(start: int | None, end: int | None) -> None:
    with pytest.raises(ValueError):
        at_mentioned("a.py", start, end)


def test_queue_holds_until_settled_then_delivers_in_order_once() -> None:
    queue = MentionQueue()
    queue.push({"filePath": "a"}, now=0.0)
    queue.push({"filePath": "b"}, now=1.0)
    assert queue.due(now=2.0, settled=False) == []
    assert len(queue) == 2
    assert queue.due(now=2.0, settled=True) == [{"filePath": "a"}, {"filePath": "b"}]
    assert queue.due(now=2.0, settled=True) == []
    assert len(queue) == 0


def test_queue_drops_expired() -> None:
    queue = MentionQueue()
    queue.push({"filePath": "old"}, now=0.0)
    queue.push({"filePath": "new"}, now=3.0)
    # Exactly MENTION_MAX_AGE old is still deliverable; older is not.
    assert queue.due(now=MENTION_MAX_AGE, settled=False) == []
    assert len(queue) == 2
    assert queue.due(now=MENTION_MAX_AGE + 0.1, settled=False) == []
    assert len(queue) == 1
    assert queue.due(now=8.0, settled=True) == [{"filePath": "new"}]


def test_queue_drops_expired_even_out_of_order() -> None:
    queue = MentionQueue()
    queue.push({"filePath": "late"}, now=10.0)
    queue.push({"filePath": "early"}, now=1.0)
    assert queue.due(now=11.0, settled=True) == [{"filePath": "late"}]


def test_queue_copies_params_and_is_bounded() -> None:
    queue = MentionQueue(maxlen=2)
    params = {"filePath": "a"}
    queue.push(params, now=0.0)
    params["filePath"] = "mutated"
    queue.push({"filePath": "b"}, now=0.0)
    queue.push({"filePath": "c"}, now=0.0)
    assert queue.due(now=0.0, settled=True) == [{"filePath": "b"}, {"filePath": "c"}]


def test_queue_clear() -> None:
    queue = MentionQueue()
    queue.push({"filePath": "a"}, now=0.0)
    queue.clear()
    assert queue.due(now=0.0, settled=True) == []
