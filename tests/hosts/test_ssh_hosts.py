"""Instances on another host, over a real OpenSSH server in a network namespace (conftest.py): the one list,
commands by HOST:NAME and number, the local window onto a remote instance, live state within a second, and
faults (link cut, remote controller killed, hostile names) that lose nothing."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.env import Env, ls_json
from tests.helpers.waiting import retry_until
from tests.hosts.sshd_host import SshdHost


@pytest.fixture
def hworld(world: Env, sshd_host: SshdHost) -> Env:
    """The local world (private tmux, recorder) with the SSH host configured as ``box``."""
    world.use_recorder(extra=sshd_host.config_block())
    return world


def remote(env: Env) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in ls_json(env) if i.get("host")}


def remote_ids(host: SshdHost) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in json.loads(host.tmuxclaude("ls", "--json").stdout)}


def run_remote_hook(host: SshdHost, instance_id: str, event: str) -> None:
    """The hook command of a remote instance exactly as its --settings file gives it to Claude Code, run there."""
    settings = next(Path(f"/tmp/tmuxclaude-{host.uid}").glob(f"tmuxclaude/*/{instance_id}.settings.json"))
    command = json.loads(settings.read_text())["hooks"][event][0]["hooks"][0]["command"]
    body = json.dumps({"session_id": "sess-r", "hook_event_name": event})
    host.ssh(f"sh -c {shlex.quote(command)}", input=body)


def summary(env: Env) -> str:
    return env.tmux("show-option", "-gqv", "@tmuxclaude_summary")


def test_new_ls_switch_send_pause_resume_kill_on_a_host(hworld: Env, sshd_host: SshdHost) -> None:
    env, host = hworld, sshd_host
    out = env.cli("new", "feat", "--host", "box", "-d").stdout
    assert "started box:feat" in out
    retry_until(lambda: "box:feat" in remote(env), 10, "box:feat in ls")
    item = remote(env)["box:feat"]
    assert item["host"] == "box" and item["n"] == 1 and item["port"] >= 11401
    assert env.cli("ls").stdout.splitlines() == [f"1. [box:feat] ~/src/shop-feat (port: {item['port']})"]
    there = remote_ids(host)["feat"]
    # completion offers remote names from the controller's memory
    words = {"_TMUXCLAUDE_COMPLETE": "bash_complete", "COMP_WORDS": "tmuxclaude switch box", "COMP_CWORD": "2"}
    completed = subprocess.run(["tmuxclaude"], capture_output=True, text=True, timeout=30, check=False,
                               env={**os.environ, **words})  # fmt: skip
    assert "box:feat" in completed.stdout
    # switch (by name): a local window running ssh -t into the host's tmux, in a view session showing feat
    shell = env.tmux("display-message", "-p", "-t", "main:", "#{pane_id}")
    env.cli("switch", "box:feat", pane=shell)
    windows = env.tmux("list-windows", "-a", "-F", "#{window_id} #{@tmuxclaude_remote} #{window_name}").splitlines()
    views = [w for w in windows if " box:feat " in w + " "]
    assert len(views) == 1, windows
    window = views[0].split()[0]

    def viewing() -> bool:
        out = host.ssh("tmux list-sessions -F '#{session_name} #{session_attached} #{window_id}'").stdout
        return any(ln.startswith("tcview-") and ln.split()[1:] == ["1", there["window_id"]] for ln in out.splitlines())

    retry_until(viewing, 15, "the host's tmux attached in a view session on feat's window")
    env.cli("switch", "1", pane=shell)  # by number: the same window again, not a second one
    assert env.tmux("list-windows", "-a", "-F", "#{@tmuxclaude_remote}").splitlines().count("box:feat") == 1
    # send: a path on that host, relative to the instance's worktree
    sent = env.cli("send", "--to", "box:feat", "README.md:1-2")
    assert "box:feat" in sent.stdout
    missing = env.cli("send", "--to", "box:feat", "nope.txt", check=False)
    assert missing.returncode != 0 and "no such file" in missing.stderr
    # pause / resume: the state comes back over the stream
    assert "paused box:feat" in env.cli("pause", "box:feat").stdout
    retry_until(lambda: remote(env)["box:feat"]["state"] == "paused", 10, "paused over the stream")
    assert "resumed box:feat" in env.cli("resume", "box:feat").stdout
    retry_until(lambda: remote(env)["box:feat"]["state"] != "paused", 10, "resumed over the stream")
    # closing the local window ends only the ssh client: the instance runs on
    env.tmux("kill-window", "-t", window)
    retry_until(lambda: not viewing(), 10, "the view session gone with its client")
    assert "feat" in remote_ids(host)
    assert "killed box:feat" in env.cli("kill", "box:feat").stdout
    retry_until(lambda: "box:feat" not in remote(env), 10, "box:feat gone from ls")
    assert "feat" not in remote_ids(host)


def test_waiting_on_the_host_reaches_the_local_status_line_within_a_second(hworld: Env, sshd_host: SshdHost) -> None:
    env, host = hworld, sshd_host
    env.cli("new", "wait-a", "--host", "box", "-d")
    retry_until(lambda: "box:wait-a" in remote(env), 10, "box:wait-a listed")
    there = remote_ids(host)["wait-a"]
    run_remote_hook(host, there["id"], "Stop")
    retry_until(lambda: remote(env)["box:wait-a"]["state"] == "idle", 10, "idle over the stream")
    shell = env.tmux("display-message", "-p", "-t", "main:", "#{pane_id}")
    env.cli("switch", "box:wait-a", pane=shell)
    window = next(w.split()[0] for w in env.tmux("list-windows", "-a", "-F", "#{window_id} #{@tmuxclaude_remote}")
                  .splitlines() if w.endswith(" box:wait-a"))  # fmt: skip
    assert "○" in summary(env)
    run_remote_hook(host, there["id"], "Notification")  # returns once the host's controller has the new state
    started = time.monotonic()
    retry_until(lambda: "◆" in summary(env), 5, "the waiting glyph in the local summary", interval=0.01)
    took = time.monotonic() - started
    print(f"waiting on the host -> local status line: {took * 1000:.0f} ms")
    assert took < 1.0, f"waiting reached the status line after {took:.2f}s"
    assert env.tmux("display-message", "-p", "-t", window, "#{@tmuxclaude_glyph}") == "◆"
    assert env.cli("next", pane=shell).returncode == 0
    env.cli("kill", "box:wait-a")
    # the instance gone there: its local view closes with it
    retry_until(lambda: window not in env.tmux("list-windows", "-a", "-F", "#{window_id}").split(), 10, "view closed")


def test_link_cut_and_restored(hworld: Env, sshd_host: SshdHost, repo: Path) -> None:
    env, host = hworld, sshd_host
    env.cli("new", "cut", "--host", "box", "-d")
    env.cli("open", "-d", str(repo))
    retry_until(lambda: "box:cut" in remote(env), 10, "box:cut listed")
    pid = remote_ids(host)["cut"]
    host.link(False)
    try:

        def unreachable() -> bool:
            started = time.monotonic()
            out = env.cli("ls").stdout
            assert time.monotonic() - started < 3 + 1, "ls waited on the host"
            return "[box:cut]" in out and "(unreachable" in out and "1. [main]" in out

        retry_until(unreachable, 20, "box:cut shown unreachable")
        started = time.monotonic()
        failed = env.cli("kill", "box:cut", check=False)
        assert failed.returncode != 0 and "unreachable" in failed.stderr
        assert time.monotonic() - started < 3 + 1
        assert ls_json(env)[0]["name"] == "main" and ls_json(env)[0]["host"] is None
    finally:
        host.link(True)
    retry_until(lambda: remote(env).get("box:cut", {}).get("unreachable") is None and "box:cut" in remote(env), 30,
                "box:cut back after the link came up")  # fmt: skip
    assert remote_ids(host)["cut"]["id"] == pid["id"]
    env.cli("kill", "box:cut")


def test_remote_controller_killed(hworld: Env, sshd_host: SshdHost) -> None:
    env, host = hworld, sshd_host
    env.cli("new", "ctl", "--host", "box", "-d")
    retry_until(lambda: "box:ctl" in remote(env), 10, "box:ctl listed")
    before = remote_ids(host)["ctl"]
    subprocess.run(["kill", "-9", str(host.controller_pid())], check=True)

    def back() -> bool:
        item = remote(env).get("box:ctl")
        return item is not None and not item["unreachable"] and item["state"] != "orphaned"

    retry_until(back, 30, "box:ctl listed again, its host reachable")
    after = remote_ids(host)["ctl"]
    assert after["id"] == before["id"] and after["window_id"] == before["window_id"]
    env.cli("kill", "box:ctl")


def test_doctor_checks_the_host_in_one_line(hworld: Env, sshd_host: SshdHost) -> None:
    out = hworld.cli("doctor", check=False).stdout
    line = next(ln for ln in out.splitlines() if "host box" in ln)
    assert line.startswith("[ok] host box: reachable; tmuxclaude 0.1.0"), out
    assert "tmux " in line and "nvim " in line and "claude 2.1.332" in line


def test_hostile_branch_name_on_the_host_runs_nothing_locally(hworld: Env, sshd_host: SshdHost) -> None:
    env, host = hworld, sshd_host
    marker = Path(f"/tmp/tc19-pwned-{host.user}")
    branch = f"x#(touch${{IFS}}{marker})"
    out = env.cli("new", branch, "--host", "box", "-d").stdout
    retry_until(lambda: [i for i in remote(env).values() if i["branch"] == branch], 10, "the hostile branch listed")
    item = next(i for i in remote(env).values() if i["branch"] == branch)
    name = item["name"]
    assert out.startswith(f"started {name}: ") and f"(port: {item['port']})" in out
    assert "#(touch" in item["worktree"]  # the host's own path, shown as it is
    assert "#(touch" in env.cli("ls").stdout
    shell = env.tmux("display-message", "-p", "-t", "main:", "#{pane_id}")
    env.cli("switch", name, pane=shell)
    assert f"{name}\x1f{name}" in env.tmux("list-windows", "-a", "-F", "#{window_name}\x1f#{@tmuxclaude_remote}")
    there = remote_ids(host)[item["remote_name"]]
    run_remote_hook(host, there["id"], "Notification")  # the waiting message shows the name
    retry_until(lambda: remote(env)[name]["state"] == "waiting", 10, "waiting")
    env.cli("kill", name)
    assert not marker.exists()


def test_a_host_that_cannot_be_reached_holds_up_nothing(world: Env, sshd_host: SshdHost, repo: Path) -> None:
    env, host = world, sshd_host
    # The namespace's address, on a port nothing listens on: refused at once, a host that is down.
    block = host.config_block(name="gone").replace("ssh_options = [", 'ssh_options = ["Port=1", ')
    env.use_recorder(extra=block)
    env.cli("open", "-d", str(repo))
    started = time.monotonic()
    assert env.cli("ls").stdout.splitlines() == [ln for ln in env.cli("ls").stdout.splitlines() if "[gone:" not in ln]
    assert time.monotonic() - started < 2 * (3 + 1)
    started = time.monotonic()
    failed = env.cli("new", "feat", "--host", "gone", check=False)
    assert failed.returncode == 14 and "host gone is unreachable" in failed.stderr, failed.stderr
    assert time.monotonic() - started < 3 + 1
    doctor = env.cli("doctor", check=False).stdout
    assert any(ln.startswith("[!!] host gone: unreachable: ") for ln in doctor.splitlines()), doctor


def test_whatever_a_host_sends_is_escaped_before_tmux(world: Env, sshd_host: SshdHost) -> None:
    """A host whose tmuxclaude is hostile: its watch stream names an instance with tmux formats and shell syntax,
    waiting. Listing it, its waiting notification, the status line and a window onto it run nothing here."""
    env, host = world, sshd_host
    marker = Path(f"/tmp/tc19-evil-{host.user}")
    evil_name = f"#(touch {marker})#{{pane_pid}};$(touch {marker})"
    line = json.dumps({"watch": 1, "version": "0.1.0", "home": "#(touch /x)", "instances": [
        {"name": evil_name, "branch": "#(b)", "worktree": "\x1b]0;t\x07/#(w)", "repo": "r", "port": 1,
         "state": "waiting"},
        {"name": "bad", "branch": "b", "worktree": "w", "repo": "r", "port": "x", "state": "idle"},
    ]})  # fmt: skip
    evil = host.home / "bin" / "evil"
    evil.write_text(f"#!/bin/sh\ncat <<'EOF'\n{line}\nEOF\nexec cat >/dev/null\n")
    evil.chmod(0o755)
    subprocess.run(["chown", f"{host.user}:{host.user}", str(evil)], check=True)
    block = host.config_block(name="evil").replace(f"{host.home}/bin/tmuxclaude", str(evil))
    env.use_recorder(extra=block)
    items = ls_json(env)
    assert [i["name"] for i in items] == [f"evil:{evil_name}"]  # the malformed entry is dropped
    assert "\\x1b]0;t\\x07" in env.cli("ls").stdout
    retry_until(lambda: "◆" in summary(env), 10, "the waiting glyph in the summary")
    shell = env.tmux("display-message", "-p", "-t", "main:", "#{pane_id}")
    env.cli("switch", "1", pane=shell)
    names = env.tmux("list-windows", "-a", "-F", "#{window_name}\x1f#{@tmuxclaude_remote}").splitlines()
    assert f"evil:{evil_name}\x1fevil:{evil_name}" in names
    assert not marker.exists()
