"""The twin's health view: connection, lag from receipt to stored, spool depth, replayed and
dropped points, points per second, last calibration. The same figures go to the log, to
`<data dir>/health.json` (read by `plant twin status`) and to Prometheus metrics served on a
loopback port."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plc_sim.model.private_files import write_private

if TYPE_CHECKING:
    from .twin import Twin

log = logging.getLogger(__name__)


@dataclass
class HealthView:
    running: bool
    endpoint: str
    connected: bool
    problem: str
    gaps: int
    reconnects: int
    notifications: int
    events: int
    sink: str
    sink_up: bool
    stored: int
    points_per_s: float
    lag_p50_s: float | None
    lag_p99_s: float | None
    source_lag_s: float | None
    spool_depth: int
    replayed: int
    dropped: int
    last_calibration: float | None
    time: float

    def line(self) -> str:
        lag = "-" if self.lag_p99_s is None else f"{self.lag_p50_s:.3f}/{self.lag_p99_s:.3f} s"
        link = "connected" if self.connected else "DISCONNECTED"
        down = "" if self.sink_up else " (DOWN)"
        return (f"{link} {self.endpoint}; {self.points_per_s:,.0f} points/s to {self.sink}{down}; lag p50/p99 {lag}; "
                f"spool {self.spool_depth}; replayed {self.replayed}; dropped {self.dropped}; gaps {self.gaps}"
                + (f"; PROBLEM: {self.problem}" if self.problem else ""))


class Health:
    """Computes the view; points per second over the time since the previous view."""

    def __init__(self, twin: "Twin") -> None:
        self.twin = twin
        self.last_calibration: float | None = None
        self._prev = (time.monotonic(), 0)

    def view(self, running: bool = True) -> HealthView:
        t, h, m = self.twin, self.twin.historian, self.twin.mirror
        now = time.monotonic()
        stored = h.stats.stored
        dt = now - self._prev[0]
        rate = (stored - self._prev[1]) / dt if dt > 0 else 0.0
        self._prev = (now, stored)
        return HealthView(
            running=running, endpoint=t.settings.endpoint, connected=m.ready.is_set(), problem=m.stats.problem,
            gaps=t.state.gaps_seen, reconnects=m.stats.reconnects, notifications=m.stats.notifications,
            events=m.stats.events, sink=h.sink.name, sink_up=h.stats.sink_up, stored=stored, points_per_s=rate,
            lag_p50_s=h.stats.lag_quantile(0.5), lag_p99_s=h.stats.lag_quantile(0.99),
            source_lag_s=h.stats.source_lag_s, spool_depth=h.spool_depth,
            replayed=h.stats.replayed, dropped=h.spool.dropped + h.stats.dropped_pending,
            last_calibration=self.last_calibration, time=time.time())

    def write(self, path: Path, view: HealthView) -> None:
        # No indent: indented dumps run the pure-Python encoder, whose closures form reference
        # cycles that wait for a full collection (the soak's steps, docs/opcua.md).
        write_private(path, json.dumps(asdict(view)))


def read_health(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


class TwinCollector:
    """Prometheus metrics computed at scrape time from the live twin."""

    def __init__(self, twin: "Twin", health: Health) -> None:
        self.twin, self.health = twin, health

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        _t, h, m = self.twin, self.twin.historian, self.twin.mirror
        yield GaugeMetricFamily("plant_twin_connected", "1 while the mirror is subscribed",
                                value=float(m.ready.is_set()))
        yield GaugeMetricFamily("plant_twin_spool_depth", "points waiting in the durable spool", value=h.spool_depth)
        yield GaugeMetricFamily("plant_twin_sink_up", "1 while the sink takes points", value=float(h.stats.sink_up))
        if h.stats.source_lag_s is not None:
            yield GaugeMetricFamily("plant_twin_source_lag_seconds", "wall clock minus the newest stored source time",
                                    value=h.stats.source_lag_s)
        for q in (0.5, 0.99):
            lag = h.stats.lag_quantile(q)
            if lag is not None:
                yield GaugeMetricFamily(f"plant_twin_lag_p{int(q * 100)}_seconds", "receipt-to-stored lag", value=lag)
        yield CounterMetricFamily("plant_twin_points_stored", "points the sink took", value=h.stats.stored)
        yield CounterMetricFamily("plant_twin_points_replayed", "points replayed from the spool",
                                  value=h.stats.replayed)
        yield CounterMetricFamily("plant_twin_points_dropped", "points dropped (spool or pending full)",
                                  value=h.spool.dropped + h.stats.dropped_pending)
        yield CounterMetricFamily("plant_twin_notifications", "data changes received", value=m.stats.notifications)
        yield CounterMetricFamily("plant_twin_events", "events received", value=m.stats.events)
        yield CounterMetricFamily("plant_twin_reconnects", "reconnections after a gap", value=m.stats.reconnects)
        if self.health.last_calibration is not None:
            yield GaugeMetricFamily("plant_twin_last_calibration_timestamp_seconds", "time of the last calibration",
                                    value=self.health.last_calibration)


def serve_metrics(twin: "Twin", health: Health, host: str, port: int) -> Any:
    """Start the metrics HTTP server on (host, port); returns it (call `.shutdown()`)."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(TwinCollector(twin, health))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    log.info("metrics at http://%s:%d/metrics", host, server.server_address[1])
    return server
