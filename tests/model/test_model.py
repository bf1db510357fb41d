"""Pure model: config parsing, naming, registry rules, states."""

from __future__ import annotations

import pytest

from tmuxclaude.errors import ConfigError
from tmuxclaude.model.config import Config, NamingConfig
from tmuxclaude.model.instance import Instance, InstanceState, Registry
from tmuxclaude.model.naming import NameParts, clean_name, instance_name
from tmuxclaude.model.states import next_state, summary_text


def test_defaults_and_full_config() -> None:
    assert Config.from_dict({}) == Config()
    c = Config.from_dict(
        {
            "multi_instance": {"enabled": False, "max_instances": 3},
            "commands": {"claude": "claude --model x", "claude_env": {"HTTPS_PROXY": "http://p"}},
            "limits": {"idle_minutes": 1, "busy_timeout_s": 2},
        }
    )
    assert c.effective_max_instances == 1
    assert c.commands.claude == ["claude", "--model", "x"]
    assert c.limits.idle_minutes == 1.0 and isinstance(c.limits.idle_minutes, float)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nope": {}}, "unknown config section 'nope'"),
        ({"multi_instance": {"max_instanses": 3}}, "multi_instance.max_instanses"),
        ({"multi_instance": {"max_instances": "3"}}, "multi_instance.max_instances"),
        ({"multi_instance": {"enabled": 1}}, "multi_instance.enabled"),
        ({"multi_instance": {"max_instances": 0}}, "max_instances"),
        ({"instance_naming": {"format": "emoji"}}, "instance_naming.format"),
        ({"ports": {"min": 5000, "max": 10}}, "ports.min"),
        ({"commands": {"claude_env": {"A": 1}}}, "commands.claude_env"),
        ({"commands": {"claude": []}}, "commands.claude"),
        ({"multi_instance": 3}, "multi_instance"),
    ],
)
def test_bad_config_names_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        Config.from_dict(data)


def test_naming() -> None:
    parts = NameParts(repo="app", branch="feat/x y", worktree="app-feat-x", n=2)
    assert instance_name(NamingConfig("worktree"), parts) == "app-feat-x"
    assert instance_name(NamingConfig("branch"), parts) == "feat/x-y"
    assert instance_name(NamingConfig("custom", "{repo}[{n}]"), parts) == "app-2"
    assert instance_name(NamingConfig("custom", "m:f"), parts, lambda spec: lambda **kw: "X" + kw["repo"]) == "Xapp"
    with pytest.raises(ConfigError):
        instance_name(NamingConfig("custom", "{nope}"), parts)
    assert clean_name("  ") == "instance"


def inst(i: int, name: str) -> Instance:
    return Instance(
        id=f"id{i}", name=name, worktree=f"/w/{name}", repo="/w", branch=name, port=10000 + i, token="t",
        created_at=float(i), window_id=f"@{i}", claude_pane=f"%{i}",
    )  # fmt: skip


def test_registry_find_order_and_round_trip() -> None:
    reg = Registry([inst(2, "b"), inst(1, "a")])
    assert [i.name for i in reg.ordered()] == ["a", "b"]
    assert reg.find("2").name == "b" and reg.find("a").id == "id1" and reg.find("id2").name == "b"  # type: ignore[union-attr]
    assert reg.find("9") is None and reg.find("zz") is None
    assert reg.by_pane_or_window("%2").name == "b"  # type: ignore[union-attr]
    assert reg.unique_name("a") == "a-2" and reg.unique_name("c") == "c"
    again = Registry.from_dict(reg.to_dict())
    assert again.ordered() == reg.ordered()
    with pytest.raises(ValueError):
        Registry.from_dict({"version": 99})


def test_states_and_summary() -> None:
    assert next_state(InstanceState.IDLE, "UserPromptSubmit") is InstanceState.BUSY
    assert next_state(InstanceState.BUSY, "Notification") is InstanceState.WAITING
    assert next_state(InstanceState.WAITING, "PostToolUse") is InstanceState.BUSY
    assert next_state(InstanceState.BUSY, "Stop") is InstanceState.IDLE
    assert next_state(InstanceState.PAUSED, "UserPromptSubmit") is InstanceState.PAUSED
    assert next_state(InstanceState.IDLE, "Bogus") is InstanceState.IDLE
    assert summary_text([]) == ""
    s = [InstanceState.IDLE, InstanceState.BUSY, InstanceState.WAITING, InstanceState.IDLE]
    assert summary_text(s) == "✻4 1◆ 1● 2○"


def test_names_keep_letters_of_any_script_and_stay_tmux_safe() -> None:
    assert clean_name("wt-ß") == "wt-ß"
    assert clean_name("café") == clean_name("cafe\u0301") == "café"  # decomposed or not: one letter
    assert clean_name("фича/日本") == "фича/日本"
    assert clean_name("x#(touch X)'$y;{z}") == "x-touch-X-y-z"
    assert clean_name("//a//b//") == "a/b"


def test_unique_names_are_repo_qualified_across_repos() -> None:
    from tmuxclaude.model.naming import unique_name

    assert unique_name("main", set(), repo="shop") == "main"
    assert unique_name("main", {"main"}, repo="shop") == "shop/main"
    assert unique_name("main", {"main", "shop/main"}, repo="shop") == "shop/main-2"
    assert unique_name("main", {"main"}) == "main-2"


def repo_inst(i: int, repo: str, branch: str, name: str, main: bool = False) -> Instance:
    worktree = f"/p/{repo}" if main else f"/p/{repo}-{branch}"
    return Instance(
        id=f"id{i}", name=name, worktree=worktree, repo=f"/p/{repo}", branch=branch, port=10000 + i, token="t",
        created_at=float(i),
    )  # fmt: skip


def test_find_by_repo_and_repo_branch_and_ambiguity() -> None:
    from tmuxclaude.errors import InstanceError

    reg = Registry(
        [
            repo_inst(1, "myapp", "main", "main", main=True),
            repo_inst(2, "shop", "main", "shop/main", main=True),
            repo_inst(3, "shop", "feat", "feat"),
            repo_inst(4, "blog", "a", "a"),
            repo_inst(5, "blog", "b", "b"),
        ]
    )
    assert reg.find("main").id == "id1"  # type: ignore[union-attr]
    assert reg.find("shop/main").id == "id2" and reg.find("myapp/main").id == "id1"  # type: ignore[union-attr]
    assert reg.find("shop/feat").id == "id3" and reg.find("shop").id == "id2"  # type: ignore[union-attr]
    assert reg.find("myapp").id == "id1"  # type: ignore[union-attr]
    with pytest.raises(InstanceError, match="'blog' is ambiguous: a, b"):
        reg.find("blog")
    assert reg.find("nope") is None
