"""OPC UA throughput: value changes per second delivered to subscribed asyncua clients, and
the latency from the PLC scan to the client's datachange handler, with `--tags` extra
Double tags (2,000 by default) that change at every scan of the gear line's PLC.

The tags are added to the real PLC's tag table, so every change goes through the real scan
loop and PlantServer._sync. A tag's value is the wall-clock time at which the scan read it;
a client subtracts it from its own wall clock when the notification reaches its handler.
The server and every client run in processes of their own (spawned); each scenario (1
client, then 10) is measured `--runs` times over a `--seconds` window after a warm-up, and
the tables quote medians over the runs. Where the time goes on the server: the wall time
of PlantServer._sync per scan, how late its event loop wakes a 50 ms sleeper (time in which
no request or publish could be served) and its garbage-collection pauses;
`--profile-server FILE` writes a cProfile of the server process.

Usage: python bench/opcua_throughput.py [--tags 2000] [--clients 1 10] [--runs 3]
       [--seconds 10] [--warmup 3] [--interval-ms 100] [--scan-s 0.1] [--queue-size 1]
       [--profile-server FILE]
Prints tables and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import logging
import multiprocessing as mp
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

TARGET_RATE = 10_000.0
TARGET_P99_MS = 500.0
BENCH_PATH = ("GearLine", "Bench")


@dataclass
class ServerConfig:
    tags: int
    scan_s: float
    profile: str | None = None


@dataclass
class ClientConfig:
    url: str
    tags: int
    interval_ms: float
    queue_size: int


@dataclass
class ClientResult:
    delivered: int
    seconds: float
    latency_ms: np.ndarray
    cpu_s: float
    statuses: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds


@dataclass
class ScanRecord:
    wall: float
    changed: int
    sync_s: float


@dataclass
class PlcScan:
    """One PLC scan (its own thread): when, how many bench tags it changed, how late it started."""

    wall: float
    changed: int
    late_ms: float


@dataclass
class RunResult:
    clients: list[ClientResult]
    scans: list[ScanRecord]
    window: tuple[float, float]
    overruns: int
    loop_lag_ms: list[float]
    gc_pause_ms: list[float]
    plc_scans: list[PlcScan] = field(default_factory=list)


ITEMS_PER_CALL = 250
"""Monitored items per CreateMonitoredItems (the server's default max_monitored_items_per_call)."""


# --- server process ---------------------------------------------------------------------


def serve(cfg: ServerConfig, conn: Connection) -> None:
    profiler = cProfile.Profile() if cfg.profile else None
    if profiler:
        profiler.enable()
    asyncio.run(_serve(cfg, conn))
    if profiler:
        profiler.disable()
        profiler.dump_stats(cfg.profile)


async def _serve(cfg: ServerConfig, conn: Connection) -> None:
    from opcua_server import daemon
    from opcua_server.server import PlantServer
    from opcua_server.settings import ServerSettings
    from plc_sim.model.spec import load_plant
    from plc_sim.plc.runtime import PlcRuntime
    from plc_sim.plc.tags import Tag

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    settings = ServerSettings.load(port=port, data_dir=Path(tempfile.mkdtemp(prefix="opcua-bench-")),
                                   allow_none_policy=True, trust_all_clients=True)
    plc = PlcRuntime(load_plant("gear_line"), seed=1, time_factor=60.0, scan_s=cfg.scan_s)
    for i in range(cfg.tags):
        plc.table.add(Tag((*BENCH_PATH, f"T{i:04d}"), "Double", time.time, value=0.0,
                          description="wall clock at scan"))
    srv = PlantServer(plc, settings)
    scans: list[ScanRecord] = []
    sync_started = 0.0

    async def before_sync(changed: list) -> None:
        nonlocal sync_started
        sync_started = time.perf_counter()

    async def after_sync(changed: list) -> None:
        took = time.perf_counter() - sync_started
        scans.append(ScanRecord(time.time(), sum(1 for t in changed if t.path[:2] == BENCH_PATH), took))

    lags: list[tuple[float, float]] = []
    gc_pauses: list[tuple[float, float]] = []
    gc_started = 0.0

    def on_gc(phase: str, info: dict[str, int]) -> None:
        nonlocal gc_started
        if phase == "start":
            gc_started = time.perf_counter()
        else:
            gc_pauses.append((time.time(), (time.perf_counter() - gc_started) * 1000.0))

    gc.callbacks.append(on_gc)

    async def watch_loop() -> None:
        """How late the event loop wakes a 50 ms sleeper: time nobody could be served."""
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.05)
            lags.append((time.time(), (time.perf_counter() - t - 0.05) * 1000.0))

    plc_scans: list[PlcScan] = []

    def on_plc_scan(changed: list) -> None:  # in the scan thread
        kept = getattr(plc, "lateness_s", None)  # absent before the scan thread (A/B runs)
        late = kept[-1] * 1000.0 if kept else 0.0
        plc_scans.append(PlcScan(time.time(), sum(1 for t in changed if t.path[:2] == BENCH_PATH), late))

    plc.on_scan(on_plc_scan)
    plc.on_scan_async(before_sync)
    daemon.install()  # as `plant plc` runs: the fast path, then the collector tuned once started
    await srv.start()
    daemon.tune_gc()
    plc.on_scan_async(after_sync)
    stop = asyncio.Event()
    task = asyncio.create_task(plc.run(stop))
    watcher = asyncio.create_task(watch_loop())
    conn.send(srv.url)
    loop = asyncio.get_running_loop()
    while (cmd := await loop.run_in_executor(None, conn.recv)) != "stop":
        t0, t1 = cmd
        conn.send(([s for s in scans if t0 <= s.wall < t1], plc.overruns, [lag for w, lag in lags if t0 <= w < t1],
                   [ms for w, ms in gc_pauses if t0 <= w < t1], [s for s in list(plc_scans) if t0 <= s.wall < t1]))
    watcher.cancel()
    stop.set()
    await task
    await srv.stop()
    conn.send("stopped")


