"""Replications on a real Dask cluster (`dask scheduler` and two `dask worker` processes on
loopback): the same KPIs bit for bit as the local process pool for the same seeds, and a worker
killed mid-run costs only its tasks, which the scheduler runs again on the other worker."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from optimizer_svc.dask_pool import dask_executor
from plc_sim.model.experiment import RunPlan, run_replications, run_settings
from plc_sim.model.spec import load_plant
from plc_sim.model.variants import build_variant
from tests.support.dask_cluster import Cluster, dask_cluster

PLAN = RunPlan(hours=400.0, warmup=100.0, seed=7)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with dask_cluster(Path(tmp_path_factory.mktemp("dask"))) as c:
        yield c


def _connected(cluster: Cluster, workers: int) -> None:
    from distributed import Client

    with Client(cluster.address, timeout=60) as client:
        client.wait_for_workers(workers, timeout=120)


def test_the_cluster_gives_the_process_pools_kpis_bit_for_bit(cluster):
    _connected(cluster, 2)
    specs = [build_variant(load_plant("gear_line"), model="BSOP", scenario=1, sets=s) for s in ([], ["S3=3"])]
    local = run_settings(specs, PLAN, 3, jobs=2)
    with dask_executor(cluster.address) as pool:
        remote = run_settings(specs, PLAN, 3, executor=pool)
    assert remote == local


def test_a_worker_killed_mid_run_costs_only_its_tasks(cluster):
    _connected(cluster, 2)
    spec = build_variant(load_plant("gear_line"), model="HSOP", scenario=2)
    reps = 10
    local = run_replications(spec, PLAN, reps, jobs=2)
    victim = cluster.workers[0]
    done_before_kill: list[int] = []

    def on_done(k: int) -> None:
        if victim.poll() is None:
            done_before_kill.append(k)
            victim.send_signal(signal.SIGKILL)  # at the first result: the other tasks are still to run
            victim.wait()

    with dask_executor(cluster.address) as pool:
        remote = run_replications(spec, PLAN, reps, on_done=on_done, executor=pool)
    assert victim.returncode == -signal.SIGKILL and len(done_before_kill) == 1
    assert remote == local, "every replication answered once, as the process pool answers it"


def test_plant_simulate_on_the_cluster_prints_the_pools_figures(cluster):
    import json
    import subprocess

    from tests.support.daemons import PLANT

    _connected(cluster, sum(w.poll() is None for w in cluster.workers))  # one may have been killed above
    args = [PLANT, "simulate", "--model", "BSOP", "--scenario", "1", "--hours", "200", "--warmup", "20",
            "--reps", "3", "--json"]
    runs = [subprocess.run([*args, *extra], capture_output=True, text=True, timeout=300, check=False)
            for extra in (["--jobs", "2"], ["--dask", cluster.address])]
    for r in runs:
        assert r.returncode == 0, r.stderr
    pool, remote = (json.loads(r.stdout)["kpis"] for r in runs)
    assert remote == pool


TIMINGS = {"cell_s", "compute_s", "screening_s", "elapsed_s"}
"""Columns of seed004's raw CSV that are seconds measured on the machine, not results."""


def _results(csv_path: Path) -> list[dict[str, str]]:
    import csv

    with csv_path.open() as f:
        return [{k: v for k, v in row.items() if k not in TIMINGS} for row in csv.DictReader(f)]


def test_plant_experiment_seed004_on_the_cluster_gives_the_pools_raw_data(cluster, tmp_path):
    """Solver runs (their screening simulations) and the evaluation replications both go to the
    cluster: every raw CSV is the pool's, bit for bit, but for the measured seconds."""
    import subprocess

    from tests.support.daemons import PLANT

    _connected(cluster, sum(w.poll() is None for w in cluster.workers))
    args = [PLANT, "experiment", "seed004", "--quick", "--methods", "GA", "--solver-seeds", "1", "--reps", "2"]
    outs = {"pool": tmp_path / "pool", "dask": tmp_path / "dask"}
    for name, extra in (("pool", ["--jobs", "2"]), ("dask", ["--dask", cluster.address])):
        r = subprocess.run([*args, "--out", str(outs[name]), *extra], capture_output=True, text=True, timeout=600,
                           check=False)
        assert r.returncode == 0, r.stderr[-3000:]
        assert "0 from the cache" in r.stdout, r.stdout
    for name in ("replications", "solver_runs", "candidates", "convergence"):
        pool, remote = (_results(outs[k] / "raw" / f"{name}.csv") for k in ("pool", "dask"))
        assert remote == pool and pool, name
