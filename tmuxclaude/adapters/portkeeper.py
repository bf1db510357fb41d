"""The port keeper: a tiny process of the user's that holds a duplicate of every instance's listening socket, so an
instance's port is never free while its Claude may connect to it (docs/threat-model.md, "another local user").

The controller hands each new listening socket to the keeper (SCM_RIGHTS over a SOCK_SEQPACKET unix socket in the
private runtime dir) and a (re)started controller takes them back. While no controller runs (``daemon stop``, a
crash, SIGKILL, an upgrade), the sockets stay bound and listening in the keeper: Claude's reconnects wait in the
listen backlog for the next controller, and no other uid can bind the port. The keeper never accepts. It drops a
socket when the instance is killed and exits when it holds none, or when its socket file is gone (its runtime dir
was removed). Both ends check the other's uid (SO_PEERCRED) before anything else.

The hand-over runs on one worker thread, off the path of ``tmuxclaude new``: with no instance left the keeper has
exited, and starting one is a Python start-up (about 100 ms) the new Claude's pane would otherwise wait for.
Hold, get and drop run on that thread in the order asked (a port's drop follows its hold); ``kept`` waits for what
was queued before it.

Wire format: one datagram per message, a JSON object, the sockets as ancillary data.
``{"op": "hold", "port": N}`` + 1 fd -> ``{"ok": true}``; ``{"op": "drop", "port": N}`` -> ``{"ok": true}``;
``{"op": "get", "port": N}`` -> ``{"port": N}`` + its fd;
``{"op": "take"}`` -> one or more ``{"ports": [...], "more": bool}`` each with the fds of those ports.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import logging
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tmuxclaude.adapters import netports
from tmuxclaude.adapters.peercred import peer_uid

__all__ = ["KeeperError", "KeptPorts", "keeper_socket", "main"]

log = logging.getLogger(__name__)

MAX_MESSAGE = 65536
FDS_PER_MESSAGE = 200
"""The kernel passes at most 253 descriptors in one message (SCM_MAX_FD)."""
TIMEOUT = 3.0
START_TIMEOUT = 10.0
IDLE_CHECK = 1.0
"""Seconds between the keeper's looks at its own socket file (gone: the runtime dir was removed, exit)."""
START_GRACE = 30.0
"""A keeper that was started and never given a socket exits after this long."""


class KeeperError(OSError):
    """The keeper cannot be reached, or is not ours."""


def keeper_socket(runtime_dir: Path) -> Path:
    return runtime_dir / "portkeeper.sock"


def _require_own(sock: socket.socket, what: str) -> None:
    """Fail closed: a peer whose uid cannot be read, or is not ours, is refused."""
    uid = peer_uid(sock)
    if uid != os.getuid():
        raise KeeperError(f"{what} is run by uid {uid}, not by you; refusing it")


def _send(sock: socket.socket, obj: dict[str, Any], fds: Sequence[int] = ()) -> None:
    data = json.dumps(obj).encode()
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.send(data)


def _recv(sock: socket.socket, maxfds: int = 0) -> tuple[dict[str, Any], list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, maxfds)
    if not data:
        for fd in fds:
            os.close(fd)
        raise KeeperError("the port keeper closed the connection")
    try:
        obj = json.loads(data)
    except ValueError as exc:
        for fd in fds:
            os.close(fd)
        raise KeeperError(f"bad message from the port keeper: {exc}") from exc
    if not isinstance(obj, dict):
        for fd in fds:
            os.close(fd)
        raise KeeperError("bad message from the port keeper")
    return obj, fds


# -- the controller's side ------------------------------------------------------------------------------------


