"""Small, seeded cases: short horizons, few replications, in-process evaluation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from optimizer_svc.evaluator import Evaluator
from optimizer_svc.forecast import Horizon, PlantForecaster

IDLERS = ["RB1", "RB2", "QI1", "AGV1", "AGV2"]
"""The cell's machines that are not its bottleneck (the CNCs are): parking them in standby
or off outside the shifts saves their idle energy without costing output."""
CELL_HORIZON = Horizon(hours=336.0, warmup=168.0, seed=1)
GEAR_HORIZON = Horizon(hours=600.0, warmup=100.0, seed=1)


@pytest.fixture(scope="session")
def cell() -> Iterator[Evaluator]:
    with Evaluator(PlantForecaster.from_file("auto_parts_cell")) as ev:
        yield ev


@pytest.fixture(scope="session")
def gear_bsop() -> Iterator[Evaluator]:
    with Evaluator(PlantForecaster.from_file("gear_line", "BSOP", 1)) as ev:
        yield ev
