"""Every bad value refused, and Good means something: a write that is accepted is one the
plant takes, shows at once, and is audited when it is applied (or when it fails to be)."""

import json
import math

import pytest

from plc_sim.model.spec import load_plant
from plc_sim.plc.checks import ECHO_CHARS, MAX_TEXT_CHARS, check_number
from plc_sim.plc.runtime import PlcRuntime
from plc_sim.plc.tags import Refusal, Rejected

CNC1 = "AutoPartsCell/Machining/CNC1"
DOUBLES = ("SpeedSetpoint", "StandbyTimeout", "MaintenanceInterval", "DispatchWeight")


@pytest.fixture()
def plc():
    return PlcRuntime(load_plant("auto_parts_cell"), seed=2, time_factor=None)


def _refused(plc: PlcRuntime, key: str, value, why: Refusal) -> Rejected:
    before = plc.table.get(key).value
    with pytest.raises(Rejected) as e:
        plc.write(key, value, "engineer", user="mallory")
    assert e.value.refusal is why, str(e.value)
    assert plc.table.get(key).value == before
    return e.value


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10**400])
@pytest.mark.parametrize("name", DOUBLES)
def test_non_finite_numbers_are_out_of_range_on_every_double_setpoint(plc, name, value):
    key = f"{CNC1}/{name}"
    before = plc.table.get(key).read()
    _refused(plc, key, value, Refusal.OUT_OF_RANGE)
    plc.scan(plc.calendar_h + 0.1)
    assert plc.table.get(key).read() == before, "nothing reached the plant"


@pytest.mark.parametrize("value", [0, 1000, 2**31 - 1, 2**31, -(2**31) - 1, 10**30])
def test_card_setpoints_keep_their_documented_range(plc, value):
    _refused(plc, "AutoPartsCell/Control/C_EB", value, Refusal.OUT_OF_RANGE)
    _refused(plc, "AutoPartsCell/Control/K1_EB", value, Refusal.OUT_OF_RANGE)


@pytest.mark.parametrize("text", [
    "[[NaN, 2]]", "[[10, Infinity]]", "[[-Infinity, 2]]", "[[1e999, 2]]", "[[10, 2]]" + " " * MAX_TEXT_CHARS,
    "[" * 5000 + "]" * 5000, "[[10, 2], [11, 2]]", "not json"])
def test_a_maintenance_plan_must_be_finite_json_that_the_model_accepts(plc, text):
    key = f"{CNC1}/MaintenancePlan"
    _refused(plc, key, text, Refusal.OUT_OF_RANGE)
    json.loads(plc.table.get(key).value, parse_constant=pytest.fail)


def test_huge_text_is_refused_and_clipped_in_audit_and_events(plc):
    events = []
    plc.on_event(lambda e: e.kind == "write_refused" and events.append(e))
    huge = "x" * 1_000_000
    e = _refused(plc, f"{CNC1}/MaintenancePolicy", huge, Refusal.OUT_OF_RANGE)
    assert f"at most {MAX_TEXT_CHARS} characters" in str(e)
    record = plc.audit[-1]
    assert len(record.value) < ECHO_CHARS + 30 and record.value.endswith("(1000000 chars)")
    assert len(events[-1].message) < 4 * ECHO_CHARS
    _refused(plc, "AutoPartsCell/Machining/ShiftPlan", huge, Refusal.OUT_OF_RANGE)


def test_one_range_check_for_everyone():
    assert check_number(5, 1, 999, "x") == 5
    for bad in (math.nan, math.inf, -math.inf, 0, 1000, 10**400):
        with pytest.raises(Rejected) as e:
            check_number(bad, 1, 999, "x")
        assert e.value.refusal is Refusal.OUT_OF_RANGE
    with pytest.raises(Rejected) as e:
        check_number(math.nan, None, None, "unbounded")
    assert e.value.refusal is Refusal.OUT_OF_RANGE and "unbounded=nan is outside [-inf, inf]" in str(e.value)


