"""The optimizer's metrics endpoint: a real run against a real plant on loopback moves the
runs counter (by job and outcome), the cycle histogram and the verified gain; a run that cannot
reach the server counts as an error."""

from __future__ import annotations

import asyncio

from optimizer_svc.audit import AuditLog
from optimizer_svc.cycle import run_job
from optimizer_svc.metrics import serve_metrics
from optimizer_svc.settings import OptimizerSettings
from plantctl.metrics import stop_metrics
from tests.metrics.scrape import scrape, value
from tests.optimizer.conftest import OFF_SHIFT_JOB, cell_settings
from tests.support.opcua_harness import running_plant

JOB = OFF_SHIFT_JOB.name


async def test_optimizer_metrics_follow_the_audited_runs(tmp_path):
    async with running_plant(tmp_path / "plant", plant="auto_parts_cell", time_factor=60.0) as (_plc, srv):
        settings = cell_settings(srv, tmp_path, job=OFF_SHIFT_JOB)
        audit = AuditLog(settings.data_dir / "audit.jsonl")
        server = serve_metrics(audit, "127.0.0.1", 0)
        try:
            before = await scrape(server)
            assert not [k for k in before if k[0] == "plant_optimizer_runs_total"]
            entry = await asyncio.to_thread(run_job, settings, OFF_SHIFT_JOB, audit)
            got = await scrape(server)
            unreachable = OptimizerSettings(server_url="opc.tcp://127.0.0.1:9/plant", plant="auto_parts_cell",
                                            data_dir=tmp_path / "optimizer", timeout_s=2.0, security="None",
                                            jobs=[OFF_SHIFT_JOB])
            await asyncio.to_thread(run_job, unreachable, OFF_SHIFT_JOB, audit)
            after = await scrape(server)
        finally:
            stop_metrics(server)
    assert value(got, "plant_optimizer_runs_total", job=JOB, outcome=entry["outcome"]) == 1
    assert value(got, "plant_optimizer_cycle_seconds_count", job=JOB) == 1
    assert value(got, "plant_optimizer_cycle_seconds_sum", job=JOB) == entry["elapsed_s"]
    assert value(got, "plant_optimizer_verified_gain", job=JOB) == entry["improvement"]["mean"]
    assert value(got, "plant_optimizer_verified_p_value", job=JOB) == entry["p_value"]
    assert value(after, "plant_optimizer_runs_total", job=JOB, outcome="error") == 1
    assert value(after, "plant_optimizer_cycle_seconds_count", job=JOB) == 2
    assert value(after, "plant_optimizer_verified_gain", job=JOB) == entry["improvement"]["mean"], \
        "the gain of the last verified run stays"
