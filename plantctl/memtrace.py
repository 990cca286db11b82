"""Opt-in memory tracing of a long-running command (`plant up`), for finding what grows.

With PLANT_TRACEMALLOC set to a directory, a daemon thread starts tracemalloc after
PLANT_TRACEMALLOC_AFTER_S seconds (default 0; tracing the start-up makes it several times
slower, and what grows is what is allocated later) with PLANT_TRACEMALLOC_FRAMES frames per
allocation (default 8; 0: no tracemalloc, the counts
only, at the untraced speed), then writes, every PLANT_TRACEMALLOC_S seconds (default 60): a
tracemalloc snapshot `snap-NNN.pickle` and one line of
`objects.jsonl` (seconds since the tracing thread started, RSS, gc counts and the number of live objects of each type tracked by
the collector). `bench/soak.py --trace` sets it and compares the first snapshot after its
warm-up with the last. Tracing costs CPU and memory of its own: leave it off in production.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

ENV_DIR = "PLANT_TRACEMALLOC"
ENV_INTERVAL = "PLANT_TRACEMALLOC_S"
ENV_FRAMES = "PLANT_TRACEMALLOC_FRAMES"
ENV_AFTER = "PLANT_TRACEMALLOC_AFTER_S"
TYPES_KEPT = 60
"""Types written per line of objects.jsonl (the most numerous)."""


def rss_kb(pid: int | None = None) -> int:
    """Resident set size of a process (this one by default), from /proc."""
    for line in Path(f"/proc/{pid or os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def type_counts(limit: int = TYPES_KEPT) -> dict[str, int]:
    """Live objects tracked by the collector, per type name, the most numerous first."""
    counts = Counter(type(o).__qualname__ for o in gc.get_objects())
    return dict(counts.most_common(limit))


class MemTrace:
    """The tracing thread: one snapshot and one objects line per interval."""

    def __init__(self, out: Path, interval_s: float, after_s: float, frames: int) -> None:
        self.out = out
        self.interval_s = interval_s
        self.after_s = after_s
        self.frames = frames
        self.stop = threading.Event()
        self.n = 0
        self.t0 = time.monotonic()

    def sample(self) -> None:
        if tracemalloc.is_tracing():
            tracemalloc.take_snapshot().dump(str(self.out / f"snap-{self.n:03d}.pickle"))
        line = {"n": self.n, "t_s": round(time.monotonic() - self.t0, 1), "rss_kb": rss_kb(),
                "traced_kb": tracemalloc.get_traced_memory()[0] // 1024, "gc_counts": gc.get_count(),
                "gc_objects": len(gc.get_objects()), "types": type_counts()}
        with (self.out / "objects.jsonl").open("a") as f:
            f.write(json.dumps(line) + "\n")
        self.n += 1

    def run(self) -> None:
        if self.stop.wait(self.after_s):
            return
        if self.frames > 0:
            tracemalloc.start(self.frames)
        while not self.stop.wait(self.interval_s):
            self.sample()


def start_from_env() -> MemTrace | None:
    """Tracing as the environment asks (nothing unless PLANT_TRACEMALLOC is set)."""
    where = os.environ.get(ENV_DIR)
    if not where:
        return None
    out = Path(where)
    out.mkdir(parents=True, exist_ok=True)
    trace = MemTrace(out, float(os.environ.get(ENV_INTERVAL, "60")), float(os.environ.get(ENV_AFTER, "0")),
                     int(os.environ.get(ENV_FRAMES, "8")))
    threading.Thread(target=trace.run, name="memtrace", daemon=True).start()
    return trace
