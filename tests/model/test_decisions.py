"""Decisions that must move the KPIs they should, measured paired (common random numbers):
the price of stock and scrap in Zmax, the calendar, the four control models, the seed's WIP
objectives, and the auto-parts cell's speed law and capacity."""

import pytest

from plc_sim.model.experiment import RunPlan, paired, run_settings
from plc_sim.model.kpi import kpis
from plc_sim.model.line import LineModel
from plc_sim.model.spec import load_plant
from plc_sim.model.variants import build_variant
from tests.support.tinyplant import tiny

PLAN = RunPlan(hours=3000.0, warmup=500.0, seed=4)


def _diffs(specs, reps=4, plan=PLAN):
    runs = run_settings(specs, plan, reps, jobs=1)
    return [paired(runs[0], r) for r in runs[1:]]


def test_finished_stock_has_a_price_so_zmax_has_an_interior_optimum_in_c(gear_line):
    """HK-CONWIP keeps about C parts as stock: a few more cards cover the weekend and pay;
    many more are held all week for nothing and cost more than the sales they save."""
    specs = [build_variant(gear_line, model="HDOP", sets=[f"C={c}"]) for c in (8, 14, 30)]
    mid, high = _diffs(specs)
    assert mid["Zmax"].low > 0 and mid["LD"].high < 0
    assert high["holding_eur"].mean > 2 * mid["holding_eur"].mean
    assert high["Zmax"].mean < mid["Zmax"].mean and high["Zmax"].high < mid["Zmax"].low + high["Zmax"].half_width


def test_scrap_costs_more_than_recycling_earns(gear_line):
    """Tripling the defect rate lowers Zmax (it used to raise it by 2.9 %)."""
    base = build_variant(gear_line, model="BDOP", scenario=1)
    tripled = base.quality.model_copy(update={"defect_prob": 3 * base.quality.defect_prob})
    worse = base.model_copy(update={"quality": tripled})
    (d,) = _diffs([base, worse])
    assert d["scrap"].low > 0
    assert d["Zmax"].high < 0
    assert d["scrap_writeoff_eur"].low > d["recycling_eur"].high


def test_zmax_is_the_sum_of_its_terms_and_returns_reverse_their_sale(gear_line):
    m = LineModel(build_variant(gear_line, model="HDOP", scenario=21), 3)
    m.run_working(3000.0)
    k = kpis(m)
    assert sum(m.returned) == k["Rn"] > 0
    fg = gear_line.costs.FG
    net = [m.delivered[p] - m.returned[p] for p in range(m.n_products)]
    assert k["sales_eur"] == pytest.approx(sum(fg[n] * net[p] for p, n in enumerate(m.products)))
    assert k["FG"] == sum(m.delivered) - k["Rn"]
    assert k["Zmax"] == pytest.approx(k["sales_eur"] + k["recycling_eur"] - k["events_eur"] - k["holding_eur"]
                                      - k["lost_sales_eur"] - k["raw_eur"] - k["returns_eur"] - k["scrap_writeoff_eur"])
    per_day = (m.fg_area + m.fg_total * (m.env.now - m.fg_t)) / 24.0
    assert k["holding_eur"] > 6.5 * per_day, "WIP is held too"
    assert k["SL"] == pytest.approx((k["FG"] + k["I3"] + k["SC"] + k["Rn"]) / k["D"])


def test_orders_arrive_around_the_clock_while_the_line_works_its_shifts(gear_line):
    m = LineModel(build_variant(gear_line, model="BDOP", scenario=1), 2)
    orders: list[float] = []
    m.listeners.append(lambda kind, info: kind == "order" and orders.append(info["t"]))
    fg_at = {}
    for week in range(4):
        m.run_working(168.0 * week + 5 * 24 + 22.0)
        fg_at[("sat", week)] = m.stock()
        m.run_working(168.0 * (week + 1) + 6.0)
        fg_at[("mon", week)] = m.stock()
    off = [t for t in orders if not (t % 168 < 6 * 24 and 6.0 <= t % 24 < 22.0)]
    assert len(off) / len(orders) == pytest.approx(72 / 168, abs=0.05), "nights and Sundays get their share of orders"
    for row in m.machines:
        for x in row:
            off_h = x.time_in(m.env.now)["off"]
            assert 0.9 * 4 * 72 < off_h <= 4 * 72, "off outside the shifts (a running job ends first; down is down)"
    assert sum(fg_at[("mon", w)] for w in range(4)) < sum(fg_at[("sat", w)] for w in range(4)), \
        "the weekend eats the stock"


