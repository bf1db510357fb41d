"""Lock-file record, names and the token check."""

from __future__ import annotations

import json

import pytest

from tmuxclaude.errors import LockFileError
from tmuxclaude.protocol.lockfile import LockRecord, lock_file_name, port_from_name, token_matches

TOKEN = "3f" * 16


def make_record(**overrides: object) -> LockRecord:
    fields: dict[str, object] = {
        "pid": 4242,
        "workspace_folders": ("/home/u/proj",),
        "ide_name": "Neovim (feat-x)",
        "auth_token": TOKEN,
        "instance_id": "i-1",
        "worktree_path": "/home/u/proj",
        "created_at": 1764090000.5,
        "neovim_pid": 777,
        "parent_port": 10001,
    }
    fields.update(overrides)
    return LockRecord(**fields)  # type: ignore[arg-type]


def test_round_trip() -> None:
    record = make_record()
    assert LockRecord.from_json(record.to_json()) == record
    assert LockRecord.from_json(record.to_json().encode("utf-8")) == record


def test_exact_keys_and_order() -> None:
    data = json.loads(make_record().to_json())
    assert list(data) == [
        "pid",
        "workspaceFolders",
        "ideName",
        "transport",
        "authToken",
        "neovimPid",
        "instanceId",
        "worktreePath",
        "createdAt",
        "parentPort",
    ]
    assert data["transport"] == "ws"
    assert data["workspaceFolders"] == ["/home/u/proj"]


def test_parent_port_omitted_and_neovim_pid_null() -> None:
    record = make_record(parent_port=None, neovim_pid=None)
    text = record.to_json()
    data = json.loads(text)
    assert "parentPort" not in data
    assert data["neovimPid"] is None
    assert "\n" not in text and " " not in text.replace("Neovim (feat-x)", "")
    assert LockRecord.from_json(text) == record


def test_list_folders_become_tuple() -> None:
    record = make_record(workspace_folders=["/a", "/b"])
    assert record.workspace_folders == ("/a", "/b")
    hash(record)


def test_integer_created_at_is_accepted() -> None:
    data = json.loads(make_record().to_json())
    data["createdAt"] = 17
    assert LockRecord.from_json(json.dumps(data)).created_at == 17.0


def test_unknown_keys_ignored() -> None:
    data = json.loads(make_record().to_json())
    data["runningInWindows"] = False
    assert LockRecord.from_json(json.dumps(data)) == make_record()


@pytest.mark.parametrize(
    "mutation",
    [
        {"pid": "4242"},
        {"pid": True},
        {"workspaceFolders": "/a"},
        {"workspaceFolders": ["/a", 1]},
        {"ideName": None},
        {"authToken": 5},
        {"instanceId": None},
        {"worktreePath": []},
        {"createdAt": "now"},
        {"createdAt": False},
        {"createdAt": None},
        {"neovimPid": "1"},
        {"neovimPid": False},
        {"parentPort": 0},
        {"parentPort": 70000},
        {"parentPort": "1"},
        {"transport": None},
    ],
    ids=lambda m: next(iter(m)) + "=" + repr(next(iter(m.values()))),
)
def test_bad_fields(mutation: dict[str, object]) -> None:
    data = json.loads(make_record().to_json())
    data.update(mutation)
    with pytest.raises(LockFileError):
        LockRecord.from_json(json.dumps(data))


@pytest.mark.parametrize("key", ["pid", "instanceId", "createdAt", "transport", "authToken"])
def test_missing_fields(key: str) -> None:
    data = json.loads(make_record().to_json())
    del data[key]
    with pytest.raises(LockFileError):
        LockRecord.from_json(json.dumps(data))


@pytest.mark.parametrize("text", ["", "{", "[1]", "null", "/home/u/proj\n", "[" * 100_000, '{"createdAt":NaN}'])
def test_bad_content(text: str) -> None:
    with pytest.raises(LockFileError):
        LockRecord.from_json(text)


def test_foreign_lock_file_is_refused() -> None:
    # claudecode.nvim's record lacks our fields: not ours to manage.
    text = '{"pid":4242,"workspaceFolders":["/p"],"ideName":"Neovim","transport":"ws","authToken":"abc"}'
    with pytest.raises(LockFileError):
        LockRecord.from_json(text)


def test_nan_created_at_is_refused() -> None:
    data = json.loads(make_record().to_json())
    text = json.dumps(data).replace("1764090000.5", "NaN")
    with pytest.raises(LockFileError, match="createdAt"):
        LockRecord.from_json(text)


def test_lock_file_name() -> None:
    assert lock_file_name(10001) == "10001.lock"
    assert lock_file_name(1) == "1.lock"
    assert lock_file_name(65535) == "65535.lock"


@pytest.mark.parametrize("port", [0, -1, 65536, True])
def test_lock_file_name_rejects_non_ports(port: int) -> None:
    with pytest.raises(ValueError):
        lock_file_name(port)


@pytest.mark.parametrize(
    ("name", "port"),
    [
        ("10001.lock", 10001),
        ("1.lock", 1),
        ("65535.lock", 65535),
        ("65536.lock", None),
        ("99999.lock", None),
        ("0.lock", None),
        ("0123.lock", None),
        ("123456.lock", None),
        ("10001.lock.tmp.42.99", None),
        ("10001.lock\n", None),
        ("abc.lock", None),
        ("10001", None),
        ("dir/10001.lock", None),
        ("-1.lock", None),
        ("", None),
    ],
)
def test_port_from_name(name: str, port: int | None) -> None:
    assert port_from_name(name) == port


def test_name_round_trip() -> None:
    for port in (1, 80, 10001, 65535):
        assert port_from_name(lock_file_name(port)) == port


def test_token_matches() -> None:
    assert token_matches(TOKEN, TOKEN)
    assert not token_matches(TOKEN, None)
    assert not token_matches(TOKEN, "")
    assert not token_matches(TOKEN, TOKEN[:-1] + "0")
    assert not token_matches(TOKEN, TOKEN + "0")
    assert not token_matches(TOKEN, TOKEN.upper())


def test_token_length_bounds() -> None:
    short = "a" * 9
    assert not token_matches(short, short)
    assert token_matches("a" * 10, "a" * 10)
    assert token_matches("a" * 500, "a" * 500)
    assert not token_matches("a" * 501, "a" * 501)


def test_token_with_odd_characters_never_raises() -> None:
    assert not token_matches(TOKEN, "\udcff" * 20)
    assert token_matches("é" * 12, "é" * 12)
