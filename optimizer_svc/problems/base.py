"""A pymoo Problem whose evaluation is a forecast: each candidate is simulated on the same
replication seeds (common random numbers); objectives and constraints are means over those
replications. A candidate the plant's own checks refuse is infeasible and never simulated."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from pymoo.core.problem import Problem

from ..evaluator import Evaluator, Invalid
from ..forecast import Horizon, KPIs
from ..space import DecisionSpace, Values, key_of

Metric = Callable[[KPIs], float]
PENALTY_F = 1e15
"""Objective value of a candidate the plant refuses (its constraint violation says why)."""


def kpi(name: str) -> Metric:
    return lambda k: float(k[name])


@dataclass(frozen=True)
class Objective:
    name: str
    metric: Metric
    maximise: bool = False

    def sign(self) -> float:
        return -1.0 if self.maximise else 1.0


@dataclass(frozen=True)
class Constraint:
    """`metric <= upper` or `metric >= lower` on the replication mean. With `hold_share`, a
    lower bound the current setpoints themselves miss on the same replications becomes their
    own value less that share: where the plant cannot reach the floor over the horizon (its
    state or its demand caps it), a candidate may still not do worse than now."""

    name: str
    metric: Metric
    upper: float | None = None
    lower: float | None = None
    hold_share: float | None = None

    def against(self, current: float | None) -> Constraint:
        """This constraint as it binds when the current setpoints reach `current`."""
        if self.hold_share is None or self.lower is None or current is None:
            return self
        return replace(self, lower=min(self.lower, current * (1.0 - self.hold_share)))

    def violation(self, value: float) -> float:
        """> 0 when broken, scaled by the bound so constraints weigh alike."""
        if self.upper is not None:
            return (value - self.upper) / max(abs(self.upper), 1e-9)
        assert self.lower is not None
        return (self.lower - value) / max(abs(self.lower), 1e-9)

    def describe(self) -> str:
        return f"{self.name} <= {self.upper:g}" if self.upper is not None else f"{self.name} >= {self.lower:g}"


@dataclass(frozen=True)
class Evaluated:
    """One simulated (or refused) candidate."""

    x: tuple[float, ...]
    values: Values
    sets: tuple[str, ...]
    objectives: tuple[float, ...]
    violations: tuple[float, ...]
    invalid: str | None = None

    @property
    def feasible(self) -> bool:
        return self.invalid is None and all(v <= 0 for v in self.violations)

    @property
    def cv(self) -> float:
        return math.inf if self.invalid else sum(max(v, 0.0) for v in self.violations)


class ForecastProblem(Problem):  # type: ignore[misc]
    """Minimises the objectives (a maximised one is negated) under the constraints; G[0] is
    the plant's own validity (0 valid, 1 refused)."""

    def __init__(self, name: str, space: DecisionSpace, evaluator: Evaluator, seeds: Sequence[int],
                 horizon: Horizon, objectives: Sequence[Objective], constraints: Sequence[Constraint] = (),
                 pick_weights: Sequence[float] | None = None, report: Sequence[str] = ()) -> None:
        super().__init__(n_var=space.n, n_obj=len(objectives), n_ieq_constr=1 + len(constraints),
                         xl=space.xl, xu=space.xu)
        self.name = name
        self.space = space
        self.evaluator = evaluator
        self.seeds = tuple(seeds)
        self.horizon = horizon
        self.objectives = tuple(objectives)
        self.constraints = tuple(constraints)
        self.pick_weights = tuple(pick_weights) if pick_weights else (1.0,) + (0.0,) * (len(objectives) - 1)
        self.report = tuple(report)
        self.archive: dict[tuple[float, ...], Evaluated] = {}
        self.binding = self.constraints
        """The constraints as they bind, once `baseline()` has measured the current setpoints."""

    def _evaluate(self, X: np.ndarray, out: dict[str, np.ndarray], *args: object, **kwargs: object) -> None:
        rows = self.evaluate_points(np.atleast_2d(X))
        out["F"] = np.array([[o * s.sign() for o, s in zip(r.objectives, self.objectives, strict=True)] for r in rows])
        out["G"] = np.array([[1.0 if r.invalid else 0.0, *r.violations] for r in rows])

    def evaluate_points(self, X: np.ndarray) -> list[Evaluated]:
        snapped = self.space.snap(X)
        values = [self.space.values(x) for x in snapped]
        sets = [self.space.to_sets(v) for v in values]
        outcomes = self.evaluator.evaluate(sets, self.seeds, self.horizon)
        rows = []
        for x, v, s, res in zip(snapped, values, sets, outcomes, strict=True):
            row = self.judge(key_of(x), v, s, res)
            self.archive.setdefault(row.x, row)
            rows.append(row)
        return rows

    def judge(self, x: tuple[float, ...], values: Values, sets: tuple[str, ...],
              outcome: list[KPIs] | Invalid) -> Evaluated:
        if isinstance(outcome, Invalid):
            return Evaluated(x, values, sets, tuple(PENALTY_F * o.sign() for o in self.objectives),
                             tuple(1.0 for _ in self.constraints), outcome.reason)
        objs = tuple(float(np.mean([o.metric(k) for k in outcome])) for o in self.objectives)
        viol = tuple(c.violation(float(np.mean([c.metric(k) for k in outcome]))) for c in self.binding)
        return Evaluated(x, values, sets, objs, viol)

    def bind(self, current: list[KPIs]) -> tuple[Constraint, ...]:
        """The constraints against the current setpoints' replications (`Constraint.against`)."""
        return tuple(c.against(float(np.mean([c.metric(k) for k in current])) if current else None)
                     for c in self.constraints)

    def evaluate_values(self, values: Values) -> Evaluated:
        return self.evaluate_points(self.space.encode(values)[None, :])[0]

    def baseline(self) -> Evaluated:
        """The plant as it stands (no overrides: the current setpoints), on the same seeds; it
        joins the archive, so a search that finds nothing better recommends no change."""
        outcome = self.evaluator.evaluate([()], self.seeds, self.horizon)[0]
        if not isinstance(outcome, Invalid):
            self.binding = self.bind(outcome)
        row = self.judge((), self.space.current(), (), outcome)
        self.archive.setdefault((), row)
        return row

    def scalar(self, row: Evaluated) -> float:
        """What ranks candidates for a recommendation, in minimisation form: the objective of a
        single-objective problem, the weighted sum of a multi-objective one's (`pick_weights`,
        e.g. seed 000's w1, w2, w3 for the front of C, E, D)."""
        parts = zip(self.pick_weights, row.objectives, self.objectives, strict=True)
        return sum(w * o * obj.sign() for w, o, obj in parts)

    def front(self) -> list[Evaluated]:
        """The feasible candidates no other feasible candidate dominates."""
        rows = [r for r in self.archive.values() if r.feasible]
        mins = [tuple(o * obj.sign() for o, obj in zip(r.objectives, self.objectives, strict=True)) for r in rows]

        def dominated(i: int) -> bool:
            mi = mins[i]
            return any(all(a <= b for a, b in zip(mj, mi, strict=True)) and mj != mi for mj in mins)

        return [r for i, r in enumerate(rows) if not dominated(i)]

    def best(self) -> Evaluated | None:
        """The best feasible candidate seen (first objective), else the least infeasible."""
        rows = list(self.archive.values())
        if not rows:
            return None
        feasible = [r for r in rows if r.feasible]
        if feasible:
            return min(feasible, key=self.scalar)
        return min(rows, key=lambda r: (r.cv, self.scalar(r)))
