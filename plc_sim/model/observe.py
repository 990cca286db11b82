"""A line model built from what a client of the PLC can observe, for forecasts.

The observation (machine statuses, queue lengths, buffers, backlogs, raw stock, card counts,
plant time) is what the OPC UA server publishes. What it does not show is filled in:

- drawn from the (estimated) distributions of `spec`: the remaining processing time of a
  job in hand (a full draw times a uniform fraction), the remaining repair and maintenance
  times, and the product of a job in hand or waiting when the PLC does not publish it
  (by the products' demand rates);
- taken as fresh: the next breakdown, maintenance, order and delivery times (drawn by a
  fresh model of `spec`), wear where it is not published (zero; where it is, the failure
  threshold is drawn given survival to the observed wear) and the statistics (from now);
- derived: cards in use, from the parts of each product in each stage (queue, machine,
  output buffer), per CONWIP count (one per product under D-KAP, one for the line under
  S-KAP: every `C_<P>` tag then shows the same count); and the production requests that
  wait for an input part or a kanban (not published), from what the control policy implies:
  under HK-CONWIP each buffered part asks the next stage and each free CONWIP card the first
  (as the policy starts a line); under BK-CONWIP the base-stock invariant (stock position = base
  stock) gives the open demand tokens of each stage, which join kanban and input part as
  the line joins them (only when both are there);
- from the calendar: whether each station is on shift at the observed hour (a machine of a
  station off shift is `off`, or finishes the job in hand first). A machine shown `off`
  while its station is on shift (and was already before: not at the instant the shift
  begins) is taken as stopped by an operator (the PLC's stop command) and stays stopped.

The model is assembled as snapshot data (`LineModel.snapshot()` of a fresh model of `spec`,
with every time moved to the observed plant time and the observed state written in) and
built by `LineModel.from_snapshot()`, so it obeys the same invariants as any restored model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .calendar import WEEK_H, shift_status
from .cards import DedicatedPool, SharedPool
from .line import LineModel
from .spec import Dist, PlantSpec
from .streams import Stream
from .vocab import broadcasts_demand

OBSERVE_STREAM = 0x0B5E
"""Spawn key of the draws for the unobserved, apart from the model's own streams."""

SURVIVOR_TRIES = 1000
"""Draws tried for a time to failure beyond the observed time up, before giving up on aging."""

SHIFT_EDGE_H = 1e-6
"""A machine shown `off` this soon after its station's shift began may not have been
switched on yet (the change and the reading fall on the same instant): not taken as stopped."""

_MACHINE_TIMES = ("next_failure", "repair_end", "next_maint", "fail_at", "wake_end", "standby_at", "job_end",
                  "maint_end")


@dataclass
class Observation:
    """The observable state of a line; names as in the plant file."""

    calendar_h: float
    machine_status: dict[str, str] = field(default_factory=dict)
    queue: dict[str, int] = field(default_factory=dict)
    buffers: dict[str, dict[str, int]] = field(default_factory=dict)
    backlog: dict[str, int] = field(default_factory=dict)
    raw: dict[str, int] = field(default_factory=dict)
    conwip: dict[str, int] = field(default_factory=dict)
    kanbans: dict[str, int] = field(default_factory=dict)
    """Kanban counts by control tag name: `K<i>_<P>` (dedicated) or `K<i>` (shared)."""
    jobs_of: dict[str, str] = field(default_factory=dict)
    """Product of the job in hand per machine, where the PLC publishes it."""
    wear: dict[str, float] = field(default_factory=dict)
    """Wear per machine, where published; the failure threshold is drawn given survival to it."""
    up_h: dict[str, float] = field(default_factory=dict)
    """Working hours since each machine's last repair, where known (the twin sees repairs);
    the next breakdown is drawn given survival that long."""


