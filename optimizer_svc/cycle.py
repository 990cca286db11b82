"""One run of a scheduled job: read the current setpoints over OPC UA, forecast candidates,
search, verify against the current setpoints, write back only what verification accepted,
and record the run in the audit log whatever happens.

With `twin_dir` set (as `plant up` sets it), forecasts start from the twin's snapshot: the
plant's observed state and the twin's estimated parameters, with the setpoints read from the
server; a missing or stale snapshot skips the run. Without it, they start from the plant file
(an empty line at time 0, warmed up) with the setpoints read from the server.

People come first (holds.py): a setpoint someone else changed since the optimizer last knew it
is held for `holdoff_s`; the run fixes it at its current value (or, when the job cannot fix it,
proposes nothing at all) and audits why. Every run forecasts and verifies from the values it
has just read, and reads them again in the session that writes: if they changed meanwhile,
nothing is written."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from operator import methodcaller
from typing import Any

from plc_sim.model.spec import PlantSpec, load_plant
from plc_sim.model.variants import build_variant

from .audit import AuditLog
from .dask_pool import dask_executor
from .evaluator import Evaluator, shared_pool
from .forecast import Forecaster, Horizon, PlantForecaster
from .holds import Hold, Ledger, pinned, same_value
from .overrides import PLAN_PREFIX, incumbent_plant, plan_text
from .problems.base import ForecastProblem
from .problems.maintenance import PlanOptions, plan_problem
from .problems.production import CardOptions, card_problem
from .problems.setpoints import KINDS, SetpointOptions, setpoint_problem
from .settings import JobSettings, OptimizerSettings
from .snapshot import SnapshotUnusable, load_snapshot, snapshot_forecaster
from .solve import Budget, solve
from .space import Value
from .verify import Verdict, VerifyOptions, verify
from .writeback import PlantLink, WriteReport

log = logging.getLogger(__name__)

LinkFactory = Callable[[OptimizerSettings, PlantSpec], PlantLink]
HOLDS_FILE = "holds.json"
"""The ledger of what the optimizer last knew of each setpoint, and the holds (holds.py)."""


def plant_file(settings: OptimizerSettings) -> PlantSpec:
    return build_variant(load_plant(settings.plant), model=settings.model, scenario=settings.scenario,
                         sets=list(settings.sets))


def make_problem(settings: OptimizerSettings, job: JobSettings, ev: Evaluator) -> ForecastProblem:
    """The job's problem; a forecast from a snapshot needs no warm-up (it starts from the plant's state)."""
    seeds = range(job.reps)
    start_h = ev.forecaster.start_h
    horizon = Horizon(job.hours, job.warmup if start_h is None else 0.0, job.seed)
    machines = tuple(job.machines) if job.machines else None
    if job.problem == "setpoints":
        opts = SetpointOptions(kinds=tuple(job.kinds or KINDS), machines=machines, weights=settings.weights,
                               steps=settings.steps)
        return setpoint_problem(ev, seeds, horizon, opts)
    if job.problem == "cards":
        return card_problem(ev, seeds, horizon, CardOptions(vary_base_stock=False, steps=settings.steps))
    return plan_problem(ev, seeds, horizon, PlanOptions(machines=machines), start_h=start_h or 0.0)


def live_keys(problem: ForecastProblem) -> list[str]:
    """The tag-backed keys of a problem's decisions (a maintenance plan writes plan and policy)."""
    if problem.name == "maintenance":
        return [k for s in problem.space.to_sets(problem.space.current()) for k in [s.partition("=")[0]]]
    return [v.key for v in problem.space.variables]


