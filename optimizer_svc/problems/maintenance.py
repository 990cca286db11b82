"""A maintenance plan: per machine, planned windows every `period` hours starting at an
offset, as the MaintenancePlan JSON with MaintenancePolicy "plan". Planned downtime (each
window's hours) is traded against the forecast cost of breakdowns, repairs and lost output:
Z of seed 000, whose D counts planned and unplanned stoppage alike, under the plant's
R <= Rmax and T >= Tmin within its tolerance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from plc_sim.model.bounds import Bounds, range_of
from plc_sim.model.kpi import seed_000_z
from plc_sim.model.spec import PlantSpec

from ..evaluator import Evaluator
from ..forecast import Horizon, KPIs
from ..overrides import plan_text
from ..space import DecisionSpace, Real, Values, Variable
from .base import ForecastProblem, Objective
from .setpoints import plant_constraints


@dataclass(frozen=True)
class PlanOptions:
    machines: tuple[str, ...] | None = None
    bounds: Bounds | None = None
    """The search box (None: the plant file's `[bounds]`; `period` ranges the windows' spacing)."""


def windows(start_h: float, end_h: float, period_h: float, offset: float,
            duration_h: float) -> list[tuple[float, float]]:
    """Windows of `duration_h` every `period_h` from `start_h + offset * period_h` up to `end_h`."""
    out = []
    t = start_h + offset * period_h
    while t < end_h:
        out.append((t, duration_h))
        t += period_h
    return out


def _maintained(spec: PlantSpec, opts: PlanOptions) -> list[str]:
    names = [m.name for m in spec.all_machines() if spec.physics(m, "wear") is not None]
    return [n for n in names if opts.machines is None or n in opts.machines]


def plan_problem(evaluator: Evaluator, seeds: Sequence[int], horizon: Horizon,
                 opts: PlanOptions = PlanOptions(), start_h: float = 0.0) -> ForecastProblem:
    """Windows cover the forecast (warm-up included) from working hour `start_h`."""
    spec = evaluator.forecaster.plant
    ob = spec.objectives
    if ob is None:
        raise ValueError(f"plant {spec.name!r} has no [objectives] section (seed 000)")
    machines = {m.name: m for m in spec.all_machines()}
    names = _maintained(spec, opts)
    variables: list[Variable] = []
    box = opts.bounds or spec.bounds
    for name in names:
        current = spec.machine_maintenance(machines[name]).interval_h
        lo, hi = range_of(box, f"period.{name}")
        variables.append(Real(f"period.{name}", lo, hi, min(max(current, lo), hi)))
        variables.append(Real(f"offset.{name}", 0.0, 0.999, 0.5))
    end_h = start_h + horizon.warmup + horizon.hours
    durations = {n: spec.machine_maintenance(machines[n]).duration.mean for n in names}

    def compose(values: Values, _vars: Sequence[Variable]) -> list[str]:
        out = []
        for n in names:
            w = windows(start_h, end_h, float(values[f"period.{n}"]), float(values[f"offset.{n}"]), durations[n])
            out += [f"maint_plan.{n}={plan_text(w)}", f"maint_policy.{n}=plan"]
        return out

    def objective(k: KPIs) -> float:
        return seed_000_z(ob, k["cost"], k["energy_kwh"], k["stoppage_h"])

    space = DecisionSpace(tuple(variables), composer=compose)
    constraints = plant_constraints(ob)
    return ForecastProblem("maintenance", space, evaluator, seeds, horizon,
                           [Objective("Z", objective)], constraints,
                           report=("cost", "downtime_h", "M", "B", "throughput_per_h"))
