"""The Neovim link on fakes (controller/nvim_link.py over a fake NvimConnector): the attach supervisor, the routing
of each decoded event to its own instance only, and requests to the command table. Milliseconds, no Neovim."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.controller.fakes import World, make_world, wire_commands
from tests.controller.nvim_fakes import Attach, FakeConnector, FakeNvim, RecordingServer
from tests.helpers.waiting import aretry_until
from tmuxclaude.controller import reconcile, spawn
from tmuxclaude.controller.runtime import ClientContext
from tmuxclaude.model.config import Config, IdeConfig, MultiInstanceConfig
from tmuxclaude.model.instance import Instance
from tmuxclaude.model.states import GLYPHS
from tmuxclaude.protocol.nvim_channel import (
    BufferEvent,
    CommandRequest,
    DiffEvent,
    Level,
    MentionEvent,
    Position,
    PreimageEvent,
    SelectionEvent,
)

pytestmark = pytest.mark.unit

T = TypeVar("T")


async def until(predicate: Callable[[], T | None], message: str) -> T:
    async def check() -> T | None:
        return predicate()

    return await aretry_until(check, 5, message, interval=0.005)


@pytest.fixture
async def linked(tmp_path: Path) -> AsyncIterator[tuple[World, FakeConnector]]:
    """A world whose Neovims attach through a fake connector, its IDE servers recording what they are pushed."""
    world = make_world(tmp_path, Config(ide=IdeConfig(debounce_ms=7)))
    connector = FakeConnector()
    world.rt.ports = replace(world.rt.ports, ide=RecordingServer, nvim=connector)
    wire_commands(world.rt)
    yield world, connector
    await reconcile.shutdown(world.rt)
    await world.rt.drain_background()


async def new(w: World, connector: FakeConnector, branch: str) -> tuple[Instance, Attach]:
    """A new instance, once its (fake) Neovim is attached."""
    await spawn.new(w.rt, branch, None, ClientContext(cwd=str(w.git.repo)), focus=False)
    inst = w.rt.registry.find(branch)
    assert inst is not None
    await until(lambda: w.rt.nvim(inst.id), f"{branch}'s Neovim attached")
    return inst, connector.last(inst.id)


def server(w: World, inst: Instance) -> RecordingServer:
    s = w.rt.served[inst.id].server
    assert isinstance(s, RecordingServer)
    return s


def nvim(call: Attach) -> FakeNvim:
    assert call.nvim is not None
    return call.nvim


# -- supervise / attach / re-attach -------------------------------------------------------------------------


async def test_attach_registers_the_neovim_with_its_instance(linked: tuple[World, FakeConnector]) -> None:
    w, connector = linked
    inst, call = await new(w, connector, "feat-a")
    assert (call.address, call.instance_id, call.name, call.worktree) == (
        inst.nvim_socket, inst.id, "feat-a", inst.worktree)  # fmt: skip
    assert call.debounce_ms == 7 and call.status == (inst.state.value, GLYPHS[inst.state])
    assert w.rt.nvim(inst.id) is nvim(call) and server(w, inst).nvim is nvim(call)
    assert nvim(call).comments == [[]]  # its (empty) comment list, pushed on attach
    current = w.rt.registry.get(inst.id)
    assert current is not None and current.nvim_pid == nvim(call).pid
    assert w.locks.files[inst.port]["neovimPid"] == nvim(call).pid  # the lock file names the Neovim


async def test_attach_is_retried_until_neovim_listens(linked: tuple[World, FakeConnector]) -> None:
    w, connector = linked
    connector.failures = 3
    inst, call = await new(w, connector, "feat-a")
    assert len([c for c in connector.calls if c.instance_id == inst.id]) == 4
    assert w.rt.nvim(inst.id) is nvim(call)


async def test_a_restarted_neovim_is_attached_again(linked: tuple[World, FakeConnector]) -> None:
    w, connector = linked
    inst, first = await new(w, connector, "feat-a")
    nvim(first).hang_up()
    second = await until(lambda: c if (c := connector.last(inst.id)) is not first else None, "attached again")
    await until(lambda: w.rt.nvim(inst.id) is nvim(second), "the new Neovim in use")
    assert server(w, inst).nvim is nvim(second)
    assert any("Neovim detached" in e for e in w.rt.events)
    current = w.rt.registry.get(inst.id)
    assert current is not None and current.nvim_pid == nvim(second).pid


async def test_killing_the_instance_detaches_its_neovim(linked: tuple[World, FakeConnector]) -> None:
    w, connector = linked
    inst, call = await new(w, connector, "feat-a")
    from tmuxclaude.controller import teardown

    await teardown.kill(w.rt, "feat-a", ClientContext(cwd=str(w.git.repo)), remove_worktree=False, force=False)
    assert nvim(call).closed and inst.id not in w.rt.served


# -- events go to the instance whose Neovim sent them, and only there ------------------------------------


SELECTION = SelectionEvent("x", "/w/a.py", "file:///w/a.py", Position(1, 0), Position(1, 1), False)


async def test_selection_and_diff_go_to_the_senders_server_only(linked: tuple[World, FakeConnector]) -> None:
    w, connector = linked
    a, call_a = await new(w, connector, "feat-a")
    b, _ = await new(w, connector, "feat-b")
    call_a.on_event(SELECTION)
    call_a.on_event(DiffEvent("d1", "tab", "accepted", "new text\n"))
    assert server(w, a).selections == [SELECTION.wire()]
    assert server(w, a).diffs == [{"type": "diff", "id": "d1", "tab_name": "tab", "outcome": "accepted",
                                   "contents": "new text\n"}]  # fmt: skip
    assert server(w, b).selections == [] and server(w, b).diffs == []


async def test_preimage_goes_to_the_senders_edit_tracker(
    linked: tuple[World, FakeConnector], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, connector = linked
    a, call_a = await new(w, connector, "feat-a")
    seen: list[tuple[str, str, bytes]] = []
    monkeypatch.setattr(w.rt.edits, "on_buffer_preimage", lambda iid, path, text: seen.append((iid, path, text)))
    call_a.on_event(PreimageEvent("/w/a.py", "before é\n"))
    assert seen == [(a.id, "/w/a.py", "before é\n".encode())]


async def test_mentions_go_to_the_named_instance_or_the_senders_own(linked: tuple[World, FakeConnector]) -> None:
    w, connector = linked
    a, call_a = await new(w, connector, "feat-a")
    b, _ = await new(w, connector, "feat-b")
    call_a.on_event(MentionEvent("/w/a.py", 2, 4, to="feat-b"))
    call_a.on_event(MentionEvent("/w/b.py"))
    assert server(w, b).mentions == [("/w/a.py", 2, 4)]
    assert server(w, a).mentions == [("/w/b.py", None, None)]
    assert nvim(call_a).errors == []


async def test_a_mention_to_an_unknown_instance_is_an_error_in_the_senders_neovim(
    linked: tuple[World, FakeConnector],
) -> None:
    w, connector = linked
    a, call_a = await new(w, connector, "feat-a")
    b, call_b = await new(w, connector, "feat-b")
    call_a.on_event(MentionEvent("/w/a.py", to="nope"))
    assert nvim(call_a).errors == ["tmuxclaude: no instance 'nope' (see :ClaudeCodeList)"]
    assert nvim(call_b).errors == []
    assert server(w, a).mentions == [] and server(w, b).mentions == []


async def test_buffer_of_another_worktree_starts_its_instance(tmp_path: Path) -> None:
    config = Config(multi_instance=MultiInstanceConfig(auto_start_for_worktree=True))
    w = make_world(tmp_path, config)
    connector = FakeConnector()
    w.rt.ports = replace(w.rt.ports, nvim=connector)
    wire_commands(w.rt)
    try:
        _, call_a = await new(w, connector, "feat-a")
        other = w.root / "repo-feat-z"
        other.mkdir()
        call_a.on_event(BufferEvent(str(other)))
        await until(lambda: w.rt.registry.by_worktree(str(other)), "the other worktree's instance")
        note = await until(lambda: nvim(call_a).notes, "the notice in the sender's Neovim")
        assert note == [(f"tmuxclaude: started instance repo-feat-z for {other}", Level.INFO)]
    finally:
        await reconcile.shutdown(w.rt)
        await w.rt.drain_background()


async def test_buffer_events_start_nothing_unless_configured(linked: tuple[World, FakeConnector]) -> None:
    w, connector = linked
    _, call_a = await new(w, connector, "feat-a")
    other = w.root / "repo-feat-z"
    other.mkdir()
    call_a.on_event(BufferEvent(str(other)))
    await w.rt.drain_background()
    assert [i.name for i in w.rt.registry] == ["feat-a"]


# -- requests ----------------------------------------------------------------------------------------------


async def test_a_request_runs_the_command_for_the_asking_instance(linked: tuple[World, FakeConnector]) -> None:
    w, connector = linked
    _, call_a = await new(w, connector, "feat-a")
    b, _ = await new(w, connector, "feat-b")
    assert call_a.on_request is not None
    listing: Any = await call_a.on_request(CommandRequest("list"))
    assert [line.split("]")[0].split("[")[-1] for line in listing.splitlines()] == ["feat-a", "feat-b"]
    assert await call_a.on_request(CommandRequest("kill", arg="feat-b")) == "feat-b"
    assert w.rt.registry.get(b.id) is None and [i.name for i in w.rt.registry] == ["feat-a"]
