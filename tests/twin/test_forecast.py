"""Forecasts from an observed state: deterministic per seed, in a process pool from the event
loop, candidate setpoints, and the coverage of their 90 % intervals against the plant's
real outcome over repeated horizons (the PLC's own line model, true parameters)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ProcessPoolExecutor

import pytest

from plc_sim.model.line import LineModel
from plc_sim.model.observe import observation_of as observe
from plc_sim.model.spec import load_plant
from twin_core.forecast import forecast, forecast_async, run_horizon

COVERED = ("FG", "D", "throughput_per_h", "downtime_h", "B")
REPORTED = ("FG", "D", "throughput_per_h", "WIP", "energy_kwh", "downtime_h", "B")


@pytest.fixture(scope="module")
def gear_state():
    spec = load_plant("gear_line")
    m = LineModel(spec, 7)
    m.run_calendar(300.0)
    return spec, observe(m, 300.0)


def test_forecast_is_deterministic_per_seed(gear_state):
    spec, obs = gear_state
    a, b = forecast(spec, obs, 24.0, reps=4, seed=3), forecast(spec, obs, 24.0, reps=4, seed=3)
    assert a == b
    k = a.kpis["FG"]
    assert k.ci95[0] <= k.mean <= k.ci95[1] and k.pi90[0] <= k.ci95[0] and k.n == 4


@pytest.mark.asyncio
async def test_forecast_runs_in_a_process_pool_off_the_event_loop(gear_state):
    spec, obs = gear_state
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    with ProcessPoolExecutor(2) as pool:
        got = await forecast_async(spec, obs, 24.0, pool, reps=4, seed=3)
    ticker.cancel()
    assert got == forecast(spec, obs, 24.0, reps=4, seed=3)
    assert ticks > 10, "the event loop kept running while the replications ran"


def test_candidate_setpoints_change_the_outcome(gear_state):
    spec, obs = gear_state
    base = forecast(spec, obs, 72.0, reps=6, seed=2)
    starved = forecast(spec, obs, 72.0, reps=6, seed=2, setpoints={"C_A": 1, "C_B": 1})
    assert starved.kpis["WIP"].mean < base.kpis["WIP"].mean
    with pytest.raises(ValueError):
        forecast(spec, obs, 24.0, reps=1, setpoints={"Nonsense": 1})


@pytest.mark.parametrize("plant", ["gear_line", "auto_parts_cell"])
def test_90_percent_intervals_cover_the_real_outcome(plant):
    spec = load_plant(plant)
    truth = LineModel(spec, 21)
    repaired: dict[str, float] = {}
    truth.listeners.append(lambda kind, info: repaired.__setitem__(info["machine"], info["t"])
                           if kind == "repair" else None)
    t = 200.0
    truth.run_calendar(t)
    horizons = 25
    hits = dict.fromkeys(REPORTED, 0)
    for i in range(horizons):
        f = forecast(spec, observe(truth, t, repaired), 24.0, reps=20, seed=i + 1)
        truth.reset_stats()
        real = run_horizon(truth, t, 24.0)
        for k in REPORTED:
            lo, hi = f.kpis[k].pi90
            hits[k] += lo <= real[k] <= hi
        t += 37.0
        truth.run_calendar(t)
    coverage = {k: v / horizons for k, v in hits.items()}
    print(f"\n{plant}: coverage of the 90 % prediction intervals over {horizons} horizons of 24 h: {coverage}")
    for k in COVERED:
        assert coverage[k] >= 0.8, (k, coverage)
