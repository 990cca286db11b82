"""`plant plc` as a user runs it: a real subprocess, served on loopback, stopped by SIGTERM."""

import asyncio
import gc
import logging
import os
import signal
import subprocess
import sys

import pytest
from asyncua import Client, ua

from tests.support.daemons import PLANT, run_daemon
from tests.support.opcua_harness import NS

PASSWORD = "eve-daemon-pw"


def test_plc_daemon_serves_and_stops_cleanly_on_sigterm(tmp_path):
    config = tmp_path / "plant.toml"
    config.write_text("[plc]\ntime_factor = 600\n\n[opcua]\nport = 0\n")
    env = {"PLANT_DATA_DIR": str(tmp_path)}
    users = subprocess.run([PLANT, "users", "add", "eve", "--role", "engineer", "--password-stdin"],
                           input=f"{PASSWORD}\n", check=False, env={**os.environ, **env}, capture_output=True,
                           text=True, timeout=60)
    assert users.returncode == 0, users.stderr
    with run_daemon(["plc", "--plant", "gear_line", "--model", "BDOP", "--scenario", "1", "--config", str(config),
                 "--allow-none", "--trust-all"], tmp_path / "plc.log", env) as plc:
        url = plc.url()
        assert url.startswith("opc.tcp://127.0.0.1:") and not url.startswith("opc.tcp://127.0.0.1:0/"), url

        async def talk():
            c = Client(url, timeout=10)
            c.set_user("eve")
            c.set_password(PASSWORD)
            async with c:
                idx = await c.get_namespace_index(NS)
                c_a = c.get_node(ua.NodeId("Plant/GearLine/Control/C_A", idx))
                await c_a.write_value(ua.Variant(9, ua.VariantType.Int32))
                return await c.get_node(ua.NodeId("Plant/GearLine/KPIs/PlantTime", idx)).read_value()

        assert asyncio.run(talk()) >= 0.0
        assert (tmp_path / "pki" / "own" / "server_cert.der").exists(), "certificate kept in the data directory"
        assert plc.stop() == 0, plc.tail()
        assert "stopped cleanly" in plc.text()
        assert (tmp_path / "history.sqlite").exists()


# --- supervision, in-process ------------------------------------------------------------

def _daemon(tmp_path, shutdown_timeout_s: float = 5.0):
    from opcua_server.daemon import PlcDaemon
    from opcua_server.settings import ServerSettings
    from plc_sim.model.spec import load_plant
    from plc_sim.plc.runtime import PlcRuntime

    plc = PlcRuntime(load_plant("gear_line"), seed=3, time_factor=36000.0, scan_s=0.05)
    settings = ServerSettings.load(port=0, data_dir=tmp_path, allow_none_policy=True, trust_all_clients=True)
    return PlcDaemon(plc, settings, shutdown_timeout_s=shutdown_timeout_s)


def _hang_stop(daemon, during=None):
    """Make the server's stop hang (until released), calling `during()` first; returns the
    real stop and the release event."""
    real_stop, release = daemon.server.stop, asyncio.Event()

    async def hanging_stop():
        if during:
            during()
        await release.wait()

    daemon.server.stop = hanging_stop
    return real_stop, release


async def test_crashed_scan_task_is_logged_and_exits_non_zero(tmp_path, caplog):
    """A scan task that dies must not leave the server serving stale tags."""
    daemon = _daemon(tmp_path)
    real_scan, calls = daemon.plc.scan, []

    def failing_scan(until):
        calls.append(until)
        if len(calls) > 3:
            raise RuntimeError("scan exploded")
        return real_scan(until)

    daemon.plc.scan = failing_scan
    with caplog.at_level(logging.INFO, logger="opcua_server"), pytest.raises(SystemExit) as e:
        await daemon.serve()
    assert e.value.code == 1
    assert "the PLC scan task ended" in caplog.text and "scan exploded" in caplog.text
    assert gc.get_freeze_count() == 0, "the collector is left as it was"


async def test_shutdown_timeout_cancels_and_logs_instead_of_raising(tmp_path, caplog):
    daemon = _daemon(tmp_path, shutdown_timeout_s=0.5)
    real_stop, _ = _hang_stop(daemon)
    with caplog.at_level(logging.INFO, logger="opcua_server"), pytest.raises(SystemExit) as e:
        await daemon.serve(on_ready=lambda url: asyncio.get_running_loop().call_soon(
            daemon._handle_exit, signal.SIGTERM))
    await real_stop()
    assert e.value.code == 1
    assert "shutdown took longer than 0.5 s: cancelled" in caplog.text


async def test_second_signal_forces_the_exit(tmp_path, caplog):
    daemon = _daemon(tmp_path, shutdown_timeout_s=600)
    real_stop, _ = _hang_stop(daemon, during=lambda: daemon._handle_exit(signal.SIGINT))
    with caplog.at_level(logging.INFO, logger="opcua_server"), pytest.raises(SystemExit) as e:
        await daemon.serve(on_ready=lambda url: asyncio.get_running_loop().call_soon(
            daemon._handle_exit, signal.SIGTERM))
    await real_stop()
    assert e.value.code == 1
    assert "received SIGINT again: forcing the exit" in caplog.text and "forced exit" in caplog.text


async def test_clean_stop_returns_normally(tmp_path, caplog):
    daemon = _daemon(tmp_path)
    with caplog.at_level(logging.INFO, logger="opcua_server"):
        await daemon.serve(on_ready=lambda url: asyncio.get_running_loop().call_soon(
            daemon._handle_exit, signal.SIGTERM))
    assert "stopped cleanly" in caplog.text
    assert daemon.server.events._task is not None and daemon.server.events._task.done()


def test_importing_the_server_changes_nothing_process_wide():
    """The fast path, the sqlite3 converter and the collector are installed by the daemon
    (or the test harness), not by importing."""
    code = ("import gc, sqlite3, opcua_server.daemon, opcua_server.server\n"
            "from opcua_server import history_store as history\nfrom opcua_server._asyncua import fastpath\n"
            "assert not fastpath.installed()\n"
            "assert sqlite3.converters.get('TIMESTAMP') is not history._timestamp\n"
            "assert gc.get_freeze_count() == 0 and gc.get_threshold()[0] == 700\n"
            "opcua_server.daemon.install()\n"
            "assert fastpath.installed() and sqlite3.converters['TIMESTAMP'] is history._timestamp\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr


async def test_a_served_plant_leaves_the_collector_alone(tmp_path):
    from tests.support.opcua_harness import running_plant

    threshold = gc.get_threshold()
    async with running_plant(tmp_path):
        assert gc.get_freeze_count() == 0 and gc.get_threshold() == threshold
