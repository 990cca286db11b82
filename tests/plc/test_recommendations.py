"""Recommendations: an engineer proposes setpoint changes, an operator applies or dismisses
them. Every change is checked when proposed and again when applied; an application writes
all of them or none; the book is bounded and what it sheds is counted."""

import json

import pytest

from plc_sim.model.spec import load_plant
from plc_sim.plc.recommendations import CAPACITY, MAX_CHANGES
from plc_sim.plc.runtime import PlcRuntime
from plc_sim.plc.tags import Refusal, Rejected

CELL = "AutoPartsCell/Machining"


@pytest.fixture()
def plc():
    return PlcRuntime(load_plant("auto_parts_cell"), seed=2, time_factor=None)


def _recommend(plc: PlcRuntime, changes: dict, user: str = "eve", role: str = "engineer") -> int:
    out = plc.command("recommend", None, role, user, changes=json.dumps(changes), summary="test")
    return int(out.split()[1].rstrip(":"))


def _refusal(fn, *args, **kw) -> Refusal:
    with pytest.raises(Rejected) as e:
        fn(*args, **kw)
    return e.value.refusal


def _tag(plc: PlcRuntime, name: str):
    return plc.table.get(f"AutoPartsCell/Recommendations/{name}").read()


def test_an_operator_applies_what_an_engineer_recommended(plc):
    cnc1 = plc.model.machine("CNC1")
    rid = _recommend(plc, {f"{CELL}/CNC1/StandbyTimeout": 0.25, f"{CELL}/CNC1/SpeedSetpoint": 95})
    assert cnc1.standby_timeout_h == 0.0, "a recommendation changes nothing by itself"
    assert [r["id"] for r in json.loads(_tag(plc, "Open"))] == [rid] and _tag(plc, "OpenCount") == 1
    assert _refusal(plc.command, "apply_recommendation", None, "viewer", "vic", id=rid) == Refusal.ACCESS_DENIED
    plc.command("apply_recommendation", None, "operator", "olga", id=rid)
    plc.scan(plc.calendar_h + 0.1)
    assert cnc1.standby_timeout_h == 0.25 and cnc1.speed_pct == 95.0
    assert json.loads(_tag(plc, "Last"))["state"] == "applied" and _tag(plc, "OpenCount") == 0
    writes = [a for a in plc.audit if a.action.startswith("write ")]
    assert {a.user for a in writes} == {f"olga (recommendation {rid} of eve)"}
    assert {a.result for a in writes} >= {"applied"}
    assert _refusal(plc.command, "apply_recommendation", None, "operator", "olga", id=rid) == Refusal.INVALID_STATE


def test_an_application_writes_every_change_or_none(plc):
    first = _recommend(plc, {f"{CELL}/CNC1/DispatchWeight": 0.0, f"{CELL}/CNC3/DispatchWeight": 0.0})
    second = _recommend(plc, {f"{CELL}/CNC2/StandbyTimeout": 0.3, f"{CELL}/CNC2/DispatchWeight": 0.0})
    plc.command("apply_recommendation", None, "operator", "olga", id=first)
    # both proposals were fine alone; together they leave the station no machine
    assert _refusal(plc.command, "apply_recommendation", None, "operator", "olga", id=second) == Refusal.INVALID_STATE
    plc.scan(plc.calendar_h + 0.1)
    assert plc.model.machine("CNC2").standby_timeout_h == 0.0, "nothing of the refused recommendation was written"
    assert [r["id"] for r in json.loads(_tag(plc, "Open"))] == [second], "it stays open for a later decision"
    plc.command("dismiss_recommendation", None, "operator", "olga", id=second)
    assert _tag(plc, "OpenCount") == 0


@pytest.mark.parametrize(("changes", "refusal"), [
    ("not json", Refusal.OUT_OF_RANGE),
    ("[1, 2]", Refusal.TYPE_MISMATCH),
    ("{}", Refusal.TYPE_MISMATCH),
    (json.dumps({f"{CELL}/CNC1/StandbyTimeout": [1]}), Refusal.TYPE_MISMATCH),
    (json.dumps({f"{CELL}/CNC1/StandbyTimeout": "1"}), Refusal.TYPE_MISMATCH),
    (json.dumps({f"{CELL}/CNC1/StandbyTimeout": float("nan")}), Refusal.OUT_OF_RANGE),
    (json.dumps({f"{CELL}/CNC1/StandbyTimeout": float("inf")}), Refusal.OUT_OF_RANGE),
    (json.dumps({f"{CELL}/CNC1/StandbyTimeout": 1e300}), Refusal.OUT_OF_RANGE),
    (json.dumps({f"{CELL}/CNC1/PowerKW": 1.0}), Refusal.NOT_WRITABLE),
    (json.dumps({"no/such/tag": 1.0}), Refusal.NOT_FOUND),
    (json.dumps({f"{CELL}/CNC{i}/StandbyTimeout": 0.1 for i in range(MAX_CHANGES + 1)}), Refusal.OUT_OF_RANGE),
])
def test_a_bad_recommendation_is_refused_and_changes_nothing(plc, changes, refusal):
    before = len(plc.recommendations.items)
    got = _refusal(plc.command, "recommend", None, "engineer", "eve", changes=changes, summary="")
    assert got == refusal
    assert len(plc.recommendations.items) == before and _tag(plc, "LastId") == 0
    assert plc.audit[-1].result == refusal.value


def test_only_an_engineer_recommends_and_only_what_an_engineer_may_write(plc):
    changes = json.dumps({f"{CELL}/CNC1/StandbyTimeout": 0.2})
    for role in ("operator", "viewer", None):
        assert _refusal(plc.command, "recommend", None, role, "x", changes=changes, summary="") == Refusal.ACCESS_DENIED
    assert _refusal(plc.command, "apply_recommendation", None, "operator", "olga", id=99) == Refusal.NOT_FOUND


def test_the_book_keeps_a_bounded_number_and_counts_what_it_sheds(plc):
    ids = [_recommend(plc, {f"{CELL}/CNC1/StandbyTimeout": 0.01 * i}) for i in range(CAPACITY + 3)]
    assert len(plc.recommendations.items) == CAPACITY and _tag(plc, "Shed") == 3
    assert _tag(plc, "LastId") == ids[-1] and _tag(plc, "OpenCount") == CAPACITY
    with pytest.raises(Rejected, match="shed") as err:
        plc.command("apply_recommendation", None, "operator", "olga", id=ids[0])
    assert err.value.refusal == Refusal.NOT_FOUND
