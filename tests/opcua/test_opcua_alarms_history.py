"""Alarms at the Server object, event and value history as a historian reads them: real
asyncua clients over loopback."""

from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from asyncua import ua
from asyncua.common.events import get_filter_from_event_type

from tests.support.opcua_harness import NS, running_plant, until
from tests.support.opcua_harness import client as _client
from tests.support.opcua_harness import plant_node as _node

pytestmark = pytest.mark.asyncio(loop_scope="module")

SERVER = ua.NodeId(ua.ObjectIds.Server)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    async with running_plant(tmp_path_factory.mktemp("plc")) as (plc, srv):
        yield plc, srv




class Collect:
    def __init__(self):
        self.events = []

    def event_notification(self, event):
        self.events.append(event)


def _machine(event) -> str:
    """The machine of an event: its SourceName is the path below Plant (GearLine/MP1/MP1)."""
    return event.SourceName.rsplit("/", 1)[-1]


def _params(**kw) -> ua.HistoryReadParameters:
    """HistoryRead parameters that keep continuation points (asyncua's default releases them)."""
    return ua.HistoryReadParameters(ReleaseContinuationPoints=False, **kw)


def _far_future():
    return datetime.now(UTC) + timedelta(days=3650)


async def test_the_server_object_gets_every_plant_and_condition_event(plant):
    plc, srv = plant
    async with _client(srv, "olga") as c:
        idx = await c.get_namespace_index(NS)
        plant_type = await c.nodes.base_event_type.get_child(f"{idx}:PlantEventType")
        alarm_type = await c.get_node(ua.NodeId(ua.ObjectIds.AlarmConditionType)).get_child(f"{idx}:BreakdownAlarmType")
        at_server, at_line = Collect(), Collect()
        sub = await c.create_subscription(50, at_server)
        await sub.subscribe_events(c.nodes.server, [plant_type, alarm_type])
        sub2 = await c.create_subscription(50, at_line)
        await sub2.subscribe_events(_node(c, idx, "GearLine"), [plant_type, alarm_type])
        seen = []
        stop = plc.on_event(seen.append)
        try:
            await until(lambda: any(e.kind == "breakdown" for e in seen), timeout=60, what="a breakdown in the PLC")
            await until(lambda: any(getattr(e, "ConditionName", None) for e in at_server.events),
                        what="a condition event at the Server object")
            await until(lambda: any(getattr(e, "Kind", None) == "breakdown" and not getattr(e, "ConditionName", None)
                                    for e in at_server.events), what="a plant event at the Server object")
        finally:
            stop()
        await until(lambda: any(getattr(e, "ConditionName", None) for e in at_line.events),
                    what="the line notifying its machines' alarms")
        # the notifier tree: Server -> line -> stations -> machines, and truthful EventNotifier bits
        line = _node(c, idx, "GearLine")
        assert line.nodeid in {n.nodeid for n in await c.nodes.server.get_referenced_nodes(ua.ObjectIds.HasNotifier)}
        stations = await line.get_referenced_nodes(ua.ObjectIds.HasNotifier)
        assert {n.nodeid for n in stations} == {ua.NodeId(f"Plant/GearLine/MP{i}", idx) for i in (1, 2, 3)}
        machines = await stations[0].get_referenced_nodes(ua.ObjectIds.HasNotifier)
        assert len(machines) == 1
        sources = await machines[0].get_referenced_nodes(ua.ObjectIds.HasEventSource)
        assert [n.nodeid.Identifier.split("/")[-1] for n in sources] == ["BreakdownAlarm"]
        both = ua.EventNotifier.SubscribeToEvents.mask | ua.EventNotifier.HistoryRead.mask
        for node in (c.nodes.server, line, stations[0], machines[0]):
            assert (await node.read_attribute(ua.AttributeIds.EventNotifier)).Value.Value == both
        buffer = _node(c, idx, "GearLine/MP1/OutputBuffer")
        assert (await buffer.read_attribute(ua.AttributeIds.EventNotifier)).Value.Value == 0
        await sub.delete()
        await sub2.delete()


