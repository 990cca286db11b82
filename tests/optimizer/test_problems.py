"""Each problem on a small case: a feasible solution no worse than the current setpoints on
the same random numbers; invalid plants are never simulated; decisions stay on their grid."""

from __future__ import annotations

import json

import numpy as np
import pytest

from optimizer_svc.evaluator import Evaluator, Invalid
from optimizer_svc.forecast import PlantForecaster
from optimizer_svc.problems.maintenance import PlanOptions, plan_problem
from optimizer_svc.problems.production import CardOptions, card_problem
from optimizer_svc.problems.setpoints import SetpointOptions, setpoint_problem
from optimizer_svc.solve import Budget, solve
from tests.optimizer.conftest import CELL_HORIZON, GEAR_HORIZON

CNCS = ("CNC1", "CNC2", "CNC3")


def test_setpoints_ga_is_feasible_and_no_worse_than_current(cell):
    p = setpoint_problem(cell, range(2), CELL_HORIZON, SetpointOptions(kinds=("speed", "standby"), machines=CNCS))
    res = solve(p, "GA", Budget(seconds=60, generations=3, pop_size=6), seed=2)
    assert res.best.feasible
    assert p.scalar(res.best) <= p.scalar(res.baseline)
    assert [h.best for h in res.history] == sorted((h.best for h in res.history), reverse=True)
    for v in p.space.variables:
        lo, hi = v.bounds()
        assert lo <= float(res.best.values[v.key]) <= hi


def test_setpoint_ranges_come_from_the_plant_file(cell):
    p = setpoint_problem(cell, [0], CELL_HORIZON, SetpointOptions(kinds=("speed",)))
    bounds = {v.key: v.bounds() for v in p.space.variables}
    assert bounds["speed.CNC1"] == (70.0, 130.0)
    assert bounds["speed.RB1"] == (80.0, 120.0)
    assert "speed.QI1" not in bounds


def test_rate_of_change_limits_narrow_the_search(cell):
    opts = SetpointOptions(kinds=("speed", "shift"), machines=CNCS, steps={"speed": 5.0, "shift": 0})
    p = setpoint_problem(cell, [0], CELL_HORIZON, opts)
    assert {v.key: v.bounds() for v in p.space.variables} == {f"speed.{m}": (95.0, 105.0) for m in CNCS}


def test_setpoints_as_a_front_of_cost_energy_downtime(cell):
    opts = SetpointOptions(kinds=("speed",), machines=CNCS, multi_objective=True)
    p = setpoint_problem(cell, range(2), CELL_HORIZON, opts)
    res = solve(p, "NSGA2", Budget(seconds=60, generations=2, pop_size=6), seed=1)
    assert res.front and all(r.feasible for r in res.front)
    pts = [r.objectives for r in res.front]
    for a in pts:
        assert not any(all(x <= y for x, y in zip(b, a, strict=True)) and b != a for b in pts)
    assert res.best in res.front


def test_cards_pso_is_feasible_and_no_worse_than_plain_settings(gear_bsop):
    p = card_problem(gear_bsop, range(2), GEAR_HORIZON)
    assert [v.key for v in p.space.variables] == ["K1", "K2", "C"], "S-KAP: shared kanbans, one CONWIP count"
    assert p.space.current() == {"K1": 4, "K2": 4, "C": 8}
    res = solve(p, "PSO", Budget(seconds=60, generations=3, pop_size=6), seed=1)
    assert res.best.feasible
    assert res.best.objectives[0] >= res.baseline.objectives[0]
    for row in p.archive.values():
        assert all(float(x).is_integer() for x in row.x)


