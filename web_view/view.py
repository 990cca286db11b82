"""What the page shows, read from the twin: the last value and quality of every mirrored tag,
the active alarms and the recent events, the connection and its gaps. A read-only view: it
never writes to the twin's state."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from twin_core.state import ObservedState, PlantEvent, status_is_bad, status_is_good


def _plain(value: Any) -> Any:
    """A JSON value: datetimes as ISO text, non-finite numbers as None, other objects as text."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def quality(status: int) -> str:
    return "good" if status_is_good(status) else "bad" if status_is_bad(status) else "uncertain"


def _event(ev: PlantEvent) -> dict[str, Any]:
    return {"time": _plain(ev.time), "source": ev.source, "kind": ev.kind, "severity": ev.severity,
            "message": ev.message, "condition": ev.condition, "active": ev.active, "acked": ev.acked}


def state_doc(state: ObservedState, events_shown: int) -> dict[str, Any]:
    """The whole observed plant as one JSON-able document (sent to every page at once)."""
    values = {k: [_plain(o.value), quality(o.status)] for k, o in state.values.items()}
    events = list(state.events)[-events_shown:]
    alarms = [_event(a) for a in state.alarms.values() if a.active]
    return {"connected": state.connected, "values": values, "alarms": alarms,
            "events": [_event(e) for e in reversed(events)], "events_seen": state.events_seen,
            "gaps_seen": state.gaps_seen}


def state_json(state: ObservedState, events_shown: int) -> str:
    return json.dumps(state_doc(state, events_shown), separators=(",", ":"), allow_nan=False)
