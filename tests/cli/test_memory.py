"""`plant up`'s memory helpers: the allocator trimmer (plantctl/malloc.py) and the opt-in
tracing that bench/soak.py --trace reads (plantctl/memtrace.py)."""

from __future__ import annotations

import json
import threading
import tracemalloc
from pathlib import Path

import pytest

from plantctl import malloc, memtrace
from tests.cli.test_up import poll


def test_the_trimmer_runs_on_its_interval_and_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    if malloc._glibc() is None:
        pytest.skip("not glibc")
    monkeypatch.setenv(malloc.ENV_TRIM_S, "0.01")
    trimmer = malloc.tune_malloc()
    assert trimmer is not None
    try:
        assert any(t.name == "malloc-trim" for t in threading.enumerate())
        poll(lambda: trimmer.trims >= 3, 20.0, "three malloc_trim calls")
    finally:
        trimmer.stop.set()
    monkeypatch.setenv(malloc.ENV_TRIM_S, "0")
    assert malloc.tune_malloc() is None


def _start(monkeypatch: pytest.MonkeyPatch, out: Path, interval_s: float, frames: int) -> memtrace.MemTrace:
    monkeypatch.setenv(memtrace.ENV_DIR, str(out))
    monkeypatch.setenv(memtrace.ENV_INTERVAL, str(interval_s))
    monkeypatch.setenv(memtrace.ENV_FRAMES, str(frames))
    trace = memtrace.start_from_env()
    assert trace is not None
    return trace


def test_counts_only_tracing_writes_object_counts_and_no_snapshot(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    trace = _start(monkeypatch, tmp_path, 0.01, 0)
    try:
        poll(lambda: trace.n >= 2, 20.0, "two samples")
    finally:
        trace.stop.set()
    assert not tracemalloc.is_tracing() and not list(tmp_path.glob("snap-*.pickle"))
    first = json.loads((tmp_path / "objects.jsonl").read_text().splitlines()[0])
    assert first["rss_kb"] > 0 and first["gc_objects"] > 0 and first["types"]["dict"] > 0


def test_tracing_writes_snapshots_that_load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    trace = _start(monkeypatch, tmp_path, 0.05, 2)
    try:
        poll(lambda: trace.n >= 1, 30.0, "one snapshot")
    finally:
        trace.stop.set()
        poll(lambda: not any(t.name == "memtrace" and t.is_alive() for t in threading.enumerate()), 30.0,
             "the tracing thread to end")
        tracemalloc.stop()
    snap = tracemalloc.Snapshot.load(str(tmp_path / "snap-000.pickle"))
    assert snap.traceback_limit == 2


def test_without_the_variable_nothing_is_traced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(memtrace.ENV_DIR, raising=False)
    assert memtrace.start_from_env() is None
