"""The command table: every bad command or argument is Rejected with a reason (never another
exception), changes nothing, and is audited; what a command applied is audited too."""

import math
from dataclasses import replace

import pytest

from plc_sim.model.line import MAX_CARDS, LineModel
from plc_sim.model.spec import load_plant
from plc_sim.plc.checks import ECHO_CHARS, MAX_TEXT_CHARS
from plc_sim.plc.commands import COMMANDS, Command
from plc_sim.plc.runtime import PlcRuntime
from plc_sim.plc.tags import Refusal, Rejected


@pytest.fixture()
def plc():
    return PlcRuntime(load_plant("auto_parts_cell"), seed=2, time_factor=None)


def _cards(plc: PlcRuntime) -> tuple:
    m = plc.model
    return tuple(m.conwip_cap), tuple(tuple(p.cap) for p in m.pools if p is not None)


def test_the_table_declares_every_command_with_role_and_arguments():
    assert set(COMMANDS) == set(Command)
    machine = {c for c, s in COMMANDS.items() if s.target == "machine"}
    assert machine == {Command.START, Command.STOP, Command.ACKNOWLEDGE, Command.RESET, Command.MAINTAIN}
    assert all(COMMANDS[c].role == "operator" and not COMMANDS[c].args for c in machine)
    kanbans, conwip = COMMANDS[Command.SET_KANBANS], COMMANDS[Command.SET_CONWIP]
    assert [(a.name, a.dtype) for a in kanbans.args] == [("stage", "Int32"), ("product", "String"), ("value", "Int32")]
    assert [(a.name, a.dtype) for a in conwip.args] == [("product", "String"), ("value", "Int32")]
    assert (conwip.args[1].lo, conwip.args[1].hi) == (1, MAX_CARDS)
    assert kanbans.role == conwip.role == "engineer"
    assert [s.method for s in COMMANDS.values()] == ["Start", "Stop", "AcknowledgeAlarm", "ResetFault",
                                                     "StartMaintenance", "SetKanbans", "SetConwip", "Recommend",
                                                     "Apply", "Dismiss", "BreakMachine", "FreezeTag", "DriftTag",
                                                     "NoiseTag", "StickTag", "SetQuality", "StopSupply", "DemandSurge",
                                                     "PowerCap", "ClearFault", "Pause", "Resume", "SetTimeFactor",
                                                     "StepTo", "Reset", "SaveSnapshot", "LoadSnapshot"]


BAD = [
    ("start", None, "operator", {}, Refusal.ARGUMENTS_MISSING),
    ("start", "CNC9", "operator", {}, Refusal.NOT_FOUND),
    ("start", 42, "operator", {}, Refusal.NOT_FOUND),
    ("start", "CNC1", "operator", {"now": True}, Refusal.TOO_MANY_ARGUMENTS),
    ("launch", "CNC1", "engineer", {}, Refusal.NOT_FOUND),
    ("set_conwip", None, "engineer", {}, Refusal.ARGUMENTS_MISSING),
    ("set_conwip", None, "engineer", {"product": "EB"}, Refusal.ARGUMENTS_MISSING),
    ("set_conwip", "CNC1", "engineer", {"product": "EB", "value": 5}, Refusal.TOO_MANY_ARGUMENTS),
    ("set_conwip", None, "engineer", {"product": "EB", "value": 5, "stage": 1}, Refusal.TOO_MANY_ARGUMENTS),
    ("set_conwip", None, "engineer", {"product": "ZZ", "value": 5}, Refusal.OUT_OF_RANGE),
    ("set_conwip", None, "engineer", {"product": 7, "value": 5}, Refusal.TYPE_MISMATCH),
    ("set_conwip", None, "engineer", {"product": "EB", "value": "5"}, Refusal.TYPE_MISMATCH),
    ("set_conwip", None, "engineer", {"product": "EB", "value": 5.0}, Refusal.TYPE_MISMATCH),
    ("set_conwip", None, "engineer", {"product": "EB", "value": True}, Refusal.TYPE_MISMATCH),
    ("set_conwip", None, "engineer", {"product": "EB", "value": math.nan}, Refusal.TYPE_MISMATCH),
    ("set_conwip", None, "engineer", {"product": "EB", "value": math.inf}, Refusal.TYPE_MISMATCH),
    ("set_conwip", None, "engineer", {"product": "EB", "value": 0}, Refusal.OUT_OF_RANGE),
    ("set_conwip", None, "engineer", {"product": "EB", "value": MAX_CARDS + 1}, Refusal.OUT_OF_RANGE),
    ("set_conwip", None, "engineer", {"product": "EB", "value": 30_000_000}, Refusal.OUT_OF_RANGE),
    ("set_conwip", None, "engineer", {"product": "EB", "value": 2**31 - 1}, Refusal.OUT_OF_RANGE),
    ("set_conwip", None, "engineer", {"product": "EB", "value": 10**400}, Refusal.OUT_OF_RANGE),
    ("set_conwip", None, "engineer", {"product": "E" * (MAX_TEXT_CHARS + 1), "value": 5}, Refusal.OUT_OF_RANGE),
    ("set_conwip", None, "operator", {"product": "EB", "value": 5}, Refusal.ACCESS_DENIED),
    ("set_kanbans", None, "engineer", {"stage": 0, "product": "EB", "value": 3}, Refusal.OUT_OF_RANGE),
    ("set_kanbans", None, "engineer", {"stage": -1, "product": "EB", "value": 3}, Refusal.OUT_OF_RANGE),
    ("set_kanbans", None, "engineer", {"stage": 4, "product": "EB", "value": 3}, Refusal.OUT_OF_RANGE),
    ("set_kanbans", None, "engineer", {"stage": 1, "product": "EB", "value": 2**31 - 1}, Refusal.OUT_OF_RANGE),
    ("set_kanbans", None, "engineer", {"stage": 1.5, "product": "EB", "value": 3}, Refusal.TYPE_MISMATCH),
]


