"""The one direction of import: the model library (which the twin and the optimizer use)
loads no PLC module, no OPC UA server and no asyncua; the PLC never loads OPC UA."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FORBIDDEN_FOR_MODEL = ("plc_sim.plc", "opcua_server", "asyncua")

MODEL_MODULES = ["plc_sim.model.spec", "plc_sim.model.variants", "plc_sim.model.line", "plc_sim.model.kpi",
                 "plc_sim.model.experiment", "plc_sim.model.config", "plc_sim.model.vocab"]


def loaded_after_import(*modules: str) -> set[str]:
    """Module names loaded by a fresh interpreter that imports `modules`."""
    code = ("import importlib, json, sys\n"
            f"for m in {list(modules)!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(json.loads(out.stdout))


def offenders(loaded: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden))


def test_model_library_loads_no_plc_no_server_no_asyncua():
    assert offenders(loaded_after_import(*MODEL_MODULES), FORBIDDEN_FOR_MODEL) == []


@pytest.mark.parametrize("package", ["twin_core", "optimizer_svc"])
def test_twin_and_optimizer_load_no_plc_no_server(package):
    try:
        __import__(package)
    except ModuleNotFoundError:
        pytest.skip(f"{package} does not exist yet")
    assert offenders(loaded_after_import(package), ("plc_sim.plc", "opcua_server")) == []


def test_plc_runtime_loads_no_opcua():
    assert offenders(loaded_after_import("plc_sim.plc.runtime"), ("opcua_server", "asyncua")) == []


def test_plant_simulate_loads_no_asyncua():
    assert offenders(loaded_after_import("plantctl.cli"), ("asyncua", "opcua_server")) == []
