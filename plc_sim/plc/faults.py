"""Faults on demand: the kinds of fault an engineer (or a fault script) injects into the running
plant, and the set of active ones.

A fault starts now (or at a script's plant hour), lasts `duration_h` plant hours and ends by
itself at its end hour or earlier by `clear`. Machine faults go through the model's public
methods (`Machine.break_for`), line faults set the model's injected levers (`supply_stopped`,
`demand_factor`) or shed load (power cap), tag faults change what a measurement shows: its
value (freeze, drift, noise, stick) or its quality (a StatusCode name, the last value kept).
The runtime advances the plant to every start and end hour exactly, so a run with the same seed
and script is the same event for event, whatever the scan period.
"""

from __future__ import annotations

import enum
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import plant_tags as tags
from plc_sim.model.line import LineModel
from plc_sim.model.vocab import MachineState

from .checks import Refusal, Rejected, check_number, check_type, clip
from .tags import Tag, TagTable


class FaultKind(enum.StrEnum):
    """The faults the PLC injects (their values are the names scripts and events use)."""

    BREAK_MACHINE = "break_machine"
    FREEZE = "freeze"
    DRIFT = "drift"
    NOISE = "noise"
    STICK = "stick"
    QUALITY = "quality"
    STOP_SUPPLY = "stop_supply"
    DEMAND_SURGE = "demand_surge"
    POWER_CAP = "power_cap"


TAG_KINDS = frozenset({FaultKind.FREEZE, FaultKind.DRIFT, FaultKind.NOISE, FaultKind.STICK, FaultKind.QUALITY})
"""Faults of one measurement tag (`target` is its key)."""
NUMERIC_KINDS = frozenset({FaultKind.DRIFT, FaultKind.NOISE, FaultKind.STICK})
"""Tag faults that compute a value: only on Double tags."""

QUALITIES = ("Bad", "BadSensorFailure", "BadCommunicationError", "BadNoCommunication", "BadOutOfService",
             "Uncertain", "UncertainLastUsableValue", "UncertainSensorNotAccurate",
             "UncertainNoCommunicationLastUsableValue")
"""The StatusCodes a quality fault may put on a tag (sensor failure, lost comms...)."""

ORDER_FIELDS: dict[FaultKind, tuple[str | None, str | None]] = {
    FaultKind.BREAK_MACHINE: ("machine", None), FaultKind.FREEZE: ("tag", None), FaultKind.DRIFT: ("tag", "rate"),
    FaultKind.NOISE: ("tag", "sd"), FaultKind.STICK: ("tag", "value"), FaultKind.QUALITY: ("tag", "quality"),
    FaultKind.STOP_SUPPLY: (None, None), FaultKind.DEMAND_SURGE: (None, "factor"), FaultKind.POWER_CAP: (None, "kw")}
"""Per kind, the name of the argument (command) or field (script) naming its target and the
one carrying its value; None: the kind has none."""

MAX_DURATION_H = 100_000.0
MIN_DURATION_H = 0.001
MAX_ACTIVE = 256
"""Active faults at once by default (the server's `max_active_faults`): a client injecting in a
loop cannot grow the PLC's memory or its scan."""
MAX_SURGE = 100.0
"""The largest demand surge factor."""
MAX_CAP_KW = 1e7


@dataclass
class Fault:
    """One injected fault. `value` is the kind's parameter: drift rate (per plant hour), noise
    standard deviation, stuck value, quality StatusCode name, surge factor or power cap (kW)."""

    id: int
    kind: FaultKind
    start_h: float
    end_h: float
    user: str
    target: str | None = None
    value: float | str | None = None
    held: Any = None
    """Freeze and quality: the value the tag showed when the fault started."""
    shed: list[str] = field(default_factory=list)
    """Power cap: machines it stopped, in order."""
    rng: random.Random | None = None
    """Noise: its own generator, seeded from the run's seed and the fault's id."""

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": str(self.kind), "target": self.target, "value": self.value,
                "start_h": round(self.start_h, 6), "end_h": round(self.end_h, 6), "by": self.user}

    @property
    def what(self) -> str:
        """The kind and its arguments, e.g. `stick(GearLine/MP2/MP2/PowerKW, 1.25)`."""
        return f"{self.kind}({', '.join(clip(x, 96) for x in (self.target, self.value) if x is not None)})"

    def describe(self) -> str:
        return f"fault {self.id} {self.what}"

    def shown(self, value: Any, quality: str, now_h: float, tag: Tag) -> tuple[Any, str]:
        """What the tag shows under this fault, given its reading (or the faults before it)."""
        k = self.kind
        if k == FaultKind.FREEZE:
            return self.held, quality
        if k == FaultKind.QUALITY:
            return self.held, str(self.value)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return value, quality
        if k == FaultKind.STICK:
            out = self.number
        elif k == FaultKind.DRIFT:
            out = value + self.number * (now_h - self.start_h)
        else:
            assert self.rng is not None, "a noise fault has its generator"
            out = value + self.rng.gauss(0.0, self.number)
        return _saturated(out, tag), quality

    @property
    def number(self) -> float:
        """The parameter of a fault that takes a number (checked when it started)."""
        assert isinstance(self.value, (int, float)), f"{self.kind} takes a number"
        return float(self.value)

    def state(self) -> dict[str, Any]:
        """The fault as JSON-able data (a simulation snapshot)."""
        d = {**self.as_json(), "start_h": self.start_h, "end_h": self.end_h, "held": self.held, "shed": list(self.shed)}
        if self.rng is not None:
            d["rng"] = _rng_state(self.rng)
        return d

    @classmethod
    def from_state(cls, d: dict[str, Any]) -> Fault:
        f = cls(d["id"], FaultKind(d["kind"]), d["start_h"], d["end_h"], d["by"], d["target"], d["value"],
                d["held"], list(d["shed"]))
        if "rng" in d:
            f.rng = random.Random()
            f.rng.setstate(_rng_from(d["rng"]))
        return f


