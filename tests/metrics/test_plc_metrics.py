"""The PLC's metrics endpoint: it parses with Prometheus' parser and its figures move with the
plant (scans and plant time advance; the lateness histogram fills while plant time runs and
not across a hold)."""

from __future__ import annotations

import asyncio

from plantctl.metrics import serve_metrics, stop_metrics
from plc_sim.model.spec import load_plant
from plc_sim.plc.metrics import PlcCollector, ScanLateness
from plc_sim.plc.runtime import PlcRuntime
from tests.metrics.scrape import scrape, value
from tests.support.polling import until


async def test_plc_metrics_move_with_the_plant():
    plc = PlcRuntime(load_plant("gear_line"), seed=3, time_factor=3600.0, scan_s=0.02)
    server = serve_metrics([PlcCollector(plc)], "127.0.0.1", 0)
    stop = asyncio.Event()
    task = asyncio.create_task(plc.run(stop))
    try:
        before = await scrape(server)
        await until(lambda: plc.scans >= before[("plant_plc_scans_total", ())] + 20, what="20 more scans")
        after = await scrape(server)
    finally:
        stop.set()
        await task
        stop_metrics(server)
    assert value(after, "plant_plc_scans_total") > value(before, "plant_plc_scans_total")
    assert value(after, "plant_plc_plant_time_seconds") > value(before, "plant_plc_plant_time_seconds")
    assert value(after, "plant_plc_scan_lateness_seconds_count") > 0
    assert value(after, "plant_plc_scan_lateness_seconds_bucket", le="+Inf") == \
        value(after, "plant_plc_scan_lateness_seconds_count")
    assert value(after, "plant_plc_scan_period_seconds") == 0.02
    assert value(after, "plant_plc_time_factor") == 3600.0
    assert value(after, "plant_plc_scan_overruns_total") >= 0
    assert value(after, "plant_plc_held") == 0.0


def test_lateness_counts_intervals_of_running_plant_time_only():
    """Driven scan by scan on a fake wall clock: an interval whose plant time followed the wall
    at the time factor is observed (its excess over the period), one across a hold is not."""
    plc = PlcRuntime(load_plant("gear_line"), seed=3, time_factor=3600.0, scan_s=0.1)
    wall = [0.0]
    lateness = ScanLateness(plc, clock=lambda: wall[0])

    def scan_at(t: float) -> None:
        wall[0] = t
        plc.scan(plc.calendar_h + (t - last[0]) * plc.time_factor / 3600.0 if running[0] else plc.calendar_h)
        last[0] = t

    last, running = [0.0], [True]
    scan_at(0.0)  # the first scan: nothing to compare with
    scan_at(0.1)  # on time
    scan_at(0.35)  # 0.15 s late
    running[0] = False
    scan_at(5.0)  # after a hold: plant time stood still over the interval
    running[0] = True
    scan_at(5.1)
    hist = {s.name: s for m in lateness.histogram.collect() for s in m.samples if s.name.endswith(("_count", "_sum"))}
    assert hist["plant_plc_scan_lateness_seconds_count"].value == 3
    assert abs(hist["plant_plc_scan_lateness_seconds_sum"].value - 0.15) < 1e-9
