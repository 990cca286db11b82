"""The line's changing state as one dataclass: its fields are listed once, here.

`LineModel` holds one of these as `self.state` (composition: the card flow, the machines'
meter and the sources read and write it; readers see it through `faces.LineFace`);
`snapshot_of` and `load_into` walk `fields(LineState)`, so a field added here is
snapshotted and restored without a second list to keep in step.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, fields
from typing import Any

from .calendar import ShiftMeter
from .cards import CardCounts, DedicatedPool, Pool, SharedPool
from .counters import LineCounters


@dataclass(eq=False)
class LineState:
    """Everything about the line (not its machines or random streams) that changes as it runs."""

    # flow
    pools: list[Pool | None]
    """Per stage, its kanban pool (None: the last stage, or a stage bounded by CONWIP only)."""
    carded: list[list[int]]
    """Per stage and product, production requests that hold their kanban and wait for input."""
    buf: list[list[int]]
    """Per stage and product, parts in the stage's output buffer (the last: finished stock)."""
    jobs: list[deque[int]]
    """Per station, the products of the jobs in its input queue."""
    raw: list[int]
    conwip_free: CardCounts
    conwip_cap: CardCounts
    tokens: list[list[int]]
    """BK-CONWIP demand tokens per stage and product."""
    backlog: list[deque[float]]
    """Per product, the order times of backorders."""
    recycle_queue: int
    recycle_end: float | None
    power_now: float
    peak_kw: float
    shift_plan: list[str | None]
    shift_meter: ShiftMeter
    next_order: list[float]
    next_raw: list[float]
    wip: list[int]
    fg_total: int
    life: dict[str, int]
    # statistics since the last reset
    count: LineCounters
    demand_n: list[int]
    delivered: list[int]
    lost: list[int]
    returned: list[int]
    scrapped: list[int]
    stats_t: float
    wip_area: list[float]
    wip_t: list[float]
    fg_area: float
    fg_t: float


STATE_FIELDS = tuple(f.name for f in fields(LineState))


def encode(value: Any) -> Any:
    """A state value as plain JSON-able data (copied, so the snapshot never aliases the model)."""
    if isinstance(value, CardCounts):
        return list(value.values)
    if isinstance(value, (DedicatedPool, SharedPool)):
        return value.state()
    if isinstance(value, ShiftMeter):
        return value.state()
    if isinstance(value, LineCounters):
        return value.as_dict()
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (list, deque)):
        return [encode(v) for v in value]
    return value


def decode(current: Any, data: Any) -> Any:
    """`data` (from `encode`) as a value of the kind `current` is; pools are restored in place."""
    if isinstance(current, CardCounts):
        current.values = list(data)
        return current
    if isinstance(current, (DedicatedPool, SharedPool)):
        current.restore(data)
        return current
    if isinstance(current, ShiftMeter):
        return ShiftMeter.from_state(data)
    if isinstance(current, LineCounters):
        return LineCounters.from_dict(data)
    if isinstance(current, dict):
        return dict(data)
    if isinstance(current, deque):
        return deque(data)
    if isinstance(current, list):
        return [decode(c, d) for c, d in zip(current, data, strict=True)] if _nested(current) else list(data)
    return data


def _nested(values: list[Any]) -> bool:
    """A list whose items are containers or pools (decoded item by item), not plain numbers."""
    return any(v is not None and not isinstance(v, (int, float, str)) for v in values)


def snapshot_of(holder: LineState) -> dict[str, Any]:
    """The fields of a line's state as plain data."""
    return {name: encode(getattr(holder, name)) for name in STATE_FIELDS}


def load_into(holder: LineState, data: dict[str, Any]) -> None:
    """Set the fields of a line's state from `snapshot_of` data (in place: the object the
    flow and the machines hold stays the same)."""
    for name in STATE_FIELDS:
        setattr(holder, name, decode(getattr(holder, name), data[name]))
