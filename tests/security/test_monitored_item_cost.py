"""Monitored items cannot stall the server (issue 17.3): items past the limits per session and
per server are refused one by one with BadTooManyMonitoredItems before any work; the
data-change fan-out of a scan and the creation of items run in slices
(`notifications_per_slice`), the loop serving other clients between them; a Publish response
holds at most `max_notifications_per_publish` notifications, the rest following with
MoreNotifications. Each attack comes from a client with its checks off (raw requests), and
an honest client is served afterwards within its deadline."""

from collections import Counter
from contextlib import AsyncExitStack

import pytest
import pytest_asyncio
from asyncua import ua

from opcua_server._asyncua.fanout import write_value
from opcua_server.slicing import Slices
from tests.support.opcua_harness import NS, client, plant_node, running_plant, until

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIMITS = {"max_monitored_items_per_session": 300, "max_monitored_items_total": 500,
          "max_monitored_items_per_call": 100, "notifications_per_slice": 50,
          "max_notifications_per_publish": 100}
TAG = "GearLine/KPIs/WIP"
"""A tag that changes at almost every scan."""
TOO_MANY = ua.StatusCodes.BadTooManyMonitoredItems


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    async with running_plant(tmp_path_factory.mktemp("items"), **LIMITS) as (_plc, srv):
        yield srv


def _items(nid: ua.NodeId, n: int, first_handle: int = 1) -> list[ua.MonitoredItemCreateRequest]:
    return [ua.MonitoredItemCreateRequest(
        ItemToMonitor=ua.ReadValueId(NodeId=nid, AttributeId=ua.AttributeIds.Value),
        MonitoringMode=ua.MonitoringMode.Reporting,
        RequestedParameters=ua.MonitoringParameters(ClientHandle=first_handle + i, SamplingInterval=0, QueueSize=1))
        for i in range(n)]


async def _hoard(c, nid: ua.NodeId, asked: int, on_publish=None) -> tuple[int, list[ua.StatusCode]]:
    """A raw subscription and `asked` items on the tag in calls of the per-call limit: the
    subscription id and every item's status."""
    params = ua.CreateSubscriptionParameters(RequestedPublishingInterval=100, RequestedLifetimeCount=300,
                                             RequestedMaxKeepAliveCount=10, PublishingEnabled=True)
    sub = await c.uaclient.create_subscription(params, on_publish or (lambda _result: None))
    codes: list[ua.StatusCode] = []
    per_call = LIMITS["max_monitored_items_per_call"]
    for start in range(0, asked, per_call):
        batch = _items(nid, min(per_call, asked - start), first_handle=start + 1)
        results = await c.uaclient.create_monitored_items(
            ua.CreateMonitoredItemsParameters(SubscriptionId=sub.SubscriptionId, ItemsToCreate=batch))
        codes += [r.StatusCode for r in results]
    return sub.SubscriptionId, codes


def _server_items(srv) -> int:
    return sum(len(s.monitored_item_srv._monitored_items) for s in srv.server.iserver.subscription_service.subscriptions.values())


async def _honest_client_served(srv) -> None:
    """A viewer reads the tag and gets its data changes, each within the harness deadline."""
    changes: list[object] = []

    class Handler:
        def datachange_notification(self, node, val, data):
            changes.append(val)

    async with client(srv) as honest:
        node = plant_node(honest, await honest.get_namespace_index(NS), TAG)
        assert await node.read_value() is not None
        sub = await honest.create_subscription(100, Handler())
        await sub.subscribe_data_change(node)
        await until(lambda: len(changes) >= 2, what="two data changes for the honest client")


