"""Forecasts from the twin's snapshot: each replication starts where the plant stands, the
candidate's card counts win over the observed ones, the same seeds give the same futures, and
a run without a fresh snapshot is skipped, never acted on."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

import pytest

from optimizer_svc.audit import AuditLog
from optimizer_svc.cycle import run_job
from optimizer_svc.forecast import Horizon, SnapshotForecaster, observed_cards
from optimizer_svc.settings import JobSettings, OptimizerSettings
from optimizer_svc.snapshot import SnapshotUnusable, load_snapshot
from plc_sim.model.line import LineModel
from plc_sim.model.observe import observation_of
from plc_sim.model.spec import load_plant
from plc_sim.model.variants import build_variant
from tests.optimizer.conftest import IDLERS
from tests.support.opcua_harness import USERS, running_plant, until
from tests.twin.conftest import twin_settings
from twin_core.daemon import serve

WEEK = Horizon(hours=168.0, seed=5)


def _observed(model: str = "HDOP", hours: float = 500.0):
    spec = build_variant(load_plant("gear_line"), model=model, scenario=1)
    m = LineModel(spec, 7)
    m.run_calendar(hours)
    return spec, observation_of(m)


def test_the_same_seeds_give_the_same_future_and_other_seeds_another():
    spec, obs = _observed()
    f = SnapshotForecaster.of(spec, obs, "test")
    assert f.start_h == pytest.approx(500.0)
    a, b = f.evaluate([], [0, 1], WEEK), f.evaluate([], [0, 1], WEEK)
    assert a == b and a[0] != a[1]


def test_the_forecast_starts_from_the_observed_state():
    spec, obs = _observed()
    f = SnapshotForecaster.of(spec, obs, "test")
    swamped = SnapshotForecaster.of(spec, replace(obs, backlog={p: 60 for p in spec.product_names}), "test")
    calm, late = f.evaluate([], range(4), WEEK), swamped.evaluate([], range(4), WEEK)
    assert sum(k["LD"] for k in late) > sum(k["LD"] for k in calm) + 20, "a backlog of 120 orders is lost in part"


def test_observed_card_counts_hold_until_a_candidate_sets_its_own():
    spec, obs = _observed("HSOP")
    obs = replace(obs, kanbans={k: 5 for k in obs.kanbans}, conwip={p: 13 for p in obs.conwip})
    assert sorted(observed_cards(spec, obs)) == ["C=13", "K1=5", "K2=5"]
    f = SnapshotForecaster.of(spec, obs, "test")
    assert f.plant.policy.C_shared == 13 and f.plant.policy.K_shared == [5, 5]
    kept, more = f.evaluate([], range(3), WEEK), f.evaluate(["C=30"], range(3), WEEK)
    assert kept != more and sum(k["WIP"] for k in more) > sum(k["WIP"] for k in kept)


def test_the_setpoints_just_read_win_over_the_snapshots_card_counts():
    # The snapshot is up to seconds older than the run's read: an operator's C.A 13 -> 9 in
    # between must be what the run forecasts and verifies against, not the snapshot's 13.
    spec, obs = _observed("HDOP")
    obs = replace(obs, conwip={p: 13 for p in obs.conwip})
    f = SnapshotForecaster.of(spec, obs, "test", ["C.A=9"])
    assert f.plant.policy.C == {"A": 9, "B": 13}
    stale = SnapshotForecaster.of(spec, obs, "test")
    assert f.evaluate([], range(3), WEEK) != stale.evaluate([], range(3), WEEK)


def test_a_missing_stale_foreign_or_cut_off_snapshot_is_refused(tmp_path):
    with pytest.raises(SnapshotUnusable, match="no twin snapshot"):
        load_snapshot(tmp_path, "GearLine", 60.0)
    (tmp_path / "snapshot.json").write_text("{}")
    with pytest.raises(SnapshotUnusable, match="not a twin snapshot"):
        load_snapshot(tmp_path, "GearLine", 60.0)
    doc = {"plant": "gear_line", "model": "HDOP", "endpoint": "x", "taken_at": time.time(), "connected": True, "gaps": 0,
           "observation": {"calendar_h": 10.0}, "bad_tags": [], "alarms": {}, "kpis": {},
           "estimates": {}}
    (tmp_path / "snapshot.json").write_text(json.dumps(doc))
    assert load_snapshot(tmp_path, "gear_line", 60.0)[0].observation["calendar_h"] == 10.0
    for change, reason in (({"taken_at": time.time() - 600}, "s old"), ({"connected": False}, "not connected"),
                           ({"plant": "other"}, "mirrors plant 'other'")):
        (tmp_path / "snapshot.json").write_text(json.dumps(doc | change))
        with pytest.raises(SnapshotUnusable, match=reason):
            load_snapshot(tmp_path, "gear_line", 60.0)


JOB = JobSettings(name="off_shift", problem="setpoints", algorithm="GA", kinds=["off_shift"], machines=IDLERS,
                  reps=2, verify_reps=6, hours=168.0, generations=3, pop_size=6, budget_s=60.0)


async def test_a_live_run_forecasts_from_the_twin_and_writes_what_it_verified(tmp_path):
    # The plant has run for two weeks (a forecast from its state needs no warm-up) and stands
    # still until the twin's snapshot is taken, so the run starts from the same state each time.
    async with running_plant(tmp_path / "plant", plant="auto_parts_cell", time_factor=3600.0, start_h=336.0,
                             held=True) as (plc, srv):
        twin_dir = tmp_path / "twin"
        settings = OptimizerSettings(server_url=srv.url, username="eve", password=USERS["eve"][1],
                                     plant="auto_parts_cell", data_dir=tmp_path / "optimizer", workers=1, jobs=[JOB],
                                     twin_dir=twin_dir)
        audit = AuditLog(settings.data_dir / "audit.jsonl")
        skipped = await asyncio.to_thread(run_job, settings, JOB, audit)
        assert skipped["outcome"] == "skipped" and "no twin snapshot" in skipped["reasons"][0]
        stop = asyncio.Event()
        twin = asyncio.create_task(serve(twin_settings(srv.url, twin_dir, plant="auto_parts_cell"), stop=stop))
        try:
            await until(lambda: (twin_dir / "snapshot.json").exists(), timeout=30, what="a twin snapshot")
        finally:
            stop.set()
            await asyncio.wait_for(twin, 30)
        assert json.loads((twin_dir / "snapshot.json").read_text())["observation"]["calendar_h"] == 336.0
        plc.held = False
        entry = await asyncio.to_thread(run_job, settings, JOB, audit)
        assert entry["forecast"].startswith(f"twin:{twin_dir / 'snapshot.json'}@plant_h=")
        assert entry["horizon"] == {"hours": 168.0, "warmup": 0.0}, "no warm-up: the state is the plant's own"
        assert entry["outcome"] == "written", entry["reasons"]
        for key, value in entry["written"].items():
            assert plc.model.machine(key.split(".")[1]).off_shift_mode == value
        assert entry["after"]["Z"]["mean"] < entry["before"]["Z"]["mean"] and entry["p_value"] < 0.05
    assert [e["outcome"] for e in audit.entries()] == ["skipped", "written"]