def test_cards_under_hdop_find_the_interior_optimum_in_c():
    """HK-CONWIP keeps its C cards as stock: too few lose weekend orders, too many cost
    holding (docs/response_surface.md). With the kanbans fixed, the search over C.A, C.B
    lands inside the range, well above the plain 8 and below the top of its box."""
    with Evaluator(PlantForecaster.from_file("gear_line", "HDOP", 1)) as ev:
        p = card_problem(ev, range(3), GEAR_HORIZON, CardOptions(steps={"K": 0}))
        assert [v.key for v in p.space.variables if v.bounds()[0] < v.bounds()[1]] == ["C.A", "C.B"]
        res = solve(p, "GA", Budget(seconds=60, generations=6, pop_size=8), seed=1)
        assert res.best.feasible
        assert res.best.objectives[0] > res.baseline.objectives[0]
        cs = [int(res.best.values[k]) for k in ("C.A", "C.B")]
        assert all(10 <= c <= 24 for c in cs), cs
        assert all(c < p.space.variables[-1].bounds()[1] for c in cs)


def test_seed_constraints_are_the_plants_checks():
    """Under `constraints = "seed"` the bounds the seed implies (K_i >= S3, C >= S3) narrow
    the box; relations between decisions (HK-CONWIP: K1 >= K2, D-KAP: K1 + K2 <= C) are
    refused by the plant's checks and never simulated; `constraints=cards` relaxes them."""
    with Evaluator(PlantForecaster.from_file("gear_line", "HDOP", 1)) as ev:
        p = card_problem(ev, [0], GEAR_HORIZON)
        assert {v.key: v.bounds()[0] for v in p.space.variables} == dict.fromkeys(
            ["K1.A", "K1.B", "K2.A", "K2.B", "C.A", "C.B"], 4.0)
        before = ev.simulations
        broken = p.space.current() | {"K1.A": 4, "K2.A": 5, "C.A": 12}
        out = ev.evaluate([p.space.to_sets(broken)], [0], GEAR_HORIZON)[0]
        assert isinstance(out, Invalid) and "K1.A >= K2.A" in out.reason
        out = ev.evaluate([p.space.to_sets(p.space.current() | {"K1.A": 6})], [0], GEAR_HORIZON)[0]
        assert isinstance(out, Invalid) and "K1.A + ... + K2.A <= C.A" in out.reason
        assert ev.simulations == before
        row = p.evaluate_values(broken)
        assert row.feasible and row.values["K1.A"] == 5, "the search repairs a candidate onto the feasible set"
    with Evaluator(PlantForecaster.from_file("gear_line", "HDOP", 1, ["constraints=cards"])) as ev:
        p = card_problem(ev, [0], GEAR_HORIZON)
        lows = {v.key: v.bounds()[0] for v in p.space.variables}
        assert lows == dict.fromkeys(["K1.A", "K1.B", "K2.A", "K2.B"], 1.0) | {"C.A": 4.0, "C.B": 4.0}, "C >= sum S"
        assert p.evaluate_values(p.space.current() | {"K1.A": 6}).feasible


def test_an_invalid_card_plan_is_infeasible_and_never_simulated(gear_bsop):
    p = card_problem(gear_bsop, [0], GEAR_HORIZON, CardOptions(vary_base_stock=True))
    values = p.space.current() | {"K1": 1, "S1.A": 2}
    before = gear_bsop.simulations
    out = gear_bsop.evaluate([p.space.to_sets(values)], [0], GEAR_HORIZON)[0]
    assert isinstance(out, Invalid) and "kanban" in out.reason
    assert gear_bsop.simulations == before
    assert p.space.values(p.space.snap(p.space.encode(values)))["K1"] >= 4, "repaired: K1 >= S1 + S3 holds"


def test_de_and_es_on_cards_with_base_stock_offline(gear_bsop):
    p = card_problem(gear_bsop, range(2), GEAR_HORIZON, CardOptions(vary_base_stock=True, sl_min=0.9))
    for algorithm in ("DE", "ES"):
        res = solve(p, algorithm, Budget(seconds=60, generations=2, pop_size=6), seed=3)
        assert res.best.feasible
        assert res.best.objectives[0] >= res.baseline.objectives[0]


