"""The pane launchers on real tmux: the environment arrives from the 0600 file and never from argv, and a Claude
that exits leaves its pane, its text and the keys, and reports to the controller (a small HTTP listener here)."""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.env import Env
from tests.helpers.waiting import retry_until
from tmuxclaude.adapters.launcher import (
    claude_pane_command,
    encode_env,
    env_file,
    nvim_pane_command,
    write_env_file,
)
from tmuxclaude.errors import ConfigError

pytestmark = pytest.mark.timeout(60)

HOSTILE = {
    "PROXY_TOKEN": "s3cr3t-$(touch PWNED)-`id`-'\"-\\n-*",
    "MULTILINE": "line one\nline two\n",
    "EMPTY": "",
    "SPACES": "  a  b  ",
    "EQUALS": "a=b=c",
}


class Controller:
    """Accepts the launcher's plain HTTP requests on 127.0.0.1 and records their request lines and tokens."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests: list[tuple[str, str]] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                head = data.decode(errors="replace").split("\r\n")
                tokens = [h.split(":", 1)[1].strip() for h in head if h.lower().startswith("x-tmuxclaude-hook")]
                token = tokens[0] if tokens else ""
                self.requests.append((head[0], token))
                # A refused restart: the launcher says what to run instead, and takes keys again at once.
                refused = " /tmuxclaude/restart " in head[0]
                conn.sendall(b"HTTP/1.1 503 No\r\n\r\n" if refused else b"HTTP/1.1 204 No Content\r\n\r\n")

    def paths(self) -> list[str]:
        return [line.split()[1] for line, _ in self.requests]


@pytest.fixture
def controller() -> Iterator[Controller]:
    c = Controller()
    yield c
    c.sock.close()


def pane_text(env: Env, pane: str) -> str:
    return env.tmux("capture-pane", "-p", "-J", "-t", pane)


def start(env: Env, argv: list[str], cwd: Path) -> str:
    return env.tmux("new-window", "-d", "-P", "-F", "#{pane_id}", "-t", "main:", "-c", str(cwd), *argv)


def test_encode_env_is_nul_separated_and_refuses_bad_names() -> None:
    assert encode_env({"A": "1", "B": "x\ny"}) == b"A=1\0B=x\ny\0"
    with pytest.raises(ConfigError, match="not valid"):
        encode_env({"A B": "1"})
    with pytest.raises(ConfigError, match="NUL"):
        encode_env({"A": "x\0y"})


def test_env_arrives_from_the_private_file_verbatim_and_not_on_argv(world: Env, tmp_path: Path) -> None:
    env = world
    path = env_file(Path(env.vars["XDG_RUNTIME_DIR"]), "abcd", "nvim")
    write_env_file(path, HOSTILE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    dump = tmp_path / "env.json"
    code = f"import json,os; json.dump(dict(os.environ), open({str(dump)!r}, 'w')); import time; time.sleep(60)"
    argv = nvim_pane_command(path, [sys.executable, "-c", code])
    pane = start(env, argv, tmp_path)
    retry_until(dump.exists, 10, "the pane's program ran")
    got = json.loads(retry_until(lambda: dump.read_text() or None, 5, "env written"))
    for key, value in HOSTILE.items():
        assert got[key] == value
    assert not (tmp_path / "PWNED").exists()
    pid = int(env.tmux("display-message", "-p", "-t", pane, "#{pane_pid}"))
    # pane.sh execs: the pane's process is the program itself, and nothing secret is on its argv.
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert sys.executable.encode() in cmdline
    assert b"s3cr3t" not in cmdline


@pytest.mark.parametrize("remain", ["on", "off"])
def test_claude_exit_keeps_pane_reports_and_offers_keys(
    world: Env, tmp_path: Path, controller: Controller, remain: str
) -> None:
    env = world
    env.tmux("set-option", "-g", "remain-on-exit", remain)
    runtime = Path(env.vars["XDG_RUNTIME_DIR"])
    path = env_file(runtime, "abcd", "claude")
    write_env_file(path, {"GREETING": "hello from the env file"})
    token = runtime / "abcd.hooktoken"
    token.write_text("tok-123\n")
    fake_claude = ["sh", "-c", 'echo "Unable to connect: $GREETING"; exit 3']
    argv = claude_pane_command(path, port=controller.port, token_file=token, name="feat-a", command=fake_claude)
    pane = start(env, argv, tmp_path)
    retry_until(lambda: "k: kill instance feat-a" in pane_text(env, pane), 10, "the exit footer")
    text = pane_text(env, pane)
    assert "Unable to connect: hello from the env file" in text
    assert "Claude Code exited with status 3." in text
    assert "r or Enter: start Claude again here" in text
    retry_until(lambda: controller.requests, 5, "the exit report")
    line, sent = controller.requests[0]
    assert line.startswith("GET /tmuxclaude/exit?status=3&elapsed=") and sent == "tok-123"
    # The pane's program is still the launcher, whatever remain-on-exit says; the option is as the user set it.
    assert env.tmux("display-message", "-p", "-t", pane, "#{pane_dead}") == "0"
    assert env.tmux("show-option", "-gv", "remain-on-exit") == remain
    assert env.tmux("show-option", "-pqv", "-t", pane, "remain-on-exit") == ""
    assert env.tmux("show-option", "-wqv", "-t", pane, "remain-on-exit") == ""

    env.tmux("send-keys", "-t", pane, "r")
    retry_until(lambda: "/tmuxclaude/restart" in controller.paths(), 5, "the restart request")
    retry_until(lambda: "not restarted" in pane_text(env, pane), 5, "the refused restart said so")
    env.tmux("send-keys", "-t", pane, "k", "n")
    env.tmux("send-keys", "-t", pane, "k", "y")
    retry_until(lambda: "/tmuxclaude/kill" in controller.paths(), 15, "the kill request (after its confirmation)")
    assert controller.paths().count("/tmuxclaude/kill") == 1


def test_unreachable_controller_says_what_to_run(world: Env, tmp_path: Path) -> None:
    env = world
    runtime = Path(env.vars["XDG_RUNTIME_DIR"])
    path = env_file(runtime, "abcd", "claude")
    write_env_file(path, {})
    token = runtime / "abcd.hooktoken"
    token.write_text("tok\n")
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    argv = claude_pane_command(path, port=port, token_file=token, name="feat-a", command=["false"])
    pane = start(env, argv, tmp_path)
    retry_until(lambda: "k: kill instance" in pane_text(env, pane), 10, "the exit footer")
    env.tmux("send-keys", "-t", pane, "Enter")
    retry_until(lambda: "tmuxclaude resume feat-a" in pane_text(env, pane), 10, "the fallback hint")
    assert os.path.exists(path)