async def test_event_history_at_the_server_and_at_each_source(plant):
    _plc, srv = plant
    await until(lambda: srv.history and srv.history.written > 0, what="history written")
    async with _client(srv) as c:
        idx = await c.get_namespace_index(NS)
        evs = []

        async def some_events():
            evs[:] = await c.nodes.server.read_event_history(None, _far_future())
            return len(evs) >= 3
        await until(some_events, timeout=60, what="events in the Server's history")
        for path in ("GearLine", "GearLine/MP1", "GearLine/MP1/MP1"):
            await _node(c, idx, path).read_event_history(None, _far_future())
        times = [e.Time for e in evs]
        assert times == sorted(times, reverse=True), "no start time: newest first"
        sources = {e.SourceNode for e in evs}
        machine_evs = await _node(c, idx, "GearLine/MP2/MP2").read_event_history(None, _far_future())
        assert {e.SourceNode for e in machine_evs} <= {ua.NodeId("Plant/GearLine/MP2/MP2", idx)}
        assert sources, "events carry their source"
        # paging: two events per call, continuation points until done, nothing lost or repeated
        details = ua.ReadEventDetails(StartTime=ua.get_win_epoch() + timedelta(days=2), EndTime=_far_future(),
                                      NumValuesPerNode=2)
        details.Filter = await get_filter_from_event_type([c.nodes.base_event_type])
        ids, cont, pages = [], None, 0
        total = len(await c.nodes.server.read_event_history(None, _far_future()))
        while True:
            rv = ua.HistoryReadValueId(NodeId=SERVER, ContinuationPoint=cont)
            res = (await c.uaclient.history_read(_params(HistoryReadDetails=details, NodesToRead=[rv])))[0]
            assert res.StatusCode.is_good()
            pages += 1
            ids += [bytes(f.EventFields[0].Value) for f in res.HistoryData.Events]
            cont = res.ContinuationPoint
            if not cont or pages > 1000:
                break
        assert pages >= 2 and len(ids) == len(set(ids)) >= min(total, 3)


async def test_acknowledge_twice_and_commands_without_a_reason(plant):
    plc, srv = plant
    async with _client(srv, "olga") as c:
        idx = await c.get_namespace_index(NS)
        alarm_type = await c.get_node(ua.NodeId(ua.ObjectIds.AlarmConditionType)).get_child(f"{idx}:BreakdownAlarmType")
        got = Collect()
        sub = await c.create_subscription(50, got)
        await sub.subscribe_alarms_and_conditions(c.nodes.server, alarm_type)

        def fresh():
            return next((e for e in reversed(got.events) if getattr(e, "Kind", None) == "breakdown"
                         and not plc.alarms.acked(_machine(e))), None)
        await until(fresh, timeout=60, what="an unacknowledged breakdown at the Server object")
        br = fresh()
        cond = c.get_node(br.NodeId)
        ack = ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge)
        comment = ua.Variant(ua.LocalizedText("seen"), ua.VariantType.LocalizedText)
        await cond.call_method(ack, ua.Variant(br.EventId, ua.VariantType.ByteString), comment)
        with pytest.raises(ua.UaStatusCodeError) as e:
            await cond.call_method(ack, ua.Variant(br.EventId, ua.VariantType.ByteString), comment)
        assert e.value.code == ua.StatusCodes.BadConditionBranchAlreadyAcked
        with pytest.raises(ua.UaStatusCodeError) as e:
            await _node(c, idx, br.SourceName).call_method(
                ua.QualifiedName("AcknowledgeAlarm", idx))
        assert e.value.code == ua.StatusCodes.BadConditionBranchAlreadyAcked
        assert "acknowledged" in str(e.value), "the status's text tells the client why"
        await sub.delete()
        # A reset without its reason (down, unacknowledged or no fault) is BadInvalidState. The
        # plant is held so the machine chosen keeps its state until the call; at 36,000x every
        # machine may have broken down (and carry a fault) by now, so any such machine will do.
        plc.held = True
        try:
            name = next((m for m in ("MP1", "MP2", "MP3") if plc.model.machine(m).failed
                         or not plc.alarms.acked(m) or not plc.alarms.fault(m)), None)
            assert name, "every machine repaired, acknowledged and faulted: none to refuse a reset"
            with pytest.raises(ua.UaStatusCodeError) as e:
                await _node(c, idx, f"GearLine/{name}/{name}").call_method(ua.QualifiedName("ResetFault", idx))
            assert e.value.code == ua.StatusCodes.BadInvalidState
        finally:
            plc.held = False


async def test_value_history_pages_with_continuation_points(plant):
    _plc, srv = plant
    async with _client(srv) as c:
        idx = await c.get_namespace_index(NS)
        node = _node(c, idx, "GearLine/KPIs/WIP")
        start = ua.get_win_epoch() + timedelta(days=2)

        async def enough():
            return len(await node.read_raw_history(start, _far_future())) > 120
        await until(enough, timeout=60, what="more than 120 historized values")
        details = ua.ReadRawModifiedDetails(IsReadModified=False, StartTime=start, EndTime=_far_future(),
                                            NumValuesPerNode=50, ReturnBounds=False)
        stamps, cont, pages = [], None, 0
        first = None
        while True:
            res = (await c.uaclient.history_read(_params(
                HistoryReadDetails=details, TimestampsToReturn=ua.TimestampsToReturn.Both,
                NodesToRead=[ua.HistoryReadValueId(NodeId=node.nodeid, ContinuationPoint=cont)])))[0]
            assert res.StatusCode.is_good()
            first = first or res
            stamps += [dv.SourceTimestamp for dv in res.HistoryData.DataValues]
            pages += 1
            cont = res.ContinuationPoint
            if not cont or pages >= 1000:
                break
        released = (await c.uaclient.history_read(ua.HistoryReadParameters(
            HistoryReadDetails=details, ReleaseContinuationPoints=True,
            NodesToRead=[ua.HistoryReadValueId(NodeId=node.nodeid, ContinuationPoint=first.ContinuationPoint)])))[0]
        assert released.StatusCode.is_good() and not released.ContinuationPoint
        assert first.ContinuationPoint, "50 of more than 120 values comes with a continuation point"
        assert len(first.HistoryData.DataValues) == 50
        assert pages >= 3 and len(stamps) > 120 and stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


