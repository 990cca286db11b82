"""How long the full design takes, from the cell times a run measured: a search cell's
wall time scales with the simulated hours it screens (seed methods: candidates x
replications x horizon; NSGA-II: population x generations x replications x horizon), an
evaluation replication's with its horizon (its own seconds, shared by the workers). Approximate: it ignores the cache hits that
repeated settings give (the estimate is an upper bound in that respect)."""

from __future__ import annotations

import math

import numpy as np

from .design import OUR_METHOD, Design
from .runs import Results


def _screen_h(d: Design, method: str) -> float:
    h = (d.screening.hours + d.screening.warmup) * d.screening.reps
    return h * (d.nsga_pop * d.nsga_generations if method == OUR_METHOD else d.candidates)


def full_seconds(res: Results, full: Design) -> float | None:
    """Estimated wall seconds of `full` on this machine with the run's workers; None when
    the run measured no cell of a kind the full design needs."""
    d = res.design
    total = 0.0
    for kind in (OUR_METHOD, "seed"):
        times = [float(r["cell_s"]) for r in res.runs if (r["method"] == OUR_METHOD) == (kind == OUR_METHOD)]
        n = len(full.models) * len(full.scenarios) * len(full.solver_seeds) * (
            1 if kind == OUR_METHOD else len(full.solvers) - 1)
        if not times:
            return None
        total += float(np.mean(times)) * _screen_h(full, kind) / _screen_h(d, kind) * n
    reps = [float(r["cell_s"]) for r in res.reps if "cell_s" in r]
    if not reps:
        return None
    per_rep = float(np.mean(reps)) / res.jobs
    scale = (full.evaluation.hours + full.evaluation.warmup) / (d.evaluation.hours + d.evaluation.warmup)
    settings = 1 + len(full.solvers) * len(full.solver_seeds)
    total += per_rep * scale * settings * full.evaluation.reps * len(full.models) * len(full.scenarios)
    return total if math.isfinite(total) else None
