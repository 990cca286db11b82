"""The SimPy environment of a line model."""

from __future__ import annotations

from heapq import heappush

import simpy
from simpy.events import NORMAL


class PlantEnv(simpy.Environment):
    """A SimPy environment that can schedule at an absolute time without rounding
    (`timeout(t - now)` would add float error to every timer of a long run)."""

    def at(self, t: float) -> simpy.Event:
        ev = simpy.Event(self)
        ev._ok = True
        ev._value = None
        heappush(self._queue, (t, NORMAL, next(self._eid), ev))
        return ev