def test_a_written_setpoint_shows_at_once_and_applies_at_the_next_scan(plc):
    key = f"{CNC1}/SpeedSetpoint"
    tag, cnc = plc.table.get(key), plc.model.machine("CNC1")
    shown = []
    plc.on_scan(lambda changed: shown.extend((t.key, t.value) for t in changed if t is tag))
    assert plc.write(key, 110, "engineer", user="eve") == 110.0
    assert tag.value == 110.0 and cnc.speed_pct == 100.0, "commanded at once, applied at the scan"
    plc.scan(plc.calendar_h + 0.1)
    assert cnc.speed_pct == 110.0 and tag.value == 110.0, "the scan's refresh keeps the commanded value"
    assert shown == [(key, 110.0)], "the scan still publishes the change once"
    assert [(r.user, r.result) for r in plc.audit] == [("eve", "accepted"), ("eve", "applied")]


def test_a_plan_shows_as_the_model_will_read_it(plc):
    key = f"{CNC1}/MaintenancePlan"
    assert plc.write(key, "[[40, 2], [200, 3.5]]", "engineer") == "[[40.0, 2.0], [200.0, 3.5]]"
    plc.scan(plc.calendar_h + 0.1)
    assert plc.table.get(key).read() == plc.table.get(key).value == "[[40.0, 2.0], [200.0, 3.5]]"


def test_an_apply_that_fails_after_the_write_is_audited_and_reported(plc):
    """The speed write is valid when written; the machine breaks down before the scan."""
    key = f"{CNC1}/SpeedSetpoint"
    cnc = plc.model.machine("CNC1")
    failed = []
    plc.on_event(lambda e: e.kind == "apply_failed" and failed.append(e))
    plc.write(key, 90.0, "engineer", user="eve")
    while not cnc.failed:
        plc.model.env.step()
    plc.scan(plc.calendar_h)
    assert cnc.speed_pct == 100.0 and plc.table.get(key).value == 100.0, "the tag shows the plant's value again"
    assert plc.audit[-1].result.startswith("failed: ") and "down" in plc.audit[-1].result
    assert failed and failed[0].source == "CNC1" and "failed at apply" in failed[0].message


def test_writes_pending_for_the_same_scan_are_checked_together(plc):
    """Each weight 0 is fine alone; the third would leave the station no machine to run."""
    keys = [f"AutoPartsCell/Machining/CNC{i}/DispatchWeight" for i in (1, 2, 3)]
    plc.write(keys[0], 0.0, "engineer")
    plc.write(keys[1], 0.0, "engineer")
    e = _refused(plc, keys[2], 0.0, Refusal.INVALID_STATE)
    assert "would be 0" in str(e)
    plc.scan(plc.calendar_h + 0.1)
    assert [plc.model.machine(f"CNC{i}").weight for i in (1, 2, 3)] == [0.0, 0.0, 1.0]
    assert [r.result for r in plc.audit][-2:] == ["applied", "applied"]


def _candidates(tag) -> list:
    if tag.choices:
        return list(tag.choices)
    if tag.dtype == "String":
        return ["[[40, 2]]", "[]", "[[5, 1], [3, 1]]"]
    lo, hi = tag.lo, tag.hi
    values = [lo, hi, (lo + hi) / 2, lo - 1, hi + 1]
    return [int(v) for v in values] if tag.dtype == "Int32" else values


def test_every_accepted_write_is_applied(plc):
    """Good means the plant takes it: for each setpoint and a spread of values, a write that
    is accepted is applied at the next scan (every check of the apply runs at the write)."""
    accepted = 0
    for tag in [t for t in plc.table if t.writable]:
        for value in _candidates(tag):
            try:
                plc.write(tag.key, value, "engineer")
            except Rejected:
                continue
            accepted += 1
            plc.scan(plc.calendar_h + 0.01)
            assert plc.audit[-1].result == "applied", (tag.key, value, plc.audit[-1].result)
    assert accepted > 100