@dataclass(frozen=True)
class FaultOrder:
    """A fault to start: what a command or a script line asks for."""

    kind: FaultKind
    duration_h: float
    target: str | None = None
    value: float | str | None = None


@dataclass(frozen=True)
class Scheduled:
    """A fault of a script, started at plant hour `at_h`."""

    at_h: float
    order: FaultOrder


class FaultRejected(Rejected):
    """A fault refused, with the part of the order at fault: "target", "value" or "duration_h"."""

    def __init__(self, refusal: Refusal, message: str, part: str) -> None:
        super().__init__(refusal, message)
        self.part = part


class FaultReport(Protocol):
    def __call__(self, kind: str, fault: Fault, text: str) -> None: ...


class FaultSet:
    """The active faults of one PLC, its scripted ones still to come, and their effects.
    `model` gives the running line model (a reset or a loaded snapshot replaces it), `clock`
    the plant calendar hour, `report(kind, fault, text)` tells the runtime of a start or end
    (it emits the event and writes the audit)."""

    def __init__(self, model: Callable[[], LineModel], table: TagTable, clock: Callable[[], float], seed: int,
                 report: FaultReport) -> None:
        self._model = model
        self.table = table
        self._clock = clock
        self.seed = seed
        self._report = report
        self.active: dict[int, Fault] = {}
        self.last_id = 0
        self.script: list[Scheduled] = []
        self._next = 0
        """Index of the first scripted fault not yet started."""
        self.max_active = MAX_ACTIVE

    # --- the rule ------------------------------------------------------------------------

    def check(self, order: FaultOrder) -> None:
        """Rejected unless `order` can start on this plant now: the one check of a fault that
        commands and fault scripts share (a script checks it against the plant when loaded)."""
        try:
            _number(order.duration_h, "duration_h", MIN_DURATION_H, MAX_DURATION_H)
        except Rejected as e:
            raise FaultRejected(e.refusal, str(e), "duration_h") from None
        target, value = ORDER_FIELDS[order.kind]
        if (order.target is not None) != (target is not None):
            raise FaultRejected(Refusal.INVALID_ARGUMENT, f"a {order.kind} fault takes {target or 'no target'}",
                                "target")
        if (order.value is not None) != (value is not None):
            raise FaultRejected(Refusal.INVALID_ARGUMENT, f"a {order.kind} fault takes {value or 'no value'}", "value")
        if order.kind == FaultKind.BREAK_MACHINE:
            self._machine(order.target)
        tag = self._tag(order)
        try:
            self._value(order, tag)
        except Rejected as e:
            raise FaultRejected(e.refusal, str(e), "value") from None

    def _machine(self, name: object) -> None:
        m = self._model()
        if not isinstance(name, str) or name not in {x.name for row in m.machines for x in row}:
            raise FaultRejected(Refusal.INVALID_ARGUMENT, f"no machine {clip(name)}", "target")

    def _tag(self, order: FaultOrder) -> Tag | None:
        """The measurement of a tag fault (None for the line's faults)."""
        if order.kind not in TAG_KINDS:
            return None
        key = order.target
        tag = self.table.tags.get(key) if isinstance(key, str) else None
        if tag is None or tag.path[1:2] in ((tags.Folder.FAULTS,), (tags.Folder.SIMULATION,)):
            problem = f"no measurement tag {clip(key)} (a path below Objects/Plant)"
        elif tag.writable:
            problem = f"{tag.key} is a setpoint; faults go on measurements"
        elif order.kind in NUMERIC_KINDS and tag.dtype != "Double":
            problem = f"a {order.kind} fault needs a Double tag; {tag.key} is {tag.dtype}"
        else:
            return tag
        raise FaultRejected(Refusal.INVALID_ARGUMENT, problem, "target")

    @staticmethod
    def _value(order: FaultOrder, tag: Tag | None) -> None:
        k, v = order.kind, order.value
        if k == FaultKind.DRIFT:
            _number(v, "rate", None, None)
        elif k == FaultKind.NOISE:
            _number(v, "sd", 0.0, None)
        elif k == FaultKind.STICK:
            assert tag is not None, "a stick fault has its tag"
            _number(v, "value", tag.lo, tag.hi)
        elif k == FaultKind.DEMAND_SURGE:
            _number(v, "factor", 0.01, MAX_SURGE)
        elif k == FaultKind.POWER_CAP:
            _number(v, "kw", 0.0, MAX_CAP_KW)
        elif k == FaultKind.QUALITY and v not in QUALITIES:
            raise Rejected(Refusal.INVALID_ARGUMENT, f"quality {clip(v)} is not one of {', '.join(QUALITIES)}")

    # --- starting and ending ----------------------------------------------------------------

    def start(self, order: FaultOrder, user: str) -> Fault:
        """Start `order` now; Rejected (nothing changed) if it cannot."""
        self.check(order)
        if len(self.active) >= self.max_active:
            raise Rejected(Refusal.INVALID_STATE, f"{self.max_active} faults are active; clear one first")
        now = self._clock()
        f = Fault(self.last_id + 1, order.kind, now, now + order.duration_h, user, order.target, order.value)
        if f.kind == FaultKind.BREAK_MACHINE:
            m = self._model()
            hours = m.calendar.to_working(f.end_h) - m.now
            m.machine(str(f.target)).break_for(max(hours, 1e-9))  # ValueError: refused, nothing changed
        elif f.kind in TAG_KINDS:
            f.held = self.table.get(str(f.target)).value
            if f.kind == FaultKind.NOISE:
                f.rng = random.Random(f"{self.seed}/fault/{f.id}")
        self.last_id = f.id
        self.active[f.id] = f
        self._effects(f)
        self._report("fault_start", f, f"{f.describe()} started by {clip(user, 64)} until plant hour {f.end_h:g}")
        return f

    def clear(self, fault_id: int, user: str) -> Fault:
        """End active fault `fault_id` now; Rejected when there is none."""
        if fault_id not in self.active:
            raise Rejected(Refusal.INVALID_ARGUMENT, f"no active fault {fault_id}")
        return self._end(self.active[fault_id], f"cleared by {clip(user, 64)}")

    def clear_all(self, why: str) -> None:
        for f in list(self.active.values()):
            self._end(f, why)

    def _end(self, f: Fault, why: str) -> Fault:
        del self.active[f.id]
        if f.kind == FaultKind.BREAK_MACHINE:
            self._model().machine(str(f.target)).end_breakdown()
        elif f.kind == FaultKind.POWER_CAP:
            m = self._model()
            for name in f.shed:
                if not any(name in g.shed for g in self.active.values()):
                    m.machine(name).set_stopped(False)
        self._effects(f)
        self._report("fault_end", f, f"{f.describe()} ended: {why}")
        return f

    # --- the scan's hooks -----------------------------------------------------------------

    def next_due(self, until_h: float) -> float | None:
        """The first plant hour up to `until_h` at which a fault starts or ends, if any."""
        times = [f.end_h for f in self.active.values()]
        if self._next < len(self.script):
            times.append(self.script[self._next].at_h)
        t = min(times, default=math.inf)
        return t if t <= until_h else None

    def fire(self, now_h: float) -> None:
        """End the faults due by `now_h`, then start the scripted ones due (the runtime has
        advanced the plant to `now_h`). A scripted fault that cannot start is reported."""
        for f in sorted((f for f in self.active.values() if f.end_h <= now_h), key=lambda f: (f.end_h, f.id)):
            self._end(f, "its time is up")
        while self._next < len(self.script) and self.script[self._next].at_h <= now_h:
            item = self.script[self._next]
            self._next += 1
            try:
                self.start(item.order, "script")
            except (Rejected, ValueError) as e:
                refused = Fault(0, item.order.kind, now_h, now_h, "script", item.order.target, item.order.value)
                self._report("fault_refused", refused, f"scripted {refused.what} at plant hour "
                                                       f"{item.at_h:g} refused: {e}")

    def govern(self) -> None:
        """Each scan: hold the line's draw under the lowest active power cap by stopping the
        machine drawing most (it finishes its job first) and starting the last one stopped once
        its processing draw fits again; one machine per scan."""
        caps = [f for f in self.active.values() if f.kind == FaultKind.POWER_CAP]
        if not caps:
            return
        cap = min(caps, key=lambda f: (f.number, f.id))
        limit = cap.number
        m = self._model()
        machines = [x for row in m.machines for x in row]
        shed = {n for f in caps for n in f.shed}
        winding_down = sum(x.p_now - x.draw_kw(MachineState.OFF) for x in machines
                           if x.name in shed and x.stopped and x.job is not None)
        if m.power_now - winding_down > limit:
            running = [x for x in machines if not x.stopped and x.name not in shed]
            if running:
                top = max(running, key=lambda x: (x.p_now, x.name))
                top.set_stopped(True)
                cap.shed.append(top.name)
        elif cap.shed:
            last = m.machine(cap.shed[-1])
            if m.power_now - last.p_now + last.draw_kw(MachineState.PROCESSING) <= limit:
                cap.shed.pop()
                last.set_stopped(False)

    def _effects(self, changed: Fault) -> None:
        """Bring the model's levers and the tags' readings in line with the active set."""
        self._levers()
        if changed.kind in TAG_KINDS:
            self._install(str(changed.target))

    def _install(self, key: str) -> None:
        tag = self.table.get(key)
        faults = sorted((f for f in self.active.values() if f.target == key and f.kind in TAG_KINDS),
                        key=lambda f: f.id)
        tag.fault = _reading(faults, tag, self._clock) if faults else None

    # --- script, snapshot and reset --------------------------------------------------------

    def schedule(self, items: list[Scheduled]) -> None:
        """Take a (checked) fault script: its faults start at their plant hours."""
        self.script = sorted(items, key=lambda s: s.at_h)
        self._next = 0
        now = self._clock()
        while self._next < len(self.script) and self.script[self._next].at_h < now:
            self._next += 1

    def state(self) -> dict[str, Any]:
        return {"active": [f.state() for f in self.active.values()], "last_id": self.last_id, "next": self._next}

    def restore(self, state: dict[str, Any]) -> None:
        """Take the faults of a snapshot (the runtime has installed the snapshot's model)."""
        self.active = {f.id: f for f in map(Fault.from_state, state["active"])}
        self.last_id, self._next = state["last_id"], state["next"]
        self._refresh_all()

    def restart(self, seed: int) -> None:
        """A reset plant: no fault active, the script from its start."""
        self.active.clear()
        self.seed, self.last_id = seed, 0
        self.schedule(self.script)
        self._refresh_all()

    def _refresh_all(self) -> None:
        for tag in self.table:
            tag.fault = None
        keys = {str(f.target) for f in self.active.values() if f.kind in TAG_KINDS}
        for key in keys:
            self._install(key)
        self._levers()

    def _levers(self) -> None:
        """The model's injected levers as the active line faults set them."""
        m = self._model()
        m.supply_stopped = any(f.kind == FaultKind.STOP_SUPPLY for f in self.active.values())
        m.demand_factor = math.prod(f.number for f in self.active.values() if f.kind == FaultKind.DEMAND_SURGE)

    # --- tags ----------------------------------------------------------------------------

    @property
    def active_text(self) -> str:
        return json.dumps([f.as_json() for f in self.active.values()], allow_nan=False)

    def add_tags(self, line: str) -> None:
        """The Faults folder's tags."""
        self.table.add(Tag((line, tags.Folder.FAULTS, "Active"), "String", lambda: self.active_text,
                           description="active faults as JSON: [{id, kind, target, value, start_h, end_h, by}]"))
        self.table.add(Tag((line, tags.Folder.FAULTS, "Count"), "Int32", lambda: len(self.active), "faults", 0, None,
                           description="faults active now"))
        self.table.add(Tag((line, tags.Folder.FAULTS, "LastId"), "Int32", lambda: self.last_id, "", 0, None,
                           description="id of the newest fault (ClearFault takes it)"))


def _reading(faults: list[Fault], tag: Tag, clock: Callable[[], float]) -> Callable[[Any, str], tuple[Any, str]]:
    def shown(value: Any, quality: str) -> tuple[Any, str]:
        now = clock()
        for f in faults:
            value, quality = f.shown(value, quality, now, tag)
        return value, quality
    return shown


def _saturated(value: float, tag: Tag) -> float:
    """A transmitter's output stays within its range."""
    if tag.lo is not None:
        value = max(value, tag.lo)
    if tag.hi is not None:
        value = min(value, tag.hi)
    return value


def _number(value: object, what: str, lo: float | None, hi: float | None) -> float:
    check_type(value, "Double", what)
    return check_number(value, lo, hi, what)  # type: ignore[arg-type]


def _rng_state(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _rng_from(d: list[Any]) -> tuple[Any, ...]:
    return (d[0], tuple(d[1]), d[2])
