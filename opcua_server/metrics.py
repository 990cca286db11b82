"""The OPC UA server's Prometheus metrics, computed at scrape time (docs/metrics.md): the
load read from asyncua's objects (`_asyncua.stats`), what the server sent (`traffic`: refused
requests by kind and status code, notifications by kind) and the refusals the log left out
(`refusals`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from . import refusals
from ._asyncua.stats import load_of, traffic_of

if TYPE_CHECKING:
    from .server import PlantServer

_LOAD = (("connections", "plant_opcua_connections", "TCP connections open"),
         ("sessions", "plant_opcua_sessions", "client sessions (activated or not)"),
         ("subscriptions", "plant_opcua_subscriptions", "subscriptions of all sessions"),
         ("monitored_items", "plant_opcua_monitored_items", "monitored items of all subscriptions"),
         ("queued_notifications", "plant_opcua_publish_queue_notifications",
          "data changes and events waiting in subscriptions for a Publish response"),
         ("unacknowledged_messages", "plant_opcua_unacknowledged_messages",
          "notification messages sent and kept until the client acknowledges them"),
         ("publish_requests", "plant_opcua_publish_requests_waiting",
          "Publish requests of the clients waiting for something to publish"))


class ServerCollector:
    """Prometheus metrics of one PlantServer."""

    def __init__(self, server: PlantServer) -> None:
        self.server = server

    def collect(self) -> Iterator[Metric]:
        load = load_of(self.server.server)
        for field, name, doc in _LOAD:
            yield GaugeMetricFamily(name, doc, value=getattr(load, field))
        refused, notifications, publishes = traffic_of(self.server.server).snapshot()
        family = CounterMetricFamily("plant_opcua_refused_requests", "requests and operations refused, by the "
                                     "service asked for (or Connection) and the status code sent",
                                     labels=["kind", "status_code"])
        for (kind, code), n in sorted(refused.items()):
            family.add_metric([kind, code], n)
        yield family
        sent = CounterMetricFamily("plant_opcua_notifications_sent", "notifications sent in Publish responses",
                                   labels=["kind"])
        for kind, n in sorted(notifications.items()):
            sent.add_metric([kind], n)
        yield sent
        yield CounterMetricFamily("plant_opcua_publish_responses", "Publish responses sent", value=publishes)
        yield CounterMetricFamily("plant_opcua_refusals_unlogged", "refusals counted and left out of the log "
                                  "(one line per kind per refusal_log_interval_s)", value=refusals.LIMITER.suppressed)
