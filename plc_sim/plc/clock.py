"""The PLC's two clocks: plant time (the plant calendar, `PLANT_EPOCH` + calendar hours,
scaled by the time factor) and wall-clock time for source timestamps, which never goes back
and is never in the future."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

PLANT_EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
"""Calendar hour 0 of every plant: a Monday, 00:00 UTC."""

_lock = threading.Lock()
_last = datetime.min.replace(tzinfo=UTC)


def wall_clock() -> datetime:
    """Now (UTC), monotonic: a system clock stepped back repeats the latest stamp rather than
    go back in time."""
    global _last
    with _lock:
        now = datetime.now(UTC)
        if now > _last:
            _last = now
        return _last
