"""Twin ingest: points per second from OPC UA notification to stored, per sink, and the lag
from the PLC scan to the point being stored (p50/p99).

1. Historian capacity: synthetic points added as fast as the loop allows (an overload: the
   figure is the rate stored until the spool is empty), through the spool to each sink
   (sqlite embedded; influx = victoria-metrics' InfluxDB v2 write API on loopback, when
   installed).
2. End to end: the gear line's PLC with `--tags` extra Double tags changing at every
   100 ms scan (bench/opcua_throughput.py's server, in a process of its own), mirrored by
   the twin (this process) into each sink. A bench tag's value is the wall clock of the
   scan that read it; the sink wrapper subtracts it from the clock when the point is stored.

Usage: python bench/twin_ingest.py [--tags 2000] [--seconds 10] [--sinks sqlite influx]
Targets: 20,000 points/s through the InfluxDB protocol, 10,000/s embedded, p99 < 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from opcua_throughput import ServerConfig, start_server  # noqa: E402

from twin_core.historian.historian import Historian  # noqa: E402
from twin_core.historian.influx import InfluxSink  # noqa: E402
from twin_core.historian.sink import Point, Sink  # noqa: E402
from twin_core.historian.spool import Spool  # noqa: E402
from twin_core.historian.sqlite import SqliteSink  # noqa: E402
from twin_core.settings import TwinSettings  # noqa: E402
from twin_core.twin import Twin  # noqa: E402


class LagSink:
    """Wraps a sink: counts stored points and the scan-to-stored lag of bench tags."""

    def __init__(self, inner: Sink) -> None:
        self.inner, self.name = inner, inner.name
        self.lags: list[float] = []
        self.stored = 0
        self.window: tuple[float, float] | None = None

    def write(self, points: list[Point]) -> None:
        self.inner.write(points)
        now = time.time()
        if self.window and self.window[0] <= now < self.window[1]:
            self.stored += len(points)
            self.lags += [now - float(p.fields["value"]) for p in points
                          if p.measurement == "tag" and "/Bench/" in p.tags.get("path", "") and "value" in p.fields]

    def close(self) -> None:
        self.inner.close()


def make_sink(kind: str, tmp: Path, vm_url: str | None) -> Sink:
    if kind == "sqlite":
        return SqliteSink(tmp / "history.sqlite")
    assert vm_url is not None
    return InfluxSink(vm_url, "", "plant", "plant", numeric_only=True)


async def capacity(kind: str, tmp: Path, vm_url: str | None, seconds: float) -> dict[str, Any]:
    sink = make_sink(kind, tmp, vm_url)
    hist = Historian(sink, Spool(tmp / f"cap-{kind}.sqlite", 10_000_000), batch_size=5000, flush_interval_s=0.05,
                     direct=kind == "sqlite")
    hist.start()
    t0, n, i = time.monotonic(), 0, 0
    while time.monotonic() - t0 < seconds:
        for _ in range(1000):
            hist.add(Point("tag", {"path": f"L/S/M/T{i % 2000}"}, {"value": float(i), "status": 0},
                           1_767_571_200_000_000_000 + i * 1000))
            i += 1
        n += 1000
        await asyncio.sleep(0)
    added = time.monotonic() - t0
    while hist.spool_depth:
        await asyncio.sleep(0.01)
    took = time.monotonic() - t0
    await hist.close()
    return {"sink": kind, "points": i, "add_per_s": i / added, "stored_per_s": i / took,
            "lag_p50_s": hist.stats.lag_quantile(0.5), "lag_p99_s": hist.stats.lag_quantile(0.99)}


async def end_to_end(kind: str, url: str, tmp: Path, vm_url: str | None, seconds: float,
                     warmup: float) -> dict[str, Any]:
    settings = TwinSettings.load(endpoint=url, data_dir=tmp / f"twin-{kind}", allow_none=True, metrics_port=0,
                                 publishing_ms=100.0, sampling_ms=0.0, queue_size=1, batch_size=5000,
                                 flush_interval_s=0.05, sink="sqlite")
    twin = Twin(settings)
    sink = LagSink(make_sink(kind, tmp, vm_url))
    twin.historian.sink = sink
    twin.historian.direct = kind == "sqlite"
    await twin.start()
    while not twin.mirror.ready.is_set():
        await asyncio.sleep(0.05)
    await asyncio.sleep(warmup)
    t0 = time.time()
    sink.window = (t0, t0 + seconds)
    n0 = twin.mirror.stats.notifications
    await asyncio.sleep(seconds)
    notes = twin.mirror.stats.notifications - n0
    await twin.stop()
    lags = sorted(sink.lags)
    q = (lambda f: lags[min(int(f * len(lags)), len(lags) - 1)] if lags else None)  # noqa: E731
    return {"sink": kind, "notifications_per_s": notes / seconds, "stored_per_s": sink.stored / seconds,
            "lag_p50_s": q(0.5), "lag_p99_s": q(0.99), "spool_left": twin.historian.spool_depth}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tags", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--sinks", nargs="+", default=["sqlite", "influx"])
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="twin-ingest-"))
    vm = None
    if "influx" in args.sinks:
        from tests.twin.conftest import VM_BINARY, VictoriaMetrics

        if Path(VM_BINARY).exists():
            vm = VictoriaMetrics(tmp / "vm")
            vm.start()
        else:
            print("victoria-metrics not installed: influx sink skipped")
            args.sinks.remove("influx")
    results: dict[str, Any] = {"capacity": [], "end_to_end": []}
    try:
        for kind in args.sinks:
            r = asyncio.run(capacity(kind, tmp, vm.url if vm else None, args.seconds))
            results["capacity"].append(r)
            print(f"capacity   {kind:7s} {r['stored_per_s']:>9,.0f} points/s stored "
                  f"(added {r['add_per_s']:,.0f}/s: an overload, so no lag is quoted)")
        ctx = mp.get_context("spawn")
        proc, conn, url = start_server(ctx, ServerConfig(tags=args.tags, scan_s=0.1))
        try:
            for kind in args.sinks:
                r = asyncio.run(end_to_end(kind, url, tmp, vm.url if vm else None, args.seconds, args.warmup))
                results["end_to_end"].append(r)
                lag = "-" if r["lag_p50_s"] is None else f"p50 {r['lag_p50_s']:.3f} s p99 {r['lag_p99_s']:.3f} s"
                print(f"end-to-end {kind:7s} {r['stored_per_s']:>9,.0f} points/s stored "
                      f"({r['notifications_per_s']:,.0f} notifications/s), scan-to-stored lag {lag}")
        finally:
            conn.send("stop")
            conn.recv()
            proc.join(30)
    finally:
        if vm is not None:
            vm.stop()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
