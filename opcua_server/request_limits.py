"""Cost limits of the services whose work grows with the request (the asyncua session that
applies them is `_asyncua.sessions.PlantSession`). asyncua 2.1 has none: it publishes 10,000
for every OperationLimits node and enforces none of them, and it grants any publishing and
sampling interval, down to 0 ms.

The counts are read from the encoded request before asyncua decodes it (`_asyncua.peek`):
decoding is itself the cost of a huge request.

* Too many operations in one request (nodes to read, write, browse, call, history read; paths
  to translate; monitored items to create or modify): the whole request is refused with
  BadTooManyOperations, as Part 4 has it, and the plant is unchanged. (RegisterNodes is
  answered by asyncua's processor with the request's own node ids, no work per node: bounded
  by `max_message_size` like every request.)
* A TranslateBrowsePaths with a relative path longer than `max_browse_path_elements`: the
  whole request is refused with BadTooManyOperations too (found before the path is decoded;
  answering the other paths would mean decoding the long one).
* A HistoryRead shares `max_history_values_per_response` among its nodes: each node gets
  at most its share per call and a continuation point for the rest (never
  BadResponseTooLarge for a response the server chose to make large).
* Publishing and sampling intervals are revised up to `min_publishing_interval_ms` and
  `min_sampling_interval_ms` (a 0 or negative request is "as fast as the server allows")."""

from __future__ import annotations

import math
from collections.abc import Sized
from dataclasses import dataclass

from asyncua import ua
from asyncua.common.utils import ServiceError

from .settings import ServerSettings

TOO_MANY = ua.StatusCodes.BadTooManyOperations


def check_operations(operations: Sized | None, limit: int) -> None:
    """Refuse a request of more than `limit` operations (BadTooManyOperations) before any work."""
    if operations is not None and len(operations) > limit:
        raise ServiceError(TOO_MANY)


@dataclass(frozen=True)
class Counts:
    """The size of one request: its operations, and for TranslateBrowsePaths the elements of
    its longest path (as far as read)."""

    operations: int
    longest_path: int = 0


def oversized(limits: ServerSettings, setting: str, counts: Counts) -> bool:
    """More operations than the setting allows, or a path longer than `max_browse_path_elements`."""
    limit: int = getattr(limits, setting)
    return counts.operations > limit or counts.longest_path > limits.max_browse_path_elements


def values_per_node(limits: ServerSettings, nodes: int) -> int:
    """Each node's share of one HistoryRead response (at least one value, so a read always advances)."""
    return max(limits.max_history_values_per_response // max(nodes, 1), 1)


def revised_interval(requested: float | None, minimum: float) -> float:
    """The interval the server grants: at least `minimum` ms (0, negative or NaN: `minimum`)."""
    if requested is None or math.isnan(requested):
        return minimum
    return max(float(requested), minimum)


def operation_limits(limits: ServerSettings) -> dict[str, int]:
    """The values of Server/ServerCapabilities/OperationLimits, so honest clients split requests."""
    return {"MaxNodesPerRead": limits.max_nodes_per_read,
            "MaxNodesPerWrite": limits.max_nodes_per_write,
            "MaxNodesPerBrowse": limits.max_nodes_per_browse,
            "MaxNodesPerTranslateBrowsePathsToNodeIds": limits.max_paths_per_translate,
            "MaxNodesPerMethodCall": limits.max_nodes_per_call,
            "MaxNodesPerHistoryReadData": limits.max_nodes_per_history_read,
            "MaxNodesPerHistoryReadEvents": limits.max_nodes_per_history_read,
            "MaxNodesPerHistoryUpdateData": 0,
            "MaxNodesPerHistoryUpdateEvents": 0,
            "MaxNodesPerNodeManagement": 0,
            "MaxMonitoredItemsPerCall": limits.max_monitored_items_per_call}