def model_from_observation(spec: PlantSpec, obs: Observation, seed: int = 0) -> LineModel:
    """A model of `spec` standing where the observation says the plant stands."""
    fresh = LineModel(spec, seed)
    snap = fresh.snapshot()
    now = fresh.calendar.to_working(obs.calendar_h)
    _shift_times(snap, now)
    draw = Stream(np.random.SeedSequence(seed, spawn_key=(OBSERVE_STREAM,)))
    mix = _product_mix(spec)
    products = spec.product_names
    n = len(spec.stations)
    queued = [[0] * len(products) for _ in range(n)]
    jobs: list[list[int]] = []
    for s, st in enumerate(spec.stations):
        row = [_pick(draw, mix) for _ in range(int(obs.queue.get(st.name, 0)))]
        for p in row:
            queued[s][p] += 1
        jobs.append(row)
    in_hand = [[0] * len(products) for _ in range(n)]
    for s, st in enumerate(spec.stations):
        on_shift = was_on = True
        if st.shift is not None:
            plan = spec.shift_plans[st.shift]
            on_shift, was_on = shift_status(plan, now)[0], shift_status(plan, now - SHIFT_EDGE_H)[0]
        load = _load(spec, s) if on_shift else 0.0
        for ms in st.machines:
            mach = fresh.machine(ms.name)
            d = snap["machines"][ms.name]
            d["off_shift"] = not on_shift
            held = _machine_state(d, mach, obs, now, draw, mix, products, load)
            if on_shift and was_on and obs.machine_status.get(ms.name) == "off":
                d["stopped"] = True
            if held is not None:
                in_hand[s][held] += 1
    buf = [[int(obs.buffers.get(st.name, {}).get(name, 0)) for name in products] for st in spec.stations]
    at_stage = [[queued[s][p] + in_hand[s][p] + buf[s][p] for p in range(len(products))] for s in range(n)]
    _flow(snap, spec, obs, now, jobs, buf, at_stage)
    _cards(snap, spec, obs, at_stage, _kanban_holders(spec, queued, at_stage), fresh.conwip_cap.key)
    model = LineModel.from_snapshot(spec, snap)
    model.settle()
    _requests(model, obs, at_stage)
    return model


def _requests(m: LineModel, obs: Observation, at_stage: list[list[int]]) -> None:
    """Re-issue the production requests the observation implies (they are not published).
    HK-CONWIP: every part in an output buffer is a request of the next stage waiting for a
    kanban, every free CONWIP card a request at stage 1 (a shared count dealt out in turn), as
    at a model's start. BK-CONWIP:
    the base-stock invariant gives the demand tokens still open at stage s, for each product
    S(>=s) + backlog - parts at or after s; they are handed to the line in turn over the
    products and join a kanban and an input part (at stage 1 a raw blank and a free CONWIP
    card) only where those are there, as any token does."""
    flow = m.flow
    if not broadcasts_demand(m.model_name):
        for s in range(1, m.n_stages):
            for p in range(m.n_products):
                for _ in range(m.buf[s - 1][p]):
                    flow.request(s, p)
        # a product drawn for a part the PLC does not name may overdraw its count: no request
        for p in flow.interleaved([max(f, 0) for f in flow.free_cards_by_product()]):
            flow.request(0, p)
        return
    at_or_after = [[sum(row[p] for row in at_stage[s:]) for p in range(m.n_products)] for s in range(m.n_stages)]
    for s in range(m.n_stages):
        open_tokens = [sum(m.spec.policy.S[name][s:]) + int(obs.backlog.get(name, 0)) - at_or_after[s][p]
                       for p, name in enumerate(m.products)]
        for p in flow.interleaved([max(t, 0) for t in open_tokens]):
            m.tokens[s][p] += 1
            flow.join(s, p)


def _shift_times(snap: dict[str, Any], now: float) -> None:
    snap["now"] = now
    snap["next_order"] = [t + now for t in snap["next_order"]]
    snap["next_raw"] = [t + now for t in snap["next_raw"]]
    for d in snap["machines"].values():
        for k in _MACHINE_TIMES:
            if d[k] is not None:
                d[k] += now
        d["job_start"] = d["state_t"] = now
        d["p_now"] = 0.0
    snap["power_now"] = snap["peak_kw"] = 0.0
    snap["stats_t"] = snap["fg_t"] = now
    snap["wip_t"] = [now] * len(snap["wip_t"])
    snap["timer_order"] = []


def _product_mix(spec: PlantSpec) -> list[float]:
    rates = [1.0 / max(spec.demand[p].interarrival.mean, 1e-9) for p in spec.product_names]
    total = sum(rates)
    return [r / total for r in rates]


def _pick(draw: Stream, mix: list[float]) -> int:
    u, acc = draw.uniform(), 0.0
    for p, w in enumerate(mix):
        acc += w
        if u < acc:
            return p
    return len(mix) - 1