@pytest.mark.parametrize("name,machine,role,args,why", BAD)
def test_a_bad_command_is_rejected_with_its_reason_and_changes_nothing(plc, name, machine, role, args, why):
    before = _cards(plc), [m.stopped for row in plc.model.machines for m in row]
    refused = []
    plc.on_event(lambda e: e.kind == "write_refused" and refused.append(e))
    with pytest.raises(Rejected) as e:
        plc.command(name, machine, role, user="ted", **args)
    assert e.value.refusal is why, str(e.value)
    assert (_cards(plc), [m.stopped for row in plc.model.machines for m in row]) == before
    last = plc.audit[-1]
    assert (last.user, last.result) == ("ted", why.value)
    assert len(last.action) <= ECHO_CHARS + 20 and len(refused[-1].message) <= 4 * ECHO_CHARS


def test_the_audit_records_what_a_command_applied(plc):
    assert plc.command(Command.SET_CONWIP, None, "engineer", user="eve", product="SA", value=12) == "CONWIP cards set"
    assert plc.model.conwip_cap[1] == 12
    assert plc.command("set_kanbans", None, "engineer", user="eve", stage=2, product="TH", value=6) == "kanbans set"
    assert plc.model.pools[1].cap[2] == 6
    assert [(r.user, r.action, r.result) for r in plc.audit] == [
        ("eve", "set_conwip(product=SA, value=12)", "CONWIP cards set"),
        ("eve", "set_kanbans(stage=2, product=TH, value=6)", "kanbans set")]


def test_a_handler_that_fails_is_audited_and_reported_as_failed(plc, monkeypatch):
    """A fault injected into the table: the command answers Rejected(FAILED), not a crash."""
    def broken(ctx, args):
        raise KeyError("wiring fault")
    monkeypatch.setitem(COMMANDS, Command.START, replace(COMMANDS[Command.START], handler=broken))
    failed = []
    plc.on_event(lambda e: e.kind == "apply_failed" and failed.append(e))
    with pytest.raises(Rejected) as e:
        plc.command("start", "CNC1", "operator", user="olga")
    assert e.value.refusal is Refusal.FAILED
    assert plc.audit[-1].result.startswith("failed: ") and "wiring fault" in plc.audit[-1].result
    assert failed and failed[0].source == "CNC1"


def test_card_changes_are_bounded_whatever_the_value():
    """30 million cards used to loop 30 million times on the event loop; now the count is
    refused before any work, leaving the counts as they were, and the largest allowed change
    (MAX_CARDS, the bound of the work a change can cost) is applied exactly."""
    m = LineModel(load_plant("gear_line"), seed=1)
    before = (m.conwip_cap[0], m.pools[0].cap[0], m.conwip_free[0])
    for value in (30_000_000, 0, -5):
        with pytest.raises(ValueError, match=r"CONWIP card count is 1\.\.999"):
            m.set_conwip(0, value)
        with pytest.raises(ValueError, match=r"kanban count is 1\.\.999"):
            m.set_kanbans(0, 0, value)
    with pytest.raises(ValueError, match="has no kanbans"):
        m.set_kanbans(-1, 0, 3)
    with pytest.raises(ValueError, match="no product"):
        m.set_conwip(5, 3)
    assert (m.conwip_cap[0], m.pools[0].cap[0], m.conwip_free[0]) == before, "a refused count changes nothing"
    m.set_conwip(0, MAX_CARDS)
    m.set_kanbans(0, 0, MAX_CARDS)
    assert (m.conwip_cap[0], m.pools[0].cap[0]) == (MAX_CARDS, MAX_CARDS)


def test_a_conwip_cut_then_raise_restores_the_free_cards_exactly():
    m = LineModel(load_plant("gear_line"), seed=1)
    m.run_working(5.0)
    cap, free = m.conwip_cap[0], m.conwip_free[0]
    m.set_conwip(0, 1)
    assert m.conwip_free[0] == free - (cap - 1)
    m.set_conwip(0, cap)
    assert (m.conwip_cap[0], m.conwip_free[0]) == (cap, free)
