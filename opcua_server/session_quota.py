"""Who may hold how many sessions: so that one client cannot take every slot and the engineer
always gets in.

asyncua counts sessions server-wide only: one client with one trusted certificate opening
anonymous sessions fills the server. Here:

* anonymous sessions are bounded per client certificate (SHA-1 thumbprint), per peer host
  and in all; `reserved_user_sessions` slots are never given to anonymous sessions, so a user
  who logs in with a password finds room however many anonymous sessions are open;
* sessions of one user name are bounded too (`max_sessions_per_user`), so one password
  cannot take the reserve;
* the identity is known only at ActivateSession, so CreateSession is only held to
  `max_sessions`: when the server is full, the oldest session never activated of the host
  holding most of them is closed to make room (an honest client activates at once; only a
  hoarder keeps sessions created and never activated), and only if there is none is the new
  one refused.

Every refusal is BadTooManySessions, logged through `refusals.warn`."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import UserRole

from . import refusals

log = logging.getLogger(__name__)

_closing: set[asyncio.Task[None]] = set()


class Held(Protocol):
    """What the quota reads of a session (`sessions.PlantSession` has it)."""

    host: str
    peer_certificate: bytes | None
    user: Any
    channel: Any
    auth_token: ua.NodeId
    opened: int

    def is_activated(self) -> bool: ...

    async def close_session(self, delete_subs: bool = True) -> None: ...


@dataclass(frozen=True)
class SessionQuota:
    max_sessions: int
    reserved_user_sessions: int
    per_certificate: int
    per_host: int
    per_user: int

    @classmethod
    def of(cls, settings: Any) -> SessionQuota:
        return cls(settings.max_sessions, settings.reserved_user_sessions, settings.max_sessions_per_certificate,
                   settings.max_sessions_per_host, settings.max_sessions_per_user)


def thumbprint(der: bytes | None) -> str | None:
    """The SHA-1 thumbprint of a DER certificate, as OPC UA names certificates."""
    return hashlib.sha1(der, usedforsecurity=False).hexdigest() if der else None


def anonymous(session: Held) -> bool:
    return bool(session.is_activated() and session.user is not None and session.user.role == UserRole.Anonymous)


def make_room(quota: SessionQuota, sessions: set[Any]) -> None:
    """Before CreateSession: room for one more session, closing the oldest never-activated
    session of the host holding most of them if the server is full; BadTooManySessions if
    every session is activated."""
    if len(sessions) < quota.max_sessions:
        return
    pending = [s for s in sessions if not s.is_activated()]
    if not pending:
        _refuse("refused CreateSession: %d sessions open, all activated", quota.max_sessions)
    busiest = Counter(s.host for s in pending).most_common(1)[0][0]
    victim = next(s for s in _oldest_first(pending) if s.host == busiest)
    refusals.warn(log, "closing session from %s never activated: the server is full (%d sessions)",
                  victim.host, quota.max_sessions)
    sessions.discard(victim)
    if victim.channel is not None:
        victim.channel.sessions.pop(victim.auth_token, None)
    task = asyncio.get_running_loop().create_task(victim.close_session(True))
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def check_activation(quota: SessionQuota, sessions: Iterable[Any], session: Held, user: str | None,
                     host: str, certificate: bytes | None) -> None:
    """Before ActivateSession of `session` as `user` (None: anonymous) from `host` with the
    channel's `certificate`: BadTooManySessions when that identity holds its share."""
    others = [s for s in sessions if s is not session and s.is_activated()]
    if user is not None:
        mine = sum(1 for s in others if not anonymous(s) and s.user is not None and s.user.name == user)
        if mine >= quota.per_user:
            _refuse("refused ActivateSession of %r from %s: %d sessions of that user open", user, host, mine)
        return
    anon = [s for s in others if anonymous(s)]
    share = quota.max_sessions - quota.reserved_user_sessions
    if len(anon) >= share:
        _refuse("refused anonymous ActivateSession from %s: %d anonymous sessions open (the other %d slots are "
                "kept for users)", host, len(anon), quota.reserved_user_sessions)
    if sum(1 for s in anon if s.host == host) >= quota.per_host:
        _refuse("refused anonymous ActivateSession from %s: %d anonymous sessions from that host", host,
                quota.per_host)
    cert = thumbprint(certificate)
    if cert is not None and sum(1 for s in anon if thumbprint(s.peer_certificate) == cert) >= quota.per_certificate:
        _refuse("refused anonymous ActivateSession from %s: %d anonymous sessions with certificate %s", host,
                quota.per_certificate, cert)


def _oldest_first(sessions: list[Any]) -> list[Any]:
    return sorted(sessions, key=lambda s: s.opened)


def _refuse(msg: str, *args: object) -> None:
    refusals.warn(log, msg, *args)
    raise ServiceError(ua.StatusCodes.BadTooManySessions)
