"""The comment records and the prompts that carry them (model/comments.py)."""

from __future__ import annotations

import pytest

from tmuxclaude.model.comments import (
    MAX_COMMENTS,
    MAX_TEXT,
    Comment,
    CommentBook,
    CommentError,
    render_denial,
    render_review,
)


def _book() -> CommentBook:
    book = CommentBook()
    book.add({"path": "src/calc.py", "line1": 2, "line2": 3, "quoted": ["a = 1", "b = 2"], "text": "name these"})
    book.add({"path": "README.md", "line1": 1, "text": "typo", "quoted": ["# Titel"], "side": "file"})
    book.add({"path": "src/calc.py", "line1": 1, "text": "keep the docstring\nand the types", "side": "proposed",
              "quoted": ["def add(a, b):"]})  # fmt: skip
    return book


def test_review_groups_by_file_with_lines_quotes_and_comments() -> None:
    text = render_review(_book().open())
    assert text == (
        "Review comments from the user on your changes (3 comments, line numbers are 1-based):\n"
        "\n"
        "## src/calc.py\n"
        "- src/calc.py lines 2-3:\n"
        "    > a = 1\n"
        "    > b = 2\n"
        "  Comment: name these\n"
        "- src/calc.py line 1 of your proposed change:\n"
        "    > def add(a, b):\n"
        "  Comment: keep the docstring\n"
        "  and the types\n"
        "\n"
        "## README.md\n"
        "- README.md line 1:\n"
        "    > # Titel\n"
        "  Comment: typo\n"
        "\n"
        "Please address each comment.\n"
    )


def test_denial_has_the_reason_and_the_comments_of_that_file() -> None:
    book = _book()
    text = render_denial("src/calc.py", "wrong\x1b[201~ approach", book.open("src/calc.py"))
    assert text.startswith("I rejected your proposed edit to src/calc.py.\nReason: wrong approach\n")
    assert "lines 2-3" in text and "line 1 of your proposed change" in text and "README" not in text
    assert "\x1b" not in text
    assert (
        render_denial("a.py", "", [])
        == "I rejected your proposed edit to a.py.\nPlease revise the edit with this in mind.\n"
    )


def test_edit_delete_mark_sent_and_round_trip() -> None:
    book = _book()
    first = book.comments[0]
    book.edit(first.id, "better names")
    book.delete(book.comments[1].id)
    book.mark_sent([first.id])
    assert [(c.text, c.state) for c in book.comments] == [
        ("better names", "sent"),
        ("keep the docstring\nand the types", "open"),
    ]
    again = CommentBook.from_json(book.to_json())
    assert again == book
    with pytest.raises(CommentError):
        book.edit("ffff", "x")


@pytest.mark.parametrize(
    "data",
    [
        {"path": "/etc/passwd", "line1": 1, "text": "x"},
        {"path": "../up.py", "line1": 1, "text": "x"},
        {"path": "a//b.py", "line1": 1, "text": "x"},
        {"path": "a.py", "line1": 0, "text": "x"},
        {"path": "a.py", "line1": 3, "line2": 2, "text": "x"},
        {"path": "a.py", "line1": 1, "text": "  "},
        {"path": "a.py", "line1": 1, "text": "x" * (MAX_TEXT + 1)},
        {"path": "a.py", "line1": 1, "text": "x", "side": "elsewhere"},
        {"path": "a.py", "line1": "one", "text": "x"},
    ],
)
def test_bad_comments_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(CommentError):
        CommentBook().add(data)


def test_bounded_and_sent_comments_make_room_first() -> None:
    book = CommentBook()
    for i in range(MAX_COMMENTS):
        book.add({"path": "a.py", "line1": i + 1, "text": f"c{i}"})
    with pytest.raises(CommentError, match="send or delete"):
        book.add({"path": "a.py", "line1": 1, "text": "one too many"})
    book.mark_sent([book.comments[5].id])
    book.add({"path": "a.py", "line1": 1, "text": "fits now"})
    assert len(book.comments) == MAX_COMMENTS and all(c.state == "open" for c in book.comments)
    quoted = Comment.from_dict({"path": "a.py", "line1": 1, "text": "x", "quoted": ["q" * 5000] * 100}).quoted
    assert len(quoted) == 40 and all(len(q) == 400 for q in quoted)


def test_damaged_saved_entries_are_dropped() -> None:
    data = {"comments": [{"path": "../x", "line1": 1, "text": "bad"}, {"path": "ok.py", "line1": 1, "text": "good"}, 7]}
    assert [c.text for c in CommentBook.from_json(data).comments] == ["good"]
    assert CommentBook.from_json("nonsense").comments == []
