"""Faults on demand in the PLC: every kind shows as documented (value, quality, machine state,
line levers), ends by itself at its plant hour or by ClearFault, is an event and in the audit;
bad orders are refused and change nothing; a fault script is checked like the plant file and
a run with the same seed and script is the same event for event; a snapshot restored runs on
identically."""

from pathlib import Path

import pytest

from plc_sim.model.spec import load_plant
from plc_sim.model.vocab import MACHINE_STATUSES
from plc_sim.plc.checks import Refusal, Rejected
from plc_sim.plc.fault_script import FaultScriptError, parse_fault_script
from plc_sim.plc.runtime import PlcRuntime

SPEC = load_plant("gear_line")
POWER = "GearLine/MP2/MP2/PowerKW"
DONE = "GearLine/MP2/MP2/PartsDone"


def _plc(seed: int = 3) -> PlcRuntime:
    return PlcRuntime(SPEC, seed=seed, time_factor=None, start_h=6.0)


def _run(plc: PlcRuntime, hours: float, step: float = 0.05) -> None:
    end = plc.calendar_h + hours
    while plc.calendar_h < end - 1e-9:
        plc.scan(min(plc.calendar_h + step, end))


def _inject(plc: PlcRuntime, name: str, **args: object) -> str:
    return plc.command(name, None, "engineer", "eve", **args)


def _events(plc: PlcRuntime) -> list:
    seen: list = []
    plc.on_event(seen.append)
    return seen


def test_a_broken_machine_is_down_with_its_alarm_and_repaired_at_the_end_hour():
    plc = _plc()
    seen = _events(plc)
    start = plc.calendar_h
    _inject(plc, "break_machine", machine="MP1", duration_h=2.0)
    _run(plc, 1.0)
    assert MACHINE_STATUSES[plc.table.get("GearLine/MP1/MP1/State").value] == "down"
    assert plc.alarms.active("MP1")
    _run(plc, 1.5)
    assert not plc.alarms.active("MP1")
    kinds = [(e.kind, e.source, e.plant_h) for e in seen if e.kind in ("breakdown", "repair", "fault_start", "fault_end")]
    assert kinds == [("breakdown", "MP1", start), ("fault_start", "MP1", start), ("fault_end", "MP1", start + 2.0),
                     ("repair", "MP1", start + 2.0)]
    actions = [(a.user, a.action.split()[0]) for a in plc.audit]
    assert actions == [("eve", "fault_start"), ("eve", "break_machine(machine=MP1,"), ("eve", "fault_end")]


def test_sensor_faults_change_the_value_and_quality_faults_the_status_keeping_the_value():
    plc = _plc()
    _run(plc, 1.0)
    stick = _inject(plc, "stick_tag", tag=POWER, value=1.25, duration_h=1.0)
    held = plc.table.get(DONE).value
    _inject(plc, "set_quality", tag=DONE, quality="BadSensorFailure", duration_h=1.0)
    _run(plc, 0.5)
    assert plc.table.get(POWER).value == 1.25
    assert (plc.table.get(DONE).value, plc.table.get(DONE).quality) == (held, "BadSensorFailure")
    assert plc.table.get("GearLine/Faults/Count").value == 2
    fid = int(stick.split()[1])
    _inject(plc, "clear_fault", id=fid)
    _run(plc, 0.6)
    assert plc.table.get(DONE).quality == "good"
    assert plc.table.get(POWER).value == plc.model.machine("MP2").p_now
    assert plc.table.get("GearLine/Faults/Count").value == 0


def test_freeze_drift_and_noise():
    plc = _plc()
    _run(plc, 1.0)
    temp = next(t.key for t in plc.table if t.name in ("SpindleTemperature", "EnergyKWh") and t.dtype == "Double")
    frozen = plc.table.get(temp).value
    _inject(plc, "freeze_tag", tag=temp, duration_h=0.5)
    _run(plc, 0.4)
    assert plc.table.get(temp).value == frozen
    _run(plc, 0.2)
    before = plc.table.get(temp).value
    _inject(plc, "drift_tag", tag=temp, rate=100.0, duration_h=1.0)
    _run(plc, 0.5)
    assert plc.table.get(temp).value >= before + 49.0
    _inject(plc, "clear_fault", id=2)
    _inject(plc, "noise_tag", tag=POWER, sd=5.0, duration_h=1.0)
    shown = set()
    for _ in range(5):
        _run(plc, 0.05)
        shown.add(plc.table.get(POWER).value)
    assert len(shown) > 1 and min(shown) >= 0.0  # noisy, and saturated at the range


def test_line_faults_set_the_levers_and_a_power_cap_sheds_load():
    plc = _plc()
    _inject(plc, "stop_supply", duration_h=1.0)
    _inject(plc, "demand_surge", factor=4.0, duration_h=1.0)
    assert plc.model.supply_stopped and plc.model.demand_factor == 4.0
    _inject(plc, "power_cap", kw=5.0, duration_h=2.0)
    _run(plc, 1.5)
    assert not plc.model.supply_stopped and plc.model.demand_factor == 1.0
    assert any(m.stopped for row in plc.model.machines for m in row)
    _run(plc, 1.0)
    assert not any(m.stopped for row in plc.model.machines for m in row)


