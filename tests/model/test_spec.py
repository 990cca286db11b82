"""Plant files: the bundled ones load, and every bad file names file, line, field, reason."""

import re

import pytest

from plc_sim.model.spec import PLANTS_DIR, PlantFileError, load_plant, parse_plant, seed_constraint_problems
from plc_sim.model.variants import VariantError, apply_scenario, build_variant

GEAR = (PLANTS_DIR / "gear_line.toml").read_text()


def _bad(old: str, new: str, count: int = 1) -> str:
    assert old in GEAR, old
    return GEAR.replace(old, new, count)


def _error(text: str) -> PlantFileError:
    with pytest.raises(PlantFileError) as e:
        parse_plant(text, "/plants/bad_line.toml")
    return e.value


def _line_of(text: str, needle: str) -> int:
    return next(i + 1 for i, line in enumerate(text.splitlines()) if needle in line)


def test_bundled_plants_load():
    for path in PLANTS_DIR.glob("*.toml"):
        spec = load_plant(path.stem)
        assert spec.name == path.stem


def _flat(d, prefix=""):
    if isinstance(d, dict):
        return {k: v for key, val in d.items() for k, v in _flat(val, f"{prefix}.{key}").items()}
    if isinstance(d, list):
        return {k: v for i, val in enumerate(d) for k, v in _flat(val, f"{prefix}[{i}]").items()}
    return {prefix: d}


def test_base_values_are_scenario_1(gear_line):
    """The file's base parameters are scenario 1 under its stated reading."""
    base, s1 = _flat(gear_line.model_dump()), _flat(apply_scenario(gear_line, 1).model_dump())
    assert base.keys() == s1.keys()
    for k, v in base.items():
        assert s1[k] == (pytest.approx(v, rel=1e-12) if isinstance(v, float) else v), k


CASES = [
    ("negative time", ("{ dist = \"normal\", mean = 10.0, cv = 0.1, min = 1.0 },",
                       "{ dist = \"normal\", mean = -10.0, cv = 0.1, min = 1.0 },"),
     "mean = -10.0", r"field routing\.times\.A\[1\]\.mean: Input should be greater than 0"),
    ("unknown product in routing", ("times.B = [", "times.C = ["), "times.C = [",
     r"field routing\.times\.C: unknown product 'C' in routing"),
    ("fewer than one CONWIP card", ("C = { A = 8, B = 8 }", "C = { A = 0, B = 8 }"),
     "C = { A = 0", r"field policy\.C\.A: fewer than one CONWIP card"),
    ("fewer than one kanban", ("K_dedicated = { A = [4, 4], B = [4, 4] }", "K_dedicated = { A = [4, 0], B = [4, 4] }"),
     "K_dedicated", r"field policy\.K_dedicated\.A: fewer than one kanban at stage 2"),
    ("S greater than its kanban cap", ("S = { A = [0, 0, 4], B = [0, 0, 4] }", "S = { A = [0, 5, 2], B = [0, 0, 4] }"),
     "S = { A = [0, 5", r"field policy\.S\.A: S2=5 is greater than its kanban cap K2=4"),
    ("sum of S over C", ("S = { A = [0, 0, 4], B = [0, 0, 4] }", "S = { A = [4, 4, 4], B = [0, 0, 4] }"),
     "S = { A = [4", r"field policy\.S\.A: sum of base stocks 12 exceeds C=8"),
    ("unknown field", ("lot = 4", "lots = 4"), "lots = 4", r"field raw\.lots: Extra inputs are not permitted"),
    ("wrong type", ("days_per_week = 7", "days_per_week = \"seven\""), "days_per_week = \"seven",
     r"field calendar\.days_per_week: Input should be a valid integer"),
    ("missing field", ("[demand.B]\ninterarrival", "[demand.B]\nx_interarrival"),
     "[demand.B]", r"field demand\.B\.interarrival: Field required"),
    ("bad station", ('machines = [{ name = "MP2" }]', 'machines = []'), 'machines = []',
     r"field stations\[1\]\.machines: List should have at least 1 item"),
    ("unknown model", ('model = "BDOP"', 'model = "XDOP"'), 'model = "XDOP"', r"field policy\.model: Input should be"),
    ("probability over one", ("defect_prob = 0.009000000000000001", "defect_prob = 1.5"), "defect_prob = 1.5",
     r"field quality\.defect_prob: Input should be less than 1"),
]


