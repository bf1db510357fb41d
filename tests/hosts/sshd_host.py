"""A real OpenSSH server on a host of its own, for the hosts tests: a network namespace this test session creates
(a veth pair, a private /30), sshd in it with its own host key, a throwaway user whose home is the host side
(tmuxclaude runnable there, a repository, the recorder standing in for Claude), a client key made for this
session and a known_hosts file holding the test host key (host key checking stays on).

The host user runs the system Python (/usr/bin/python3): the developer's Python may live under a home no other
user can read. The package is put in the user's home as a copy of this tree's ``tmuxclaude/`` plus copies of the
installed runtime dependencies (same Python minor version, so the same ABI for the compiled ones), found through
their distribution metadata: no network, no build, about a second.
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECORDER = ROOT / "tests" / "helpers" / "recorder.py"


def unavailable() -> str:
    """Why the SSH tests cannot run here ("" when they can)."""
    if os.geteuid() != 0:
        return "needs root (network namespace, sshd, a throwaway user)"
    for tool in ("/usr/sbin/sshd", "ssh", "ssh-keygen", "ip", "useradd", "userdel", "runuser"):
        if not shutil.which(tool):
            return f"{tool} not installed (scripts/test installs openssh-server and iproute2)"
    sys_py = Path("/usr/bin/python3")
    if not sys_py.exists():
        return "no /usr/bin/python3 for the host user"
    minor = subprocess.run([str(sys_py), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                           text=True, check=False).stdout.strip()  # fmt: skip
    if minor != str(sys.version_info[:2]):
        return f"/usr/bin/python3 is {minor}, the suite runs {sys.version_info[:2]}: dependencies cannot be shared"
    return ""


def _requirements(name: str, seen: set[str]) -> None:
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        return
    seen.add(key)
    dist = md.distribution(name)
    for req in dist.requires or []:
        if "extra ==" in req:
            continue
        dep = re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0]
        with contextlib.suppress(md.PackageNotFoundError):
            _requirements(dep, seen)


def install_site(target: Path) -> None:
    """tmuxclaude (this tree) and its runtime dependencies, copied into ``target`` (a PYTHONPATH dir)."""
    names: set[str] = set()
    for dep in md.distribution("tmuxclaude").requires or []:
        if "extra ==" not in dep:
            _requirements(re.split(r"[\s;<>=!~\[(]", dep, maxsplit=1)[0], names)
    for name in sorted(names):
        dist = md.distribution(name)
        for file in dist.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue
            src = Path(str(dist.locate_file(file)))
            if src.is_file():
                dst = target / str(file)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
    shutil.copytree(ROOT / "tmuxclaude", target / "tmuxclaude", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tmux", target / "tmuxclaude" / "_tmux_plugin")


def run(*args: str, check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(list(args), capture_output=True, text=True, check=False, timeout=60, **kw)  # type: ignore[call-overload]
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {out.stderr.strip()}")
    return out  # type: ignore[no-any-return]


@dataclass
class SshdHost:
    ns: str
    veth: str
    peer: str
    address: str
    user: str
    home: Path
    dir: Path
    """Root's side: client key, known_hosts, sshd config (a private temp dir)."""
    sshd: subprocess.Popen[bytes] | None = None

    @property
    def uid(self) -> int:
        return int(run("id", "-u", self.user).stdout)

    @property
    def ssh_options(self) -> list[str]:
        return [f"IdentityFile={self.dir / 'id'}", f"UserKnownHostsFile={self.dir / 'known_hosts'}",
                "IdentitiesOnly=yes"]  # fmt: skip

    def config_block(self, name: str = "box", timeout: float = 3) -> str:
        options = ", ".join(f'"{o}"' for o in self.ssh_options)
        return (f'[hosts.{name}]\nssh = "{self.user}@{self.address}"\nssh_options = [{options}]\n'
                f'tmuxclaude = "{self.home}/bin/tmuxclaude"\nrepo = "{self.home}/src/shop"\n'
                f"connect_timeout = {timeout}\n")  # fmt: skip

    def ssh(self, remote: str, *, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A command on the host as its user (one shell line, as ssh sends it)."""
        argv = ["ssh", "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "ControlPath=none"]
        for option in self.ssh_options:
            argv += ["-o", option]
        out = subprocess.run([*argv, "--", f"{self.user}@{self.address}", remote], input=input, capture_output=True,
                             text=True, timeout=60, check=False)  # fmt: skip
        if check and out.returncode != 0:
            raise AssertionError(f"ssh {remote!r} exited {out.returncode}: {out.stderr}")
        return out

    def tmuxclaude(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        import shlex

        return self.ssh(shlex.join([f"{self.home}/bin/tmuxclaude", *args]), check=check)

    def link(self, up: bool) -> None:
        run("ip", "netns", "exec", self.ns, "ip", "link", "set", self.peer, "up" if up else "down")

    def user_pids(self) -> list[int]:
        out = run("ps", "-u", self.user, "-o", "pid=", check=False).stdout
        return [int(p) for p in out.split() if p.isdigit()]

    def controller_pid(self) -> int:
        files = list(Path(f"/tmp/tmuxclaude-{self.uid}").glob("tmuxclaude/*/controller.pid"))
        files += list(self.home.glob(".local/state/tmuxclaude/*/controller.pid"))
        for f in files:
            text = f.read_text().strip()
            if text.isdigit():
                return int(text)
        raise AssertionError("no controller pid file on the host")

    def teardown(self) -> None:
        if self.sshd is not None and self.sshd.poll() is None:
            self.sshd.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.sshd.wait(5)
        for _ in range(3):  # the host user's processes (started through this sshd), each by its id
            pids = self.user_pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        run("userdel", "-r", "-f", self.user, check=False)
        run("ip", "link", "del", self.veth, check=False)
        run("ip", "netns", "del", self.ns, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def _free_subnet() -> tuple[str, str]:
    used = run("ip", "-o", "addr").stdout
    for _ in range(100):
        a, b = random.randrange(16, 250), random.randrange(0, 64) * 4
        local, remote = f"10.{a}.{b}.1", f"10.{a}.{b}.2"
        if f"10.{a}.{b}." not in used:
            return local, remote
    raise RuntimeError("no free 10.x.y.0/30")


def start_host(workdir: Path) -> SshdHost:
    suffix = f"{os.getpid() % 10000:04d}{random.randrange(100):02d}"
    local, remote = _free_subnet()
    user = f"tch{suffix}"
    host = SshdHost(ns=f"tch{suffix}", veth=f"tchA{suffix}", peer=f"tchB{suffix}", address=remote, user=user,
                    home=Path("/home") / user, dir=workdir)  # fmt: skip
    try:
        workdir.chmod(0o700)
        run("ip", "netns", "add", host.ns)
        run("ip", "link", "add", host.veth, "type", "veth", "peer", "name", host.peer)
        run("ip", "link", "set", host.peer, "netns", host.ns)
        run("ip", "addr", "add", f"{local}/30", "dev", host.veth)
        run("ip", "link", "set", host.veth, "up")
        run("ip", "netns", "exec", host.ns, "ip", "addr", "add", f"{remote}/30", "dev", host.peer)
        run("ip", "netns", "exec", host.ns, "ip", "link", "set", host.peer, "up")
        run("ip", "netns", "exec", host.ns, "ip", "link", "set", "lo", "up")
        run("useradd", "-m", "-s", "/bin/sh", user)
        run("usermod", "-p", "*", user)  # no password, but not locked (sshd refuses locked accounts)
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(workdir / "hostkey"))
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(workdir / "id"))
        hostkey = (workdir / "hostkey.pub").read_text().split()
        (workdir / "known_hosts").write_text(f"{remote} {hostkey[0]} {hostkey[1]}\n")
        _host_side(host)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        config = workdir / "sshd_config"
        config.write_text(
            f"ListenAddress {remote}\nHostKey {workdir / 'hostkey'}\nPidFile {workdir / 'sshd.pid'}\n"
            f"AuthorizedKeysFile .ssh/authorized_keys\nAllowUsers {user}\nUsePAM no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin no\nX11Forwarding no\nAllowTcpForwarding no\n"
            "PrintMotd no\nMaxSessions 50\nMaxStartups 50\nClientAliveInterval 5\nClientAliveCountMax 2\n"
        )
        with open(workdir / "sshd.log", "wb") as log:
            host.sshd = subprocess.Popen(["ip", "netns", "exec", host.ns, "/usr/sbin/sshd", "-D", "-e", "-f",
                                          str(config)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=log)  # fmt: skip
        deadline = time.monotonic() + 15
        while host.ssh("true", check=False).returncode != 0:
            if time.monotonic() > deadline or host.sshd.poll() is not None:
                raise RuntimeError(f"sshd did not come up: {(workdir / 'sshd.log').read_text()[-500:]}")
            time.sleep(0.1)
    except BaseException:
        host.teardown()
        raise
    return host


def _host_side(host: SshdHost) -> None:
    home, user = host.home, host.user
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    (ssh_dir / "authorized_keys").write_text((host.dir / "id.pub").read_text())
    install_site(home / "site")
    (home / "bin").mkdir()
    wrapper = home / "bin" / "tmuxclaude"
    wrapper.write_text(f'#!/bin/sh\nexport PYTHONPATH={home}/site\nexec /usr/bin/python3 -m tmuxclaude "$@"\n')
    wrapper.chmod(0o755)
    shutil.copy(RECORDER, home / "recorder.py")
    (home / "records").mkdir()
    config = home / ".config" / "tmuxclaude" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        f'[commands]\nclaude = ["/usr/bin/python3", "{home}/recorder.py", "{home}/records"]\n'
        'nvim = ["nvim", "--clean", "--headless"]\n[ports]\nmin = 11401\nmax = 11499\n'
    )
    (home / ".gitconfig").write_text("[user]\n\tname = t\n\temail = t@example.com\n[init]\n\tdefaultBranch = main\n")
    repo = home / "src" / "shop"
    repo.mkdir(parents=True)
    (repo / "README.md").write_text("hello\n")
    run("chown", "-R", f"{user}:{user}", str(home))
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "init"]):
        run("runuser", "-u", user, "--", "env", f"HOME={home}", "git", *args, cwd=str(repo))