async def test_items_past_the_session_limit_are_refused_one_by_one_and_an_honest_client_served(plant):
    async with client(plant) as hog:
        nid = plant_node(hog, await hog.get_namespace_index(NS), TAG).nodeid
        limit = LIMITS["max_monitored_items_per_session"]
        _, codes = await _hoard(hog, nid, limit + 150)
        assert [c.is_good() for c in codes] == [True] * limit + [False] * 150
        assert all(c.value == TOO_MANY for c in codes[limit:])
        _, more = await _hoard(hog, nid, 10)  # another subscription does not lift the session's bound
        assert all(c.value == TOO_MANY for c in more)
        await _honest_client_served(plant)


async def test_items_past_the_server_limit_are_refused_and_an_honest_client_still_reads(plant):
    async with AsyncExitStack() as stack:
        hogs = [await stack.enter_async_context(client(plant)) for _ in range(3)]
        nid = plant_node(hogs[0], await hogs[0].get_namespace_index(NS), TAG).nodeid
        codes = [c for hog in hogs for c in (await _hoard(hog, nid, LIMITS["max_monitored_items_per_session"]))[1]]
        assert any(c.value == TOO_MANY for c in codes)
        assert all(c.is_good() or c.value == TOO_MANY for c in codes)
        assert _server_items(plant) == LIMITS["max_monitored_items_total"]
        async with client(plant) as honest:
            assert await plant_node(honest, await honest.get_namespace_index(NS), TAG).read_value() is not None
    await until(lambda: _server_items(plant) < LIMITS["max_monitored_items_total"], what="the hogs' items deleted")


async def test_publish_responses_are_bounded_and_every_item_is_notified(plant):
    """300 items on a changing tag: no response holds more than the limit, MoreNotifications
    says when some wait, every item is notified in the end; meanwhile the fan-out pauses."""
    sizes: list[int] = []
    more: list[bool] = []
    handles: Counter[int] = Counter()

    def on_publish(result: ua.PublishResult) -> None:
        for data in result.NotificationMessage.NotificationData or []:
            if isinstance(data, ua.DataChangeNotification):
                sizes.append(len(data.MonitoredItems))
                handles.update(n.ClientHandle for n in data.MonitoredItems)
        more.append(result.MoreNotifications)

    pauses = plant.slices.pauses
    async with client(plant) as hog:
        nid = plant_node(hog, await hog.get_namespace_index(NS), TAG).nodeid
        _, codes = await _hoard(hog, nid, 300, on_publish)
        assert all(c.is_good() for c in codes)
        await until(lambda: len(handles) == 300, what="a notification for each of the 300 items",
                    detail=lambda: f"{len(handles)} items notified, responses {sizes[-5:]}")
        await until(lambda: any(more), what="a response saying MoreNotifications")
        assert max(sizes) <= LIMITS["max_notifications_per_publish"]
        assert plant.slices.pauses > pauses
        await _honest_client_served(plant)


async def test_the_fan_out_survives_items_deleted_and_added_during_it(plant):
    """Callbacks of the node deleted or added while the fan-out runs (during a pause, another
    request may do so; here a callback does it): the deleted one is skipped, the new one waits
    for the next change, nothing raises (asyncua's own loop would fail on the changed dict)."""
    aspace = plant.server.iserver.aspace
    nid = ua.NodeId(ua.ObjectIds.Server_ServerStatus_BuildInfo_ManufacturerName)
    seen: list[int] = []
    handles: list[int] = []

    async def callback(handle: int, _dv: ua.DataValue) -> None:
        seen.append(handle)
        if handle == handles[0]:
            aspace.delete_datachange_callback(handles[-1])
            aspace.add_datachange_callback(nid, ua.AttributeIds.Value, callback)

    for _ in range(12):
        handles.append(aspace.add_datachange_callback(nid, ua.AttributeIds.Value, callback)[1])
    slices = Slices(5)
    status = await write_value(aspace, nid, ua.DataValue(ua.Variant("plant-twin", ua.VariantType.String)), slices)
    assert status.is_good()
    assert seen == handles[:-1]
    assert slices.pauses == 2
    dv = await plant.server.get_node(nid).read_data_value()
    assert dv.Value.Value == "plant-twin"
