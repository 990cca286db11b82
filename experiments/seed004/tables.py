"""The seed's tables computed from the raw replications: Table 5 (statistics, 95 % interval
and compute cost of Zmax per method), Table 3 (one-way ANOVA, `scipy.stats.f_oneway`),
Table 4 (Tukey HSD, `scipy.stats.tukey_hsd`), the per model and method KPIs, and the paired
differences against the plain settings (common random numbers: the same replication of
every method saw the same random streams).

A method's observations are all its (solver seed, replication) pairs; the plain settings
have one setting, so their 30 replications. The replications of different methods are not
independent (common random numbers), which the one-way ANOVA and Tukey HSD assume; they
are computed as the seed computed them, and the paired differences are the honest
comparison."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from plc_sim.model.experiment import Summary, kpi_bounds, paired, summarise

from .design import METHODS, PLAIN

Row = dict[str, Any]
KPIS = ("Zmax", "FG", "SL", "fill_rate", "WIP", "SC", "Rn", "LD", "I3")
PAIRED = ("Zmax", "FG", "SL", "fill_rate", "WIP", "SC", "Rn", "LD")


@dataclass(frozen=True)
class Table5Row:
    method: str
    n: int
    mean: float
    variance: float
    sd: float
    low: float
    high: float
    runs: int
    run_mean: float
    """The mean of the solver runs' means (equal to `mean` up to rounding: runs have the same
    replications)."""
    run_low: float
    """The 95 % interval of the mean over solver runs (each run's mean over the replications)."""
    run_high: float
    compute_s: float
    """Mean seconds of one solver run's search (the seed's "computational cost")."""
    evaluations: float
    screening_s: float


@dataclass(frozen=True)
class Anova:
    df_group: int
    df_resid: int
    ss_group: float
    ss_resid: float
    ms_group: float
    ms_resid: float
    F: float
    p: float


@dataclass(frozen=True)
class TukeyRow:
    pair: str
    difference: float
    low: float
    high: float
    p: float


def groups(reps: Iterable[Row], kpi: str = "Zmax") -> dict[str, list[float]]:
    """Observations per method, in the design's method order."""
    found: dict[str, list[float]] = defaultdict(list)
    for r in reps:
        found[r["method"]].append(float(r[kpi]))
    return {m: found[m] for m in METHODS if m in found}


def table5(reps: Sequence[Row], runs: Sequence[Row]) -> list[Table5Row]:
    out = []
    by_run: dict[tuple[str, int], list[float]] = defaultdict(list)
    for r in reps:
        by_run[(r["method"], int(r["solver_seed"]))].append(float(r["Zmax"]))
    for method, values in groups(reps).items():
        s = summarise(values)
        means = [float(np.mean(v)) for (m, _), v in by_run.items() if m == method]
        over = summarise(means)
        mine = [r for r in runs if r["method"] == method]
        var = float(np.var(values, ddof=1))
        out.append(Table5Row(method, s.n, s.mean, var, math.sqrt(var), s.low, s.high, len(means), over.mean,
                             over.low, over.high, _mean(r["compute_s"] for r in mine),
                             _mean(r["evaluations"] for r in mine), _mean(r["screening_s"] for r in mine)))
    return out


def _mean(values: Iterable[float]) -> float:
    v = [float(x) for x in values]
    return float(np.mean(v)) if v else math.nan


def anova(samples: dict[str, list[float]]) -> Anova:
    """One-way ANOVA; F and p are scipy's, the sums of squares the textbook's."""
    data = [np.asarray(v, dtype=float) for v in samples.values()]
    res = stats.f_oneway(*data)
    grand = float(np.mean(np.concatenate(data)))
    ss_g = float(sum(len(d) * (d.mean() - grand) ** 2 for d in data))
    ss_r = float(sum(((d - d.mean()) ** 2).sum() for d in data))
    df_g, df_r = len(data) - 1, sum(len(d) for d in data) - len(data)
    return Anova(df_g, df_r, ss_g, ss_r, ss_g / df_g, ss_r / df_r, float(res.statistic), float(res.pvalue))


def tukey(samples: dict[str, list[float]]) -> list[TukeyRow]:
    """Every pair i < j as "i-j": mean_i - mean_j, its 95 % interval and adjusted p."""
    names = list(samples)
    res = stats.tukey_hsd(*[np.asarray(v, dtype=float) for v in samples.values()])
    ci = res.confidence_interval(0.95)
    return [TukeyRow(f"{names[i]}-{names[j]}", float(res.statistic[i, j]), float(ci.low[i, j]),
                     float(ci.high[i, j]), float(res.pvalue[i, j]))
            for i in range(len(names)) for j in range(i + 1, len(names))]


def kpi_table(reps: Sequence[Row]) -> dict[str, dict[str, Summary]]:
    """Mean and 95 % interval of each KPI per method (over all its observations)."""
    return {m: {k: summarise(v, bounds=kpi_bounds(k)) for k in KPIS for v in [groups(reps, k)[m]]}
            for m in groups(reps)}


def per_rep_mean(reps: Sequence[Row], method: str) -> list[dict[str, float]]:
    """A method's KPIs per replication, averaged over its solver runs."""
    acc: dict[int, list[Row]] = defaultdict(list)
    for r in reps:
        if r["method"] == method:
            acc[int(r["rep"])].append(r)
    return [{k: float(np.mean([float(x[k]) for x in acc[rep]])) for k in PAIRED} for rep in sorted(acc)]


def paired_table(reps: Sequence[Row]) -> dict[str, dict[str, Summary]]:
    """Per method, the paired difference (method - plain) of the per-replication means."""
    plain = per_rep_mean(reps, PLAIN)
    return {m: paired(plain, per_rep_mean(reps, m)) for m in groups(reps) if m != PLAIN}


def split(rows: Iterable[Row]) -> dict[tuple[str, int], list[Row]]:
    """Rows per (model, scenario), in the order they came."""
    out: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for r in rows:
        out[(str(r["model"]), int(r["scenario"]))].append(r)
    return dict(out)


def all_tables(reps: Sequence[Row], runs: Sequence[Row]) -> dict[str, Any]:
    """Every table per 'MODEL/scenario', as plain JSON-able data."""
    run_cells = split(runs)
    out: dict[str, Any] = {}
    for (model, scenario), rows in split(reps).items():
        z = groups(rows)
        out[f"{model}/{scenario}"] = {
            "table5": [asdict(t) for t in table5(rows, run_cells.get((model, scenario), []))],
            "anova": asdict(anova(z)) if len(z) > 1 else None,
            "tukey": [asdict(t) for t in tukey(z)] if len(z) > 1 else [],
            "kpis": {m: {k: _summary(s) for k, s in d.items()} for m, d in kpi_table(rows).items()},
            "paired": {m: {k: _summary(s) for k, s in d.items()} for m, d in paired_table(rows).items()}
            if PLAIN in z else {},
        }
    return out


def _summary(s: Summary) -> dict[str, float]:
    return {"mean": s.mean, "low": s.low, "high": s.high, "n": s.n, "significant": s.significant}
