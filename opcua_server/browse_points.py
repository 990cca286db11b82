"""Browse continuation points of one session (Part 4, 5.8.2-5.8.3, 7.6): a Browse result
holds at most RequestedMaxReferencesPerNode references, never more than
`max_references_per_node`; the rest waits behind a continuation point that BrowseNext
continues or releases. A session holds at most `max_browse_continuation_points`; past that a
node whose references do not fit is answered BadNoContinuationPoints (a client holding
points it never continues keeps the memory of one session bounded). The asyncua glue is
`_asyncua.sessions.PlantSession.browse/browse_next` and the BrowseNext dispatch in
`_asyncua.processor` (asyncua 2.1 has no BrowseNext)."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass

from asyncua import ua


@dataclass
class _Pending:
    references: list[ua.ReferenceDescription]
    per_call: int


def _result(code: int, references: list[ua.ReferenceDescription] | None = None,
            point: bytes | None = None) -> ua.BrowseResult:
    return ua.BrowseResult(StatusCode=ua.StatusCode(code), ContinuationPoint=point, References=references or [])


class BrowseContinuations:
    """The references not yet returned, per continuation point (random bytes, so a client
    cannot guess another's), at most `capacity` points."""

    def __init__(self, capacity: int, max_references: int) -> None:
        self.capacity = capacity
        self.max_references = max_references
        self._held: OrderedDict[bytes, _Pending] = OrderedDict()

    def __len__(self) -> int:
        return len(self._held)

    def per_call(self, requested: int) -> int:
        """References per node and call: the client's number (0: no limit of its own), at most the server's."""
        return min(requested, self.max_references) if requested > 0 else self.max_references

    def page(self, result: ua.BrowseResult, requested: int) -> ua.BrowseResult:
        """The node's result cut to `per_call(requested)`, the rest behind a continuation point."""
        limit = self.per_call(requested)
        if len(result.References) <= limit or not result.StatusCode.is_good():
            return result
        if len(self._held) >= self.capacity:
            return _result(ua.StatusCodes.BadNoContinuationPoints)
        return self._hand_out(result.References, limit)

    def next(self, point: bytes, release: bool) -> ua.BrowseResult:
        """BrowseNext of one continuation point: the next references (and a new point when
        more remain), or nothing when released; an unknown point BadContinuationPointInvalid."""
        pending = self._held.pop(point, None)
        if pending is None:
            return _result(ua.StatusCodes.BadContinuationPointInvalid)
        if release:
            return _result(ua.StatusCodes.Good)
        if len(pending.references) <= pending.per_call:
            return _result(ua.StatusCodes.Good, pending.references)
        return self._hand_out(pending.references, pending.per_call)

    def release_all(self) -> None:
        self._held.clear()

    def _hand_out(self, references: list[ua.ReferenceDescription], limit: int) -> ua.BrowseResult:
        point = secrets.token_bytes(16)
        self._held[point] = _Pending(references[limit:], limit)
        return _result(ua.StatusCodes.Good, references[:limit], point)
