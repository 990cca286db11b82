"""The SimPy line model: stations of machines, card-controlled flow, demand, raw material,
scrap, recycling and returns, under one of the four control models of seed 004.

The clock counts plant-calendar hours (see `calendar.py`); a plant whose calendar is not 24/7
freezes it off-shift, a 24/7 plant puts its stations on shift plans instead. Flow state is plain counters and
deques; SimPy processes drive time (machines, failures, maintenance, order arrivals, raw
deliveries, recycling). A model can be snapshotted at any time between events and rebuilt
from the snapshot; the rebuilt model continues exactly as the original would have.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import simpy

from .calendar import PlantCalendar, ShiftMeter, shift_status
from .cards import CardCounts, DedicatedPool, Pool, SharedPool
from .counters import LineCounters
from .env import PlantEnv
from .faces import LineFace
from .flow import CardFlow
from .machine import Machine, MachinePhysics, Proc
from .policies import policy_for
from .sources import Deliveries, Orders, Recycling
from .spec import PlantSpec
from .state import LineState, load_into, snapshot_of
from .streams import Streams
from .view import MachineView
from .vocab import broadcasts_demand

SNAPSHOT_VERSION = 5
"""5: the line's state is the flat fields of `LineState` (4 nested some of them)."""

MAX_CARDS = 999
"""The most kanban or CONWIP cards a live change sets (the PLC's Control range 1..999)."""


def stream_names(spec: PlantSpec) -> list[str]:
    """Every random source of a plant, in a fixed order that depends only on its structure."""
    names = [f"demand.{p}" for p in spec.products] + [f"raw.{p}" for p in spec.products]
    names += ["returns", "recycling"]
    for st in spec.stations:
        for m in st.machines:
            names += [f"{m.name}.{k}" for k in ("processing", "failures", "maintenance", "defects")]
    names += [f"{m.name}.sensor" for m in spec.all_machines()]
    return names


