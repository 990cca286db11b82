"""A machine: one SimPy process that takes jobs from its station's queue, plus the clocks
that break it down (rate failure model) and call for planned maintenance.

Physics, all optional per machine (plant file, `profiles`): a speed setpoint that sets cycle
time, power, wear and defects; standby after an idle timeout with a wake-up delay; wear that
grows with work and speed and a failure threshold that is Weibull in wear (wear failure
model: the machine breaks mid-job when its wear reaches the threshold); condition signals
(vibration from wear, spindle temperature from power with a first-order lag). Rate-model
breakdowns run on their own clock, so every control model meets the same failures; they
interrupt processing and the job resumes its remaining work after the repair.

Everything that changes is a field of `MachineRecord`, so a snapshot is exactly that record and
a restored machine resumes where it stood. A machine needs only `MachineHost` of its line, so
it runs (and is tested) without a plant file.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field, fields
from heapq import heappush
from typing import TYPE_CHECKING, Any, Protocol

import simpy
from simpy.events import NORMAL

from . import physics
from .counters import LineCounters
from .faces import MachineFace
from .physics import temperature
from .rules import condition_maintenance_problem, dispatch_weights_problem
from .spec import (
    Condition,
    Dist,
    Failures,
    MachineSpec,
    Maintenance,
    PlantSpec,
    Power,
    Speed,
    Standby,
    Wear,
    revalidated,
)
from .streams import Streams
from .vocab import MachineState

if TYPE_CHECKING:
    from .env import PlantEnv

PROCESSING, IDLE, STANDBY, WAKING, DOWN, MAINTENANCE, OFF = (
    MachineState.PROCESSING, MachineState.IDLE, MachineState.STANDBY, MachineState.WAKING, MachineState.DOWN,
    MachineState.MAINTENANCE, MachineState.OFF)
STATES = tuple(MachineState)
_PARKED = {"off": OFF, "standby": STANDBY, "idle": IDLE}
"""The state a machine is in outside its shifts, by its `off_shift` mode."""
Proc = Generator[simpy.Event, Any, None]


class InterlockError(ValueError):
    """A setpoint refused because of the machine's state (e.g. a speed change while down)."""


class Meter(Protocol):
    """Where a machine books the line's power draw and its event counters (the line's state)."""

    power_now: float
    peak_kw: float
    count: LineCounters


class MachineHost(Protocol):
    """What a machine needs from its line: the clock and its timers, its station's queue and
    neighbours, dispatch, completion, event reporting, the line's power meter and counters."""

    @property
    def env(self) -> PlantEnv: ...
    @property
    def timers(self) -> dict[str, simpy.Event]: ...
    @property
    def jobs(self) -> Sequence[deque[int]]: ...
    @property
    def machines(self) -> Sequence[Sequence[Machine]]: ...
    @property
    def meter(self) -> Meter: ...

    def timer(self, key: str, t: float) -> simpy.Event: ...
    def dispatch(self, s: int) -> None: ...
    def complete(self, m: Machine, p: int) -> None: ...
    def on_machine_event(self, m: Machine, kind: str) -> None: ...
    def take_hook(self, s: int) -> Callable[[int], None] | None: ...


@dataclass
class MachinePhysics:
    """A machine's resolved sections (its own, else its profile's, else the plant's)."""

    failures: Failures
    maintenance: Maintenance
    power: Power
    speed: Speed | None = None
    standby: Standby | None = None
    wear: Wear | None = None
    condition: Condition | None = None
    defect_prob: float = 0.0
    cycle_factor: float = 1.0
    dispatch_weight: float = 1.0

    @classmethod
    def of(cls, plant: PlantSpec, spec: MachineSpec, stage: int) -> MachinePhysics:
        station = plant.stations[stage]
        return cls(plant.machine_failures(spec), plant.machine_maintenance(spec), plant.machine_power(spec),
                    plant.physics(spec, "speed"), plant.physics(spec, "standby"), plant.physics(spec, "wear"),
                    plant.physics(spec, "condition"),
                    plant.quality.defect_prob if station.defect_prob is None else station.defect_prob,
                    spec.cycle_factor, spec.dispatch_weight)


