"""THE RULE, for every module of the twin (tests/boundary checks the package only): the twin
meets the PLC over OPC UA and loads no PLC runtime and no OPC UA server."""

from __future__ import annotations

import pkgutil

import twin_core
from tests.boundary.test_imports import loaded_after_import, offenders


def test_no_twin_module_loads_the_plc_runtime_or_the_server():
    modules = [m.name for m in pkgutil.walk_packages(twin_core.__path__, "twin_core.")]
    assert "twin_core.mirror" in modules and "twin_core.historian.spool" in modules
    assert offenders(loaded_after_import(*modules, "plantctl.cmd_twin"), ("plc_sim.plc", "opcua_server")) == []
