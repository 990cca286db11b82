"""Logged-in users of the web view: each login opens an OPC UA session of that user on the
plant's server, so the server checks the password against its own user store (and refuses a
wrong one as it refuses an HMI) and every later action runs with that user's role.

A session is a random cookie (HttpOnly, SameSite=Strict) with its own CSRF token, which every
request that changes something must echo in a header. No password is kept after the login."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from asyncua import Client, ua

from opcua_server.users import MAX_PASSWORD_LENGTH, UserStore, credential_problem

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
"""Seconds a login may take to open its OPC UA session (a server under load answers slower)."""


class LoginRefusedError(Exception):
    """A wrong user name or password, or a server that refused the session (the reason says which)."""


class TooManySessionsError(Exception):
    """`max_sessions` users are logged in."""


@dataclass
class WebSession:
    token: str
    user: str
    role: str
    csrf: str
    client: Client
    namespace: int
    last_used: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One call at a time per session (asyncua's client is not for concurrent callers)."""


def status_name(code: int) -> str:
    return str(ua.StatusCode(code).name)


class Sessions:
    """The logged-in users, at most `max_sessions`, each closed after `idle_s` unused."""

    def __init__(self, endpoint: str, users_file: Path, namespace_uri: str, max_sessions: int, idle_s: float) -> None:
        self.endpoint = endpoint
        self.users_file = users_file
        self.namespace_uri = namespace_uri
        self.max_sessions = max_sessions
        self.idle_s = idle_s
        self.refused_logins = 0
        self._by_token: dict[str, WebSession] = {}
        self._logging_in = 0

    def __len__(self) -> int:
        return len(self._by_token)

    async def login(self, user: object, password: object) -> WebSession:
        problem = credential_problem(user, password, MAX_PASSWORD_LENGTH)
        if problem is not None:
            self.refused_logins += 1
            raise LoginRefusedError(f"login refused: {problem}")
        assert isinstance(user, str) and isinstance(password, str)
        await self.expire()
        if len(self._by_token) + self._logging_in >= self.max_sessions:
            log.warning("web view: login of %s refused, %d users logged in (max_sessions)", user, len(self._by_token))
            raise TooManySessionsError(f"{self.max_sessions} users are logged in: try again later")
        self._logging_in += 1
        try:
            client, ns = await self._connect(user, password)
        finally:
            self._logging_in -= 1
        role = await asyncio.to_thread(self._role, user)
        session = WebSession(secrets.token_urlsafe(32), user, role, secrets.token_urlsafe(32), client, ns)
        self._by_token[session.token] = session
        log.info("web view: %s (%s) logged in", user, role)
        return session

    async def _connect(self, user: str, password: str) -> tuple[Client, int]:
        client = Client(self.endpoint, timeout=CONNECT_TIMEOUT_S)
        client.set_user(user)
        client.set_password(password)
        try:
            await client.connect()
            ns = await client.get_namespace_index(self.namespace_uri)
        except ua.UaStatusCodeError as e:
            self.refused_logins += 1
            with contextlib.suppress(Exception):
                await client.disconnect()
            log.info("web view: login of %s refused by the server (%s)", user, status_name(e.code))
            raise LoginRefusedError(f"wrong user name or password ({status_name(e.code)})") from None
        except (OSError, TimeoutError, ValueError) as e:
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise LoginRefusedError(f"the plant's server did not answer ({type(e).__name__}: {e})") from None
        return client, ns

    def _role(self, user: str) -> str:
        try:
            return UserStore(self.users_file).role(user) or "viewer"
        except (OSError, ValueError):
            return "viewer"

    def get(self, token: str | None) -> WebSession | None:
        session = self._by_token.get(token or "")
        if session is None:
            return None
        if time.monotonic() - session.last_used > self.idle_s:
            return None
        session.last_used = time.monotonic()
        return session

    async def logout(self, token: str | None) -> None:
        session = self._by_token.pop(token or "", None)
        if session is not None:
            log.info("web view: %s logged out", session.user)
            await _close(session)

    async def expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, s in self._by_token.items() if now - s.last_used > self.idle_s]:
            await _close(self._by_token.pop(token))

    async def close_all(self) -> None:
        sessions, self._by_token = list(self._by_token.values()), {}
        await asyncio.gather(*(_close(s) for s in sessions))


async def _close(session: WebSession) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(session.client.disconnect(), 5.0)