def _as_text(value: Value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def shifted_plan(text: str, shift_h: float, now_h: float) -> str:
    """Forecast windows moved by `shift_h` to the plant's working clock; those before `now_h` dropped."""
    windows = [(start + shift_h, dur) for start, dur in json.loads(text)]
    return plan_text([(s, d) for s, d in windows if s >= now_h])


def changes_of(problem: ForecastProblem, verdict_sets: tuple[str, ...], current: dict[str, Value],
               now_h: float) -> dict[str, Value]:
    """What to write: each decision whose value differs from the current one. Plan windows of a
    forecast on its own clock (warm-up first) are moved so that its horizon starts at `now_h`."""
    start_h = problem.evaluator.forecaster.start_h
    shift_h = now_h - problem.horizon.warmup if start_h is None else 0.0
    out: dict[str, Value] = {}
    for item in verdict_sets:
        key, _, text = item.partition("=")
        value: Value = text
        if key.startswith(PLAN_PREFIX):
            value = shifted_plan(text, shift_h, now_h)
        else:
            old = current.get(key)
            if isinstance(old, float):
                value = float(text)
            elif isinstance(old, int):
                value = int(text)
        if current.get(key) != value:
            out[key] = value
    return out


def ledger_of(settings: OptimizerSettings, clock: Callable[[], float] | None = None) -> Ledger:
    return Ledger(settings.data_dir / HOLDS_FILE, settings.holdoff_s, clock)


def run_job(settings: OptimizerSettings, job: JobSettings, audit: AuditLog,
            link_factory: LinkFactory = PlantLink, ledger: Ledger | None = None) -> dict[str, Any]:
    """Runs one job synchronously (call it from a worker thread, never from an event loop)."""
    t0 = time.perf_counter()
    entry: dict[str, Any] = {"job": job.name, "problem": job.problem, "algorithm": job.algorithm,
                             "plant_file": settings.plant}
    try:
        entry |= _run(settings, job, link_factory, ledger or ledger_of(settings))
    except SnapshotUnusable as e:
        log.warning("optimisation job %s skipped: %s", job.name, e)
        entry |= {"outcome": "skipped", "reasons": [str(e)]}
    except Exception as e:
        log.exception("optimisation job %s failed", job.name)
        entry |= {"outcome": "error", "reasons": [f"{type(e).__name__}: {e}"]}
    entry["elapsed_s"] = round(time.perf_counter() - t0, 3)
    return audit.record(entry)


def _run(settings: OptimizerSettings, job: JobSettings, link_factory: LinkFactory, ledger: Ledger
         ) -> dict[str, Any]:
    clock = _Clock()
    base = plant_file(settings)
    with Evaluator(PlantForecaster(base), jobs=settings.workers) as probe:
        shape = make_problem(settings, job, probe)
        keys, free = live_keys(shape), {v.key for v in shape.space.variables}
    current, now_h = asyncio.run(_read(link_factory(settings, base), keys))
    clock.lap("read_s")
    holds = ledger.observe(current)
    held = {k: h.as_json() for k, h in holds.items()}
    if holds and (set(holds) - free or free <= set(holds)):
        return {"timings": clock.laps, "current": current, "held": held, "outcome": "held",
                "reasons": [h.reason() for h in holds.values()], "written": {}}
    current_sets = [f"{k}={_as_text(v)}" for k, v in current.items() if not k.startswith(PLAN_PREFIX)]
    snapshot = f"opcua:{settings.server_url}@plant_h={now_h:.3f}"
    forecaster = _forecaster(settings, base, current_sets, snapshot)
    clock.lap("snapshot_s")
    with ExitStack() as stack:
        pool = stack.enter_context(dask_executor(settings.dask_scheduler)) if settings.dask_scheduler else \
            shared_pool(settings.workers)
        ev = stack.enter_context(Evaluator(forecaster, jobs=settings.workers, executor=pool))
        problem = pinned(make_problem(settings, job, ev), set(holds))
        result = solve(problem, job.algorithm, Budget(job.budget_s, job.generations, job.pop_size), seed=job.seed)
        clock.lap("search_s")
        verdict = verify(problem, result.best, VerifyOptions(reps=job.verify_reps, alpha=settings.alpha,
                                                             margin=settings.margin, steps=settings.steps))
        clock.lap("verify_s")
    out: dict[str, Any] = {"timings": clock.laps, "snapshot": snapshot, "forecast": forecaster.source,
                           "horizon": {"hours": problem.horizon.hours, "warmup": problem.horizon.warmup},
                           "current": current, "held": held,
                           "candidate": list(result.best.sets), "search": {
                               "candidates": result.evaluations, "elapsed_s": round(result.elapsed_s, 3),
                               "stopped": result.stopped}, **_objectives(verdict)}
    if not verdict.accepted:
        return out | {"outcome": "kept", "reasons": verdict.reasons, "written": {}}
    changes = changes_of(problem, result.best.sets, current, now_h)
    link = link_factory(settings, base)
    advisory = settings.mode == "advisory"
    action = methodcaller("recommend", changes, _summary(job, verdict)) if advisory else methodcaller("write", changes)
    seen, report = asyncio.run(_act_if_unchanged(link, keys, current, action))
    clock.lap("recommend_s" if advisory else "write_s")
    if report is None:
        return out | _changed_meanwhile(current, seen, ledger.observe(seen))
    if advisory:
        return out | {"outcome": report.outcome, "reasons": [] if report.outcome == "recommended" else [report.detail],
                      "recommendation": report.detail, "recommended": changes, "written": {},
                      "writes": report.as_json()}
    ledger.wrote({w.key: w.readback for w in report.writes if w.readback is not None})
    return out | {"outcome": report.outcome, "reasons": [report.detail] if report.detail else [],
                  "written": changes, "writes": report.as_json()}


def _changed_meanwhile(read: dict[str, Value], seen: dict[str, Value], holds: dict[str, Hold]) -> dict[str, Any]:
    """The audit of a run that found the plant changed between its read and its write."""
    moved = [f"{k} {read[k]!r} -> {seen[k]!r}" for k in read if not same_value(read[k], seen[k])]
    return {"outcome": "held", "written": {}, "held": {k: h.as_json() for k, h in holds.items()},
            "reasons": [f"the setpoints changed while the run was computing ({', '.join(moved)}): nothing written",
                        *(h.reason() for h in holds.values())]}


def _forecaster(settings: OptimizerSettings, base: PlantSpec, current_sets: list[str], setpoints_from: str
                ) -> Forecaster:
    """From the twin's snapshot when a twin directory is set, else from the plant file."""
    if settings.twin_dir is None:
        return PlantForecaster(incumbent_plant(base, current_sets),
                               f"{settings.plant} + setpoints from {setpoints_from}")
    snap, age = load_snapshot(settings.twin_dir, base.name, settings.snapshot_max_age_s)
    return snapshot_forecaster(base, current_sets, snap, age, settings.twin_dir)


class _Clock:
    """Wall seconds of each stage of a run."""

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.t, 3)
        self.t = now


