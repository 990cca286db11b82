"""Faults on demand over OPC UA, seen by a real asyncua client on loopback as docs/faults.md
says: a quality fault is the variable's StatusCode with its last value kept, a stuck sensor its
value, a broken machine its state and alarm, each start and end a plant event; the fault list
tags show them; ClearFault ends one. Operators and viewers are refused, bad arguments get their
status code and change nothing, and an honest client is served afterwards."""

import json

import pytest
import pytest_asyncio
from asyncua import ua

from plc_sim.model.vocab import MACHINE_STATUSES
from tests.support.opcua_harness import NS, call_in, refusal_in, running_plant, until
from tests.support.opcua_harness import client as _client
from tests.support.opcua_harness import double as _double
from tests.support.opcua_harness import int32 as _int
from tests.support.opcua_harness import plant_node as _node
from tests.support.opcua_harness import text as _str

pytestmark = pytest.mark.asyncio(loop_scope="module")

POWER = "GearLine/MP2/MP2/PowerKW"
DONE = "GearLine/MP3/MP3/PartsDone"
LONG = _double(10_000.0)


class Collect:
    def __init__(self):
        self.events = []

    def event_notification(self, event):
        self.events.append(event)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    async with running_plant(tmp_path_factory.mktemp("faults"), time_factor=3600.0) as (plc, srv):
        yield plc, srv


async def _call(c, method: str, *args: ua.Variant):
    return await call_in(c, "GearLine/Faults", method, *args)


async def _status(c, method: str, *args: ua.Variant) -> int:
    return await refusal_in(c, "GearLine/Faults", method, *args)


def _id(result: str) -> int:
    return int(result.split()[1])


async def test_a_quality_fault_is_the_status_code_uncertain_keeps_the_last_value(plant):
    plc, srv = plant
    async with _client(srv, "eve") as c:
        idx = await c.get_namespace_index(NS)
        node = _node(c, idx, DONE)
        fid = _id(await _call(c, "SetQuality", _str(DONE), _str("UncertainLastUsableValue"), LONG))
        await until(lambda: plc.table.get(DONE).quality == "UncertainLastUsableValue", what="the fault in the tag")
        kept = plc.table.get(DONE).value

        async def uncertain() -> bool:
            dv = await node.read_data_value(raise_on_bad_status=False)
            return dv.StatusCode.value == ua.StatusCodes.UncertainLastUsableValue and dv.Value.Value == kept
        await until(uncertain, what="UncertainLastUsableValue with the last value")
        bad = _id(await _call(c, "SetQuality", _str(DONE), _str("BadSensorFailure"), LONG))

        async def failed() -> bool:  # Part 4 7.7.1: a Bad value is null
            dv = await node.read_data_value(raise_on_bad_status=False)
            return dv.StatusCode.value == ua.StatusCodes.BadSensorFailure and dv.Value.Value is None
        await until(failed, what="BadSensorFailure")
        active = json.loads(await _node(c, idx, "GearLine/Faults/Active").read_value())
        assert [(f["id"], f["kind"], f["target"], f["value"]) for f in active] == [
            (fid, "quality", DONE, "UncertainLastUsableValue"), (bad, "quality", DONE, "BadSensorFailure")]
        assert await _node(c, idx, "GearLine/Faults/Count").read_value() == 2
        await _call(c, "ClearFault", _int(fid))
        await _call(c, "ClearFault", _int(bad))

        async def good() -> bool:
            dv = await node.read_data_value(raise_on_bad_status=False)
            return dv.StatusCode.is_good() and dv.Value.Value == plc.model.machine("MP3").done
        await until(good, what="Good again after ClearFault")


async def test_a_stuck_sensor_shows_its_value_and_ends_by_itself(plant):
    plc, srv = plant
    async with _client(srv, "eve") as c:
        idx = await c.get_namespace_index(NS)
        await _call(c, "StickTag", _str(POWER), _double(1.25), _double(2.0))
        node = _node(c, idx, POWER)

        async def stuck() -> bool:
            return await node.read_value() == 1.25
        await until(stuck, what="the stuck value")
        end = plc.faults.active[plc.faults.last_id].end_h
        await until(lambda: plc.calendar_h > end + 0.5, what="the fault's end hour")

        async def live() -> bool:
            return await node.read_value() == plc.model.machine("MP2").p_now
        await until(live, what="the live value after the end hour")


async def test_a_broken_machine_is_down_and_each_fault_start_and_end_is_an_event(plant):
    plc, srv = plant
    async with _client(srv, "eve") as c:
        idx = await c.get_namespace_index(NS)
        plant_type = await c.nodes.base_event_type.get_child(f"{idx}:PlantEventType")
        got = Collect()
        sub = await c.create_subscription(50, got)
        await sub.subscribe_events(c.nodes.server, [plant_type])
        await until(lambda: not plc.model.machine("MP1").failed and not plc.model.machine("MP1").in_maint,
                    what="MP1 up")
        fid = _id(await _call(c, "BreakMachine", _str("MP1"), LONG))
        state = _node(c, idx, "GearLine/MP1/MP1/State")

        async def down() -> bool:
            return MACHINE_STATUSES[await state.read_value()] == "down"
        await until(down, what="MP1 down")
        assert await _node(c, idx, "GearLine/MP1/MP1/AlarmActive").read_value() is True
        await _call(c, "ClearFault", _int(fid))
        await until(lambda: not plc.model.machine("MP1").failed, what="MP1 repaired")
        kinds = lambda: [(e.Kind, _machine(e)) for e in got.events]  # noqa: E731
        await until(lambda: {("fault_start", "MP1"), ("fault_end", "MP1"), ("breakdown", "MP1"),
                             ("repair", "MP1")} <= set(kinds()), what="the fault's events", detail=lambda: kinds())