class LineModel(LineFace):
    """One replication of a plant under the control model named in `spec.policy.model`.

    Its changing state is `self.state` (a `LineState`: snapshots walk its fields), moved by
    the card flow `self.flow` (`flow.CardFlow`), the machines and the sources; the rest is
    structure fixed at construction. Readers see the state through `LineFace`."""

    def __init__(self, spec: PlantSpec, seed: int | np.random.SeedSequence = 0,
                 _snapshot: dict[str, Any] | None = None) -> None:
        self.spec = spec
        self.model_name = spec.policy.model
        self.policy, shared = policy_for(self.model_name)
        self.shared = shared
        self.calendar = PlantCalendar.from_spec(spec.calendar)
        self.products = spec.product_names
        self.n_products = P = len(self.products)
        self.n_stages = len(spec.stations)
        self.env = PlantEnv(initial_time=_snapshot["now"] if _snapshot else 0.0)
        self.streams = Streams(seed, stream_names(spec))
        self.timers: dict[str, simpy.Event] = {}
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self.state = _initial_state(spec, shared, self.env.now)
        self.demand_spec = [spec.demand[p] for p in self.products]
        self.shift_procs: dict[int, simpy.Process] = {}
        self.supply_stopped = False
        """Raw-material deliveries arrive empty while set (an injected supply stop; not snapshotted:
        the PLC that injects it sets it again on a restored model)."""
        self.demand_factor = 1.0
        """Order rate multiplier (an injected demand surge; not snapshotted, as `supply_stopped`)."""
        self.kanban_on_start = spec.policy.kanban_until == "next_start"
        self.flow = CardFlow(self.state, self.env, self.policy, broadcasts_demand(self.model_name), P,
                             self.kanban_on_start, [st.buffer for st in spec.stations])
        self._reset_counters()
        self.machines = self._build_machines()
        self.recycling = Recycling(self)
        self.flow.attach(self.machines, self.recycling, self.streams["returns"], spec.quality.return_prob,
                         self.products, self.listeners)
        st = self.state
        st.next_order = [self.env.now + self.streams[f"demand.{p}"].sample(d.interarrival)
                         for p, d in zip(self.products, self.demand_spec)]
        st.next_raw = [self.env.now + self.streams[f"raw.{p}"].sample(spec.raw.interval) for p in self.products]
        self.orders = [Orders(self, p) for p in range(P)]
        self.deliveries = [Deliveries(self, p) for p in range(P)]
        if _snapshot is not None:
            self._load(_snapshot)
            self._start(_snapshot["timer_order"])
        else:
            self._place_initial_stock()
            self._start([])
            self.policy.start(self.flow)

    # --- construction -----------------------------------------------------------------

    def _build_machines(self) -> list[list[Machine]]:
        spec = self.spec
        n_m = sum(len(st.machines) for st in spec.stations)
        machines: list[list[Machine]] = []
        k = 0
        for s, st in enumerate(spec.stations):
            row = []
            dists = [spec.processing_hours(p, s) for p in self.products]
            for ms in st.machines:
                k += 1
                first = self.env.now + spec.machine_maintenance(ms).interval_h * k / n_m
                row.append(Machine(self, s, ms.name, MachinePhysics.of(spec, ms, s), dists, self.streams, first))
            machines.append(row)
        return machines

    def _reset_counters(self) -> None:
        st, P, now = self.state, self.n_products, self.env.now
        st.count = LineCounters()
        st.demand_n = [0] * P
        st.delivered = [0] * P
        st.lost = [0] * P
        st.returned = [0] * P
        st.scrapped = [0] * P
        st.stats_t = now
        st.wip_area = [0.0] * self.n_stages
        st.wip_t = [now] * self.n_stages
        st.fg_area = 0.0
        st.fg_t = now
        st.shift_meter.reset(now)

    def _place_initial_stock(self) -> None:
        """Base stocks S: parts already in the output buffers, holding their cards."""
        st, flow = self.state, self.flow
        for p, name in enumerate(self.products):
            for s, n in enumerate(self.spec.policy.S[name]):
                for _ in range(n):
                    st.conwip_free[p] -= 1
                    st.life["initial"] += 1
                    pool = st.pools[s]
                    if pool is not None:
                        pool.take_initial(p)
                    if s == self.n_stages - 1:
                        flow.to_stock(p, 1)
                    else:
                        flow.wip(s, 1)
                        st.buf[s][p] += 1

    def _processes(self) -> dict[str, Callable[[], Proc]]:
        procs: dict[str, Callable[[], Proc]] = {}
        for row in self.machines:
            for m in row:
                procs.update(m.processes())
        for p, name in enumerate(self.products):
            procs[f"demand.{name}"] = self.orders[p].run
            procs[f"raw.{name}"] = self.deliveries[p].run
        procs["recycling"] = self.recycling.run
        for s, st in enumerate(self.spec.stations):
            if st.shift is not None:
                procs[f"shift.{st.name}"] = partial(self._shifts, s)
        return procs

    def _start(self, order: list[str]) -> None:
        procs = self._processes()
        keys = [k for k in order if k in procs] + [k for k in procs if k not in order]
        for key in keys:
            proc = self.env.process(procs[key]())
            if key.endswith(".run"):
                self.machine(key[:-4]).proc = proc
            elif key.endswith(".maint"):
                self.machine(key[:-6]).maint_proc = proc
            elif key.startswith("shift."):
                self.shift_procs[self.station_index(key[6:])] = proc

    def station_index(self, name: str) -> int:
        for s, st in enumerate(self.spec.stations):
            if st.name == name:
                return s
        raise KeyError(name)

    def machine(self, name: str) -> Machine:
        for row in self.machines:
            for m in row:
                if m.name == name:
                    return m
        raise KeyError(name)

    def timer(self, key: str, t: float) -> simpy.Event:
        ev = self.env.at(t)
        self.timers[key] = ev
        return ev

    # --- what the machines ask of their line (MachineHost) --------------------------------

    @property
    def meter(self) -> LineState:
        """Where the machines book power and event counts: the line's state."""
        return self.state

    def dispatch(self, s: int) -> None:
        self.flow.dispatch(s)

    def complete(self, m: Machine, p: int) -> None:
        self.flow.complete(m, p)

    def take_hook(self, s: int) -> Callable[[int], None] | None:
        return self.flow.take_hook(s)

    # --- live parameter changes (PLC commands) --------------------------------------------

    def set_kanbans(self, stage: int, product: int, value: int) -> None:
        """Set the kanban count of `stage` (0-based, not the last) for `product`; in S-KAP
        the shared count (product ignored). Cutting it retires cards as they come free.
        At most MAX_CARDS: the work is bounded by the requests waiting for a card."""
        if not 0 <= stage < self.n_stages or self.state.pools[stage] is None:
            raise ValueError(f"stage {stage + 1} has no kanbans (it is bounded by CONWIP)")
        if not 0 <= product < self.n_products:
            raise ValueError(f"no product {product}")
        if not 1 <= value <= MAX_CARDS:
            raise ValueError(f"a kanban count is 1..{MAX_CARDS} (got {value})")
        self.flow.resize_kanbans(stage, product, value)

    def set_conwip(self, product: int, value: int) -> None:
        """Set the CONWIP card count of `product`; a cut retires cards as they come free.
        At most MAX_CARDS; cards that only cancel a pending cut are booked at once, so the
        work is bounded by the cards that become free (each one is a request in HK-CONWIP)."""
        if not 0 <= product < self.n_products:
            raise ValueError(f"no product {product}")
        if not 1 <= value <= MAX_CARDS:
            raise ValueError(f"a CONWIP card count is 1..{MAX_CARDS} (got {value})")
        self.flow.resize_conwip(product, value)

    def emit(self, kind: str, info: dict[str, Any]) -> None:
        """Tell listeners (the PLC runtime, tests) of an event: breakdown, repair,
        maintenance_start, maintenance_end, order, delivery."""
        for fn in self.listeners:
            fn(kind, info)

    def on_machine_event(self, m: Machine, kind: str) -> None:
        self.emit(kind, {"machine": m.name, "station": self.spec.stations[m.stage].name, "t": self.env.now})

    def _shifts(self, s: int) -> Proc:
        """Turns station s's machines off outside its shift windows (a running job ends
        first) and on again at the next window."""
        name = self.spec.stations[s].name
        while True:
            plan_name = self.state.shift_plan[s]
            assert plan_name is not None, "only stations on shift plans run this process"
            plan = self.spec.shift_plans[plan_name]
            on, change = shift_status(plan, self.env.now)
            self.state.shift_meter.book(s, self.env.now, on)
            for m in self.machines[s]:
                m.set_off_shift(not on)
            if on:
                self.flow.dispatch(s)
            try:
                yield self.timer(f"shift.{name}", change)
            except simpy.Interrupt:
                continue

    def set_shift(self, s: int, plan: str) -> None:
        """Put station s on another named shift plan of the plant file, from now on."""
        if plan not in self.spec.shift_plans:
            raise ValueError(f"unknown shift plan {plan!r} (plans: {', '.join(self.spec.shift_plans)})")
        if self.state.shift_plan[s] is None:
            raise ValueError(f"station {self.spec.stations[s].name} works the plant calendar, not shifts")
        self.state.shift_plan[s] = plan
        self.shift_procs[s].interrupt("shift plan changed")

    # --- running ------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """Working hours since the start."""
        return self.env.now

    def run_working(self, until: float) -> None:
        if until > self.env.now:
            self.env.run(until=until)

    def first_shift_h(self, step_h: float = 0.25) -> float:
        """The first calendar hour of the first week (to `step_h`) at which a station is on
        shift: where a demo or a PLC starts so that the plant moves at once."""
        for k in range(int(168 / step_h)):
            h = k * step_h
            for s in range(self.n_stages):
                plan = self.state.shift_plan[s]
                if plan is None:
                    if self.calendar.is_working(h):
                        return h
                elif shift_status(self.spec.shift_plans[plan], self.calendar.to_working(h))[0]:
                    return h
        return 0.0

    def run_calendar(self, until_h: float) -> None:
        """Advance to calendar hour `until_h` (the line works only in its shifts)."""
        self.run_working(self.calendar.to_working(until_h))

    def reset_stats(self) -> None:
        """Start measuring now (the end of a warm-up); the plant itself is untouched."""
        self._reset_counters()
        for row in self.machines:
            for m in row:
                m.reset_stats()
        self.state.peak_kw = self.state.power_now

    def settle(self) -> None:
        """Book every machine's time up to now and restart the peak meter at the present
        draw (a model rebuilt from an observation starts its accounts now)."""
        for row in self.machines:
            for m in row:
                m.settle()
        self.state.peak_kw = self.state.power_now

    def machine_status(self, mach: MachineView) -> str:
        """The machine's state as an operator sees it: an idle machine is *starved* when its
        station holds production authorisations waiting for input parts, *blocked* when
        requests wait for a kanban of its stage, plain *idle* otherwise."""
        if mach.state != "idle":
            return mach.state
        s, st = mach.stage, self.state
        if st.jobs[s]:
            return "idle"
        if any(st.carded[s]) or any(st.tokens[s]):
            return "starved"
        pool = st.pools[s]
        if pool is not None and any(pool.waiting_for(p) for p in range(self.n_products)):
            return "blocked"
        return "idle"

    def stock(self) -> int:
        """Finished goods in stock now (all products)."""
        return self.state.fg_total

    # --- snapshots ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The whole plant state as plain JSON-able data; reading it changes nothing."""
        eids = {id(ev): eid for (_t, _pr, eid, ev) in self.env._queue}
        live = [(eids[id(ev)], key) for key, ev in self.timers.items() if id(ev) in eids and not ev.processed]
        return {
            "version": SNAPSHOT_VERSION,
            "plant": self.spec.name,
            "model": self.model_name,
            "now": self.env.now,
            "timer_order": [key for _eid, key in sorted(live)],
            **snapshot_of(self.state),
            "machines": {m.name: m.state_dict() for row in self.machines for m in row},
            "streams": self.streams.state(),
        }

    @classmethod
    def from_snapshot(cls, spec: PlantSpec, snap: dict[str, Any]) -> "LineModel":
        """Rebuild a model from `snapshot()` data; `spec` may carry other (estimated)
        parameters but must have the same structure and control model."""
        if snap.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"snapshot version {snap.get('version')} is not {SNAPSHOT_VERSION}")
        if snap["model"] != spec.policy.model:
            raise ValueError(f"snapshot is of model {snap['model']}, spec says {spec.policy.model}")
        names = {m.name for st in spec.stations for m in st.machines}
        if set(snap["machines"]) != names:
            raise ValueError("snapshot machines do not match the plant's")
        return cls(spec, 0, _snapshot=snap)

    def _load(self, snap: dict[str, Any]) -> None:
        load_into(self.state, snap)
        for name, st in snap["machines"].items():
            self.machine(name).load_state(st)
        self.streams.restore(snap["streams"])


