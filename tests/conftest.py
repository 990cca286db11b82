"""Shared fixtures, and a marker per test folder so that `pytest -m "not interop"` (the quick
loop) or `pytest -m security` picks a part of the suite."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from plc_sim.model.spec import PlantSpec, load_plant

pytest_plugins = ["pytester"]

FOLDER_MARKERS = {"model": "model", "plc": "plc", "opcua": "opcua", "security": "security",
                  "interop": "interop", "cli": "cli", "boundary": "model", "deploy": "deploy",
                  "optimizer": "optimizer", "twin": "twin", "experiments": "experiment", "web": "web",
                  "plugin": "plugin"}

os.environ.setdefault("PLANT_WEB_PORT", "0")
"""Every `plant up` a test starts serves its web view on a free port, never on the default 8080
(taken on a developer's machine, and by one test while the next starts)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        rel = Path(str(item.fspath)).relative_to(root)
        marker = FOLDER_MARKERS.get(rel.parts[0]) if len(rel.parts) > 1 else None
        if marker:
            item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture(autouse=True)
def _refusals_logged_afresh() -> None:
    """Each test sees the first refusal of every kind in the log (they are rate-limited)."""
    refusals = sys.modules.get("opcua_server.refusals")
    if refusals is not None:
        refusals.LIMITER.forget()


@pytest.fixture(scope="session")
def gear_line() -> PlantSpec:
    return load_plant("gear_line")
