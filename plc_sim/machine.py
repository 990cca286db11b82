"""A machine: one SimPy process that takes jobs from its station's queue, plus a failure
process that preempts it and a maintenance clock that asks for planned maintenance.

Failures run on their own clock (working hours), so every control model meets the same
failures; a breakdown interrupts processing and the job resumes its remaining work after
the repair. Planned maintenance waits for the current job to end. All state is plain
attributes, so a snapshot can read it and a restored machine resumes where it stood.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator

import simpy

from .spec import MachineSpec

if TYPE_CHECKING:
    from .line import LineModel

PROCESSING, IDLE, DOWN, MAINTENANCE = "processing", "idle", "down", "maintenance"
STATES = (PROCESSING, IDLE, DOWN, MAINTENANCE)

_FIELDS = ("failed", "in_maint", "maint_due", "job", "job_end", "work_left", "maint_end",
           "next_failure", "repair_end", "next_maint", "state", "state_t", "acc",
           "done", "good", "ideal_good")


class Machine:
    """One machine of a station; `stage` is the station's index in the line."""

    def __init__(self, line: "LineModel", stage: int, index: int, spec: MachineSpec,
                 first_maint: float) -> None:
        self.line = line
        self.env = line.env
        self.stage = stage
        self.index = index
        self.name = spec.name
        plant = line.spec
        self.failure_spec = plant.machine_failures(spec)
        self.maint_spec = plant.machine_maintenance(spec)
        self.power = plant.machine_power(spec)
        self.proc_dists = [plant.processing_hours(p, stage) for p in line.products]
        self.nominal_h = [d.mean for d in self.proc_dists]
        s = line.streams
        self.rs_proc = s[f"{self.name}.processing"]
        self.rs_fail = s[f"{self.name}.failures"]
        self.rs_maint = s[f"{self.name}.maintenance"]
        self.rs_defect = s[f"{self.name}.defects"]
        self.failed = False
        self.in_maint = False
        self.maint_due = False
        self.job: int | None = None
        self.job_end: float | None = None
        self.work_left: float | None = None
        self.maint_end: float | None = None
        self.next_failure: float | None = self.env.now + self.rs_fail.sample(self.failure_spec.time_to_failure)
        self.repair_end: float | None = None
        self.next_maint: float | None = first_maint
        self.state = IDLE
        self.state_t = self.env.now
        self.acc = {k: 0.0 for k in STATES}
        self.done = 0
        self.good = 0
        self.ideal_good = 0.0
        self._wake: simpy.Event | None = None
        self._repaired: simpy.Event | None = None
        self._maint_done: simpy.Event | None = None
        self._busy_wait = False
        self.proc: simpy.Process | None = None

    # --- processes -------------------------------------------------------------------

    def processes(self) -> dict[str, Any]:
        """Process starters by timer key, for the line model to start in order."""
        return {f"{self.name}.run": self._run, f"{self.name}.fail": self._failures,
                f"{self.name}.maint": self._maint_clock}

    def _run(self) -> Generator:
        env, line = self.env, self.line
        if self.in_maint:
            yield from self._finish_maint()
        if self.job is not None:
            yield from self._do_job()
        jobs = line.jobs[self.stage]
        while True:
            if self.failed:
                yield self._await_repair()
            elif self.maint_due:
                self.maint_due = False
                self.in_maint = True
                self.maint_end = env.now + self.rs_maint.sample(self.maint_spec.duration)
                line.count["M"] += 1
                self._changed()
                line.on_machine_event(self, "maintenance_start")
                yield from self._finish_maint()
            elif jobs:
                p = jobs.popleft()
                self.job = p
                self.job_end = env.now + self.rs_proc.sample(self.proc_dists[p])
                self._changed()
                yield from self._do_job()
            else:
                self._wake = env.event()
                yield self._wake

    def _do_job(self) -> Generator:
        env = self.env
        while True:
            if self.work_left is not None:
                if self.failed:
                    yield self._await_repair()
                self.job_end = env.now + self.work_left
                self.work_left = None
                self._changed()
            self._busy_wait = True
            try:
                yield self.line.timer(f"{self.name}.run", self.job_end)
            except simpy.Interrupt:
                self.work_left = self.job_end - env.now
                continue
            finally:
                self._busy_wait = False
            break
        p = self.job
        self.job = None
        self.job_end = None
        self.done += 1
        self._changed()
        self.line.complete(self, p)

    def _finish_maint(self) -> Generator:
        yield self.line.timer(f"{self.name}.run", self.maint_end)
        self.in_maint = False
        self.maint_end = None
        self._changed()
        self.line.on_machine_event(self, "maintenance_end")
        ev, self._maint_done = self._maint_done, None
        if ev is not None:
            ev.succeed()

    def _await_repair(self) -> simpy.Event:
        if self._repaired is None:
            self._repaired = self.env.event()
        return self._repaired

    def _failures(self) -> Generator:
        env, line = self.env, self.line
        while True:
            if self.repair_end is None:
                yield line.timer(f"{self.name}.fail", self.next_failure)
                self.failed = True
                self.next_failure = None
                self.repair_end = env.now + self.rs_fail.sample(self.failure_spec.repair)
                line.count["B"] += 1
                self._changed()
                line.on_machine_event(self, "breakdown")
                if self._busy_wait:
                    self.proc.interrupt("breakdown")
            yield line.timer(f"{self.name}.fail", self.repair_end)
            self.failed = False
            self.repair_end = None
            self.next_failure = env.now + self.rs_fail.sample(self.failure_spec.time_to_failure)
            line.count["R"] += 1
            self._changed()
            line.on_machine_event(self, "repair")
            ev, self._repaired = self._repaired, None
            if ev is not None:
                ev.succeed()

    def _maint_clock(self) -> Generator:
        env = self.env
        while True:
            if self.next_maint is None:
                self._maint_done = env.event()
                yield self._maint_done
                self.next_maint = env.now + self.maint_spec.interval_h
            yield self.line.timer(f"{self.name}.maint", self.next_maint)
            self.next_maint = None
            self.maint_due = True
            self.kick()

    # --- state -------------------------------------------------------------------------

    def kick(self) -> bool:
        """Wake the machine if it waits for work; True if it did."""
        ev = self._wake
        if ev is None:
            return False
        self._wake = None
        ev.succeed()
        return True

    def _changed(self) -> None:
        now = self.env.now
        self.acc[self.state] += now - self.state_t
        self.state_t = now
        if self.failed:
            self.state = DOWN
        elif self.in_maint:
            self.state = MAINTENANCE
        elif self.job is not None:
            self.state = PROCESSING
        else:
            self.state = IDLE

    def time_in(self, now: float) -> dict[str, float]:
        """Hours per state up to `now`, without changing the machine."""
        out = dict(self.acc)
        out[self.state] += now - self.state_t
        return out

    def reset_stats(self) -> None:
        self._changed()
        self.acc = {k: 0.0 for k in STATES}
        self.done = 0
        self.good = 0
        self.ideal_good = 0.0

    def state_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in
                ((f, getattr(self, f)) for f in _FIELDS)}

    def load_state(self, d: dict[str, Any]) -> None:
        for f in _FIELDS:
            v = d[f]
            setattr(self, f, dict(v) if isinstance(v, dict) else v)
