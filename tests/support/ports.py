"""Ports for the few servers that cannot bind port 0 and report the port they got: a
third-party binary (victoria-metrics) and the twin's metrics endpoint, where 0 means "off".
Every other server in the tests binds port 0 (tests/support/opcua_harness.py,
tests/support/daemons.py).

A port found free can be taken by a parallel test before the server binds it, so the server is
started through `on_free_port`, which tries again on another port when the bind fails with
EADDRINUSE, and only then."""

from __future__ import annotations

import errno
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
ATTEMPTS = 5


class PortTaken(OSError):  # noqa: N818 (the errno it carries says it is an error)
    """The server could not bind the port it was given (another process took it first)."""

    def __init__(self, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"port {port} was taken before the server bound it")


def free_port() -> int:
    """A loopback port nobody listened on a moment ago (no guarantee it stays free)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def on_free_port(start: Callable[[int], T], attempts: int = ATTEMPTS) -> T:
    """`start(port)`'s result on the first port it could bind; `start` raises an OSError with
    EADDRINUSE (e.g. PortTaken) when it could not. Other errors are not retried."""
    for _ in range(attempts - 1):
        try:
            return start(free_port())
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
    return start(free_port())


async def on_free_port_async(start: Callable[[int], Awaitable[T]], attempts: int = ATTEMPTS) -> T:
    """`on_free_port` for a server started by a coroutine."""
    for _ in range(attempts - 1):
        try:
            return await start(free_port())
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
    return await start(free_port())
