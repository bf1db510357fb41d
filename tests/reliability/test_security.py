"""Security review as tests: private file modes, no token in logs or pane environments, random distinct
tokens, and worktrees holding work that lives nowhere else are never removed by kill-all or gc."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import os
import stat
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import websockets

from tests.helpers.env import Env, ls_json
from tests.helpers.tty_client import attached_client
from tests.helpers.waiting import retry_until
from tests.reliability.attacker import Attacker
from tests.reliability.reliability_helpers import (
    SLEEPER_NVIM,
    ctl,
    daemon_status,
    lock_token,
    log_file,
    state_file,
    ws_connect,
)
from tmuxclaude.adapters.paths import Paths

pytestmark = pytest.mark.timeout(90)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def world(env: Env, repo: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv("TMUXCLAUDE_LOG_LEVEL", "DEBUG")
    env.start_tmux()
    env.use_recorder()
    return env


def test_file_modes_are_private(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "-d", "sec-a", cwd=repo)
    env.cli("new", "-d", "sec-b", cwd=repo)  # a second save makes state.json.bak
    paths = Paths.current()
    assert _mode(env.lock_dir) == 0o700
    locks = list(env.lock_dir.glob("*.lock"))
    assert len(locks) == 2 and all(_mode(p) == 0o600 for p in locks)
    state = state_file(env)
    for path in (state, state.with_name(state.name + ".bak")):
        assert _mode(path) == 0o600, path
    assert _mode(state.parent) == 0o700
    assert _mode(paths.runtime_dir) == 0o700
    assert stat.S_ISSOCK(paths.control_socket.stat().st_mode) and _mode(paths.control_socket) == 0o600
    # Files holding a secret are 0600 themselves; the rest (pid file, log) are only shielded by their 0700 dir.
    secret_suffixes = (".hooktoken", ".settings.json", ".json", ".bak")
    others = {}
    for folder in (paths.runtime_dir, state.parent):
        for entry in folder.iterdir():
            if entry.is_file() and not entry.is_symlink():
                if entry.name.endswith(secret_suffixes):
                    assert _mode(entry) == 0o600, f"{entry} is mode {_mode(entry):04o}"
                else:
                    others[entry.name] = f"{_mode(entry):04o}"
    print(f"\n[security] non-secret files, private through their 0700 dir only: {others}")


async def test_tokens_never_logged_nor_in_pane_env_or_tmux(world: Env, repo: Path) -> None:
    env = world

    for name in ("sec-a", "sec-b"):
        await asyncio.to_thread(env.cli, "new", "-d", name, cwd=repo)
    items = await asyncio.to_thread(ls_json, env)
    tokens = [lock_token(env, i["port"]) for i in items]
    for item, token in zip(items, tokens, strict=True):
        async with await ws_connect(item["port"], token) as ws:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}))
            await ws.recv()
        for bad in (token[:-1] + "x", token + token, token.upper()):
            with pytest.raises(websockets.InvalidStatus):
                async with await ws_connect(item["port"], bad):
                    pass
        with pytest.raises(websockets.InvalidStatus):
            async with await ws_connect(item["port"], token, headers={"Origin": "http://x.example"}):
                pass
    await asyncio.to_thread(env.cli, "kill-all")
    log = log_file(env).read_text()
    assert "DEBUG" in log  # the level really was DEBUG
    for item, token in zip(items, tokens, strict=True):
        assert token not in log and token[:16] not in log
        record = env.record(item["id"])  # what the Claude pane's process got
        assert token not in json.dumps(record["env"]) and token not in " ".join(record["argv"])
    everything_tmux = env.tmux("show-options", "-g") + env.tmux("show-environment", "-g")
    assert not any(t in everything_tmux for t in tokens)


def test_tokens_random_and_distinct(env: Env, repo: Path) -> None:
    env.start_tmux()
    env.use_recorder("[multi_instance]\nmax_instances = 12\n", nvim=SLEEPER_NVIM)
    env.cli("ls")
    for k in range(10):
        ctl("new", {"branch": f"tok-{k}", "detached": True}, cwd=repo)
    tokens = [lock_token(env, i["port"]) for i in ctl("ls")]
    assert len(set(tokens)) == 10
    assert all(len(t) >= 32 for t in tokens)
    # No shared prefixes or suffixes, and the characters look uniformly random (Shannon entropy per char).
    assert len({t[:6] for t in tokens}) == 10 and len({t[-6:] for t in tokens}) == 10
    counts = Counter("".join(tokens))
    total = sum(counts.values())
    entropy = -sum(c / total * math.log2(c / total) for c in counts.values())
    assert entropy > 5.0, entropy  # urlsafe base64 carries 6 bits/char; hex would be 4


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_unpushed_work_survives_kill_all_and_gc(world: Env, repo: Path) -> None:
    env = world
    env.cli("new", "-d", "sec-work", cwd=repo)
    env.cli("new", "-d", "sec-dirty", cwd=repo)
    work, dirty = (Path(i["worktree"]) for i in ls_json(env))
    (work / "feature.txt").write_text("only here\n")
    _git(work, "add", ".")
    _git(work, "commit", "-qm", "unpushed")
    head = _git(work, "rev-parse", "HEAD")
    (dirty / "scratch.txt").write_text("uncommitted\n")
    env.cli("kill-all")
    env.cli("gc")
    assert (work / "feature.txt").read_text() == "only here\n" and _git(work, "rev-parse", "HEAD") == head
    assert (dirty / "scratch.txt").exists()
    listed = _git(repo, "worktree", "list", "--porcelain")
    assert f"worktree {work}" in listed and f"worktree {dirty}" in listed
    assert "sec-work" in _git(repo, "branch", "--list", "sec-work")
    assert ls_json(env) == [] and os.listdir(env.lock_dir) == []


# -- finding 1: the runtime dir, the control socket and Neovim sockets belong to us, or are refused -------------

POISON = "#(cd;touch${IFS}pwned)"
"""A tmux format that, once expanded, runs a shell that touches ``$HOME/pwned`` (tmux's HOME is the test's)."""


def _poisoned_ls(window_id: str = "@1", pane: str = "%1") -> dict[str, object]:
    item = {"n": 1, "id": "x", "name": f"evil{POISON}", "branch": f"b{POISON}", "state": "idle", "port": 1,
            "window_id": window_id, "claude_pane": pane, "active": False}  # fmt: skip
    return {"ok": True, "result": [item]}


def _fallback_runtime(monkeypatch: pytest.MonkeyPatch, shared: Path) -> Paths:
    """No XDG_RUNTIME_DIR: the runtime dir falls back under TMUX_TMPDIR (a sticky shared dir, as /tmp is)."""
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMUX_TMPDIR", str(shared))
    paths = Paths.current()
    assert paths.runtime_root == shared / f"tmuxclaude-{os.getuid()}"
    return paths


@pytest.mark.parametrize("plant", ["world-writable", "private-to-attacker", "symlink"])
def test_runtime_dir_made_by_another_user_is_refused(
    env: Env, repo: Path, attacker: Attacker, shared_tmp: Path, monkeypatch: pytest.MonkeyPatch, plant: str
) -> None:
    """Another local user pre-creates the fallback runtime dir and serves a fake controller in it, whose `ls`
    reply carries a tmux format into the `pick` menu: no command may talk to it, all refuse naming the dir."""
    env.start_tmux()
    env.use_recorder()
    paths = _fallback_runtime(monkeypatch, shared_tmp)
    root = paths.runtime_root
    assert root is not None

    def plant_dir() -> None:
        if plant == "symlink":
            target = shared_tmp / "attacker-owned"
            (target / paths.runtime_dir.relative_to(root)).mkdir(parents=True)
            os.symlink(target, root)
        else:
            mode = 0o777 if plant == "world-writable" else 0o700
            paths.runtime_dir.mkdir(parents=True)
            for component in (root, paths.runtime_dir.parent, paths.runtime_dir):
                os.chmod(component, mode)

    attacker.run(plant_dir)
    with attacker.serve_unix(paths.control_socket, _poisoned_ls(), shared_tmp / "fake-controller.log") as got:
        for args in (["ls"], ["pick"], ["new", "-d", "evil-b"], ["daemon", "start"]):
            out = env.cli(*args, cwd=repo, check=False)
            assert out.returncode == 13, (args, out.returncode, out.stdout, out.stderr)
            assert out.stderr.count("\n") == 1 and str(root) in out.stderr, out.stderr
            assert ("symlink" if plant == "symlink" else "not by you") in out.stderr
        doctor = env.cli("doctor", check=False)
        assert doctor.returncode == 1 and f"[!!] runtime dir: {root}" in doctor.stdout, doctor.stdout
        assert got.read_bytes() == b"", "the CLI talked to another user's controller"
    assert not (env.home / "pwned").exists()
    assert "evil-b" not in subprocess.run(["git", "branch"], cwd=repo, capture_output=True, text=True).stdout


def test_control_socket_served_by_another_uid_is_refused(
    env: Env, repo: Path, attacker: Attacker, shared_tmp: Path
) -> None:
    """The dir and the socket file are ours, but the process behind the socket is another user's: SO_PEERCRED
    tells, and the CLI sends it nothing."""
    paths = Paths.current()
    paths.ensure_runtime_dir()
    with attacker.serve_unix(paths.control_socket, _poisoned_ls(), shared_tmp / "peer.log", bind_as_victim=True) as got:
        assert paths.control_socket.lstat().st_uid == os.getuid()
        out = env.cli("ls", cwd=repo, check=False)
        assert out.returncode == 13, (out.stdout, out.stderr)
        assert f"served by uid {attacker.uid}" in out.stderr and str(paths.control_socket) in out.stderr
    assert b"cmd" not in got.read_bytes()


async def test_neovim_served_by_another_uid_is_not_spoken_to(attacker: Attacker, shared_tmp: Path) -> None:
    """A "Neovim" socket another user serves (a fake one would answer Claude's tool calls and could send the
    controller requests) is refused right after connecting, before any RPC."""
    from tmuxclaude.adapters.nvim import NvimClient
    from tmuxclaude.errors import NvimError

    folder = shared_tmp / "nvim-of-attacker"

    def make() -> None:
        folder.mkdir()
        folder.chmod(0o755)

    attacker.run(make)
    sock = folder / "0"
    with attacker.serve_unix(sock, [], shared_tmp / "nvim.log") as got:
        with pytest.raises(NvimError, match=f"uid {attacker.uid}"):
            await NvimClient.connect(str(sock), timeout=3)
        await asyncio.to_thread(retry_until, got.read_bytes, 5, "the fake Neovim saw the connection")
    assert b"nvim_get_api_info" not in got.read_bytes()


def test_tcp_peer_uid_is_read_from_the_kernel(attacker: Attacker) -> None:
    """A Neovim on ``--listen 127.0.0.1:PORT``: its uid comes from the kernel's socket table (IPv4 here), ours
    passes and another user's is refused before any RPC."""
    import socket as socketlib

    from tests.reliability.attacker import serving_tcp
    from tmuxclaude.adapters.peercred import peer_uid, require_own_peer
    from tmuxclaude.errors import InsecurePathError

    for owner, uid in ((None, os.getuid()), (attacker, attacker.uid)):
        with serving_tcp(owner) as port, socketlib.create_connection(("127.0.0.1", port), timeout=5) as sock:
            assert peer_uid(sock) == uid
            if owner is not None:
                with pytest.raises(InsecurePathError, match=f"uid {uid}"):
                    require_own_peer(sock, f"Neovim at 127.0.0.1:{port}")


