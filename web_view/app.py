"""The web view's HTTP face (Starlette): the page and its static files, the state as JSON and
as server-sent events, trends from the twin's history, the optimizer's runs, and the login and
actions of a logged-in user.

Everything a visitor reads is open; everything that changes something is a JSON POST with the
session's CSRF token in `X-CSRF-Token` (a login: the token of the `plant_csrf` cookie the page
got), under cookies that are HttpOnly and SameSite=Strict, so another site's page can neither
log in nor act in a user's name. A password is never taken from a URL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from twin_core.history import parse_since
from twin_core.state import ObservedState

from . import actions, sources
from .sessions import LoginRefusedError, Sessions, TooManySessionsError, WebSession
from .settings import WebSettings
from .stream import Broadcaster, TooManyClientsError
from .view import state_json

log = logging.getLogger(__name__)

SESSION_COOKIE = "plant_session"
CSRF_COOKIE = "plant_csrf"
CSRF_HEADER = "x-csrf-token"
STATIC = Path(str(files("web_view") / "static"))
_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@dataclass
class Sources:
    """Where the view reads: the twin's observed state (None until the twin is up), its
    history database, the optimizer's audit log, the plant's line and layout."""

    state: Callable[[], ObservedState | None]
    history_db: Path
    audit_log: Path
    line: str
    layout: dict[str, Any]


class WebApp:
    def __init__(self, settings: WebSettings, src: Sources, sessions: Sessions) -> None:
        self.settings = settings
        self.src = src
        self.sessions = sessions
        self.streams = Broadcaster(settings.max_clients, settings.client_queue)
        self._reads = asyncio.Semaphore(settings.max_reads)
        self.app = Starlette(routes=[
            Route("/", self.index), Route("/api/layout", self.layout), Route("/api/state", self.state),
            Route("/api/stream", self.stream), Route("/api/history", self.history), Route("/api/runs", self.runs),
            Route("/api/me", self.me), Route("/api/login", self.login, methods=["POST"]),
            Route("/api/logout", self.logout, methods=["POST"]), Route("/api/action", self.action, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static")])

    # --- what everyone reads ----------------------------------------------------------------

    def state_text(self) -> str:
        state = self.src.state()
        return state_json(state if state is not None else ObservedState(), self.settings.events_shown)

    async def index(self, request: Request) -> Response:
        response = FileResponse(STATIC / "index.html", headers=_HEADERS)
        if CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), httponly=False, samesite="strict")
        return response

    async def layout(self, request: Request) -> Response:
        return JSONResponse(self.src.layout, headers=_HEADERS)

    async def state(self, request: Request) -> Response:
        return Response(self.state_text(), media_type="application/json", headers=_HEADERS)

    async def stream(self, request: Request) -> Response:
        try:
            q = self.streams.subscribe(first=self.state_text())
        except TooManyClientsError:
            return _error(503, f"{self.settings.max_clients} pages are open (max_clients): try again later")
        return StreamingResponse(self.streams.messages(q), media_type="text/event-stream",
                                 headers={**_HEADERS, "X-Accel-Buffering": "no"})

    async def history(self, request: Request) -> Response:
        tag = request.query_params.get("tag", "")
        try:
            since_s = parse_since(request.query_params.get("since", "1h"))
        except ValueError as e:
            return _error(400, str(e))
        if not tag or len(tag) > 512:
            return _error(400, "tag: a tag path below Objects/Plant, joined by /")
        async with self._reads:
            try:
                points = await asyncio.to_thread(sources.trend, self.src.history_db, tag, since_s,
                                                 self.settings.history_max_points)
            except sources.UnknownTagError as e:
                return _error(404, str(e))
        return JSONResponse({"tag": tag, "points": points}, headers=_HEADERS)

    async def runs(self, request: Request) -> Response:
        async with self._reads:
            found = await asyncio.to_thread(sources.runs, self.src.audit_log, self.settings.runs_shown)
        return Response(json.dumps({"runs": found}, default=str), media_type="application/json", headers=_HEADERS)

    # --- logging in and acting --------------------------------------------------------------

    def _session(self, request: Request) -> WebSession | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE))

    async def me(self, request: Request) -> Response:
        s = self._session(request)
        doc = {"user": s.user, "role": s.role, "csrf": s.csrf} if s else {"user": None}
        return JSONResponse(doc, headers=_HEADERS)

    async def login(self, request: Request) -> Response:
        if "password" in request.query_params:
            return _error(400, "a password is never taken from a URL: send it in the request body")
        expected = request.cookies.get(CSRF_COOKIE)
        if not expected or not secrets.compare_digest(request.headers.get(CSRF_HEADER, ""), expected):
            return _error(403, "missing or wrong CSRF token: reload the page")
        body = await self._json(request)
        if isinstance(body, Response):
            return body
        try:
            session = await self.sessions.login(body.get("user"), body.get("password"))
        except LoginRefusedError as e:
            return _error(401, str(e))
        except TooManySessionsError as e:
            return _error(503, str(e))
        response = JSONResponse({"user": session.user, "role": session.role, "csrf": session.csrf}, headers=_HEADERS)
        response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="strict",
                            max_age=int(self.settings.session_idle_s))
        return response

    async def logout(self, request: Request) -> Response:
        session = self._session(request)
        if session is not None:
            if not secrets.compare_digest(request.headers.get(CSRF_HEADER, ""), session.csrf):
                return _error(403, "missing or wrong CSRF token")
            await self.sessions.logout(session.token)
        response = JSONResponse({"user": None}, headers=_HEADERS)
        response.delete_cookie(SESSION_COOKIE)
        return response

    async def action(self, request: Request) -> Response:
        session = self._session(request)
        if session is None:
            return _error(401, "log in first")
        if not secrets.compare_digest(request.headers.get(CSRF_HEADER, ""), session.csrf):
            return _error(403, "missing or wrong CSRF token")
        body = await self._json(request)
        if isinstance(body, Response):
            return body
        try:
            answer = await actions.run(session, self.src.line, body.get("action"), body.get("args", {}))
        except actions.ActionError as e:
            return _error(400, str(e))
        except actions.RefusedError as e:
            log.info("web view: %s of %s refused: %s", body.get("action"), session.user, e.status)
            return JSONResponse({"error": str(e), "status": e.status}, status_code=403, headers=_HEADERS)
        except (OSError, TimeoutError, ConnectionError) as e:
            await self.sessions.logout(session.token)
            return _error(401, f"the OPC UA session was lost ({type(e).__name__}): log in again")
        log.info("web view: %s ran %s: %s", session.user, body.get("action"), answer)
        return JSONResponse({"result": answer}, headers=_HEADERS)

    async def _json(self, request: Request) -> dict[str, Any] | Response:
        """The request's JSON object, or the error response (not JSON, too large)."""
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _error(415, "send application/json")
        size = 0
        chunks = []
        try:
            async with asyncio.timeout(self.settings.body_timeout_s):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > self.settings.max_body_bytes:
                        return _error(413, f"a request body takes at most {self.settings.max_body_bytes} bytes")
                    chunks.append(chunk)
        except TimeoutError:
            return _error(408, f"the request body did not arrive within {self.settings.body_timeout_s:g} s")
        try:
            doc = json.loads(b"".join(chunks))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "the body is not JSON")
        if not isinstance(doc, dict):
            return _error(400, "the body is a JSON object")
        return doc

    # --- pushing the state ------------------------------------------------------------------

    async def push(self) -> None:
        """Send the state to the open pages every `push_interval_s` (serialised once for all;
        nothing is built while no page is open)."""
        while True:
            await asyncio.sleep(self.settings.push_interval_s)
            if self.streams.clients:
                with contextlib.suppress(Exception):
                    self.streams.publish(self.state_text())


def _error(code: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=code, headers=_HEADERS)
