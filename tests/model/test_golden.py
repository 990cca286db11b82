"""Plant scenarios as golden tests: each bundled model and scenario, run with a fixed seed,
must reproduce the KPIs recorded in tests/model/golden/. A change to the model that moves them
is either a bug or a deliberate change; for the latter, regenerate with
`PLANT_GOLDEN_UPDATE=1 python -m pytest tests/model/test_golden.py` and say why in the commit.
"""

import json
import os
from pathlib import Path

import pytest

from plc_sim.model.experiment import RunPlan, run_replication
from plc_sim.model.spec import MODELS, load_plant
from plc_sim.model.variants import build_variant

GOLDEN = Path(__file__).parent / "golden"
PLAN = RunPlan(hours=1500.0, warmup=500.0, seed=1)
CASES = [("gear_line", mo, sc) for mo in MODELS for sc in (1, 21)] + [("auto_parts_cell", None, None)]


def _path(plant: str) -> Path:
    return GOLDEN / f"{plant}.json"


def _run(plant: str, model: str, scenario: int) -> dict[str, float]:
    return run_replication(build_variant(load_plant(plant), model=model, scenario=scenario), PLAN, 0)


def test_update_golden_files():
    if not os.environ.get("PLANT_GOLDEN_UPDATE"):
        pytest.skip("set PLANT_GOLDEN_UPDATE=1 to rewrite the golden files")
    by_plant: dict[str, dict] = {}
    for plant, mo, sc in CASES:
        by_plant.setdefault(plant, {})[f"{mo or 'baseline'}/{sc or ''}"] = _run(plant, mo, sc)
    for plant, data in by_plant.items():
        _path(plant).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


@pytest.mark.parametrize("plant,model,scenario", CASES, ids=[f"{p}-{m}-{s}" for p, m, s in CASES])
def test_scenario_matches_golden(plant, model, scenario):
    if os.environ.get("PLANT_GOLDEN_UPDATE"):
        pytest.skip("rewriting golden files")
    expected = json.loads(_path(plant).read_text())[f"{model or 'baseline'}/{scenario or ''}"]
    got = _run(plant, model, scenario)
    assert expected.keys() <= got.keys()
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-9), k