def _objectives(verdict: Verdict) -> dict[str, Any]:
    doc = verdict.as_json()
    return {"before": doc["current"], "after": doc["candidate"], "improvement": doc["improvement"],
            "p_value": doc["p_value"]}


async def _read(link: PlantLink, keys: list[str]) -> tuple[dict[str, Value], float]:
    async with link:
        return await link.read(keys), await link.plant_time()


def _summary(job: JobSettings, verdict: Verdict) -> str:
    """What an operator reads beside a recommendation: the job, and the verified gain."""
    name = next(iter(verdict.current), "")
    before, after = verdict.current.get(name), verdict.candidate.get(name)
    gain = f"{name} {before.mean:.6g} -> {after.mean:.6g} on {after.n} paired replications" if before and after else ""
    return f"{job.name} ({job.problem}, {job.algorithm}): {gain}, p={verdict.p_value:.3g}"


async def _act_if_unchanged(link: PlantLink, keys: list[str], read: dict[str, Value],
                            action: Callable[[PlantLink], Awaitable[WriteReport]]
                            ) -> tuple[dict[str, Value], WriteReport | None]:
    """In one session: the setpoints again, and the action only if they still show what the
    run read (else None: the run verified against a state that is gone)."""
    async with link:
        seen = await link.read(keys)
        if any(not same_value(seen[k], read[k]) for k in keys):
            return seen, None
        return seen, await action(link)