# --- client process ---------------------------------------------------------------------


def subscribe_and_count(cfg: ClientConfig, conn: Connection) -> None:
    asyncio.run(_client(cfg, conn))


async def _client(cfg: ClientConfig, conn: Connection) -> None:
    from asyncua import Client, ua

    logging.getLogger("asyncua").setLevel(logging.CRITICAL)  # failures are reported in the result
    received: list[tuple[float, float]] = []
    statuses: list[str] = []
    window = [float("inf"), float("inf")]

    class Handler:
        def datachange_notification(self, node: Any, val: float, data: Any) -> None:
            now = time.time()
            if window[0] <= now < window[1]:
                received.append((now, val))

        def status_change_notification(self, status: Any) -> None:
            statuses.append(status.Status.name)

    loop = asyncio.get_running_loop()
    ready = False
    cpu, error = 0.0, None
    try:
        # The client processes share the machine's cores with the server: asyncua's default
        # liveness probe (a read answered within 1 s) would call a busy loop a lost connection.
        async with Client(cfg.url, timeout=30, watchdog_intervall=60.0) as client:
            idx = await client.get_namespace_index("urn:plant-twin:plant")
            prefix = "Plant/" + "/".join(BENCH_PATH)
            nodes = [client.get_node(ua.NodeId(f"{prefix}/T{i:04d}", idx)) for i in range(cfg.tags)]
            sub = await client.create_subscription(cfg.interval_ms, Handler())
            for at in range(0, len(nodes), ITEMS_PER_CALL):  # the server's max_monitored_items_per_call
                await sub.subscribe_data_change(nodes[at:at + ITEMS_PER_CALL], queuesize=cfg.queue_size)
            conn.send("ready")
            ready = True
            window[0], window[1] = await loop.run_in_executor(None, conn.recv)
            await asyncio.sleep(max(window[0] - time.time(), 0.0))
            cpu0 = time.process_time()
            await asyncio.sleep(max(window[1] - time.time(), 0.0))
            cpu = time.process_time() - cpu0
            await sub.delete()
    except Exception as e:
        error = f"{type(e).__name__}: {e}"
    if not ready:
        conn.send(f"failed to subscribe: {error}")
        window[0], window[1] = conn.recv()
    lat = np.array([(now - val) * 1000.0 for now, val in received], dtype=np.float64)
    conn.send(ClientResult(len(received), window[1] - window[0], lat, cpu, statuses, error))


# --- orchestration ----------------------------------------------------------------------


def start_server(ctx: Any, cfg: ServerConfig) -> tuple[Any, Connection, str]:
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=serve, args=(cfg, child), name="opcua-server")
    proc.start()
    deadline = time.monotonic() + 120
    while not parent.poll(0.2):
        if not proc.is_alive() or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not start (exit code {proc.exitcode})")
    return proc, parent, parent.recv()


