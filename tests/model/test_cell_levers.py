"""The auto-parts cell's levers (seed 000, docs/machine_physics.md): on paired runs (common
random numbers) each moves the KPIs it should, in the documented direction, with a 95 %
interval that excludes zero; finite buffers hold; no allowed setting deadlocks or starves
the cell. Short horizons and three replications: the effects are large."""

import itertools

import pytest

from plc_sim.model.experiment import RunPlan, paired, run_settings
from plc_sim.model.kpi import kpis
from plc_sim.model.line import LineModel
from plc_sim.model.spec import load_plant
from plc_sim.model.variants import build_variant

STATIONS = ("Machining", "Handling", "Inspection", "Transport")
THREE = [f"shift.{s}=three" for s in STATIONS]
LEVERS = {
    "three": THREE,
    "speed115": ["speed.Machining=115"],
    "standby": [f"off_shift.{s}=standby" for s in STATIONS],
    "off": [f"off_shift.{s}=off" for s in STATIONS],
    "agv_one": ["shift.Transport=one"],
    "three_cnc3_half": [*THREE, "dispatch.CNC3=0.5"],
}
PLAN = RunPlan(hours=1200.0, warmup=336.0, seed=3)
REPS = 3


@pytest.fixture(scope="module")
def cell():
    return load_plant("auto_parts_cell")


@pytest.fixture(scope="module")
def runs(cell):
    specs = [cell] + [build_variant(cell, sets=s) for s in LEVERS.values()]
    out = run_settings(specs, PLAN, REPS, jobs=2)
    return dict(zip(["base", *LEVERS], out))


def _diff(runs, ref, other):
    return paired(runs[ref], runs[other])


def test_the_baseline_is_capacity_bound_and_feasible(cell, runs):
    demand = sum(1 / d.interarrival.mean for d in cell.demand.values())
    for r in runs["base"]:
        assert r["LD"] > 0 and r["throughput_per_h"] < 0.9 * demand, "orders above capacity are lost"
        assert r["feasible"] == 1.0 and r["throughput_per_h"] > cell.objectives.t_min_per_h


def test_a_third_shift_sells_more_and_pays_labour_for_it(runs):
    d = _diff(runs, "base", "three")
    assert d["throughput_per_h"].low > 0 and d["LD"].high < 0
    assert d["labour_eur"].low > 0 and d["energy_kwh"].low > 0


def test_faster_cnc_cycles_sell_more_and_wear_the_machines(runs):
    d = _diff(runs, "base", "speed115")
    assert d["throughput_per_h"].low > 0 and d["LD"].high < 0
    assert d["downtime_h"].low > 0 and d["B"].low > 0


def test_idle_energy_exists_and_switching_it_off_saves_it(runs):
    for r in runs["base"]:
        assert 0.15 < r["non_processing_share"] < 0.6, "machines left powered draw a tare worth saving"
    for lever in ("standby", "off"):
        d = _diff(runs, "base", lever)
        assert d["energy_kwh"].high < 0 and d["energy_per_part_kwh"].high < 0 and d["non_processing_kwh"].high < 0
    deeper = _diff(runs, "standby", "off")
    assert deeper["energy_kwh"].high < 0, "off draws less than standby"
    assert deeper["throughput_per_h"].high < 0, "but the cold start at each shift costs output"


def test_redistributing_work_away_from_the_old_cnc_saves_energy_where_there_is_slack(runs):
    d = _diff(runs, "three", "three_cnc3_half")
    assert d["energy_per_part_kwh"].high < 0
    assert d["util_CNC3"].high < 0 and d["util_CNC1"].low > 0


def test_condition_maintenance_trades_planned_for_unplanned_stoppage(cell):
    """Breakdowns are rarer events than shifts: longer runs and more of them."""
    condition = build_variant(cell, sets=[f"maint_policy.CNC{i}=condition" for i in (1, 2, 3)])
    base, cbm = run_settings([cell, condition], RunPlan(hours=2000.0, warmup=336.0, seed=3), 6, jobs=2)
    d = paired(base, cbm)
    assert d["downtime_h"].high < 0 and d["maintenance_h"].low > 0 and d["M"].low > 0
    ob = cell.objectives
    for r in cbm:
        assert r["stoppage_h"] == pytest.approx(r["downtime_h"] + r["maintenance_h"])
        assert r["Z"] == pytest.approx(ob.w1 * r["cost"] + ob.w2 * r["energy_kwh"] + ob.w3 * r["stoppage_h"])


def test_a_shift_plan_that_floods_a_station_costs_output_through_its_finite_buffer(runs):
    d = _diff(runs, "base", "agv_one")
    assert d["throughput_per_h"].high < 0 and d["LD"].low > 0


def test_no_input_queue_ever_exceeds_its_buffer(cell):
    spec = build_variant(cell, sets=[f"buffer.{s}=1" for s in STATIONS] + ["shift.Transport=one"])
    m = LineModel(spec, 4)
    caps = [st.buffer for st in spec.stations]
    full = [0] * len(caps)
    while m.env.now < 400.0:
        m.env.step()
        for s, cap in enumerate(caps):
            assert len(m.jobs[s]) <= cap
            full[s] += len(m.jobs[s]) == cap
    assert all(full), "every buffer fills at some point"
    assert m.count.finished > 100


GRID = list(itertools.product(
    (70, 130),
    (("one",) * 4, ("two",) * 4, ("three",) * 4, ("two_sat",) * 4, ("three", "two", "two", "one")),
    (1, 6),
))


def test_no_allowed_setting_deadlocks_or_starves_the_cell(cell):
    """A grid over the spec's ranges: CNC speed at its bounds, shift plans (also mixed),
    buffers of 1 and 6, standby and the off-shift modes in turn. In the last week every
    product is still delivered and every machine still works."""
    for i, (speed, plans, buffer) in enumerate(GRID):
        sets = [f"speed.Machining={speed}", *(f"shift.{s}={p}" for s, p in zip(STATIONS, plans)),
                *(f"buffer.{s}={buffer}" for s in STATIONS),
                *(f"off_shift.{s}={('idle', 'standby', 'off')[i % 3]}" for s in STATIONS),
                *(f"standby.{s}={(0.0, 0.25)[i % 2]}" for s in STATIONS)]
        m = LineModel(build_variant(cell, sets=sets), 7)
        m.run_working(336.0)
        before = list(m.delivered)
        done = [x.done for row in m.machines for x in row]
        m.run_working(504.0)
        assert all(a > b for a, b in zip(m.delivered, before)), f"{sets}: a product stopped"
        assert all(x.done > d for x, d in zip((x for row in m.machines for x in row), done)), f"{sets}: a machine starved"
        assert kpis(m)["throughput_per_h"] > 0
