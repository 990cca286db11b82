"""The one way the tests wait: poll a predicate until it holds, with a deadline that fails
loudly, naming what was awaited (and, when given, what the test saw at the end).

The deadlines are generous on purpose: they guard against a hang, they do not measure speed,
so a loaded machine makes a test slower, never red. `wait_until` is for plain code (threads,
subprocesses); `until` is the same rule for coroutines (it sleeps on the event loop, so the
servers under test keep serving while it waits)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

T = TypeVar("T")

TIMEOUT_S = 60.0
"""The default deadline of a wait (a guard against a hang, not a speed requirement)."""
INTERVAL_S = 0.02


class Deadline:
    """`timeout` seconds from now on the monotonic clock, and the failure when it passes."""

    def __init__(self, timeout: float, what: str, detail: Callable[[], str] | None = None) -> None:
        self.end = time.monotonic() + timeout
        self.timeout, self.what, self.detail = timeout, what, detail

    def check(self) -> None:
        if time.monotonic() > self.end:
            self.fail()

    def fail(self) -> NoReturn:
        seen = f"\n{self.detail()}" if self.detail is not None else ""
        raise AssertionError(f"timed out after {self.timeout:g} s waiting for {self.what}{seen}")


def wait_until(predicate: Callable[[], T], timeout: float = TIMEOUT_S, what: str = "a condition",
               interval: float = INTERVAL_S, detail: Callable[[], str] | None = None) -> T:
    """`predicate()`'s first truthy result, polled every `interval` seconds; AssertionError
    naming `what` (and `detail()`) when `timeout` seconds pass first."""
    deadline = Deadline(timeout, what, detail)
    while True:
        got = predicate()
        if got:
            return got
        deadline.check()
        time.sleep(interval)


async def until(predicate: Callable[[], T | Awaitable[T]], timeout: float = TIMEOUT_S, what: str = "a condition",
                interval: float = INTERVAL_S, detail: Callable[[], str] | None = None) -> T:
    """`wait_until` for coroutines: `predicate` may be sync or async."""
    deadline = Deadline(timeout, what, detail)
    while True:
        got = predicate()
        if inspect.isawaitable(got):
            got = await got
        if got:
            return got  # type: ignore[return-value]
        deadline.check()
        await asyncio.sleep(interval)
