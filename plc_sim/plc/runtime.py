"""The PLC runtime: drives the line model in scaled real time from an asyncio task, one scan
at a time, publishes the tag table, applies validated setpoint writes at the next scan and
runs operator commands. It never blocks the event loop for longer than one scan's worth of
simulation, and reports scan overruns instead of drifting silently.

Plant time runs on the plant calendar: `time_factor` 60 means one plant minute per wall
second; `time_factor=None` runs as fast as possible (tests), `fast_step_h` plant hours a scan.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

from .alarms import AlarmBook
from plc_sim.model.line import LineModel
from plc_sim.model.machine import InterlockError
from plc_sim.model.spec import PlantSpec
from .tagmap import build_tags
from plc_sim.model.vocab import role_allows

from .tags import Refusal, Rejected, Tag

log = logging.getLogger("plc")

PLANT_EPOCH = datetime(2026, 1, 5, tzinfo=timezone.utc)
"""Calendar hour 0 of every plant: a Monday, 00:00 UTC (source timestamps are plant time)."""

SEVERITY = {"breakdown": 800, "repair": 300, "maintenance_start": 200, "maintenance_end": 200,
            "scan_overrun": 500, "write_refused": 400, "alarm_acknowledged": 300, "command": 100}


@dataclass
class PlcEvent:
    kind: str
    source: str | None
    station: str | None
    severity: int
    message: str
    plant_h: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def time(self) -> datetime:
        return PLANT_EPOCH + timedelta(hours=self.plant_h)


@dataclass
class AuditRecord:
    plant_h: float
    user: str
    action: str
    value: Any
    result: str


class PlcRuntime:
    """One simulated PLC over one line model."""

    def __init__(self, spec: PlantSpec, seed: int = 1, time_factor: float | None = 60.0,
                 scan_s: float = 0.1, fast_step_h: float = 0.05) -> None:
        if time_factor is not None and time_factor <= 0:
            raise ValueError("time_factor must be positive (or None for as fast as possible)")
        self.spec = spec
        self.model = LineModel(spec, seed)
        self.time_factor = time_factor
        self.scan_s = scan_s
        self.fast_step_h = fast_step_h
        self.alarms = AlarmBook()
        self._noise_rng = random.Random(seed)
        self.table = build_tags(self)
        self.calendar_h = 0.0
        self.scans = 0
        self.overruns = 0
        self.audit: deque[AuditRecord] = deque(maxlen=10_000)
        self._pending: deque[tuple[Callable[[], None], str]] = deque()
        self._event_listeners: list[Callable[[PlcEvent], None]] = []
        self._scan_listeners: list[Callable[[list[Tag]], None]] = []
        self._async_scan_listeners: list[Callable[[list[Tag]], Awaitable[None]]] = []
        self.model.listeners.append(self._on_model_event)
        self.table.refresh(0.0)

    # --- time ---------------------------------------------------------------------------

    def noise(self) -> float:
        """Sensor noise for published signals, from the PLC's own generator (reading
        sensors never changes the model's random streams)."""
        return self._noise_rng.gauss(0.0, 1.0)

    def plant_hours(self) -> float:
        return self.calendar_h

    def plant_time(self) -> datetime:
        return PLANT_EPOCH + timedelta(hours=self.calendar_h)

    # --- listeners ----------------------------------------------------------------------

    def on_event(self, fn: Callable[[PlcEvent], None]) -> None:
        self._event_listeners.append(fn)

    def on_scan(self, fn: Callable[[list[Tag]], None]) -> None:
        """`fn(changed_tags)` after every scan (the OPC UA server's tag sync)."""
        self._scan_listeners.append(fn)

    def on_scan_async(self, fn: Callable[[list[Tag]], Awaitable[None]]) -> None:
        """`await fn(changed_tags)` after every scan of `run()` (the OPC UA tag sync)."""
        self._async_scan_listeners.append(fn)

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
            self.alarms.raise_(name, at_h)
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
        """One PLC scan: apply accepted writes, advance the plant, refresh the tag table."""
        while self._pending:
            action, what = self._pending.popleft()
            try:
                action()
            except ValueError as e:
                self._emit("write_refused", None, f"{what} refused at apply: {e}")
        if until_calendar_h > self.calendar_h:
            self.model.run_calendar(until_calendar_h)
            self.calendar_h = until_calendar_h
        self.scans += 1
        changed = self.table.refresh(self.calendar_h)
        for fn in self._scan_listeners:
            fn(changed)
        return changed

    async def run(self, stop: asyncio.Event) -> None:
        """Scan until `stop` is set. Each scan maps wall time to plant time; a scan that
        takes longer than its period is reported as an overrun event, and the loop still
        gets a fifth of a period to serve clients before the next scan."""
        loop = asyncio.get_running_loop()
        t0, cal0 = loop.time(), self.calendar_h
        deadline = t0
        while not stop.is_set():
            if self.time_factor is None:
                await self._publish(self.scan(self.calendar_h + self.fast_step_h))
                await asyncio.sleep(0)
                continue
            started = loop.time()
            target = cal0 + (started - t0) * self.time_factor / 3600.0
            cpu = time.perf_counter()
            await self._publish(self.scan(target))
            took = time.perf_counter() - cpu
            deadline += self.scan_s
            if took > self.scan_s or loop.time() > deadline + self.scan_s:
                self.overruns += 1
                self._emit("scan_overrun", None, f"scan took {took * 1000:.0f} ms (period {self.scan_s * 1000:.0f} ms)",
                           took_ms=took * 1000)
                deadline = loop.time() + self.scan_s * 0.2
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(deadline - loop.time(), 0.0))
            except asyncio.TimeoutError:
                pass

    async def _publish(self, changed: list[Tag]) -> None:
        for fn in self._async_scan_listeners:
            await fn(changed)

    # --- writes and commands ------------------------------------------------------------

    def write(self, key: str, value: Any, role: str | None, user: str = "anonymous") -> None:
        """Validate a setpoint write now; it takes effect at the next scan. Raises Rejected
        (and reports a write_refused event) when refused; a refusal changes nothing."""
        try:
            tag = self.table.get(key)
            v = tag.validate(value, role)
        except Rejected as e:
            self.report_refusal(key, value, user, e)
            raise
        self._pending.append((lambda: tag.apply(v), f"write {key}={v!r}"))
        self.audit.append(AuditRecord(self.calendar_h, user, f"write {key}", v, "accepted"))
        log.info("%s wrote %s = %r (applies next scan)", user, key, v)

    def command(self, name: str, machine: str | None, role: str | None, user: str = "anonymous",
                **args: Any) -> str:
        """Run an operator command now; returns a short result text or raises Rejected."""
        needed = "engineer" if name in ("set_kanbans", "set_conwip") else "operator"
        what = f"{name}({machine or ''}{', ' if machine and args else ''}{', '.join(f'{k}={v}' for k, v in args.items())})"
        try:
            if not role_allows(role, needed):
                raise Rejected(Refusal.ACCESS_DENIED, f"{name} needs the {needed} role")
            result = self._run_command(name, machine, **args)
        except Rejected as e:
            self.report_refusal(what, None, user, e)
            raise
        self.audit.append(AuditRecord(self.calendar_h, user, what, None, result))
        self._emit("command", machine, f"{user}: {what}: {result}")
        return result

    def _run_command(self, name: str, machine: str | None, **args: Any) -> str:
        m = self.model
        try:
            mach = m.machine(machine) if machine is not None else None
        except KeyError:
            raise Rejected(Refusal.NOT_FOUND, f"no machine {machine}") from None
        try:
            if name == "start":
                mach.set_stopped(False)
                return f"{machine} started"
            if name == "stop":
                mach.set_stopped(True)
                return f"{machine} stops after its current job"
            if name == "acknowledge":
                self.alarms.acknowledge(machine)
                self._emit("alarm_acknowledged", machine, f"breakdown alarm of {machine} acknowledged")
                return "acknowledged"
            if name == "reset":
                if mach.failed:
                    raise InterlockError(f"{machine} is still down")
                if not self.alarms.acked(machine):
                    raise InterlockError(f"acknowledge the alarm of {machine} first")
                return "fault reset"
            if name == "maintain":
                mach.request_maintenance()
                return f"{machine}: maintenance starts when the current job ends"
            if name == "set_kanbans":
                m.set_kanbans(int(args["stage"]) - 1, m.products.index(args["product"]) if not m.shared else 0,
                              int(args["value"]))
                return "kanbans set"
            if name == "set_conwip":
                m.set_conwip(m.products.index(args["product"]), int(args["value"]))
                return "CONWIP cards set"
        except (ValueError, IndexError) as e:
            raise Rejected(Refusal.INVALID_STATE if isinstance(e, InterlockError) else Refusal.OUT_OF_RANGE,
                           str(e)) from None
        raise Rejected(Refusal.NOT_FOUND, f"no command {name}")

    def report_refusal(self, what: str, value: Any, user: str, e: Rejected) -> None:
        """Record and report a refused write or command (also used by the OPC UA server
        for refusals it decides itself, such as a wrong variant type)."""
        self.audit.append(AuditRecord(self.calendar_h, user, what, value, e.refusal.value))
        source = None
        parts = what.split("/")
        if len(parts) >= 4:
            source = parts[2] if parts[2] in {x.name for row in self.model.machines for x in row} else None
        self._emit("write_refused", source, f"{user}: {what}{'' if value is None else f'={value!r}'} refused: {e}")
