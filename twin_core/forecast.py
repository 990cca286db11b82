"""Forecasts: from a twin snapshot, simulate the plant a horizon forward under its current
or candidate setpoints, several seeded replications in a process pool (never on the event
loop), and summarise each KPI with a 95 % confidence interval of its mean and a 90 %
prediction interval for the one outcome the plant will really have."""

from __future__ import annotations

import asyncio
import math
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from scipy import stats

import plant_tags as tags
from plc_sim.model.kpi import kpis
from plc_sim.model.line import LineModel
from plc_sim.model.observe import Observation, model_from_observation
from plc_sim.model.spec import PlantSpec

OFF_SPAN_H = 1e-9
"""Working hours measured when a horizon has none (KPIs need a span)."""

Setpoints = dict[str, float]
"""Candidate setpoints by control tag: `K<i>_<P>` / `K<i>` (kanbans), `C_<P>` (CONWIP),
`<Machine>.SpeedSetpoint`, `<Machine>.DispatchWeight`."""


class KpiForecast(BaseModel):
    mean: float
    ci95: tuple[float, float]
    pi90: tuple[float, float]
    """Where one future outcome falls with 90 % probability (normal prediction interval)."""
    n: int


class Forecast(BaseModel):
    horizon_h: float
    reps: int
    seed: int
    setpoints: Setpoints
    kpis: dict[str, KpiForecast]


@dataclass(frozen=True)
class Job:
    spec: PlantSpec
    observation: Observation
    horizon_h: float
    seed: int
    setpoints: Setpoints


def apply_setpoints(m: LineModel, setpoints: Setpoints) -> None:
    products = m.products
    for key, value in setpoints.items():
        if "." in key:
            name, what = key.split(".", 1)
            mach = m.machine(name)
            if what == tags.MachineTag.SPEED_SETPOINT:
                mach.set_speed(float(value))
            elif what == tags.MachineTag.DISPATCH_WEIGHT:
                mach.set_dispatch_weight(float(value))
            else:
                raise ValueError(f"unknown machine setpoint {key}")
        elif key.startswith("C_"):
            m.set_conwip(products.index(key[2:]), int(value))
        elif key.startswith("K"):
            stage, _, product = key[1:].partition("_")
            m.set_kanbans(int(stage) - 1, products.index(product) if product else 0, int(value))
        else:
            raise ValueError(f"unknown setpoint {key}")


def run_one(job: Job) -> dict[str, float]:
    """One replication (in a worker process)."""
    m = model_from_observation(job.spec, job.observation, job.seed)
    apply_setpoints(m, job.setpoints)
    return run_horizon(m, job.observation.calendar_h, job.horizon_h)


def run_horizon(m: LineModel, calendar_h: float, horizon_h: float) -> dict[str, float]:
    """KPIs of the `horizon_h` calendar hours after `calendar_h`; a horizon the plant spends
    entirely off shift still gets its KPIs (over a negligible working span)."""
    start = m.env.now
    m.run_calendar(calendar_h + horizon_h)
    if m.env.now <= start:
        m.run_working(start + OFF_SPAN_H)
    return kpis(m, horizon_h)


def summarise(runs: list[dict[str, float]]) -> dict[str, KpiForecast]:
    out = {}
    n = len(runs)
    for k in runs[0]:
        xs = [r[k] for r in runs]
        mean = sum(xs) / n
        sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else 0.0
        t95 = stats.t.ppf(0.975, n - 1) if n > 1 else math.inf
        t90 = stats.t.ppf(0.95, n - 1) if n > 1 else math.inf
        hw = t95 * sd / math.sqrt(n) if sd else 0.0
        pw = t90 * sd * math.sqrt(1 + 1 / n) if sd else 0.0
        out[k] = KpiForecast(mean=mean, ci95=(mean - hw, mean + hw), pi90=(mean - pw, mean + pw), n=n)
    return out


def jobs_for(spec: PlantSpec, obs: Observation, horizon_h: float, reps: int, seed: int,
             setpoints: Setpoints | None) -> list[Job]:
    return [Job(spec, obs, horizon_h, seed * 1000 + r, dict(setpoints or {})) for r in range(reps)]


def forecast(spec: PlantSpec, obs: Observation, horizon_h: float, reps: int = 10, seed: int = 1,
             setpoints: Setpoints | None = None, pool: Executor | None = None) -> Forecast:
    """Blocking: replications in `pool` (a process pool), or in this process when None."""
    jobs = jobs_for(spec, obs, horizon_h, reps, seed, setpoints)
    runs = list(pool.map(run_one, jobs)) if pool is not None else [run_one(j) for j in jobs]
    return Forecast(horizon_h=horizon_h, reps=reps, seed=seed, setpoints=dict(setpoints or {}), kpis=summarise(runs))


async def forecast_async(spec: PlantSpec, obs: Observation, horizon_h: float, pool: ProcessPoolExecutor,
                         reps: int = 10, seed: int = 1, setpoints: Setpoints | None = None) -> Forecast:
    """The same from the event loop: every replication runs in the process pool."""
    loop = asyncio.get_running_loop()
    jobs = jobs_for(spec, obs, horizon_h, reps, seed, setpoints)
    runs: list[Any] = await asyncio.gather(*(loop.run_in_executor(pool, run_one, j) for j in jobs))
    return Forecast(horizon_h=horizon_h, reps=reps, seed=seed, setpoints=dict(setpoints or {}), kpis=summarise(runs))