@pytest.mark.parametrize(("name", "args", "refusal"), [
    ("break_machine", {"machine": "NOPE", "duration_h": 1.0}, Refusal.INVALID_ARGUMENT),
    ("break_machine", {"machine": "MP1", "duration_h": float("nan")}, Refusal.OUT_OF_RANGE),
    ("break_machine", {"machine": "MP1", "duration_h": float("inf")}, Refusal.OUT_OF_RANGE),
    ("stick_tag", {"tag": "GearLine/Control/C_A", "value": 1.0, "duration_h": 1.0}, Refusal.INVALID_ARGUMENT),
    ("stick_tag", {"tag": POWER, "value": -5.0, "duration_h": 1.0}, Refusal.OUT_OF_RANGE),
    ("drift_tag", {"tag": DONE, "rate": 1.0, "duration_h": 1.0}, Refusal.INVALID_ARGUMENT),
    ("set_quality", {"tag": DONE, "quality": "Good", "duration_h": 1.0}, Refusal.INVALID_ARGUMENT),
    ("demand_surge", {"factor": 1e9, "duration_h": 1.0}, Refusal.OUT_OF_RANGE),
    ("clear_fault", {"id": 99}, Refusal.INVALID_ARGUMENT),
])
def test_bad_orders_are_refused_and_change_nothing(name, args, refusal):
    plc = _plc()
    with pytest.raises(Rejected) as e:
        _inject(plc, name, **args)
    assert e.value.refusal == refusal
    assert not plc.faults.active and not plc.model.machine("MP1").failed


def test_only_engineers_inject():
    plc = _plc()
    with pytest.raises(Rejected) as e:
        plc.command("stop_supply", None, "operator", "olga", duration_h=1.0)
    assert e.value.refusal == Refusal.ACCESS_DENIED


SCRIPT = f"""
[[fault]]
at_h = 7.0
kind = "break_machine"
machine = "MP2"
duration_h = 1.5

[[fault]]
at_h = 7.25
kind = "noise"
tag = "{POWER}"
sd = 0.5
duration_h = 3.0

[[fault]]
at_h = 8.0
kind = "demand_surge"
factor = 3.0
duration_h = 4.0
"""


def _scripted_log(seed: int, step: float = 0.07) -> list[tuple]:
    plc = _plc(seed)
    plc.faults.schedule(parse_fault_script(SCRIPT, plc.faults))
    seen = _events(plc)
    _run(plc, 12.0, step=step)
    return [(e.kind, e.source, e.plant_h, e.message) for e in seen]


def test_a_script_run_twice_with_the_same_seed_gives_the_same_events():
    first, second = _scripted_log(5), _scripted_log(5)
    assert first == second
    assert _scripted_log(5, step=0.13) == first  # the faults' hours, not the scans', decide
    assert [e[:3] for e in first if e[0].startswith("fault")][:2] == [("fault_start", "MP2", 7.0),
                                                                       ("fault_start", "MP2", 7.25)]


def test_a_bad_script_names_file_line_field_and_reason(tmp_path: Path):
    bad = SCRIPT.replace('machine = "MP2"', 'machine = "MPX"').replace("sd = 0.5", "sd = 0.5\nrate = 2.0")
    bad += '\n[[fault]]\nat_h = -1\nkind = "stop_supply"\nduration_h = 1\n'
    plc = _plc()
    with pytest.raises(FaultScriptError) as e:
        parse_fault_script(bad, plc.faults, str(tmp_path / "f.toml"))
    assert e.value.problems == ["f.toml, line 23, field fault[3].at_h: Input should be greater than or equal to 0"]
    bad = bad.replace("at_h = -1", "at_h = 1")
    with pytest.raises(FaultScriptError) as e:
        parse_fault_script(bad, plc.faults, str(tmp_path / "f.toml"))
    assert e.value.problems == ['f.toml, line 5, field fault[0].machine: no machine MPX',
                                "f.toml, line 13, field fault[1].rate: a noise fault takes no rate"]


def test_a_restored_snapshot_runs_on_identically_with_its_faults():
    plc = _plc()
    seen = _events(plc)
    _inject(plc, "break_machine", machine="MP1", duration_h=2.0)
    _inject(plc, "power_cap", kw=8.0, duration_h=3.0)
    _inject(plc, "noise_tag", tag=POWER, sd=1.0, duration_h=3.0)
    _run(plc, 0.5)
    snap = plc.snapshot()
    seen.clear()
    _run(plc, 4.0)
    first = ([(e.kind, e.source, e.plant_h, e.message) for e in seen], {t.key: t.value for t in plc.table})
    plc.restore(snap)
    seen.clear()
    _run(plc, 4.0)
    second = ([(e.kind, e.source, e.plant_h, e.message) for e in seen], {t.key: t.value for t in plc.table})
    assert first == second


def test_reset_starts_again_with_the_seed_and_no_fault():
    plc = _plc()
    _inject(plc, "stop_supply", duration_h=5.0)
    _run(plc, 2.0)
    plc.reset(11)
    assert (plc.calendar_h, plc.seed, plc.faults.active, plc.model.supply_stopped) == (6.0, 11, {}, False)
    fresh = _plc(11)
    _run(plc, 2.0)
    _run(fresh, 2.0)
    assert {t.key: t.value for t in plc.table if "KPIs" in t.key} == \
        {t.key: t.value for t in fresh.table if "KPIs" in t.key}


def test_a_scripted_fault_that_cannot_start_at_its_hour_is_reported():
    script = """
[[fault]]
at_h = 7.0
kind = "break_machine"
machine = "MP1"
duration_h = 2.0

[[fault]]
at_h = 7.5
kind = "break_machine"
machine = "MP1"
duration_h = 1.0
"""
    plc = _plc()
    plc.faults.schedule(parse_fault_script(script, plc.faults))
    seen = _events(plc)
    _run(plc, 2.0)
    refused = [e for e in seen if e.kind == "fault_refused"]
    assert [(e.source, e.plant_h) for e in refused] == [("MP1", 7.5)]
    assert refused[0].message == "scripted break_machine(MP1) at plant hour 7.5 refused: no injected breakdown " \
                                 "while MP1 is down"
    assert [a.user for a in plc.audit if a.action.startswith("fault_refused")] == ["script"]
