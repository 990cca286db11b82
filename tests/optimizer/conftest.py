"""Small, seeded cases: short horizons, few replications, in-process evaluation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from optimizer_svc.evaluator import Evaluator
from optimizer_svc.forecast import Horizon, PlantForecaster
from optimizer_svc.settings import JobSettings, OptimizerSettings
from tests.support.opcua_harness import USERS

IDLERS = ["RB1", "RB2", "QI1", "AGV1", "AGV2"]
"""The cell's machines that are not its bottleneck (the CNCs are): parking them in standby
or off outside the shifts saves their idle energy without costing output."""
CELL_HORIZON = Horizon(hours=336.0, warmup=168.0, seed=1)
GEAR_HORIZON = Horizon(hours=600.0, warmup=100.0, seed=1)
STANDBY_JOB = JobSettings(name="standby", problem="setpoints", algorithm="GA", kinds=["standby"], machines=IDLERS,
                          reps=2, verify_reps=6, hours=336.0, warmup=168.0, generations=3, pop_size=6, budget_s=60.0)
"""A short live job on the cell: standby timeouts of the idling machines."""

OFF_SHIFT_JOB = STANDBY_JOB.model_copy(update={"name": "off_shift", "kinds": ["off_shift"]})
"""The cell leaves its machines powered outside the shifts; parking the machines that are not
the bottleneck in standby or off then saves their idle energy without costing output."""


def cell_settings(srv, tmp_path, job: JobSettings = STANDBY_JOB, **kw) -> OptimizerSettings:
    """The optimizer of the cell served by `srv`, as the engineer eve, evaluating in-process."""
    return OptimizerSettings(server_url=srv.url, username="eve", password=USERS["eve"][1], plant="auto_parts_cell",
                             data_dir=tmp_path / "optimizer", workers=1, jobs=[job], **kw)


@pytest.fixture(scope="session")
def cell() -> Iterator[Evaluator]:
    with Evaluator(PlantForecaster.from_file("auto_parts_cell")) as ev:
        yield ev


@pytest.fixture(scope="session")
def gear_bsop() -> Iterator[Evaluator]:
    with Evaluator(PlantForecaster.from_file("gear_line", "BSOP", 1)) as ev:
        yield ev
