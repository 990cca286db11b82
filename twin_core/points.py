"""How mirrored values, events and gaps become historian points (the layout is in docs/twin.md).

- `tag`: tag `path`; fields `value` (numbers and booleans as floats), or `text` (strings),
  and always `status` (the OPC UA status code, integer). A bad value without a value has
  only `status`: nothing older fills it in.
- `event`: tags `source`, `kind`, `type` (`event` or `alarm`); fields `severity`, `message`,
  and for alarms `active`, `acked` (0/1).
- `twin_connection`: tag `endpoint`; field `connected` (1/0) at the wall-clock time of the change.
- `twin_gap`: tag `endpoint`; fields `seconds` (length), `reason`, at the time the observation stopped.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from .historian.sink import Point
from .state import Gap, PlantEvent

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ns(t: datetime | None) -> int:
    if t is None:
        return time.time_ns()
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    delta = t - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def field_of(value: Any) -> tuple[str, float | str] | None:
    """The field a value goes to: ("value", number) or ("text", string); None for no value."""
    if value is None:
        return None
    if isinstance(value, bool | int | float):
        return "value", float(value)
    if hasattr(value, "Text"):
        return "text", str(value.Text or "")
    return "text", str(value)


def tag_point(path: str, value: Any, status: int, stamp: datetime | None) -> Point:
    fields: dict[str, float | int | str] = {"status": status}
    f = field_of(value)
    if f is not None:
        fields[f[0]] = f[1]
    return Point("tag", {"path": path}, fields, to_ns(stamp))


def event_point(ev: PlantEvent) -> Point:
    fields: dict[str, float | int | str] = {"severity": ev.severity, "message": ev.message}
    if ev.condition is not None:
        fields["active"] = float(bool(ev.active))
        fields["acked"] = float(bool(ev.acked))
    tags = {"source": ev.source, "kind": ev.kind, "type": "event" if ev.condition is None else "alarm"}
    return Point("event", tags, fields, to_ns(ev.time))


def connection_point(endpoint: str, connected: float) -> Point:
    return Point("twin_connection", {"endpoint": endpoint}, {"connected": connected}, time.time_ns())


def gap_point(endpoint: str, gap: Gap) -> Point:
    end = gap.end if gap.end is not None else time.time()
    return Point("twin_gap", {"endpoint": endpoint}, {"seconds": end - gap.start, "reason": gap.reason},
                 int(gap.start * 1e9))
