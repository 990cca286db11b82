"""The SimPy environment of a line model."""

from __future__ import annotations

from heapq import heappush

import simpy
from simpy.events import NORMAL

_new_event = object.__new__


class PlantEnv(simpy.Environment):
    """A SimPy environment that can schedule at an absolute time without rounding
    (`timeout(t - now)` would add float error to every timer of a long run)."""

    def at(self, t: float) -> simpy.Event:
        """A triggered event processed at time `t`, built without Event.__init__ (this is
        the model's hottest call; the fields are the ones simpy's Event.__init__ sets)."""
        ev = _new_event(simpy.Event)
        ev.env = self
        ev.callbacks = []
        ev._ok = True
        ev._value = None
        heappush(self._queue, (t, NORMAL, next(self._eid), ev))
        return ev
