"""Replications per second: the local process pool against a Dask cluster started the standard
way (`dask scheduler` and `dask worker` processes on loopback), same replications, same run.
Both give identical KPIs (checked here too); the cluster adds task shipping and scheduling.

Usage: python bench/dask_replications.py [--reps 20] [--hours 2000] [--workers 2] [--repeats 3]
Prints a table and, last, one JSON line. Medians of `repeats` runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from optimizer_svc.dask_pool import dask_executor
from plc_sim.model.experiment import RunPlan, run_replications
from plc_sim.model.spec import load_plant
from plc_sim.model.variants import build_variant
from tests.support.dask_cluster import dask_cluster


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--hours", type=float, default=2000.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    spec = build_variant(load_plant("gear_line"), model="BSOP", scenario=1)
    plan = RunPlan(a.hours, 0.0, 1)
    local_s, dask_s = [], []
    with tempfile.TemporaryDirectory() as tmp, dask_cluster(Path(tmp), a.workers) as cluster:
        from distributed import Client

        with Client(cluster.address, timeout=60) as c:
            c.wait_for_workers(a.workers, timeout=120)
        with dask_executor(cluster.address) as pool:  # warm-up: the workers import the model once
            run_replications(spec, RunPlan(10.0, 0.0, 1), 2 * a.workers, executor=pool)
        for _ in range(a.repeats):
            t = time.perf_counter()
            local = run_replications(spec, plan, a.reps, jobs=a.workers)
            local_s.append(time.perf_counter() - t)
            with dask_executor(cluster.address) as pool:
                t = time.perf_counter()
                remote = run_replications(spec, plan, a.reps, executor=pool)
                dask_s.append(time.perf_counter() - t)
            if remote != local:
                raise SystemExit("the cluster's KPIs differ from the process pool's")
    lo, da = a.reps / statistics.median(local_s), a.reps / statistics.median(dask_s)
    table = Table(title=f"{a.reps} replications of {a.hours:g} h, BSOP scenario 1, {a.workers} workers")
    for col in ("engine", "replications/s (median)", "ratio to pool"):
        table.add_column(col)
    table.add_row(f"process pool ({a.workers} processes)", f"{lo:.2f}", "1.00")
    table.add_row(f"Dask cluster ({a.workers} workers)", f"{da:.2f}", f"{da / lo:.2f}")
    Console().print(table)
    print(json.dumps({"reps": a.reps, "hours": a.hours, "workers": a.workers, "pool_per_s": lo, "dask_per_s": da,
                      "ratio": da / lo, "identical": True}))


if __name__ == "__main__":
    main()
