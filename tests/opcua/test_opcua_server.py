"""The OPC UA face of the PLC, tested with a real asyncua client over loopback."""

from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from asyncua import Client, ua

from plc_sim.plc.runtime import PLANT_EPOCH
from tests.support.opcua_harness import NS, running_plant, until
from tests.support.opcua_harness import client as _client
from tests.support.opcua_harness import plant_node as _node

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    async with running_plant(tmp_path_factory.mktemp("plc")) as (plc, srv):
        yield plc, srv



async def _ns(c: Client) -> int:
    return await c.get_namespace_index(NS)



async def test_browse_finds_every_machine_typed(plant):
    _, srv = plant
    async with _client(srv) as c:
        idx = await _ns(c)
        found, typeless = {}, []

        async def walk(node, depth):
            for child in await node.get_children():
                cls = await child.read_node_class()
                if cls in (ua.NodeClass.Object, ua.NodeClass.Variable):
                    tdef = await child.read_type_definition()
                    if tdef is None:
                        typeless.append(child.nodeid)
                    if cls == ua.NodeClass.Object:
                        found[(await child.read_browse_name()).Name] = tdef
                        if depth < 4:
                            await walk(child, depth + 1)

        await walk(_node(c, idx, "GearLine"), 0)
        assert not typeless, "every object and variable has a HasTypeDefinition"
        for m in ("MP1", "MP2", "MP3"):
            assert found[m] == ua.NodeId("Types/MachineType", idx)
        assert found["OutputBuffer"] == ua.NodeId("Types/BufferType", idx)
        line = _node(c, idx, "GearLine")
        assert await line.read_type_definition() == ua.NodeId("Types/LineType", idx)
        assert await _node(c, idx, "GearLine/MP1").read_type_definition() == ua.NodeId("Types/StationType", idx)


async def test_units_ranges_types_and_access(plant):
    _, srv = plant
    async with _client(srv) as c:
        idx = await _ns(c)
        power = _node(c, idx, "GearLine/MP1/MP1/PowerKW")
        assert await power.read_type_definition() == ua.NodeId(ua.ObjectIds.AnalogItemType)
        eu = await (await power.get_child("0:EngineeringUnits")).read_value()
        rng = await (await power.get_child("0:EURange")).read_value()
        assert eu.DisplayName.Text == "kW" and eu.UnitId == 4937729
        assert rng.Low == 0.0 and rng.High == 11.0
        k1 = _node(c, idx, "GearLine/Control/K1_A")
        rng = await (await k1.get_child("0:EURange")).read_value()
        assert (rng.Low, rng.High) == (1, 999)
        assert await k1.read_data_type() == ua.NodeId(ua.ObjectIds.Int32)
        state = _node(c, idx, "GearLine/MP1/MP1/State")
        enum_type = await state.read_data_type()
        assert enum_type.NamespaceIndex == idx
        definition = await c.get_node(enum_type).read_data_type_definition()
        assert [f.Name for f in definition.Fields][:4] == ["processing", "idle", "starved", "blocked"]
        done = _node(c, idx, "GearLine/MP1/MP1/PartsDone")
        access = (await done.read_attribute(ua.AttributeIds.AccessLevel)).Value.Value
        assert not ua.ua_binary.test_bit(access, ua.AccessLevel.CurrentWrite)
        assert ua.ua_binary.test_bit(access, ua.AccessLevel.HistoryRead)


