"""Every card count the gear line lets a user set (K1, K2, C, S1, S2, S3) moves some KPI on
some scenario, measured paired (common random numbers, 95 % intervals); and where a count
cannot bind (BK-CONWIP's C above its ceiling) the KPIs are exactly the same, as the proof in
`rules.bk_conwip_ceiling` says. docs/control_rules.md, "What a kanban covers"."""

import pytest

from plc_sim.model.experiment import RunPlan, paired, run_replication, run_settings
from plc_sim.model.line import LineModel
from plc_sim.model.rules import bk_conwip_ceiling
from plc_sim.model.variants import build_variant

PLAN = RunPlan(hours=3000.0, warmup=500.0, seed=4)


def _diff(base, other, reps=4):
    runs = run_settings([base, other], PLAN, reps, jobs=1)
    return paired(runs[0], runs[1])


def _variant(gear_line, model, scenario, sets):
    return build_variant(gear_line, model=model, scenario=scenario, sets=sets)


@pytest.mark.parametrize("model,scenario,sets,kpi,sign", [
    ("BDOP", 1, (["K1=4"], ["K1=8"]), "WIP", +1),
    ("HDOP", 15, (["K1=8", "K2=8", "C=16"], ["K1=8", "K2=4", "C=16"]), "WIP", -1),
    ("HDOP", 15, (["K1=8", "K2=8", "C=16"], ["K1=8", "K2=4", "C=16"]), "LD", +1),
    ("BSOP", 15, (["K1=4", "K2=4", "C=16"], ["K1=4", "K2=8", "C=16"]), "Zmax", +1),
    ("HDOP", 21, (["C=16"], ["C=24"]), "I3", +1),
    ("HSOP", 21, (["C=16"], ["C=32"]), "Zmax", +1),
    ("BDOP", 1, (["C=4"], ["C=10"]), "WIP", +1),
    ("BDOP", 1, (["S3=4"], ["S3=16", "K1=16", "K2=16", "C=16"]), "Zmax", +1),
    ("BDOP", 1, (["S2=0"], ["S2=2"]), "WIP_MP2", +1),
    ("BDOP", 1, (["S1=0"], ["S1=2"]), "WIP_MP1", +1),
], ids=["K1-WIP", "K2-WIP", "K2-lost", "K2-BSOP-Zmax", "C-HK-stock", "C-HSOP-Zmax", "C-BK-below-ceiling",
        "S3-Zmax", "S2-WIP", "S1-WIP"])
def test_every_settable_card_count_moves_a_kpi(gear_line, model, scenario, sets, kpi, sign):
    base, other = (_variant(gear_line, model, scenario, s) for s in sets)
    d = _diff(base, other)[kpi]
    assert (d.low > 0) if sign > 0 else (d.high < 0), (kpi, d)


@pytest.mark.parametrize("model", ["BDOP", "BSOP"])
def test_bk_conwip_c_above_its_ceiling_changes_nothing(gear_line, model):
    """Base stocks plus lost_sale_queue + 1 per product is as many parts as BK-CONWIP can
    have out: from there on C is not a decision (the same run, bit for bit)."""
    spec = _variant(gear_line, model, 21, [])
    members = spec.product_names if model == "BSOP" else ["A"]
    ceiling = bk_conwip_ceiling([spec.policy.S[p] for p in members],
                                [spec.demand[p].lost_sale_queue for p in members])
    at, far = (run_replication(build_variant(spec, sets=[f"C={c}"]), PLAN, 0) for c in (ceiling, ceiling + 30))
    measured = [k for k in at if not k.endswith("_obj")]  # the seed's WIP objectives are functions of C
    assert len(measured) > 30 and {k: at[k] for k in measured} == {k: far[k] for k in measured}


def test_stage_2_kanbans_cap_the_queue_in_front_of_mp3(gear_line):
    """A part waits for MP3 in I2 on its stage-2 card: with K2 = 2 per gear, the parts of a
    gear queued at MP2, in process there and queued at MP3 are never more than 2, and the
    cap is reached (MP3 is overloaded in scenario 15)."""
    spec = _variant(gear_line, "HDOP", 15, ["K1=8", "K2=2", "C=16", "S3=2"])
    m = LineModel(spec, 7)
    reached = 0
    while m.env.peek() < 800.0:
        m.env.step()
        for p in range(m.n_products):
            on_card = (m.jobs[1].count(p) + sum(mach.job == p for mach in m.machines[1])
                       + m.buf[1][p] + m.jobs[2].count(p))
            assert on_card <= 2, (m.env.now, p, on_card)
            reached += m.jobs[2].count(p) == 2
    assert reached > 0
