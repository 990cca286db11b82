"""`plant plc` as a user runs it: a real subprocess, served on loopback, stopped by SIGTERM."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from asyncua import Client, ua

from tests.support.opcua_harness import NS, free_port

PLANT = str(Path(sys.executable).parent / "plant")
PASSWORD = "eve-daemon-pw"


def _wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    for line in proc.stderr:
        if line.startswith(needle):
            return line
        assert time.monotonic() < deadline, f"no {needle!r} within {timeout} s"
    raise AssertionError(f"process ended before printing {needle!r}")


def test_plc_daemon_serves_and_stops_cleanly_on_sigterm(tmp_path):
    port = free_port()
    config = tmp_path / "plant.toml"
    config.write_text(f"[plc]\ntime_factor = 600\n\n[opcua]\nport = {port}\n")
    env = {**os.environ, "PLANT_DATA_DIR": str(tmp_path)}
    users = subprocess.run([PLANT, "users", "add", "eve", "--role", "engineer", "--password-stdin"],
                           input=f"{PASSWORD}\n", check=False, env=env, capture_output=True, text=True, timeout=60)
    assert users.returncode == 0, users.stderr
    proc = subprocess.Popen([PLANT, "plc", "--plant", "gear_line", "--model", "BDOP", "--scenario", "1",
                             "--config", str(config), "--allow-none", "--trust-all"],
                            env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        line = _wait_for_line(proc, "listening at")
        url = line.split("listening at ")[1].strip()
        assert url == f"opc.tcp://127.0.0.1:{port}/plant"

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
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=15)[1]
        assert proc.returncode == 0, rest
        assert time.monotonic() - t0 < 8
        assert "stopped cleanly" in rest
        assert (tmp_path / "history.sqlite").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
