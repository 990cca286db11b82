"""The experiment's cells: one per solver run (search, screening of its candidates, the
three-stage choice) and one per evaluation replication of a chosen solution. Every cell is
cached on disk (`experiments.cells.CellCache`), so a run resumes where it stopped and a
second run computes nothing. Evaluation replication r is stream r of the evaluation seed for
every method (common random numbers); replications of the same settings are computed once."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from experiments.cells import CellCache
from optimizer_svc.dask_pool import dask_executor
from optimizer_svc.evaluator import Evaluator, Invalid, close_shared_pools, shared_pool
from optimizer_svc.forecast import Horizon as Forecast
from optimizer_svc.forecast import PlantForecaster
from optimizer_svc.overrides import build_plant
from optimizer_svc.problems.base import Evaluated, ForecastProblem, Objective, kpi
from optimizer_svc.problems.production import CardOptions, card_problem, card_repair, card_space
from optimizer_svc.solve import Budget, SolveResult, solve
from optimizer_svc.space import DecisionSpace
from plc_sim.model.experiment import RunPlan, run_replication
from plc_sim.model.spec import PlantSpec, load_plant
from plc_sim.model.variants import build_variant

from .analytic import WipForecaster
from .choice import Candidate, choose
from .design import OUR_METHOD, PLAIN, Design, Horizon

Row = dict[str, Any]
Tick = Callable[[str], None]


@dataclass
class Results:
    """What the tables and figures are made of."""

    design: Design
    runs: list[Row] = field(default_factory=list)
    """One row per solver run: the chosen settings, compute seconds, evaluations."""
    candidates: list[Row] = field(default_factory=list)
    convergence: list[Row] = field(default_factory=list)
    reps: list[Row] = field(default_factory=list)
    """One row per evaluation replication of every method (plain: solver seed 0)."""
    jobs: int = 1
    computed: int = 0
    cached: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: {"search": 0.0, "eval": 0.0})
    """Wall seconds spent computing (not reading) the search and the evaluation cells."""
    counts: dict[str, int] = field(default_factory=lambda: {"search": 0, "eval": 0})
    """Cells computed (not read from the cache) per kind."""


def variant(design: Design, model: str, scenario: int) -> PlantSpec:
    return build_variant(load_plant(design.plant), model=model, scenario=scenario)


def timed_replication(spec: PlantSpec, plan: RunPlan, rep: int) -> dict[str, float]:
    """`run_replication`'s KPIs and `cell_s`, the seconds it took (kept for the estimate of
    the full design's time, also on a resumed run)."""
    t0 = time.perf_counter()
    out = run_replication(spec, plan, rep)
    out["cell_s"] = time.perf_counter() - t0
    return out


def seed_space(spec: PlantSpec) -> DecisionSpace:
    """The seed's decisions: the kanbans, the CONWIP cards and the stage-3 base stocks S3
    (the stages 1-2 base stocks stay as the plant file has them), repaired onto the card
    rules and seed constraints."""
    space = card_space(spec, CardOptions(vary_base_stock=True))
    keep = tuple(v for v in space.variables if not v.key.startswith(("S1.", "S2.")))
    return DecisionSpace(keep, repair=card_repair(spec))


def _forecast(h: Horizon) -> Forecast:
    return Forecast(h.hours, h.warmup, h.seed)


def _candidate(row: Evaluated, kpis: dict[str, float]) -> Candidate:
    return Candidate(row.sets, dict(row.values), kpis["Zmax"], kpis["SL"], kpis["WIP"])


def _means(outcome: list[dict[str, float]] | Invalid) -> dict[str, float]:
    assert not isinstance(outcome, Invalid), "candidates are feasible"
    return {k: float(np.mean([o[k] for o in outcome])) for k in ("Zmax", "SL", "WIP")}


def seed_method(design: Design, spec: PlantSpec, method: str, seed: int, sim: Evaluator) -> Row:
    """The seed's way: minimise the WIP objectives (no simulation), take the best
    `design.candidates` distinct combinations found, simulate them, choose in three stages."""
    with Evaluator(WipForecaster(spec)) as ev:
        problem = ForecastProblem("seed-wip", seed_space(spec), ev, (0,), Forecast(1.0),
                                  [Objective("WIP_obj", kpi("WIP_obj"))])
        res = solve(problem, method, Budget(design.budget_s, design.analytic_generations, design.analytic_pop),
                    seed=seed)
    ranked = sorted((r for r in problem.archive.values() if r.feasible and r.sets), key=lambda r: r.objectives[0])
    pool = ranked[:design.candidates]
    t0 = time.perf_counter()
    outcomes = sim.evaluate([r.sets for r in pool], range(design.screening.reps), _forecast(design.screening))
    cands = [_candidate(r, _means(o)) for r, o in zip(pool, outcomes, strict=True)]
    return _row(res, cands, time.perf_counter() - t0)


