"""The tmux plugin as a user meets it: which keys it takes, what a key press reports, and that nothing a
directory name or a prompt answer holds is ever run (real tmux on a private socket, a real attached client)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.env import Env, ls_json
from tests.helpers.tty_client import Terminal, terminal_client
from tests.helpers.waiting import retry_until

pytestmark = pytest.mark.timeout(90)

PLUGIN = Path(__file__).resolve().parents[2] / "tmux" / "tmuxclaude.tmux"
PREFIX = "\x02"  # C-b, tmux's default prefix (the test server has no config)


def load_plugin(env: Env) -> None:
    env.tmux("run-shell", str(PLUGIN))


def messages(env: Env) -> str:
    """What clients were shown (tmux logs displayed messages, and every command, in show-messages)."""
    return "\n".join(line for line in env.tmux("show-messages").splitlines() if " message: " in line)


def pane_at(env: Env, path: Path) -> str:
    """A new window in the client's session whose shell sits in ``path``; it becomes the current one."""
    pane = env.tmux("new-window", "-P", "-F", "#{pane_id}", "-t", "main:", "-c", str(path))
    retry_until(lambda: env.tmux("display-message", "-p", "-t", pane, "#{pane_current_path}") == str(path), 10, "cwd")
    return pane


def press(env: Env, term: Terminal, *keys: str) -> None:
    """prefix A, then ``keys``: each one once tmux has taken the previous (bytes in one read would race ahead of
    the key table switch)."""
    term.type(PREFIX)
    retry_until(lambda: env.tmux("display-message", "-p", "#{client_key_table}") == "prefix", 5, "prefix table")
    term.type("A")
    retry_until(lambda: env.tmux("display-message", "-p", "#{client_key_table}") == "tmuxclaude", 5, "our table")
    for key in keys:
        term.type(key)


def answer(term: Terminal, prompt: str, text: str, since: int) -> None:
    retry_until(lambda: term.seen(prompt, since), 10, f"prompt {prompt!r}")
    term.type(text + "\r")


def test_default_key_is_free_and_tmux_defaults_are_kept(world: Env) -> None:
    env = world
    before_c = env.tmux("list-keys", "-T", "prefix", "C")
    load_plugin(env)
    assert "switch-client -T tmuxclaude" in env.tmux("list-keys", "-T", "prefix", "A")
    assert env.tmux("list-keys", "-T", "prefix", "C") == before_c  # customize-mode, tmux's own
    # Asked for explicitly, a default key is taken: the user chose it.
    env.tmux("set-option", "-g", "@tmuxclaude-key", "C")
    load_plugin(env)
    assert "switch-client -T tmuxclaude" in env.tmux("list-keys", "-T", "prefix", "C")
    assert env.tmux("list-keys", "-T", "prefix", "A", check=False) == ""  # the key it had before is given back


def test_a_users_binding_is_kept_and_they_are_told_once(world: Env) -> None:
    env = world
    env.tmux("bind-key", "A", "display-message", "mine")
    with terminal_client(env):
        load_plugin(env)
        assert env.tmux("list-keys", "-T", "prefix", "A") == "bind-key -T prefix A display-message mine"
        retry_until(lambda: "prefix A is already bound" in messages(env), 10, "the notice")
        assert "@tmuxclaude-key" in messages(env)
        load_plugin(env)  # a reloaded .tmux.conf does not nag again
        load_plugin(env)
        assert messages(env).count("prefix A is already bound") == 1
    assert env.tmux("list-keys", "-T", "prefix", "A") == "bind-key -T prefix A display-message mine"


def test_the_notice_waits_for_the_first_client(world: Env) -> None:
    """Loaded from .tmux.conf, before any client is attached: the first client to attach is told."""
    env = world
    env.tmux("bind-key", "A", "display-message", "mine")
    load_plugin(env)
    with terminal_client(env):
        retry_until(lambda: "prefix A is already bound" in messages(env), 10, "the notice on attach")
    assert "4217" not in env.tmux("show-hooks", "-g")  # the one-shot hooks removed themselves
    with terminal_client(env):
        assert messages(env).count("prefix A is already bound") == 1


