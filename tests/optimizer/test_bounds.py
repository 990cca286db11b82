"""The search box comes from the plant file's [bounds] table, and `--bound` / `--only`
override it: no maximum hides the plant's best setting from the solvers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from optimizer_svc.offline import OfflineRun, build_problem
from optimizer_svc.problems.production import CardOptions, card_space
from optimizer_svc.problems.setpoints import SetpointOptions, setpoint_space
from plc_sim.model.bounds import Bounds, choices_of, parse_bound, range_of, with_flags
from plc_sim.model.spec import PLANTS_DIR, PlantFileError, load_plant, parse_plant
from plc_sim.model.variants import VariantError, build_variant
from tests.optimizer.test_cli_optimize import _app

GEAR = (PLANTS_DIR / "gear_line.toml").read_text()


def _boxes(space):
    return {v.key: v.bounds() for v in space.variables}


def test_base_stock_reaches_past_the_old_cap_of_six():
    spec = build_variant(load_plant("gear_line"), model="BSOP", scenario=1, sets=[])
    box = _boxes(card_space(spec, CardOptions(vary_base_stock=True)))
    assert box["S3.A"] == (0.0, 24.0) and box["K1"] == (1.0, 48.0) and box["C"] == (1.0, 96.0)


def test_the_most_specific_range_wins():
    b = with_flags(Bounds(S=(0, 10), decisions={"S3": (2, 20)}), {"S3.B": (5, 6)})
    assert range_of(b, "S1.A") == (0, 10)
    assert range_of(b, "S3.A") == (2, 20)
    assert range_of(b, "S3.B") == (5, 6)
    assert range_of(b, "speed.CNC1", (70, 130)) == (70, 130), "a machine's own speed range by default"


def test_a_choice_group_keeps_the_current_option():
    b = Bounds(off_shift=("off",))
    assert choices_of(b, "off_shift", ("off", "standby", "idle"), "idle") == ("idle", "off")
    assert choices_of(Bounds(), "off_shift", ("off", "standby", "idle"), "idle") == ("off", "standby", "idle")


def test_setpoint_choices_and_ranges_come_from_the_table():
    spec = load_plant("auto_parts_cell").model_copy(update={"bounds": Bounds(standby=(0.25, 1.0), off_shift=("off",))})
    space = setpoint_space(spec, SetpointOptions(kinds=("standby", "off_shift"), machines=("RB1",)))
    by_key = {v.key: v for v in space.variables}
    assert by_key["standby.RB1"].bounds()[1] == 1.0
    assert set(by_key["off_shift.RB1"].options) <= {"off", by_key["off_shift.RB1"].current}


@pytest.mark.parametrize(("table", "where"), [
    ("dispatch = [9, 3]", r"field bounds\.dispatch: a range needs low <= high \(got 9:3\)"),
    ("off_shift = [\"nap\"]", r"field bounds\.off_shift: unknown option 'nap'"),
    ("maint_policy = [\"plan\"]", r"field bounds\.maint_policy: unknown option 'plan'"),
    ("Q = [1, 2]", r"field bounds\.Q"),
])
def test_a_bad_bounds_table_names_file_line_and_field(table, where):
    text = GEAR.replace("C = [1, 96]", f"C = [1, 96]\n{table}")
    with pytest.raises(PlantFileError, match=rf"gear_line\.toml, line \d+, {where}"):
        parse_plant(text, "gear_line.toml")


@pytest.mark.parametrize(("flag", "reason"), [
    ("S3", "write NAME=LO:HI"), ("S3=4:2", "low <= high"), ("S3=a:2", "must be numbers"), ("=1:2", "NAME=LO:HI")])
def test_a_bad_bound_flag_says_why(flag, reason):
    with pytest.raises(ValueError, match=reason):
        parse_bound(flag)


def test_flags_and_only_shape_the_problem(gear_bsop):
    run = OfflineRun(model="BSOP", scenario=1, bounds=("S3=0:30", "K=2:50"), kinds=("K", "S"))
    box = _boxes(build_problem(run, gear_bsop).space)
    assert box["S3.A"] == (0.0, 30.0) and box["S1.A"] == (0.0, 24.0) and box["K2"] == (2.0, 50.0)
    assert "C" not in box, "--only K,S"


def test_an_unknown_bound_name_or_kind_is_refused():
    for args, text in [(["--bound", "Q7=1:2"], "names no decision"), (["--only", "speed"], "unknown kind speed"),
                       (["--bound", "S3=5:1"], "low <= high")]:
        res = CliRunner().invoke(_app(), ["optimize", "--plant", "gear_line", "--model", "BSOP", "--json", *args])
        assert res.exit_code == 2, res.output
        assert text in res.output


@pytest.mark.parametrize("model", ["BDOP", "BSOP", "HDOP", "HSOP"])
def test_a_candidate_is_repaired_onto_the_feasible_card_set(model):
    """Random points of the box, repaired: the plant takes each one, unless a floor lies
    above a decision's range (then that decision sits at its top)."""
    spec = build_variant(load_plant("gear_line"), model=model, scenario=1, sets=[])
    space = card_space(spec, CardOptions(vary_base_stock=True))
    rng = np.random.default_rng(4)
    taken = 0
    for x in space.xl + rng.random((40, space.n)) * (space.xu - space.xl):
        values = space.values(space.snap(x))
        try:
            build_variant(spec, sets=[f"{k}={v}" for k, v in values.items()])
            taken += 1
        except (PlantFileError, VariantError):
            assert any(values[v.key] == v.high for v in space.variables), values
    assert taken >= 10


def test_plant_optimize_searches_the_flagged_box():
    res = CliRunner().invoke(_app(), [
        "optimize", "--plant", "gear_line", "--model", "BSOP", "--scenario", "1", "--bound", "S3=10:20",
        "--only", "S,K,C", "--hours", "300", "--warmup", "50", "--reps", "1", "--verify-reps", "2",
        "--generations", "2", "--pop-size", "4", "--jobs", "1", "--json"])
    assert res.exit_code == 0, res.output
    best = json.loads(res.stdout)["decisions"]
    assert all(4 <= best[f"S3.{p}"]["best"] <= 20 for p in "AB"), "the range, widened to hold the current S3 = 4"
    assert max(best[k]["best"] for k in best if k.startswith("S1")) <= 24, "S1 in the plant file's box"