async def test_standard_properties_analog_types_descriptions_and_user_access(plant):
    _, srv = plant
    async with _client(srv) as c:
        idx = await _ns(c)
        # TranslateBrowsePathsToNodeIds with the standard property names in namespace 0
        step = ua.RelativePathElement(ReferenceTypeId=ua.NodeId(ua.ObjectIds.HasProperty), IncludeSubtypes=True,
                                      IsInverse=False, TargetName=ua.QualifiedName("EURange", 0))
        path = ua.BrowsePath(StartingNode=ua.NodeId("Plant/GearLine/MP1/MP1/PowerKW", idx),
                             RelativePath=ua.RelativePath(Elements=[step]))
        res = (await c.uaclient.translate_browsepaths_to_nodeids([path]))[0]
        assert res.StatusCode.is_good() and res.Targets
        # Int32 with a unit and a range: AnalogItemType; a unit without a range: BaseAnalogType, no EURange
        k1 = _node(c, idx, "GearLine/Control/K1_A")
        assert await k1.read_type_definition() == ua.NodeId(ua.ObjectIds.AnalogItemType)
        energy = _node(c, idx, "GearLine/MP1/MP1/EnergyKWh")
        assert await energy.read_type_definition() == ua.NodeId(ua.ObjectIds.BaseAnalogType)
        names = [(await p.read_browse_name()) for p in await energy.get_properties()]
        assert ua.QualifiedName("EngineeringUnits", 0) in names and ua.QualifiedName("EURange", 0) not in names
        # every node says what it is, KPIs included
        for p in ("GearLine/KPIs/B", "GearLine/KPIs/I3", "GearLine/MP1/MP1/PowerKW", "GearLine/MP1/MP1", "GearLine",
                  "GearLine/KPIs/PlantClock", "GearLine/MP1/ShiftActive"):
            text = (await _node(c, idx, p).read_description()).Text
            assert text and len(text) > 8, p
        assert "breakdown" in (await _node(c, idx, "GearLine/KPIs/B").read_description()).Text
        assert "kilowatt" in (await _node(c, idx, "GearLine/MP1/MP1/PowerKW").read_description()).Text
        enum = await _node(c, idx, "GearLine/MP1/MP1/State").read_data_type()
        strings = await (await c.get_node(enum).get_child("0:EnumStrings")).read_value()
        assert [t.Text for t in strings][:2] == ["processing", "idle"]
        info = c.get_node(ua.ObjectIds.Server_ServerStatus_BuildInfo)
        assert (await (await info.get_child("0:ProductName")).read_value()).startswith("plant-twin")
    write = ua.AccessLevel.CurrentWrite
    k1_id = ua.NodeId("Plant/GearLine/Control/K1_A", idx)
    stop_id = ua.NodeId("Plant/GearLine/MP1/MP1/Stop", idx)
    for user, writable, executable in ((None, False, False), ("vic", False, False), ("olga", False, True),
                                       ("eve", True, True)):
        async with _client(srv, user) as c:
            level = (await c.get_node(k1_id).read_attribute(ua.AttributeIds.UserAccessLevel)).Value.Value
            assert bool(ua.ua_binary.test_bit(level, write)) is writable, user
            assert ua.ua_binary.test_bit(level, ua.AccessLevel.CurrentRead)
            runs = (await c.get_node(stop_id).read_attribute(ua.AttributeIds.UserExecutable)).Value.Value
            assert runs is executable, user


async def test_subscription_delivers_changes_in_wall_clock_order_with_plant_time_beside(plant):
    plc, srv = plant
    async with _client(srv) as c:
        idx = await _ns(c)
        got = []

        class Handler:
            def datachange_notification(self, node, val, data):
                dv = data.monitored_item.Value
                got.append((node.nodeid, dv.SourceTimestamp, dv.ServerTimestamp, val))

        sub = await c.create_subscription(50, Handler())
        nodes = [_node(c, idx, "GearLine/KPIs/PlantTime"), _node(c, idx, "GearLine/MP3/MP3/PartsDone"),
                 _node(c, idx, "GearLine/KPIs/PlantClock")]
        started = datetime.now(UTC)
        await sub.subscribe_data_change(nodes)
        await until(lambda: len(got) > 30, what="30 notifications")
        # One publish may carry several scans' changes grouped by monitored item, so the
        # order holds per node, not across nodes.
        for node in nodes:
            stamps = [s for n, s, _, _ in got if n == node.nodeid]
            assert stamps == sorted(stamps), "source timestamps are the wall clock and never go back"
            assert all(started - timedelta(minutes=1) <= s <= datetime.now(UTC) for s in stamps), "never in the future"
            assert all(server is not None for n, _, server, _ in got)
        assert len([n for n, *_ in got if n == nodes[0].nodeid]) > 5, "PlantTime changes every scan"
        # one scan, one stamp: PlantClock and PlantTime of the same stamp agree exactly
        hours = {s: v for n, s, _, v in got if n == nodes[0].nodeid}
        clocks = {s: v for n, s, _, v in got if n == nodes[2].nodeid}
        common = set(hours) & set(clocks)
        assert common
        for s in common:
            assert abs(clocks[s] - (PLANT_EPOCH + timedelta(hours=hours[s]))) < timedelta(milliseconds=1)
        factor = await _node(c, idx, "GearLine/KPIs/TimeFactor").read_value()
        assert factor == plc.time_factor
        await sub.delete()


