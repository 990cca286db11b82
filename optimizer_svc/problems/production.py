"""Seed 004: kanban and CONWIP card counts of BDOP, BSOP, HDOP or HSOP as integers,
maximising Zmax (SL and WIP as further objectives or constraints). Candidates the plant's
card rules refuse (S_i <= K_i, sum S <= C, at least one card) are infeasible, never run.

The live service varies only what the running PLC lets change (K and C); the offline tool
may also vary the base stocks S."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from plc_sim.model.spec import PlantSpec
from plc_sim.model.variants import VariantError, build_variant
from plc_sim.model.vocab import shares_kanbans

from ..evaluator import Evaluator
from ..forecast import Horizon
from ..space import DecisionSpace, Integer, Variable
from .base import Constraint, ForecastProblem, Objective, kpi
from .limits import step_of, within_step


@dataclass(frozen=True)
class CardOptions:
    k_max: int = 12
    c_max: int = 30
    s_max: int = 6
    vary_base_stock: bool = False
    sl_min: float | None = None
    multi_objective: bool = False
    steps: Mapping[str, float] | None = None


def _accepts(spec: PlantSpec, item: str) -> bool:
    try:
        build_variant(spec, sets=[item])
    except VariantError:
        return False
    return True


def _int(key: str, low: int, high: int, current: int, step: float | None) -> Integer:
    lo, hi = within_step(low, high, current, step)
    return Integer(key, int(lo), int(hi), current)


def card_space(spec: PlantSpec, opts: CardOptions) -> DecisionSpace:
    """One integer per card count the plant has; keys are override strings, probed against
    the model library so a policy-field change there (e.g. one shared CONWIP count under
    S-KAP) is absorbed."""
    pol = spec.policy
    products = spec.product_names
    n = len(spec.stations)
    out: list[Variable] = []
    for i in range(n - 1):
        if shares_kanbans(pol.model):
            out.append(_int(f"K{i + 1}", 1, opts.k_max, pol.K_shared[i], step_of(opts.steps, "K")))
        else:
            out += [_int(f"K{i + 1}.{p}", 1, opts.k_max, pol.K_dedicated[p][i], step_of(opts.steps, "K"))
                    for p in products]
    per_product = all(_accepts(spec, f"C.{p}={pol.C[p]}") for p in products)
    if per_product:
        out += [_int(f"C.{p}", 1, opts.c_max, pol.C[p], step_of(opts.steps, "C")) for p in products]
    else:
        out.append(_int("C", 1, opts.c_max, pol.C[products[0]], step_of(opts.steps, "C")))
    if opts.vary_base_stock:
        out += [Integer(f"S{i + 1}.{p}", 0, opts.s_max, pol.S[p][i]) for i in range(n) for p in products]
    return DecisionSpace(tuple(out))


def card_problem(evaluator: Evaluator, seeds: Sequence[int], horizon: Horizon,
                 opts: CardOptions = CardOptions()) -> ForecastProblem:
    spec = evaluator.forecaster.plant
    objectives = [Objective("Zmax", kpi("Zmax"), maximise=True)]
    constraints: list[Constraint] = []
    if opts.multi_objective:
        objectives += [Objective("SL", kpi("SL"), maximise=True), Objective("WIP", kpi("WIP"))]
    if opts.sl_min is not None:
        constraints.append(Constraint("SL", kpi("SL"), lower=opts.sl_min))
    return ForecastProblem("cards", card_space(spec, opts), evaluator, seeds, horizon, objectives, constraints,
                           report=("SL", "WIP", "FG", "LD", "I3"))