class KeptPorts:
    """A ``PortBinder`` whose sockets are held by the port keeper too (``controller.ports.PortBinder``).

    ``take()`` at start-up receives the keeper's sockets; ``bind_port`` hands one of those back when it holds the
    port (``kept(port)`` then says so), else binds anew and gives the keeper a duplicate. Without a keeper (it
    could not be started) binding works as before; ``kept`` is then False and the caller must not trust the port.
    """

    def __init__(self, runtime_dir: Path) -> None:
        self.path = keeper_socket(runtime_dir)
        self._taken: dict[int, socket.socket] = {}
        self._kept: set[int] = set()
        # One worker: hold, drop and get reach the keeper in the order they were asked for.
        self._ops = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="portkeeper")

    # The keeper connection: one short exchange per operation (they are rare: new, kill, start-up).

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.settimeout(TIMEOUT)
        try:
            sock.connect(str(self.path))
            _require_own(sock, f"port keeper at {self.path}")
        except OSError:
            sock.close()
            raise
        return sock

    def _start(self) -> None:
        """Start a keeper: we bind its socket (so there is no race with its start-up) and pass it on."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ready_r, ready_w = os.pipe()
        try:
            server.bind(str(self.path))
            os.chmod(self.path, 0o600)
            # The keeper calls listen() itself: a client's SO_PEERCRED then names the keeper, not us.
            subprocess.Popen(
                [sys.executable, "-m", "tmuxclaude.adapters.portkeeper", str(server.fileno()), str(ready_w)],
                pass_fds=(server.fileno(), ready_w),
                start_new_session=True,  # outlives the controller and its process group
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
                cwd="/",
            )
            os.close(ready_w)
            ready_w = -1
            ready, _, _ = select.select([ready_r], [], [], START_TIMEOUT)
            if not ready or os.read(ready_r, 1) != b"1":
                raise KeeperError("the port keeper did not start")
        finally:
            server.close()
            os.close(ready_r)
            if ready_w >= 0:
                os.close(ready_w)

    def _exchange(self, obj: dict[str, Any], fds: Sequence[int] = (), *, start: bool = False) -> dict[str, Any]:
        try:
            sock = self._connect()
        except OSError:
            if not start:
                raise
            self._start()
            sock = self._connect()
        with sock:
            _send(sock, obj, fds)
            reply, extra = _recv(sock)
            for fd in extra:
                os.close(fd)
            return reply

    def take(self) -> set[int]:
        """Receive every socket the keeper holds (a running keeper only; none is started). The ports."""
        try:
            sock = self._connect()
        except OSError as exc:
            log.info("no port keeper to take sockets from (%s)", exc)
            return set()
        with sock:
            _send(sock, {"op": "take"})
            while True:
                reply, fds = _recv(sock, FDS_PER_MESSAGE)
                ports = reply.get("ports") or []
                for port, fd in zip(ports, fds, strict=False):
                    held = socket.socket(fileno=fd)
                    held.setblocking(False)
                    self._taken[int(port)] = held
                for fd in fds[len(ports) :]:
                    os.close(fd)
                if not reply.get("more"):
                    break
        self._kept |= set(self._taken)
        return set(self._taken)

    def kept(self, port: int) -> bool:
        """The keeper held this port all along (handed back by ``take``, or bound and handed over by us)."""
        self._ops.submit(lambda: None).result()  # after the hand-overs asked for before
        return port in self._kept

    def _hold(self, sock: socket.socket) -> socket.socket:
        """Return ``sock`` at once; a duplicate goes to the keeper on the worker (the caller may close its own)."""
        port = int(sock.getsockname()[1])
        dup = os.dup(sock.fileno())
        try:
            self._ops.submit(self._hand_over, port, dup)
        except BaseException:
            os.close(dup)
            raise
        return sock

    def _hand_over(self, port: int, fd: int) -> None:
        try:
            self._exchange({"op": "hold", "port": port}, [fd], start=True)
        except OSError as exc:
            log.warning("port keeper unavailable (%s): port %s is held by the controller only", exc, port)
            self._kept.discard(port)
        else:
            self._kept.add(port)
        finally:
            os.close(fd)

    def bind_port(self, port: int) -> socket.socket:
        taken = self._taken.pop(port, None)
        if taken is not None:
            return taken
        if self.kept(port):
            # Served before by this controller and closed since (orphaned, then restored): the keeper has it.
            got = self._ops.submit(self._get, port).result()
            if got is not None:
                return got
            self._kept.discard(port)
        return self._hold(netports.bind_port(port))

    def _get(self, port: int) -> socket.socket | None:
        try:
            sock = self._connect()
        except OSError:
            return None
        with sock:
            _send(sock, {"op": "get", "port": port})
            reply, fds = _recv(sock, 1)
            if reply.get("port") != port or len(fds) != 1:
                for fd in fds:
                    os.close(fd)
                return None
            held = socket.socket(fileno=fds[0])
            held.setblocking(False)
            return held

    def bind_free_port(self, low: int, high: int, skip: set[int]) -> socket.socket:
        return self._hold(netports.bind_free_port(low, high, skip | set(self._taken)))

    def release(self, port: int) -> None:
        """The instance on ``port`` is gone for good: the keeper lets the port go (after its hold, if that is still
        on its way)."""
        taken = self._taken.pop(port, None)
        if taken is not None:
            taken.close()
        self._ops.submit(self._drop, port).result()

    def _drop(self, port: int) -> None:
        self._kept.discard(port)
        try:
            self._exchange({"op": "drop", "port": port})
        except OSError as exc:
            log.debug("port keeper: drop %s: %s", port, exc)

    def release_unused(self, keep: set[int]) -> list[int]:
        """After start-up: drop what the keeper held for ports no record names any more."""
        gone = [p for p in self._taken if p not in keep]
        for port in gone:
            self.release(port)
        return gone


# -- the keeper process -------------------------------------------------------------------------------------------


def _serve(server: socket.socket) -> None:
    path = server.getsockname()
    identity = os.stat(path)
    held: dict[int, socket.socket] = {}
    server.settimeout(IDLE_CHECK)
    started = time.monotonic()
    ever_held = False
    while True:
        if (ever_held and not held) or (not ever_held and time.monotonic() - started > START_GRACE):
            with contextlib.suppress(OSError):
                st = os.stat(path)
                if (st.st_ino, st.st_dev) == (identity.st_ino, identity.st_dev):
                    os.unlink(path)  # still ours: no socket file of a keeper that is gone
            return
        try:
            st = os.stat(path)
        except OSError:
            return
        if (st.st_ino, st.st_dev) != (identity.st_ino, identity.st_dev):
            return  # another keeper took the path over
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        except OSError:
            time.sleep(0.1)
            continue
        with conn:
            conn.settimeout(TIMEOUT)
            try:
                _require_own(conn, "port keeper client")
                ever_held |= _answer(conn, held)
            except (OSError, ValueError):
                continue


def _answer(conn: socket.socket, held: dict[int, socket.socket]) -> bool:
    request, fds = _recv(conn, 1)
    op = request.get("op")
    port = request.get("port")
    if op == "hold" and isinstance(port, int) and len(fds) == 1:
        new = socket.socket(fileno=fds[0])
        old = held.pop(port, None)
        if old is not None:
            old.close()
        held[port] = new
        _send(conn, {"ok": True})
        return True
    for fd in fds:
        os.close(fd)
    if op == "drop" and isinstance(port, int):
        old = held.pop(port, None)
        if old is not None:
            old.close()
        _send(conn, {"ok": True})
    elif op == "get" and isinstance(port, int):
        sock = held.get(port)
        _send(conn, {"port": port if sock else None}, [sock.fileno()] if sock else [])
    elif op == "take":
        items = list(held.items())
        for k in range(0, max(len(items), 1), FDS_PER_MESSAGE):
            chunk = items[k : k + FDS_PER_MESSAGE]
            more = k + FDS_PER_MESSAGE < len(items)
            _send(conn, {"ports": [p for p, _ in chunk], "more": more}, [s.fileno() for _, s in chunk])
    else:
        _send(conn, {"ok": False})
    return False


def main(argv: Sequence[str]) -> int:
    server = socket.socket(fileno=int(argv[0]))
    server.listen(16)
    os.write(int(argv[1]), b"1")
    os.close(int(argv[1]))
    with contextlib.suppress(KeyboardInterrupt):
        _serve(server)
    return 0


if __name__ == "__main__":  # pragma: no cover - the keeper process
    sys.exit(main(sys.argv[1:]))
