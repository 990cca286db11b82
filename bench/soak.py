"""Soak: `plant up --time-factor max` with subscribed asyncua clients, RSS sampled over time.

The server runs as a subprocess (its PID kept; stopped with SIGTERM, never killed by name) in
a fresh data directory. `--clients` asyncua clients subscribe to every plant tag. Every
`--sample-s` seconds the server's RSS (from /proc) and its plant time (the PlantTime tag) are
sampled; at the end the RSS slope after `--warmup-min` is printed in kB per plant hour and per
wall minute, with whether any client was dropped and how long SIGTERM took to end the process.

Usage: python bench/soak.py [--minutes 30] [--clients 5] [--plant gear_line] [--sample-s 10]
       [--warmup-min 1] [--interval-ms 500]
Prints a table and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from asyncua import Client, Node, ua

NS = "urn:plant-twin:plant"
PLANT = str(Path(sys.executable).parent / "plant")


@dataclass
class Watcher:
    """One subscribed client: counts notifications, notes when its connection is lost."""

    name: str
    notifications: int = 0
    dropped: str | None = None
    last: float = field(default_factory=time.monotonic)

    def datachange_notification(self, node: Node, val: object, data: object) -> None:
        self.notifications += 1
        self.last = time.monotonic()

    def status_change_notification(self, status: object) -> None:
        self.dropped = self.dropped or f"status change {status}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start_server(data_dir: Path, port: int, plant: str, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PLANT_DATA_DIR": str(data_dir)}
    log = log_path.open("w")
    proc = subprocess.Popen([PLANT, "up", "--plant", plant, "--time-factor", "max", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 120
    while "listening at" not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not start:\n{log_path.read_text()}")
        time.sleep(0.2)
    return proc


async def plant_tags(c: Client, idx: int) -> list[Node]:
    """Every variable under Objects/Plant with a 'Plant/...' string NodeId."""
    found: list[Node] = []
    todo = [c.get_node(ua.NodeId("Plant", idx))]
    while todo:
        for child in await todo.pop().get_children():
            ident = child.nodeid.Identifier
            if not (isinstance(ident, str) and ident.startswith("Plant/")):
                continue
            if await child.read_node_class() == ua.NodeClass.Variable:
                found.append(child)
            else:
                todo.append(child)
    return found


async def client(url: str, watcher: Watcher, interval_ms: float, stop: asyncio.Event) -> None:
    c = Client(url, timeout=30, watchdog_intervall=60)
    c.session_timeout = 600_000
    try:
        async with c:
            idx = await c.get_namespace_index(NS)
            sub = await c.create_subscription(interval_ms, watcher)
            await sub.subscribe_data_change(await plant_tags(c, idx), queuesize=1)
            await stop.wait()
    except Exception as e:
        watcher.dropped = watcher.dropped or f"{type(e).__name__}: {e}"


async def plant_hours(url: str) -> float:
    async with Client(url, timeout=30) as c:
        idx = await c.get_namespace_index(NS)
        return float(await c.get_node(ua.NodeId("Plant/GearLine/KPIs/PlantTime", idx)).read_value())


def slope(x: list[float], y: list[float]) -> float:
    return float(np.polyfit(np.asarray(x), np.asarray(y), 1)[0]) if len(x) >= 2 and x[-1] > x[0] else float("nan")


async def soak(args: argparse.Namespace) -> dict[str, object]:
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/plant"
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        log_path = Path(tmp) / "server.log"
        proc = start_server(Path(tmp) / "data", port, args.plant, log_path)
        watchers = [Watcher(f"client{i}") for i in range(args.clients)]
        stop = asyncio.Event()
        tasks = [asyncio.create_task(client(url, w, args.interval_ms, stop)) for w in watchers]
        t0 = time.monotonic()
        samples: list[tuple[float, float, int]] = []
        try:
            while (now := time.monotonic()) - t0 < args.minutes * 60 and proc.poll() is None:
                samples.append(((now - t0) / 60, await plant_hours(url), rss_kb(proc.pid)))
                print(f"{samples[-1][0]:7.2f} min  {samples[-1][1]:10.1f} plant h  {samples[-1][2] / 1024:8.1f} MB",
                      flush=True)
                await asyncio.sleep(args.sample_s)
            stale = [w.name for w in watchers if time.monotonic() - w.last > 60]
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            t_term = time.monotonic()
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            term_s = time.monotonic() - t_term
        log_tail = log_path.read_text().splitlines()[-5:]
    steady = [s for s in samples if s[0] >= args.warmup_min] or samples
    minutes, hours, rss = [s[0] for s in steady], [s[1] for s in steady], [s[2] for s in steady]
    return {
        "minutes": args.minutes, "clients": args.clients, "plant": args.plant,
        "plant_hours": samples[-1][1] if samples else 0.0,
        "rss_start_mb": samples[0][2] / 1024 if samples else None,
        "rss_end_mb": samples[-1][2] / 1024 if samples else None,
        "rss_max_mb": max(s[2] for s in samples) / 1024 if samples else None,
        "kb_per_plant_hour": slope(hours, rss), "kb_per_wall_minute": slope(minutes, rss),
        "clients_dropped": {w.name: w.dropped for w in watchers if w.dropped},
        "clients_stale": stale, "notifications": {w.name: w.notifications for w in watchers},
        "sigterm_exit_code": code, "sigterm_exit_s": round(term_s, 2), "server_log_tail": log_tail,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--clients", type=int, default=5)
    p.add_argument("--plant", default="gear_line")
    p.add_argument("--sample-s", type=float, default=10.0)
    p.add_argument("--warmup-min", type=float, default=1.0)
    p.add_argument("--interval-ms", type=float, default=500.0)
    logging.basicConfig(level=logging.ERROR)
    res = asyncio.run(soak(p.parse_args()))
    print(f"\nplant hours {res['plant_hours']:.0f} in {res['minutes']} min; RSS {res['rss_start_mb']:.0f} -> "
          f"{res['rss_end_mb']:.0f} MB (max {res['rss_max_mb']:.0f})")
    print(f"RSS slope after warm-up: {res['kb_per_plant_hour']:.3f} kB per plant hour, "
          f"{res['kb_per_wall_minute']:.1f} kB per wall minute")
    print(f"clients dropped: {res['clients_dropped'] or 'none'}; stale: {res['clients_stale'] or 'none'}")
    print(f"SIGTERM: exit code {res['sigterm_exit_code']} after {res['sigterm_exit_s']} s")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
