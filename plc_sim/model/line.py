"""The SimPy line model: stations of machines, card-controlled flow, demand, raw material,
scrap, recycling and returns, under one of the four control models of seed 004.

The clock counts plant-calendar hours (see `calendar.py`); a plant whose calendar is not 24/7
freezes it off-shift, a 24/7 plant puts its stations on shift plans instead. Flow state is plain counters and
deques; SimPy processes drive time (machines, failures, maintenance, order arrivals, raw
deliveries, recycling). A model can be snapshotted at any time between events and rebuilt
from the snapshot; the rebuilt model continues exactly as the original would have.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import simpy

from .calendar import PlantCalendar, ShiftMeter, shift_status
from .cards import CardCounts, DedicatedPool, SharedPool
from .counters import LineCounters
from .env import PlantEnv
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


class LineModel(LineState):
    """One replication of a plant under the control model named in `spec.policy.model`.

    Its changing state is the fields of `LineState` (snapshots walk them); the rest is
    structure fixed at construction."""

    def __init__(self, spec: PlantSpec, seed: int | np.random.SeedSequence = 0,
                 _snapshot: dict[str, Any] | None = None) -> None:
        self.spec = spec
        self.model_name = spec.policy.model
        self.policy, shared = policy_for(self.model_name)
        self.shared = shared
        self.bk = broadcasts_demand(self.model_name)
        self.calendar = PlantCalendar.from_spec(spec.calendar)
        self.products = spec.product_names
        self.n_products = P = len(self.products)
        self.n_stages = N = len(spec.stations)
        self.env = PlantEnv(initial_time=_snapshot["now"] if _snapshot else 0.0)
        self.streams = Streams(seed, stream_names(spec))
        self._rs_returns = self.streams["returns"]
        self.timers: dict[str, simpy.Event] = {}
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        pol = spec.policy
        if shared:
            self.pools = [SharedPool(k, P) for k in pol.K_shared]
        else:
            self.pools = [DedicatedPool([pol.K_dedicated[p][s] for p in self.products]) for s in range(N - 1)]
        self.pools.append(None)
        self.kanban_on_start = pol.kanban_until == "next_start"
        self.carded = [[0] * P for _ in range(N)]
        self.buf = [[0] * P for _ in range(N)]
        self.jobs = [deque() for _ in range(N)]
        self.raw = [spec.raw.initial] * P
        self.conwip_free = _conwip_counts(pol, self.products, shared)
        self.conwip_cap = _conwip_counts(pol, self.products, shared)
        self.one_conwip = self.conwip_free.shared
        self.conwip_members = [self.conwip_free.sharing(p) for p in range(P)]
        self.tokens = [[0] * P for _ in range(N)]
        self.backlog = [deque() for _ in range(P)]
        self.recycle_queue = 0
        self.recycle_end: float | None = None
        self.demand_spec = [spec.demand[p] for p in self.products]
        self.shift_plan = [st.shift for st in spec.stations]
        self.shift_procs: dict[int, simpy.Process] = {}
        self.shift_meter = ShiftMeter.started(N, self.env.now)
        self.queue_cap: list[int | None] = [st.buffer for st in spec.stations]
        """Per station, the parts its input queue may hold (None: bounded by the cards)."""
        self.power_now = 0.0
        self.peak_kw = 0.0
        self.supply_stopped = False
        """Raw-material deliveries arrive empty while set (an injected supply stop; not snapshotted:
        the PLC that injects it sets it again on a restored model)."""
        self.demand_factor = 1.0
        """Order rate multiplier (an injected demand surge; not snapshotted, as `supply_stopped`)."""
        self.wip = [0] * N
        self.fg_total = 0
        self.life = {"released": 0, "delivered": 0, "scrapped": 0, "initial": 0}
        self._reset_counters()
        n_m = sum(len(st.machines) for st in spec.stations)
        self.machines: list[list[Machine]] = []
        k = 0
        for s, st in enumerate(spec.stations):
            row = []
            dists = [spec.processing_hours(p, s) for p in self.products]
            for ms in st.machines:
                k += 1
                first = self.env.now + spec.machine_maintenance(ms).interval_h * k / n_m
                row.append(Machine(self, s, ms.name, MachinePhysics.of(spec, ms, s), dists, self.streams, first))
            self.machines.append(row)
        for s, cap in enumerate(self.queue_cap):
            if cap is not None:
                for mach in self.machines[s]:
                    mach.on_take = partial(self._queue_room, s)
        self.wake_station: list[Callable[[], object]] = [
            row[0].kick if len(row) == 1 else partial(self.dispatch, s) for s, row in enumerate(self.machines)]
        """Per station, what wakes the machine for a new job (`dispatch`, the lone machine's `kick`)."""
        self.next_order = [self.env.now + self.streams[f"demand.{p}"].sample(d.interarrival)
                           for p, d in zip(self.products, self.demand_spec)]
        self.next_raw = [self.env.now + self.streams[f"raw.{p}"].sample(spec.raw.interval) for p in self.products]
        self.orders = [Orders(self, p) for p in range(P)]
        self.deliveries = [Deliveries(self, p) for p in range(P)]
        self.recycling = Recycling(self)
        if _snapshot is not None:
            self._load(_snapshot)
            self._start(_snapshot["timer_order"])
        else:
            self._place_initial_stock()
            self._start([])
            self.policy.start(self)

    # --- construction -----------------------------------------------------------------

    def _reset_counters(self) -> None:
        P = self.n_products
        self.count = LineCounters()
        self.demand_n = [0] * P
        self.delivered = [0] * P
        self.lost = [0] * P
        self.returned = [0] * P
        self.scrapped = [0] * P
        self.stats_t = self.env.now
        self.wip_area = [0.0] * self.n_stages
        self.wip_t = [self.env.now] * self.n_stages
        self.fg_area = 0.0
        self.fg_t = self.env.now
        self.shift_meter.reset(self.env.now)

    def _place_initial_stock(self) -> None:
        """Base stocks S: parts already in the output buffers, holding their cards."""
        for p, name in enumerate(self.products):
            for s, n in enumerate(self.spec.policy.S[name]):
                for _ in range(n):
                    self.conwip_free[p] -= 1
                    self.life["initial"] += 1
                    pool = self.pools[s]
                    if pool is not None:
                        pool.take_initial(p)
                    if s == self.n_stages - 1:
                        self._to_stock(p, 1)
                    else:
                        self._wip(s, 1)
                        self.buf[s][p] += 1

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

    def free_cards_by_product(self) -> list[int]:
        """Free CONWIP cards per product; a shared count is dealt out in turn (HK start)."""
        cw = self.conwip_free
        if not cw.shared:
            return list(cw)
        free = [0] * self.n_products
        for i in range(max(cw[0], 0)):
            free[i % self.n_products] += 1
        return free

    def card_product(self, p: int) -> int:
        """The product a CONWIP card freed by product p now authorises (HK-CONWIP): p
        itself, unless the count is shared (S-KAP) and some product has backorders: then the
        product of the oldest backorder, so cards move to where demand is."""
        if not self.one_conwip:
            return p
        best, oldest = p, math.inf
        for q in self.conwip_members[p]:
            b = self.backlog[q]
            if b and b[0] < oldest:
                best, oldest = q, b[0]
        return best

    @staticmethod
    def interleaved(counts: list[int]) -> list[int]:
        """Products in round-robin order, `counts[p]` times each: fair initial requests."""
        left = [max(n, 0) for n in counts]
        out: list[int] = []
        while any(left):
            for p, n in enumerate(left):
                if n:
                    left[p] -= 1
                    out.append(p)
        return out

    # --- flow ---------------------------------------------------------------------------

    def request(self, s: int, p: int) -> None:
        """A production request for product p at stage s asks for a kanban of that stage."""
        pool = self.pools[s]
        if pool is None or pool.request(p):
            self.carded[s][p] += 1
            self.try_start(s, p)

    def add_tokens(self, p: int, stages: int) -> None:
        """BK-CONWIP demand tokens of product p reach stages 1..`stages`; a token joins at
        once only where its input is there (at stage 1: always try)."""
        tokens, buf = self.tokens, self.buf
        for s in range(stages):
            tokens[s][p] += 1
            if s == 0 or buf[s - 1][p]:
                self.join(s, p)

    def feed(self, s: int, p: int) -> None:
        """Something stage s of product p may have waited for came free: an input part, a
        raw blank or a CONWIP card."""
        if self.bk:
            if self.tokens[s][p]:
                self.join(s, p)
            if not self.carded[s][p]:
                return
        self.try_start(s, p)

    def join(self, s: int, p: int) -> None:
        """BK-CONWIP synchronisation: a demand token asks for its stage's kanban only when
        its input (and at stage 1 a CONWIP card) is there and not already claimed by an
        earlier request. A kanban is never held by a token that waits for a part, so the
        shared-kanban deadlock (every kanban held by tokens of the product that has no
        parts) cannot form."""
        tokens = self.tokens[s]
        if not tokens[p]:
            return
        pool = self.pools[s]
        carded = self.carded[s]
        waiting = pool.n_waiting if pool is not None else None
        inputs = self.buf[s - 1] if s else None
        while tokens[p]:
            claimed = carded[p] + waiting[p] if waiting is not None else carded[p]
            if inputs is not None:
                if inputs[p] <= claimed:
                    return
            elif not self._stage1_free(p, claimed):
                return
            tokens[p] -= 1
            if pool is None or pool.request(p):
                carded[p] += 1
                self.try_start(s, p)

    def _stage1_free(self, p: int, claimed: int) -> bool:
        """A raw blank and a CONWIP card not claimed by earlier stage-1 requests."""
        if self.raw[p] <= claimed:
            return False
        cards = self.conwip_free
        free = cards.values[cards.key[p]]
        if not self.one_conwip:
            return free > claimed
        pool = self.pools[0]
        return free > sum(self.carded[0]) + (pool.waiting_total() if pool is not None else 0)

    def try_start(self, s: int, p: int) -> None:
        """Start every carded request of (s, p) that has its input: at stage 1 a raw blank
        and a CONWIP card, further on a part of the stage before, whose kanban comes free."""
        carded = self.carded[s]
        if not carded[p]:
            return
        jobs, wake = self.jobs[s], self.wake_station[s]
        cap = self.queue_cap[s]
        if s == 0:
            raw, cards, life = self.raw, self.conwip_free, self.life
            values, k = cards.values, cards.key[p]
            while carded[p]:
                if raw[p] <= 0 or values[k] <= 0 or (cap is not None and len(jobs) >= cap):
                    return
                raw[p] -= 1
                values[k] -= 1
                life["released"] += 1
                self._wip(0, 1)
                carded[p] -= 1
                jobs.append(p)
                wake()
            return
        inputs = self.buf[s - 1]
        on_start = self.kanban_on_start
        while carded[p]:
            if not inputs[p] or (cap is not None and len(jobs) >= cap):
                return
            inputs[p] -= 1
            self._wip_move(s - 1)
            if not on_start:
                self._release_kanban(s - 1, p)
            carded[p] -= 1
            jobs.append(p)
            wake()

    def _queue_room(self, s: int) -> None:
        """A machine of station s took a job from its finite input queue: the room goes to
        the product with the most parts (at stage 1: raw blanks) waiting for it, so the
        station before, blocked by a full buffer, moves again."""
        carded = self.carded[s]
        if not any(carded):
            return
        waiting = self.buf[s - 1] if s else self.raw
        ready = [p for p, n in enumerate(carded) if n and waiting[p]]
        if len(ready) > 1:
            ready.sort(key=waiting.__getitem__, reverse=True)
        for p in ready:
            self.try_start(s, p)

    def dispatch(self, s: int) -> None:
        """Wake the machine that takes the next job at station s: an awake one before one
        in standby, then the one furthest below its weighted share of the station's jobs
        (fewest jobs done per unit of dispatch weight; ties: the first)."""
        ms = self.machines[s]
        if len(ms) == 1:
            ms[0].kick()
            return
        best, best_awake, best_share = None, False, 0.0
        for m in ms:
            if m._wake is not None and m.weight > 0 and not (m.off_shift or m.failed or m.stopped):  # can_take_work()
                awake, share = not m.asleep, -m.done / m.weight
                if best is None or awake > best_awake or (awake == best_awake and share > best_share):
                    best, best_awake, best_share = m, awake, share
        if best is not None:
            best.kick()

    def take_hook(self, s: int) -> Callable[[int], None] | None:
        """What stage s's machines call when they start a part of product p: under
        `kanban_until = "next_start"` the part leaves stage s-1's output inventory I_(s-1)
        only then, and its stage-(s-1) kanban with it; None when there is nothing to do."""
        if not self.kanban_on_start or s == 0 or self.pools[s - 1] is None:
            return None
        return partial(self._release_kanban, s - 1)

    def _release_kanban(self, s: int, p: int) -> None:
        pool = self.pools[s]
        if pool is not None:
            q = pool.release(p)
            if q is not None:
                self.carded[s][q] += 1
                self.try_start(s, q)

    def _card_free(self, p: int) -> None:
        cards = self.conwip_free
        k = cards.key[p]
        retiring = cards.values[k] < 0
        cards.values[k] += 1
        if not retiring:
            self.policy.on_card_free(self, p)

    # --- live parameter changes (PLC commands) --------------------------------------------

    def set_kanbans(self, stage: int, product: int, value: int) -> None:
        """Set the kanban count of `stage` (0-based, not the last) for `product`; in S-KAP
        the shared count (product ignored). Cutting it retires cards as they come free.
        At most MAX_CARDS: the work is bounded by the requests waiting for a card."""
        if not 0 <= stage < self.n_stages or self.pools[stage] is None:
            raise ValueError(f"stage {stage + 1} has no kanbans (it is bounded by CONWIP)")
        if not 0 <= product < self.n_products:
            raise ValueError(f"no product {product}")
        if not 1 <= value <= MAX_CARDS:
            raise ValueError(f"a kanban count is 1..{MAX_CARDS} (got {value})")
        pool = self.pools[stage]
        assert pool is not None
        for q in pool.resize(product, value):
            self.carded[stage][q] += 1
            self.try_start(stage, q)

    def set_conwip(self, product: int, value: int) -> None:
        """Set the CONWIP card count of `product`; a cut retires cards as they come free.
        At most MAX_CARDS; cards that only cancel a pending cut are booked at once, so the
        work is bounded by the cards that become free (each one is a request in HK-CONWIP)."""
        if not 0 <= product < self.n_products:
            raise ValueError(f"no product {product}")
        if not 1 <= value <= MAX_CARDS:
            raise ValueError(f"a CONWIP card count is 1..{MAX_CARDS} (got {value})")
        delta = value - self.conwip_cap[product]
        self.conwip_cap[product] = value
        if delta <= 0:
            self.conwip_free[product] += delta
            return
        retiring = min(delta, max(-self.conwip_free[product], 0))
        self.conwip_free[product] += retiring
        for _ in range(delta - retiring):
            self._card_free(product)

    def complete(self, m: Machine, p: int) -> None:
        """Machine `m` finished product `p`: inspect, then pass on, scrap or stock it."""
        s = m.stage
        if m.job_defect and m.rs_defect.uniform() < m.job_defect:
            self.count.scrap += 1
            self.scrapped[p] += 1
            self.life["scrapped"] += 1
            self._wip(s, -1)
            self._release_kanban(s, p)
            self._card_free(p)
            self.policy.on_scrap(self, s, p)
            self.recycling.put()
            return
        m.good += 1
        m.ideal_h += m.nominal_h[p]
        if s < self.n_stages - 1:
            self.buf[s][p] += 1
            self.policy.on_output(self, s, p)
            return
        self._wip(s, -1)
        self._to_stock(p, 1)
        self.count.finished += 1
        backlog = self.backlog[p]
        while backlog and self.buf[s][p]:
            ordered = backlog.popleft()
            self.count.wait_h += self.env.now - ordered
            self.deliver(p, ordered)

    def deliver(self, p: int, ordered: float) -> None:
        """Hand a finished part of product p to the customer who ordered at `ordered`."""
        if self.listeners:
            self.emit("delivery", {"product": self.products[p], "ordered": ordered, "t": self.env.now})
        self._to_stock(p, -1)
        self.delivered[p] += 1
        self.life["delivered"] += 1
        self._card_free(p)
        rs = self._rs_returns
        if rs.uniform() < rs.sample(self.spec.quality.return_prob):
            self.count.Rn += 1
            self.returned[p] += 1
            self.recycling.put()

    def _to_stock(self, p: int, d: int) -> None:
        """Finished stock of product p changes by d (kept apart from the KPI FG, gears sold)."""
        now = self.env._now
        self.fg_area += self.fg_total * (now - self.fg_t)
        self.fg_t = now
        self.fg_total += d
        self.buf[self.n_stages - 1][p] += d

    def _wip_move(self, s: int) -> None:
        """A part moves from stage s's output buffer into stage s+1."""
        now = self.env._now
        area, wip, t = self.wip_area, self.wip, self.wip_t
        area[s] += wip[s] * (now - t[s])
        area[s + 1] += wip[s + 1] * (now - t[s + 1])
        t[s] = t[s + 1] = now
        wip[s] -= 1
        wip[s + 1] += 1

    def _wip(self, s: int, d: int) -> None:
        now = self.env._now
        self.wip_area[s] += self.wip[s] * (now - self.wip_t[s])
        self.wip_t[s] = now
        self.wip[s] += d

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
            plan_name = self.shift_plan[s]
            assert plan_name is not None, "only stations on shift plans run this process"
            plan = self.spec.shift_plans[plan_name]
            on, change = shift_status(plan, self.env.now)
            self.shift_meter.book(s, self.env.now, on)
            for m in self.machines[s]:
                m.set_off_shift(not on)
            if on:
                self.dispatch(s)
            try:
                yield self.timer(f"shift.{name}", change)
            except simpy.Interrupt:
                continue

    def set_shift(self, s: int, plan: str) -> None:
        """Put station s on another named shift plan of the plant file, from now on."""
        if plan not in self.spec.shift_plans:
            raise ValueError(f"unknown shift plan {plan!r} (plans: {', '.join(self.spec.shift_plans)})")
        if self.shift_plan[s] is None:
            raise ValueError(f"station {self.spec.stations[s].name} works the plant calendar, not shifts")
        self.shift_plan[s] = plan
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
                plan = self.shift_plan[s]
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
        self.peak_kw = self.power_now

    def machine_status(self, mach: MachineView) -> str:
        """The machine's state as an operator sees it: an idle machine is *starved* when its
        station holds production authorisations waiting for input parts, *blocked* when
        requests wait for a kanban of its stage, plain *idle* otherwise."""
        if mach.state != "idle":
            return mach.state
        s = mach.stage
        if self.jobs[s]:
            return "idle"
        if any(self.carded[s]) or any(self.tokens[s]):
            return "starved"
        pool = self.pools[s]
        if pool is not None and any(pool.waiting_for(p) for p in range(self.n_products)):
            return "blocked"
        return "idle"

    def stock(self) -> int:
        """Finished goods in stock now (all products)."""
        return self.fg_total

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
            **snapshot_of(self),
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
        load_into(self, snap)
        for name, st in snap["machines"].items():
            self.machine(name).load_state(st)
        self.streams.restore(snap["streams"])


def _conwip_counts(pol: Any, products: list[str], shared: bool) -> CardCounts:
    """CONWIP counts: one per product (D-KAP) or one for the line (S-KAP)."""
    if shared:
        return CardCounts([pol.conwip_shared()], [0] * len(products))
    return CardCounts([pol.C[p] for p in products], list(range(len(products))))