def our_method(design: Design, spec: PlantSpec, seed: int, sim: Evaluator) -> Row:
    """NSGA-II on simulated Zmax, SL and WIP (screening replications), then the same choice
    among its front."""
    opts = CardOptions(vary_base_stock=True, multi_objective=True)
    base = card_problem(sim, range(design.screening.reps), _forecast(design.screening), opts)
    problem = ForecastProblem(base.name, seed_space(spec), sim, base.seeds, base.horizon, base.objectives,
                              base.constraints, report=base.report)
    res = solve(problem, OUR_METHOD, Budget(design.budget_s, design.nsga_generations, design.nsga_pop), seed=seed)
    cands = [Candidate(r.sets, dict(r.values), *r.objectives) for r in res.front]
    return _row(res, cands, 0.0)


def _row(res: SolveResult, cands: list[Candidate], screening_s: float) -> Row:
    chosen, front, low = choose(cands)
    marks = [{**asdict(c), "sets": list(c.sets), "front": c in front, "few_cards": c in low, "chosen": c == chosen}
             for c in cands]
    return {"compute_s": res.elapsed_s, "evaluations": res.evaluations, "stopped": res.stopped,
            "screening_s": screening_s, "history": [asdict(s) for s in res.history], "candidates": marks,
            "chosen": list(chosen.sets), "chosen_values": dict(chosen.values)}


def search_params(design: Design, model: str, scenario: int, method: str, seed: int) -> dict[str, Any]:
    return {"cell": "seed004-search", "plant": design.plant, "model": model, "scenario": scenario,
            "method": method, "seed": seed, "screening": asdict(design.screening), "candidates": design.candidates,
            "analytic": [design.analytic_pop, design.analytic_generations],
            "nsga": [design.nsga_pop, design.nsga_generations], "budget_s": design.budget_s}


def eval_params(design: Design, model: str, scenario: int, sets: tuple[str, ...], rep: int) -> dict[str, Any]:
    h = design.evaluation
    return {"cell": "seed004-eval", "plant": design.plant, "model": model, "scenario": scenario,
            "sets": sorted(sets), "hours": h.hours, "warmup": h.warmup, "seed": h.seed, "rep": rep}


@contextmanager
def _pool(jobs: int, dask: str | None) -> Iterator[Executor | None]:
    """The Dask cluster at `dask` (the same cells, bit for bit), else the local process pool."""
    if dask is not None:
        with dask_executor(dask) as cluster:
            yield cluster
        return
    try:
        yield shared_pool(jobs)
    finally:
        close_shared_pools()


def run_design(design: Design, out: Path, jobs: int = 2, tick: Tick | None = None,
               totals: Callable[[int, int], None] | None = None, dask: str | None = None) -> Results:
    """Every cell of the design, cached under `out/cells`; `totals(searches, replications)`
    is told the sizes first, `tick("search" | "eval")` after each cell. `dask`: the address of
    a Dask scheduler whose workers run the simulations instead of `jobs` local processes."""
    cache = CellCache(out / "cells")
    res = Results(design, jobs=max(jobs, 1))
    step = tick or (lambda _kind: None)
    cells = [(m, s) for m in design.models for s in design.scenarios]
    if totals:
        totals(len(cells) * len(design.solvers) * len(design.solver_seeds), 0)
    with _pool(jobs, dask) as pool:
        chosen: dict[tuple[str, int], list[tuple[str, int, tuple[str, ...]]]] = {}
        for model, scenario in cells:
            spec = variant(design, model, scenario)
            with Evaluator(PlantForecaster(spec, f"{model} scenario {scenario}"), jobs=jobs, executor=pool) as sim:
                chosen[(model, scenario)] = _searches(design, spec, model, scenario, sim, cache, res, step)
        n_eval = sum(len({s for _, _, s in c}) for c in chosen.values()) * design.evaluation.reps
        if totals:
            totals(len(cells) * len(design.solvers) * len(design.solver_seeds), n_eval)
        for (model, scenario), picks in chosen.items():
            _evaluate(design, model, scenario, picks, pool, cache, res, step)
    return res


