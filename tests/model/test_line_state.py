"""The line's state is listed once, in `LineState`: a snapshot is its fields (plus the
machines, streams and clock), and a model rebuilt from one is the same model again."""

import json

from plc_sim.model.line import LineModel
from plc_sim.model.spec import MODELS
from plc_sim.model.state import STATE_FIELDS
from plc_sim.model.variants import build_variant

META = {"version", "plant", "model", "now", "timer_order", "machines", "streams"}


def test_snapshot_is_the_state_fields(gear_line):
    m = LineModel(build_variant(gear_line, model="HDOP", scenario=1), 3)
    m.run_working(120.0)
    assert set(m.snapshot()) == set(STATE_FIELDS) | META


def test_every_state_field_survives_a_round_trip(gear_line):
    for model in MODELS:
        m = LineModel(build_variant(gear_line, model=model, scenario=21), 7)
        m.run_working(250.0)
        snap = json.loads(json.dumps(m.snapshot()))
        back = _state(LineModel.from_snapshot(m.spec, snap).snapshot())
        assert back == _state(snap), model
        assert json.loads(json.dumps(back)) == _state(snap), model


def test_a_restored_model_holds_no_reference_into_the_snapshot(gear_line):
    m = LineModel(build_variant(gear_line, model="BSOP", scenario=1), 2)
    m.run_working(80.0)
    snap = m.snapshot()
    back = LineModel.from_snapshot(m.spec, snap)
    back.run_working(300.0)
    assert _state(LineModel.from_snapshot(m.spec, snap).snapshot()) == _state(snap)


def _state(snap):
    """The line's own part of a snapshot (timers and machine processes start on the first step)."""
    return {k: snap[k] for k in (*STATE_FIELDS, "streams", "now")}


def test_the_model_holds_its_state_and_does_not_inherit_it(gear_line):
    """Composition: `LineModel.state` is a `LineState`, `Machine.rec` a `MachineRecord`; the
    card flow and every machine's meter hold that same state object, also after a restore;
    readers see its fields as read-only properties."""
    import dataclasses

    import pytest

    from plc_sim.model.machine import Machine, MachineRecord
    from plc_sim.model.state import LineState

    assert not issubclass(LineModel, LineState) and not issubclass(Machine, MachineRecord)
    m = LineModel(build_variant(gear_line, model="BSOP", scenario=1), 2)
    m.run_working(200.0)
    back = LineModel.from_snapshot(m.spec, json.loads(json.dumps(m.snapshot())))
    for line in (m, back):
        assert isinstance(line.state, LineState)
        assert line.flow.st is line.state
        assert all(mach.meter is line.state and isinstance(mach.rec, MachineRecord)
                   for row in line.machines for mach in row)
    assert back.buf == m.buf and back.count == m.count
    with pytest.raises(AttributeError):
        m.buf = []  # type: ignore[misc]
    mach = m.machines[0][0]
    assert {f.name for f in dataclasses.fields(MachineRecord)} <= set(mach.state_dict())
    with pytest.raises(AttributeError):
        mach.done = 0  # type: ignore[misc]