def test_maintenance_plan_is_feasible_and_no_worse_than_interval_maintenance(cell):
    p = plan_problem(cell, range(2), CELL_HORIZON, PlanOptions(machines=("CNC1",)))
    res = solve(p, "GA", Budget(seconds=60, generations=2, pop_size=6), seed=1)
    assert res.best.feasible
    assert p.scalar(res.best) <= p.scalar(res.baseline)
    planned = [r for r in p.archive.values() if r.sets]
    plan = dict(s.split("=", 1) for s in planned[0].sets)
    assert plan["maint_policy.CNC1"] == "plan"
    windows = json.loads(plan["maint_plan.CNC1"])
    assert windows and all(d > 0 for _s, d in windows)
    assert [s for s, _d in windows] == sorted(s for s, _d in windows)


def test_scipy_on_continuous_setpoints(cell):
    p = setpoint_problem(cell, range(2), CELL_HORIZON, SetpointOptions(kinds=("speed",), machines=CNCS))
    res = solve(p, "scipy", Budget(seconds=60, generations=2, pop_size=6))
    assert res.best.feasible and p.scalar(res.best) <= p.scalar(res.baseline)


def test_cache_and_process_pool_give_the_same_kpis(cell):
    sets = ("speed.CNC1=90",)
    inline = cell.evaluate([sets], [0, 1], CELL_HORIZON)[0]
    sims = cell.simulations
    assert cell.evaluate([sets], [0, 1], CELL_HORIZON)[0] == inline
    assert cell.simulations == sims
    with Evaluator(PlantForecaster.from_file("auto_parts_cell"), jobs=2) as pooled:
        assert pooled.evaluate([sets], [0, 1], CELL_HORIZON)[0] == inline
    assert not np.isnan(inline[0]["Z"])


def test_the_time_budget_stops_a_search_between_generations(gear_bsop):
    p = card_problem(gear_bsop, [0], GEAR_HORIZON)
    res = solve(p, "GA", Budget(seconds=0.0, generations=50, pop_size=4), seed=1)
    assert res.stopped == "time budget"
    assert len(res.history) == 1


DKAP = ["K1.A", "K1.B", "K2.A", "K2.B", "C.A", "C.B"]


@pytest.mark.parametrize(("model", "cards"), [("BDOP", DKAP), ("BSOP", ["K1", "K2", "C"]), ("HDOP", DKAP),
                                               ("HSOP", ["K1", "K2", "C"])])
def test_card_decisions_of_the_four_models(model, cards):
    """D-KAP: kanbans and CONWIP cards per product; S-KAP: shared kanbans and one CONWIP
    count for the line, its current value the plant file's C_shared."""
    with Evaluator(PlantForecaster.from_file("gear_line", model, 1)) as ev:
        live = card_problem(ev, [0], GEAR_HORIZON, CardOptions(steps={"K": 2, "C": 2}))
        offline = card_problem(ev, [0], GEAR_HORIZON, CardOptions(vary_base_stock=True))
        assert [v.key for v in live.space.variables] == cards
        pol = ev.forecaster.plant.policy
        assert live.space.current().get("C", pol.conwip_shared()) == pol.conwip_shared()
        assert all(v.bounds()[1] - v.bounds()[0] <= 4 for v in live.space.variables)
        assert {v.key for v in offline.space.variables} >= {"S1.A", "S3.B"}
        assert ev.validity(live.space.to_sets(live.space.current())) is None


def test_a_throughput_floor_the_current_setpoints_miss_holds_them_to_their_own_throughput():
    from optimizer_svc.problems.base import Constraint, kpi

    floor = Constraint("T", kpi("throughput_per_h"), lower=1.6 * 0.98, hold_share=0.02)
    assert floor.against(1.7).lower == pytest.approx(1.568), "reached: the floor is Tmin"
    assert floor.against(1.5).lower == pytest.approx(1.47), "missed over the horizon: no worse than now"
    assert Constraint("R", kpi("peak_kw"), upper=120.0).against(200.0).upper == 120.0, "an upper bound stays"
