"""Seed 000: machine setpoints (speeds, standby timeouts, off-shift modes, dispatch weights,
shift plans, maintenance policy) minimising Z = w1*C + w2*E + w3*D (D: planned and
unplanned stoppage hours) under R <= Rmax (peak kW) and
T >= Tmin (parts per hour, within the plant's `t_min_tolerance`); or the three objectives
(C, E, D) as a Pareto front."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from plc_sim.model.bounds import Bounds, choices_of, range_of
from plc_sim.model.spec import OFF_SHIFT_MODES, Objectives, PlantSpec

from ..evaluator import Evaluator
from ..forecast import Horizon
from ..space import Choice, DecisionSpace, Real, Variable
from .base import Constraint, ForecastProblem, Objective, kpi
from .limits import step_of, within_step

KINDS = ("speed", "standby", "off_shift", "dispatch", "shift", "maint_policy")


@dataclass(frozen=True)
class SetpointOptions:
    """Which setpoints are decisions and their search ranges where the plant gives none."""

    kinds: tuple[str, ...] = KINDS
    machines: tuple[str, ...] | None = None
    bounds: Bounds | None = None
    """The search box (None: the plant file's `[bounds]`)."""
    weights: tuple[float, float, float] | None = None
    steps: Mapping[str, float] | None = None
    multi_objective: bool = False
    extra_constraints: Sequence[Constraint] = field(default_factory=tuple)


def plant_constraints(ob: Objectives) -> list[Constraint]:
    """The plant's own feasibility checks (`feasible` in the KPIs): R <= Rmax and
    T >= Tmin * (1 - t_min_tolerance), here on the mean over the replications. The tolerance
    is the plant file's: a run's Poisson demand falls short of the mean rate by chance, and
    T cannot exceed what was ordered. Over a short horizon (a week from the twin's snapshot)
    the orders of the week may fall short of Tmin for every setting; the floor is then the
    current setpoints' own T less the same tolerance (`Constraint.hold_share`)."""
    tol = ob.t_min_tolerance
    return [Constraint("R", kpi("peak_kw"), upper=ob.r_max_kw),
            Constraint("T", kpi("throughput_per_h"), lower=ob.t_min_per_h * (1.0 - tol), hold_share=tol)]


def setpoint_space(spec: PlantSpec, opts: SetpointOptions) -> DecisionSpace:
    out: list[Variable] = []
    box = opts.bounds or spec.bounds

    def real(key: str, current: float, own: tuple[float, float] | None = None) -> Real:
        lo, hi = range_of(box, key, own)
        lo, hi = within_step(min(lo, current), max(hi, current), current, step_of(opts.steps, key.split(".")[0]))
        return Real(key, lo, hi, current)

    def choice(key: str, available: Sequence[str], current: str) -> Choice:
        return Choice(key, choices_of(box, key.split(".")[0], available, current), current)

    wanted = set(opts.machines) if opts.machines is not None else None
    for st in spec.stations:
        machines = [m for m in st.machines if wanted is None or m.name in wanted]
        shift_ok = bool(spec.shift_plans) and step_of(opts.steps, "shift") != 0
        if "shift" in opts.kinds and st.shift is not None and shift_ok and machines:
            out.append(choice(f"shift.{st.name}", tuple(spec.shift_plans), st.shift))
        for m in machines:
            speed = spec.physics(m, "speed")
            if "speed" in opts.kinds and speed is not None and speed.max_pct > speed.min_pct:
                out.append(real(f"speed.{m.name}", speed.setpoint_pct, (speed.min_pct, speed.max_pct)))
            standby = spec.physics(m, "standby")
            if "standby" in opts.kinds and standby is not None:
                out.append(real(f"standby.{m.name}", standby.timeout_h))
            if "off_shift" in opts.kinds and standby is not None and step_of(opts.steps, "off_shift") != 0:
                out.append(choice(f"off_shift.{m.name}", OFF_SHIFT_MODES, standby.off_shift))
            if "dispatch" in opts.kinds and len(st.machines) > 1:
                out.append(real(f"dispatch.{m.name}", m.dispatch_weight))
            maint = spec.machine_maintenance(m)
            condition_ok = (maint.threshold_wear is not None or maint.threshold_vibration is not None) and (
                spec.physics(m, "wear") is not None or spec.physics(m, "condition") is not None)
            if ("maint_policy" in opts.kinds and condition_ok and maint.policy in ("interval", "condition")
                    and step_of(opts.steps, "maint_policy") != 0):
                out.append(choice(f"maint_policy.{m.name}", ("interval", "condition"), maint.policy))
    return DecisionSpace(tuple(out))


def setpoint_problem(evaluator: Evaluator, seeds: Sequence[int], horizon: Horizon,
                     opts: SetpointOptions = SetpointOptions()) -> ForecastProblem:
    spec = evaluator.forecaster.plant
    ob = spec.objectives
    if ob is None:
        raise ValueError(f"plant {spec.name!r} has no [objectives] section (seed 000)")
    w1, w2, w3 = opts.weights or (ob.w1, ob.w2, ob.w3)
    if opts.multi_objective:
        objectives = [Objective("C", kpi("cost")), Objective("E", kpi("energy_kwh")), Objective("D", kpi("stoppage_h"))]
    else:
        objectives = [Objective("Z", lambda k: w1 * k["cost"] + w2 * k["energy_kwh"] + w3 * k["stoppage_h"])]
    constraints = [*plant_constraints(ob), *opts.extra_constraints]
    return ForecastProblem("setpoints", setpoint_space(spec, opts), evaluator, seeds, horizon, objectives, constraints,
                           pick_weights=(w1, w2, w3) if opts.multi_objective else None,
                           report=("cost", "energy_kwh", "stoppage_h", "downtime_h", "throughput_per_h", "peak_kw"))