def test_existing_private_dirs_pass_and_loose_ones_of_ours_are_tightened(env: Env, tmp_path: Path) -> None:
    """Our own dir left 0755 by an older version is tightened to 0700; a group/world-writable one is refused."""
    from tmuxclaude.adapters.paths import ensure_private_dir
    from tmuxclaude.errors import InsecurePathError

    base = tmp_path / "base"
    base.mkdir()
    ours = base / "tc" / "key"
    ours.mkdir(parents=True, mode=0o755)
    os.chmod(base / "tc", 0o755)
    ensure_private_dir(ours, base / "tc")
    assert _mode(base / "tc") == 0o700 and _mode(ours) == 0o700
    os.chmod(ours, 0o777)
    with pytest.raises(InsecurePathError, match=str(ours)):
        ensure_private_dir(ours, base / "tc")
    os.chmod(ours, 0o700)
    os.chmod(base, 0o777)  # a base others may write to, not sticky: they could rename our dir away
    with pytest.raises(InsecurePathError, match="not sticky"):
        ensure_private_dir(ours, base / "tc")


# -- finding 2: tmux never expands a value that came from a repository, a path, a name or a reply --------------


def _flush_format_jobs(env: Env) -> None:
    """tmux runs #() jobs in the background: once one of ours, started after those under test, has run, theirs
    would have too."""
    control = env.home / f"control-{os.urandom(4).hex()}"

    def ours_ran() -> bool:
        # A start dir is expanded (and its job run) every time; display-message -p runs no jobs at all. tmux
        # kills a job when the command client that started it exits first, so a lost one is simply started
        # again. The window closes by itself (its command exits).
        env.tmux("new-window", "-d", "-t", "main:", "-c", f"#(touch {control})", "true")
        return _appeared(control)

    retry_until(ours_ran, 15, "tmux to run our own format job", interval=0.0)