async def test_history_of_nodes_without_history_is_refused(plant):
    _, srv = plant
    async with _client(srv) as c:
        idx = await c.get_namespace_index(NS)
        details = ua.ReadRawModifiedDetails(IsReadModified=False, StartTime=ua.get_win_epoch() + timedelta(days=2),
                                            EndTime=_far_future(), NumValuesPerNode=10)
        nodes = [ua.NodeId("Plant/GearLine/MP1/MP1/GoodParts", idx), ua.NodeId("Plant/GearLine/NoSuchTag", idx)]
        res = await c.uaclient.history_read(_params(
            HistoryReadDetails=details, NodesToRead=[ua.HistoryReadValueId(NodeId=n) for n in nodes]))
        assert [r.StatusCode.value for r in res] == [ua.StatusCodes.BadHistoryOperationUnsupported,
                                                    ua.StatusCodes.BadNodeIdUnknown]


async def test_read_at_time_and_aggregates(plant):
    _plc, srv = plant
    async with _client(srv) as c:
        idx = await c.get_namespace_index(NS)
        node = _node(c, idx, "GearLine/MP1/MP1/PowerKW")
        start = ua.get_win_epoch() + timedelta(days=2)
        raw = []

        async def enough():
            raw[:] = await node.read_raw_history(start, _far_future())
            return len(raw) > 20
        await until(enough, timeout=60, what="historized power values")
        t0, t1 = raw[0].SourceTimestamp, raw[-1].SourceTimestamp
        at = ua.ReadAtTimeDetails(ReqTimes=[raw[3].SourceTimestamp, t0 - timedelta(days=400)], UseSimpleBounds=True)
        res = (await c.uaclient.history_read(_params(
            HistoryReadDetails=at, NodesToRead=[ua.HistoryReadValueId(NodeId=node.nodeid)])))[0]
        exact, before = res.HistoryData.DataValues
        assert exact.Value.Value == raw[3].Value.Value
        assert before.StatusCode.value == ua.StatusCodes.BadNoData
        values = [dv.Value.Value for dv in raw]
        span = t1 - t0
        aggregates = {name: ua.NodeId(getattr(ua.ObjectIds, f"AggregateFunction_{name}"))
                      for name in ("Average", "Minimum", "Maximum", "Count", "Interpolative", "TimeAverage")}
        end = t1 + timedelta(microseconds=1)
        # ProcessingInterval 0: one interval over the whole range (Part 11). The span in ms as a
        # double can come back a hair shorter than the range, and the server then counts two.
        proc = ua.ReadProcessedDetails(StartTime=t0, EndTime=end, ProcessingInterval=0.0,
                                       AggregateType=list(aggregates.values()))
        res = await c.uaclient.history_read(_params(
            HistoryReadDetails=proc, NodesToRead=[ua.HistoryReadValueId(NodeId=node.nodeid)] * len(aggregates)))
        assert all(r.StatusCode.is_good() for r in res), [r.StatusCode for r in res]
        assert all(len(r.HistoryData.DataValues) == 1 for r in res), "one interval"
        got = dict(zip(aggregates, [r.HistoryData.DataValues[0].Value.Value for r in res], strict=True))
        assert got["Count"] == len(values)
        assert got["Minimum"] == min(values) and got["Maximum"] == max(values)
        assert got["Average"] == pytest.approx(sum(values) / len(values))
        assert got["Interpolative"] == values[0]
        assert min(values) <= got["TimeAverage"] <= max(values)
        assert span.total_seconds() > 0
        caps = c.get_node(ua.ObjectIds.HistoryServerCapabilities)
        assert await (await caps.get_child("0:AccessHistoryDataCapability")).read_value() is True
        assert await (await caps.get_child("0:InsertDataCapability")).read_value() is False
        funcs = await (await caps.get_child("0:AggregateFunctions")).get_referenced_nodes(ua.ObjectIds.Organizes)
        assert set(aggregates.values()) <= {n.nodeid for n in funcs}
