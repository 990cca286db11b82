"""Soak: the whole stack (`plant up --time-factor max`: PLC, OPC UA server, twin, optimizer)
with subscribed asyncua clients, its memory sampled over time and a line fitted to it.

The stack runs as a subprocess of this script in a fresh temporary data directory, on
127.0.0.1 port 0 (the port it got is read from its log); its PID is kept and it is stopped
with SIGTERM at the end (SIGKILL by PID only if it has not exited `--stop-s` later), its exit
code reported. `--clients` asyncua clients each subscribe to every plant tag and to the plant's
events and alarms on the Server object. Every `--sample-s` seconds the RSS of the stack's
process and of its descendants (the optimizer's fork server and worker pool) is read from
/proc, with the plant time (PlantTime, over one client kept open). After `--warmup-min`
minutes a least-squares line is fitted to the main process's RSS and to the total: the slope
in kB per wall minute and per plant hour with its 95 % interval (t on n-2 degrees of freedom;
samples are autocorrelated, so read the interval as a lower bound of the uncertainty). A PNG
plots RSS over time with the fitted line.

`--trace` runs the stack with PLANT_TRACEMALLOC (plantctl/memtrace.py): tracemalloc
snapshots and live-object counts per type every `--trace-s` seconds, the first after the
warm-up compared with the last (the allocation sites and the types that grew). Tracing slows
the stack and adds memory of its own: its RSS figures are not the untraced ones.

Usage: python bench/soak.py [--minutes 30] [--clients 3] [--plant gear_line] [--sample-s 5]
       [--warmup-min 3] [--interval-ms 500] [--png soak.png] [--trace] [--keep DIR]
Prints a table and, last, one JSON line with every figure; exits 1 when the stack's exit code
after SIGTERM was not 0 or a client was dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncua import Client, Node, ua
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

NS = "urn:plant-twin:plant"
PLANT = str(Path(sys.executable).parent / "plant")
START_S = 300.0
"""Seconds the stack may take to listen (a loaded 2-core machine)."""
ORPHAN_GRACE_S = 10.0
"""Seconds the stack's descendants may take to exit after it before they get SIGTERM."""
console = Console(stderr=True)


@dataclass
class Watcher:
    """One subscribed client: counts notifications and events, notes a lost connection."""

    name: str
    notifications: int = 0
    events: int = 0
    dropped: str | None = None
    last: float = field(default_factory=time.monotonic)

    def datachange_notification(self, node: Node, val: object, data: object) -> None:
        self.notifications += 1
        self.last = time.monotonic()

    def event_notification(self, event: object) -> None:
        self.events += 1

    def status_change_notification(self, status: object) -> None:
        self.dropped = self.dropped or f"status change {status}"


