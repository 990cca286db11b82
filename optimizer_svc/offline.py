"""One offline optimisation (`plant optimize`): build the problem on a plant file, search,
verify the best candidate against the plant file's plain settings on the same fresh
replications, and report both with confidence intervals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

from plc_sim.model.bounds import Bounds, names_of, parse_bound, unknown_names, with_flags

from .dask_pool import dask_executor
from .evaluator import Evaluator
from .forecast import Horizon, PlantForecaster
from .problems.base import ForecastProblem
from .problems.maintenance import PlanOptions, plan_problem
from .problems.production import CARD_KINDS, CardOptions, card_problem
from .problems.setpoints import KINDS, SetpointOptions, setpoint_problem
from .solve import Budget, SolveResult, Step, solve
from .space import Value
from .verify import Verdict, VerifyOptions, verify

PROBLEMS = ("setpoints", "cards", "maintenance")


@dataclass(frozen=True)
class OfflineRun:
    plant: str = "gear_line"
    model: str | None = None
    scenario: int | None = None
    sets: tuple[str, ...] = ()
    problem: str | None = None
    algorithm: str = "GA"
    horizon: Horizon = field(default_factory=lambda: Horizon(hours=2000.0, warmup=500.0, seed=1))
    reps: int = 5
    verify_reps: int = 30
    budget: Budget = field(default_factory=Budget)
    jobs: int = 2
    vary_base_stock: bool = True
    multi_objective: bool = False
    dask_scheduler: str | None = None
    kinds: tuple[str, ...] | None = None
    """`--only`: the decision kinds searched (None: every kind of the problem)."""
    machines: tuple[str, ...] | None = None
    bounds: tuple[str, ...] = ()
    """`--bound NAME=LO:HI` flags, on top of the plant file's `[bounds]`."""


@dataclass
class OfflineReport:
    run: OfflineRun
    problem: str
    result: SolveResult
    verdict: Verdict
    decisions: list[tuple[str, Value, Value]] = field(default_factory=list)
    objectives: list[str] = field(default_factory=list)
    maximised: bool = False


def build_problem(run: OfflineRun, ev: Evaluator) -> ForecastProblem:
    """The run's problem in the plant file's box with the `--bound` flags on top; a flag or
    an `--only` kind that names no decision of the problem is an error."""
    spec = ev.forecaster.plant
    name = run.problem or ("setpoints" if spec.objectives is not None else "cards")
    flags = dict(parse_bound(b) for b in run.bounds)
    box = with_flags(spec.bounds, flags)
    problem = _problem(name, run, ev, box)
    keys = [v.key for v in problem.space.variables]
    unknown = unknown_names(flags, keys)
    if unknown:
        known = sorted({n for k in keys for n in names_of(k)})
        raise ValueError(f"--bound names no decision of the {name} problem: {', '.join(unknown)} "
                         f"(decisions: {', '.join(known)})")
    if not keys:
        raise ValueError(f"the {name} problem has no decision left (--only {','.join(run.kinds or ())})")
    return problem


def _problem(name: str, run: OfflineRun, ev: Evaluator, box: Bounds) -> ForecastProblem:
    seeds = range(run.reps)
    if name == "cards":
        kinds = _only(run.kinds, CARD_KINDS)
        return card_problem(ev, seeds, run.horizon, CardOptions(bounds=box, kinds=kinds,
                            vary_base_stock=run.vary_base_stock, multi_objective=run.multi_objective))
    if name == "setpoints":
        opts = SetpointOptions(kinds=_only(run.kinds, KINDS), machines=run.machines, bounds=box,
                               multi_objective=run.multi_objective)
        return setpoint_problem(ev, seeds, run.horizon, opts)
    if name == "maintenance":
        return plan_problem(ev, seeds, run.horizon, PlanOptions(machines=run.machines, bounds=box))
    raise ValueError(f"unknown problem {name!r}: choose one of {', '.join(PROBLEMS)}")


def _only(kinds: tuple[str, ...] | None, known: tuple[str, ...]) -> tuple[str, ...]:
    """The `--only` kinds, each one the problem has."""
    if kinds is None:
        return known
    bad = [k for k in kinds if k not in known]
    if bad:
        raise ValueError(f"--only: unknown kind {', '.join(bad)} (kinds: {', '.join(known)})")
    return kinds


def run_offline(run: OfflineRun, on_step: Callable[[Step], None] | None = None) -> OfflineReport:
    forecaster = PlantForecaster.from_file(run.plant, run.model, run.scenario, run.sets)
    with ExitStack() as stack:
        pool = stack.enter_context(dask_executor(run.dask_scheduler)) if run.dask_scheduler else None
        ev = stack.enter_context(Evaluator(forecaster, jobs=run.jobs, executor=pool))
        problem = build_problem(run, ev)
        result = solve(problem, run.algorithm, run.budget, seed=run.horizon.seed, on_step=on_step)
        verdict = verify(problem, result.best, VerifyOptions(reps=run.verify_reps))
    current = problem.space.current()
    decisions = [(k, current[k], v) for k, v in result.best.values.items()]
    return OfflineReport(run, problem.name, result, verdict, decisions, [o.name for o in problem.objectives],
                         problem.objectives[0].maximise)


def changed(decisions: Sequence[tuple[str, Value, Value]]) -> list[tuple[str, Value, Value]]:
    return [d for d in decisions if d[1] != d[2]]
