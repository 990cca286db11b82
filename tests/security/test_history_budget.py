"""History reads have a time budget (issue 17.1): with a large history and a budget far too
short to read it, each HistoryRead answers what it read in time with a continuation point
(the nodes not started get one and no values), a witness is served meanwhile, and a client
that continues gets every value once, in order."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from asyncua import ua

from opcua_server.time_budget import SLICE
from tests.support.opcua_harness import NS, client, plant_node, running_plant

pytestmark = pytest.mark.asyncio(loop_scope="module")

VALUES = 3_000
T0 = datetime(2020, 1, 1, tzinfo=UTC)
TAG = "GearLine/KPIs/WIP"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    """A held plant whose tag has VALUES old values, one a second from T0, value i at second i."""
    async with running_plant(tmp_path_factory.mktemp("budget"), held=True, history_read_budget_ms=1.0) as (_plc, srv):
        async with client(srv) as c:
            node = plant_node(c, await c.get_namespace_index(NS), TAG)
            vtype = (await node.read_data_value()).Value.VariantType
        for i in range(VALUES):
            t = T0 + timedelta(seconds=i)
            srv.history.enqueue_value(node.nodeid, ua.DataValue(ua.Variant(i, vtype), SourceTimestamp=t, ServerTimestamp=t))
        await srv.history.flush()
        yield srv, node.nodeid


async def _read_all(c, params: ua.HistoryReadParameters) -> tuple[list[list[ua.DataValue]], list[list[int]]]:
    """Every node's values over all continuations (as a client does: the nodes that came with
    a continuation point are read again with it), and the values per node of each response."""
    got: list[list[ua.DataValue]] = [[] for _ in params.NodesToRead]
    pages: list[list[int]] = []
    pending = list(enumerate(params.NodesToRead))
    while pending:
        params.NodesToRead = [rv for _, rv in pending]
        results = await c.uaclient.history_read(params)
        assert all(r.StatusCode.is_good() for r in results)
        pages.append([len(r.HistoryData.DataValues or []) for r in results])
        for (i, rv), r in zip(pending, results, strict=True):
            got[i] += r.HistoryData.DataValues or []
            rv.ContinuationPoint = r.ContinuationPoint
        pending = [(i, rv) for i, rv in pending if rv.ContinuationPoint]
    return got, pages


async def test_a_raw_read_past_its_budget_pages_and_the_client_gets_every_value_once(plant):
    srv, nid = plant
    details = ua.ReadRawModifiedDetails(IsReadModified=False, StartTime=T0, EndTime=T0 + timedelta(days=1),
                                        NumValuesPerNode=0, ReturnBounds=False)
    params = ua.HistoryReadParameters(HistoryReadDetails=details, ReleaseContinuationPoints=False,
                                      NodesToRead=[ua.HistoryReadValueId(NodeId=nid) for _ in range(3)])
    async with client(srv) as c, client(srv) as w:
        witness = plant_node(w, await w.get_namespace_index(NS), TAG)
        (got, pages), value = await asyncio.gather(_read_all(c, params), witness.read_value())
    assert value is not None
    assert pages[0] == [SLICE, 0, 0]  # the budget ran out in the first node's first slice
    for values in got:
        assert [v.Value.Value for v in values] == list(range(VALUES))


async def test_a_processed_read_past_its_budget_continues_where_it_stopped(plant):
    srv, nid = plant
    details = ua.ReadProcessedDetails(StartTime=T0, EndTime=T0 + timedelta(seconds=VALUES), ProcessingInterval=1000.0,
                                      AggregateType=[ua.NodeId(ua.ObjectIds.AggregateFunction_Average)])
    params = ua.HistoryReadParameters(HistoryReadDetails=details, ReleaseContinuationPoints=False,
                                      NodesToRead=[ua.HistoryReadValueId(NodeId=nid)])
    async with client(srv) as c:
        (averages,), pages = await _read_all(c, params)
    assert pages[0] == [SLICE] and len(pages) == -(-VALUES // SLICE)
    assert [v.Value.Value for v in averages] == [float(i) for i in range(VALUES)]


async def test_a_continuation_point_of_a_node_not_started_reads_it_from_its_start(plant):
    srv, nid = plant
    details = ua.ReadRawModifiedDetails(IsReadModified=False, StartTime=T0, EndTime=T0 + timedelta(days=1),
                                        NumValuesPerNode=0, ReturnBounds=False)
    nodes = [ua.HistoryReadValueId(NodeId=nid) for _ in range(2)]
    async with client(srv) as c:
        first = await c.uaclient.history_read(ua.HistoryReadParameters(HistoryReadDetails=details, NodesToRead=nodes,
                                                                       ReleaseContinuationPoints=False))
        assert [len(r.HistoryData.DataValues or []) for r in first] == [SLICE, 0]
        assert all(r.ContinuationPoint for r in first)
        again = [ua.HistoryReadValueId(NodeId=nid, ContinuationPoint=first[1].ContinuationPoint)]
        second = await c.uaclient.history_read(ua.HistoryReadParameters(HistoryReadDetails=details, NodesToRead=again,
                                                                        ReleaseContinuationPoints=False))
    assert [v.Value.Value for v in second[0].HistoryData.DataValues] == list(range(SLICE))
