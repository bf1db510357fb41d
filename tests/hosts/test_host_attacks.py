"""A hostile host (issue 19: anything a host sends is untrusted), over the real OpenSSH server of conftest.py: its
tmuxclaude is replaced by a script that floods. Each attack failed before its fix."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.helpers.env import Env, ls_json
from tests.helpers.waiting import retry_until
from tests.hosts.sshd_host import SshdHost

pytestmark = pytest.mark.timeout(120)


FLOOD = r"""#!/usr/bin/python3
import json, sys
args = sys.argv[1:]
def snap(state):
    items = [{"name": f"i{n}", "branch": "b", "worktree": f"/w/{n}", "repo": "r", "port": 1000 + n, "state": state}
             for n in range(200)]
    return (json.dumps({"watch": 1, "version": "0.1.0", "home": "/h", "instances": items}) + "\n").encode()
out = sys.stdout.buffer
if args[:1] == ["watch"]:
    lines = [snap("idle"), snap("waiting")]
    n = 0
    while True:  # every instance flips between idle and waiting, as fast as the link takes it
        out.write(lines[n % 2])
        out.flush()
        n += 1
elif args[:1] in (["host-info"], ["--version"]):
    print(json.dumps({"version": "0.1.0", "home": "/h"}))
else:  # any command's answer: 64 MiB
    chunk = b"x" * 65536 + b"\n"
    for _ in range(1024):
        out.write(chunk)
"""


def test_a_flooding_host_neither_freezes_the_controller_nor_fills_its_memory(world: Env, sshd_host: SshdHost) -> None:
    """A hostile host's tmuxclaude: its watch stream flips 200 instances between idle and waiting as fast as the
    link carries it (each flip was a message and a bell, tmux commands run on the controller's event loop), and
    every command's answer is 64 MiB (read whole into memory). Local commands still answer, and an answer that
    large is refused."""
    env, host = world, sshd_host
    evil = host.home / "bin" / "flood"
    evil.write_text(FLOOD)
    evil.chmod(0o755)
    subprocess.run(["chown", f"{host.user}:{host.user}", str(evil)], check=True)
    env.use_recorder(extra=host.config_block(name="flood").replace(f"{host.home}/bin/tmuxclaude", str(evil)))
    retry_until(lambda: len(ls_json(env)) == 200, 20, "the host's instances listed")
    for _ in range(5):
        started = time.monotonic()
        env.cli("ls", timeout=20)
        assert time.monotonic() - started < 3, "the controller is held up by the host's stream"
    started = time.monotonic()
    out = env.cli("pause", "flood:i1", check=False, timeout=60)
    assert out.returncode != 0 and "too large" in out.stderr and out.stderr.count("\n") == 1, out.stderr
    assert time.monotonic() - started < 10