async def test_setpoint_write_changes_the_model(plant):
    plc, srv = plant
    async with _client(srv, "eve") as c:
        idx = await _ns(c)
        k1 = _node(c, idx, "GearLine/Control/K1_A")
        await k1.write_value(ua.Variant(6, ua.VariantType.Int32))
        await until(lambda: plc.model.pools[0].cap[0] == 6, what="the kanban count in the model")
        await until(_reads(k1, 6), what="the node to show 6")
        assert plc.audit[-1].user == "eve"


def _reads(node, value):
    async def check():
        return await node.read_value() == value
    return check


@pytest.mark.parametrize("user,path,variant,code", [
    ("eve", "GearLine/Control/K1_B", ua.Variant(0, ua.VariantType.Int32), "BadOutOfRange"),
    ("eve", "GearLine/Control/K1_B", ua.Variant(3.0, ua.VariantType.Double), "BadTypeMismatch"),
    ("eve", "GearLine/MP1/MP1/PartsDone", ua.Variant(1, ua.VariantType.Int32), "BadNotWritable"),
    ("olga", "GearLine/Control/K1_B", ua.Variant(3, ua.VariantType.Int32), "BadUserAccessDenied"),
    ("vic", "GearLine/Control/K1_B", ua.Variant(3, ua.VariantType.Int32), "BadUserAccessDenied"),
    (None, "GearLine/Control/K1_B", ua.Variant(3, ua.VariantType.Int32), "BadUserAccessDenied"),
])
async def test_refused_writes_get_their_status_code_and_change_nothing(plant, user, path, variant, code):
    plc, srv = plant
    before = plc.model.pools[0].cap[1]
    events = []
    stop_listening = plc.on_event(lambda e: e.kind == "write_refused" and path in e.message and events.append(e))
    try:
        async with _client(srv, user) as c:
            idx = await _ns(c)
            with pytest.raises(ua.UaStatusCodeError) as e:
                await _node(c, idx, path).write_value(variant)
            assert e.value.code == getattr(ua.StatusCodes, code)
    finally:
        stop_listening()
    assert plc.model.pools[0].cap[1] == before
    assert len(events) == 1, "a refused write is reported as one event"


def _free_for_maintenance(plc) -> str:
    """A machine that is up and neither in nor waiting for maintenance (the plant is held, so
    it stays so): at 36,000x the state between two calls is hours apart, and maintenance
    asked of a machine already in it is BadInvalidState, as the interlock says."""
    free = [m for m in ("MP1", "MP2", "MP3") if not (plc.model.machine(m).failed or plc.model.machine(m).in_maint
                                                     or plc.model.machine(m).maint_due)]
    assert free, "every machine is down or in maintenance at this instant"
    return free[0]


async def test_methods_by_role(plant):
    plc, srv = plant
    plc.held = True  # plant time stands still: the machine's state is the one checked
    try:
        await _methods_by_role(plc, srv, _free_for_maintenance(plc))
    finally:
        plc.held = False


