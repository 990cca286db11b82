"""The optimizer talks to the plant only over OPC UA: none of its modules loads the PLC
runtime or the OPC UA server."""

from __future__ import annotations

from tests.boundary.test_imports import loaded_after_import, offenders

MODULES = ["optimizer_svc.forecast", "optimizer_svc.solve", "optimizer_svc.verify", "optimizer_svc.writeback",
           "optimizer_svc.cycle", "optimizer_svc.schedule", "optimizer_svc.daemon", "optimizer_svc.offline",
           "optimizer_svc.problems.setpoints", "optimizer_svc.problems.production",
           "optimizer_svc.problems.maintenance", "plantctl.cmd_optimize"]


def test_optimizer_loads_no_plc_runtime_and_no_server():
    assert offenders(loaded_after_import(*MODULES), ("plc_sim.plc", "opcua_server")) == []


def test_the_command_module_loads_no_asyncua():
    assert offenders(loaded_after_import("plantctl.cmd_optimize"), ("asyncua", "optimizer_svc.writeback")) == []
