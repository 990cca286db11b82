"""Online estimators of the plant's parameters, with 95 % intervals, from the stream of
mirrored tag values:

- processing time per station (working hours): each new `CycleTime` of a machine that did
  not break down during the job; normal mean with a Student-t interval. The PLC publishes
  no product per machine, so products are pooled per station (the estimate is the mean of
  the product mix made);
- time between failures and time to repair per machine (working hours): from `State`
  transitions into and out of `down`; mean with a Student-t interval, which holds for any
  distribution with enough samples (the interval still running is censored and left out);
- scrap rate per machine: (PartsDone - GoodParts) / PartsDone, Wilson interval;
- return rate: returns per delivered part (KPIs Rn / FG), Wilson interval;
- demand rate (orders per working hour, all products): KPIs D over the observed span,
  exact Poisson interval.

Times come from the notifications' source timestamps, turned into the plant's calendar
hours through the `KPIs/PlantTime` tag and into working hours by the plant calendar.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from scipy import stats

import plant_tags as tags
from plc_sim.model.calendar import PlantCalendar
from plc_sim.model.private_files import write_private
from plc_sim.model.spec import Dist, PlantSpec
from plc_sim.model.vocab import MACHINE_STATUSES

from .state import Observed

log = logging.getLogger(__name__)

MIN_SAMPLES = 5
"""Samples an estimate needs before it replaces the plant file's value in the twin's model."""
SAMPLES_KEPT = 10_000
"""Per estimator: a running sum is kept, the samples list only up to this many (for tests)."""


class Estimate(BaseModel):
    mean: float
    low: float
    high: float
    n: int
    unit: str = ""

    def covers(self, x: float) -> bool:
        return self.low <= x <= self.high


@dataclass
class _Sample:
    n: int = 0
    s: float = 0.0
    ss: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        self.s += x
        self.ss += x * x

    def normal(self, unit: str) -> Estimate | None:
        if self.n < 2:
            return None
        mean = self.s / self.n
        var = max((self.ss - self.n * mean * mean) / (self.n - 1), 0.0)
        hw = stats.t.ppf(0.975, self.n - 1) * math.sqrt(var / self.n)
        return Estimate(mean=mean, low=mean - hw, high=mean + hw, n=self.n, unit=unit)

    def exponential(self, unit: str) -> Estimate | None:
        if self.n < 1:
            return None
        mean, k = self.s / self.n, 2 * self.n
        low, high = 2 * self.s / stats.chi2.ppf(0.975, k), 2 * self.s / stats.chi2.ppf(0.025, k)
        return Estimate(mean=mean, low=low, high=high, n=self.n, unit=unit)


def wilson(k: float, n: float, unit: str = "") -> Estimate | None:
    if n <= 0:
        return None
    z = 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    hw = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Estimate(mean=p, low=max(centre - hw, 0.0), high=min(centre + hw, 1.0), n=int(n), unit=unit)


def poisson_rate(k: int, span: float, unit: str) -> Estimate | None:
    if span <= 0:
        return None
    low = stats.chi2.ppf(0.025, 2 * k) / 2 / span if k > 0 else 0.0
    high = stats.chi2.ppf(0.975, 2 * k + 2) / 2 / span
    return Estimate(mean=k / span, low=low, high=high, n=k, unit=unit)


@dataclass
class _Machine:
    station: str
    status: str | None = None
    down_since: float | None = None
    up_since: float | None = None
    broke_in_job: bool = False
    last_cycle: float | None = None
    done: int = 0
    good: int = 0
    ttf: _Sample = field(default_factory=_Sample)
    repair: _Sample = field(default_factory=_Sample)


class Estimates(BaseModel):
    processing_h: dict[str, Estimate] = {}
    time_to_failure_h: dict[str, Estimate] = {}
    repair_h: dict[str, Estimate] = {}
    scrap: dict[str, Estimate] = {}
    returns: Estimate | None = None
    demand_per_h: Estimate | None = None


class Calibrator:
    def __init__(self, spec: PlantSpec, path: Path | None = None) -> None:
        self.spec = spec
        self.path = path
        self.calendar = PlantCalendar.from_spec(spec.calendar)
        self.line = spec.line
        self.machines = {m.name: _Machine(st.name) for st in spec.stations for m in st.machines}
        self.processing = {st.name: _Sample() for st in spec.stations}
        self.kpi_first: dict[str, tuple[float, float]] = {}
        self.kpi_last: dict[str, tuple[float, float]] = {}
        self.epoch: datetime | None = None
        self.now_w: float | None = None
        """Working hour of the latest observation."""
        self._dirty = False
        self._written = 0.0

    # --- input --------------------------------------------------------------------------

    def on_value(self, path: str, obs: Observed) -> None:
        """Feed one mirrored notification (good values only count)."""
        if not obs.good or obs.source_time is None:
            return
        if path == tags.key(tags.kpi(self.line, tags.ClockTag.PLANT_TIME)):
            self.epoch = obs.source_time - _hours(float(obs.value))
            return
        if self.epoch is None:
            return
        self.observe(path, obs.value, (obs.source_time - self.epoch).total_seconds() / 3600.0)

    def observe(self, path: str, value: Any, calendar_h: float) -> None:
        """One tag value at a plant calendar hour."""
        parts = path.split("/")
        self.now_w = self.calendar.to_working(calendar_h)
        if len(parts) == 4 and parts[2] in self.machines:
            self._machine(self.machines[parts[2]], parts[3], value, self.calendar.to_working(calendar_h))
        elif len(parts) == 3 and parts[1] == tags.Folder.KPIS and parts[2] in ("D", "Rn", "FG"):
            w = self.calendar.to_working(calendar_h)
            self.kpi_first.setdefault(parts[2], (w, float(value)))
            self.kpi_last[parts[2]] = (w, float(value))
            self._dirty = True

    def _machine(self, m: _Machine, tag: str, value: Any, w: float) -> None:
        if tag == tags.MachineTag.STATE:
            status = MACHINE_STATUSES[int(value)] if 0 <= int(value) < len(MACHINE_STATUSES) else None
            if status == m.status:
                return
            if status == "down":
                if m.up_since is not None:
                    m.ttf.add(w - m.up_since)
                m.down_since, m.broke_in_job = w, True
            elif m.status == "down" and m.down_since is not None:
                m.repair.add(w - m.down_since)
                m.down_since, m.up_since = None, w
            elif m.status is None:
                m.up_since = None
            m.status = status
        elif tag == tags.MachineTag.CYCLE_TIME:
            v = float(value)
            if v > 0 and v != m.last_cycle:
                if not m.broke_in_job and m.last_cycle is not None:
                    self.processing[m.station].add(v / 60.0)
                m.broke_in_job = False
            m.last_cycle = v
        elif tag == tags.MachineTag.PARTS_DONE:
            m.done = int(value)
        elif tag == tags.MachineTag.GOOD_PARTS:
            m.good = int(value)
        else:
            return
        self._dirty = True

    # --- output -------------------------------------------------------------------------

    def estimates(self) -> Estimates:
        e = Estimates()
        for st, s in self.processing.items():
            if (est := s.normal("h")) is not None:
                e.processing_h[st] = est
        for name, m in self.machines.items():
            if (ttf := m.ttf.normal("h")) is not None:
                e.time_to_failure_h[name] = ttf
            if (rep := m.repair.normal("h")) is not None:
                e.repair_h[name] = rep
            if (sc := wilson(m.done - m.good, m.done)) is not None:
                e.scrap[name] = sc
        rn, fg = self._delta("Rn"), self._delta("FG")
        if fg is not None and rn is not None:
            e.returns = wilson(rn[1], fg[1])
        d = self._delta("D")
        if d is not None:
            e.demand_per_h = poisson_rate(int(d[1]), d[0], "1/h")
        return e

    def up_hours(self) -> dict[str, float]:
        """Working hours since each machine's last repair (machines seen repaired and up now)."""
        if self.now_w is None:
            return {}
        return {n: self.now_w - m.up_since for n, m in self.machines.items()
                if m.up_since is not None and m.status != "down"}

    def _delta(self, kpi: str) -> tuple[float, float] | None:
        if kpi not in self.kpi_first:
            return None
        (w0, v0), (w1, v1) = self.kpi_first[kpi], self.kpi_last[kpi]
        return w1 - w0, max(v1 - v0, 0.0)

    def update(self, _state: object = None, every_s: float = 10.0) -> bool:
        """Write the estimates to the calibration file when new data came (at most every
        `every_s` seconds); True when written."""
        if not self._dirty or time.time() - self._written < every_s:
            return False
        self._dirty = False
        self._written = time.time()
        if self.path is not None:
            write_private(self.path, self.estimates().model_dump_json(indent=1))
        return True


