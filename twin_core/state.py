"""The observed plant: the last value of every mirrored tag with its status code and
timestamps, the recent events, the alarm conditions and the gaps in observation.

Quality is kept as the server sent it: a value with a bad or uncertain status is stored
with that status (and a bad value is stored as the server sent it, usually no value at
all), never replaced by the last good one; `good_value()` is how a reader asks for a value
it may trust."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

EVENTS_KEPT = 1000
"""Recent events kept in memory (all of them go to the historian)."""
GAPS_KEPT = 100
"""Recent gaps kept in memory (`gaps_seen` counts them all)."""


def status_is_good(code: int) -> bool:
    return (code & 0xC0000000) == 0


def status_is_bad(code: int) -> bool:
    return (code & 0x80000000) != 0


@dataclass(frozen=True, slots=True)
class Observed:
    """One tag's last notification."""

    value: Any
    status: int
    source_time: datetime | None
    server_time: datetime | None
    received: float
    """Wall-clock time (time.time()) the twin received it."""

    @property
    def good(self) -> bool:
        return status_is_good(self.status)


@dataclass(frozen=True, slots=True)
class PlantEvent:
    time: datetime | None
    source: str
    kind: str
    severity: int
    message: str
    condition: str | None = None
    active: bool | None = None
    acked: bool | None = None


@dataclass
class Gap:
    """A stretch without observation: from the loss of the connection to the recovery."""

    start: float
    end: float | None = None
    reason: str = ""


@dataclass
class ObservedState:
    values: dict[str, Observed] = field(default_factory=dict)
    events: deque[PlantEvent] = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))
    events_seen: int = 0
    alarms: dict[str, PlantEvent] = field(default_factory=dict)
    gaps: deque[Gap] = field(default_factory=lambda: deque(maxlen=GAPS_KEPT))
    gaps_seen: int = 0
    connected: bool = False

    def update(self, path: str, obs: Observed) -> None:
        self.values[path] = obs

    def good_value(self, path: str, default: Any = None) -> Any:
        """The tag's value when its status is good; `default` otherwise (never an older value)."""
        obs = self.values.get(path)
        return obs.value if obs is not None and obs.good else default

    def add_event(self, ev: PlantEvent) -> None:
        self.events.append(ev)
        self.events_seen += 1
        if ev.condition is not None:
            self.alarms[ev.source] = ev

    def open_gap(self, at: float, reason: str) -> Gap:
        if self.gaps and self.gaps[-1].end is None:
            return self.gaps[-1]
        self.connected = False
        gap = Gap(at, None, reason)
        self.gaps.append(gap)
        self.gaps_seen += 1
        return gap

    def close_gap(self, at: float) -> Gap | None:
        self.connected = True
        if self.gaps and self.gaps[-1].end is None:
            self.gaps[-1].end = at
            return self.gaps[-1]
        return None

    def under(self, prefix: str) -> dict[str, Observed]:
        """The tags below a path, keyed by the rest of their path."""
        n = len(prefix) + 1
        return {k[n:]: v for k, v in self.values.items() if k.startswith(prefix + "/")}