async def _methods_by_role(plc, srv, name: str) -> None:
    async with _client(srv, "olga") as c:
        idx = await _ns(c)
        mach = _node(c, idx, f"GearLine/{name}/{name}")
        out = await mach.call_method(ua.QualifiedName("StartMaintenance", idx))
        assert "maintenance" in out
        await mach.call_method(ua.QualifiedName("Stop", idx))
        await until(lambda: plc.model.machine(name).stopped, what=f"{name} stopped")
        await mach.call_method(ua.QualifiedName("Start", idx))
        assert not plc.model.machine(name).stopped
        control = _node(c, idx, "GearLine/Control")
        with pytest.raises(ua.UaStatusCodeError) as e:
            await control.call_method(ua.QualifiedName("SetConwip", idx), ua.Variant("A", ua.VariantType.String),
                                      ua.Variant(12, ua.VariantType.Int32))
        assert e.value.code == ua.StatusCodes.BadUserAccessDenied
    async with _client(srv) as c:
        with pytest.raises(ua.UaStatusCodeError) as e:
            await _node(c, idx, "GearLine/MP2/MP2").call_method(ua.QualifiedName("Stop", idx))
        assert e.value.code == ua.StatusCodes.BadUserAccessDenied
    async with _client(srv, "eve") as c:
        control = _node(c, idx, "GearLine/Control")
        await control.call_method(ua.QualifiedName("SetConwip", idx), ua.Variant("A", ua.VariantType.String),
                                  ua.Variant(12, ua.VariantType.Int32))
        await control.call_method(ua.QualifiedName("SetKanbans", idx), ua.Variant(2, ua.VariantType.Int32),
                                  ua.Variant("B", ua.VariantType.String), ua.Variant(5, ua.VariantType.Int32))
        assert plc.model.conwip_cap[0] == 12 and plc.model.pools[1].cap[1] == 5
        with pytest.raises(ua.UaStatusCodeError) as e:
            await control.call_method(ua.QualifiedName("SetKanbans", idx), ua.Variant(3, ua.VariantType.Int32),
                                      ua.Variant("B", ua.VariantType.String), ua.Variant(5, ua.VariantType.Int32))
        assert e.value.code == ua.StatusCodes.BadOutOfRange


async def test_breakdown_events_and_acknowledgement(plant):
    plc, srv = plant
    async with _client(srv, "olga") as c:
        idx = await _ns(c)
        events = []

        class Handler:
            def event_notification(self, event):
                events.append(event)

        sub = await c.create_subscription(50, Handler())
        machines = [_node(c, idx, f"GearLine/{m}/{m}") for m in ("MP1", "MP2", "MP3")]
        plant_type = await c.nodes.base_event_type.get_child(f"{idx}:PlantEventType")
        alarm_type = await c.get_node(ua.NodeId(ua.ObjectIds.AlarmConditionType)).get_child(f"{idx}:BreakdownAlarmType")
        for m in machines:
            await sub.subscribe_events(m, [plant_type, alarm_type])
        await until(lambda: any(getattr(e, "Kind", None) == "breakdown" for e in events), timeout=30,
                    what="a breakdown event")
        br = next(e for e in events if getattr(e, "Kind", None) == "breakdown")
        assert br.Severity >= 700 and "broke down" in br.Message.Text
        assert br.SourceName.startswith("GearLine/") and br.SourceNode == ua.NodeId(f"Plant/{br.SourceName}", idx)
        name = br.SourceName.rsplit("/", 1)[-1]
        if not plc.alarms.acked(name):
            await _node(c, idx, f"GearLine/{name}/{name}").call_method(ua.QualifiedName("AcknowledgeAlarm", idx))
        acked = _node(c, idx, f"GearLine/{name}/{name}/AlarmAcked")
        await until(_reads(acked, True), what="the acknowledged state")
        await until(lambda: any(getattr(e, "Kind", None) == "alarm_acknowledged" for e in events),
                    what="the acknowledgement event")
        alarms = [e for e in events if getattr(e, "ConditionName", None)]
        assert any(e.AckedState.Text == "Acknowledged" for e in alarms)
        assert any(e.ActiveState.Text == "Active" and e.Retain for e in alarms)


async def test_history_read_returns_the_recent_past(plant):
    plc, srv = plant
    await until(lambda: plc.model.machine("MP1").done > 20, what="some production")
    async with _client(srv) as c:
        idx = await _ns(c)
        done = _node(c, idx, "GearLine/MP1/MP1/PartsDone")
        await until(lambda: srv.server.iserver.history_manager.storage is not None, what="history")
        end = datetime.now(UTC) + timedelta(hours=1)  # source timestamps are the wall clock
        values = []

        async def have_history():
            values[:] = await done.read_raw_history(PLANT_EPOCH, end)
            return len(values) > 5
        await until(have_history, what="historized values")
        nums = [v.Value.Value for v in values]
        assert nums == sorted(nums)
        evs = await _node(c, idx, "GearLine/MP1/MP1").read_event_history(PLANT_EPOCH, end)
        assert evs, "machine events are historized"