def _machine(event) -> str:
    return str(event.SourceName).rsplit("/", 1)[-1]


@pytest.mark.parametrize("user", ["olga", "vic", None])
async def test_operators_and_viewers_cannot_inject(plant, user):
    plc, srv = plant
    before = plc.faults.last_id
    async with _client(srv, user) as c:
        assert await _status(c, "StopSupply", LONG) == ua.StatusCodes.BadUserAccessDenied
        assert await _status(c, "BreakMachine", _str("MP1"), LONG) == ua.StatusCodes.BadUserAccessDenied
    assert plc.faults.last_id == before


@pytest.mark.parametrize(("method", "args", "code"), [
    ("BreakMachine", (_str("NOPE"), LONG), "BadInvalidArgument"),
    ("BreakMachine", (_str("MP1"), _double(float("nan"))), "BadOutOfRange"),
    ("BreakMachine", (_str("MP1"), _double(float("inf"))), "BadOutOfRange"),
    ("BreakMachine", (_str("MP1"), _double(-1.0)), "BadOutOfRange"),
    ("StickTag", (_str("GearLine/Control/C_A"), _double(1.0), LONG), "BadInvalidArgument"),
    ("StickTag", (_str(POWER), _double(float("nan")), LONG), "BadOutOfRange"),
    ("SetQuality", (_str(DONE), _str("Good"), LONG), "BadInvalidArgument"),
    ("DemandSurge", (_double(1e9), LONG), "BadOutOfRange"),
    ("DemandSurge", (_int(2), LONG), "BadTypeMismatch"),
    ("ClearFault", (_int(10_000),), "BadInvalidArgument"),
    ("StopSupply", (), "BadArgumentsMissing"),
])
async def test_bad_arguments_are_refused_with_their_code(plant, method, args, code):
    plc, srv = plant
    before = (plc.faults.last_id, plc.model.supply_stopped, plc.model.demand_factor)
    async with _client(srv, "eve") as c:
        assert await _status(c, method, *args) == getattr(ua.StatusCodes, code)
    assert (plc.faults.last_id, plc.model.supply_stopped, plc.model.demand_factor) == before
    async with _client(srv, "olga") as c:  # an honest client is still served
        idx = await c.get_namespace_index(NS)
        assert await _node(c, idx, "GearLine/Faults/Count").read_value() == len(plc.faults.active)


async def test_line_faults_show_in_the_fault_list_and_end_by_clear(plant):
    plc, srv = plant
    async with _client(srv, "eve") as c:
        idx = await c.get_namespace_index(NS)
        ids = [_id(await _call(c, "StopSupply", LONG)), _id(await _call(c, "DemandSurge", _double(2.5), LONG)),
               _id(await _call(c, "PowerCap", _double(50.0), LONG))]
        assert plc.model.supply_stopped and plc.model.demand_factor == 2.5

        async def listed() -> bool:
            shown = json.loads(await _node(c, idx, "GearLine/Faults/Active").read_value())
            return [f["kind"] for f in shown if f["id"] in ids] == ["stop_supply", "demand_surge", "power_cap"]
        await until(listed, what="the three line faults listed")
        for fid in ids:
            await _call(c, "ClearFault", _int(fid))
        assert not plc.model.supply_stopped and plc.model.demand_factor == 1.0


async def test_max_active_faults_bounds_the_active_set(tmp_path):
    async with running_plant(tmp_path, time_factor=3600.0, max_active_faults=2) as (plc, srv), \
            _client(srv, "eve") as c:
        first = _id(await _call(c, "StopSupply", LONG))
        await _call(c, "DemandSurge", _double(2.0), LONG)
        assert await _status(c, "PowerCap", _double(10.0), LONG) == ua.StatusCodes.BadInvalidState
        assert len(plc.faults.active) == 2
        await _call(c, "ClearFault", _int(first))
        await _call(c, "PowerCap", _double(10.0), LONG)  # room again
        assert len(plc.faults.active) == 2


async def test_freeze_drift_and_noise_as_a_client_reads_them(plant):
    plc, srv = plant
    energy, cycle = "GearLine/MP2/MP2/EnergyKWh", "GearLine/MP1/MP1/CycleTime"
    async with _client(srv, "eve") as c:
        idx = await c.get_namespace_index(NS)
        frozen_id = _id(await _call(c, "FreezeTag", _str(energy), LONG))
        frozen = plc.faults.active[frozen_id].held
        mach = plc.model.machine("MP2")
        await until(lambda: mach.energy_now(plc.model.now) > frozen + 1.0, what="the live energy moving on")
        assert await _node(c, idx, energy).read_value() == frozen
        await _call(c, "ClearFault", _int(frozen_id))
        drift_id = _id(await _call(c, "DriftTag", _str(cycle), _double(1000.0), LONG))
        start = plc.faults.active[drift_id].start_h

        async def drifted() -> bool:
            shown = await _node(c, idx, cycle).read_value()
            return shown >= plc.model.machine("MP1").last_cycle_h * 60.0 + 1000.0 * 0.5 and plc.calendar_h > start
        await until(drifted, what="the drift growing with plant time")
        await _call(c, "ClearFault", _int(drift_id))
        noise_id = _id(await _call(c, "NoiseTag", _str(POWER), _double(0.5), LONG))
        seen: set[float] = set()

        async def noisy() -> bool:
            seen.add(await _node(c, idx, POWER).read_value())
            return len(seen) >= 3
        await until(noisy, what="noisy readings")
        await _call(c, "ClearFault", _int(noise_id))
