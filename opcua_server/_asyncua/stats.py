"""The server's load read from asyncua's objects for the metrics (`opcua_server.metrics`):
connections, sessions, the clients' subscriptions (not the server's own, which feeds history)
and their monitored items, and what waits to be published.

Read from the metrics thread while the event loop runs: every figure is a length or a sum
over a copied list (copies of dicts and lists are atomic under the GIL), so a scrape never
waits for the loop and a figure may be one change old."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asyncua.server.internal_subscription import InternalSubscription
from asyncua.server.server import Server

from ..traffic import Traffic
from .publishing import BoundedSubscription
from .sessions import PlantInternalServer


@dataclass(frozen=True)
class ServerLoad:
    connections: int
    sessions: int
    subscriptions: int
    monitored_items: int
    queued_notifications: int
    """Data changes and events waiting in subscriptions for a Publish response."""
    unacknowledged_messages: int
    """Notification messages sent and kept for Republish until the client acknowledges them."""
    publish_requests: int
    """Publish requests the clients have sent that wait for something to publish."""


def load_of(server: Server) -> ServerLoad:
    """The load of a server (PlantUaServer; before it listens: no connections)."""
    iserver = server.iserver
    assert isinstance(iserver, PlantInternalServer)
    clients: list[Any] = list(server.bserver.clients) if server.bserver is not None else []
    subs: list[InternalSubscription] = [s for s in list(iserver.subscription_service.subscriptions.values())
                                        if isinstance(s, BoundedSubscription)]  # not the server's own (history)
    processors = [p for p in (getattr(c, "processor", None) for c in clients) if p is not None]
    return ServerLoad(
        connections=len(processors), sessions=len(iserver.open_sessions), subscriptions=len(subs),
        monitored_items=sum(len(s.monitored_item_srv._monitored_items) for s in subs),
        queued_notifications=sum(_queued(s) for s in subs),
        unacknowledged_messages=sum(len(s._not_acknowledged_results) for s in subs),
        publish_requests=sum(len(p._publish_requests) for p in processors))


def traffic_of(server: Server) -> Traffic:
    """The server's counts of what it sent (`traffic`)."""
    assert isinstance(server.iserver, PlantInternalServer)
    return server.iserver.traffic


def _queued(sub: InternalSubscription) -> int:
    changes = sum(len(q) for q in list(sub._triggered_datachanges.values()))
    events = sum(len(q) for q in list(sub._triggered_events.values()))
    return changes + events
