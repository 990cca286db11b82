"""Seed 004: kanban and CONWIP card counts of BDOP, BSOP, HDOP or HSOP as integers,
maximising Zmax (SL and WIP as further objectives or constraints).

The decisions follow the plant's policy fields (docs/control_rules.md): under D-KAP one
kanban count per stage and product (`K1.A`) and one CONWIP count per product (`C.A`); under
S-KAP one shared kanban count per stage (`K1`) and one CONWIP count for the whole line (`C`,
the plant file's `C_shared`). Candidates the plant's checks refuse (the card rules, and with
`constraints = "seed"` seed 004's constraints) are infeasible and never run. The seed
constraints that are plain bounds (`K_i >= S_N`, `C >= S_N`, and the card rule `C >= sum S`)
also narrow the search box while the base stocks are fixed, so the solvers do not spend
their population on points the plant refuses; the relations between decisions (`K1 >= K2`
under HK-CONWIP, `K1 + K2 <= C` under D-KAP, `K_i <= C`) are left to the plant's checks.

The live service varies only what the running PLC lets change (K and C); the offline tool
may also vary the base stocks S."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from plc_sim.model.bounds import Bounds, int_range_of, kind_of
from plc_sim.model.spec import PlantSpec
from plc_sim.model.vocab import broadcasts_demand, shares_kanbans

from ..evaluator import Evaluator
from ..forecast import Horizon
from ..space import DecisionSpace, Integer, Values, Variable
from .base import Constraint, ForecastProblem, Objective, kpi
from .limits import step_of, within_step

CARD_KINDS = ("K", "C", "S")


@dataclass(frozen=True)
class CardOptions:
    """`bounds`: the search box (None: the plant file's `[bounds]`)."""

    bounds: Bounds | None = None
    kinds: tuple[str, ...] = CARD_KINDS
    """Which card kinds are decisions (`--only`); S only with `vary_base_stock`."""
    vary_base_stock: bool = False
    sl_min: float | None = None
    multi_objective: bool = False
    steps: Mapping[str, float] | None = None


def _int(key: str, low: int, high: int, current: int, step: float | None) -> Integer:
    """An integer decision in [low, high] (widened to hold the current value), narrowed by
    its rate-of-change limit around the current value."""
    low, high = min(low, current), max(high, current)
    lo, hi = within_step(low, high, current, step)
    return Integer(key, int(lo), int(hi), current)


def card_bounds(spec: PlantSpec, opts: CardOptions) -> tuple[int, int]:
    """Lowest kanban and CONWIP counts worth searching: 1, or with fixed base stocks the
    bounds the plant's checks imply (card rule: C >= the base stocks it holds; seed
    constraints: K_i >= S_N and C >= S_N)."""
    if opts.vary_base_stock:
        return 1, 1
    pol = spec.policy
    products = spec.product_names
    s_n = max(pol.S[p][-1] for p in products)
    held = [sum(pol.S[p]) for p in products]
    c_low = sum(held) if shares_kanbans(pol.model) else max(held)
    k_low = 1
    if pol.constraints == "seed":
        k_low, c_low = max(1, s_n), max(c_low, s_n)
    return k_low, max(1, c_low)


def card_space(spec: PlantSpec, opts: CardOptions) -> DecisionSpace:
    """One integer per card count the plant has; keys are the model library's override
    strings; each in its `[bounds]` range, raised to the floor the plant's checks imply."""
    pol = spec.policy
    products = spec.product_names
    n = len(spec.stations)
    box = opts.bounds or spec.bounds
    k_low, c_low = card_bounds(spec, opts)
    k_step, c_step = step_of(opts.steps, "K"), step_of(opts.steps, "C")

    def card(key: str, floor: int, current: int, step: float | None) -> Integer:
        lo, hi = int_range_of(box, key)
        return _int(key, max(lo, floor), max(hi, floor), current, step)

    out: list[Variable] = []
    shared = shares_kanbans(pol.model)
    for i in range(n - 1):
        if shared:
            out.append(card(f"K{i + 1}", k_low, pol.K_shared[i], k_step))
        else:
            out += [card(f"K{i + 1}.{p}", k_low, pol.K_dedicated[p][i], k_step) for p in products]
    if shared:
        out.append(card("C", c_low, pol.conwip_shared(), c_step))
    else:
        out += [card(f"C.{p}", c_low, pol.C[p], c_step) for p in products]
    if opts.vary_base_stock:
        out += [card(f"S{i + 1}.{p}", 0, pol.S[p][i], None) for i in range(n) for p in products]
    variables = tuple(v for v in out if kind_of(v.key) in opts.kinds)
    return DecisionSpace(variables, repair=card_repair(spec))


def card_repair(spec: PlantSpec) -> Callable[[Values], Values]:
    """Raise a candidate's card counts to the floors its base stocks set: the card rule
    (a stage's kanbans and the CONWIP count hold its base stocks) and, with
    `constraints = "seed"`, seed 004's K_i >= S_N, C >= K_i, C >= S_N, and under HK-CONWIP
    K1 >= K2 and (D-KAP) K1 + K2 <= C (`spec.seed_constraint_problems`). Raising, never
    cutting: the repaired point keeps every card the solver gave it. Counts that are not
    decisions stay as the plant has them; a floor above a decision's range is left for the
    plant's checks to refuse."""
    pol = spec.policy
    products, n = spec.product_names, len(spec.stations)
    shared, seed = shares_kanbans(pol.model), pol.constraints == "seed"
    hk = not broadcasts_demand(pol.model)
    groups = [("", products)] if shared else [(f".{p}", [p]) for p in products]

    def repair(values: Values) -> Values:
        out = dict(values)
        base = {p: [int(out.get(f"S{i + 1}.{p}", pol.S[p][i])) for i in range(n)] for p in products}
        for tag, ps in groups:
            k_keys = [f"K{i + 1}{tag}" for i in range(n - 1)]
            current = pol.K_shared if shared else pol.K_dedicated[ps[0]]
            ks = [max(int(out.get(k, current[i])), sum(base[p][i] for p in ps)) for i, k in enumerate(k_keys)]
            s_n = max(base[p][-1] for p in ps)
            if seed:
                ks = [max(k, s_n) for k in ks]
                for i in range(n - 3, -1, -1):
                    ks[i] = max(ks[i], ks[i + 1]) if hk else ks[i]
            c_key = f"C{tag}"
            c_now = pol.conwip_shared() if shared else pol.C[ps[0]]
            c_floor = sum(sum(base[p]) for p in ps)
            if seed:
                c_floor = max(c_floor, s_n, *ks, sum(ks) if hk and not shared else 0)
            out.update({k: v for k, v in zip(k_keys, ks, strict=True) if k in out})
            if c_key in out:
                out[c_key] = max(int(out.get(c_key, c_now)), c_floor)
        return out

    return repair


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