def measure(ctx: Any, server: Connection, cfg: ClientConfig, n_clients: int, warmup: float,
            seconds: float) -> RunResult:
    """One run: `n_clients` client processes subscribe, then count over a common window.
    A client that fails is reported with what it received, never dropped."""
    pipes, procs = [], []
    try:
        for k in range(n_clients):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=subscribe_and_count, args=(cfg, child), name=f"opcua-client-{k}", daemon=True)
            proc.start()
            pipes.append(parent)
            procs.append(proc)
        for p, proc in zip(pipes, procs):
            if not p.poll(180):
                raise RuntimeError(f"{proc.name} did not subscribe within 180 s")
            msg = p.recv()
            if msg != "ready":
                print(f"{proc.name}: {msg}", file=sys.stderr)
        t0 = time.time() + warmup
        window = (t0, t0 + seconds)
        for p in pipes:
            p.send(window)
        results = []
        for p, proc in zip(pipes, procs):
            if not p.poll(seconds + warmup + 120):
                raise RuntimeError(f"{proc.name} did not report")
            results.append(p.recv())
            if results[-1].error:
                print(f"{proc.name}: {results[-1].error}", file=sys.stderr)
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    server.send(window)
    scans, overruns, lags, gc_pauses, plc_scans = server.recv()
    return RunResult(results, scans, window, overruns, lags, gc_pauses, plc_scans)


def summarize(run: RunResult) -> dict[str, Any]:
    seconds = run.window[1] - run.window[0]
    lat = np.concatenate([c.latency_ms for c in run.clients]) if run.clients else np.zeros(0)
    rates = [c.rate for c in run.clients]
    sync_ms = np.array([s.sync_s * 1000.0 for s in run.scans]) if run.scans else np.zeros(1)
    produced = sum(s.changed for s in run.plc_scans) / seconds
    late = np.array([s.late_ms for s in run.plc_scans]) if run.plc_scans else np.zeros(1)
    return {
        "produced_per_s": produced,
        "scans_per_s": len(run.plc_scans) / seconds,
        "scan_late_p99_ms": float(np.percentile(late, 99)),
        "syncs_per_s": len(run.scans) / seconds,
        "delivered_per_client_per_s": statistics.median(rates),
        "delivered_total_per_s": sum(rates),
        "per_client_per_s": rates,
        "min_max_client_ratio": min(rates) / max(rates) if max(rates) > 0 else 0.0,
        "delivered_over_produced": statistics.median(rates) / produced if produced else 0.0,
        "latency_median_ms": float(np.median(lat)) if lat.size else float("nan"),
        "latency_p99_ms": float(np.percentile(lat, 99)) if lat.size else float("nan"),
        "sync_median_ms": float(np.median(sync_ms)),
        "sync_p99_ms": float(np.percentile(sync_ms, 99)),
        "client_cpu_pct": statistics.median(c.cpu_s / seconds * 100.0 for c in run.clients),
        "loop_lag_p99_ms": float(np.percentile(run.loop_lag_ms, 99)) if run.loop_lag_ms else float("nan"),
        "loop_lag_max_ms": max(run.loop_lag_ms, default=float("nan")),
        "server_gc_pct": sum(run.gc_pause_ms) / 10.0 / seconds,
        "server_gc_max_ms": max(run.gc_pause_ms, default=0.0),
        "client_errors": sum(1 for c in run.clients if c.error),
        "status_changes": sorted({s for c in run.clients for s in c.statuses}),
    }


