"""Browse continuation points (issue 17.1): a Browse result holds at most the client's
RequestedMaxReferencesPerNode and never more than `max_references_per_node`; the rest comes
through BrowseNext, which continues or releases a point; a session holds at most
`max_browse_continuation_points` (BadNoContinuationPoints past them) while another session is
served. Raw BrowseRequest / BrowseNextRequest from an asyncua client with its checks off."""

import pytest
import pytest_asyncio
from asyncua import ua

from tests.support.opcua_harness import NS, client, plant_node, running_plant

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIMITS = {"max_references_per_node": 7, "max_browse_continuation_points": 3}
SERVER = ua.NodeId(ua.ObjectIds.Server)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory):
    async with running_plant(tmp_path_factory.mktemp("browse"), **LIMITS) as (_plc, srv):
        yield srv


def _browse(node: ua.NodeId, per_node: int = 0, copies: int = 1) -> ua.BrowseParameters:
    desc = ua.BrowseDescription(NodeId=node, BrowseDirection=ua.BrowseDirection.Both, IncludeSubtypes=True,
                                ReferenceTypeId=ua.NodeId(ua.ObjectIds.References), ResultMask=ua.BrowseResultMask.All)
    return ua.BrowseParameters(NodesToBrowse=[desc] * copies, RequestedMaxReferencesPerNode=per_node)


def _next(point: bytes, release: bool = False) -> ua.BrowseNextParameters:
    return ua.BrowseNextParameters(ContinuationPoints=[point], ReleaseContinuationPoints=release)


async def _all_pages(c, per_node: int) -> tuple[list[ua.ReferenceDescription], list[int]]:
    (result,) = await c.uaclient.browse(_browse(SERVER, per_node))
    refs, pages = list(result.References), [len(result.References)]
    while result.ContinuationPoint:
        (result,) = await c.uaclient.browse_next(_next(result.ContinuationPoint))
        assert result.StatusCode.is_good()
        refs += result.References
        pages.append(len(result.References))
    return refs, pages


async def _every_reference(srv) -> list[ua.NodeId]:
    """The Server object's references as the server itself browses them (no limit)."""
    return [r.NodeId for r in await srv.server.get_node(SERVER).get_references(direction=ua.BrowseDirection.Both)]


async def test_results_are_cut_to_the_server_limit_and_browse_next_gives_the_rest_once(plant):
    expected = await _every_reference(plant)
    assert len(expected) > 2 * LIMITS["max_references_per_node"]
    async with client(plant) as c:
        refs, pages = await _all_pages(c, per_node=0)
        assert [r.NodeId for r in refs] == expected
        assert max(pages) == LIMITS["max_references_per_node"]
        refs, pages = await _all_pages(c, per_node=3)  # the client's own, smaller limit
        assert [r.NodeId for r in refs] == expected
        assert pages[:-1] == [3] * (len(pages) - 1)
        refs, _ = await _all_pages(c, per_node=1000)  # more than the server's: the server's
        assert [r.NodeId for r in refs] == expected


async def test_a_released_point_is_gone(plant):
    async with client(plant) as c:
        (result,) = await c.uaclient.browse(_browse(SERVER))
        (released,) = await c.uaclient.browse_next(_next(result.ContinuationPoint, release=True))
        assert released.StatusCode.is_good() and not released.References and not released.ContinuationPoint
        (again,) = await c.uaclient.browse_next(_next(result.ContinuationPoint))
        assert again.StatusCode.value == ua.StatusCodes.BadContinuationPointInvalid


async def test_unknown_points_are_invalid(plant):
    async with client(plant) as c:
        (result,) = await c.uaclient.browse_next(_next(b"\x00" * 16))
        assert result.StatusCode.value == ua.StatusCodes.BadContinuationPointInvalid


async def test_points_hoarded_by_one_session_are_capped_and_another_session_is_served(plant):
    capacity = LIMITS["max_browse_continuation_points"]
    async with client(plant) as hog, client(plant) as honest:
        results = await hog.uaclient.browse(_browse(SERVER, copies=capacity + 2))
        codes = [r.StatusCode.value for r in results]
        assert codes == [ua.StatusCodes.Good] * capacity + [ua.StatusCodes.BadNoContinuationPoints] * 2
        assert not any(r.References for r in results[capacity:])
        (other,) = await honest.uaclient.browse(_browse(SERVER))
        assert other.StatusCode.is_good() and other.ContinuationPoint
        await hog.uaclient.browse_next(_next(results[0].ContinuationPoint, release=True))
        (freed,) = await hog.uaclient.browse(_browse(SERVER))
        assert freed.StatusCode.is_good() and freed.ContinuationPoint
        children = await plant_node(honest, await honest.get_namespace_index(NS), "GearLine").get_children()
        assert children  # asyncua's own browsing follows the continuation points


async def test_a_browse_next_of_too_many_points_is_refused_before_it_is_decoded(tmp_path):
    async with running_plant(tmp_path, max_nodes_per_browse=2) as (_plc, srv), client(srv) as c:
        params = ua.BrowseNextParameters(ContinuationPoints=[b"x" * 16] * 3, ReleaseContinuationPoints=True)
        with pytest.raises(ua.UaStatusCodeError) as e:
            await c.uaclient.browse_next(params)
        assert e.value.code == ua.StatusCodes.BadTooManyOperations
        assert await c.get_node(SERVER).read_browse_name()


async def test_the_maximum_of_continuation_points_is_published(plant):
    async with client(plant) as c:
        node = c.get_node(ua.NodeId(ua.ObjectIds.Server_ServerCapabilities_MaxBrowseContinuationPoints))
        assert await node.read_value() == LIMITS["max_browse_continuation_points"]
