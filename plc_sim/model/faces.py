"""Read-only faces of the line's and a machine's state: `LineModel` holds its changing state
as `self.state` (a `LineState`) and `Machine` as `self.rec` (a `MachineRecord`); these
mixins give readers (KPIs, observation, the tag map, the PLC's interlocks: the members of
`view.LineView` / `view.MachineView`) the fields as read-only properties. The model's own
code reads and writes the state object directly; nothing here holds a copy of it.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from .calendar import ShiftMeter
from .cards import CardCounts, Pool
from .counters import LineCounters
from .vocab import MachineState

if TYPE_CHECKING:
    from .machine import MachineRecord
    from .state import LineState


class LineFace:
    """The `LineState` fields of `self.state`, read-only."""

    state: LineState

    @property
    def pools(self) -> list[Pool | None]:
        return self.state.pools

    @property
    def carded(self) -> list[list[int]]:
        return self.state.carded

    @property
    def buf(self) -> list[list[int]]:
        return self.state.buf

    @property
    def jobs(self) -> list[deque[int]]:
        return self.state.jobs

    @property
    def raw(self) -> list[int]:
        return self.state.raw

    @property
    def conwip_free(self) -> CardCounts:
        return self.state.conwip_free

    @property
    def conwip_cap(self) -> CardCounts:
        return self.state.conwip_cap

    @property
    def tokens(self) -> list[list[int]]:
        return self.state.tokens

    @property
    def backlog(self) -> list[deque[float]]:
        return self.state.backlog

    @property
    def power_now(self) -> float:
        return self.state.power_now

    @property
    def peak_kw(self) -> float:
        return self.state.peak_kw

    @property
    def shift_plan(self) -> list[str | None]:
        return self.state.shift_plan

    @property
    def shift_meter(self) -> ShiftMeter:
        return self.state.shift_meter

    @property
    def wip(self) -> list[int]:
        return self.state.wip

    @property
    def fg_total(self) -> int:
        return self.state.fg_total

    @property
    def life(self) -> dict[str, int]:
        return self.state.life

    @property
    def count(self) -> LineCounters:
        return self.state.count

    @property
    def demand_n(self) -> list[int]:
        return self.state.demand_n

    @property
    def delivered(self) -> list[int]:
        return self.state.delivered

    @property
    def lost(self) -> list[int]:
        return self.state.lost

    @property
    def returned(self) -> list[int]:
        return self.state.returned

    @property
    def scrapped(self) -> list[int]:
        return self.state.scrapped

    @property
    def stats_t(self) -> float:
        return self.state.stats_t

    @property
    def wip_area(self) -> list[float]:
        return self.state.wip_area

    @property
    def wip_t(self) -> list[float]:
        return self.state.wip_t

    @property
    def fg_area(self) -> float:
        return self.state.fg_area

    @property
    def fg_t(self) -> float:
        return self.state.fg_t


class MachineFace:
    """The `MachineRecord` fields that readers use, of `self.rec`, read-only."""

    rec: MachineRecord

    @property
    def state(self) -> MachineState:
        return self.rec.state

    @property
    def done(self) -> int:
        return self.rec.done

    @property
    def good(self) -> int:
        return self.rec.good

    @property
    def ideal_h(self) -> float:
        return self.rec.ideal_h

    @property
    def p_now(self) -> float:
        return self.rec.p_now

    @property
    def last_cycle_h(self) -> float:
        return self.rec.last_cycle_h

    @property
    def last_part_kwh(self) -> float:
        return self.rec.last_part_kwh

    @property
    def speed_pct(self) -> float:
        return self.rec.speed_pct

    @property
    def standby_timeout_h(self) -> float:
        return self.rec.standby_timeout_h

    @property
    def off_shift_mode(self) -> str:
        return self.rec.off_shift_mode

    @property
    def weight(self) -> float:
        return self.rec.weight

    @property
    def failed(self) -> bool:
        return self.rec.failed

    @property
    def in_maint(self) -> bool:
        return self.rec.in_maint

    @property
    def maint_due(self) -> bool:
        return self.rec.maint_due

    @property
    def stopped(self) -> bool:
        return self.rec.stopped

    @property
    def off_shift(self) -> bool:
        return self.rec.off_shift

    @property
    def asleep(self) -> bool:
        return self.rec.asleep

    @property
    def waking(self) -> bool:
        return self.rec.waking

    @property
    def wear(self) -> float:
        return self.rec.wear

    @property
    def job(self) -> int | None:
        return self.rec.job