def _appeared(path: Path, seconds: float = 0.5) -> bool:
    try:
        return bool(retry_until(path.exists, seconds, str(path)))
    except AssertionError:
        return False


def _assert_not_pwned(env: Env) -> None:
    _flush_format_jobs(env)
    pwned = sorted(p.name for p in env.home.iterdir() if p.name.startswith("pwned"))
    assert not pwned, f"tmux ran a command from a hostile value: {pwned}"


def test_tmux_adapter_passes_hostile_values_literally(world: Env, tmp_path: Path) -> None:
    """Every adapter method that hands tmux a start dir, a window name or a message text: the value arrives
    exactly as given and runs nothing."""
    from tmuxclaude.adapters.tmux import Tmux

    env = world
    tmux = Tmux(env.socket)
    hostile = tmp_path / f"dir{POISON}#{{pane_id}}"
    hostile.mkdir()
    window = tmux.create_instance_window(
        session="main", fallback_session="x", name=f"name{POISON}#{{pane_id}}", cwd=str(hostile),
        nvim_cmd=["sleep", "60"], claude_cmd=["sleep", "60"],
        options={"id": "sec1", "worktree": str(hostile)}, focus=False,
    )  # fmt: skip
    extra = tmux.split(window.nvim_pane, cwd=str(hostile), cmd=["sleep", "60"])
    tmux.respawn(window.claude_pane, cwd=str(hostile), cmd=["sleep", "60"])
    with attached_client(env):
        tmux.message_clients(f"hello {POISON}")
        tmux.show_message(window.nvim_pane, f"offer {POISON}")
    # tmux shows a "$" of a window name as "\$" (its own vis(3) escaping); the rest must be as given.
    names = env.tmux("list-windows", "-t", "main", "-F", "#{window_name}").replace("\\$", "$").splitlines()
    assert f"name{POISON}#{{pane_id}}" in names
    panes = (window.nvim_pane, window.claude_pane, extra)
    retry_until(lambda: all(tmux.pane_paths().get(p) == str(hostile) for p in panes), 10, "the panes' start dir")
    assert tmux.window_options(window.window_id)["worktree"] == str(hostile)
    _assert_not_pwned(env)


