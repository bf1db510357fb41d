"""Hosts, pure: the [hosts.NAME] config, HOST:NAME references, the remote command line, the watch codec as the
trust boundary, and how a remote instance reads in ls."""

from __future__ import annotations

import json
import shlex
from dataclasses import replace

import pytest

from tmuxclaude.errors import ConfigError
from tmuxclaude.model.config import Config
from tmuxclaude.model.hosts import HostConfig, parse_hosts, remote_argv, split_ref, valid_branch
from tmuxclaude.model.view import RemoteView, from_wire, ls_line
from tmuxclaude.protocol import watch


def test_hosts_config_defaults_and_values() -> None:
    config = Config.from_dict({"hosts": {"box": {"ssh": "me@box", "ssh_options": ["-o Port=2222", "IdentitiesOnly=yes"],
                                                 "repo": "~/src/shop"}}})  # fmt: skip
    box = config.hosts["box"]
    assert box == HostConfig("box", "me@box", ("Port=2222", "IdentitiesOnly=yes"), "tmuxclaude", "~/src/shop", 5.0)
    assert Config.from_dict({}).hosts == {}


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"ssh": "-oProxyCommand=x"}, "hosts.box.ssh"),
        ({"ssh": "a b"}, "hosts.box.ssh"),
        ({}, "hosts.box.ssh"),
        ({"ssh": "b", "ssh_options": ["-v"]}, "hosts.box.ssh_options"),
        ({"ssh": "b", "ssh_options": ["Port=1", "-oProxyCommand=sh"]}, "hosts.box.ssh_options"),
        ({"ssh": "b", "ssh_options": ["ProxyCommand=sh -c x"]}, "hosts.box.ssh_options"),
        ({"ssh": "b", "ssh_options": ["StrictHostKeyChecking=no"]}, "hosts.box.ssh_options"),
        ({"ssh": "b", "ssh_options": ["Match=exec touch x"]}, "hosts.box.ssh_options"),
        ({"ssh": "b", "ssh_options": ["Port=1\nProxyCommand=x"]}, "hosts.box.ssh_options"),
        ({"ssh": "b", "ssh_options": "Port=1"}, "hosts.box.ssh_options"),
        ({"ssh": "b", "connect_timeout": 0}, "hosts.box.connect_timeout"),
        ({"ssh": "b", "tmuxclaude": ""}, "hosts.box.tmuxclaude"),
        ({"ssh": "b", "colour": "red"}, "hosts.box.colour"),
    ],
)
def test_bad_host_config_names_the_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_hosts({"box": table})


def test_bad_host_names() -> None:
    for name in ("", "-x", "a:b", "a b", "x" * 40):
        with pytest.raises(ConfigError):
            parse_hosts({name: {"ssh": "b"}})


def test_split_ref() -> None:
    hosts = {"box": object()}
    ref = split_ref("box:feat", hosts)
    assert ref is not None and (ref.host, ref.name) == ("box", "feat")
    assert split_ref("box:a:b", hosts) == type(ref)("box", "a:b")
    assert split_ref("other:feat", hosts) is None
    assert split_ref("feat", hosts) is None
    assert split_ref("box:", hosts) is None


def test_remote_argv_quotes_every_word() -> None:
    host = HostConfig("box", "b", tmuxclaude="~/bin/tmux claude")
    line = remote_argv(host, ["new", "-d", "--", "x$(touch y);`z`"], cwd="/srv/it's")
    assert line == "cd -- '/srv/it'\"'\"'s' && ~/bin/tmux claude new -d -- 'x$(touch y);`z`'"
    plain = remote_argv(HostConfig("box", "b"), ["ls"])
    assert shlex.split(plain) == ["tmuxclaude", "ls"]


def test_valid_branch() -> None:
    assert valid_branch("feat/x") and valid_branch("x#(touch${IFS}y)")
    for bad in ("-rf", "a..b", "a b", "a:b", "a~1", "x.lock", "", "a//b", "a@{1}", "/a", "a/"):
        assert not valid_branch(bad), bad


def _line(**over: object) -> bytes:
    item = {"name": "feat", "branch": "feat", "worktree": "/h/src/x", "repo": "/h/src", "port": 10003, "state": "idle"}
    item.update(over)
    return watch.encode([item], version="0.1.0", home="/h")


def test_watch_codec_round_trip_and_bounds() -> None:
    snap = watch.decode(_line())
    assert snap.home == "/h" and [i.name for i in snap.instances] == ["feat"]
    assert watch.decode(_line(state="pwned")).instances == ()
    assert watch.decode(_line(port="10003")).instances == ()
    assert watch.decode(_line(port=True)).instances == ()
    assert watch.decode(_line(name="")).instances == ()
    assert watch.decode(_line(worktree="x" * 5000)).instances == ()
    for bad in (b"not json\n", b"[]\n", b'{"instances": []}\n', json.dumps({"watch": 2, "instances": []}).encode()):
        with pytest.raises(ValueError):
            watch.decode(bad)
    twice = json.dumps({"watch": 1, "instances": [json.loads(_line())["instances"][0]] * 2}).encode()
    assert len(watch.decode(twice).instances) == 1


def test_remote_ls_line_is_printable_and_marks_unreachable() -> None:
    item = RemoteView(name="box:feat-x", branch="feat-x", worktree="/home/u/src/shop-feat-x", repo="/home/u/src/shop",
                      port=10003, state="waiting", n=3, host="box", remote_name="feat-x", home="/home/u",
                      unreachable=None)  # fmt: skip
    assert ls_line(item) == "3. [box:feat-x] ~/src/shop-feat-x (port: 10003)"
    item = replace(item, unreachable="Connection timed out", name="box:\x1b]0;x\x07")
    assert ls_line(from_wire(item.to_dict())) == ls_line(item)
    assert ls_line(item) == (
        "3. [box:\\x1b]0;x\\x07] ~/src/shop-feat-x (port: 10003) (unreachable: Connection timed out; last seen waiting)"
    )


def test_pick_menu_switches_to_a_remote_instance_by_number_only() -> None:
    from tmuxclaude.cli.pick import menu_args

    item = {"n": 4, "name": "box:#(touch x)", "host": "box", "branch": "b", "state": "idle", "port": 1}
    label, key, command = menu_args([item])
    assert label.startswith("box:##(touch x)") and key == "4"
    assert command.startswith("run-shell -b '/") and command.endswith(" -m tmuxclaude switch 4'")
    assert "touch" not in command
