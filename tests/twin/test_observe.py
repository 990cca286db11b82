"""A line model built from an observed state (plc_sim/model/observe.py)."""

from __future__ import annotations

import pytest

from plc_sim.model.kpi import kpis
from plc_sim.model.line import LineModel
from plc_sim.model.observe import Observation, model_from_observation, observation_of
from plc_sim.model.spec import load_plant


def observe(m: LineModel, calendar_h: float | None = None) -> Observation:
    return observation_of(m, calendar_h)


@pytest.mark.parametrize("plant,model", [("gear_line", "BDOP"), ("gear_line", "BSOP"), ("gear_line", "HDOP"),
                                         ("gear_line", "HSOP"), ("auto_parts_cell", None)])
def test_model_from_observation_stands_where_the_plant_stands_and_runs_on(plant, model):
    from plc_sim.model.variants import build_variant

    spec = build_variant(load_plant(plant), model=model) if model else load_plant(plant)
    ref = LineModel(spec, 5)
    ref.run_calendar(300.0)
    obs = observe(ref)
    twin = model_from_observation(spec, obs, seed=11)
    assert twin.env.now == pytest.approx(ref.env.now)
    seen = observe(twin)
    last = spec.stations[-1].name
    assert seen.buffers[last] == obs.buffers[last] and seen.backlog == obs.backlog
    # re-issued requests may move buffered parts on or release raw parts: none appear or vanish
    parts = lambda o: sum(map(sum, (b.values() for b in o.buffers.values()))) + sum(o.queue.values())  # noqa: E731
    assert parts(seen) - parts(obs) == sum(obs.raw.values()) - sum(seen.raw.values()) >= 0
    busy = {n for n, s in obs.machine_status.items() if s in ("processing", "down", "maintenance")}
    assert {n for n, s in observe(twin).machine_status.items() if s in ("processing", "down", "maintenance")} == busy
    twin.run_calendar(obs.calendar_h + 500.0)
    k = kpis(twin)
    assert k["FG"] > 0 and k["WIP"] >= 0


def test_same_seed_same_model():
    spec = load_plant("gear_line")
    ref = LineModel(spec, 2)
    ref.run_calendar(100.0)
    a = model_from_observation(spec, observe(ref), seed=3)
    b = model_from_observation(spec, observe(ref), seed=3)
    a.run_calendar(200.0)
    b.run_calendar(200.0)
    assert kpis(a) == kpis(b)


@pytest.mark.parametrize("model", ["BDOP", "BSOP", "HDOP", "HSOP"])
def test_parts_queued_at_mp3_hold_their_stage_2_kanbans_in_the_twin(model):
    """The gear line's kanban_until = next_start: a twin built while parts wait for MP3 books
    their stage-2 cards as held, and its card accounting stays exact as it runs on."""
    from plc_sim.model.variants import build_variant
    from tests.support.linecheck import check_invariants, step_until

    spec = build_variant(load_plant("gear_line"), model=model, scenario=15)
    ref = LineModel(spec, 5)
    while len(ref.jobs[2]) < 2:
        ref.env.step()
        assert ref.env.now < 2000.0, "MP3 never had two parts waiting"
    obs = observe(ref)
    twin = model_from_observation(spec, obs, seed=11)
    check_invariants(twin)
    assert step_until(twin, twin.env.now + 300.0) > 100
