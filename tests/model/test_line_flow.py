"""Flow rules of the line model: conservation, card caps, stock, FIFO backorders."""

import pytest

from plc_sim.model.line import LineModel
from plc_sim.model.spec import MODELS
from plc_sim.model.variants import build_variant
from tests.support.linecheck import check_invariants, step_until


@pytest.mark.parametrize("scenario", [1, 21])
@pytest.mark.parametrize("model", MODELS)
def test_invariants_hold_at_every_event(gear_line, model, scenario):
    m = LineModel(build_variant(gear_line, model=model, scenario=scenario), seed=3)
    check_invariants(m)
    events = step_until(m, 500.0)
    assert events > 3000
    assert m.life["delivered"] > 300
    assert m.count.B > 0 and m.count.scrap > 0 and m.count.M > 0


@pytest.mark.parametrize("model", MODELS)
def test_tight_cards_and_live_changes_keep_invariants(gear_line, model):
    spec = build_variant(gear_line, model=model, scenario=21, sets=["K1=1", "K2=1", "C=2", "S3=1"])
    m = LineModel(spec, seed=5)
    step_until(m, 100.0)
    m.set_kanbans(0, 0, 3)
    m.set_conwip(1, 6)
    check_invariants(m)
    step_until(m, 200.0)
    m.set_kanbans(1, 1, 1)
    m.set_conwip(0, 1)
    check_invariants(m)
    step_until(m, 400.0)
    assert m.conwip_cap == ([1, 1] if m.conwip_cap.shared else [1, 6]), "S-KAP has one C for the line"
    assert m.life["delivered"] > 50


def test_backorders_are_served_first_in_first_out(gear_line):
    m = LineModel(build_variant(gear_line, model="BDOP", scenario=21), seed=2)
    served: dict[str, list[float]] = {"A": [], "B": []}
    m.listeners.append(lambda kind, info: kind == "delivery" and served[info["product"]].append(info["ordered"]))
    m.run_working(500.0)
    for p, times in served.items():
        assert len(times) > 200
        assert times == sorted(times), f"product {p} served out of order"
    assert m.count.wait_h > 0


def test_lost_sale_needs_full_queue_and_no_stock(gear_line):
    m = LineModel(build_variant(gear_line, model="BDOP", scenario=15), seed=4)
    fg = m.buf[m.n_stages - 1]
    seen = []

    def on(kind, info):
        if kind == "order":
            p = m.products.index(info["product"])
            seen.append((info["lost"], fg[p], len(m.backlog[p])))

    m.listeners.append(on)
    m.run_working(600.0)
    lost = [s for s in seen if s[0]]
    assert lost, "scenario 15 overloads the line; some orders must be lost"
    assert all(stock == 0 and queue > 5 for _, stock, queue in lost)
    assert all(not (stock == 0 and queue > 5) for was_lost, stock, queue in seen if not was_lost)


def test_hk_conwip_holds_c_parts_and_bk_restores_base_stock(gear_line):
    hk = LineModel(build_variant(gear_line, model="HDOP", scenario=1), seed=1)
    hk.run_working(300.0)
    for p in range(2):
        assert hk.conwip_free[p] >= 0
    assert hk.stock() > 10, "with light demand HK-CONWIP fills finished goods up to its cards"
    bk = LineModel(build_variant(gear_line, model="BDOP", scenario=1, sets=["S3=4"]), seed=1)
    bk.run_working(300.0)
    assert bk.stock() <= 8, "BK-CONWIP never holds more than the base stock S3 per product"


def test_idle_machines_report_starved_and_blocked(gear_line):
    spec = build_variant(gear_line, model="BDOP", scenario=21, sets=["constraints=cards", "K1=1", "K2=1"])
    m = LineModel(spec, seed=8)
    seen = set()
    while m.env.now < 300:
        m.env.step()
        for row in m.machines:
            for x in row:
                status = m.machine_status(x)
                seen.add(status)
                if status == "starved":
                    assert (any(m.carded[x.stage]) or any(m.tokens[x.stage])) and not m.jobs[x.stage]
    assert {"processing", "starved", "blocked", "down"} <= seen
