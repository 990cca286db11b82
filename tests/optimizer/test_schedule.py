"""The schedule: an overrunning run is skipped (and audited), not stacked; run-now triggers
a run; shutdown lets the run under way finish."""

from __future__ import annotations

import threading

import pytest

from optimizer_svc.schedule import OptimizerService, trigger_of
from optimizer_svc.settings import JobSettings, OptimizerSettings
from tests.support.polling import wait_until


def test_an_overrunning_job_is_skipped_not_stacked(tmp_path):
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def slow(settings, job, audit):
        runs.append(job.name)
        started.set()
        release.wait(30)
        return audit.record({"job": job.name, "outcome": "kept"})

    settings = OptimizerSettings(data_dir=tmp_path, jobs=[JobSettings(name="slow", interval_s=3600)])
    service = OptimizerService(settings, runner=slow)
    service.start()
    try:
        service.run_now("slow")
        assert started.wait(60)
        service.run_now("slow")
        wait_until(lambda: list(service.skipped) == ["slow"], what="the second run to be skipped")
        assert runs == ["slow"]
    finally:
        release.set()
        service.shutdown(wait=True)
    assert [e["outcome"] for e in service.audit.entries()] == ["skipped", "kept"]


def test_triggers():
    assert trigger_of(JobSettings(interval_s=90)).interval.total_seconds() == 90
    assert "hour='*/6'" in str(trigger_of(JobSettings(cron="0 */6 * * *")))
    assert JobSettings().interval_s == 3600
    with pytest.raises(ValueError):
        JobSettings(interval_s=10, cron="* * * * *")


def test_settings_from_environment_and_toml(tmp_path, monkeypatch):
    cfg = tmp_path / "plant.toml"
    cfg.write_text('[optimizer]\nplant = "auto_parts_cell"\nworkers = 1\n'
                   '[[optimizer.jobs]]\nname = "speeds"\nproblem = "setpoints"\ncron = "0 3 * * *"\n')
    monkeypatch.setenv("PLANT_OPTIMIZER_PASSWORD", "s3cret-pw")
    monkeypatch.setenv("PLANT_OPTIMIZER_WORKERS", "2")
    s = OptimizerSettings.load(cfg)
    assert s.plant == "auto_parts_cell" and s.workers == 2
    assert s.password.get_secret_value() == "s3cret-pw"
    assert [(j.name, j.cron) for j in s.jobs] == [("speeds", "0 3 * * *")]
