"""The PLC's Prometheus metrics, read from the runtime at scrape time (docs/metrics.md).

The counters the runtime keeps anyway (scans, overruns, late scans, plant time) are read by
the collector when Prometheus scrapes; the scan loop is not edited. The one figure the
runtime does not keep, how late scans run, comes from a scan listener (`PlcRuntime.on_scan`):
it sees the wall time of each scan and the plant time it reached, so it works the same
whichever thread or task runs the scan."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from .runtime import PlcRuntime
    from .tags import Tag

LATENESS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Seconds; a scan a whole period late at the default 0.1 s period lands in the 0.1 bucket."""
RUNNING_TOLERANCE = 0.5
"""An interval counts as one of running plant time when the plant time it covered, at the time
factor, is within this fraction of its wall time (not across a hold, a release or `run_to`'s stop)."""


class ScanLateness:
    """How much longer than one scan period the wall interval since the previous scan was,
    observed on every scan while plant time runs at its time factor. Intervals across a hold,
    a reset or a change of time factor are left out (plant time did not follow wall time over
    them), and so are scans at "max" time factor (no period to be late against)."""

    def __init__(self, plc: PlcRuntime, clock: Callable[[], float] = time.monotonic) -> None:
        self.plc, self._clock = plc, clock
        self._previous: tuple[float, float] | None = None
        self.histogram = Histogram("plant_plc_scan_lateness_seconds",
                                   "wall seconds by which the interval since the previous scan exceeded the scan "
                                   "period", buckets=LATENESS_BUCKETS, registry=None)
        self.remove = plc.on_scan(self._on_scan)

    def _on_scan(self, _changed: list[Tag]) -> None:
        now, plant_h = self._clock(), self.plc.calendar_h
        previous, self._previous = self._previous, (now, plant_h)
        factor = self.plc.time_factor
        if previous is None or factor is None:
            return
        wall = now - previous[0]
        ran = (plant_h - previous[1]) * 3600.0 / factor
        if wall <= 0 or abs(ran - wall) > RUNNING_TOLERANCE * wall:
            return
        self.histogram.observe(max(wall - self.plc.scan_s, 0.0))


class PlcCollector:
    """Prometheus metrics of one PLC runtime; `ScanLateness` is attached on construction."""

    def __init__(self, plc: PlcRuntime) -> None:
        self.plc = plc
        self.lateness = ScanLateness(plc)

    def collect(self) -> Iterator[Metric]:
        plc = self.plc
        yield CounterMetricFamily("plant_plc_scans", "PLC scans run", value=plc.scans)
        yield CounterMetricFamily("plant_plc_scan_overruns", "scans whose own work took longer than the scan period",
                                  value=plc.overruns)
        yield CounterMetricFamily("plant_plc_late_scans", "scans started late because the process was busy "
                                  "(not the scan's own work)", value=plc.late_scans)
        yield from self.lateness.histogram.collect()
        yield GaugeMetricFamily("plant_plc_scan_period_seconds", "configured scan period", value=plc.scan_s)
        yield GaugeMetricFamily("plant_plc_time_factor", "plant seconds per wall second (0: as fast as possible)",
                                value=plc.time_factor or 0.0)
        yield GaugeMetricFamily("plant_plc_plant_time_seconds", "plant calendar time since the plant's start",
                                value=plc.calendar_h * 3600.0)
        yield GaugeMetricFamily("plant_plc_held", "1 while plant time stands still", value=float(plc.held))
        yield GaugeMetricFamily("plant_plc_retained_alarms", "alarm conditions active or not yet acknowledged",
                                value=len(plc.alarms.retained()))