def _hours(h: float) -> Any:
    from datetime import timedelta

    return timedelta(hours=h)


def estimated_spec(spec: PlantSpec, est: Estimates, min_samples: int = MIN_SAMPLES) -> PlantSpec:
    """`spec` with the estimated parameters where they rest on at least `min_samples` samples."""
    out = spec.model_copy(deep=True)
    mix = _mix(spec)
    for s, st in enumerate(out.stations):
        e = est.processing_h.get(st.name)
        if e is not None and e.n >= min_samples:
            prior = sum(w * spec.processing_hours(p, s).mean for p, w in mix.items())
            for p in out.product_names:
                out.routing.times[p][s] = _scaled(out.routing.times[p][s], e.mean / prior)
        for m in st.machines:
            fail = spec.machine_failures(m).model_copy(deep=True)
            ttf, rep = est.time_to_failure_h.get(m.name), est.repair_h.get(m.name)
            if fail.model == "rate" and fail.time_to_failure is not None and ttf is not None and ttf.n >= min_samples:
                fail.time_to_failure = _scaled(fail.time_to_failure, ttf.mean / fail.time_to_failure.mean)
            if rep is not None and rep.n >= min_samples:
                fail.repair = _scaled(fail.repair, rep.mean / fail.repair.mean)
            m.failures = fail
    if est.returns is not None and est.returns.n >= min_samples and est.returns.mean > 0:
        out.quality.return_prob = _scaled(out.quality.return_prob, est.returns.mean / out.quality.return_prob.mean)
    d = est.demand_per_h
    if d is not None and d.n >= min_samples and d.mean > 0:
        prior_rate = sum(1.0 / spec.demand[p].interarrival.mean for p in spec.product_names)
        for p in out.product_names:
            out.demand[p].interarrival = _scaled(out.demand[p].interarrival, prior_rate / d.mean)
    return out


def _mix(spec: PlantSpec) -> dict[str, float]:
    rates = {p: 1.0 / spec.demand[p].interarrival.mean for p in spec.product_names}
    total = sum(rates.values())
    return {p: r / total for p, r in rates.items()}


def _scaled(d: Dist, k: float) -> Dist:
    return d.model_copy(update={"mean": d.mean * k, "min": None if d.min is None else d.min * k,
                                "max": None if d.max is None else d.max * k})


def load_estimates(path: Path) -> Estimates:
    return Estimates.model_validate(json.loads(path.read_text()))
