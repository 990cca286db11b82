"""The optimizer's Prometheus metrics (docs/metrics.md): runs by job and outcome, the wall
seconds of a run, and the gain the last verification of each job measured. Every run, skip
included, is audited; the collector listens to the audit log (`AuditLog.listeners`), so the
figures are those of the audit lines and nothing in a run's path counts for itself."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from .audit import AuditLog

log = logging.getLogger(__name__)

CYCLE_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
"""Seconds: the paper's target of a cycle under 5 s, up to a long search."""
_GAIN = (("mean", "plant_optimizer_verified_gain", "mean paired improvement of the objective on the verification "
          "replications of the job's last verified run (objective units; positive: better)"),
         ("half_width", "plant_optimizer_verified_gain_half_width", "half width of its confidence interval"),
         ("p_value", "plant_optimizer_verified_p_value", "one-sided p-value of its paired test"))


class OptimizerCollector:
    """Counts what the audit log records; `collect` reads them under a lock (runs record from
    worker threads, the scrape from the metrics server's)."""

    def __init__(self, audit: AuditLog) -> None:
        self._lock = threading.Lock()
        self.runs: dict[tuple[str, str], int] = {}
        self.gain: dict[str, dict[str, Any]] = {}
        self.last_run: dict[str, float] = {}
        self.cycle = Histogram("plant_optimizer_cycle_seconds", "wall seconds of a run, from the read to the audit",
                               ["job"], buckets=CYCLE_BUCKETS, registry=None)
        audit.listeners.append(self.record)

    def record(self, entry: dict[str, Any]) -> None:
        job, outcome = str(entry.get("job", "")), str(entry.get("outcome", "unknown"))
        with self._lock:
            self.runs[(job, outcome)] = self.runs.get((job, outcome), 0) + 1
            improvement = entry.get("improvement")
            if isinstance(improvement, dict):
                self.gain[job] = {**improvement, "p_value": entry.get("p_value")}
        elapsed = entry.get("elapsed_s")
        if isinstance(elapsed, int | float):
            self.cycle.labels(job).observe(float(elapsed))

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            runs, gain = dict(self.runs), {k: dict(v) for k, v in self.gain.items()}
        family = CounterMetricFamily("plant_optimizer_runs", "optimisation runs audited, by job and outcome "
                                     "(written, recommended, kept, held, skipped, refused, error, ...)",
                                     labels=["job", "outcome"])
        for (job, outcome), n in sorted(runs.items()):
            family.add_metric([job, outcome], n)
        yield family
        yield from self.cycle.collect()
        for key, name, doc in _GAIN:
            g = GaugeMetricFamily(name, doc, labels=["job"])
            for job, figures in sorted(gain.items()):
                if isinstance(figures.get(key), int | float):
                    g.add_metric([job], float(figures[key]))
            yield g


def serve_metrics(audit: AuditLog, host: str, port: int) -> Any:
    """The optimizer's metrics served on (host, port); returns the server (call `.shutdown()`)."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(OptimizerCollector(audit))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    log.info("metrics at http://%s:%d/metrics", host, server.server_address[1])
    return server