def median_of_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over runs of every scalar; the per-client rates of the run with the median
    per-client rate."""
    out: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k, v in runs[0].items()
                           if isinstance(v, (int, float))}
    mid = sorted(runs, key=lambda r: r["delivered_per_client_per_s"])[len(runs) // 2]
    out["per_client_per_s"] = mid["per_client_per_s"]
    out["status_changes"] = sorted({s for r in runs for s in r["status_changes"]})
    out["runs"] = len(runs)
    return out


ROWS = (("produced changes/s (server)", "produced_per_s", "{:,.0f}"),
        ("delivered/s per client", "delivered_per_client_per_s", "{:,.0f}"),
        ("delivered/s, all clients", "delivered_total_per_s", "{:,.0f}"),
        ("delivered / produced", "delivered_over_produced", "{:.2f}"),
        ("slowest / fastest client", "min_max_client_ratio", "{:.2f}"),
        ("latency median ms", "latency_median_ms", "{:.0f}"),
        ("latency p99 ms", "latency_p99_ms", "{:.0f}"),
        ("PLC scans/s (period {period} ms)", "scans_per_s", "{:.1f}"),
        ("PLC scan start lateness p99 ms", "scan_late_p99_ms", "{:.1f}"),
        ("tag syncs/s (latest of each tag)", "syncs_per_s", "{:.1f}"),
        ("tag sync, median ms", "sync_median_ms", "{:.0f}"),
        ("tag sync, p99 ms", "sync_p99_ms", "{:.0f}"),
        ("server event loop lag p99 ms", "loop_lag_p99_ms", "{:.0f}"),
        ("server event loop lag max ms", "loop_lag_max_ms", "{:.0f}"),
        ("server time in GC %", "server_gc_pct", "{:.1f}"),
        ("server longest GC pause ms", "server_gc_max_ms", "{:.0f}"),
        ("client process CPU %", "client_cpu_pct", "{:.0f}"),
        ("clients failed", "client_errors", "{:.0f}"))


def report(console: Console, args: argparse.Namespace, results: dict[int, dict[str, Any]]) -> None:
    t = Table(title=f"OPC UA throughput: {args.tags} tags changing every scan, publishing {args.interval_ms:.0f} ms, "
                    f"queue size {args.queue_size} (medians of {args.runs} runs)")
    t.add_column("figure")
    for n in results:
        t.add_column(f"{n} client{'s' if n > 1 else ''}", justify="right")
    for label, key, fmt in ROWS:
        t.add_row(label.format(period=f"{args.scan_s * 1000:.0f}"), *(fmt.format(r[key]) for r in results.values()))
    console.print(t)
    for n, r in results.items():
        if n > 1:
            f = Table(title=f"{n} clients: delivered changes/s per client (run with the median rate)")
            f.add_column("client", justify="right")
            f.add_column("delivered/s", justify="right")
            f.add_column("share of the best client", justify="right")
            best = max(r["per_client_per_s"]) or 1.0
            for k, rate in enumerate(r["per_client_per_s"]):
                f.add_row(str(k), f"{rate:,.0f}", f"{rate / best:.2f}")
            console.print(f)
    one = results.get(1)
    if one:
        rate_ok = one["delivered_per_client_per_s"] >= TARGET_RATE
        p99_ok = one["latency_p99_ms"] < TARGET_P99_MS
        g = Table(title="Targets (one client)")
        for col in ("figure", "measured", "target", "ratio", "met"):
            g.add_column(col, justify="right")
        g.add_row("delivered changes/s", f"{one['delivered_per_client_per_s']:,.0f}", f">= {TARGET_RATE:,.0f}",
                  f"{one['delivered_per_client_per_s'] / TARGET_RATE:.2f}", "yes" if rate_ok else "NO")
        g.add_row("latency p99 ms", f"{one['latency_p99_ms']:.0f}", f"< {TARGET_P99_MS:.0f}",
                  f"{one['latency_p99_ms'] / TARGET_P99_MS:.2f}", "yes" if p99_ok else "NO")
        console.print(g)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tags", type=int, default=2000)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 10])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--interval-ms", type=float, default=100.0)
    ap.add_argument("--scan-s", type=float, default=0.1)
    ap.add_argument("--queue-size", type=int, default=1)
    ap.add_argument("--profile-server", default=None, help="write the server process's cProfile stats here")
    args = ap.parse_args()
    console = Console()
    ctx = mp.get_context("spawn")
    proc, server, url = start_server(ctx, ServerConfig(args.tags, args.scan_s, args.profile_server))
    console.print(f"server {url} with {args.tags} bench tags (pid {proc.pid})")
    cfg = ClientConfig(url, args.tags, args.interval_ms, args.queue_size)
    results: dict[int, dict[str, Any]] = {}
    try:
        for n in args.clients:
            runs = []
            for i in range(args.runs):
                runs.append(summarize(measure(ctx, server, cfg, n, args.warmup, args.seconds)))
                r = runs[-1]
                console.print(f"{n} client(s), run {i + 1}: {r['delivered_per_client_per_s']:,.0f}/s per client, "
                              f"latency median {r['latency_median_ms']:.0f} ms, p99 {r['latency_p99_ms']:.0f} ms")
            results[n] = median_of_runs(runs)
    finally:
        server.send("stop")
        if server.poll(60):
            server.recv()
        proc.join(30)
    report(console, args, results)
    print(json.dumps({"tags": args.tags, "interval_ms": args.interval_ms, "scan_s": args.scan_s,
                      "queue_size": args.queue_size, "seconds": args.seconds, "runs": args.runs,
                      "target_rate": TARGET_RATE, "target_p99_ms": TARGET_P99_MS,
                      "results": {str(n): r for n, r in results.items()}}))


if __name__ == "__main__":
    main()