def _searches(design: Design, spec: PlantSpec, model: str, scenario: int, sim: Evaluator, cache: CellCache,
              res: Results, step: Tick) -> list[tuple[str, int, tuple[str, ...]]]:
    """Solver seed by solver seed (so that an interrupted run has whole seeds done), every
    method; the chosen settings of each run."""
    picks: list[tuple[str, int, tuple[str, ...]]] = [(PLAIN, 0, ())]
    for seed in design.solver_seeds:
        for method in design.solvers:
            params = search_params(design, model, scenario, method, seed)
            hit = cache.get(params)
            if hit is None:
                t0 = time.perf_counter()
                hit = our_method(design, spec, seed, sim) if method == OUR_METHOD else \
                    seed_method(design, spec, method, seed, sim)
                hit["cell_s"] = time.perf_counter() - t0
                cache.put(params, hit)
                _count(res, "search", hit["cell_s"])
            else:
                res.cached += 1
            _collect(res, model, scenario, method, seed, hit)
            picks.append((method, seed, tuple(hit["chosen"])))
            step("search")
    return sorted(picks, key=lambda p: (design.methods.index(p[0]), p[1]))


def _count(res: Results, kind: str, seconds: float, n: int = 1) -> None:
    res.computed += n
    res.counts[kind] += n
    res.seconds[kind] += seconds


def _collect(res: Results, model: str, scenario: int, method: str, seed: int, cell: Row) -> None:
    key = {"model": model, "scenario": scenario, "method": method, "solver_seed": seed}
    res.runs.append({**key, "cell_s": cell["cell_s"], "compute_s": cell["compute_s"],
                     "evaluations": cell["evaluations"],
                     "screening_s": cell["screening_s"], "stopped": cell["stopped"],
                     "candidates": len(cell["candidates"]), "chosen": " ".join(cell["chosen"]),
                     **{f"chosen_{k}": v for k, v in cell["chosen_values"].items()}})
    for c in cell["candidates"]:
        res.candidates.append({**key, "sets": " ".join(c["sets"]), "Zmax": c["zmax"], "SL": c["sl"],
                               "WIP": c["wip"], "front": c["front"], "few_cards": c["few_cards"],
                               "chosen": c["chosen"]})
    for h in cell["history"]:
        res.convergence.append({**key, **h})


def _evaluate(design: Design, model: str, scenario: int, picks: list[tuple[str, int, tuple[str, ...]]],
              pool: Executor | None, cache: CellCache, res: Results, step: Tick) -> None:
    spec = variant(design, model, scenario)
    h = design.evaluation
    plan = RunPlan(h.hours, h.warmup, h.seed)
    t0 = time.perf_counter()
    found: dict[tuple[tuple[str, ...], int], dict[str, float]] = {}
    fresh = 0
    pending: dict[tuple[tuple[str, ...], int], Future[dict[str, float]]] = {}
    for sets in dict.fromkeys(s for _, _, s in picks):
        plant = build_plant(spec, sets)
        for rep in range(h.reps):
            hit = cache.get(eval_params(design, model, scenario, sets, rep))
            if hit is not None:
                found[(sets, rep)] = hit
                res.cached += 1
                step("eval")
            elif pool is None:
                found[(sets, rep)] = _store(cache, design, model, scenario, sets, rep, timed_replication(plant, plan, rep))
                fresh += 1
                step("eval")
            else:
                pending[(sets, rep)] = pool.submit(timed_replication, plant, plan, rep)
    keys = {fut: key for key, fut in pending.items()}
    for fut in as_completed(keys):
        sets, rep = keys[fut]
        found[(sets, rep)] = _store(cache, design, model, scenario, sets, rep, fut.result())
        fresh += 1
        step("eval")
    if fresh:
        _count(res, "eval", time.perf_counter() - t0, fresh)
    for method, seed, sets in picks:
        for rep in range(h.reps):
            res.reps.append({"model": model, "scenario": scenario, "method": method, "solver_seed": seed,
                             "rep": rep, "sets": " ".join(sets), **found[(sets, rep)]})


def _store(cache: CellCache, design: Design, model: str, scenario: int, sets: tuple[str, ...], rep: int,
           kpis: dict[str, float]) -> dict[str, float]:
    cache.put(eval_params(design, model, scenario, sets, rep), kpis)
    return kpis
