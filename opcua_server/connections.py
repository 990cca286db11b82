"""The rules of one connection, before any session: Hello, the secure channel's policy and
the size of chunks; and the peer's address for log lines. The asyncua classes that apply
them are in `_asyncua.channel`, `_asyncua.processor` and `_asyncua.transport`.

* Hello first and once, with buffers of at least 8192 bytes (Part 6, 7.1.2.3).
* Only offered security policies: asyncua falls back to its initial None policy when no
  offered policy matches, so a None channel opened on a secure-only server and served
  sessions. The one exception is discovery: a None channel on a server that does not offer
  None serves GetEndpoints and FindServers only (`discovery_only`), as Part 4 allows.
* A chunk is refused as soon as its header announces more than the negotiated buffer (8192
  bytes before Hello) or less than a header.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from asyncua import ua
from asyncua.crypto.security_policies import SecurityPolicy, SecurityPolicyNone

PEER: ContextVar[str] = ContextVar("PEER", default="local")
"""The address of the client whose request is being served, for log lines further down."""

MIN_BUFFER = 8192


def peer_text(name: Any) -> str:
    return f"{name[0]}:{name[1]}" if isinstance(name, tuple) and len(name) >= 2 else str(name)


def hello_refusal(receive_buffer: int, send_buffer: int) -> str | None:
    """Why a Hello is refused (BadTcpInternalError), or None when it may pass."""
    if receive_buffer < MIN_BUFFER or send_buffer < MIN_BUFFER:
        return f"Hello with buffers of {receive_buffer}/{send_buffer} bytes (at least {MIN_BUFFER})"
    return None


def select_policy(offered: Iterable[Any], uri: str, peer_certificate: bytes | None,
                  mode: ua.MessageSecurityMode | None) -> tuple[SecurityPolicy, bool]:
    """The channel's security policy among the `offered` factories, and whether the channel
    serves discovery only; raises BadSecurityPolicyRejected for a policy not offered."""
    for policy in offered:
        if policy.matches(uri, mode):
            return policy.create(peer_certificate), False
    if uri == SecurityPolicyNone.URI and mode in (None, ua.MessageSecurityMode.None_):
        return SecurityPolicyNone(), True
    raise ua.UaStatusCodeError(ua.StatusCodes.BadSecurityPolicyRejected)


def chunk_refused(size: int, limit: int) -> bool:
    """A chunk header announcing `size` bytes where at most `limit` are allowed."""
    return size > limit or size < 8