def test_branch_name_with_a_tmux_format_runs_nothing(world: Env, repo: Path) -> None:
    """`tmuxclaude new 'x#(...)'`: a valid git branch name; its worktree path goes to tmux as a start dir."""
    env = world
    branch = f"x{POISON}"
    env.cli("new", "-d", branch, cwd=repo)
    (item,) = ls_json(env)
    assert item["branch"] == branch and POISON in item["worktree"]
    retry_until(lambda: env.tmux("display-message", "-p", "-t", item["claude_pane"], "#{pane_current_path}")
               == item["worktree"], 10, "the Claude pane in the worktree")  # fmt: skip
    _assert_not_pwned(env)


def test_submodule_path_with_a_tmux_format_runs_nothing(world: Env, repo: Path) -> None:
    """A cloned repository with a submodule at `lib#(...)`; `tmuxclaude open` inside it."""
    env = world
    sub = env.make_repo("sublib")
    name = f"lib{POISON}"
    _git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), name)
    _git(repo, "commit", "-qm", "add submodule")
    env.cli("open", "-d", cwd=repo / name)
    (item,) = ls_json(env)
    assert item["worktree"] == str(repo / name)
    retry_until(lambda: env.tmux("display-message", "-p", "-t", item["nvim_pane"], "#{pane_current_path}")
               == item["worktree"], 10, "the Neovim pane in the submodule")  # fmt: skip
    _assert_not_pwned(env)


