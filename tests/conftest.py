import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from plc_sim.spec import PlantSpec, load_plant  # noqa: E402


@pytest.fixture(scope="session")
def gear_line() -> PlantSpec:
    return load_plant("gear_line")
