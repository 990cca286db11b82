"""Verification: accepted only when every constraint holds, the change is within the rate
limits, and the paired t-test on fresh common random numbers says the candidate is better."""

from __future__ import annotations

from optimizer_svc.problems.setpoints import SetpointOptions, setpoint_problem
from optimizer_svc.verify import VerifyOptions, paired_test, verify
from tests.optimizer.conftest import CELL_HORIZON

CNCS = ("CNC1", "CNC2", "CNC3")
IDLERS = ("RB1", "RB2", "QI1", "AGV1", "AGV2")
"""Machines that are not the bottleneck: the CNCs are busy over 90 % of their shift hours."""


def _problem(cell, kinds, machines=CNCS):
    return setpoint_problem(cell, range(2), CELL_HORIZON, SetpointOptions(kinds=kinds, machines=machines))


def test_standby_outside_the_shifts_off_the_bottleneck_is_verified_better_on_paired_replications(cell):
    """The cell leaves its machines powered outside the shifts; parking the ones that are not
    the bottleneck saves their idle energy without costing output."""
    p = _problem(cell, ("off_shift",), IDLERS)
    row = p.evaluate_values(dict.fromkeys(p.space.current(), "standby"))
    verdict = verify(p, row, VerifyOptions(reps=6))
    assert verdict.accepted, verdict.reasons
    assert verdict.p_value < 0.05 and verdict.improvement is not None and verdict.improvement.low > 0
    assert verdict.seeds == tuple(range(1000, 1006))
    assert verdict.candidate["Z"].mean < verdict.current["Z"].mean
    assert verdict.candidate["energy_kwh"].mean < verdict.current["energy_kwh"].mean
    assert verdict.candidate["T"].mean >= 1.5 * (1 - 0.02)


def test_slower_cncs_save_energy_but_lose_orders_and_at_their_minimum_break_the_throughput_floor(cell):
    """85 % is where a CNC's cutting energy per part is lowest (base load against cutting
    power), but the cell sells what it makes: slowing all three CNCs there uses less energy
    and loses orders worth more (no improvement); at 70 % it breaks the contracted volume."""
    p = _problem(cell, ("speed",))
    row = p.evaluate_values(dict.fromkeys(p.space.current(), 85.0))
    assert row.feasible
    verdict = verify(p, row, VerifyOptions(reps=4))
    assert not verdict.accepted
    assert verdict.candidate["energy_kwh"].mean < verdict.current["energy_kwh"].mean
    assert verdict.candidate["Z"].mean > verdict.current["Z"].mean
    slowest = p.evaluate_values(dict.fromkeys(p.space.current(), 70.0))
    assert not slowest.feasible
    verdict = verify(p, slowest, VerifyOptions(reps=4))
    assert not verdict.accepted
    assert any("constraint T >= 1.47 broken" in r for r in verdict.reasons), verdict.reasons


def test_a_candidate_that_breaks_the_throughput_floor_is_refused(cell):
    p = _problem(cell, ("shift",))
    row = p.evaluate_values(p.space.current() | {"shift.Machining": "one"})
    verdict = verify(p, row, VerifyOptions(reps=4))
    assert not verdict.accepted
    assert any("constraint T >= 1" in r for r in verdict.reasons)


def test_a_change_beyond_the_rate_limit_is_refused(cell):
    p = _problem(cell, ("speed",))
    row = p.evaluate_values({k: 95.0 for k in p.space.current()})
    verdict = verify(p, row, VerifyOptions(reps=4, steps={"speed": 4.0}))
    assert not verdict.accepted
    assert any("changes by more than 4" in r for r in verdict.reasons)


def test_the_current_setpoints_are_not_an_improvement(cell):
    p = _problem(cell, ("speed",))
    verdict = verify(p, p.evaluate_values(p.space.current()), VerifyOptions(reps=3))
    assert not verdict.accepted
    assert "the candidate is the current setpoints" in verdict.reasons


def test_a_margin_larger_than_the_gain_is_not_significant(cell):
    p = _problem(cell, ("speed",))
    row = p.evaluate_values({k: 95.0 for k in p.space.current()})
    verdict = verify(p, row, VerifyOptions(reps=4, margin=1e6))
    assert not verdict.accepted
    assert any("no significant improvement" in r for r in verdict.reasons)


def test_paired_test_on_constant_differences():
    assert paired_test([3.0, 3.0], [1.0, 1.0], 0.0)[1] == 0.0
    assert paired_test([1.0, 1.0], [1.0, 1.0], 0.0)[1] == 1.0
    summary, p = paired_test([10.0, 11.0, 12.0, 13.0], [9.0, 9.5, 10.5, 11.0], 0.0)
    assert 0 < p < 0.05 and summary.mean > 0
