"""The twin daemon in-process against the loopback plant (health file, Prometheus metrics,
clean stop), and the `plant twin status` / `plant history` commands."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
import typer
from typer.testing import CliRunner

from plantctl import cmd_twin
from tests.support.daemons import run_daemon
from tests.support.opcua_harness import running_plant, until
from tests.support.ports import on_free_port_async
from tests.twin.conftest import twin_settings
from twin_core.daemon import serve
from twin_core.historian.sink import Point
from twin_core.historian.sqlite import SqliteSink

T0 = 1_767_571_200_000_000_000


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """test app"""

    cmd_twin.register(app)
    return app


@pytest.mark.asyncio
async def test_daemon_reports_health_and_metrics_and_stops_cleanly(tmp_path):
    data = tmp_path / "twin"
    async with running_plant(tmp_path / "plc") as (_plc, srv):
        stop = asyncio.Event()

        async def start(port: int) -> tuple[int, asyncio.Task[None]]:
            """The daemon with its metrics on `port`, once ready (the OSError if it could not bind)."""
            ready = asyncio.Event()
            task = asyncio.create_task(serve(twin_settings(srv.url, data, metrics_port=port), stop=stop,
                                             on_ready=lambda _t: ready.set()))
            await until(lambda: ready.is_set() or task.done(), what="the twin daemon ready")
            if task.done():
                task.result()
            return port, task

        port, task = await on_free_port_async(start)
        health = data / "health.json"

        def connected() -> bool:
            return health.exists() and json.loads(health.read_text())["connected"] and \
                json.loads(health.read_text())["stored"] > 0
        await until(connected, timeout=30, what="a connected health view with stored points")
        body = await asyncio.to_thread(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                                                      timeout=5).read().decode())
        assert "plant_twin_connected 1.0" in body and "plant_twin_spool_depth" in body
        assert "plant_twin_points_stored_total" in body
        await until(lambda: (data / "snapshot.json").exists(), what="a twin snapshot")
        stop.set()
        await asyncio.wait_for(task, 30)
    final = json.loads(health.read_text())
    assert final["running"] is False and final["spool_depth"] == 0 and final["dropped"] == 0
    result = CliRunner().invoke(_app(), ["twin", "status", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert "stopped" in result.output and "spool depth" in result.output
    result = CliRunner().invoke(_app(), ["twin", "snapshot", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    snap = json.loads(result.stdout)
    assert snap["plant"] == "gear_line" and set(snap["observation"]["machine_status"]) == {"MP1", "MP2", "MP3"}
    assert snap["observation"]["calendar_h"] > 0 and "estimates" in snap
    result = CliRunner().invoke(_app(), ["twin", "forecast", "--data-dir", str(data), "--hours", "8", "--reps", "3",
                                         "--jobs", "1", "--set", "C_A=2"])
    assert result.exit_code == 0, result.output
    fc = json.loads(result.stdout)
    assert fc["setpoints"] == {"C_A": 2.0} and fc["kpis"]["FG"]["n"] == 3


async def test_plant_twin_stops_cleanly_on_sigterm_and_exits_0(tmp_path):
    """`plant twin` as a process: its own bounded shutdown exits 0 (nothing left running)."""
    data = tmp_path / "twin"
    async with running_plant(tmp_path / "plc") as (_plc, srv):
        args = ["twin", "--endpoint", srv.url, "--plant", "gear_line", "--user", "vic", "--allow-none",
                "--metrics-port", "0", "--data-dir", str(data)]
        with run_daemon(args, tmp_path / "twin.log", {"PLANT_TWIN_PASSWORD": "vic-pw"}) as twin:
            await asyncio.to_thread(twin.line, "mirroring", 120, True)
            health = data / "health.json"
            await until(lambda: health.exists() and json.loads(health.read_text())["connected"],
                        what="the twin connected")
            assert await asyncio.to_thread(twin.stop) == 0, twin.tail()
    assert "stopped cleanly" in twin.text()
    assert json.loads(health.read_text())["running"] is False


def test_history_prints_and_plots_a_tag(tmp_path):
    sink = SqliteSink(tmp_path / "history.sqlite")
    tag = "GearLine/MP1/MP1/PowerKW"
    hour = 3_600_000_000_000
    sink.write([Point("tag", {"path": tag}, {"value": float(i), "status": 0}, T0 + i * hour // 4) for i in range(12)])
    sink.write([Point("tag", {"path": tag}, {"status": 0x80000000}, T0 + 12 * hour // 4)])
    sink.close()
    out = CliRunner().invoke(_app(), ["history", tag, "--since", "1h", "--data-dir", str(tmp_path),
                                      "--plot", str(tmp_path / "p.png")])
    assert out.exit_code == 0, out.output
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("2026")]
    assert len(lines) == 5, "samples of the last hour up to the newest one"
    assert lines[-1].split("\t")[1:3] == ["-", "BAD"]
    assert lines[0].split("\t")[1] == "8.0"
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