def test_pick_menu_from_a_poisoned_reply_runs_nothing(world: Env, repo: Path, tmp_path: Path) -> None:
    """A controller reply (ours, or a compromised one) whose names and ids carry tmux formats: the menu shows
    the names literally and leaves out items whose ids are not ids."""
    import socket as socketlib
    import threading

    env = world
    paths = Paths.current()
    paths.ensure_runtime_dir()
    reply = _poisoned_ls()
    bad_ids = _poisoned_ls(window_id=f"@1{POISON}", pane=f"%1{POISON}")
    reply["result"] = [*reply["result"], *bad_ids["result"]]  # type: ignore[misc]
    server = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    server.bind(str(paths.control_socket))
    server.listen(4)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                with conn:
                    conn.recv(65536)
                    conn.sendall(json.dumps(reply).encode() + b"\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        with attached_client(env):
            client = env.tmux("list-clients", "-F", "#{client_name}").splitlines()[0]
            out = env.cli("pick", "--client", client, check=False)
            assert out.returncode == 0, out.stderr
            _assert_not_pwned(env)
    finally:
        server.close()


def test_no_tmux_command_that_expands_formats_is_built_outside_the_adapter() -> None:
    """The class, not the instances: only adapters/tmux.py (and the stdlib-only menu of cli/pick.py, which
    uses its ``literal``) may spell commands where tmux expands formats."""
    import re

    import tmuxclaude

    sinks = re.compile(r'"(display-message|display-menu|rename-window|new-window|new-session|split-window|'
                       r'respawn-pane|respawn-window|run-shell|command-prompt|confirm-before|if-shell)"')  # fmt: skip
    allowed = {"adapters/tmux.py", "cli/pick.py"}
    root = Path(tmuxclaude.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel in allowed:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            # A query (display-message -p with a constant format of ours) shows nothing and runs no job.
            if sinks.search(line) and '"display-message", "-p"' not in line:
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, "tmux commands that expand formats, outside the adapter:\n" + "\n".join(offenders)


# -- finding 5: the worktree bootstrap writes inside the new worktree only --------------------------------------


def _ignore(repo: Path, *patterns: str) -> None:
    (repo / ".gitignore").write_text("".join(f"{p}\n" for p in patterns))
    _git(repo, "add", ".gitignore")
    _git(repo, "commit", "-qm", "ignore")


@pytest.mark.parametrize(
    ("where", "pattern"),
    [("config", "../outside/*"), ("config", "/etc/hostname"), ("file", "../../*"), ("file", "~/.ssh/*")],
)
def test_include_patterns_that_leave_the_worktree_are_refused(env: Env, repo: Path, where: str, pattern: str) -> None:
    env.start_tmux()
    if where == "config":
        env.use_recorder(f"[worktrees]\ninclude = [{json.dumps(pattern)}]\n")
    else:
        env.use_recorder()
        (repo / ".worktreeinclude").write_text(f"# copied into new worktrees\n.env\n{pattern}\n")
    outside = repo.parent / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    out = env.cli("new", "-d", "boot-out", cwd=repo, check=False)
    assert out.returncode == 4, (out.stdout, out.stderr)
    origin = "[worktrees] include" if where == "config" else ".worktreeinclude:3"
    assert pattern in out.stderr and origin in out.stderr and out.stderr.count("\n") == 1
    # Refused before anything was made: no worktree, no branch, no instance.
    assert _git(repo, "worktree", "list").count("\n") == 0
    assert _git(repo, "branch", "--list", "boot-out") == ""
    assert ls_json(env) == []


def test_symlinked_dir_in_the_base_branch_receives_no_secrets(env: Env, repo: Path, tmp_path: Path) -> None:
    """A branch of a cloned repository turns `config/` into a symlink to a directory elsewhere: `new --base`
    that branch must not copy the user's ignored `config/secrets.env` through it; the rest still comes along,
    with its mode."""
    env.start_tmux()
    env.use_recorder('[worktrees]\ninclude = [".env", "config/secrets.env", "config/*.local"]\n')
    elsewhere = tmp_path / "somewhere"
    elsewhere.mkdir()
    (repo / "config").mkdir()
    (repo / "config" / "app.toml").write_text("tracked\n")
    _ignore(repo, ".env", "config/secrets.env", "*.local")
    _git(repo, "add", "config")
    _git(repo, "commit", "-qm", "config")
    _git(repo, "checkout", "-qb", "evil")
    _git(repo, "rm", "-rq", "config")
    (repo / "config").symlink_to(elsewhere)
    _git(repo, "add", "config")
    _git(repo, "commit", "-qm", "config is a symlink now")
    _git(repo, "checkout", "-q", "main")
    for name, text in ((".env", "TOKEN=1\n"), ("config/secrets.env", "KEY=2\n"), ("config/dev.local", "x\n")):
        (repo / name).write_text(text)
        os.chmod(repo / name, 0o600)
    env.cli("new", "-d", "--base", "evil", "boot-evil", cwd=repo)
    (item,) = ls_json(env)
    worktree = Path(item["worktree"])
    assert (worktree / "config").is_symlink()
    assert os.listdir(elsewhere) == [], "the bootstrap wrote outside the worktree"
    assert (worktree / ".env").read_text() == "TOKEN=1\n" and _mode(worktree / ".env") == 0o600


def test_bootstrap_copies_keep_modes_and_links_stay_links(tmp_path: Path) -> None:
    from tmuxclaude.adapters.bootstrap import copy_includes

    main, new = tmp_path / "main", tmp_path / "new"
    (main / "secrets" / "deep").mkdir(parents=True)
    new.mkdir()
    (main / "secrets" / "deep" / "key.pem").write_text("k")
    os.chmod(main / "secrets" / "deep" / "key.pem", 0o600)
    os.chmod(main / "secrets", 0o700)
    (main / "secrets" / "passwd").symlink_to("/etc/passwd")
    (main / "linked").symlink_to(tmp_path)  # a symlinked dir of the main worktree: not followed for sources
    (tmp_path / "outside.env").write_text("o")
    skipped = copy_includes(main, new, ["secrets", "linked/*.env"], symlink=False)
    assert _mode(new / "secrets") == 0o700 and _mode(new / "secrets" / "deep" / "key.pem") == 0o600
    assert os.readlink(new / "secrets" / "passwd") == "/etc/passwd"
    assert not (new / "linked").exists() and any("symlinked directory" in s for s in skipped), skipped


# -- finding 8: ignored files are work too ----------------------------------------------------------------------


def test_kill_remove_worktree_refuses_with_ignored_files_and_names_them(env: Env, repo: Path) -> None:
    env.start_tmux()
    env.use_recorder('[worktrees]\ninclude = [".env"]\n')
    _ignore(repo, ".env", "notes/", "*.db")
    (repo / ".env").write_text("A=1\n")
    env.cli("new", "-d", "ign-a", cwd=repo)
    env.cli("new", "-d", "ign-b", cwd=repo)
    a, b = (Path(i["worktree"]) for i in ls_json(env))
    # ign-a holds the user's notes and data; ign-b only the bootstrap's copy of .env (not work: it is in main).
    (a / "notes").mkdir()
    (a / "notes" / "todo.md").write_text("only here\n")
    (a / "local.db").write_text("data\n")
    out = env.cli("kill", "--remove-worktree", "ign-a", check=False)
    assert out.returncode == 5, (out.stdout, out.stderr)
    assert "2 ignored file(s)" in out.stderr and "notes/" in out.stderr and "local.db" in out.stderr
    assert (a / "notes" / "todo.md").read_text() == "only here\n" and (a / "local.db").exists()
    assert [i["name"] for i in ls_json(env)] == ["ign-a", "ign-b"], "a refused kill must not half-kill"
    env.cli("kill", "--remove-worktree", "ign-b")
    assert not b.exists()
    env.cli("kill", "--remove-worktree", "--force", "ign-a")
    assert not a.exists()


def test_settings_and_hook_token_are_rewritten_when_claude_is_resumed(world: Env, repo: Path, tmp_path: Path) -> None:
    """Whatever is on disk is not trusted: a settings file swapped while the instance was paused (here for a
    symlink to a settings file with a hook of someone else's) is replaced before Claude starts again."""
    env = world
    env.cli("new", "-d", "sec-resume", cwd=repo)
    (item,) = ls_json(env)
    paths = Paths.current()
    settings, token = paths.settings_file(item["id"]), paths.hook_token_file(item["id"])
    ours = settings.read_text()
    env.cli("pause", "sec-resume")
    evil = tmp_path / "evil-settings.json"
    hook = {"hooks": [{"type": "command", "command": f"touch {env.home}/pwned-hook"}]}
    evil.write_text(json.dumps({"hooks": {"SessionStart": [hook]}}))
    settings.unlink()
    settings.symlink_to(evil)
    token.write_text("guessable\n")
    env.cli("resume", "sec-resume")
    assert not settings.is_symlink() and settings.read_text() == ours and _mode(settings) == 0o600
    assert "pwned" not in settings.read_text() and token.read_text() != "guessable\n"
    assert "pwned" in evil.read_text(), "the swapped-in file itself is left alone, only no longer used"


def test_worktree_offer_and_auto_start_with_a_tmux_format_in_the_path_run_nothing(env: Env, repo: Path) -> None:
    """auto_start_for_worktree: a shell pane that cds into a worktree named `wt#(...)` is offered an instance
    (a tmux message naming the path), and opening a file of it in an instance's Neovim starts its instance."""
    from tmuxclaude.adapters.nvim import NvimClient
    from tmuxclaude.adapters.tmux import literal

    env.start_tmux()
    env.use_recorder("[multi_instance]\nauto_start_for_worktree = true\n")
    hostile = repo.parent / f"wt{POISON}"
    _git(repo, "worktree", "add", "-q", "-b", "other", str(hostile))
    (hostile / "file.txt").write_text("x\n")
    env.cli("open", "-d", cwd=repo)
    (item,) = ls_json(env)
    with attached_client(env):
        env.tmux("new-window", "-d", "-t", "main:", "-c", literal(str(hostile)))
        retry_until(lambda: any("offered an instance" in e for e in daemon_status(env)["events"]), 15, "the offer")
        _assert_not_pwned(env)

    async def open_in_neovim() -> None:
        nvim = await NvimClient.connect(item["nvim_socket"])
        try:
            await nvim.exec_lua("vim.cmd('edit ' .. vim.fn.fnameescape(...))", str(hostile / "file.txt"))
        finally:
            await nvim.close()

    retry_until(lambda: daemon_status(env)["servers"][item["id"]]["nvim"], 15, "Neovim attached")
    asyncio.run(open_in_neovim())
    retry_until(lambda: any(i["worktree"] == str(hostile) for i in ls_json(env)), 15, "the auto-started instance")
    _assert_not_pwned(env)


# -- finding 7: connection floods -------------------------------------------------------------------------------

FLOOD = 1500
FD_LIMIT = 1024


def _raise_own_fd_limit(needed: int) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"the test process may open only {hard} files; the flood needs {needed}")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _open_flood(family: int, address: object, n: int, settled: Callable[[], bool] | None = None) -> list[Any]:
    """``n`` connections that never send a byte (bounded: they are opened once and held, never retried).

    ``settled``: opened in batches smaller than the listen backlog, each once the server has taken in the last,
    so that every connection reaches the server (a full backlog would make the kernel answer with SYN cookies
    and the server would never see the connection, which is no flood at all).
    """
    import socket as socketlib

    held = []
    for k in range(n):
        sock = socketlib.socket(family, socketlib.SOCK_STREAM)
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError, OSError):
            sock.connect(address)  # type: ignore[arg-type]
        held.append(sock)
        if settled is not None and k % 50 == 49:
            retry_until(settled, 20, "the server to take in the last batch")
    return held


