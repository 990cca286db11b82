"""The PLC runtime: drives the line model in scaled real time, one scan at a time, publishes
the tag table, applies validated setpoint writes at the next scan and runs operator
commands. The scans run in a thread of their own (`run` starts it), so however busy the event
loop is serving clients, a scan starts on time; each scan's changed tags reach the loop's
listeners (the OPC UA tag sync) through an `Outbox`, its events through the loop's queue.
Overruns come only from the scan's own work, and are reported instead of drifting silently.
Writes, commands, snapshots and resets from the loop take the runtime's lock, which a scan
holds while it runs: they never see the plant half-way through a scan.

Plant time runs on the plant calendar: `time_factor` 60 means one plant minute per wall
second; `time_factor=None` runs as fast as possible (tests), `fast_step_h` plant hours a scan.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from plc_sim.model.line import LineModel
from plc_sim.model.machine import InterlockError
from plc_sim.model.spec import PlantSpec
from plc_sim.model.vocab import Role, role_allows

from .alarms import AlarmBook
from .checks import ECHO_CHARS, Refusal, Rejected, clip, echo
from .clock import PLANT_EPOCH, wall_clock
from .commands import Command, CommandContext, CommandSpec, command_spec, describe
from .faults import Fault, FaultKind, FaultSet
from .outbox import Outbox
from .recommendations import RecommendationBook
from .simulation import Simulation
from .tagmap import build_tags
from .tags import Tag, TagTable

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

LATENESS_KEPT = 1000
"""Scan start lateness samples kept (the newest), for the bench and the metrics."""
JOIN_TIMEOUT_S = 10.0
"""How long `run` waits for the scan thread to end its scan after `stop`."""


def locked(method: Callable[P, R]) -> Callable[P, R]:
    """Run a PlcRuntime method under the runtime's lock (never half-way through a scan)."""
    @functools.wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with args[0].lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)
    return run


SEVERITY = {"breakdown": 800, "repair": 300, "maintenance_start": 200, "maintenance_end": 200,
            "scan_overrun": 100, "write_refused": 400, "apply_failed": 500, "alarm_acknowledged": 300,
            "command": 100, "fault_start": 600, "fault_end": 300, "fault_refused": 400}


@dataclass
class PlcEvent:
    kind: str
    source: str | None
    station: str | None
    severity: int
    message: str
    plant_h: float
    info: dict[str, Any] = field(default_factory=dict)
    wall: datetime = field(default_factory=wall_clock)
    """When the PLC reported it (wall clock, UTC)."""

    @property
    def time(self) -> datetime:
        """When it happened in plant time."""
        return PLANT_EPOCH + timedelta(hours=self.plant_h)


@dataclass
class AuditRecord:
    """One entry of the audit log. `result` is "accepted" for a write taken for the next
    scan, then "applied" or "failed: <reason>" for what the scan did with it; a command's
    result text (it applies at once) or "failed: <reason>"; a refusal's status code name."""

    plant_h: float
    user: str
    action: str
    value: Any
    result: str


@dataclass
class _PendingWrite:
    tag: Tag
    value: Any
    user: str


