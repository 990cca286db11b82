"""The design of the seed-004 experiment: which models, scenarios and methods, how many
solver seeds and replications, the horizons and the solvers' budgets. `full()` is the
design the docs report comes from (sized to a few hours on 2 cores); `quick()` a reduced one
that runs in the test suite in a few minutes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from plc_sim.model.spec import MODELS

SEED_METHODS = ("GA", "PSO", "DE", "ES")
"""Run as the seed ran them: pymoo minimising the analytic WIP objectives (no simulation),
then the three-stage choice among their best card combinations, each simulated."""
OUR_METHOD = "NSGA2"
"""Ours: NSGA-II on simulated Zmax, SL and WIP, then the same three-stage choice."""
PLAIN = "plain"
METHODS = (PLAIN, *SEED_METHODS, OUR_METHOD)
TABLE1 = (1, 2, 3, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21)
"""The scenario numbers of the seed's Table 1."""


@dataclass(frozen=True)
class Horizon:
    """Calendar hours measured after a warm-up; replication r uses stream r of `seed`."""

    hours: float
    warmup: float
    seed: int
    reps: int


@dataclass(frozen=True)
class Design:
    plant: str = "gear_line"
    models: tuple[str, ...] = tuple(MODELS)
    scenarios: tuple[int, ...] = (1,)
    methods: tuple[str, ...] = METHODS
    solver_seeds: tuple[int, ...] = tuple(range(1, 11))
    evaluation: Horizon = Horizon(9000.0, 1000.0, seed=1, reps=30)
    """Where chosen solutions are compared: the seed's 30 x 9000 h after 1000 h, the same
    replications for every method (common random numbers), none of them used by a search."""
    screening: Horizon = Horizon(2000.0, 500.0, seed=7001, reps=3)
    """Where a search's candidates are simulated for the choice (and NSGA-II searches)."""
    candidates: int = 30
    """The seed's table of 30 card combinations per solver run."""
    analytic_pop: int = 30
    analytic_generations: int = 30
    nsga_pop: int = 12
    nsga_generations: int = 10
    budget_s: float = 900.0
    """Wall-time cap of one solver run (checked between generations)."""
    quick: bool = False

    def __post_init__(self) -> None:
        bad = [m for m in self.methods if m not in METHODS]
        if bad:
            raise ValueError(f"unknown method {', '.join(bad)}: choose from {', '.join(METHODS)}")
        bad = [m for m in self.models if m not in MODELS]
        if bad:
            raise ValueError(f"unknown model {', '.join(bad)}: choose from {', '.join(MODELS)}")
        bad_sc = [s for s in self.scenarios if s not in TABLE1]
        if bad_sc:
            raise ValueError(f"unknown scenario {', '.join(map(str, bad_sc))}: Table 1 has {', '.join(map(str, TABLE1))}")
        if not self.solver_seeds or self.evaluation.reps < 2:
            raise ValueError("at least one solver seed and two replications")

    @property
    def solvers(self) -> tuple[str, ...]:
        return tuple(m for m in self.methods if m != PLAIN)

    def seeds(self) -> list[int]:
        """Every seed the design uses: the evaluation's and the screening's base seeds, then
        the solver seeds."""
        return [self.evaluation.seed, self.screening.seed, *self.solver_seeds]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def full() -> Design:
    return Design()


def quick() -> Design:
    """BSOP scenario 1 only, 3 solver seeds, small budgets, 5 replications of 1000 h."""
    return Design(models=("BSOP",), solver_seeds=(1, 2, 3), evaluation=Horizon(1000.0, 200.0, seed=1, reps=5),
                  screening=Horizon(500.0, 200.0, seed=7001, reps=2), candidates=8, analytic_pop=16,
                  analytic_generations=8, nsga_pop=6, nsga_generations=3, budget_s=60.0, quick=True)


def customised(base: Design, models: tuple[str, ...] | None = None, scenarios: tuple[int, ...] | None = None,
               methods: tuple[str, ...] | None = None, solver_seeds: int | None = None,
               reps: int | None = None) -> Design:
    """`base` with the command line's choices; PLAIN always joins the methods (every
    comparison is against it)."""
    out = base
    if models:
        out = replace(out, models=tuple(m.upper() for m in models))
    if scenarios:
        out = replace(out, scenarios=scenarios)
    if methods:
        chosen = tuple(m.upper() if m.lower() != PLAIN else PLAIN for m in methods)
        out = replace(out, methods=tuple(dict.fromkeys((PLAIN, *chosen))))
    if solver_seeds is not None:
        out = replace(out, solver_seeds=tuple(range(1, solver_seeds + 1)))
    if reps is not None:
        out = replace(out, evaluation=replace(out.evaluation, reps=reps))
    return out
