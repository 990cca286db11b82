"""The web view's limits over real HTTP on loopback (no plant needed: the state is empty and
nobody logs in): streams over `max_clients`, connections over `max_connections` and bodies
over `max_body_bytes` are refused with their status before any work, and an honest request
is served meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from plc_sim.model.spec import PlantSpec
from web_view.server import WebServer
from web_view.settings import WebSettings

pytestmark = [pytest.mark.web, pytest.mark.asyncio]


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, spec: PlantSpec, **overrides: float) -> AsyncIterator[WebServer]:
    settings = WebSettings(port=0, max_clients=2, max_connections=6, max_body_bytes=1024, **overrides)
    server = WebServer(settings, spec, lambda: None, "opc.tcp://127.0.0.1:1/plant", tmp_path / "users.json",
                       tmp_path / "history.sqlite", tmp_path / "audit.jsonl")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture
async def web(tmp_path: Path, gear_line: PlantSpec) -> AsyncIterator[WebServer]:
    """Patient with silent connections (60 s), so that a held socket stays for the test."""
    async with serving(tmp_path, gear_line, header_timeout_s=60, body_timeout_s=60) as server:
        yield server


@pytest_asyncio.fixture
async def strict(tmp_path: Path, gear_line: PlantSpec) -> AsyncIterator[WebServer]:
    async with serving(tmp_path, gear_line, header_timeout_s=0.5, body_timeout_s=0.5) as server:
        yield server


async def _open_stream(http: httpx.AsyncClient, stack: contextlib.AsyncExitStack) -> int:
    r = await stack.enter_async_context(http.stream("GET", "/api/stream"))
    return r.status_code


async def test_a_stream_over_max_clients_is_refused_and_the_page_is_still_served(web: WebServer) -> None:
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as http, contextlib.AsyncExitStack() as stack:
        codes = [await _open_stream(http, stack) for _ in range(3)]
        assert codes == [200, 200, 503]
        assert web.web.streams.refused == 1 and web.web.streams.clients == 2
        assert (await http.get("/api/state")).status_code == 200


async def test_connections_over_max_connections_get_503_before_any_work(web: WebServer) -> None:
    port = int(web.url.rsplit(":", 1)[1].strip("/"))
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(web.settings.max_connections)]
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as http:
        r = await http.get("/api/layout")
        assert r.status_code == 503
        for _reader, writer in held:
            writer.close()
            await writer.wait_closed()
        await until_served(http)


async def test_connections_that_send_no_request_are_closed_and_counted(strict: WebServer) -> None:
    web = strict
    port = int(web.url.rsplit(":", 1)[1].strip("/"))
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(web.settings.max_connections)]
    for reader, writer in held:
        assert await asyncio.wait_for(reader.read(), 30) == b"", "closed by the server"
        writer.close()
    assert web.closed_silent == web.settings.max_connections
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as http:
        await until_served(http)


async def test_a_body_that_does_not_arrive_in_time_is_refused_with_408(strict: WebServer) -> None:
    web = strict
    port = int(web.url.rsplit(":", 1)[1].strip("/"))
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as http:
        csrf = (await http.get("/")).cookies["plant_csrf"]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 f"Cookie: plant_csrf={csrf}\r\nX-CSRF-Token: {csrf}\r\nContent-Length: 100\r\n\r\n{{".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readline(), 30)
    writer.close()
    assert b" 408 " in head, head


async def until_served(http: httpx.AsyncClient, deadline_s: float = 30.0) -> None:
    """An honest request is served once the held connections are gone (the server sees the
    closes on its own schedule: polled with a deadline)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while (await http.get("/api/layout")).status_code != 200:
        assert loop.time() < end, "not served after the held connections closed"
        await asyncio.sleep(0.05)


async def test_a_body_over_max_body_bytes_is_refused_with_413(web: WebServer) -> None:
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as http:
        csrf = (await http.get("/")).cookies["plant_csrf"]
        headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
        r = await http.post("/api/login", content=b'{"user": "' + b"x" * 100_000 + b'"}', headers=headers)
        assert r.status_code == 413 and "1024 bytes" in r.json()["error"]
        r = await http.post("/api/login", content=b"[1, 2]", headers=headers)
        assert r.status_code == 400 and "JSON object" in r.json()["error"]
