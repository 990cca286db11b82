"""One run of a scheduled job: read the current setpoints over OPC UA, forecast candidates,
search, verify against the current setpoints, write back only what verification accepted,
and record the run in the audit log whatever happens.

Until the twin lands, the forecast starts from the plant file named in the settings with the
setpoints read from the server applied (an empty plant at time 0, warmed up): it does not
yet know the plant's live state (queues, wear, breakdowns under way)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from plc_sim.model.spec import PlantSpec, load_plant
from plc_sim.model.variants import build_variant

from .audit import AuditLog
from .dask_pool import dask_executor
from .evaluator import Evaluator
from .forecast import Horizon, PlantForecaster
from .overrides import PLAN_PREFIX, build_plant, plan_text
from .problems.base import ForecastProblem
from .problems.maintenance import PlanOptions, plan_problem
from .problems.production import CardOptions, card_problem
from .problems.setpoints import KINDS, SetpointOptions, setpoint_problem
from .settings import JobSettings, OptimizerSettings
from .solve import Budget, solve
from .space import Value
from .verify import Verdict, VerifyOptions, verify
from .writeback import PlantLink

log = logging.getLogger(__name__)

LinkFactory = Callable[[OptimizerSettings, PlantSpec], PlantLink]


def plant_file(settings: OptimizerSettings) -> PlantSpec:
    return build_variant(load_plant(settings.plant), model=settings.model, scenario=settings.scenario,
                         sets=list(settings.sets))


def make_problem(settings: OptimizerSettings, job: JobSettings, ev: Evaluator) -> ForecastProblem:
    seeds = range(job.reps)
    horizon = Horizon(job.hours, job.warmup, job.seed)
    machines = tuple(job.machines) if job.machines else None
    if job.problem == "setpoints":
        opts = SetpointOptions(kinds=tuple(job.kinds or KINDS), machines=machines, weights=settings.weights,
                               steps=settings.steps)
        return setpoint_problem(ev, seeds, horizon, opts)
    if job.problem == "cards":
        return card_problem(ev, seeds, horizon, CardOptions(vary_base_stock=False, steps=settings.steps))
    return plan_problem(ev, seeds, horizon, PlanOptions(machines=machines))


def live_keys(problem: ForecastProblem) -> list[str]:
    """The tag-backed keys of a problem's decisions (a maintenance plan writes plan and policy)."""
    if problem.name == "maintenance":
        return [k for s in problem.space.to_sets(problem.space.current()) for k in [s.partition("=")[0]]]
    return [v.key for v in problem.space.variables]


def _as_text(value: Value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def shifted_plan(text: str, warmup: float, now_h: float) -> str:
    """Forecast windows (warm-up first) moved to the plant's working clock from `now_h`."""
    windows = [(start - warmup + now_h, dur) for start, dur in json.loads(text)]
    return plan_text([(s, d) for s, d in windows if s >= now_h])


def changes_of(problem: ForecastProblem, verdict_sets: tuple[str, ...], current: dict[str, Value],
               now_h: float) -> dict[str, Value]:
    """What to write: each decision whose value differs from the current one."""
    out: dict[str, Value] = {}
    for item in verdict_sets:
        key, _, text = item.partition("=")
        value: Value = text
        if key.startswith(PLAN_PREFIX):
            value = shifted_plan(text, problem.horizon.warmup, now_h)
        else:
            old = current.get(key)
            if isinstance(old, float):
                value = float(text)
            elif isinstance(old, int):
                value = int(text)
        if current.get(key) != value:
            out[key] = value
    return out


def run_job(settings: OptimizerSettings, job: JobSettings, audit: AuditLog,
            link_factory: LinkFactory = PlantLink) -> dict[str, Any]:
    """Runs one job synchronously (call it from a worker thread, never from an event loop)."""
    t0 = time.perf_counter()
    entry: dict[str, Any] = {"job": job.name, "problem": job.problem, "algorithm": job.algorithm,
                             "plant_file": settings.plant}
    try:
        entry |= _run(settings, job, link_factory)
    except Exception as e:
        log.exception("optimisation job %s failed", job.name)
        entry |= {"outcome": "error", "reasons": [f"{type(e).__name__}: {e}"]}
    entry["elapsed_s"] = round(time.perf_counter() - t0, 3)
    return audit.record(entry)


def _run(settings: OptimizerSettings, job: JobSettings, link_factory: LinkFactory) -> dict[str, Any]:
    clock = _Clock()
    base = plant_file(settings)
    with Evaluator(PlantForecaster(base), jobs=settings.workers) as probe:
        keys = live_keys(make_problem(settings, job, probe))
    current, now_h = asyncio.run(_read(link_factory(settings, base), keys))
    clock.lap("read_s")
    current_sets = [f"{k}={_as_text(v)}" for k, v in current.items() if not k.startswith(PLAN_PREFIX)]
    snapshot = f"opcua:{settings.server_url}@plant_h={now_h:.3f}"
    forecaster = PlantForecaster(build_plant(base, current_sets), f"{settings.plant} + setpoints from {snapshot}")
    with ExitStack() as stack:
        pool = stack.enter_context(dask_executor(settings.dask_scheduler)) if settings.dask_scheduler else None
        ev = stack.enter_context(Evaluator(forecaster, jobs=settings.workers, executor=pool))
        problem = make_problem(settings, job, ev)
        result = solve(problem, job.algorithm, Budget(job.budget_s, job.generations, job.pop_size), seed=job.seed)
        clock.lap("search_s")
        verdict = verify(problem, result.best, VerifyOptions(reps=job.verify_reps, alpha=settings.alpha,
                                                             margin=settings.margin, steps=settings.steps))
        clock.lap("verify_s")
    out: dict[str, Any] = {"timings": clock.laps, "snapshot": snapshot, "forecast": forecaster.source,
                           "current": current,
                           "candidate": list(result.best.sets), "search": {
                               "candidates": result.evaluations, "elapsed_s": round(result.elapsed_s, 3),
                               "stopped": result.stopped}, **_objectives(verdict)}
    if not verdict.accepted:
        return out | {"outcome": "kept", "reasons": verdict.reasons, "written": {}}
    changes = changes_of(problem, result.best.sets, current, now_h)
    link = link_factory(settings, base)
    if settings.mode == "advisory":
        report = asyncio.run(_recommend(link, changes, _summary(job, verdict)))
        clock.lap("recommend_s")
        return out | {"outcome": report.outcome, "reasons": [] if report.outcome == "recommended" else [report.detail],
                      "recommendation": report.detail, "recommended": changes, "written": {},
                      "writes": report.as_json()}
    report = asyncio.run(_write(link, changes))
    clock.lap("write_s")
    return out | {"outcome": report.outcome, "reasons": [report.detail] if report.detail else [],
                  "written": changes, "writes": report.as_json()}


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


async def _recommend(link: PlantLink, changes: dict[str, Value], summary: str) -> Any:
    async with link:
        return await link.recommend(changes, summary)


async def _write(link: PlantLink, changes: dict[str, Value]) -> Any:
    async with link:
        return await link.write(changes)
