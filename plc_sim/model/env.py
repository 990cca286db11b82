"""The SimPy environment of a line model."""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.events import NORMAL, PENDING, URGENT

_new_event = object.__new__


class PlantEnv(simpy.Environment):
    """A SimPy environment that can schedule at an absolute time without rounding
    (`timeout(t - now)` would add float error to every timer of a long run), and that runs
    to a time with simpy's `step()` inlined (the event loop is the model's hottest code)."""

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

    def event(self) -> simpy.Event:
        """A pending event, as simpy's `event()` makes it, without the bound-class call."""
        ev = _new_event(simpy.Event)
        ev.env = self
        ev.callbacks = []
        ev._value = PENDING
        return ev

    def run(self, until: Any = None) -> Any:
        """`simpy.Environment.run`; a numeric `until` takes the inlined loop `_run_to`."""
        if until is None or isinstance(until, simpy.Event):
            return super().run(until)
        at = until if isinstance(until, int) else float(until)
        if at <= self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        self._run_to(at)
        return None

    def _run_to(self, at: float) -> None:
        """What `run(until=at)` does, event for event: the stop event is scheduled the same
        way (urgent, at now + (at - now), so the clock ends on the same float), and each
        event's callbacks run and a failed event that no one defused crashes the run as in
        `step()`. The stop event is recognised by identity instead of raising StopSimulation."""
        stop = _new_event(simpy.Event)
        stop.env = self
        stop.callbacks = []
        stop._ok = True
        stop._value = None
        queue = self._queue
        heappush(queue, (self._now + (at - self._now), URGENT, next(self._eid), stop))
        pop = heappop
        while True:
            self._now, _, _, ev = pop(queue)
            callbacks, ev.callbacks = ev.callbacks, None  # type: ignore[assignment]
            if ev is stop:
                return
            for callback in callbacks:
                callback(ev)
            if not ev._ok and not hasattr(ev, "_defused"):
                exc = type(ev._value)(*ev._value.args)
                exc.__cause__ = ev._value
                raise exc
