"""The plant calendar: which calendar hours the line works, and the two clocks.

The line model's SimPy clock counts *working* hours of the plant calendar. Both bundled
plants have a 24/7 calendar, so their clock is the calendar (both conversions are the
identity) and their stations follow shift plans (`shift_status`): orders keep arriving at
night and on Sundays while the machines are off. A plant whose calendar is not 24/7 has
its clock frozen off-shift. Runs are asked for in *calendar* hours ("9000 h, about a year"),
which this module converts. Shifts start at `shift_start` each working day; day 0 of week
0 is a Monday at 00:00.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .spec import Calendar, ShiftPlan

WEEK_H = 168.0
DAY_H = 24.0


@dataclass(frozen=True)
class PlantCalendar:
    hours_per_day: float
    days_per_week: int
    shift_start: float = 6.0

    @classmethod
    def from_spec(cls, c: Calendar) -> "PlantCalendar":
        start = 0.0 if c.hours_per_day >= 24 else min(6.0, DAY_H - c.hours_per_day)
        return cls(c.hours_per_day, c.days_per_week, start)

    @property
    def working_per_week(self) -> float:
        return self.hours_per_day * self.days_per_week

    @property
    def share(self) -> float:
        """Share of calendar time the line works."""
        return self.working_per_week / WEEK_H

    def to_working(self, calendar_h: float) -> float:
        """Working hours elapsed by calendar time `calendar_h`."""
        weeks, rest = divmod(calendar_h, WEEK_H)
        day, in_day = divmod(rest, DAY_H)
        worked = weeks * self.working_per_week + min(day, self.days_per_week) * self.hours_per_day
        if day < self.days_per_week:
            worked += min(max(in_day - self.shift_start, 0.0), self.hours_per_day)
        return worked

    def to_calendar(self, working_h: float) -> float:
        """The calendar time at which `working_h` working hours have elapsed."""
        weeks, rest = divmod(working_h, self.working_per_week)
        day, in_day = divmod(rest, self.hours_per_day)
        return weeks * WEEK_H + day * DAY_H + self.shift_start + in_day

    def is_working(self, calendar_h: float) -> bool:
        rest = calendar_h % WEEK_H
        day, in_day = divmod(rest, DAY_H)
        return day < self.days_per_week and self.shift_start <= in_day < self.shift_start + self.hours_per_day


def shift_status(plan: ShiftPlan, t: float) -> tuple[bool, float]:
    """Whether a station with `plan` works at working-clock time `t`, and when that next
    changes. Days are 24 h of the working clock; weeks are 7 such days."""
    day_n = math.floor(t / DAY_H)
    for k in range(8):
        day = day_n + k
        if day % 7 >= plan.days_per_week:
            continue
        start = day * DAY_H
        for a, b in plan.windows:
            if t < start + a:
                return False, start + a
            if t < start + b:
                return True, start + b
    raise ValueError("a shift plan with no working window")


@dataclass
class ShiftMeter:
    """Hours each station has been on shift since the last reset: the staffed hours labour
    is paid for, whatever its machines do outside the shift. A station without a shift plan
    works the plant calendar and counts as on shift throughout."""

    on: list[bool]
    hours: list[float]
    since: list[float]

    @classmethod
    def started(cls, n: int, now: float) -> "ShiftMeter":
        return cls([True] * n, [0.0] * n, [now] * n)

    def book(self, s: int, now: float, on: bool) -> None:
        """Station s is (from `now`) on shift or not."""
        if self.on[s]:
            self.hours[s] += now - self.since[s]
        self.since[s] = now
        self.on[s] = on

    def hours_until(self, now: float) -> list[float]:
        return [h + (now - t if on else 0.0) for h, t, on in zip(self.hours, self.since, self.on)]

    def reset(self, now: float) -> None:
        self.hours = [0.0] * len(self.hours)
        self.since = [now] * len(self.since)

    def state(self) -> dict[str, list[float] | list[bool]]:
        return {"on": list(self.on), "hours": list(self.hours), "since": list(self.since)}

    @classmethod
    def from_state(cls, d: dict[str, list[float] | list[bool]]) -> "ShiftMeter":
        return cls([bool(x) for x in d["on"]], [float(x) for x in d["hours"]], [float(x) for x in d["since"]])