def test_key_actions_report_output_and_errors_as_messages(world: Env, repo: Path) -> None:
    env = world
    load_plugin(env)
    outside = env.home / "plain"
    outside.mkdir()
    with terminal_client(env) as term:
        pane = pane_at(env, outside)
        since = term.mark()
        press(env, term, "k")
        answer(term, "kill this window's Claude instance?", "y", since)
        retry_until(lambda: "no instance for this pane or directory" in messages(env), 20, "error message")
        assert env.tmux("display-message", "-p", "-t", pane, "#{pane_in_mode}") == "0"  # no view mode
        pane = pane_at(env, repo)
        since = term.mark()
        press(env, term, "n")
        answer(term, "new worktree + branch:", "feat-k", since)
        retry_until(lambda: "started feat-k:" in messages(env), 30, "started message")
        assert env.tmux("display-message", "-p", "-t", pane, "#{pane_in_mode}") == "0"
        assert [i["name"] for i in ls_json(env)] == ["feat-k"]


def test_directory_names_and_prompt_answers_are_never_run(world: Env, repo: Path) -> None:
    """issue 11 finding 3: a directory named docs'$(...)' and a prompt answer y';...;' ran code as the user."""
    env = world
    load_plugin(env)
    hostile_dir = repo / "docs'$(cd;touch pwned-dir)'"
    hostile_dir.mkdir()
    markers = [env.home / f"pwned-{k}" for k in ("dir", "answer", "format", "quote", "percent")]

    def ran() -> list[str]:
        return [m.name for m in markers if m.exists()]

    with terminal_client(env) as term:
        pane_at(env, hostile_dir)
        press(env, term, "o")
        retry_until(lambda: "started main:" in messages(env) or ran(), 30, "open from the hostile directory")
        pane_at(env, repo)
        for key, prompt, text in (
            ("n", "new worktree + branch:", "y';cd;touch pwned-answer;'"),
            ("s", "send file[:L1-L2]:", "#(cd;touch pwned-format)"),
            ("s", "send file[:L1-L2]:", 'x" ; run-shell "cd;touch pwned-quote'),
            ("s", "send file[:L1-L2]:", "ends-with;"),
            # issue 17 finding 4: tmux 3.3a substituted a command-prompt answer twice; %%" broke out of the quotes.
            ("s", "send file[:L1-L2]:", 'p%%" ; run-shell "cd;touch pwned-percent" ; #(cd;touch pwned-percent)'),
            ("n", "new worktree + branch:", 'q%%%" ; run-shell "cd;touch pwned-percent'),
        ):
            since = term.mark()
            count = messages(env).count("tmuxclaude:")
            press(env, term, key)
            answer(term, prompt, text, since)
            replied = lambda count=count: messages(env).count("tmuxclaude:") > count or ran()  # noqa: E731
            retry_until(replied, 30, f"reply to {text!r}")
        log = messages(env)
    assert ran() == []
    assert ls_json(env)[0]["worktree"] == str(repo)  # the hostile directory's instance: its repo's
    # The answers reached the CLI as they were typed, and its replies were shown literally (# not expanded).
    assert "started y';cd;touch pwned-answer;'" in log or "y';cd;touch pwned-answer;'" in log
    assert "no such file" in log and "#(cd;touch pwned-format)" in log
    assert 'x" ; run-shell "cd;touch pwned-quote' in log
    assert any(line.endswith("/ends-with;") for line in log.splitlines())  # a reply ending in ; is shown whole
    # (show-messages logs a message through printf: its %% reads as % there.)
    assert 'p%" ; run-shell "cd;touch pwned-percent" ; #(cd;touch pwned-percent)' in log
