"""The size of a request read from its encoded body before asyncua decodes it: decoding is
itself the cost of a huge request (100 paths x 1,000 elements: a second of the event loop
before any check could run). `request_limits.oversized` decides; this reads the counts."""

from __future__ import annotations

from collections.abc import Callable

from asyncua import ua
from asyncua.common.utils import Buffer
from asyncua.ua.ua_binary import Primitives, extensionobject_from_binary, nodeid_from_binary

from ..request_limits import Counts
from ..settings import ServerSettings

_ID = ua.ObjectIds


Counter = Callable[[Buffer, ServerSettings], Counts]


def _array_at(offset: int) -> Counter:
    def count(body: Buffer, _limits: ServerSettings) -> Counts:
        body.read(offset)
        return Counts(Primitives.Int32.unpack(body))
    return count


def _browse(body: Buffer, _limits: ServerSettings) -> Counts:
    nodeid_from_binary(body)  # View.ViewId
    body.read(8 + 4 + 4)  # View.Timestamp, View.ViewVersion, RequestedMaxReferencesPerNode
    return Counts(Primitives.Int32.unpack(body))


def _history_read(body: Buffer, _limits: ServerSettings) -> Counts:
    extensionobject_from_binary(body)  # HistoryReadDetails
    body.read(4 + 1)  # TimestampsToReturn, ReleaseContinuationPoints
    return Counts(Primitives.Int32.unpack(body))


def _translate(body: Buffer, limits: ServerSettings) -> Counts:
    """The paths and the longest path's elements, read path by path: after a path longer than
    `max_browse_path_elements` nothing more is read, nor after too many paths (so at most
    `max_paths_per_translate` x `max_browse_path_elements` elements are skipped)."""
    paths = Primitives.Int32.unpack(body)
    if paths > limits.max_paths_per_translate:
        return Counts(paths)
    return Counts(paths, _longest_path(body, max(paths, 0), limits.max_browse_path_elements))


def _longest_path(body: Buffer, paths: int, longest: int) -> int:
    most = 0
    for _ in range(paths):
        nodeid_from_binary(body)  # StartingNode
        elements = Primitives.Int32.unpack(body)
        most = max(most, elements)
        if elements > longest:
            return most
        for _ in range(max(elements, 0)):
            nodeid_from_binary(body)  # ReferenceTypeId
            body.read(2 + 2)  # IsInverse, IncludeSubtypes, TargetName.NamespaceIndex
            size = Primitives.Int32.unpack(body)
            body.read(max(size, 0))
    return most


COUNTERS: dict[ua.NodeId, tuple[str, Counter]] = {
    ua.NodeId(_ID.ReadRequest_Encoding_DefaultBinary): ("max_nodes_per_read", _array_at(8 + 4)),
    ua.NodeId(_ID.WriteRequest_Encoding_DefaultBinary): ("max_nodes_per_write", _array_at(0)),
    ua.NodeId(_ID.CallRequest_Encoding_DefaultBinary): ("max_nodes_per_call", _array_at(0)),
    ua.NodeId(_ID.CreateMonitoredItemsRequest_Encoding_DefaultBinary): ("max_monitored_items_per_call", _array_at(4 + 4)),
    ua.NodeId(_ID.ModifyMonitoredItemsRequest_Encoding_DefaultBinary): ("max_monitored_items_per_call", _array_at(4 + 4)),
    ua.NodeId(_ID.BrowseRequest_Encoding_DefaultBinary): ("max_nodes_per_browse", _browse),
    ua.NodeId(_ID.BrowseNextRequest_Encoding_DefaultBinary): ("max_nodes_per_browse", _array_at(1)),
    ua.NodeId(_ID.HistoryReadRequest_Encoding_DefaultBinary): ("max_nodes_per_history_read", _history_read),
    ua.NodeId(_ID.TranslateBrowsePathsToNodeIdsRequest_Encoding_DefaultBinary): ("max_paths_per_translate", _translate),
}
"""Per service: its limit's setting and how to read the request's counts (the fields before
the array follow Part 6's encoding of the request's parameters)."""


def counts(typeid: ua.NodeId, body: Buffer, limits: ServerSettings) -> tuple[str, Counts] | None:
    """The request's limit and counts (read from a copy of the body), None for other services.
    A body too short to hold them: None (asyncua's decoder then refuses it as it would)."""
    found = COUNTERS.get(typeid)
    if found is None:
        return None
    setting, counter = found
    try:
        return setting, counter(body.copy(), limits)
    except Exception:
        return None