@dataclass(eq=False)
class MachineRecord:
    """Everything that changes while a machine runs: a snapshot is exactly these fields
    (`Machine.state_dict`), and a machine loaded from them resumes where it stood."""

    # setpoints
    speed_pct: float = 100.0
    standby_timeout_h: float = 0.0
    weight: float = 1.0
    maint: dict[str, Any] = field(default_factory=dict)
    stopped: bool = False
    # breakdowns, repairs and maintenance
    failed: bool = False
    in_maint: bool = False
    maint_due: bool = False
    maint_len: float | None = None
    maint_end: float | None = None
    next_failure: float | None = None
    repair_end: float | None = None
    next_maint: float | None = None
    plan_i: int = 0
    fail_at: float | None = None
    injected: bool = False
    """Down by an injected breakdown (`break_for`): its repair ends at `repair_end` or at `end_breakdown`."""
    wear: float = 0.0
    w_fail: float = math.inf
    # standby and shifts
    asleep: bool = False
    waking: bool = False
    cold: bool = False
    """Asleep because it was switched off: the next wake-up is a cold start."""
    wake_end: float | None = None
    standby_at: float | None = None
    off_shift: bool = False
    off_shift_mode: str = "off"
    # the job in hand
    job: int | None = None
    job_end: float | None = None
    work_left: float | None = None
    job_v: float = 1.0
    job_defect: float = 0.0
    job_start: float = 0.0
    job_energy0: float = 0.0
    last_cycle_h: float = 0.0
    last_part_kwh: float = 0.0
    temp: float = 0.0
    # time and energy accounting
    state: MachineState = MachineState.IDLE
    state_t: float = 0.0
    acc: dict[MachineState, float] = field(default_factory=lambda: dict.fromkeys(MachineState, 0.0))
    energy: float = 0.0
    p_now: float = 0.0
    done: int = 0
    good: int = 0
    ideal_h: float = 0.0
    """Nominal processing hours of the good parts made (the OEE numerator)."""


_RECORD_FIELDS = tuple(f.name for f in fields(MachineRecord))


