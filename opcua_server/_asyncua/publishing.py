"""Notifications per Publish response bounded (`max_notifications_per_publish`).

asyncua puts every queued notification of a subscription into one PublishResponse and
ignores MaxNotificationsPerPublish: 10,000 monitored items on a changing tag make a
response whose encoding alone holds the event loop for about 120 ms at every publishing
interval (50,000: over half a second). Here a response takes at most the limit, oldest
items first, and says MoreNotifications; the rest go out at the next publishing interval
(Part 4, 5.13.1: a server may bound the notifications per message).
Upstream: honour MaxNotificationsPerPublish and a server maximum."""

from __future__ import annotations

import itertools
from typing import Any

from asyncua import ua
from asyncua.server.internal_subscription import InternalSubscription


class BoundedSubscription(InternalSubscription):
    """asyncua's subscription whose Publish responses hold at most `max_notifications`
    data changes (set by `bound_notifications`; asyncua creates the instance)."""

    max_notifications: int

    def _pop_triggered_datachanges(self, result: ua.PublishResult) -> None:
        queues: dict[int, list[Any]] = self._triggered_datachanges
        if not queues:
            return
        taken: list[Any] = []
        for mid in list(itertools.islice(queues, self.max_notifications)):
            room = self.max_notifications - len(taken)
            if room <= 0:
                break
            queue = queues[mid]
            taken += queue[:room]
            del queue[:room]
            if not queue:
                del queues[mid]
        result.NotificationMessage.NotificationData.append(ua.DataChangeNotification(MonitoredItems=taken))

    def _pop_publish_result(self) -> ua.PublishResult:
        result = super()._pop_publish_result()
        result.MoreNotifications = bool(self._triggered_datachanges) and self._publishing_enabled
        return result


def bound_notifications(sub: InternalSubscription, limit: int) -> None:
    """Make the subscription asyncua has just created a BoundedSubscription of `limit`
    (asyncua's SubscriptionService builds InternalSubscription itself, with no factory)."""
    sub.__class__ = BoundedSubscription
    assert isinstance(sub, BoundedSubscription)
    sub.max_notifications = limit