@dataclass
class Sample:
    minute: float
    plant_h: float
    main_kb: int
    children_kb: int
    children: int

    @property
    def total_kb(self) -> int:
        return self.main_kb + self.children_kb


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0  # a zombie has no VmRSS


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (from /proc/<pid>/task/*/children)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def rss_of(pid: int) -> tuple[int, int, int]:
    """(main RSS kB, descendants' RSS kB, number of descendants)."""
    kids = descendants(pid)
    total = 0
    for k in kids:
        with contextlib.suppress(OSError):
            total += rss_kb(k)
    return rss_kb(pid), total, len(kids)


class Stack:
    """`plant up` as a subprocess; stopped by its PID."""

    def __init__(self, tmp: Path, plant: str, trace_dir: Path | None, trace_s: float, trace_after_s: float,
                 trace_frames: int) -> None:
        self.log_path = tmp / "up.log"
        env = {**os.environ, "PLANT_DATA_DIR": str(tmp / "data")}
        if trace_dir is not None:
            env |= {"PLANT_TRACEMALLOC": str(trace_dir), "PLANT_TRACEMALLOC_S": f"{trace_s:g}",
                    "PLANT_TRACEMALLOC_AFTER_S": f"{trace_after_s:g}", "PLANT_TRACEMALLOC_FRAMES": f"{trace_frames}"}
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [PLANT, "up", "--plant", plant, "--time-factor", "max", "--host", "127.0.0.1", "--port", "0",
             "--data-dir", str(tmp / "data"), "--no-ui"], env=env, stdout=subprocess.DEVNULL, stderr=self._log,
            stdin=subprocess.DEVNULL)
        self.children_seen: set[int] = set()
        self.started = time.monotonic()

    def wait_url(self) -> str:
        deadline = time.monotonic() + START_S
        while True:
            m = re.search(r"^listening at (opc\.tcp://\S+)", self.log_path.read_text(), re.MULTILINE)
            if m:
                return m.group(1)
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the stack did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self, stop_s: float) -> tuple[int | None, float, str]:
        """SIGTERM, then the exit code; SIGKILL (by PID) only after `stop_s`. Descendants still
        alive after the exit (seen while sampling) get SIGTERM by PID and are reported."""
        t0 = time.monotonic()
        how = "exited by itself" if self.proc.poll() is not None else "SIGTERM"
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code: int | None = self.proc.wait(timeout=stop_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code, how = None, f"SIGKILL after {stop_s:g} s"
        orphans = [p for p in self.children_seen if Path(f"/proc/{p}").exists() and _parent_gone_or_init(p)]
        grace = time.monotonic() + ORPHAN_GRACE_S  # a fork server exits when its parent's pipe closes
        while orphans and time.monotonic() < grace:
            time.sleep(0.1)
            orphans = [p for p in orphans if Path(f"/proc/{p}").exists()]
        left = orphans
        for p in left:
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGTERM)
        if left:
            how += f"; {len(left)} descendant(s) outlived it and got SIGTERM: {sorted(left)}"
        self._log.close()
        return code, time.monotonic() - t0, how


def _parent_gone_or_init(pid: int) -> bool:
    try:
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return False
    return ppid in (0, 1) or not Path(f"/proc/{ppid}").exists()


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


async def event_types(c: Client, idx: int) -> list[Node]:
    plant_type = await c.nodes.base_event_type.get_child(f"{idx}:PlantEventType")
    alarm_type = await c.get_node(ua.NodeId(ua.ObjectIds.AlarmConditionType)).get_child(f"{idx}:BreakdownAlarmType")
    return [plant_type, alarm_type]


def _client(url: str) -> Client:
    c = Client(url, timeout=30, watchdog_intervall=60)
    c.session_timeout = 600_000
    return c


async def client(url: str, watcher: Watcher, interval_ms: float, stop: asyncio.Event) -> None:
    try:
        async with _client(url) as c:
            idx = await c.get_namespace_index(NS)
            sub = await c.create_subscription(interval_ms, watcher)
            await sub.subscribe_data_change(await plant_tags(c, idx), queuesize=1)
            await sub.subscribe_events(c.nodes.server, await event_types(c, idx), queuesize=100)
            await stop.wait()
    except Exception as e:
        watcher.dropped = watcher.dropped or f"{type(e).__name__}: {e}"


@dataclass
class Fit:
    slope: float
    low: float
    high: float
    n: int

    def text(self, unit: str) -> str:
        return f"{self.slope:,.1f} {unit} (95 % {self.low:,.1f} .. {self.high:,.1f}, n={self.n})"

    def as_json(self) -> dict[str, float]:
        return {"slope": round(self.slope, 3), "low": round(self.low, 3), "high": round(self.high, 3), "n": self.n}


def fit(x: list[float], y: list[float]) -> Fit | None:
    """Least-squares slope of y on x with a 95 % t interval; None with fewer than 3 points."""
    from scipy import stats

    if len(x) < 3 or x[-1] <= x[0]:
        return None
    r = stats.linregress(x, y)
    half = float(stats.t.ppf(0.975, len(x) - 2)) * float(r.stderr)
    return Fit(float(r.slope), float(r.slope) - half, float(r.slope) + half, len(x))


def plot(samples: list[Sample], warmup_min: float, png: Path, title: str) -> None:
    import numpy as np

    import plant_plots

    t = np.array([s.minute for s in samples])
    main_mb = np.array([s.main_kb for s in samples]) / 1024
    kids_mb = np.array([s.children_kb for s in samples]) / 1024
    fig, [ax] = plant_plots.panels(1, title, size=(9, 4.5))
    ax.plot(t, main_mb, label="plant up (main process)")
    ax.plot(t, kids_mb, label="descendants (optimizer workers)")
    ax.plot(t, main_mb + kids_mb, label="total", alpha=0.6)
    steady = t >= warmup_min
    if steady.sum() >= 3:
        k, b = np.polyfit(t[steady], main_mb[steady], 1)
        ax.plot(t[steady], k * t[steady] + b, "k--", label=f"fit after warm-up: {k * 1024:,.0f} kB/min")
    ax.axvline(warmup_min, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("wall minutes")
    ax.set_ylabel("RSS (MB)")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    plant_plots.save(fig, png)


def trace_report(trace_dir: Path, warmup_s: float, top: int = 15) -> dict[str, Any]:
    """What grew between the first tracemalloc snapshot after the warm-up and the last."""
    import tracemalloc

    lines = [json.loads(x) for x in (trace_dir / "objects.jsonl").read_text().splitlines()] \
        if (trace_dir / "objects.jsonl").exists() else []
    steady = [x for x in lines if x["t_s"] >= warmup_s]
    if len(steady) < 2:
        return {"trace": f"only {len(steady)} snapshot(s) after the warm-up"}
    first, last = steady[0], steady[-1]
    counts = {"between_s": [first["t_s"], last["t_s"]], "rss_kb": [first["rss_kb"], last["rss_kb"]],
              "gc_objects": [first["gc_objects"], last["gc_objects"]],
              "series": [(x["t_s"], x["rss_kb"], x["gc_objects"], x["gc_counts"]) for x in lines]}
    types = {k: last["types"].get(k, 0) - first["types"].get(k, 0) for k in set(first["types"]) | set(last["types"])}
    counts["types"] = dict(sorted(((k, v) for k, v in types.items() if v), key=lambda kv: -abs(kv[1]))[:top])
    counts["peak_types"] = max(lines, key=lambda x: x["gc_objects"])["types"]
    if not (trace_dir / f"snap-{first['n']:03d}.pickle").exists():
        return counts
    a = tracemalloc.Snapshot.load(str(trace_dir / f"snap-{first['n']:03d}.pickle"))
    b = tracemalloc.Snapshot.load(str(trace_dir / f"snap-{last['n']:03d}.pickle"))
    filters = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "*/plantctl/memtrace.py")]
    a, b = a.filter_traces(filters), b.filter_traces(filters)
    sites = []
    for stat in b.compare_to(a, "traceback")[:top]:
        frames = [f"{Path(f.filename).name}:{f.lineno}" for f in stat.traceback][:6]
        sites.append({"kb": round(stat.size_diff / 1024, 1), "count": stat.count_diff, "where": " < ".join(frames)})
    return counts | {"traced_kb": [first["traced_kb"], last["traced_kb"]], "sites": sites}


async def sample_loop(stack: Stack, url: str, args: argparse.Namespace, watchers: list[Watcher]) -> list[Sample]:
    samples: list[Sample] = []
    total_s = args.minutes * 60
    async with _client(url) as c:
        idx = await c.get_namespace_index(NS)
        clock = c.get_node(ua.NodeId(f"Plant/{args.line}/KPIs/PlantTime", idx))
        t0 = time.monotonic()
        next_log = 0.0
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                      console=console, transient=False) as bar:
            task = bar.add_task("soak", total=total_s)
            while (elapsed := time.monotonic() - t0) < total_s and stack.proc.poll() is None:
                main, kids, n = rss_of(stack.proc.pid)
                stack.children_seen |= set(descendants(stack.proc.pid))
                s = Sample(elapsed / 60, float(await clock.read_value()), main, kids, n)
                samples.append(s)
                note = (f"{s.minute:6.2f} min {s.plant_h:10,.0f} plant h  main {s.main_kb / 1024:7.1f} MB  "
                        f"workers {s.children_kb / 1024:7.1f} MB ({s.children})  "
                        f"notifications {sum(w.notifications for w in watchers):,}")
                bar.update(task, completed=elapsed, description=note)
                if elapsed >= next_log and not console.is_terminal:
                    console.print(note)
                    next_log += 60
                await asyncio.sleep(args.sample_s)
    return samples


