"""What the server has sent, counted for its metrics (docs/metrics.md): refused requests by
kind and status code, and notifications by kind. The processor hands every response it sends
to `Traffic.response` (and every connection it refuses to `Traffic.refused`), so no refusal
path has to count for itself.

A request is refused when its whole response is a ServiceFault (the kind is the service it
asked for), when one of the operations of a Write, Call or CreateMonitoredItems comes back Bad
(the kind is that service), or when the connection itself is refused with an Error message
(kind "Connection"). Bad results of reads and browses are not refusals (a tag of Bad quality
reads Bad). Counts only grow, on the event loop; `snapshot` copies them for a scrape from
another thread (a dict copy is atomic under the GIL)."""

from __future__ import annotations

from typing import Any

from asyncua import ua

PUBLISH_FAULTS = frozenset({ua.StatusCodes.BadTimeout, ua.StatusCodes.BadTooManyPublishRequests})
"""ServiceFaults the processor sends for queued Publish requests, whatever it is serving then."""

_OPERATIONS: dict[type, str] = {ua.WriteResponse: "Write", ua.CallResponse: "Call",
                                ua.CreateMonitoredItemsResponse: "CreateMonitoredItems"}


def service_name(typeid: ua.NodeId | None) -> str:
    """'Write' for the type id of a WriteRequest's binary encoding; 'Unknown' when it names none."""
    if typeid is None or not isinstance(typeid.Identifier, int):
        return "Unknown"
    name = ua.ObjectIdNames.get(typeid.Identifier, "Unknown")
    return name.removesuffix("_Encoding_DefaultBinary").removesuffix("Request")


class Traffic:
    """Counts of one server's responses."""

    def __init__(self) -> None:
        self.refusals: dict[tuple[str, str], int] = {}
        """(kind, status code name) -> requests or operations refused."""
        self.notifications: dict[str, int] = {"data_change": 0, "event": 0}
        """Notifications sent in Publish responses, by kind."""
        self.publish_responses = 0

    def refused(self, kind: str, code: int) -> None:
        key = (kind, ua.StatusCode(code).name)
        self.refusals[key] = self.refusals.get(key, 0) + 1

    def response(self, response: Any, serving: ua.NodeId | None) -> None:
        """Count one response about to be sent; `serving` is the type id of the request the
        connection is processing (the one a ServiceFault answers)."""
        if isinstance(response, ua.PublishResponse):
            self._publish(response)
        elif isinstance(response, ua.ServiceFault):
            code = response.ResponseHeader.ServiceResult.value
            self.refused("Publish" if code in PUBLISH_FAULTS else service_name(serving), code)
        else:
            kind = _OPERATIONS.get(type(response))
            if kind is not None:
                for result in response.Results:
                    code = result if isinstance(result, ua.StatusCode) else result.StatusCode
                    if code.is_bad():
                        self.refused(kind, code.value)

    def _publish(self, response: ua.PublishResponse) -> None:
        self.publish_responses += 1
        for data in response.Parameters.NotificationMessage.NotificationData:
            if isinstance(data, ua.DataChangeNotification):
                self.notifications["data_change"] += len(data.MonitoredItems)
            elif isinstance(data, ua.EventNotificationList):
                self.notifications["event"] += len(data.Events)

    def snapshot(self) -> tuple[dict[tuple[str, str], int], dict[str, int], int]:
        return dict(self.refusals), dict(self.notifications), self.publish_responses
