"""The PLC runtime: drives the line model in scaled real time from an asyncio task, one scan
at a time, publishes the tag table, applies validated setpoint writes at the next scan and
runs operator commands. It never blocks the event loop for longer than one scan's worth of
simulation, and reports scan overruns instead of drifting silently.

Plant time runs on the plant calendar: `time_factor` 60 means one plant minute per wall
second; `time_factor=None` runs as fast as possible (tests), `fast_step_h` plant hours a scan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from plc_sim.model.line import LineModel
from plc_sim.model.machine import InterlockError
from plc_sim.model.spec import PlantSpec
from plc_sim.model.vocab import Role, role_allows

from .alarms import AlarmBook
from .checks import ECHO_CHARS, Refusal, Rejected, clip, echo
from .clock import PLANT_EPOCH, wall_clock
from .commands import Command, CommandContext, CommandSpec, command_spec, describe
from .recommendations import RecommendationBook
from .tagmap import build_tags
from .tags import Tag

log = logging.getLogger(__name__)


SEVERITY = {"breakdown": 800, "repair": 300, "maintenance_start": 200, "maintenance_end": 200,
            "scan_overrun": 100, "write_refused": 400, "apply_failed": 500, "alarm_acknowledged": 300,
            "command": 100}


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
        self.model = LineModel(spec, seed)
        self.time_factor = time_factor
        self.scan_s = scan_s
        self.fast_step_h = fast_step_h
        self.alarms = AlarmBook()
        self._noise_rng = random.Random(seed)
        self.calendar_h = 0.0
        if start_h > 0:  # the plant runs up to its start hour; KPIs count from there
            self.model.run_calendar(start_h)
            self.model.reset_stats()
            self.calendar_h = start_h
        self.table = build_tags(self.model, self.alarms, self.noise, self.calendar_hours,
                                lambda: self.time_factor or 0.0)
        self.recommendations = RecommendationBook(self.table, self.write)
        self.recommendations.add_tags(spec.line)
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
        self.audit: deque[AuditRecord] = deque(maxlen=10_000)
        self._pending: deque[_PendingWrite] = deque()
        self._event_listeners: list[Callable[[PlcEvent], None]] = []
        self._scan_listeners: list[Callable[[list[Tag]], None]] = []
        self._async_scan_listeners: list[Callable[[list[Tag]], Awaitable[None]]] = []
        self._machine_names = {x.name for row in self.model.machines for x in row}
        self.model.listeners.append(self._on_model_event)
        self.table.refresh(self.calendar_h)

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
        for fn in self._event_listeners:
            fn(ev)
        return ev

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
        ev = PlcEvent(kind, name, info["station"], SEVERITY[kind], text, at_h, {})
        for fn in self._event_listeners:
            fn(ev)

    # --- scans --------------------------------------------------------------------------

    def scan(self, until_calendar_h: float) -> list[Tag]:
        """One PLC scan: apply accepted writes, advance the plant, refresh the tag table.
        The changed tags include the setpoints written since the last scan (their tags have
        shown the commanded value since the write; a write that failed to apply shows the
        plant's value again)."""
        written = self._apply_pending()
        if until_calendar_h > self.calendar_h:
            self.model.run_calendar(until_calendar_h)
            self.calendar_h = until_calendar_h
        self.scans += 1
        changed = self.table.refresh(self.calendar_h)
        seen = set(map(id, changed))
        changed.extend(t for t in dict.fromkeys(written) if id(t) not in seen)
        for fn in self._scan_listeners:
            fn(changed)
        return changed

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
        """Scan until `stop` is set. Each scan maps wall time to plant time; a scan that
        takes longer than its period is reported as an overrun event, and the loop still
        gets a fifth of a period to serve clients before the next scan. After a hold, plant
        time goes on from where it stood (no jump for the time spent held)."""
        loop = asyncio.get_running_loop()
        t0, cal0 = loop.time(), self.calendar_h
        deadline = t0
        while not stop.is_set():
            if self.held:
                await asyncio.sleep(self.scan_s)
                t0, cal0 = loop.time(), self.calendar_h
                deadline = t0
                continue
            if self.time_factor is None:
                await self._publish(self.scan(self._bounded(self.calendar_h + self.fast_step_h)))
                self._hold_if_reached()
                await asyncio.sleep(0)
                continue
            started = loop.time()
            target = cal0 + (started - t0) * self.time_factor / 3600.0
            cpu = time.perf_counter()
            changed = self.scan(self._bounded(target))
            took = time.perf_counter() - cpu
            await self._publish(changed)
            self._hold_if_reached()
            deadline += self.scan_s
            if took > self.scan_s:
                self.overruns += 1
                self._report_overrun(took)
            if took > self.scan_s or loop.time() > deadline + self.scan_s:
                self.late_scans += took <= self.scan_s
                deadline = loop.time() + self.scan_s * 0.2
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(deadline - loop.time(), 0.0))

    async def run_to(self, calendar_h: float) -> None:
        """Release the plant and return once the scan has reached `calendar_h` and held it
        there (the scan loop `run` must be running). Plant time then stands still until
        the next release, so work between two `run_to` calls (an optimisation cycle at a
        fixed plant hour) does not depend on how fast the machine is."""
        if calendar_h <= self.calendar_h:
            self.held = True
            return
        self._reached.clear()
        self.hold_at_h = calendar_h
        self.held = False
        await self._reached.wait()

    def _bounded(self, target_h: float) -> float:
        return target_h if self.hold_at_h is None else min(target_h, self.hold_at_h)

    def _hold_if_reached(self) -> None:
        if self.hold_at_h is not None and self.calendar_h >= self.hold_at_h:
            self.held, self.hold_at_h = True, None
            self._reached.set()

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

    def command(self, name: Command | str, machine: str | None, role: Role | None, user: str = "anonymous",
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
            return CommandContext(self.model, self.alarms, None, self.recommendations, user, role)
        if machine is None:
            raise Rejected(Refusal.ARGUMENTS_MISSING, f"{spec.command} needs a machine")
        if self._machine_or_none(machine) is None:
            raise Rejected(Refusal.NOT_FOUND, f"no machine {clip(machine)}")
        return CommandContext(self.model, self.alarms, self.model.machine(machine), self.recommendations, user, role)

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


def _subscribe(listeners: list[Any], fn: Any) -> Callable[[], None]:
    listeners.append(fn)

    def remove() -> None:
        if fn in listeners:
            listeners.remove(fn)
    return remove