def _load(spec: PlantSpec, s: int) -> float:
    """The share of its working time a machine of station s is busy: demand x processing
    time / machines, over the share of calendar time the station works (its shift plan)."""
    work = sum(spec.processing_hours(p, s).mean / spec.demand[p].interarrival.mean for p in spec.product_names)
    st = spec.stations[s]
    share = 1.0
    if st.shift is not None:
        plan = spec.shift_plans[st.shift]
        share = plan.days_per_week * sum(b - a for a, b in plan.windows) / WEEK_H
    return min(work / len(st.machines) / max(share, 1e-9), 1.0)


def _machine_state(d: dict[str, Any], mach: Any, obs: Observation, now: float, draw: Stream, mix: list[float],
                   products: list[str], load: float) -> int | None:
    """Write the machine's observed status into its record; returns the product in hand. A
    machine down on its failure clock was busy when it broke with the station's load as
    probability (a wear failure always strikes during a job)."""
    status = obs.machine_status.get(mach.name, "idle")
    if mach.name in obs.wear and mach.wear_spec is not None:
        d["wear"] = float(obs.wear[mach.name])
        d["w_fail"] = mach.failure_wear(d["wear"])
    ttf = mach.failure_spec.time_to_failure
    if mach.name in obs.up_h and status != "down" and not mach.wear_mode and ttf is not None:
        up = float(obs.up_h[mach.name])
        d["next_failure"] = now + _survivor(draw, ttf, up) - up
    known = obs.jobs_of.get(mach.name)
    p = products.index(known) if known in products else None
    busy_when_broken = status == "down" and (mach.wear_mode or known is not None or draw.uniform() < load)
    if status == "processing" or busy_when_broken:
        p = _pick(draw, mix) if p is None else p
        full = draw.sample(mach.proc_dists[p]) * mach.cycle_factor / (d["speed_pct"] / 100.0)
        left = full * draw.uniform()
        d["job"], d["job_start"] = p, now - (full - left)
        if status == "processing":
            d["job_end"], d["state"] = now + left, "processing"
        else:
            d["work_left"] = left
    else:
        p = None
    if status == "down":
        d["failed"], d["state"] = True, "down"
        d["repair_end"] = now + draw.sample(mach.failure_spec.repair) * draw.uniform()
        d["next_failure"] = None
    elif status == "maintenance":
        d["in_maint"], d["state"], d["maint_due"] = True, "maintenance", False
        d["maint_end"] = now + draw.sample(mach.maint_spec.duration) * draw.uniform()
        d["next_maint"] = None
    elif status == "standby":
        d["asleep"], d["state"] = True, "standby"
    elif status == "waking" and mach.standby_spec is not None:
        d["waking"], d["state"] = True, "waking"
        d["wake_end"] = now + mach.standby_spec.wake_h * draw.uniform()
    return p


def _survivor(draw: Stream, dist: Dist, up: float) -> float:
    """A draw of `dist` given that it exceeds `up` (rejection; memoryless beyond the tries)."""
    for _ in range(SURVIVOR_TRIES):
        x = draw.sample(dist)
        if x > up:
            return x
    return up + draw.sample(dist)


def _flow(snap: dict[str, Any], spec: PlantSpec, obs: Observation, now: float, jobs: list[list[int]],
          buf: list[list[int]], at_stage: list[list[int]]) -> None:
    products = spec.product_names
    n = len(spec.stations)
    snap["buf"] = buf
    snap["jobs"] = jobs
    snap["carded"] = [[0] * len(products) for _ in range(n)]
    snap["raw"] = [int(obs.raw.get(p, snap["raw"][i])) for i, p in enumerate(products)]
    snap["backlog"] = [[now] * int(obs.backlog.get(p, 0)) for p in products]
    snap["recycle_queue"], snap["recycle_end"] = 0, None
    snap["tokens"] = [[0] * len(products) for _ in range(n)]
    snap["wip"] = [sum(at_stage[s]) if s < n - 1 else sum(at_stage[s]) - sum(buf[s]) for s in range(n)]
    snap["wip_area"] = [0.0] * n
    snap["fg_total"] = sum(buf[n - 1])
    snap["fg_area"] = 0.0
    snap["count"] = {k: (0.0 if isinstance(v, float) else 0) for k, v in snap["count"].items()}
    snap["demand_n"] = [0] * len(products)
    snap["delivered"] = [0] * len(products)
    snap["lost"] = [0] * len(products)
    snap["returned"] = [0] * len(products)
    snap["scrapped"] = [0] * len(products)
    snap["life"] = {"released": 0, "delivered": 0, "scrapped": 0, "initial": sum(map(sum, at_stage))}


