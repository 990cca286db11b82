"""The PLC runtime without OPC UA: scans, scaled time, overruns, writes, commands, alarms."""

import asyncio
import time

import pytest

from plc_sim.model.spec import load_plant
from plc_sim.plc.runtime import PlcRuntime
from plc_sim.plc.tags import Refusal, Rejected
from tests.support.opcua_harness import until

CNC1 = "AutoPartsCell/Machining/CNC1"


@pytest.fixture()
def plc():
    return PlcRuntime(load_plant("auto_parts_cell"), seed=2, time_factor=None)


async def _run_until(plc: PlcRuntime, plant_h: float, timeout: float = 60.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(plc.run(stop))
    try:
        await until(lambda: plc.calendar_h >= plant_h, timeout, f"the PLC to reach plant hour {plant_h:g}",
                    interval=0.005)
    finally:
        stop.set()
        await task


async def test_fast_scans_advance_plant_time_and_publish_changes(plc):
    changed_per_scan = []
    plc.on_scan(lambda changed: changed_per_scan.append(len(changed)))
    await _run_until(plc, 100.0)
    assert plc.scans >= 100.0 / plc.fast_step_h - 1
    assert max(changed_per_scan) > 10
    t = plc.table.get(f"{CNC1}/PartsDone")
    assert t.value == plc.model.machine("CNC1").done and t.stamp_h <= plc.calendar_h


async def test_scaled_real_time_never_runs_ahead_of_the_wall_clock():
    """3600x: a plant hour per wall second. Plant time may lag on a slow machine but never
    leads the wall clock: at every scan, the plant hours so far are at most the wall seconds."""
    plc = PlcRuntime(load_plant("gear_line"), seed=1, time_factor=3600.0, scan_s=0.05)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    ahead = []
    plc.on_scan(lambda changed: ahead.append(plc.calendar_h - (loop.time() - t0)))
    await _run_until(plc, 0.3)
    assert ahead and max(ahead) <= 1e-9, "plant hours never exceed wall seconds at 3600x"


async def test_a_scan_longer_than_its_period_is_reported_as_an_overrun():
    """The overrun is forced: one scan's listener blocks for two scan periods."""
    plc = PlcRuntime(load_plant("gear_line"), seed=1, time_factor=3600.0, scan_s=0.02)
    events = []
    plc.on_event(lambda e: e.kind == "scan_overrun" and events.append(e))

    def slow_third_scan(changed):
        if plc.scans == 3:
            time.sleep(2 * plc.scan_s)  # the slow scan itself, not a wait for something
    plc.on_scan(slow_third_scan)
    stop = asyncio.Event()
    task = asyncio.create_task(plc.run(stop))
    await until(lambda: events, what="the overrun event")
    stop.set()
    await task
    assert plc.overruns >= 1
    took = events[0].info["took_ms"]
    assert f"scan took {took:.0f} ms (period {plc.scan_s * 1000:.0f} ms)" in events[0].message


async def test_overruns_are_rate_limited_and_a_blocked_loop_does_not_stop_the_scans():
    """Every scan is slow (forced), one event reports them; then the event loop is blocked
    outright (as by a client's heavy request): the scans go on in their own thread while the
    loop is blocked, and they are neither late nor overruns."""
    import threading

    plc = PlcRuntime(load_plant("gear_line"), seed=1, time_factor=3600.0, scan_s=0.05, overrun_report_s=3600.0)
    events = []
    plc.on_event(lambda e: e.kind == "scan_overrun" and events.append(e))
    slow = [True]
    plc.on_scan(lambda changed: slow[0] and time.sleep(2 * plc.scan_s))
    stop = asyncio.Event()
    task = asyncio.create_task(plc.run(stop))
    await until(lambda: plc.overruns >= 5, what="five overruns")
    assert len(events) == 1 and events[0].severity <= 200, "one low-severity report per overrun_report_s"
    slow[0] = False
    await until(lambda: plc.scans > 0 and not slow[0], what="a fast scan")
    overruns, late, target = plc.overruns, plc.late_scans, plc.scans + 5
    scanned = threading.Event()
    plc.on_scan(lambda changed: plc.scans >= target and scanned.set())
    assert scanned.wait(60), "five scans while the loop is blocked"  # blocks the loop, not a sleep
    stop.set()
    await task
    assert plc.overruns <= overruns + 1 and plc.late_scans <= late + 1 and len(events) == 1


def test_writes_are_validated_and_apply_at_the_next_scan(plc):
    cnc = plc.model.machine("CNC1")
    refused = []
    plc.on_event(lambda e: e.kind == "write_refused" and refused.append(e))
    cases = [(150.0, "engineer", Refusal.OUT_OF_RANGE), (110.0, "operator", Refusal.ACCESS_DENIED),
             (110.0, None, Refusal.ACCESS_DENIED), ("fast", "engineer", Refusal.TYPE_MISMATCH)]
    for value, role, why in cases:
        with pytest.raises(Rejected) as e:
            plc.write(f"{CNC1}/SpeedSetpoint", value, role)
        assert e.value.refusal is why
    with pytest.raises(Rejected) as e:
        plc.write(f"{CNC1}/PartsDone", 3, "engineer")
    assert e.value.refusal is Refusal.NOT_WRITABLE
    assert len(refused) == 5 and refused[-1].source == "CNC1"
    assert cnc.speed_pct == 100.0, "a refused write changes nothing"
    plc.write(f"{CNC1}/SpeedSetpoint", 110, "engineer")
    assert cnc.speed_pct == 100.0
    plc.scan(plc.calendar_h + 0.1)
    assert cnc.speed_pct == 110.0
    assert plc.table.get(f"{CNC1}/SpeedSetpoint").value == 110.0
    assert [(r.action, r.result) for r in plc.audit][-2:] == [(f"write {CNC1}/SpeedSetpoint", "accepted"),
                                                              (f"write {CNC1}/SpeedSetpoint", "applied")]


def test_the_off_shift_mode_is_a_setpoint_the_machine_keeps_outside_its_shifts(plc):
    """The cell leaves its machines powered outside the shifts; an engineer may park one
    in standby or switch it off. A value outside the choices is refused and changes nothing."""
    cnc = plc.model.machine("CNC1")
    key = f"{CNC1}/OffShiftMode"
    assert plc.table.get(key).value == "idle"
    for value, role, why in (("nap", "engineer", Refusal.OUT_OF_RANGE), (3.0, "engineer", Refusal.TYPE_MISMATCH),
                             ("off", "operator", Refusal.ACCESS_DENIED)):
        with pytest.raises(Rejected) as e:
            plc.write(key, value, role)
        assert e.value.refusal is why
    assert cnc.off_shift_mode == "idle", "a refused write changes nothing"
    plc.write(key, "off", "engineer")
    plc.scan(plc.calendar_h + 0.1)
    assert cnc.off_shift_mode == "off" and plc.table.get(key).value == "off"
    night = (plc.calendar_h // 24 + 1) * 24 + 2.0
    plc.scan(night)
    assert cnc.state == "off" and plc.model.machine("CNC2").state in ("idle", "processing")


def test_interlock_refuses_speed_change_while_down(plc):
    cnc = plc.model.machine("CNC1")
    while not cnc.failed:
        plc.model.env.step()
    with pytest.raises(Rejected) as e:
        plc.write(f"{CNC1}/SpeedSetpoint", 90.0, "engineer")
    assert e.value.refusal is Refusal.INVALID_STATE and "down" in str(e.value)


def test_commands_and_breakdown_alarms(plc):
    events = []
    plc.on_event(events.append)
    cnc = plc.model.machine("CNC2")
    while not cnc.failed:
        plc.model.env.step()
    assert plc.alarms.active("CNC2") and not plc.alarms.acked("CNC2")
    with pytest.raises(Rejected) as e:
        plc.command("acknowledge", "CNC2", "viewer")
    assert e.value.refusal is Refusal.ACCESS_DENIED
    with pytest.raises(Rejected) as e:
        plc.command("reset", "CNC2", "operator")
    assert e.value.refusal is Refusal.INVALID_STATE and "still down" in str(e.value)
    plc.command("acknowledge", "CNC2", "operator", user="olga")
    assert plc.alarms.acked("CNC2")
    with pytest.raises(Rejected) as e:
        plc.command("acknowledge", "CNC2", "operator")
    assert e.value.refusal is Refusal.INVALID_STATE and "no unacknowledged alarm" in str(e.value)
    while cnc.failed:
        plc.model.env.step()
    assert plc.command("reset", "CNC2", "operator") == "fault reset"
    plc.command("stop", "CNC3", "operator")
    plc.scan(plc.calendar_h + 30.0)
    assert plc.model.machine("CNC3").state == "off"
    done = plc.model.machine("CNC3").done
    plc.scan(plc.calendar_h + 20.0)
    assert plc.model.machine("CNC3").done == done
    plc.command("start", "CNC3", "operator")
    plc.command("maintain", "CNC1", "operator")
    assert plc.model.machine("CNC1").maint_due or plc.model.machine("CNC1").in_maint
    plc.command("set_conwip", None, "engineer", product="EB", value=12)
    assert plc.model.conwip_cap[0] == 12
    kanbans = plc.model.pools[0].cap[0]
    with pytest.raises(Rejected) as e:
        plc.command("set_kanbans", None, "operator", stage=1, product="EB", value=kanbans + 1)
    assert e.value.refusal is Refusal.ACCESS_DENIED
    assert plc.model.pools[0].cap[0] == kanbans
    kinds = {e.kind for e in events}
    assert {"breakdown", "repair", "alarm_acknowledged", "command", "write_refused"} <= kinds


def test_maintenance_plan_is_a_setpoint_written_as_json(plc):
    key = f"{CNC1}/MaintenancePlan"
    cnc = plc.model.machine("CNC1")
    before = cnc.maint_spec.plan
    for text in ("not json", "[[10, 2], [11, 2]]", "[[10]]", "[[-1, 2]]"):
        with pytest.raises(Rejected) as e:
            plc.write(key, text, "engineer")
        assert e.value.refusal is Refusal.OUT_OF_RANGE, text
    plc.write(key, "[[40, 2], [200, 3.5]]", "engineer")
    plc.write(f"{CNC1}/MaintenancePolicy", "plan", "engineer")
    assert cnc.maint_spec.plan == before, "a write applies at the next scan"
    plc.scan(plc.calendar_h + 0.1)
    assert cnc.maint_spec.plan == [(40.0, 2.0), (200.0, 3.5)] and cnc.maint_spec.policy == "plan"
    assert plc.table.get(key).value == "[[40.0, 2.0], [200.0, 3.5]]"


def test_a_plc_started_at_the_first_shift_moves_at_once():
    """The demo starts in a working shift: Monday 06:00 on the gear line, stations on shift,
    machines not off (issue: `make run` showed nothing but PlantTime for six wall minutes)."""
    from plc_sim.model.line import LineModel

    spec = load_plant("gear_line")
    start = LineModel(spec, 1).first_shift_h()
    assert start == 6.0
    plc = PlcRuntime(spec, seed=1, time_factor=None, start_h=start)
    assert plc.calendar_h == 6.0 and plc.table.get("GearLine/KPIs/PlantTime").value == 6.0
    assert plc.table.get("GearLine/MP1/ShiftActive").value is True
    plc.scan(6.5)
    assert any(m.state != "off" for row in plc.model.machines for m in row)
    night = PlcRuntime(spec, seed=1, time_factor=None)
    night.scan(0.5)
    assert night.table.get("GearLine/MP1/ShiftActive").value is False
    assert all(m.state == "off" for row in night.model.machines for m in row), "off-shift machines are off"


async def test_a_held_plc_keeps_plant_time_still():
    plc = PlcRuntime(load_plant("gear_line"), seed=1, time_factor=None)
    await _run_until(plc, 1.0)
    plc.held = True
    stop = asyncio.Event()
    task = asyncio.create_task(plc.run(stop))
    before = plc.calendar_h
    for _ in range(5):
        await asyncio.sleep(plc.scan_s)  # time passes on the wall clock; the plant must not move
    stop.set()
    await task
    assert plc.calendar_h == before


async def test_run_to_holds_the_plant_exactly_at_the_hour_asked():
    plc = PlcRuntime(load_plant("gear_line"), seed=1, time_factor=None)
    stop = asyncio.Event()
    task = asyncio.create_task(plc.run(stop))
    try:
        await asyncio.wait_for(plc.run_to(1.23), timeout=60)
        assert plc.held and plc.calendar_h == 1.23
        scans = plc.scans
        for _ in range(3):
            await asyncio.sleep(plc.scan_s)  # wall time passes; a held plant does not scan on
        assert plc.calendar_h == 1.23 and plc.scans == scans
        await asyncio.wait_for(plc.run_to(2.0), timeout=60)
        assert plc.calendar_h == 2.0
    finally:
        stop.set()
        await task


async def test_plant_time_goes_on_from_where_a_hold_left_it():
    """Released after a hold, the plant does not jump ahead by the wall time spent held."""
    tf = 36_000.0  # ten plant hours a second: a jump for a held second would be ten hours
    plc = PlcRuntime(load_plant("gear_line"), seed=1, time_factor=tf)
    loop = asyncio.get_running_loop()
    firsts: list[tuple[float, float]] = []
    plc.on_scan(lambda _changed: firsts.append((loop.time(), plc.calendar_h)))
    stop = asyncio.Event()
    task = asyncio.create_task(plc.run(stop))
    try:
        await asyncio.wait_for(plc.run_to(0.5), timeout=60)
        await asyncio.sleep(1.0)  # held for a wall second (not a synchronisation: the plant must stay)
        firsts.clear()
        released = loop.time()
        plc.held = False
        await until(lambda: firsts, timeout=60)
        at, hour = firsts[0]
        assert hour - 0.5 <= (at - released) * tf / 3600 + plc.scan_s * tf / 3600
    finally:
        stop.set()
        await task
