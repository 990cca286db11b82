"""Evaluations on a dask.distributed LocalCluster give the same KPIs as the process pool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from optimizer_svc.dask_pool import dask_executor
from optimizer_svc.evaluator import Evaluator
from optimizer_svc.forecast import PlantForecaster
from optimizer_svc.offline import OfflineRun, run_offline
from optimizer_svc.solve import Budget
from tests.optimizer.conftest import GEAR_HORIZON


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_dask_and_inline_evaluations_agree(scheduler, gear_bsop):
    sets = ("K1=5", "C=12")
    inline = gear_bsop.evaluate([sets], [0, 1], GEAR_HORIZON)[0]
    with dask_executor(scheduler) as pool, Evaluator(PlantForecaster.from_file("gear_line", "BSOP", 1),
                                                     executor=pool) as ev:
        assert ev.evaluate([sets], [0, 1], GEAR_HORIZON)[0] == inline
        assert ev.simulations == 2


def test_an_offline_run_on_the_cluster(scheduler):
    run = OfflineRun(plant="gear_line", model="BSOP", scenario=1, algorithm="DE", horizon=GEAR_HORIZON, reps=2,
                     verify_reps=3, budget=Budget(seconds=60, generations=2, pop_size=4), jobs=1,
                     dask_scheduler=scheduler)
    report = run_offline(run)
    assert report.result.best.feasible
    assert report.verdict.seeds == (1000, 1001, 1002)