async def soak(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    trace_dir = tmp / "trace" if args.trace else None
    stack = Stack(tmp, args.plant, trace_dir, args.trace_s, args.trace_after_s, args.trace_frames)
    watchers = [Watcher(f"client{i}") for i in range(args.clients)]
    stop = asyncio.Event()
    samples: list[Sample] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        url = await asyncio.to_thread(stack.wait_url)
        console.print(f"stack PID {stack.proc.pid} listening at {url}")
        tasks = [asyncio.create_task(client(url, w, args.interval_ms, stop)) for w in watchers]
        sampling = time.monotonic()
        samples = await sample_loop(stack, url, args, watchers)
        stale = [w.name for w in watchers if time.monotonic() - w.last > 60]
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        code, stop_s, how = stack.stop(args.stop_s)
    log_tail = stack.log_path.read_text().splitlines()[-6:]
    steady = [s for s in samples if s.minute >= args.warmup_min]
    minutes, hours = [s.minute for s in steady], [s.plant_h for s in steady]
    fits = {"main_kb_per_min": fit(minutes, [s.main_kb for s in steady]),
            "main_kb_per_plant_h": fit(hours, [s.main_kb for s in steady]),
            "total_kb_per_min": fit(minutes, [s.total_kb for s in steady]),
            "total_kb_per_plant_h": fit(hours, [s.total_kb for s in steady])}
    res: dict[str, Any] = {
        "minutes": round(samples[-1].minute, 2) if samples else 0.0, "clients": args.clients, "plant": args.plant,
        "warmup_min": args.warmup_min, "samples": len(samples),
        "plant_hours": round(samples[-1].plant_h, 1) if samples else 0.0,
        "main_mb": [round(samples[0].main_kb / 1024, 1), round(steady[0].main_kb / 1024, 1) if steady else None,
                    round(samples[-1].main_kb / 1024, 1), round(max(s.main_kb for s in samples) / 1024, 1)]
        if samples else None,
        "total_mb": [round(samples[0].total_kb / 1024, 1), round(samples[-1].total_kb / 1024, 1)] if samples else None,
        "fits": {k: v.as_json() if v else None for k, v in fits.items()},
        "clients_dropped": {w.name: w.dropped for w in watchers if w.dropped}, "clients_stale": stale,
        "notifications": {w.name: w.notifications for w in watchers},
        "events": {w.name: w.events for w in watchers},
        "stack_exit_code": code, "stack_stop": how, "stack_stop_s": round(stop_s, 2), "stack_log_tail": log_tail}
    if samples and args.png:
        plot(samples, args.warmup_min, Path(args.png),
             f"plant up --time-factor max, {args.clients} clients, {res['plant_hours']:,.0f} plant h")
        res["png"] = str(args.png)
    if trace_dir is not None:
        res["trace"] = trace_report(trace_dir, sampling - stack.started + args.warmup_min * 60)
    return res


def report(res: dict[str, Any]) -> None:
    f = res["fits"]

    def show(key: str, unit: str) -> str:
        return Fit(**f[key]).text(unit) if f[key] else "-"

    m = res["main_mb"] or ["-"] * 4
    console.print(f"\n{res['minutes']} min, {res['plant_hours']:,.0f} plant hours, {res['clients']} clients "
                  f"(warm-up {res['warmup_min']:g} min, {res['samples']} samples)")
    console.print(f"main RSS: first {m[0]} MB, after warm-up {m[1]} MB, last {m[2]} MB, max {m[3]} MB; "
                  f"with descendants {res['total_mb']} MB")
    console.print(f"main slope after warm-up: {show('main_kb_per_min', 'kB/min')}; "
                  f"{show('main_kb_per_plant_h', 'kB per plant h')}")
    console.print(f"total slope after warm-up: {show('total_kb_per_min', 'kB/min')}; "
                  f"{show('total_kb_per_plant_h', 'kB per plant h')}")
    console.print(f"clients dropped: {res['clients_dropped'] or 'none'}; stale: {res['clients_stale'] or 'none'}; "
                  f"events per client {list(res['events'].values())}")
    console.print(f"stack: {res['stack_stop']}, exit code {res['stack_exit_code']} after {res['stack_stop_s']} s")
    trace = res.get("trace")
    if trace and "types" in trace:
        console.print(f"trace {trace['between_s']} s: traced {trace.get('traced_kb', '-')} kB, "
                      f"RSS {trace['rss_kb']} kB, gc objects {trace['gc_objects']}")
        for s in trace.get("sites", []):
            console.print(f"  {s['kb']:>9,.1f} kB {s['count']:>+8,d}  {s['where']}")
        console.print(f"  types grown: {trace['types']}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--clients", type=int, default=3)
    p.add_argument("--plant", default="gear_line")
    p.add_argument("--line", default="GearLine", help="the line's browse name (where KPIs/PlantTime is)")
    p.add_argument("--sample-s", type=float, default=5.0)
    p.add_argument("--warmup-min", type=float, default=3.0)
    p.add_argument("--interval-ms", type=float, default=500.0)
    p.add_argument("--stop-s", type=float, default=60.0, help="seconds after SIGTERM before SIGKILL")
    p.add_argument("--png", default="soak.png", help="the plot ('' for none)")
    p.add_argument("--trace", action="store_true", help="tracemalloc snapshots in the stack (slower)")
    p.add_argument("--trace-s", type=float, default=60.0, help="seconds between tracemalloc snapshots")
    p.add_argument("--trace-frames", type=int, default=6, help="tracemalloc frames (0: object counts only)")
    p.add_argument("--trace-after-s", type=float, default=90.0, help="seconds after the start before tracing")
    p.add_argument("--keep", type=Path, help="copy the data, log and traces here")
    args = p.parse_args()
    logging.basicConfig(level=logging.ERROR)
    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    try:
        res = asyncio.run(soak(args, tmp))
    finally:
        if args.keep:
            shutil.copytree(tmp, args.keep, dirs_exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
    report(res)
    print(json.dumps(res))
    bad = res["stack_exit_code"] != 0 or bool(res["clients_dropped"])
    sys.exit(1 if bad or any(isinstance(v, float) and math.isnan(v) for v in res.values()) else 0)


if __name__ == "__main__":
    main()
