"""The historian against a real InfluxDB-protocol server (victoria-metrics on loopback), and
its durable spool: outages under load, a twin killed mid-outage."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.opcua_harness import running_plant, until
from tests.twin.conftest import VictoriaMetrics, twin_settings
from twin_core.historian.historian import Historian
from twin_core.historian.influx import InfluxSink
from twin_core.historian.sink import Point, SinkError
from twin_core.historian.spool import Spool
from twin_core.historian.sqlite import SqliteSink
from twin_core.twin import Twin

pytestmark = pytest.mark.asyncio
T0 = 1_767_571_200_000_000_000  # 2026-01-05 00:00 UTC, the plant epoch, in ns


class RecordingSink(InfluxSink):
    """An InfluxSink that remembers the batches the server accepted."""

    def __init__(self, *a: object, **kw: object) -> None:
        super().__init__(*a, **kw)  # type: ignore[arg-type]
        self.accepted: list[Point] = []

    def write(self, points: list[Point]) -> None:
        super().write(points)
        self.accepted += points


def _by_series(rows: list[dict]) -> dict[tuple, list[tuple[int, float]]]:
    out = {}
    for r in rows:
        key = tuple(sorted(r["metric"].items()))
        out[key] = list(zip(r["timestamps"], r["values"], strict=True))
    return out


async def test_mirrored_points_read_back_exactly(tmp_path, vm: VictoriaMetrics):
    async with running_plant(tmp_path / "plc") as (_plc, srv):
        settings = twin_settings(srv.url, tmp_path / "twin", sink="influx", influx_url=vm.url, numeric_only=True)
        twin = Twin(settings)
        sink = RecordingSink(vm.url, "", "plant", "plant", numeric_only=True)
        twin.historian.sink = sink
        await twin.start()
        await until(lambda: len(sink.accepted) > 500, timeout=30, what="points written")
        await twin.stop()
    expected: dict[tuple, dict[int, float]] = {}
    for p in sink.accepted:
        for f, v in p.fields.items():
            if isinstance(v, str):
                continue
            key = tuple(sorted({"__name__": f"{p.measurement}_{f}", **p.tags}.items()))
            expected.setdefault(key, {})[p.time_ns // 1_000_000] = float(v)
    want = {k: sorted(v.items()) for k, v in expected.items() if dict(k)["__name__"].startswith(("tag_", "event_"))}

    def complete(got: dict[tuple, list[tuple[int, float]]]) -> bool:
        return all([t for t, _v in got.get(k, [])] == [t for t, _v in pts] for k, pts in want.items())

    # VictoriaMetrics makes a write searchable within about a second: poll the export with a deadline
    got: dict[tuple, list[tuple[int, float]]] = {}

    async def stored() -> bool:
        got.clear()
        got.update(_by_series(await asyncio.to_thread(vm.export, '{__name__=~"tag_.*|event_.*"}')))
        return complete(got)

    await until(stored, what="every tag and event series in victoria-metrics", interval=0.25,
                detail=lambda: f"{sum(1 for k in want if k in got)} of {len(want)} series stored")
    assert len(want) > 100, "tag and event series"
    for key, points in want.items():
        stored = got.get(key, [])
        assert [t for t, _v in stored] == [t for t, _v in points], f"timestamps of {key}"
        # victoria-metrics keeps 12 significant decimal digits of a float
        assert [float(v) for _t, v in stored] == pytest.approx([v for _t, v in points], rel=1e-11, abs=1e-300), key
    assert not any(name.endswith("_message") or name.endswith("_text") for name in
                   (dict(k)["__name__"] for k in got)), "numeric-only: no text fields turned into 0"


async def test_sink_outage_under_load_every_point_once_in_order(tmp_path, vm: VictoriaMetrics):
    hist = Historian(InfluxSink(vm.url, "", "plant", "plant", numeric_only=True),
                     Spool(tmp_path / "spool.sqlite", 1_000_000), batch_size=500, flush_interval_s=0.02,
                     retry_min_s=0.05, retry_max_s=0.2)
    hist.start()
    total, series = 30_000, 5
    fed = asyncio.Event()

    async def feed() -> None:
        for seq in range(total):
            hist.add(Point("load", {"series": str(seq % series)}, {"seq": float(seq)}, T0 + seq * 1_000_000))
            if seq % 100 == 99:
                await asyncio.sleep(0.002)
        fed.set()

    feeder = asyncio.create_task(feed())
    await until(lambda: hist.stats.stored > 2000, what="points stored before the outage")
    await asyncio.to_thread(vm.stop)
    await until(lambda: not hist.stats.sink_up and hist.spool_depth > 3000, what="points spooled in the outage")
    depth_in_outage = hist.spool_depth
    await asyncio.to_thread(vm.start)
    await fed.wait()
    await feeder
    await until(lambda: hist.spool_depth == 0, timeout=60, what="the spool drained")
    await hist.close()
    assert hist.stats.replayed >= depth_in_outage - 500 and hist.spool.dropped == 0
    got = _by_series(await asyncio.to_thread(vm.export, '{__name__="load_seq"}'))
    for s in range(series):
        values = got[(("__name__", "load_seq"), ("series", str(s)))]
        assert [v for _t, v in values] == [float(q) for q in range(s, total, series)]
        assert [t for t, _v in values] == [(T0 + q * 1_000_000) // 1_000_000 for q in range(s, total, series)]


async def test_spool_is_bounded_and_counts_what_it_drops(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite", max_points=100)
    pts = [Point("x", {}, {"v": float(i)}, T0 + i) for i in range(150)]
    assert spool.append(pts[:10]) == 0
    assert spool.append(pts[10:]) == 50 and spool.depth == 100 and spool.dropped == 50
    last, first = spool.peek(5)
    assert [p.fields["v"] for p in first] == [float(i) for i in range(10)], "whole batches, oldest first"
    assert spool.remove_through(last) == 10
    assert spool.depth == 90
    spool.close()
    assert Spool(tmp_path / "spool.sqlite", max_points=100).depth == 90, "the spool survives a restart"


async def test_replays_are_idempotent_in_the_embedded_store(tmp_path):
    sink = SqliteSink(tmp_path / "h.sqlite")
    pts = [Point("tag", {"path": "L/S/M/State"}, {"value": float(i), "status": 0}, T0 + i) for i in range(10)]
    sink.write(pts)
    sink.write(pts[5:])
    assert sink.count() == 10
    assert [v for _t, v in sink.series("tag", {"path": "L/S/M/State"}, "value")] == [float(i) for i in range(10)]


class FlakySink:
    """A local sink that can be switched off."""

    name = "flaky"

    def __init__(self) -> None:
        self.down = False
        self.got: list[Point] = []

    def write(self, points: list[Point]) -> None:
        if self.down:
            raise SinkError("switched off")
        self.got += points

    def close(self) -> None:
        pass


async def test_direct_mode_spools_only_while_the_sink_fails(tmp_path):
    sink = FlakySink()
    hist = Historian(sink, Spool(tmp_path / "spool.sqlite", 10_000), batch_size=50, flush_interval_s=0.01,
                     retry_min_s=0.01, retry_max_s=0.05, direct=True)
    hist.start()
    pts = [Point("x", {}, {"v": float(i)}, T0 + i) for i in range(600)]
    hist.add_many(pts[:200])
    await until(lambda: len(sink.got) == 200, what="direct writes")
    assert hist.spool.depth == 0
    sink.down = True
    hist.add_many(pts[200:400])
    await until(lambda: hist.spool.depth == 200, what="points spooled while the sink fails")
    sink.down = False
    hist.add_many(pts[400:])
    await until(lambda: len(sink.got) == 600 and hist.spool.depth == 0, what="the spool replayed")
    await hist.close()
    assert sink.got == pts, "every point once, in order"


def _twin_process(settings_env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings_env}
    return subprocess.Popen([sys.executable, "-m", "twin_core.daemon"], env=env, stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT, cwd=Path(__file__).parents[2])


def _spooled(path: Path) -> list[Point]:
    db = sqlite3.connect(path)
    try:
        return [Point(*p) for r in db.execute("SELECT body FROM spool ORDER BY id") for p in json.loads(r[0])]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


async def test_twin_killed_mid_outage_replays_its_spool_after_restart(tmp_path, vm: VictoriaMetrics):
    data = tmp_path / "twin"
    async with running_plant(tmp_path / "plc") as (_plc, srv):
        env = {"PLANT_TWIN_ENDPOINT": srv.url, "PLANT_TWIN_DATA_DIR": str(data), "PLANT_TWIN_USERNAME": "vic",
               "PLANT_TWIN_PASSWORD": "vic-pw", "PLANT_TWIN_SINK": "influx", "PLANT_TWIN_INFLUX_URL": vm.url,
               "PLANT_TWIN_NUMERIC_ONLY": "true", "PLANT_TWIN_METRICS_PORT": "0",
               "PLANT_TWIN_SINK_RETRY_MAX_S": "0.3", "PLANT_TWIN_PUBLISHING_MS": "50"}
        twin = _twin_process(env, tmp_path / "twin1.log")
        try:
            await until(lambda: bool(vm.export('{__name__="tag_value"}')), timeout=30, what="points reach the sink")
            await asyncio.to_thread(vm.stop)
            await until(lambda: len(_spooled(data / "spool.sqlite")) > 200, timeout=30, what="points in the spool")
        finally:
            os.kill(twin.pid, signal.SIGKILL)
            twin.wait()
        spooled = _spooled(data / "spool.sqlite")
        assert len(spooled) > 200
        await asyncio.to_thread(vm.start)
        twin = _twin_process(env, tmp_path / "twin2.log")
        try:
            await until(lambda: not _spooled(data / "spool.sqlite"), timeout=30, what="the old spool replayed")
        finally:
            twin.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(twin.wait, 20) == 0, "a clean exit on SIGTERM"
    got = _by_series(await asyncio.to_thread(vm.export, '{__name__=~"tag_.*|event_.*|twin_.*"}'))
    missing = []
    for p in spooled:
        for f, v in p.fields.items():
            if isinstance(v, str):
                continue
            key = tuple(sorted({"__name__": f"{p.measurement}_{f}", **p.tags}.items()))
            stored = dict(got.get(key, []))
            at = p.time_ns // 1_000_000
            if at not in stored or float(stored[at]) != pytest.approx(float(v), rel=1e-11, abs=1e-300):
                missing.append((key, p.time_ns))
    assert not missing, f"{len(missing)} spooled points never arrived, e.g. {missing[:3]}"


async def test_source_lag_only_for_a_wall_clock_source(tmp_path):
    sink = FlakySink()
    hist = Historian(sink, Spool(tmp_path / "spool.sqlite", 1000), flush_interval_s=0.01, direct=True)
    hist.start()
    hist.add(Point("tag", {"path": "x"}, {"value": 1.0}, T0))
    await until(lambda: len(sink.got) == 1, what="a plant-time point stored")
    assert hist.stats.source_lag_s is None, "plant time is not wall time"
    hist.add(Point("tag", {"path": "x"}, {"value": 2.0}, time.time_ns() - 500_000_000))
    await until(lambda: len(sink.got) == 2, what="a wall-clock point stored")
    assert hist.stats.source_lag_s is not None and hist.stats.source_lag_s >= 0.5
    await hist.close()