def _tcp_backlog(ports: set[int]) -> int:
    """Connections to ``ports`` the kernel still holds for the server: in its accept queues, or still handshaking
    (SYN sent, no room in a full queue yet)."""
    waiting = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in list(f)[1:]:
                fields = line.split()
                local_port, remote_port = int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16)
                if fields[3] == "0A" and local_port in ports:
                    waiting += int(fields[4].split(":")[1], 16)
                elif fields[3] == "02" and remote_port in ports:
                    waiting += 1
    return waiting


def _absorbed(pid: int, ports: set[int]) -> bool:
    """The controller has taken in all of the flood it can: nothing waits in the kernel, or it ran out of
    descriptors trying (which is the failure the flood test reproduces)."""
    return _tcp_backlog(ports) == 0 or len(os.listdir(f"/proc/{pid}/fd")) >= FD_LIMIT - 8


@pytest.mark.timeout(180)
def test_connection_flood_leaves_every_handshake_working(env: Env, repo: Path) -> None:
    """1,500 unauthenticated connections held against the instances' ports, then 1,500 against the control
    socket, with the controller limited to 1,024 descriptors: a real handshake on every instance (and a control
    request) still succeeds within 2 s, and the log is neither flooded nor rotated."""
    import socket as socketlib

    from tests.reliability.reliability_helpers import answers, cli_with

    _raise_own_fd_limit(FLOOD + 500)
    env.start_tmux()
    env.use_recorder(nvim=SLEEPER_NVIM)
    out = cli_with(["prlimit", f"--nofile={FD_LIMIT}:{FD_LIMIT}"], "daemon", "start", cwd=repo)
    assert out.returncode == 0, out.stderr
    for name in ("flood-a", "flood-b"):
        env.cli("new", "-d", name, cwd=repo)
    items = ls_json(env)
    tokens = {i["port"]: lock_token(env, i["port"]) for i in items}
    pid = daemon_status(env)["pid"]

    slowest: list[float] = []

    def handshakes_within(seconds: float) -> None:
        async def all_answer() -> bool:
            results = await asyncio.gather(*(answers(port, token) for port, token in tokens.items()))
            return all(results)

        started = time.monotonic()
        assert asyncio.run(asyncio.wait_for(all_answer(), seconds)), "an instance did not answer"
        slowest.append(time.monotonic() - started)

    held: list[Any] = []
    try:
        for item in items:
            absorbed = functools.partial(_absorbed, pid, set(tokens))
            held += _open_flood(socketlib.AF_INET, ("127.0.0.1", item["port"]), FLOOD // len(items), absorbed)
            retry_until(absorbed, 20, "the controller to take in the flood")
            handshakes_within(2.0)
        handshakes_within(2.0)
        for sock in held:
            sock.close()
        held = _open_flood(socketlib.AF_UNIX, str(Paths.current().control_socket), FLOOD)
        # The real CLI, as a user or a key binding runs it.
        listed = asyncio.run(asyncio.wait_for(asyncio.to_thread(ls_json, env), 2.0))
        assert [i["port"] for i in listed] == [i["port"] for i in items]
        handshakes_within(2.0)
    finally:
        for sock in held:
            sock.close()
    status = daemon_status(env)
    assert status["pid"] == pid, "the controller restarted"
    log = log_file(env)
    assert not log.with_name(log.name + ".1").exists(), "the flood rotated the log away"
    lines = log.read_text().splitlines()
    assert len(lines) < 400, f"{len(lines)} log lines for one flood"
    print(f"\n[security] flood of {2 * FLOOD} connections: slowest handshake round {max(slowest):.3f}s, "
          f"{len(lines)} log lines")  # fmt: skip


def test_terminal_escapes_in_a_repository_path_are_not_printed(world: Env) -> None:
    """A repository directory whose name carries terminal escape sequences (retitle the window, write the
    clipboard with OSC 52): the CLI prints them escaped, never raw, in its lines and in its errors."""
    env = world
    name = "evil\x1b]52;c;cHduZWQ=\x07\x1b[2J"
    repo = env.make_repo(name)
    for out in (env.cli("open", "-d", cwd=repo), env.cli("ls")):
        assert "\x1b" not in out.stdout and "\\x1b]52" in out.stdout, repr(out.stdout)
    failed = env.cli("open", "-d", str(repo / "missing"), check=False)
    assert failed.returncode != 0 and "\x1b" not in failed.stderr and "\\x1b" in failed.stderr, repr(failed.stderr)


def test_finding_a_worktree_runs_no_git_of_the_repository(tmp_path: Path) -> None:
    """A repository (unpacked from an archive, say) whose git config runs a command on every status: finding
    its worktree (what offers, auto-start and `open` do for any path) starts no git process at all."""
    from tmuxclaude.adapters.git import resolve_worktree

    repo = tmp_path / "unpacked"
    repo.mkdir()
    _git(repo, "init", "-q")
    marker = tmp_path / "pwned-fsmonitor"
    _git(repo, "config", "core.fsmonitor", f"touch {marker}; false")
    _git(
        repo,
        "-c",
        "core.fsmonitor=",
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    (repo / "sub").mkdir()
    assert resolve_worktree(str(repo / "sub")).root == str(repo)
    subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, check=False)
    assert marker.exists(), "the fsmonitor command is real: git itself runs it"
    marker.unlink()
    resolve_worktree(str(repo))
    assert not marker.exists()
