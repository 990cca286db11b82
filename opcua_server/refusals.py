"""Refusals logged at a bounded rate: one line per kind of refusal per interval, with the
count of those left out.

A hostile client can have thousands of requests refused a second; each one logged would
fill the disk (and bury the line that matters). Every refusal path of the server logs through
`warn`: the first refusal of a kind (its format string) in an interval is logged with its
details, the others are counted, and the next one logged after the interval says how many
were left out. `RateLimitFilter` does the same for asyncua's own loggers (it logs one line
per ServiceFault it sends)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

_ASYNCUA_LOGGERS = ("asyncua.server.uaprocessor", "asyncua.server.address_space",
                    "asyncua.server.binary_server_asyncio", "asyncua.server.internal_server")


class RefusalLimiter:
    """Which refusals to log: at most one per key per `interval_s`; the rest counted."""

    def __init__(self, interval_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._left_out: dict[str, int] = {}
        self.suppressed = 0
        """Refusals counted and not logged so far (all kinds)."""

    def admit(self, key: str) -> int | None:
        """None: do not log this one (counted). Otherwise log it, noting the returned count of
        the same kind left out since the last line."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval_s:
                self._left_out[key] = self._left_out.get(key, 0) + 1
                self.suppressed += 1
                return None
            self._last[key] = now
            return self._left_out.pop(key, 0)

    def forget(self) -> None:
        """Log the next refusal of every kind (tests that look for a line start with this)."""
        with self._lock:
            self._last.clear()
            self._left_out.clear()


LIMITER = RefusalLimiter()
"""The process's limiter (its interval is the server's `refusal_log_interval_s`)."""


def configure(interval_s: float) -> None:
    """Set the interval and rate-limit asyncua's per-request log lines too."""
    LIMITER.interval_s = interval_s
    for name in _ASYNCUA_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RateLimitFilter) for f in logger.filters):
            logger.addFilter(RateLimitFilter(LIMITER))


def warn(log: logging.Logger, msg: str, *args: object) -> None:
    """`log.warning(msg, *args)` unless a refusal of the same kind was logged within the interval."""
    left_out = LIMITER.admit(f"{log.name}:{msg}")
    if left_out is None:
        return
    if left_out:
        log.warning(msg + " (and %d more like it left out of the log)", *args, left_out)
    else:
        log.warning(msg, *args)


class RateLimitFilter(logging.Filter):
    """A logging filter that lets through one record per logger and format string per
    interval; the one let through notes how many were left out. Tracebacks are dropped:
    the line names the exception, the log stays bounded."""

    def __init__(self, limiter: RefusalLimiter) -> None:
        super().__init__()
        self.limiter = limiter

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        left_out = self.limiter.admit(f"{record.name}:{record.msg}")
        if left_out is None:
            return False
        if record.exc_info and record.exc_info[1] is not None:
            shown = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"[:200].replace("%", "%%")
            record.msg = f"{record.msg} [{shown}]"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        if left_out:
            record.msg = f"{record.msg} (and {left_out} more like it left out of the log)"
        return True
