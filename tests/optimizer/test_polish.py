"""The final polish of every solver: coordinate moves on the integer decisions of the best
candidate, on the same replications; it never returns worse than where it started, keeps
every move inside the box and on the feasible set of the card rules and seed constraints."""

from __future__ import annotations

import itertools
import time

import numpy as np

from optimizer_svc.evaluator import Evaluator
from optimizer_svc.forecast import PlantForecaster
from optimizer_svc.problems.production import CardOptions, card_problem
from optimizer_svc.solve import Budget, polish, solve
from optimizer_svc.space import Integer
from tests.optimizer.conftest import GEAR_HORIZON


def test_polish_from_the_plain_settings_never_ends_worse_and_keeps_bounds_and_seed_constraints():
    with Evaluator(PlantForecaster.from_file("gear_line", "HDOP", 1)) as ev:
        p = card_problem(ev, [0], GEAR_HORIZON, CardOptions(vary_base_stock=True))
        start = p.baseline()
        before = set(p.archive)
        budget = Budget(seconds=120, generations=4, pop_size=5, polish_share=0.5)
        history: list = []
        end = polish(p, budget, time.perf_counter(), history)
        assert end is not None
        assert p.scalar(end) <= p.scalar(start) and end.feasible
        moves = [row for key, row in p.archive.items() if key not in before]
        assert 0 < len(moves) <= budget.polish_candidates() == 10
        assert len(history) == len(moves)
        repair = p.space.repair
        assert repair is not None
        for row in moves:
            for v in p.space.variables:
                lo, hi = v.bounds()
                assert lo <= float(row.values[v.key]) <= hi
            assert repair(row.values) == row.values, "every move is a repaired point"
            assert row.invalid is None, row.invalid
            assert ev.validity(row.sets) is None, "the plant's checks (seed constraints) accept it"


def test_polish_takes_a_one_step_gain_the_search_left(gear_bsop):
    """From the plain BSOP settings more cards and stock sell more: the polish moves uphill."""
    p = card_problem(gear_bsop, [0], GEAR_HORIZON, CardOptions(vary_base_stock=True))
    start = p.baseline()
    end = polish(p, Budget(seconds=120, generations=4, pop_size=5, polish_share=1.0), time.perf_counter(), [])
    assert end is not None and end.feasible
    assert end.objectives[0] > start.objectives[0]
    moved = {k for k, v in end.values.items() if v != start.values[k]}
    assert moved


def test_a_zero_share_turns_the_polish_off(gear_bsop):
    p = card_problem(gear_bsop, [0], GEAR_HORIZON)
    res = solve(p, "GA", Budget(seconds=60, generations=2, pop_size=4, polish_share=0.0), seed=1)
    assert len(res.history) == 2


def test_after_a_gain_the_polish_tries_the_winning_move_again_first(gear_bsop):
    """On a ridge the same move wins again and again (here S1 and C from the plain BSOP
    settings): the walk repeats it first instead of passing over every other decision."""
    p = card_problem(gear_bsop, [0], GEAR_HORIZON, CardOptions(vary_base_stock=True))
    start = p.baseline()
    order: list[tuple[float, ...]] = []
    evaluate = p.evaluate_points

    def spy(x):  # records the order of the polish's candidates, then evaluates them for real
        order.extend(tuple(float(v) for v in row) for row in x)
        return evaluate(x)

    p.evaluate_points = spy
    polish(p, Budget(seconds=300, generations=4, pop_size=5, polish_share=1.0), time.perf_counter(), [])
    rows = [p.archive[x] for x in order]
    ints = [i for i, v in enumerate(p.space.variables) if isinstance(v, Integer)]

    def moved(x: tuple[float, ...], i: int, sign: int) -> tuple[float, ...]:
        y = np.array(x)
        y[i] += sign
        return tuple(p.space.snap(y).tolist())

    best_x, best, repeated = tuple(p.space.encode(start.values).tolist()), start, 0
    for row, after in itertools.pairwise(rows):
        if not (row.feasible and p.scalar(row) < p.scalar(best)):
            continue
        [(i, sign)] = [(i, d) for i in ints for d in (1, -1, 2, -2) if moved(best_x, i, d) == row.x][:1]
        best_x, best = row.x, row
        if moved(row.x, i, sign) not in (row.x, *order[:order.index(row.x)]):
            assert after.x == moved(row.x, i, sign), "the winning move comes first"
            repeated += 1
    assert repeated >= 2, "the walk had gains to repeat"