def _initial_state(spec: PlantSpec, shared: bool, now: float) -> LineState:
    """The line's state before its base stocks are placed: empty buffers and queues, every
    card free, statistics from `now`."""
    pol, products = spec.policy, spec.product_names
    P, N = len(products), len(spec.stations)
    pools: list[Pool | None] = (
        [SharedPool(k, P) for k in pol.K_shared] if shared
        else [DedicatedPool([pol.K_dedicated[p][s] for p in products]) for s in range(N - 1)])
    pools.append(None)
    return LineState(
        pools=pools, carded=[[0] * P for _ in range(N)], buf=[[0] * P for _ in range(N)],
        jobs=[deque() for _ in range(N)], raw=[spec.raw.initial] * P,
        conwip_free=_conwip_counts(pol, products, shared), conwip_cap=_conwip_counts(pol, products, shared),
        tokens=[[0] * P for _ in range(N)], backlog=[deque() for _ in range(P)], recycle_queue=0, recycle_end=None,
        power_now=0.0, peak_kw=0.0, shift_plan=[st.shift for st in spec.stations],
        shift_meter=ShiftMeter.started(N, now), next_order=[], next_raw=[], wip=[0] * N, fg_total=0,
        life={"released": 0, "delivered": 0, "scrapped": 0, "initial": 0}, count=LineCounters(),
        demand_n=[0] * P, delivered=[0] * P, lost=[0] * P, returned=[0] * P, scrapped=[0] * P, stats_t=now,
        wip_area=[0.0] * N, wip_t=[now] * N, fg_area=0.0, fg_t=now)


def _conwip_counts(pol: Any, products: list[str], shared: bool) -> CardCounts:
    """CONWIP counts: one per product (D-KAP) or one for the line (S-KAP)."""
    if shared:
        return CardCounts([pol.conwip_shared()], [0] * len(products))
    return CardCounts([pol.C[p] for p in products], list(range(len(products))))