class PlcRuntime:
    """One simulated PLC over one line model."""

    def __init__(self, spec: PlantSpec, seed: int = 1, time_factor: float | None = 60.0,
                 scan_s: float = 0.1, fast_step_h: float = 0.05, overrun_report_s: float = 60.0,
                 start_h: float = 0.0) -> None:
        if time_factor is not None and time_factor <= 0:
            raise ValueError("time_factor must be positive (or None for as fast as possible)")
        self.spec = spec
        self.seed = seed
        self.start_h = start_h
        self.model = self._new_model(seed)
        self.time_factor = time_factor
        self.scan_s = scan_s
        self.fast_step_h = fast_step_h
        self.alarms = AlarmBook()
        self._noise_rng = random.Random(seed)
        self.calendar_h = max(start_h, 0.0)
        self.table = self._build_tags(self.model)
        self.recommendations = RecommendationBook(self.table, self.write)
        self.recommendations.add_tags(spec.line)
        self.faults = FaultSet(lambda: self.model, self.table, self.calendar_hours, seed, self._fault_report)
        """Faults injected on demand or by a script (`faults.py`)."""
        self.faults.add_tags(spec.line)
        self.simulation = Simulation(self)
        """Pause, resume, time factor, step, reset and snapshots (`simulation.py`)."""
        self.simulation.add_tags(spec.line)
        self._rebase = False
        """The scan loop maps wall time to plant time afresh (time factor or plant time changed)."""
        self.scans = 0
        self.held = False
        """Plant time stands still while held (a shutdown lets clients finish on a quiet plant)."""
        self.hold_at_h: float | None = None
        """Calendar hour at which the scan holds the plant by itself (`run_to`)."""
        self._reached = asyncio.Event()
        self.overruns = 0
        """Scans whose own work (advancing the plant, refreshing the tags) took longer than the period."""
        self.late_scans = 0
        """Scans started late because the event loop was busy (serving clients): caught up, not reported."""
        self.overrun_report_s = overrun_report_s
        self._overrun_unreported = 0
        self._overrun_worst_ms = 0.0
        self._overrun_reported_at = -math.inf
        self.lateness_s: deque[float] = deque(maxlen=LATENESS_KEPT)
        """How late each recent scan started against its schedule (wall seconds)."""
        self.lock = threading.RLock()
        """Held by a scan while it runs, and by writes, commands, snapshots and resets."""
        self.outbox: Outbox | None = None
        """The changed tags on their way to the loop, while `run` runs."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.audit: deque[AuditRecord] = deque(maxlen=10_000)
        self._pending: deque[_PendingWrite] = deque()
        self._event_listeners: list[Callable[[PlcEvent], None]] = []
        self._scan_listeners: list[Callable[[list[Tag]], None]] = []
        self._async_scan_listeners: list[Callable[[list[Tag]], Awaitable[None]]] = []
        self._machine_names = {x.name for row in self.model.machines for x in row}
        self.model.listeners.append(self._on_model_event)
        self.table.refresh(self.calendar_h)

    def _new_model(self, seed: int) -> LineModel:
        """A fresh line model, run up to the start hour; KPIs count from there."""
        model = LineModel(self.spec, seed)
        if self.start_h > 0:
            model.run_calendar(self.start_h)
            model.reset_stats()
        return model

    def _build_tags(self, model: LineModel) -> TagTable:
        return build_tags(model, self.alarms, self.noise, self.calendar_hours, lambda: self.time_factor or 0.0)

    # --- time ---------------------------------------------------------------------------

    def noise(self) -> float:
        """Sensor noise for published signals, from the PLC's own generator (reading
        sensors never changes the model's random streams)."""
        return self._noise_rng.gauss(0.0, 1.0)

    def calendar_hours(self) -> float:
        """Plant calendar hours since the start (the model's `now` is working hours)."""
        return self.calendar_h

    def plant_time(self) -> datetime:
        return PLANT_EPOCH + timedelta(hours=self.calendar_h)

    # --- listeners ----------------------------------------------------------------------

    def on_event(self, fn: Callable[[PlcEvent], None]) -> Callable[[], None]:
        """`fn(event)` for every PLC event; returns a function that removes `fn` again."""
        return _subscribe(self._event_listeners, fn)

    def on_scan(self, fn: Callable[[list[Tag]], None]) -> Callable[[], None]:
        """`fn(changed_tags)` after every scan; returns a function that removes `fn` again."""
        return _subscribe(self._scan_listeners, fn)

    def on_scan_async(self, fn: Callable[[list[Tag]], Awaitable[None]]) -> Callable[[], None]:
        """`await fn(changed_tags)` after every scan of `run()` (the OPC UA tag sync);
        returns a function that removes `fn` again."""
        return _subscribe(self._async_scan_listeners, fn)

    def _emit(self, kind: str, source: str | None, message: str, **info: Any) -> PlcEvent:
        station = None
        if source is not None:
            station = self.spec.stations[self.model.machine(source).stage].name
        ev = PlcEvent(kind, source, station, SEVERITY.get(kind, 100), message, self.calendar_h, info)
        self._dispatch(ev)
        return ev

    def _dispatch(self, ev: PlcEvent) -> None:
        """Hand an event to the listeners on the loop's thread (they may touch the server)."""
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self._deliver, ev)
        else:
            self._deliver(ev)

    def _deliver(self, ev: PlcEvent) -> None:
        for fn in self._event_listeners:
            fn(ev)

    def _on_loop(self, fn: Callable[[], object]) -> None:
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(fn)
        else:
            fn()

    def _on_model_event(self, kind: str, info: dict[str, Any]) -> None:
        if kind not in SEVERITY:
            return
        name = info["machine"]
        at_h = self.model.calendar.to_calendar(info["t"])
        if kind == "breakdown":
            self.alarms.raise_(name)
        elif kind == "repair":
            self.alarms.clear(name)
        text = {"breakdown": f"{name} broke down", "repair": f"{name} repaired",
                "maintenance_start": f"{name}: planned maintenance started",
                "maintenance_end": f"{name}: planned maintenance finished"}[kind]
        self._dispatch(PlcEvent(kind, name, info["station"], SEVERITY[kind], text, at_h, {}))

    # --- scans --------------------------------------------------------------------------

    @locked
    def scan(self, until_calendar_h: float) -> list[Tag]:
        """One PLC scan: apply accepted writes, advance the plant, refresh the tag table.
        The changed tags include the setpoints written since the last scan (their tags have
        shown the commanded value since the write; a write that failed to apply shows the
        plant's value again)."""
        written = self._apply_pending()
        while (due := self.faults.next_due(until_calendar_h)) is not None:
            self._advance(due)
            self.faults.fire(self.calendar_h)
        self._advance(until_calendar_h)
        self.faults.govern()
        self.scans += 1
        changed = self.table.refresh(self.calendar_h)
        seen = set(map(id, changed))
        changed.extend(t for t in dict.fromkeys(written) if id(t) not in seen)
        for fn in self._scan_listeners:
            fn(changed)
        return changed

    def _advance(self, calendar_h: float) -> None:
        """Run the plant forward to `calendar_h` (never back)."""
        if calendar_h > self.calendar_h:
            self.model.run_calendar(calendar_h)
            self.calendar_h = calendar_h

    def _apply_pending(self) -> list[Tag]:
        """Apply the writes accepted since the last scan, in order; audit each outcome."""
        written = []
        while self._pending:
            w = self._pending.popleft()
            action = f"write {w.tag.key}"
            try:
                assert w.tag.apply is not None
                w.tag.apply(w.value)
            except Exception as e:
                if not isinstance(e, ValueError):
                    log.exception("applying %s failed", action)
                self.audit.append(AuditRecord(self.calendar_h, w.user, action, echo(w.value), f"failed: {clip(e)}"))
                self._emit("apply_failed", self._source_of(w.tag.key), clip(
                    f"{w.user}: {action}={echo(w.value)!r} was accepted but failed at apply: {e}", 2 * ECHO_CHARS))
                continue
            self.audit.append(AuditRecord(self.calendar_h, w.user, action, echo(w.value), "applied"))
            written.append(w.tag)
        return written

    async def run(self, stop: asyncio.Event) -> None:
        """Scan in a thread of its own until `stop` is set, handing each scan's changed tags
        to the async listeners on this loop. Ends with the scan thread's exception if it
        failed (the daemon then stops: tags would go stale)."""
        loop = asyncio.get_running_loop()
        outbox = Outbox(loop)
        halt, failed = threading.Event(), loop.create_future()
        self._loop, self._loop_thread, self.outbox = loop, threading.get_ident(), outbox
        worker = threading.Thread(target=self._scan_thread, args=(halt, failed), name="plc-scan", daemon=True)
        publisher = asyncio.create_task(self._publish_loop(outbox), name="plc-publish")
        worker.start()
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({stopped, failed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            halt.set()
            await asyncio.to_thread(worker.join, JOIN_TIMEOUT_S)
            end = loop.time() + JOIN_TIMEOUT_S
            while not outbox.idle.is_set() and not publisher.done() and loop.time() < end:
                await asyncio.sleep(0.01)  # the last scan's tags reach the clients
            publisher.cancel()
            await asyncio.gather(publisher, return_exceptions=True)
            self._loop = self._loop_thread = self.outbox = None
        if failed.done():
            raise failed.result()

    async def _publish_loop(self, outbox: Outbox) -> None:
        while True:
            changed = await outbox.take()
            try:
                await self._publish(changed)
            finally:
                outbox.done()

    def _scan_thread(self, halt: threading.Event, failed: asyncio.Future[BaseException]) -> None:
        try:
            self._scan_loop(halt)
        except BaseException as e:
            log.exception("the PLC scan failed")
            assert self._loop is not None
            self._loop.call_soon_threadsafe(_settle, failed, e)

    def _scan_loop(self, halt: threading.Event) -> None:
        """Each scan maps wall time to plant time; a scan that takes longer than its period
        is reported as an overrun event. After a hold, plant time goes on from where it
        stood (no jump for the time spent held). As fast as possible (`time_factor` None),
        each scan waits until the loop has taken the one before (the listeners see every scan)."""
        clock = time.monotonic
        t0, cal0 = clock(), self.calendar_h
        deadline = t0
        while not halt.is_set():
            if self.held or self._rebase:
                with self.lock:
                    if self._rebase:  # a reset or loaded snapshot shows at once, even while paused
                        self._rebase = False
                        self._post(self.table.refresh(self.calendar_h))
                    held = self.held
                if held:
                    halt.wait(self.scan_s)
                t0, cal0 = clock(), self.calendar_h
                deadline = t0
                continue
            if self.time_factor is None:
                self._post(self.scan(self._bounded(self.calendar_h + self.fast_step_h)))
                self._wait_for_loop(halt)
                self._hold_if_reached(halt)
                continue
            started = clock()
            self.lateness_s.append(max(started - deadline, 0.0))
            cpu = time.perf_counter()
            changed = self.scan(self._bounded(cal0 + (started - t0) * self.time_factor / 3600.0))
            took = time.perf_counter() - cpu
            self._post(changed)
            self._hold_if_reached(halt)
            deadline += self.scan_s
            if took > self.scan_s:
                self.overruns += 1
                self._report_overrun(took)
            if took > self.scan_s or clock() > deadline + self.scan_s:
                self.late_scans += took <= self.scan_s
                deadline = clock() + self.scan_s * 0.2
            halt.wait(max(deadline - clock(), 0.0))

    def _post(self, changed: list[Tag]) -> None:
        if self.outbox is not None:
            self.outbox.post(changed)

    def _wait_for_loop(self, halt: threading.Event) -> None:
        """Until the loop has handed on what was posted (or `run` ends)."""
        outbox = self.outbox
        while outbox is not None and not halt.is_set() and not outbox.idle.wait(self.scan_s):
            pass

    async def run_to(self, calendar_h: float) -> None:
        """Release the plant and return once the scan has reached `calendar_h` and held it
        there (the scan loop `run` must be running). Plant time then stands still until
        the next release, so work between two `run_to` calls (an optimisation cycle at a
        fixed plant hour) does not depend on how fast the machine is."""
        if self.release_to(calendar_h):
            await self._reached.wait()

    @locked
    def release_to(self, calendar_h: float) -> bool:
        """`run_to` without the wait: True if the plant runs on to `calendar_h` and holds
        there, False if it stands at or past it already (and holds now)."""
        if calendar_h <= self.calendar_h:
            self.hold(True)
            return False
        self._reached.clear()
        self.hold_at_h = calendar_h
        self.held = False
        self._rebase = True
        return True

    def hold(self, held: bool) -> None:
        """Pause (`held`) or resume the plant now, a step in progress ended; the tags show it
        at once, even while paused."""
        with self.lock:
            self.held, self.hold_at_h = held, None
            self._rebase = True
        self._on_loop(self._reached.set)

    def set_time_factor(self, factor: float | None) -> None:
        """Plant seconds per wall second from now on (None: as fast as possible), without a jump."""
        if factor is not None and not (math.isfinite(factor) and factor > 0):
            raise ValueError("time_factor must be positive (or None for as fast as possible)")
        self.time_factor = factor
        self._rebase = True

    def _bounded(self, target_h: float) -> float:
        return target_h if self.hold_at_h is None else min(target_h, self.hold_at_h)

    def _hold_if_reached(self, halt: threading.Event) -> None:
        """Hold at `hold_at_h` once the loop has published the scan that reached it, so
        that `run_to` returns with the clients' view of the plant at that hour."""
        if self.hold_at_h is not None and self.calendar_h >= self.hold_at_h:
            self._wait_for_loop(halt)
            self.hold(True)

    def _report_overrun(self, took: float) -> None:
        """A scan whose own work took longer than its period (not a busy event loop, such as
        a client connecting): a low-severity `scan_overrun` event, at most one every
        `overrun_report_s` seconds, counting the overruns since the last one."""
        self._overrun_unreported += 1
        self._overrun_worst_ms = max(self._overrun_worst_ms, took * 1000)
        now = time.monotonic()
        if now - self._overrun_reported_at < self.overrun_report_s:
            return
        n, worst = self._overrun_unreported, self._overrun_worst_ms
        self._emit("scan_overrun", None, f"scan took {worst:.0f} ms (period {self.scan_s * 1000:.0f} ms); "
                   f"{n} overrun{'s' if n > 1 else ''} since the last report", overruns=n, took_ms=worst)
        self._overrun_reported_at, self._overrun_unreported, self._overrun_worst_ms = now, 0, 0.0

    async def _publish(self, changed: list[Tag]) -> None:
        for fn in self._async_scan_listeners:
            await fn(changed)

    # --- writes -------------------------------------------------------------------------

    @locked
    def write(self, key: str, value: Any, role: Role | None, user: str = "anonymous") -> Any:
        """Validate a setpoint write now, with every check its apply makes; the tag shows the
        commanded value at once and the plant takes it at the next scan. Returns the value
        the tag now shows. Raises Rejected (and reports a write_refused event) when refused;
        a refusal changes nothing."""
        try:
            tag = self.table.get(key)
            v = tag.validate(value, role)
        except Rejected as e:
            self.report_refusal(key, value, user, e)
            raise
        shown = tag.published(v)
        tag.show(shown, self.calendar_h)
        self._pending.append(_PendingWrite(tag, v, user))
        self.audit.append(AuditRecord(self.calendar_h, user, f"write {key}", echo(v), "accepted"))
        log.info("%s wrote %s = %s (applies next scan)", user, key, clip(v))
        return shown

    # --- commands -----------------------------------------------------------------------

    @locked
    def command(self, name: Command | str, machine: str | None, role: Role | None, /, user: str = "anonymous",
                **args: Any) -> str:
        """Run an operator command now (the table in `commands.py` says who may, on what,
        with which arguments). Returns the result text; raises Rejected, reported and
        audited, for a refusal or a failure, never another exception."""
        what = describe(name, machine, args)
        try:
            spec = command_spec(name)
            if not role_allows(role, spec.role):
                raise Rejected(Refusal.ACCESS_DENIED, f"{spec.command} needs the {spec.role} role")
            ctx = self._context(spec, machine, role, user)
            checked = spec.checked_args(args)
        except Rejected as e:
            self.report_refusal(what, None, user, e, source=self._machine_or_none(machine))
            raise
        result = self._apply_command(spec, ctx, checked, what, user)
        self.audit.append(AuditRecord(self.calendar_h, user, what, None, result))
        if spec.event == "alarm_acknowledged":
            self._emit(spec.event, machine, f"breakdown alarm of {machine} acknowledged")
        self._emit("command", ctx.machine.name if ctx.machine else None, f"{user}: {what}: {result}")
        return result

    def _context(self, spec: CommandSpec, machine: str | None, role: Role | None, user: str) -> CommandContext:
        if spec.target == "line":
            if machine is not None:
                raise Rejected(Refusal.TOO_MANY_ARGUMENTS, f"{spec.command} is a line command, not one of a machine")
            return CommandContext(self.model, self.alarms, None, self.recommendations, user, role, self.faults,
                                  self.simulation)
        if machine is None:
            raise Rejected(Refusal.ARGUMENTS_MISSING, f"{spec.command} needs a machine")
        if self._machine_or_none(machine) is None:
            raise Rejected(Refusal.NOT_FOUND, f"no machine {clip(machine)}")
        return CommandContext(self.model, self.alarms, self.model.machine(machine), self.recommendations, user, role,
                              self.faults, self.simulation)

    def _apply_command(self, spec: CommandSpec, ctx: CommandContext, args: Mapping[str, Any], what: str,
                       user: str) -> str:
        """Run the handler: a ValueError or Rejected is a refusal (it changed nothing), anything
        else a failure, audited and reported as such."""
        source = ctx.machine.name if ctx.machine else None
        try:
            return spec.handler(ctx, args)
        except Rejected as e:
            self.report_refusal(what, None, user, e, source=source)
            raise
        except ValueError as e:
            refusal = Refusal.INVALID_STATE if isinstance(e, InterlockError) else Refusal.OUT_OF_RANGE
            rejected = Rejected(refusal, str(e))
            self.report_refusal(what, None, user, rejected, source=source)
            raise rejected from None
        except Exception as e:
            log.exception("command %s failed", what)
            self.audit.append(AuditRecord(self.calendar_h, user, what, None, f"failed: {clip(e)}"))
            self._emit("apply_failed", source, clip(f"{user}: {what} failed: {e}", 2 * ECHO_CHARS))
            raise Rejected(Refusal.FAILED, f"{spec.command} failed: {e}") from None

    # --- faults, snapshots and resets ----------------------------------------------------

    def _fault_report(self, kind: str, fault: Fault, text: str) -> None:
        """A fault started, ended or (scripted) was refused: an event and an audit record."""
        if fault.kind == FaultKind.BREAK_MACHINE:
            source = self._machine_or_none(fault.target)
        else:
            source = self._source_of(fault.target) if isinstance(fault.target, str) else None
        self.audit.append(AuditRecord(self.calendar_h, fault.user, f"{kind} {fault.describe()}", echo(fault.value),
                                      clip(text)))
        self._emit(kind, source, text, fault=fault.as_json())

    @locked
    def snapshot(self) -> dict[str, Any]:
        """The PLC's whole state as JSON-able data: the model, plant time, alarms, sensor noise,
        faults and the writes not yet applied (restore with `restore`)."""
        version, internal, gauss = self._noise_rng.getstate()
        return {"plant": self.spec.name, "seed": self.seed, "calendar_h": self.calendar_h,
                "model": self.model.snapshot(), "alarms": self.alarms.state(),
                "noise": [version, list(internal), gauss], "faults": self.faults.state(),
                "pending": [[w.tag.key, w.value, w.user] for w in self._pending]}

    @locked
    def restore(self, snap: dict[str, Any]) -> None:
        """Put the PLC back into a `snapshot()` state; from there it runs on as it ran then.
        Raises ValueError (nothing changed) for a snapshot of another plant."""
        if snap.get("plant") != self.spec.name:
            raise ValueError(f"the snapshot is of plant {clip(snap.get('plant'))}, this PLC runs {self.spec.name}")
        model = LineModel.from_snapshot(self.spec, snap["model"])
        pending = deque(_PendingWrite(self.table.get(k), v, u) for k, v, u in snap["pending"])
        self._install(model, snap["seed"], snap["calendar_h"])
        self.alarms.restore(snap["alarms"])
        version, internal, gauss = snap["noise"]
        self._noise_rng.setstate((version, tuple(internal), gauss))
        self.faults.restore(snap["faults"])
        self._pending = pending

    @locked
    def reset(self, seed: int) -> None:
        """Start the plant again from its start hour with `seed`: no fault active, a fault
        script from its start, no alarm, no write pending (the audit log is kept)."""
        self._install(self._new_model(seed), seed, max(self.start_h, 0.0))
        self.alarms.restore([])
        self._noise_rng.seed(seed)
        self.faults.restart(seed)
        self._pending.clear()

    def _install(self, model: LineModel, seed: int, calendar_h: float) -> None:
        """Run `model` from now on: the tags read it, plant time is `calendar_h`; a step in
        progress stops where it stands."""
        self.model, self.seed, self.calendar_h = model, seed, calendar_h
        model.listeners.append(self._on_model_event)
        self.table.rebind(self._build_tags(model))
        if self.hold_at_h is not None:
            self.hold(True)
        self._rebase = True

    # --- refusals -----------------------------------------------------------------------

    def report_refusal(self, what: str, value: Any, user: str, e: Rejected, source: str | None = None) -> None:
        """Record and report a refused write or command (also used by the OPC UA server
        for refusals it decides itself, such as a wrong variant type). Long inputs are
        clipped; `source` is the machine concerned (found from a tag key when omitted)."""
        what = clip(what)
        self.audit.append(AuditRecord(self.calendar_h, user, what, echo(value), e.refusal.value))
        source = source if source is not None else self._source_of(what)
        shown = "" if value is None else "=" + (repr(clip(value)) if isinstance(value, str) else clip(value))
        self._emit("write_refused", source, f"{clip(user, 64)}: {what}{shown} refused: {e}")

    def _source_of(self, key: str) -> str | None:
        """The machine of a machine tag's key (line/station/machine/name), else None."""
        parts = key.split("/")
        return self._machine_or_none(parts[2]) if len(parts) >= 4 else None

    def _machine_or_none(self, name: object) -> str | None:
        return name if isinstance(name, str) and name in self._machine_names else None


def _settle(fut: asyncio.Future[BaseException], e: BaseException) -> None:
    if not fut.done():
        fut.set_result(e)


def _subscribe(listeners: list[Any], fn: Any) -> Callable[[], None]:
    listeners.append(fn)

    def remove() -> None:
        if fn in listeners:
            listeners.remove(fn)
    return remove