class Machine(MachineFace):
    """One machine of a station; `stage` is the station's index in the line. Its changing
    state is `rec` (a `MachineRecord`, the snapshot); the rest is structure and the wiring
    of its SimPy process. Readers see the record through the read-only properties below
    (`MachineView`)."""

    def __init__(self, line: MachineHost, stage: int, name: str, physics: MachinePhysics,
                 proc_dists: list[Dist], streams: Streams, first_maint: float) -> None:
        self.rec = MachineRecord()
        self.line = line
        self.env = line.env
        self.stage = stage
        self.name = name
        self.failure_spec = physics.failures
        self.maint_spec: Maintenance = physics.maintenance
        self.power = physics.power
        self.speed_spec: Speed | None = physics.speed
        self.standby_spec: Standby | None = physics.standby
        self.wear_spec: Wear | None = physics.wear
        self.cond: Condition | None = physics.condition
        self.wear_mode = self.failure_spec.model == "wear"
        self.cycle_factor = physics.cycle_factor
        self.defect_base = physics.defect_prob
        self.proc_dists = proc_dists
        self.nominal_h = [d.mean * physics.cycle_factor for d in proc_dists]
        self.rs_proc = streams[f"{name}.processing"]
        self.rs_fail = streams[f"{name}.failures"]
        self.rs_maint = streams[f"{name}.maintenance"]
        self.rs_defect = streams[f"{name}.defects"]
        self.rs_sensor = streams[f"{name}.sensor"]
        now = self.env.now
        self.rec.speed_pct = self.speed_spec.setpoint_pct if self.speed_spec else 100.0
        self.rec.standby_timeout_h = self.standby_spec.timeout_h if self.standby_spec else 0.0
        self.rec.off_shift_mode = self.standby_spec.off_shift if self.standby_spec else "off"
        self._parked = _PARKED[self.rec.off_shift_mode]
        self.rec.weight = physics.dispatch_weight
        self.rec.maint = self.maint_spec.model_dump()
        if not self.wear_mode:
            assert self.failure_spec.time_to_failure is not None
            self.rec.next_failure = now + self.rs_fail.sample(self.failure_spec.time_to_failure)
        self.rec.next_maint = first_maint if self.maint_spec.policy == "interval" else None
        self.rec.w_fail = self._threshold(0.0) if self.wear_spec else math.inf
        self.rec.job_defect = self.defect_base
        self.rec.temp = self.cond.temp_ambient_c + self.cond.temp_rise_c_per_kw * self.power.idle if self.cond else 0.0
        self.rec.state_t = now
        self.rec.p_now = self.power.idle
        self.meter = line.meter
        self.meter.power_now += self.rec.p_now
        self._wake: simpy.Event | None = None
        self._repaired: simpy.Event | None = None
        self._maint_signal: simpy.Event | None = None
        self._inject_cut: simpy.Event | None = None
        self._busy_wait = False
        self._resume_waiting = False
        self._run_key = f"{self.name}.run"
        self._fail_key = f"{self.name}.fail"
        self._maint_key = f"{self.name}.maint"
        self._physics = self.wear_spec is not None or self.cond is not None
        self._pw = {st: self._draw(st) for st in STATES}
        self._job_speed_of: tuple[Speed | None, float] | None = None
        self._set_wear_per_h()
        self.proc: simpy.Process | None = None
        self.maint_proc: simpy.Process | None = None
        self._on_take = line.take_hook(stage)
        self.on_take: Callable[[], None] | None = None
        """Called when the machine takes a job from its station's queue (set by a line
        whose station has a finite input buffer: room came free)."""
        self.complete_to: Callable[[Machine, int], None] = line.complete
        """Where a finished part goes (the host's `complete`; a line points it straight at
        its card flow, one call less per job)."""

    # --- laws -------------------------------------------------------------------------

    def _wait(self, key: str, t: float | None) -> simpy.Event:
        """The line's timer `key` at time `t` (which the caller's state guarantees is set)."""
        assert t is not None, key
        return self.line.timer(key, t)

    def _threshold(self, wear: float) -> float:
        """Wear at the next failure, Weibull in wear, given survival up to `wear`."""
        assert self.wear_spec is not None
        return physics.failure_wear(self.wear_spec, wear, self.rs_fail.std_exponential())

    def _wear_rate(self) -> float:
        assert self.wear_spec is not None
        return physics.wear_rate(self.wear_spec, self.speed_spec, self.rec.job_v)

    def _draw(self, state: MachineState) -> float:
        """Power in kW in `state` at the current job speed (`physics.draw_kw`)."""
        return physics.draw_kw(self.power, self.speed_spec, self.rec.job_v, state)

    def wear_now(self, now: float) -> float:
        rec = self.rec
        if self.wear_spec is None:
            return 0.0
        if rec.state == PROCESSING:
            return rec.wear + self._wear_per_h * (now - rec.state_t)
        return rec.wear

    def temp_now(self, now: float) -> float:
        c = self.cond
        if c is None:
            return 0.0
        return temperature(c, self.rec.p_now, self.rec.temp, now - self.rec.state_t)

    def vibration(self, now: float, noise: Callable[[], float] | None = None) -> float:
        c = self.cond
        if c is None:
            return 0.0
        return physics.vibration(c, self.wear_now(now), noise() if noise else None)

    def signals(self, now: float, noise: Callable[[], float] | None = None) -> dict[str, float]:
        """Condition signals as sensors would read them; `noise()` gives standard normal
        draws (the PLC passes its own generator, so reading never changes the model)."""
        running = self.rec.state == PROCESSING
        sp = self.speed_spec
        temp = self.temp_now(now)
        if noise and self.cond:
            temp += self.cond.temp_noise_c * noise()
        return {
            "wear": self.wear_now(now),
            "vibration_mm_s": self.vibration(now, noise),
            "spindle_temp_c": temp,
            "spindle_rpm": sp.spindle_rpm * self.rec.job_v if sp and running else 0.0,
            "feed_mm_min": sp.feed_mm_min * self.rec.job_v if sp and running else 0.0,
            "power_kw": self.rec.p_now,
            "cycle_time_min": self.rec.last_cycle_h * 60.0,
            "energy_per_part_kwh": self.rec.last_part_kwh,
        }

    # --- processes -------------------------------------------------------------------

    def processes(self) -> dict[str, Any]:
        """Process starters by timer key, for the line model to start in order."""
        procs = {f"{self.name}.run": self._run, f"{self.name}.maint": self._maint_clock}
        if not self.wear_mode:
            procs[f"{self.name}.fail"] = self._failures
        if self.rec.injected:
            procs[f"{self.name}.inject"] = self._injected_repair
        return procs

    def _run(self) -> Proc:
        rec = self.rec
        env, line = self.env, self.line
        if self._resume_waiting:
            self._resume_waiting = False
            yield from self._idle()
        if rec.in_maint:
            yield from self._finish_maint()
        elif rec.waking:
            yield from self._finish_wake()
        if rec.job is not None:
            yield from self._job_until_done()
            self._end_job()
        jobs = line.jobs[self.stage]
        timers, run_key = line.timers, self._run_key
        while True:
            if rec.failed:
                yield self._await_repair()
            elif rec.maint_due:
                self._start_maint()
                yield from self._finish_maint()
            elif jobs and rec.weight > 0 and not rec.off_shift and not rec.stopped:
                if not rec.asleep:
                    p = jobs.popleft()
                    self._start_job(p)
                    if self._on_take is not None:
                        self._on_take(p)
                    if self.on_take is not None:
                        self.on_take()
                    if self.wear_mode:
                        self._arm_wear_clock()
                    job_end = rec.job_end
                    assert job_end is not None
                    if rec.fail_at is not None and rec.fail_at < job_end:
                        yield from self._job_until_done()
                    else:
                        # The common case inline (no generator per job): the machine does not
                        # wear out before the job ends, so only an interruption (a rate-model
                        # breakdown) sends the job to the general loop.
                        self._busy_wait = True
                        ev = timers[run_key] = env.at(job_end)
                        try:
                            yield ev
                        except simpy.Interrupt:
                            rec.work_left = job_end - env._now
                        finally:
                            self._busy_wait = False
                        if rec.work_left is not None:
                            yield from self._job_until_done()
                    self._end_job()
                    continue
                rec.asleep = False
                rec.waking = True
                assert self.standby_spec is not None
                rec.wake_end = env.now + (self.standby_spec.cold_start_h if rec.cold else self.standby_spec.wake_h)
                rec.cold = False
                self._changed()
                yield from self._finish_wake()
            elif rec.standby_timeout_h > 0 or self._wake is not None:
                yield from self._idle()
            else:
                ev = self._wake = env.event()
                yield ev

    def _idle(self) -> Proc:
        rec = self.rec
        env = self.env
        if self._wake is None:
            self._wake = env.event()
        if rec.standby_timeout_h > 0 and not rec.asleep and not rec.off_shift:
            if rec.standby_at is None:
                rec.standby_at = env.now + rec.standby_timeout_h
            timer = self._wait(self._run_key, rec.standby_at)
            yield self._wake | timer
            if self._wake is not None and timer.processed:
                rec.standby_at = None
                rec.asleep = True
                self._changed()
                return
            rec.standby_at = None
        else:
            yield self._wake

    def _finish_wake(self) -> Proc:
        rec = self.rec
        yield self._wait(self._run_key, rec.wake_end)
        rec.waking = False
        rec.wake_end = None
        self._changed()

    def _start_job(self, p: int) -> None:
        rec = self.rec
        now = self.env._now
        rec.job = p
        rec.job_start = now
        rec.job_energy0 = rec.energy + rec.p_now * (now - rec.state_t)
        if self.speed_spec is None and self.cycle_factor == 1.0:
            rec.job_end = now + self.rs_proc.sample(self.proc_dists[p])
        else:
            if self._job_speed_of != (self.speed_spec, rec.speed_pct):
                self._set_job_speed()
            rec.job_end = now + self.rs_proc.sample(self.proc_dists[p]) * self.cycle_factor / rec.job_v
        self._changed()

    def _set_job_speed(self) -> None:
        """Speed, defect rate and processing power of jobs at the current setpoint; they are
        kept until the setpoint (or the speed section) changes, not recomputed per job."""
        rec = self.rec
        v = rec.job_v = rec.speed_pct / 100.0
        if self.speed_spec is not None:
            rec.job_defect = self.defect_base * v ** self.speed_spec.defect_exp
        self._pw[PROCESSING] = self._draw(PROCESSING)
        self._job_speed_of = (self.speed_spec, rec.speed_pct)
        self._set_wear_per_h()

    def _set_wear_per_h(self) -> None:
        """The wear rate of the job speed `job_v`, kept in step with it (wear is booked at
        every state change of a running machine)."""
        self._wear_per_h = self._wear_rate() if self.wear_spec is not None else 0.0

    def _end_job(self) -> None:
        """The job's last minute is done: book it and hand the part to the line."""
        rec = self.rec
        rec.fail_at = None
        p = rec.job
        assert p is not None
        rec.job = None
        rec.job_end = None
        rec.done += 1
        self._changed()
        rec.last_cycle_h = self.env._now - rec.job_start
        rec.last_part_kwh = rec.energy - rec.job_energy0
        if self.maint_spec.policy == "condition":
            self._check_condition()
        self.complete_to(self, p)

    def _job_until_done(self) -> Proc:
        """The job through breakdowns, repairs and interruptions, to its last minute."""
        rec = self.rec
        env = self.env
        key = self._run_key
        timers = self.line.timers
        while True:
            if rec.failed:
                if self.wear_mode and not rec.injected:
                    yield from self._repair()
                else:
                    yield self._await_repair()
            if rec.work_left is not None:
                rec.job_end = env.now + rec.work_left
                rec.work_left = None
                self._changed()
            if self.wear_mode:
                self._arm_wear_clock()
            job_end, fail_at = rec.job_end, rec.fail_at
            assert job_end is not None
            breaks = fail_at is not None and fail_at < job_end
            self._busy_wait = True
            ev = timers[key] = env.at(fail_at if fail_at is not None and breaks else job_end)
            try:
                yield ev
            except simpy.Interrupt:
                rec.work_left = job_end - env.now
                continue
            finally:
                self._busy_wait = False
            if breaks:
                rec.fail_at = None
                rec.work_left = job_end - env.now
                self._break_down()
                continue
            return

    def _arm_wear_clock(self) -> None:
        """Wear model: the time the running job wears the machine out (kept once set)."""
        if self.rec.fail_at is None:
            now = self.env.now
            self.rec.fail_at = now + max(self.rec.w_fail - self.wear_now(now), 0.0) / self._wear_per_h

    def _break_down(self) -> None:
        self.rec.failed = True
        self.rec.repair_end = self.env.now + self.rs_fail.sample(self.failure_spec.repair)
        self.meter.count.B += 1
        self._changed()
        self.line.on_machine_event(self, "breakdown")

    def _end_repair(self) -> None:
        self.rec.failed = False
        self.rec.repair_end = None
        self.meter.count.R += 1
        self._changed()
        if self.wear_spec is not None:
            self.rec.wear *= self.wear_spec.repair_keep
            self.rec.w_fail = self._threshold(self.rec.wear)
        self.line.on_machine_event(self, "repair")
        if self.line.jobs[self.stage]:
            self.line.dispatch(self.stage)

    def _repair(self) -> Proc:
        yield self._wait(self._run_key, self.rec.repair_end)
        self._end_repair()

    def _await_repair(self) -> simpy.Event:
        if self._repaired is None:
            self._repaired = self.env.event()
        return self._repaired

    def _failures(self) -> Proc:
        env = self.env
        while True:
            rec = self.rec
            if rec.repair_end is None or rec.injected:
                yield self._wait(self._fail_key, rec.next_failure)
                rec.next_failure = None
                if rec.injected:  # due while down by an injected breakdown: the clock starts again
                    assert self.failure_spec.time_to_failure is not None
                    rec.next_failure = env.now + self.rs_fail.sample(self.failure_spec.time_to_failure)
                    continue
                self._break_down()
                if self._busy_wait and self.proc is not None:
                    self.proc.interrupt("breakdown")
            yield self._wait(self._fail_key, self.rec.repair_end)
            self._end_repair()
            assert self.failure_spec.time_to_failure is not None
            self.rec.next_failure = env.now + self.rs_fail.sample(self.failure_spec.time_to_failure)
            ev, self._repaired = self._repaired, None
            if ev is not None:
                ev.succeed()

    def break_for(self, hours: float) -> None:
        """An injected breakdown (a fault the PLC injects on demand): the machine goes down now
        and is repaired after `hours` of model time, or earlier by `end_breakdown`. It counts,
        reports and interrupts the job as its own breakdowns do; its own failure clock runs on."""
        self.require_up("injected breakdown")
        if self.in_maint:
            raise InterlockError(f"{self.name} is in maintenance")
        if not (math.isfinite(hours) and hours > 0):
            raise ValueError(f"a breakdown lasts a positive number of hours, not {hours}")
        rec = self.rec
        rec.injected = True
        rec.failed = True
        rec.fail_at = None
        rec.repair_end = self.env.now + hours
        self.meter.count.B += 1
        self._changed()
        self.line.on_machine_event(self, "breakdown")
        if self._busy_wait and self.proc is not None:
            self.proc.interrupt("breakdown")
        self.env.process(self._injected_repair())

    def end_breakdown(self) -> None:
        """Repair an injected breakdown now (nothing when there is none)."""
        cut = self._inject_cut
        if self.rec.injected and cut is not None and not cut.triggered:
            cut.succeed()

    def _injected_repair(self) -> Proc:
        cut = self._inject_cut = self.env.event()
        yield self._wait(f"{self.name}.inject", self.rec.repair_end) | cut
        self._inject_cut = None
        self.rec.injected = False
        self._end_repair()
        ev, self._repaired = self._repaired, None
        if ev is not None:
            ev.succeed()

    # --- maintenance ------------------------------------------------------------------

    def _start_maint(self) -> None:
        self.rec.maint_due = False
        self.rec.in_maint = True
        dur = self.rec.maint_len if self.rec.maint_len is not None else self.rs_maint.sample(self.maint_spec.duration)
        self.rec.maint_len = None
        self.rec.maint_end = self.env.now + dur
        self.meter.count.M += 1
        self._changed()
        self.line.on_machine_event(self, "maintenance_start")

    def _finish_maint(self) -> Proc:
        yield self._wait(self._run_key, self.rec.maint_end)
        self.rec.in_maint = False
        self.rec.maint_end = None
        self._changed()
        if self.wear_spec is not None:
            self.rec.wear = 0.0
            self.rec.w_fail = self._threshold(0.0)
        if self.maint_spec.policy == "interval":
            self.rec.next_maint = self.env.now + self.maint_spec.interval_h
        self.line.on_machine_event(self, "maintenance_end")
        self._signal_clock()

    def _check_condition(self) -> None:
        mt = self.maint_spec
        if self.rec.maint_due:
            return
        worn = mt.threshold_wear is not None and self.rec.wear >= mt.threshold_wear
        if worn or (mt.threshold_vibration is not None
                    and self.vibration(self.env.now, self.rs_sensor.std_normal) >= mt.threshold_vibration):
            self.rec.maint_due = True

    def _next_due(self) -> float | None:
        mt = self.maint_spec
        if mt.policy == "interval":
            return self.rec.next_maint
        if mt.policy == "plan" and self.rec.plan_i < len(mt.plan):
            return mt.plan[self.rec.plan_i][0]
        return None

    def _maint_clock(self) -> Proc:
        """Makes maintenance due by interval or plan; condition checks happen at job ends."""
        env = self.env
        while True:
            due = self._next_due()
            try:
                if due is None or self.rec.maint_due or self.rec.in_maint:
                    self._maint_signal = env.event()
                    yield self._maint_signal
                    continue
                yield self._wait(self._maint_key, max(due, env.now))
            except simpy.Interrupt:
                continue
            if self.maint_spec.policy == "plan":
                self.rec.maint_len = self.maint_spec.plan[self.rec.plan_i][1]
                self.rec.plan_i += 1
            else:
                self.rec.next_maint = None
            self.rec.maint_due = True
            self.kick()

    def _signal_clock(self) -> None:
        ev, self._maint_signal = self._maint_signal, None
        if ev is not None:
            ev.succeed()

    # --- setpoints (validated like the plant file) -------------------------------------

    def require_up(self, what: str) -> None:
        """The interlock of changes that need a running machine: refused while it is down."""
        if self.rec.failed:
            raise InterlockError(f"no {what} while {self.name} is down")

    def checked_maintenance(self, **changes: Any) -> Maintenance:
        """The maintenance section with `changes`, checked like the plant file checks it."""
        new: Maintenance = revalidated(self.maint_spec, **changes)
        problem = condition_maintenance_problem(new, self.wear_spec is not None, self.cond is not None)
        if problem:
            raise ValueError(f"machine {self.name} {problem}")
        return new

    def set_speed(self, pct: float) -> None:
        """Speed in % of nominal, within the machine's bounds; applies from the next job."""
        if self.speed_spec is None:
            raise ValueError(f"machine {self.name} has no speed setpoint")
        self.require_up("speed change")
        self.speed_spec = revalidated(self.speed_spec, setpoint_pct=float(pct))
        self.rec.speed_pct = self.speed_spec.setpoint_pct

    def set_standby_timeout(self, hours: float) -> None:
        """Idle hours before standby (0 = never); applies from the next idle period."""
        if self.standby_spec is None:
            raise ValueError(f"machine {self.name} has no standby mode")
        self.standby_spec = revalidated(self.standby_spec, timeout_h=float(hours))
        self.rec.standby_timeout_h = self.standby_spec.timeout_h

    def dispatch_weight_problem(self, weight: float) -> str | None:
        """Why `weight` cannot be this machine's dispatch weight now, or None."""
        station = [weight if m is self else m.weight for m in self.line.machines[self.stage]]
        return dispatch_weights_problem(station)

    def set_dispatch_weight(self, weight: float) -> None:
        problem = self.dispatch_weight_problem(weight)
        if problem:
            raise ValueError(problem)
        self.rec.weight = float(weight)
        self.line.dispatch(self.stage)

    def set_maintenance(self, **changes: Any) -> None:
        """Change policy, interval_h, threshold_wear, threshold_vibration or plan."""
        new = self.checked_maintenance(**changes)
        self.maint_spec = new
        self.rec.maint = new.model_dump()
        now = self.env.now
        self.rec.plan_i = sum(1 for start, _ in new.plan if start < now)
        if new.policy == "interval" and self.rec.next_maint is None and not (self.rec.maint_due or self.rec.in_maint):
            self.rec.next_maint = now + new.interval_h
        if self.maint_proc is not None and self.maint_proc.is_alive and self.maint_proc.target is not None:
            self.maint_proc.interrupt("maintenance changed")

    # --- state -------------------------------------------------------------------------

    def kick(self) -> bool:
        """Wake the machine if it waits for work; True if it did."""
        ev = self._wake
        if ev is None:
            return False
        self._wake = None
        ev._ok = True  # ev.succeed(), inline: the machine's hottest path
        ev._value = None
        env = self.env
        heappush(env._queue, (env._now, NORMAL, next(env._eid), ev))
        return True

    def can_take_work(self) -> bool:
        return self._wake is not None and self.rec.weight > 0 and not (self.rec.off_shift or self.rec.failed or self.rec.stopped)

    def set_off_shift(self, off: bool) -> None:
        """The station's shift ends (`off`) or begins. Outside its shifts the machine is in
        the state of its `off_shift` mode (a running job ends first); a machine that was in
        standby or off wakes at the first job of the shift (`wake_h`, or `cold_start_h` after
        off), one left idle starts at once."""
        rec = self.rec
        if rec.off_shift == off:
            return
        rec.off_shift = off
        sb = self.standby_spec
        if not off and sb is not None and rec.off_shift_mode != "idle":
            cold = rec.off_shift_mode == "off"
            if (sb.cold_start_h if cold else sb.wake_h) > 0:
                rec.asleep = True
                rec.cold = rec.cold or cold
        self._changed()
        self.kick()

    def set_off_shift_mode(self, mode: str) -> None:
        """What the machine does outside its shifts from now on: idle, standby or off."""
        if self.standby_spec is None:
            raise ValueError(f"machine {self.name} has no standby mode (it is off outside its shifts)")
        self.standby_spec = revalidated(self.standby_spec, off_shift=mode)
        self.rec.off_shift_mode = self.standby_spec.off_shift
        self._parked = _PARKED[self.rec.off_shift_mode]
        self._changed()

    def set_stopped(self, stopped: bool) -> None:
        """Operator stop (the running job ends first, then the machine is off) or start."""
        self.rec.stopped = stopped
        self._changed()
        if stopped:
            self.kick()
        else:
            self.line.dispatch(self.stage)
            self.kick()

    def request_maintenance(self) -> None:
        """Planned maintenance now: it starts when the running job ends."""
        if self.rec.in_maint or self.rec.maint_due:
            raise InterlockError(f"{self.name} is already in or waiting for maintenance")
        self.rec.maint_due = True
        self.kick()

    def _changed(self) -> None:
        """Book the time since the last change to the old state, then enter the new one."""
        rec = self.rec
        now = self.env._now
        dt = now - rec.state_t
        if dt:
            old = rec.state
            rec.acc[old] += dt
            rec.energy += rec.p_now * dt
            if self._physics:
                if self.wear_spec is not None and old == PROCESSING:
                    rec.wear += self._wear_per_h * dt
                cond = self.cond
                if cond is not None:
                    rec.temp = temperature(cond, rec.p_now, rec.temp, dt)
        rec.state_t = now
        if rec.failed:
            new = DOWN
        elif rec.in_maint:
            new = MAINTENANCE
        elif rec.job is not None:
            new = PROCESSING
        elif rec.waking:
            new = WAKING
        elif rec.stopped:
            new = OFF
        elif rec.off_shift:
            new = STANDBY if rec.asleep and self._parked is IDLE else self._parked
        elif rec.asleep:
            new = STANDBY
        else:
            new = IDLE
        rec.state = new
        p = self._pw[new]
        dp = p - rec.p_now
        if dp:
            rec.p_now = p
            meter = self.meter
            pn = meter.power_now = meter.power_now + dp
            if pn > meter.peak_kw:
                meter.peak_kw = pn

    def settle(self) -> None:
        """Book the time up to now in the current state (a model rebuilt from an observation
        settles its machines so their accounts and power start now)."""
        self._changed()

    def failure_wear(self, wear: float) -> float:
        """A fresh draw of the wear at the next failure, given survival up to `wear`."""
        return self._threshold(wear)

    def draw_kw(self, state: MachineState) -> float:
        """Power drawn in `state` now (processing at the current job speed)."""
        return self._pw[state]

    def energy_now(self, now: float) -> float:
        rec = self.rec
        return rec.energy + rec.p_now * (now - rec.state_t)

    def time_in(self, now: float) -> dict[MachineState, float]:
        """Hours per state up to `now`, without changing the machine."""
        rec = self.rec
        out = dict(rec.acc)
        out[rec.state] += now - rec.state_t
        return out

    def reset_stats(self) -> None:
        self._changed()
        self.rec.acc = dict.fromkeys(MachineState, 0.0)
        self.rec.energy = 0.0
        self.rec.done = 0
        self.rec.good = 0
        self.rec.ideal_h = 0.0

    def count_good(self, p: int) -> None:
        """A good part of product p left the machine."""
        self.rec.good += 1
        self.rec.ideal_h += self.nominal_h[p]

    def state_dict(self) -> dict[str, Any]:
        """The record as JSON-able data, and whether the machine waits for work."""
        rec = self.rec
        d = {f: (dict(v) if isinstance(v, dict) else v) for f, v in ((f, getattr(rec, f)) for f in _RECORD_FIELDS)}
        d["state"] = str(self.rec.state)
        d["acc"] = {str(k): v for k, v in self.rec.acc.items()}
        d["waiting"] = self._wake is not None
        return d

    def load_state(self, d: dict[str, Any]) -> None:
        rec = self.rec
        for f in _RECORD_FIELDS:
            v = d[f]
            setattr(rec, f, dict(v) if isinstance(v, dict) else v)
        self.rec.state = MachineState(d["state"])
        self.rec.acc = {MachineState(k): v for k, v in d["acc"].items()}
        self._resume_waiting = d["waiting"]
        self._pw[PROCESSING] = self._draw(PROCESSING)
        self._job_speed_of = None
        self._set_wear_per_h()
        self.maint_spec = Maintenance.model_validate(self.rec.maint)
        if self.speed_spec is not None:
            self.speed_spec = revalidated(self.speed_spec, setpoint_pct=self.rec.speed_pct)
        if self.standby_spec is not None:
            self.standby_spec = revalidated(self.standby_spec, timeout_h=self.rec.standby_timeout_h,
                                            off_shift=self.rec.off_shift_mode)
        self._parked = _PARKED[self.rec.off_shift_mode]
