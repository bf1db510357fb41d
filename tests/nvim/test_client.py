"""NvimClient against a real headless Neovim."""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest

from tests.helpers.waiting import aretry_until
from tests.nvim.nvim_helpers import NvimProc, connect_when_ready
from tmuxclaude.adapters.nvim import NvimClient, _parse_address
from tmuxclaude.errors import NvimError, NvimGone

pytestmark = pytest.mark.timeout(30)


async def test_connect_request_exec_lua(nvim: NvimClient, nvim_proc: NvimProc) -> None:
    assert nvim.channel_id > 0
    assert nvim.pid == nvim_proc.proc.pid
    assert await nvim.request("nvim_eval", "1 + 2") == 3
    assert await nvim.exec_lua("return {a = ..., b = {1, 2}}", "x") == {"a": "x", "b": [1, 2]}
    # Handles come back as plain ints (EXT types decoded), and ints are accepted back.
    buf = await nvim.request("nvim_get_current_buf")
    assert isinstance(buf, int)
    await nvim.request("nvim_buf_set_lines", buf, 0, -1, False, ["héllo"])
    assert await nvim.request("nvim_buf_get_lines", buf, 0, -1, False) == ["héllo"]


async def test_concurrent_requests(nvim: NvimClient) -> None:
    results = await asyncio.gather(*(nvim.request("nvim_eval", str(i)) for i in range(50)))
    assert results == list(range(50))


async def test_error_mapping(nvim: NvimClient) -> None:
    with pytest.raises(NvimError, match="E121"):
        await nvim.request("nvim_eval", "no_such_variable")
    with pytest.raises(NvimError, match="boom"):
        await nvim.exec_lua("error('boom')")
    # The connection is still fine afterwards.
    assert await nvim.request("nvim_eval", "1") == 1


async def test_request_timeout(nvim: NvimClient) -> None:
    with pytest.raises(NvimError, match="did not answer"):
        await nvim.request("nvim_command", "sleep 2", timeout=0.1)
    assert not nvim.closed


async def test_nvim_gone_mid_request(nvim: NvimClient, nvim_proc: NvimProc) -> None:
    pending = asyncio.ensure_future(nvim.request("nvim_command", "sleep 20", timeout=None))
    await asyncio.sleep(0)  # let the request go out before the kill
    nvim_proc.proc.kill()
    with pytest.raises(NvimGone):
        async with asyncio.timeout(5):
            await pending
    async with asyncio.timeout(5):
        await nvim.wait_closed()
    assert nvim.closed
    with pytest.raises(NvimGone):
        await nvim.request("nvim_eval", "1")
    with pytest.raises(NvimGone):
        nvim.notify("nvim_command", "echo 1")


async def test_connect_refused(tmp_path: object) -> None:
    with pytest.raises(NvimGone):
        await NvimClient.connect(f"{tmp_path}/nothing.sock", timeout=1)


async def test_notifications_and_requests_from_nvim(nvim_proc: NvimProc) -> None:
    got: list[tuple[str, list[object]]] = []
    seen = asyncio.Event()

    def on_notification(method: str, args: list[object]) -> None:
        got.append((method, args))
        seen.set()

    async def on_request(method: str, args: list[object]) -> object:
        if method == "fail":
            raise RuntimeError("nope")
        return {"method": method, "args": args}

    client = await connect_when_ready(nvim_proc.address, on_notification=on_notification, on_request=on_request)
    try:
        ch = client.channel_id
        client.notify("nvim_exec_lua", f"vim.rpcnotify({ch}, 'ev', 1, 'two')", [])
        async with asyncio.timeout(5):
            await seen.wait()
        assert got == [("ev", [1, "two"])]
        assert await client.exec_lua(f"return vim.rpcrequest({ch}, 'echo', 'a', 2)") == {
            "method": "echo",
            "args": ["a", 2],
        }
        with pytest.raises(NvimError, match="nope"):
            await client.exec_lua(f"return vim.rpcrequest({ch}, 'fail')")
    finally:
        await client.close()
    assert client.closed


async def test_oversized_message_closes(nvim: NvimClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # Lower the cap on this connection's unpacker rather than pushing 64 MiB through the test.
    import msgpack

    from tmuxclaude.adapters import nvim as mod

    nvim._unpacker = msgpack.Unpacker(
        raw=False, ext_hook=mod._ext_hook, max_buffer_size=1024 * 1024, max_str_len=512 * 1024
    )
    with pytest.raises(NvimGone):
        await nvim.exec_lua("return string.rep('x', 2 * 1024 * 1024)")
    assert nvim.closed


def test_parse_address() -> None:
    assert _parse_address("/tmp/nvim.sock") == "/tmp/nvim.sock"
    assert _parse_address("127.0.0.1:6666") == ("127.0.0.1", 6666)
    assert _parse_address("[::1]:7777") == ("::1", 7777)
    assert _parse_address("relative.sock") == "relative.sock"


async def test_tcp_address(tmp_path: object) -> None:
    import shutil
    import socket
    import subprocess

    nvim_bin = shutil.which("nvim")
    assert nvim_bin
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [nvim_bin, "--clean", "--headless", "-n", "--listen", f"127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = await aretry_until(
            lambda: NvimClient.connect(f"127.0.0.1:{port}", timeout=1), 10, "Neovim on TCP", retrying=(NvimGone,)
        )
        assert await client.request("nvim_eval", "40 + 2") == 42
        await client.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)


async def test_round_trip_latency(nvim: NvimClient) -> None:
    """Not a timed assertion: prints the median nvim_eval('1') round trip for the report."""
    for _ in range(20):
        await nvim.request("nvim_eval", "1")
    samples = []
    for _ in range(200):
        t0 = time.perf_counter()
        await nvim.request("nvim_eval", "1")
        samples.append(time.perf_counter() - t0)
    median_us = statistics.median(samples) * 1e6
    print(f"nvim_eval('1') median round trip over 200 calls: {median_us:.0f} us")
    assert median_us < 1_000_000
