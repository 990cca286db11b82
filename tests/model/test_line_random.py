"""Determinism, common random numbers across models, and the snapshot round trip."""

import json

import pytest

from plc_sim.model.kpi import kpis
from plc_sim.model.line import LineModel
from plc_sim.model.spec import MODELS
from plc_sim.model.streams import replication_seed
from plc_sim.model.variants import build_variant


def _run(spec, seed, hours=600.0):
    m = LineModel(spec, seed)
    m.run_working(100.0)
    m.reset_stats()
    m.run_working(hours)
    return kpis(m)


@pytest.mark.parametrize("model", MODELS)
def test_same_seed_same_kpis_other_seed_other_kpis(gear_line, model):
    spec = build_variant(gear_line, model=model, scenario=21)
    a, b = _run(spec, replication_seed(7, 0)), _run(spec, replication_seed(7, 0))
    assert a == b
    c = _run(spec, replication_seed(7, 1))
    assert c != a


def _events(spec, seed, kinds, hours=800.0):
    m = LineModel(spec, seed)
    seen = []

    def on(kind: str, info: dict) -> None:
        if kind in kinds:
            seen.append((kind, info.get("product") or info["machine"], info["t"]))

    m.listeners.append(on)
    m.run_working(hours)
    return seen


def test_models_meet_the_same_demand_and_failures(gear_line):
    """Common random numbers: with one seed, every control model sees the same order
    arrivals and the same breakdowns and repairs, whatever it does with them."""
    runs = {mo: _events(build_variant(gear_line, model=mo, scenario=21), replication_seed(3, 2),
                        {"order", "breakdown", "repair"}) for mo in MODELS}
    ref = runs["BDOP"]
    assert sum(1 for k, *_ in ref if k == "order") > 1000
    assert sum(1 for k, *_ in ref if k == "breakdown") > 30
    for mo, seen in runs.items():
        assert seen == ref, mo


def _time_when(spec, seed, pred, after=60.0):
    """A working hour after `after` at which `pred(machine)` holds for some machine."""
    m = LineModel(spec, seed)
    m.run_working(after)
    while m.env.now < 2000:
        m.env.step()
        if any(pred(x) for row in m.machines for x in row):
            return m.env.now + 1e-6
    raise AssertionError("the state never occurred")


def _down_time(spec, seed):
    return _time_when(spec, seed, lambda x: x.failed and x.job is not None)


@pytest.mark.parametrize("model", MODELS)
def test_snapshot_round_trip_continues_exactly(gear_line, model):
    spec = build_variant(gear_line, model=model, scenario=21)
    seed = replication_seed(11, 0)
    t_snap = _down_time(spec, seed)
    whole = LineModel(spec, seed)
    whole.run_working(50.0)
    whole.reset_stats()
    whole.run_working(900.0)

    part = LineModel(spec, seed)
    part.run_working(50.0)
    part.reset_stats()
    part.run_working(t_snap)
    snap = json.loads(json.dumps(part.snapshot()))
    assert any(v["failed"] and v["job"] is not None for v in snap["machines"].values())
    assert snap == part.snapshot(), "taking a snapshot must not change the model"
    forked = LineModel.from_snapshot(spec, snap)
    forked.run_working(900.0)
    part.run_working(900.0)
    assert kpis(forked) == kpis(whole)
    assert kpis(part) == kpis(whole)


def test_snapshot_in_maintenance_and_at_many_times(gear_line):
    spec = build_variant(gear_line, model="HSOP", scenario=1)
    seed = replication_seed(5, 4)
    whole = LineModel(spec, seed)
    whole.run_working(700.0)
    ref = kpis(whole)
    t_maint = _time_when(spec, seed, lambda x: x.in_maint)
    for t in (0.5, 47.3, 96.01, 180.7, 333.3, 512.9, t_maint):
        m = LineModel(spec, seed)
        m.run_working(t)
        f = LineModel.from_snapshot(spec, json.loads(json.dumps(m.snapshot())))
        f.run_working(700.0)
        assert kpis(f) == ref, t


def test_snapshot_refuses_another_model(gear_line):
    m = LineModel(build_variant(gear_line, model="BDOP"), 1)
    m.run_working(10.0)
    with pytest.raises(ValueError, match="model"):
        LineModel.from_snapshot(build_variant(gear_line, model="HDOP"), m.snapshot())
