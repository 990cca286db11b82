"""The offline optimum (arm c): `plant optimize --plant auto_parts_cell`'s machinery
(optimizer_svc/offline.py) on the true plant file, once per design. Its best candidate is
applied from the start of every seed's run when its own verification accepted it; otherwise
the arm runs the plant file's settings, and the report says so."""

from __future__ import annotations

from typing import Any

from optimizer_svc.forecast import Horizon
from optimizer_svc.offline import OfflineRun, changed, run_offline
from optimizer_svc.solve import Budget

from .design import PLANT, Design


def offline_cell(design: Design) -> dict[str, Any]:
    """The cell key of the design's offline search."""
    return {"experiment": "closed-loop", "plant": PLANT, "arm": "offline-search", "offline": design.as_json()["offline"],
            "workers": design.workers}


def search(design: Design) -> dict[str, Any]:
    o = design.offline
    run = OfflineRun(plant=PLANT, problem="setpoints", algorithm=o.algorithm,
                     horizon=Horizon(hours=o.hours, warmup=o.warmup, seed=o.seed), reps=o.reps,
                     verify_reps=o.verify_reps, budget=Budget(o.budget_s, o.generations, o.pop_size),
                     jobs=design.workers, dask_scheduler=design.dask)
    report = run_offline(run)
    verdict = report.verdict.as_json()
    sets = list(report.result.best.sets) if report.verdict.accepted else []
    return {"accepted": report.verdict.accepted, "reasons": report.verdict.reasons, "sets": sets,
            "changed": [[k, str(a), str(b)] for k, a, b in changed(report.decisions)],
            "evaluations": report.result.evaluations, "elapsed_s": round(report.result.elapsed_s, 3),
            "improvement": verdict["improvement"], "p_value": verdict["p_value"]}
