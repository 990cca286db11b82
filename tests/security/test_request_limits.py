"""No request monopolises the event loop (issue 17): every service whose cost grows with the
request refuses an oversized one with BadTooManyOperations before doing the work, an over-long
browse path is refused per path, a HistoryRead shares its response among its nodes and pages
the rest, publishing and sampling intervals are revised up to the minimums, and the limits are
published in ServerCapabilities/OperationLimits. Each attack is sent raw (client.uaclient, no
client-side checks) while a witness client reads a tag; the witness is served."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from asyncua import ua

from tests.support.opcua_harness import NS, client, plant_node, running_plant, until

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIMITS = {"max_nodes_per_read": 50, "max_nodes_per_write": 20, "max_nodes_per_browse": 30,
          "max_paths_per_translate": 25, "max_browse_path_elements": 8,
          "max_nodes_per_call": 5, "max_monitored_items_per_call": 60, "max_nodes_per_history_read": 10,
          "max_history_values_per_response": 10, "min_publishing_interval_ms": 50.0,
          "min_sampling_interval_ms": 80.0}
TAG = "GearLine/KPIs/WIP"
TOO_MANY = ua.StatusCodes.BadTooManyOperations


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    async with running_plant(tmp_path_factory.mktemp("limits"), **LIMITS) as (_plc, srv):
        yield srv


@pytest_asyncio.fixture(loop_scope="module")
async def attacker(plant):
    """An engineer's session (every service allowed) sending raw requests, and the tag's node id."""
    async with client(plant, "eve") as c:
        idx = await c.get_namespace_index(NS)
        yield c, plant_node(c, idx, TAG).nodeid


async def _refused_while_witness_reads(srv, attack) -> None:
    """The attack is refused with BadTooManyOperations; a witness reads the tag meanwhile."""
    async with client(srv) as w:
        idx = await w.get_namespace_index(NS)
        witness = plant_node(w, idx, TAG)

        async def refused() -> int:
            with pytest.raises(ua.UaStatusCodeError) as e:
                await attack
            return e.value.code
        code, value = await asyncio.gather(refused(), witness.read_value())
        assert code == TOO_MANY
        assert value is not None


def _reads(nid: ua.NodeId, n: int) -> ua.ReadParameters:
    return ua.ReadParameters(NodesToRead=[ua.ReadValueId(NodeId=nid, AttributeId=ua.AttributeIds.Value)] * n)


async def test_a_read_of_too_many_nodes_is_refused_and_one_within_the_limit_served(plant, attacker):
    c, nid = attacker
    await _refused_while_witness_reads(plant, c.uaclient.read(_reads(nid, LIMITS["max_nodes_per_read"] + 1)))
    values = await c.uaclient.read(_reads(nid, LIMITS["max_nodes_per_read"]))
    assert len(values) == LIMITS["max_nodes_per_read"] and all(v.StatusCode.is_good() for v in values)


async def test_a_write_of_too_many_nodes_is_refused_and_nothing_written(plant, attacker):
    c, _ = attacker
    idx = await c.get_namespace_index(NS)
    k2 = plant_node(c, idx, "GearLine/Control/K2_A")
    before = await k2.read_value()
    wv = ua.WriteValue(NodeId=k2.nodeid, AttributeId=ua.AttributeIds.Value,
                       Value=ua.DataValue(ua.Variant(before + 1, ua.VariantType.Int32)))
    params = ua.WriteParameters(NodesToWrite=[wv] * (LIMITS["max_nodes_per_write"] + 1))
    await _refused_while_witness_reads(plant, c.uaclient.write(params))
    assert await k2.read_value() == before


async def test_a_browse_of_too_many_nodes_is_refused(plant, attacker):
    c, _ = attacker
    desc = ua.BrowseDescription(NodeId=ua.NodeId(ua.ObjectIds.ObjectsFolder), BrowseDirection=ua.BrowseDirection.Both,
                                IncludeSubtypes=True, ResultMask=ua.BrowseResultMask.All)
    params = ua.BrowseParameters(NodesToBrowse=[desc] * (LIMITS["max_nodes_per_browse"] + 1))
    await _refused_while_witness_reads(plant, c.uaclient.browse(params))


async def test_a_call_of_too_many_methods_is_refused(plant, attacker):
    c, _ = attacker
    request = ua.CallMethodRequest(ObjectId=ua.NodeId(ua.ObjectIds.Server),
                                   MethodId=ua.NodeId(ua.ObjectIds.Server_GetMonitoredItems),
                                   InputArguments=[ua.Variant(1, ua.VariantType.UInt32)])
    await _refused_while_witness_reads(plant, c.uaclient.call([request] * (LIMITS["max_nodes_per_call"] + 1)))


def _path(elements: int) -> ua.BrowsePath:
    hop = ua.RelativePathElement(ReferenceTypeId=ua.NodeId(ua.ObjectIds.Organizes),
                                 IncludeSubtypes=True, IsInverse=False, TargetName=ua.QualifiedName("Server", 0))
    return ua.BrowsePath(StartingNode=ua.NodeId(ua.ObjectIds.ObjectsFolder),
                         RelativePath=ua.RelativePath(Elements=[hop] * elements))


async def test_translating_too_many_paths_is_refused(plant, attacker):
    c, _ = attacker
    paths = [_path(1)] * (LIMITS["max_paths_per_translate"] + 1)
    await _refused_while_witness_reads(plant, c.uaclient.translate_browsepaths_to_nodeids(paths))


async def test_an_over_long_path_is_refused_before_it_is_decoded_and_a_short_one_answered(plant, attacker):
    c, _ = attacker
    longest = LIMITS["max_browse_path_elements"]
    await _refused_while_witness_reads(plant, c.uaclient.translate_browsepaths_to_nodeids([_path(1), _path(longest + 1)]))
    await _refused_while_witness_reads(plant, c.uaclient.translate_browsepaths_to_nodeids([_path(100_000)]))
    results = await c.uaclient.translate_browsepaths_to_nodeids([_path(1), _path(1)])
    assert [r.Targets[0].TargetId for r in results] == [ua.NodeId(ua.ObjectIds.Server)] * 2


async def test_an_empty_path_is_nothing_to_do_and_the_others_are_answered(plant, attacker, caplog):
    """asyncua 2.1 alone answers the whole request with BadInternalError and logs a traceback."""
    c, _ = attacker
    results = await c.uaclient.translate_browsepaths_to_nodeids([_path(1), _path(0), _path(1)])
    assert [r.StatusCode.value for r in results] == [ua.StatusCodes.Good, ua.StatusCodes.BadNothingToDo,
                                                    ua.StatusCodes.Good]
    assert results[0].Targets[0].TargetId == results[2].Targets[0].TargetId == ua.NodeId(ua.ObjectIds.Server)
    assert "Traceback" not in caplog.text and "IndexError" not in caplog.text


async def test_too_many_monitored_items_in_one_call_are_refused_and_none_created(plant, attacker):
    c, nid = attacker
    sub = await c.create_subscription(100, None)
    item = ua.MonitoredItemCreateRequest(
        ItemToMonitor=ua.ReadValueId(NodeId=nid, AttributeId=ua.AttributeIds.Value),
        MonitoringMode=ua.MonitoringMode.Reporting,
        RequestedParameters=ua.MonitoringParameters(ClientHandle=1, SamplingInterval=100, QueueSize=1))
    params = ua.CreateMonitoredItemsParameters(SubscriptionId=sub.subscription_id,
                                               ItemsToCreate=[item] * (LIMITS["max_monitored_items_per_call"] + 1))
    await _refused_while_witness_reads(plant, c.uaclient.create_monitored_items(params))
    inner = plant.server.iserver.subscription_service.subscriptions[sub.subscription_id]
    assert not inner.monitored_item_srv._monitored_items
    await sub.delete()


def _raw(start: datetime, **kw) -> ua.ReadRawModifiedDetails:
    return ua.ReadRawModifiedDetails(IsReadModified=False, StartTime=start, EndTime=datetime.now(UTC) + timedelta(days=3650),
                                     ReturnBounds=False, **kw)


async def test_a_history_read_of_too_many_nodes_is_refused(plant, attacker):
    c, nid = attacker
    nodes = [ua.HistoryReadValueId(NodeId=nid)] * (LIMITS["max_nodes_per_history_read"] + 1)
    params = ua.HistoryReadParameters(HistoryReadDetails=_raw(ua.get_win_epoch()), NodesToRead=nodes)
    await _refused_while_witness_reads(plant, c.uaclient.history_read(params))


async def test_a_history_read_without_a_count_shares_the_response_and_pages_the_rest(plant, attacker):
    c, nid = attacker
    node = c.get_node(nid)
    start = ua.get_win_epoch() + timedelta(days=2)

    async def enough() -> bool:
        return len(await node.read_raw_history(start, datetime.now(UTC) + timedelta(days=3650))) > 20
    await until(enough, timeout=60, what="more than 20 historized values")
    params = ua.HistoryReadParameters(HistoryReadDetails=_raw(start), ReleaseContinuationPoints=False,
                                      NodesToRead=[ua.HistoryReadValueId(NodeId=nid)] * 2)
    results = await c.uaclient.history_read(params)
    share = LIMITS["max_history_values_per_response"] // 2
    assert [len(r.HistoryData.DataValues) for r in results] == [share, share]
    assert all(r.StatusCode.is_good() and r.ContinuationPoint for r in results)


async def test_publishing_and_sampling_intervals_are_revised_up_to_the_minimums(plant, attacker):
    c, nid = attacker
    sub = await c.create_subscription(1, None)
    assert sub.parameters.RequestedPublishingInterval == LIMITS["min_publishing_interval_ms"]  # the revised one
    params = ua.CreateSubscriptionParameters(RequestedPublishingInterval=0, RequestedLifetimeCount=300,
                                             RequestedMaxKeepAliveCount=10, PublishingEnabled=True)
    revised = await c.uaclient.create_subscription(params, callback=lambda _: None)
    assert revised.RevisedPublishingInterval == LIMITS["min_publishing_interval_ms"]
    item = ua.MonitoredItemCreateRequest(
        ItemToMonitor=ua.ReadValueId(NodeId=nid, AttributeId=ua.AttributeIds.Value),
        MonitoringMode=ua.MonitoringMode.Reporting,
        RequestedParameters=ua.MonitoringParameters(ClientHandle=7, SamplingInterval=1, QueueSize=1))
    created = await c.uaclient.create_monitored_items(
        ua.CreateMonitoredItemsParameters(SubscriptionId=sub.subscription_id, ItemsToCreate=[item]))
    assert created[0].StatusCode.is_good()
    assert created[0].RevisedSamplingInterval >= LIMITS["min_publishing_interval_ms"]
    inner = plant.server.iserver.subscription_service.subscriptions[sub.subscription_id]
    assert inner.data.RevisedPublishingInterval == LIMITS["min_publishing_interval_ms"]
    await sub.delete()
    await c.uaclient.delete_subscriptions([revised.SubscriptionId])


async def test_the_limits_are_published_in_operation_limits(plant, attacker):
    c, _ = attacker
    ids = ua.ObjectIds
    expected = {ids.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead: LIMITS["max_nodes_per_read"],
                ids.Server_ServerCapabilities_OperationLimits_MaxNodesPerBrowse: LIMITS["max_nodes_per_browse"],
                ids.Server_ServerCapabilities_OperationLimits_MaxNodesPerTranslateBrowsePathsToNodeIds:
                    LIMITS["max_paths_per_translate"],
                ids.Server_ServerCapabilities_OperationLimits_MaxNodesPerMethodCall: LIMITS["max_nodes_per_call"],
                ids.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall:
                    LIMITS["max_monitored_items_per_call"],
                ids.Server_ServerCapabilities_OperationLimits_MaxNodesPerHistoryReadData:
                    LIMITS["max_nodes_per_history_read"],
                ids.Server_ServerCapabilities_MinSupportedSampleRate: LIMITS["min_sampling_interval_ms"]}
    for nid, value in expected.items():
        assert await c.get_node(nid).read_value() == value


async def test_a_read_at_more_times_than_a_nodes_share_is_refused(plant, attacker):
    c, nid = attacker
    share = LIMITS["max_history_values_per_response"] // 2
    now = datetime.now(UTC)
    details = ua.ReadAtTimeDetails(ReqTimes=[now - timedelta(seconds=i) for i in range(share + 1)])
    params = ua.HistoryReadParameters(HistoryReadDetails=details, NodesToRead=[ua.HistoryReadValueId(NodeId=nid)] * 2)
    await _refused_while_witness_reads(plant, c.uaclient.history_read(params))
    details.ReqTimes = details.ReqTimes[:share]
    results = await c.uaclient.history_read(params)
    assert all(r.StatusCode.is_good() for r in results)
