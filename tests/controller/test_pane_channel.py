"""The pane channel on fakes (controller/pane_channel.py): one token check, then each request does what it says
to this instance only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.controller.fakes import World
from tests.helpers.waiting import aretry_until
from tmuxclaude.controller import spawn
from tmuxclaude.controller.runtime import ClientContext
from tmuxclaude.model.instance import Instance, InstanceState

pytestmark = pytest.mark.unit


async def two(w: World) -> tuple[Instance, Instance]:
    client = ClientContext(cwd=str(w.git.repo))
    await spawn.new(w.rt, "a", None, client, focus=False)
    await spawn.new(w.rt, "b", None, client, focus=False)
    a, b = w.rt.registry.ordered()
    return a, b


def ask(w: World, inst: Instance, target: str, token: str | None = None) -> int:
    on_http = w.rt.served[inst.id].server.on_http
    assert on_http is not None
    return on_http(target, inst.hook_token if token is None else token)[0]


def state(w: World, inst: Instance) -> InstanceState:
    current = w.rt.registry.get(inst.id)
    assert current is not None
    return current.state


async def test_hooks_move_only_their_instance_and_record_the_conversation(w: World) -> None:
    a, b = await two(w)
    assert ask(w, a, "/tmuxclaude/hook?event=UserPromptSubmit&session=conv-a") == 204
    assert state(w, a) is InstanceState.BUSY and state(w, b) is InstanceState.IDLE
    assert w.tmux.wins[a.window_id].options["state"] == "busy"
    assert ask(w, a, "/tmuxclaude/hook?event=Notification") == 204
    assert state(w, a) is InstanceState.WAITING and any("a is waiting" in m for m in w.tmux.messages)
    assert ask(w, a, "/tmuxclaude/hook?event=Stop") == 204
    assert state(w, a) is InstanceState.IDLE
    current = w.rt.registry.get(a.id)
    assert current is not None and current.claude_session_id == "conv-a"


async def test_refusals(w: World) -> None:
    a, b = await two(w)
    assert ask(w, a, "/tmuxclaude/hook?event=UserPromptSubmit", token=b.hook_token) == 403
    assert ask(w, a, "/tmuxclaude/hook?event=UserPromptSubmit", token="") == 403
    assert ask(w, a, "/tmuxclaude/nothing") == 404
    assert ask(w, a, "/tmuxclaude/hook?event=Stop&session=--settings=x") == 400
    assert state(w, a) is InstanceState.IDLE


async def test_an_exit_report_makes_it_exited_with_what_claude_said(w: World) -> None:
    a, _ = await two(w)
    w.tmux.screens[a.claude_pane] = ["", " Unable to connect to Anthropic services", ""]
    assert ask(w, a, "/tmuxclaude/exit?status=1&elapsed=2") == 204
    current = w.rt.registry.get(a.id)
    assert current is not None and current.state is InstanceState.EXITED
    assert current.exit is not None and current.exit.headline == "Unable to connect to Anthropic services"
    assert any("Unable to connect" in m for m in w.tmux.messages)
    # A late hook of the old Claude does not bring it back; a Claude starting in its pane does.
    assert ask(w, a, "/tmuxclaude/hook?event=Stop") == 204 and state(w, a) is InstanceState.EXITED
    assert ask(w, a, "/tmuxclaude/hook?event=SessionStart") == 204 and state(w, a) is InstanceState.IDLE


async def test_the_pane_keys_run_through_the_injected_dispatch(w: World) -> None:
    a, _ = await two(w)
    ran: list[tuple[str, dict[str, Any], ClientContext]] = []

    async def dispatch(cmd: str, args: dict[str, Any], client: ClientContext) -> Any:
        ran.append((cmd, args, client))

    w.rt.dispatch = dispatch
    assert ask(w, a, "/tmuxclaude/restart") == 202
    assert ask(w, a, "/tmuxclaude/kill") == 202

    async def both_ran() -> bool:
        return len(ran) == 2

    await aretry_until(both_ran, 5, "the two key commands")
    assert [(c, args["ref"], client.pane) for c, args, client in ran] == [
        ("resume", a.id, a.claude_pane),
        ("kill", a.id, a.claude_pane),
    ]
    # The restart key is only offered by an exited Claude's pane: its lost exit report is made up for.
    assert state(w, a) is InstanceState.EXITED