async def test_breakdown_condition_standard_acknowledge_and_refresh(plant, request):
    """The A&C view of a breakdown: a condition object per machine (HasCondition), alarm
    events with their ConditionId, the standard Acknowledge(EventId, Comment), ConditionRefresh."""
    plc, srv = plant
    async with _client(srv, "olga") as c:
        idx = await _ns(c)
        alarm_type = await c.get_node(ua.NodeId(ua.ObjectIds.AlarmConditionType)).get_child(f"{idx}:BreakdownAlarmType")
        mp1 = _node(c, idx, "GearLine/MP1/MP1")
        conds = await mp1.get_referenced_nodes(ua.ObjectIds.HasCondition)
        assert [n.nodeid for n in conds] == [ua.NodeId("Plant/GearLine/MP1/MP1/BreakdownAlarm", idx)]
        assert await conds[0].read_type_definition() == alarm_type.nodeid == ua.NodeId("Types/BreakdownAlarmType", idx)
        alarms = []

        class Handler:
            def event_notification(self, event):
                alarms.append(event)

        sub = await c.create_subscription(50, Handler())
        for m in ("MP1", "MP2", "MP3"):
            await sub.subscribe_alarms_and_conditions(_node(c, idx, f"GearLine/{m}/{m}"), alarm_type)

        def fresh_breakdown():
            return next((e for e in reversed(alarms) if getattr(e, "Kind", None) == "breakdown"
                         and not plc.alarms.acked(e.SourceName.rsplit("/", 1)[-1])), None)
        await until(fresh_breakdown, timeout=30, what="an unacknowledged breakdown alarm")
        br = fresh_breakdown()
        plc.held = True  # plant time stands still: a new breakdown of the machine would reset its comment
        request.addfinalizer(lambda: setattr(plc, "held", False))
        cond = c.get_node(br.NodeId)
        machine = br.SourceName.rsplit("/", 1)[-1]
        assert br.NodeId == ua.NodeId(f"Plant/{br.SourceName}/BreakdownAlarm", idx)
        assert await (await cond.get_child(["0:AckedState", "0:Id"])).read_value() is False
        ack = ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge)
        comment = ua.Variant(ua.LocalizedText("on my way"), ua.VariantType.LocalizedText)
        with pytest.raises(ua.UaStatusCodeError) as e:
            await cond.call_method(ack, ua.Variant(b"not-the-event", ua.VariantType.ByteString), comment)
        assert e.value.code == ua.StatusCodes.BadEventIdUnknown
        await cond.call_method(ack, ua.Variant(br.EventId, ua.VariantType.ByteString), comment)
        assert plc.alarms.acked(machine)
        await until(_reads(await cond.get_child(["0:AckedState", "0:Id"]), True), what="AckedState/Id on the condition")
        comment_node = await cond.get_child("0:Comment")

        async def commented() -> bool:  # the condition's variables are written one after the other
            return (await comment_node.read_value()).Text == "on my way"
        await until(commented, what="the comment on the condition")
        acked_ev = lambda: next((e for e in alarms if e.NodeId == br.NodeId  # noqa: E731
                                 and getattr(e, "Kind", None) == "alarm_acknowledged"), None)
        await until(acked_ev, what="the acknowledged condition event")
        assert acked_ev().ClientUserId == "olga" and acked_ev().Comment.Text == "on my way"

        alarms.clear()
        retained = set(srv.server.iserver.subscription_service._conditions)
        await c.get_node(ua.ObjectIds.ConditionType).call_method(
            ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh),
            ua.Variant(sub.subscription_id, ua.VariantType.UInt32))
        retained &= set(srv.server.iserver.subscription_service._conditions)
        await until(lambda: retained <= {e.NodeId for e in alarms if e.Retain}, what="retained conditions re-sent")
    async with _client(srv, "vic") as viewer:
        with pytest.raises(ua.UaStatusCodeError) as e:
            await viewer.get_node(br.NodeId).call_method(ack, ua.Variant(br.EventId, ua.VariantType.ByteString),
                                                         comment)
        assert e.value.code in (ua.StatusCodes.BadUserAccessDenied, ua.StatusCodes.BadEventIdUnknown)
