"""Solvers: GA, PSO, DE and ES from pymoo for one objective (with constraints), NSGA-II for
fronts, and scipy's bounded Powell search for the continuous setpoints. Every run starts
from the current setpoints (part of the first population), has a wall-time budget, keeps
its convergence history, and returns the best feasible candidate it simulated. Every
algorithm ends with the same local polish of its best candidate's integer decisions
(`polish`), on the same replications."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.algorithms.soo.nonconvex.de import DE
from pymoo.algorithms.soo.nonconvex.es import ES
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.algorithms.soo.nonconvex.pso import PSO
from pymoo.core.algorithm import Algorithm
from scipy.optimize import minimize

from .problems.base import Evaluated, ForecastProblem
from .space import Integer, Real, SnapRepair, key_of

log = logging.getLogger(__name__)

ALGORITHMS = ("GA", "PSO", "DE", "ES", "NSGA2", "scipy")
PENALTY = 1e6
"""Per unit of constraint violation, for scipy (pymoo ranks feasibility first itself)."""


@dataclass(frozen=True)
class Budget:
    seconds: float = 30.0
    generations: int = 20
    pop_size: int = 12
    polish_share: float = 0.15
    """Share of the budget the final polish may spend: that share of the wall time is kept
    back from the search, and the polish simulates at most that share of
    `generations * pop_size` new candidates (0 turns it off)."""

    def search_seconds(self) -> float:
        """The wall time the search itself may use (the rest is the polish's)."""
        return self.seconds * (1.0 - self.polish_share)

    def polish_candidates(self) -> int:
        return math.ceil(self.polish_share * self.generations * self.pop_size)


POLISH_STEPS = (1, 2)
"""Coordinate moves of the polish: every integer decision by +-1, then by +-2."""


@dataclass(frozen=True)
class Step:
    """One point of the convergence history: the best feasible value so far."""

    generation: int
    evaluations: int
    elapsed_s: float
    best: float
    feasible: bool


@dataclass
class SolveResult:
    problem: str
    algorithm: str
    best: Evaluated
    baseline: Evaluated
    history: list[Step] = field(default_factory=list)
    front: list[Evaluated] = field(default_factory=list)
    elapsed_s: float = 0.0
    evaluations: int = 0
    stopped: str = "generations"
    searched: Evaluated | None = None
    """The best candidate of the search before the final polish."""


def _first_population(problem: ForecastProblem, size: int, seed: int) -> np.ndarray:
    """The current setpoints and `size - 1` uniform random points, on the decision grid."""
    rng = np.random.default_rng(seed)
    space = problem.space
    rand = space.xl + rng.random((max(size - 1, 0), space.n)) * (space.xu - space.xl)
    return space.snap(np.vstack([space.encode(space.current())[None, :], rand]))


def make_algorithm(name: str, problem: ForecastProblem, budget: Budget, seed: int) -> Algorithm:
    start = _first_population(problem, budget.pop_size, seed)
    repair = SnapRepair(problem.space)
    n = budget.pop_size
    if name == "GA":
        return GA(pop_size=n, sampling=start, repair=repair, eliminate_duplicates=True)
    if name == "PSO":
        return PSO(pop_size=n, sampling=start, repair=repair)
    if name == "DE":
        return DE(pop_size=n, sampling=start, repair=repair, variant="DE/rand/1/bin", CR=0.5)
    if name == "ES":
        return ES(n_offsprings=n, pop_size=max(n // 2, 1), rule=1.0 / 4.0, sampling=start, repair=repair)
    if name == "NSGA2":
        return NSGA2(pop_size=n, sampling=start, repair=repair, eliminate_duplicates=True)
    raise ValueError(f"unknown algorithm {name!r}: choose one of {', '.join(ALGORITHMS)}")


def solve(problem: ForecastProblem, algorithm: str = "GA", budget: Budget = Budget(), seed: int = 1,
          on_step: Callable[[Step], None] | None = None) -> SolveResult:
    """Search until the generations or the time budget run out (checked between generations)."""
    if algorithm == "scipy":
        return _solve_scipy(problem, budget, on_step)
    if algorithm != "NSGA2" and problem.n_obj > 1:
        raise ValueError(f"{algorithm} takes one objective; use NSGA2 for the front")
    algo = make_algorithm(algorithm, problem, budget, seed)
    algo.setup(problem, termination=("n_gen", budget.generations), seed=seed, verbose=False)
    baseline = problem.baseline()
    t0 = time.perf_counter()
    history: list[Step] = []
    stopped = "generations"
    while algo.has_next():
        if history and time.perf_counter() - t0 > budget.search_seconds():
            stopped = "time budget"
            break
        pop = algo.ask()
        if pop is None or len(pop) == 0:  # a small discrete space: every candidate already seen
            stopped = "no new candidates"
            break
        algo.evaluator.eval(problem, pop)
        algo.tell(infills=pop)
        _record(problem, history, t0, on_step)
    searched = problem.best()
    polish(problem, budget, t0, history, on_step)
    return _result(problem, algorithm, baseline, history, t0, stopped, searched)


def _rank(problem: ForecastProblem, row: Evaluated) -> tuple[float, float]:
    """Feasible first (by the scalar), then the least infeasible: how `problem.best()` ranks."""
    return (0.0, problem.scalar(row)) if row.feasible else (1.0 + row.cv, problem.scalar(row))


def polish(problem: ForecastProblem, budget: Budget, t0: float, history: list[Step],
           on_step: Callable[[Step], None] | None = None) -> Evaluated | None:
    """Hill-climb from the best candidate seen by coordinate moves on its integer decisions
    (+-1 on each, then +-2; after any gain back to +-1), each move snapped and repaired like
    every candidate and simulated on the problem's replications (common random numbers), so
    a move wins only against the same random numbers. It stops when no move wins, or after
    `budget.polish_candidates()` new candidates or the wall-time budget. A population
    search ends near the optimum of a discrete box but rarely on it (one coordinate off);
    the polish closes that gap. Moves that won go first (the last winner, then the others by
    how recently they won): on a ridge such as base stock S3 the same move wins several times
    in a row, and the walk does not pay for a pass over every other decision between them.
    Returns the best candidate after it (never worse than the start: every move joins the
    archive, and only a better one is taken)."""
    best = problem.best()
    ints = [i for i, v in enumerate(problem.space.variables) if isinstance(v, Integer)]
    left = budget.polish_candidates()
    if best is None or not ints or left <= 0:
        return best
    winners: list[Move] = []
    step = 0
    while step < len(POLISH_STEPS) and left > 0:
        at = np.array(best.x) if best.x else problem.space.encode(best.values)
        gained = False
        for move, x in _moves(problem, at, _ordered(ints, winners), POLISH_STEPS[step]):
            if left <= 0 or time.perf_counter() - t0 > budget.seconds:
                return best
            left -= 1
            row = problem.evaluate_points(x[None, :])[0]
            _record(problem, history, t0, on_step)
            if _rank(problem, row) < _rank(problem, best):
                best, gained = row, True
                winners = [move, *(w for w in winners if w != move)]
                break
        step = 0 if gained else step + 1
    return best


Move = tuple[int, int]
"""A coordinate move: the decision's index and its direction (+1 or -1)."""


def _ordered(ints: list[int], winners: list[Move]) -> list[Move]:
    """Every coordinate move, those that won first (most recent first), the rest in order."""
    rest = [(i, sign) for i in ints for sign in (1, -1) if (i, sign) not in winners]
    return [*winners, *rest]


def _moves(problem: ForecastProblem, x: np.ndarray, order: list[Move], step: int
           ) -> list[tuple[Move, np.ndarray]]:
    """The points one coordinate move of `step` away (snapped and repaired), new ones only."""
    out: list[tuple[Move, np.ndarray]] = []
    seen = {*problem.archive, key_of(x.tolist())}
    for i, sign in order:
        y = x.copy()
        y[i] += sign * step
        y = problem.space.snap(y)
        key = key_of(y.tolist())
        if key not in seen:
            seen.add(key)
            out.append(((i, sign), y))
    return out


def _record(problem: ForecastProblem, history: list[Step], t0: float, on_step: Callable[[Step], None] | None) -> None:
    best = problem.best()
    assert best is not None
    step = Step(len(history), problem.evaluator.simulations, time.perf_counter() - t0, problem.scalar(best),
                best.feasible)
    history.append(step)
    if on_step:
        on_step(step)


def _result(problem: ForecastProblem, algorithm: str, baseline: Evaluated, history: list[Step], t0: float,
            stopped: str, searched: Evaluated | None = None) -> SolveResult:
    best = problem.best()
    assert best is not None
    front = problem.front() if problem.n_obj > 1 else []
    if front:
        best = min(front, key=problem.scalar)
    return SolveResult(problem.name, algorithm, best, baseline, history, front, time.perf_counter() - t0,
                       len(problem.archive), stopped, searched)


class _OutOfTimeError(Exception):
    pass


def _solve_scipy(problem: ForecastProblem, budget: Budget, on_step: Callable[[Step], None] | None) -> SolveResult:
    """Bounded Powell over the continuous variables; the others stay at their current value."""
    space = problem.space
    cont = [i for i, v in enumerate(space.variables) if isinstance(v, Real)]
    if not cont:
        raise ValueError("scipy needs continuous decisions; this problem has none")
    if problem.n_obj > 1:
        raise ValueError("scipy takes one objective")
    x0 = space.encode(space.current())
    baseline = problem.baseline()
    t0 = time.perf_counter()
    history: list[Step] = []

    def fun(z: np.ndarray) -> float:
        if history and time.perf_counter() - t0 > budget.search_seconds():
            raise _OutOfTimeError
        x = x0.copy()
        x[cont] = z
        row = problem.evaluate_points(x[None, :])[0]
        _record(problem, history, t0, on_step)
        return problem.scalar(row) + PENALTY * (row.cv if row.invalid is None else 1e3)

    bounds = [(space.xl[i], space.xu[i]) for i in cont]
    stopped = "converged"
    try:
        minimize(fun, x0[cont], method="Powell", bounds=bounds,
                 options={"maxfev": budget.generations * budget.pop_size, "xtol": 1e-2, "ftol": 1e-4})
    except _OutOfTimeError:
        stopped = "time budget"
    searched = problem.best()
    polish(problem, budget, t0, history, on_step)
    return _result(problem, "scipy", baseline, history, t0, stopped, searched)
