"""What a served instance holds is acquired and released by one owner (controller/served.py): every step of
``open`` fails in turn and leaves nothing behind; every step of ``close`` fails in turn and the others still
run, the failure reported."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any, cast

import pytest

from tests.controller.fakes import FakeListener, FakeServer, World
from tmuxclaude.controller import served as served_module
from tmuxclaude.controller.ports import NvimPort
from tmuxclaude.controller.runtime import Runtime
from tmuxclaude.controller.served import ServedInstance
from tmuxclaude.model.config import IdeConfig
from tmuxclaude.model.instance import Instance

pytestmark = pytest.mark.unit


class Boom(Exception):
    pass


class BreakableServer(FakeServer):
    fail_start = False
    fail_close = False

    async def start(self, sock: Any) -> None:
        if BreakableServer.fail_start:
            raise Boom("start")
        await super().start(sock)

    async def close(self) -> None:
        await super().close()
        if BreakableServer.fail_close:
            raise Boom("close")


class FakeNvim:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.closed = False

    async def close(self) -> None:
        self.closed = True
        if self.fail:
            raise Boom("nvim close")


@pytest.fixture(autouse=True)
def _reset() -> None:
    BreakableServer.fail_start = BreakableServer.fail_close = False


def _world(w: World) -> tuple[Runtime, list[BreakableServer]]:
    made: list[BreakableServer] = []

    def factory(instance_id: str, token: str, config: IdeConfig) -> BreakableServer:
        made.append(BreakableServer(instance_id, token, config))
        return made[-1]

    w.rt.ports = replace(w.rt.ports, ide=factory)
    return w.rt, made


def _record(w: World, listener: FakeListener) -> Instance:
    inst = Instance(id="feedf00d", name="a", worktree=str(w.git.repo), repo=str(w.git.repo), branch="main",
                    port=listener.port, token="t" * 32, hook_token="h" * 24, created_at=1.0)  # fmt: skip
    w.rt.registry.put(inst)
    return inst


def _leftovers(w: World) -> list[str]:
    run = w.rt.ports.paths.runtime_dir
    files = sorted(p.name for p in run.iterdir()) if run.exists() else []
    return [*files, *(f"lock {p}" for p in w.locks.files), *(f"served {i}" for i in w.rt.served)]


def _no_lock_files(*args: object) -> None:
    raise Boom("hook files")


OPEN_STEPS = ["server start", "hook files", "lock file", "Neovim link"]


@pytest.mark.parametrize("step", OPEN_STEPS)
async def test_a_failing_open_step_leaves_nothing(w: World, step: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rt, made = _world(w)
    listener = w.net.bind_free_port(rt.config.ports.min, rt.config.ports.max, set())
    inst = _record(w, listener)
    if step == "server start":
        BreakableServer.fail_start = True
    elif step == "hook files":
        monkeypatch.setattr(served_module, "write_hook_files", _no_lock_files)
    elif step == "lock file":
        w.locks.fail_write.add(inst.port)
    else:

        def no_link(self: ServedInstance) -> None:
            raise Boom("link")

        monkeypatch.setattr(ServedInstance, "start_link", no_link)
    with pytest.raises((Boom, OSError)):
        await ServedInstance.open(rt, inst, listener)
    assert _leftovers(w) == []
    assert listener.closed
    assert all(server.closed for server in made if server.listener is not None)


CLOSE_STEPS = ["Neovim link", "IDE server", "lock file", "hook files"]


@pytest.mark.parametrize("step", CLOSE_STEPS)
async def test_a_failing_close_step_does_not_stop_the_others(
    w: World, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, made = _world(w)
    listener = w.net.bind_free_port(rt.config.ports.min, rt.config.ports.max, set())
    inst = _record(w, listener)
    served = await ServedInstance.open(rt, inst, listener, link=False)
    link = asyncio.get_running_loop().create_future()
    served.link = asyncio.ensure_future(link)
    nvim = FakeNvim(fail=step == "Neovim link")
    served.nvim = cast(NvimPort, nvim)  # only close() is called
    if step == "IDE server":
        BreakableServer.fail_close = True
    elif step == "lock file":
        w.locks.fail_remove.add(inst.port)
    elif step == "hook files":
        monkeypatch.setattr(served_module, "remove_hook_files", _no_lock_files)
    assert _leftovers(w) != []
    with pytest.raises(ExceptionGroup) as failed:
        await served.close()
    said = {"Neovim link": "nvim close", "IDE server": "close", "lock file": f"cannot remove lock {inst.port}"}
    assert [e.args[-1] for e in failed.value.exceptions] == [said.get(step, "hook files")]
    w.locks.fail_remove.clear()
    # Every other step ran: the link ended, Neovim and the server were closed, the lock and files went.
    assert served.link is None and nvim.closed and made[0].closed and listener.closed
    assert rt.served == {}
    if step != "lock file":
        assert w.locks.files == {}
    if step != "hook files":
        assert not any(p.startswith(inst.id) for p in _leftovers(w))


async def test_a_request_for_a_closed_instance_is_refused(w: World) -> None:
    rt, made = _world(w)
    listener = w.net.bind_free_port(rt.config.ports.min, rt.config.ports.max, set())
    inst = _record(w, listener)
    served = await ServedInstance.open(rt, inst, listener, link=False)
    on_http = made[0].on_http
    assert on_http is not None
    assert on_http("/tmuxclaude/hook?event=Stop", inst.hook_token)[0] == 204
    await served.close()
    assert on_http("/tmuxclaude/hook?event=Stop", inst.hook_token)[0] == 503
