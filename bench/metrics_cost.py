"""What the metrics cost: the per-response count the OPC UA server's processor makes for every
response it sends (`opcua_server.traffic.Traffic.response`, the one addition on a hot path),
the scan listener of the PLC's lateness histogram, and one scrape of the PLC's and the server's
collectors on a running plant with clients subscribed to every tag.

Usage: python bench/metrics_cost.py [--items 100] [--clients 4] [--runs 5]
Prints medians over the runs, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

from asyncua import Client, ua

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opcua_server.metrics import ServerCollector
from opcua_server.traffic import Traffic
from plc_sim.model.spec import load_plant
from plc_sim.plc.metrics import PlcCollector, ScanLateness
from plc_sim.plc.runtime import PlcRuntime
from tests.support.opcua_harness import NS, running_plant


def publish_response(items: int) -> ua.PublishResponse:
    note = ua.DataChangeNotification(MonitoredItems=[
        ua.MonitoredItemNotification(ClientHandle=i, Value=ua.DataValue(ua.Variant(float(i)))) for i in range(items)])
    response = ua.PublishResponse()
    response.Parameters.NotificationMessage.NotificationData = [note]
    return response


def per_call_us(fn, runs: int, number: int) -> float:
    return statistics.median(t / number * 1e6 for t in timeit.repeat(fn, number=number, repeat=runs))


async def scrape_ms(clients: int, runs: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        async with running_plant(Path(tmp), time_factor=600.0) as (plc, srv):
            opened = []
            for _ in range(clients):
                c = Client(srv.url, timeout=30)
                await c.connect()
                opened.append(c)
                idx = await c.get_namespace_index(NS)
                nodes = [c.get_node(ua.NodeId(f"Plant/{t.key}", idx)) for t in plc.table]
                sub = await c.create_subscription(100, None)
                await sub.subscribe_data_change(nodes)
            collectors = [PlcCollector(plc), ServerCollector(srv)]

            def scrape() -> int:
                return sum(len(m.samples) for c in collectors for m in c.collect())

            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                await asyncio.to_thread(scrape)
                times.append((time.perf_counter() - t0) * 1e3)
            items = len(list(plc.table)) * clients
            for c in opened:
                await c.disconnect()
            return statistics.median(times), items


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100, help="notifications per Publish response")
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    traffic, response = Traffic(), publish_response(args.items)
    write = ua.WriteResponse()
    write.Results = [ua.StatusCode(ua.StatusCodes.Good)] * 10
    plc = PlcRuntime(load_plant("gear_line"), seed=1, time_factor=60.0, scan_s=0.1)
    wall = [0.0]
    lateness = ScanLateness(plc, clock=lambda: wall[0])

    def one_scan() -> None:
        """A scan 0.1 s after the last that ran its plant time (the listener observes it)."""
        wall[0] += 0.1
        plc.calendar_h += 0.1 * 60.0 / 3600.0
        lateness._on_scan([])
    figures = {
        "publish_response_count_us": per_call_us(lambda: traffic.response(response, None), args.runs, 20_000),
        "write_response_count_us": per_call_us(lambda: traffic.response(write, None), args.runs, 20_000),
        "scan_listener_us": per_call_us(one_scan, args.runs, 20_000),
    }
    figures["scrape_ms"], figures["monitored_items"] = asyncio.run(scrape_ms(args.clients, args.runs))
    print(f"count one Publish response of {args.items} notifications: {figures['publish_response_count_us']:.2f} µs")
    print(f"count one Write response of 10 results:           {figures['write_response_count_us']:.2f} µs")
    print(f"scan lateness listener, per scan (observed):       {figures['scan_listener_us']:.2f} µs")
    print(f"one scrape of PLC + server, {figures['monitored_items']} monitored items: {figures['scrape_ms']:.2f} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