def _kanban_holders(spec: PlantSpec, queued: list[list[int]], at_stage: list[list[int]]) -> list[list[int]]:
    """Parts holding a stage-s kanban, per stage and product: those at stage s (queued, in
    process, in its output buffer) and, under `kanban_until = "next_start"`, those queued at
    stage s+1 that its machine has not started yet."""
    n = len(at_stage)
    if spec.policy.kanban_until != "next_start":
        return at_stage
    return [[held + (queued[s + 1][p] if s + 1 < n else 0) for p, held in enumerate(row)]
            for s, row in enumerate(at_stage)]


def _cards(snap: dict[str, Any], spec: PlantSpec, obs: Observation, at_stage: list[list[int]],
           on_card: list[list[int]], key: list[int]) -> None:
    """Card counts and free cards. CONWIP counts by `key` (product -> count, as in
    `CardCounts`): a count shared by several products (S-KAP) is read from the first of
    their `C_<P>` tags observed (they all show it) and is held by all their parts."""
    products = spec.product_names
    caps = list(snap["conwip_cap"])
    for k in range(len(caps)):
        members = [name for p, name in enumerate(products) if key[p] == k]
        seen = [obs.conwip[name] for name in members if name in obs.conwip]
        if seen:
            caps[k] = int(seen[0])
    held = [0] * len(caps)
    for p in range(len(products)):
        held[key[p]] += sum(row[p] for row in at_stage)
    snap["conwip_cap"] = caps
    snap["conwip_free"] = [c - h for c, h in zip(caps, held, strict=True)]
    for s, pool in enumerate(snap["pools"]):
        if pool is None:
            continue
        if isinstance(pool["cap"], list):
            pairs = zip(products, pool["cap"], strict=True)
            pool["cap"] = [int(obs.kanbans.get(f"K{s + 1}_{name}", c)) for name, c in pairs]
            pool["free"] = [c - on_card[s][p] for p, c in enumerate(pool["cap"])]
            pool["waiting"] = [0] * len(products)
        else:
            pool["cap"] = int(obs.kanbans.get(f"K{s + 1}", pool["cap"]))
            pool["held"] = list(on_card[s])
            pool["free"] = pool["cap"] - sum(on_card[s])
            pool["waiting"] = []


def observation_of(m: LineModel, calendar_h: float | None = None,
                   last_repair: dict[str, float] | None = None) -> Observation:
    """What a PLC's tags show of model `m` (no product per machine, no waiting requests), at
    calendar hour `calendar_h`, with the working hour of each machine's last repair where
    known (a client sees repairs as they happen). Give the hour when the plant may be off:
    the working clock does not tell which off-shift hour it is. For tests and benches."""
    obs = Observation(calendar_h=m.calendar.to_calendar(m.now) if calendar_h is None else calendar_h)
    obs.up_h = {name: m.now - t for name, t in (last_repair or {}).items()}
    for s, st in enumerate(m.spec.stations):
        obs.queue[st.name] = len(m.jobs[s])
        obs.buffers[st.name] = {p: m.buf[s][i] for i, p in enumerate(m.products)}
        for mach in m.machines[s]:
            obs.machine_status[mach.name] = str(m.machine_status(mach))
            if mach.wear_spec is not None:
                obs.wear[mach.name] = mach.wear_now(m.now)
    for i, p in enumerate(m.products):
        obs.backlog[p] = len(m.backlog[i])
        obs.raw[p] = m.raw[i]
        obs.conwip[p] = m.conwip_cap[i]  # under S-KAP every product shows the one count
    for s, pool in enumerate(m.pools):
        if isinstance(pool, SharedPool):
            obs.kanbans[f"K{s + 1}"] = pool.cap
        elif isinstance(pool, DedicatedPool):
            for i, p in enumerate(m.products):
                obs.kanbans[f"K{s + 1}_{p}"] = pool.cap[i]
    return obs