@pytest.mark.parametrize("name,change,needle,pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_file_names_file_line_field_and_reason(name, change, needle, pattern):
    text = _bad(*change)
    e = _error(text)
    msg = str(e)
    assert "bad_line.toml" in msg
    assert re.search(pattern, msg), msg
    line = _line_of(text, needle)
    assert f"line {line}," in msg, (line, msg)


def test_toml_syntax_error_names_the_line():
    e = _error(GEAR.replace("lot = 4", "lot = = 4"))
    assert re.search(r"bad_line\.toml: not valid TOML: .*line \d+", str(e))


def test_every_problem_is_listed():
    e = _error(_bad("C = { A = 8, B = 8 }", "C = { A = 0, B = 0 }"))
    assert len(e.problems) == 4, "each product's C and the base stock it can no longer hold"
    assert sum("fewer than one CONWIP card" in p for p in e.problems) == 2


def test_unknown_plant_lists_bundled_ones():
    with pytest.raises(PlantFileError, match=r"bundled plants: .*gear_line"):
        load_plant("no_such_plant")


def test_overrides_are_checked(gear_line):
    spec = build_variant(gear_line, model="HDOP", sets=["K1=6", "K2.B=2", "C.A=12", "S3=1"])
    assert spec.policy.K_dedicated == {"A": [6, 4], "B": [6, 2]}
    assert spec.policy.C == {"A": 12, "B": 8} and spec.policy.S["B"] == [0, 0, 1]
    shared = build_variant(gear_line, model="BSOP", sets=["K2=6", "C=10"])
    assert shared.policy.K_shared == [4, 6] and shared.policy.C_shared == 10 and shared.policy.C == {"A": 8, "B": 8}
    with pytest.raises(VariantError, match="shares kanbans between products"):
        build_variant(gear_line, model="BSOP", sets=["K2=6", "K1.1=9"])
    for bad, why in [("K3=2", "stages are 1..2"), ("S3=20", "sum of base stocks"), ("K1=x", "not a whole number"),
                     ("Q1=2", "expected NAME=INT"), ("K1.Z=2", "unknown product"), ("C=0", "fewer than one"),
                     ("K1=9", r"seed constraint K1\.A <= C\.A fails \(9 > 8\)"),
                     ("K2=3", r"seed constraint K2\.A >= S3\.A fails \(3 < 4\)")]:
        with pytest.raises(VariantError, match=why):
            build_variant(gear_line, sets=[bad])
    with pytest.raises(VariantError, match="shares kanbans"):
        build_variant(gear_line, model="BSOP", sets=["K1.A=2"])
    with pytest.raises(VariantError, match="one CONWIP count for the line"):
        build_variant(gear_line, model="HSOP", sets=["C.A=9"])
    with pytest.raises(VariantError, match="no scenario 4"):
        build_variant(gear_line, scenario=4)


def test_scenario_reading_keeps_ratios(gear_line):
    s1, s21 = apply_scenario(gear_line, 1), apply_scenario(gear_line, 21)
    ratio = s1.demand["A"].interarrival.mean / s21.demand["A"].interarrival.mean
    assert ratio == pytest.approx(6.41 / 4.73)
    assert s1.failures.time_to_failure.mean / s21.failures.time_to_failure.mean == pytest.approx(6.55 / 4.78)


def test_seed_constraints_of_hk_conwip(gear_line):
    """Under HK-CONWIP the seed also asks K1 >= K2 and, with dedicated kanbans, K1 + K2 <= C;
    BK-CONWIP does not; `constraints=cards` checks only the card rules."""
    with pytest.raises(VariantError, match=r"K1\.A \+ \.\.\. \+ K2\.A <= C\.A fails \(10 > 8\)"):
        build_variant(gear_line, model="HDOP", sets=["K1=6", "K2=4"])
    assert build_variant(gear_line, model="BDOP", sets=["K1=6", "K2=4"]).policy.K_dedicated["A"] == [6, 4]
    with pytest.raises(VariantError, match=r"K1 >= K2 fails \(4 < 5\)"):
        build_variant(gear_line, model="HSOP", sets=["K2=5"])
    free = build_variant(gear_line, model="HSOP", sets=["constraints=cards", "K1=1", "K2=5", "S3=1"])
    assert free.policy.K_shared == [1, 5]
    assert seed_constraint_problems(free.policy, free.product_names, 3)