def test_the_four_models_differ_and_conwip_binds(gear_line):
    """Plain settings of the plant file: every pair differs on some KPI, paired."""
    specs = [build_variant(gear_line, model=mo, scenario=21) for mo in ("BDOP", "BSOP", "HDOP", "HSOP")]
    bsop, hdop, hsop = _diffs(specs)
    assert bsop["WIP"].high < 0, "shared kanbans (half the cards per gear) hold less WIP"
    assert hdop["I3"].low > 0 and hdop["Zmax"].low > 0
    assert hsop["Zmax"].high < hdop["Zmax"].low
    bsop_more_c = _diffs([specs[1], build_variant(gear_line, model="BSOP", scenario=21, sets=["C=16"])])[0]
    assert bsop_more_c["WIP"].low > 0, "BSOP's single C = 8 binds: more cards let more parts in"


def test_wip_objectives_follow_the_cards(gear_line):
    m = LineModel(build_variant(gear_line, model="BDOP", sets=["K1=6"]), 1)
    m.run_working(50.0)
    k = kpis(m)
    assert (k["WIP1_obj"], k["WIP2_obj"], k["WIP3_obj"]) == (17 * 2 + 20 * 2, 0, 22 * 4 + 18 * 4)
    s = kpis(_ran(build_variant(gear_line, model="HSOP", sets=["K1=6", "K2=5", "C=10"])))
    assert (s["WIP1_obj"], s["WIP2_obj"], s["WIP3_obj"]) == (37 * 1, 10 * 1 + 13 * 1, 22 * 6 + 18 * 6)


def _ran(spec):
    m = LineModel(spec, 1)
    m.run_working(50.0)
    return m


def test_energy_per_part_is_lowest_at_an_interior_speed():
    """(7 + 15 v^1.6) / v kWh per hour of work: lowest near 85 %, higher at 70 % and 130 %."""
    cnc = ('speed = { setpoint_pct = 100.0, min_pct = 70.0, max_pct = 130.0, power_exp = 1.6 }, '
           'power = { processing = 22.0, processing_base = 7.0, idle = 7.0 }')
    per_part = {}
    for v in (70, 85, 100, 130):
        m = LineModel(build_variant(tiny(proc=1.0, gap=3.0, machine=cnc), sets=[f"speed.M1={v}"]), 1)
        m.run_working(20.0)
        per_part[v] = m.machines[0][0].last_part_kwh
        assert per_part[v] == pytest.approx((7 + 15 * (v / 100) ** 1.6) / (v / 100))
    assert per_part[85] < per_part[70] and per_part[85] < per_part[100] < per_part[130]


def test_the_cell_sells_what_it_makes_so_speed_trades_lost_orders_against_wear():
    """Capacity-bound output (docs/machine_physics.md): orders above what two shifts make are
    lost; Tmin is a contracted volume below the baseline's output, not the mean demand.
    Slower CNCs lose orders and, with the machines left powered overnight, spend the tare
    energy on fewer parts; faster ones wear out sooner."""
    cell = load_plant("auto_parts_cell")
    demand = sum(1 / d.interarrival.mean for d in cell.demand.values())
    plan = RunPlan(hours=3000.0, warmup=500.0, seed=2)
    specs = [build_variant(cell, sets=[f"speed.Machining={v}"]) for v in (100, 85, 115)]
    runs = run_settings(specs, plan, 3, jobs=1)
    base = {k: sum(r[k] for r in runs[0]) / 3 for k in runs[0][0]}
    assert cell.objectives.t_min_per_h < base["throughput_per_h"] < 0.9 * demand
    assert base["LD"] > 0 and base["feasible"] == 1.0
    slow, fast = paired(runs[0], runs[1]), paired(runs[0], runs[2])
    assert slow["LD"].low > 0 and slow["lost_sale_eur"].low > 0 and slow["throughput_per_h"].high < 0
    assert slow["energy_per_part_kwh"].low > 0
    assert fast["throughput_per_h"].low > 0 and fast["downtime_h"].low > 0
