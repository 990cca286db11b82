"""Password logins: checked off the event loop (scrypt takes tens of milliseconds) and
throttled per user name and per host, so that guessing costs the guesser, not the server."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable

from asyncua import ua
from asyncua.common.utils import ServiceError

from plc_sim.plc.checks import clip

from . import refusals
from .users import credential_problem

log = logging.getLogger(__name__)


class LoginThrottle:
    """At most `max_failures` wrong passwords per user name and host, and `HOST_FACTOR` times
    that per host, within `window_s`; past that, attempts are refused without checking the
    password until the window moves on. Keyed by host as well as name, so that a guesser
    elsewhere cannot lock a user out, and one user's typos do not lock out the others on a
    shared host (every client behind a gateway shares its address)."""

    HOST_FACTOR = 4

    def __init__(self, max_failures: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self.refused = 0
        """Attempts refused without a check (for tests and metrics)."""

    def _recent(self, key: str) -> int:
        q = self._failures.get(key)
        if q is None:
            return 0
        horizon = self._clock() - self.window_s
        while q and q[0] < horizon:
            q.popleft()
        if not q:
            del self._failures[key]
            return 0
        return len(q)

    def allowed(self, host: str, user: str) -> bool:
        ok = (self._recent(f"{user}@{host}") < self.max_failures
              and self._recent(f"host:{host}") < self.max_failures * self.HOST_FACTOR)
        if not ok:
            self.refused += 1
        return ok

    def failed(self, host: str, user: str) -> None:
        now = self._clock()
        self._failures[f"{user}@{host}"].append(now)
        self._failures[f"host:{host}"].append(now)


def refuse_malformed(name: object, password: object, max_length: int, peer: str) -> None:
    """BadIdentityTokenInvalid for credentials no user can have (empty, over-long, NUL; a
    token that is not UTF-8 fails earlier, at decryption), before any hashing."""
    problem = credential_problem(name, password, max_length)
    if problem is not None:
        refusals.warn(log, "refused login of %r from %s: %s", clip(name, 64), peer, problem)
        raise ServiceError(ua.StatusCodes.BadIdentityTokenInvalid)


async def check_password(verify: Callable[[str, str], str | None], name: str, password: str) -> str | None:
    """`verify(name, password)` in a worker thread: the event loop keeps serving meanwhile."""
    return await asyncio.to_thread(verify, name, password)


def refuse_clear_password(name: str, encrypted_token: bool, encrypted_channel: bool, peer: str) -> None:
    """A password sent in clear on an unencrypted channel: BadIdentityTokenInvalid."""
    if not encrypted_token and not encrypted_channel:
        refusals.warn(log, "refused login of %r from %s: password in clear on an unencrypted channel", clip(name, 64), peer)
        raise ServiceError(ua.StatusCodes.BadIdentityTokenInvalid)


async def check_login(throttle: LoginThrottle, verify: Callable[[str, str], str | None], host: str, peer: str,
                      name: str, password: str) -> tuple[str, str, str | None]:
    """(name, password, role) of a right password, checked off the event loop and throttled;
    raises BadUserAccessDenied (wrong or throttled)."""
    if not throttle.allowed(host, name):
        refusals.warn(log, "refused login of %r from %s: too many wrong passwords, try again later", clip(name, 64), peer)
        raise ServiceError(ua.StatusCodes.BadUserAccessDenied)
    role = await check_password(verify, name, password)
    if role is None:
        throttle.failed(host, name)
        refusals.warn(log, "refused login of %r from %s: wrong user name or password", clip(name, 64), peer)
        raise ServiceError(ua.StatusCodes.BadUserAccessDenied)
    return name, password, role
