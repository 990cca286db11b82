"""Replications of a plant run, in parallel processes, summarised with 95 % confidence
intervals. Replication r of seed s uses the same random streams under every control model
and setting (common random numbers), so comparisons are paired: `run_settings` runs several
settings on the same seeds and `paired` gives the per-replication differences with their
Student t intervals, far tighter than two independent intervals. Intervals of KPIs that
cannot leave a range (shares in [0, 1], counts >= 0) are clipped to it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from scipy import stats

from .kpi import kpis
from .line import LineModel
from .spec import PlantSpec
from .streams import replication_seed


@dataclass(frozen=True)
class RunPlan:
    """Calendar hours measured after a warm-up of `warmup` calendar hours (seed 004: 30
    replications of 9000 h after 1000 h)."""

    hours: float
    warmup: float = 0.0
    seed: int = 1

    def __post_init__(self) -> None:
        if self.hours <= 0:
            raise ValueError("hours must be positive")
        if self.warmup < 0:
            raise ValueError("warm-up must not be negative")


def run_replication(spec: PlantSpec, plan: RunPlan, rep: int) -> dict[str, float]:
    """One replication: warm up, reset the statistics, run to the end, return its KPIs."""
    m = LineModel(spec, replication_seed(plan.seed, rep))
    if plan.warmup:
        m.run_calendar(plan.warmup)
        m.reset_stats()
    m.run_calendar(plan.warmup + plan.hours)
    return kpis(m, plan.hours)


Bounds = tuple[float, float]
UNBOUNDED: Bounds = (-math.inf, math.inf)
_SHARES = ("fill_rate", "served", "feasible", "oee", "non_processing_share")
_SIGNED = ("Zmax", "WIP1_obj", "WIP2_obj", "WIP3_obj")


def kpi_bounds(name: str) -> Bounds:
    """The range a KPI cannot leave: shares in [0, 1]; Zmax and the WIP objectives signed;
    every other KPI (counts, hours, energy, costs, SL) >= 0."""
    if name in _SHARES or name.startswith("util_"):
        return (0.0, 1.0)
    if name in _SIGNED:
        return UNBOUNDED
    return (0.0, math.inf)


@dataclass(frozen=True)
class Summary:
    """Mean and confidence half-width; `low` and `high` are clipped to `bounds`."""

    mean: float
    half_width: float
    n: int
    bounds: Bounds = UNBOUNDED

    @property
    def low(self) -> float:
        return max(self.mean - self.half_width, self.bounds[0])

    @property
    def high(self) -> float:
        return min(self.mean + self.half_width, self.bounds[1])

    @property
    def significant(self) -> bool:
        """For a paired difference: its interval excludes 0."""
        return not math.isnan(self.half_width) and (self.low > 0 or self.high < 0)


def summarise(values: list[float], level: float = 0.95, bounds: Bounds = UNBOUNDED) -> Summary:
    """Mean and Student-t confidence half-width of independent replications."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return Summary(mean, math.nan, n, bounds)
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return Summary(mean, stats.t.ppf(0.5 + level / 2, n - 1) * math.sqrt(var / n), n, bounds)


def run_replications(spec: PlantSpec, plan: RunPlan, reps: int, jobs: int = 1,
                     on_done: Callable[[int], None] | None = None,
                     executor: Executor | None = None) -> list[dict[str, float]]:
    """KPIs of `reps` replications in rep order; `jobs` > 1 runs them in a process pool,
    `executor` (a Dask cluster's, say) runs them there instead."""
    return run_settings([spec], plan, reps, jobs, on_done, executor)[0]


def summarise_all(runs: list[dict[str, float]]) -> dict[str, Summary]:
    return {k: summarise([r[k] for r in runs], bounds=kpi_bounds(k)) for k in runs[0]}


def run_settings(specs: list[PlantSpec], plan: RunPlan, reps: int, jobs: int = 1,
                 on_done: Callable[[int], None] | None = None,
                 executor: Executor | None = None) -> list[list[dict[str, float]]]:
    """Replications 0..reps-1 of every setting on the same seeds (common random numbers);
    one list of runs per setting, in rep order. `on_done(k)` counts finished replications.
    A replication's result depends only on its setting, plan and number, so any executor
    (inline, the process pool, a cluster that retries a lost worker's tasks) gives the same."""
    tasks = [(i, r) for i in range(len(specs)) for r in range(reps)]
    results: dict[tuple[int, int], dict[str, float]] = {}
    if executor is None and jobs <= 1:
        for k, (i, r) in enumerate(tasks):
            results[(i, r)] = run_replication(specs[i], plan, r)
            if on_done:
                on_done(k)
    else:
        with contextlib.ExitStack() as stack:
            pool = executor or stack.enter_context(ProcessPoolExecutor(max_workers=jobs))
            futures = {pool.submit(run_replication, specs[i], plan, r): (i, r) for i, r in tasks}
            for k, fut in enumerate(as_completed(futures)):
                results[futures[fut]] = fut.result()
                if on_done:
                    on_done(k)
    return [[results[(i, r)] for r in range(reps)] for i in range(len(specs))]


def paired(reference: list[dict[str, float]], other: list[dict[str, float]]) -> dict[str, Summary]:
    """Per-KPI mean of the per-replication differences other - reference, with its Student t
    interval; a bounded KPI's difference is clipped to the differences its range allows."""
    out = {}
    for k in reference[0]:
        if k not in other[0]:
            continue
        lo, hi = kpi_bounds(k)
        out[k] = summarise([o[k] - r[k] for r, o in zip(reference, other)], bounds=(lo - hi, hi - lo))
    return out
