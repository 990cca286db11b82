"""The tag contract (`plant_tags`): the paths the twin and the optimizer rely on are the ones the
PLC's tag map publishes, and no part outside the contract spells a tag name as a literal."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import plant_tags as tags
from optimizer_svc.problems.production import CardOptions, card_space
from optimizer_svc.problems.setpoints import SetpointOptions, setpoint_space
from optimizer_svc.tags import NotLiveError, tag_refs
from plc_sim.model.spec import load_plant
from plc_sim.plc.runtime import PlcRuntime
from twin_core.discovery import expected_paths

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_NAMES = {str(v) for enum in (tags.Folder, tags.StationTag, tags.MachineTag, tags.ClockTag, tags.SimulationTag)
                  for v in enum}
CONSUMERS = ("twin_core", "optimizer_svc", "plantctl", "experiments", "plc_sim/plc", "opcua_server")


@pytest.fixture(scope="module", params=["gear_line", "auto_parts_cell"])
def published(request: pytest.FixtureRequest) -> tuple[str, set[str]]:
    plc = PlcRuntime(load_plant(request.param), seed=1, time_factor=None)
    return request.param, {t.key for t in plc.table}


def test_every_path_the_twin_expects_is_published(published):
    plant, keys = published
    missing = expected_paths(load_plant(plant)) - keys
    assert not missing, f"the twin expects tags the PLC does not publish: {sorted(missing)[:5]}"


def test_every_decision_the_optimizer_writes_is_published(published):
    plant, keys = published
    spec = load_plant(plant)
    space = setpoint_space(spec, SetpointOptions()) if plant == "auto_parts_cell" else card_space(spec, CardOptions())
    paths = []
    for var in space.variables:
        try:
            paths += [tags.key(r.path) for r in tag_refs(spec, var.key)]
        except NotLiveError:
            continue  # base stock: fixed while the PLC runs
    assert paths and not set(paths) - keys, f"the optimizer writes unpublished tags: {sorted(set(paths) - keys)}"


def test_every_contract_name_is_a_published_tag_of_some_plant():
    keys = set()
    for plant in ("gear_line", "auto_parts_cell"):
        keys |= {t.key for t in PlcRuntime(load_plant(plant), seed=1, time_factor=None).table}
    parts = {p for k in keys for p in k.split("/")}
    unused = {str(v) for enum in (tags.StationTag, tags.MachineTag, tags.ClockTag) for v in enum} - parts
    assert not unused, f"contract names no plant publishes: {sorted(unused)}"


def _literals(folder: str) -> list[tuple[str, int, str]]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in CONTRACT_NAMES:
                found.append((str(path.relative_to(ROOT)), node.lineno, node.value))
    return found


@pytest.mark.parametrize("folder", CONSUMERS)
def test_consumers_spell_no_tag_name_themselves(folder):
    assert not _literals(folder), "use plant_tags instead of these literals"
