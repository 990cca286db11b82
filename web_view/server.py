"""The web view served by uvicorn on the event loop it is started from (`plant up`'s), beside
the PLC and the twin. uvicorn's own signal handling is off: the process's owner decides the
order of stopping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Generator
from pathlib import Path

import uvicorn

from plc_sim.model.spec import PlantSpec
from twin_core.state import ObservedState

from .app import Sources, WebApp
from .layout import line_layout
from .sessions import Sessions
from .settings import WebSettings

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class WebServer:
    """The web view: `await start()` binds and serves, `url` then names it, `await stop()` ends it."""

    def __init__(self, settings: WebSettings, spec: PlantSpec, state: Callable[[], ObservedState | None],
                 endpoint: str, users_file: Path, history_db: Path, audit_log: Path,
                 namespace_uri: str = "urn:plant-twin:plant") -> None:
        self.settings = settings
        sessions = Sessions(endpoint, users_file, namespace_uri, settings.max_sessions, settings.session_idle_s)
        self.web = WebApp(settings, Sources(state, history_db, audit_log, spec.line, line_layout(spec)), sessions)
        config = uvicorn.Config(self.web.app, host=settings.host, port=settings.port, log_level="warning",
                                lifespan="off", access_log=False, timeout_graceful_shutdown=2,
                                limit_concurrency=settings.max_connections)
        self._server = _Server(config)
        self._tasks: list[asyncio.Task[None]] = []
        self.url = ""
        self.closed_silent = 0
        """Connections closed for sending no request head in time (counted, logged)."""

    async def start(self) -> str:
        """Serve; the URL it listens at (OSError when the port is taken)."""
        serving = asyncio.create_task(self._server.serve(), name="web-view")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while not self._server.started:
            if serving.done():
                serving.result()
                raise OSError(f"the web view could not listen on {self.settings.host}:{self.settings.port}")
            if loop.time() > deadline:
                serving.cancel()
                raise TimeoutError(f"the web view did not start within {START_TIMEOUT_S:g} s")
            await asyncio.sleep(0.02)
        self._tasks = [serving, asyncio.create_task(self.web.push(), name="web-push"),
                       asyncio.create_task(self._close_silent(), name="web-reaper")]
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://{self.settings.host}:{port}/"
        log.info("web view at %s", self.url)
        return self.url

    async def _close_silent(self) -> None:
        """Close connections that sent no request head within `header_timeout_s`. uvicorn's
        protocol objects (`server_state.connections`) have `cycle` None until a request's head
        has arrived, and keep-alive connections have their own timeout after a response."""
        timeout = self.settings.header_timeout_s
        seen: dict[int, float] = {}
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, timeout / 4))
            now, alive = loop.time(), set()
            for conn in list(self._server.server_state.connections):
                key = id(conn)
                alive.add(key)
                if getattr(conn, "cycle", None) is not None:
                    continue
                if now - seen.setdefault(key, now) > timeout:
                    self.closed_silent += 1
                    log.info("web view: closed a connection that sent no request in %.0f s", timeout)
                    conn.transport.close()
            seen = {k: t for k, t in seen.items() if k in alive}

    async def stop(self) -> None:
        """End the streams, the server and the users' OPC UA sessions."""
        self.web.streams.close()
        self._server.should_exit = True
        if self._tasks:
            serving, *helpers = self._tasks
            for task in helpers:
                task.cancel()
            try:
                await asyncio.wait_for(serving, STOP_TIMEOUT_S)
            except (TimeoutError, SystemExit):
                serving.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
        await self.web.sessions.close_all()
        log.info("web view stopped")
