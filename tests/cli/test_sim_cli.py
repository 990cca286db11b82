"""`plant sim` against a running plant server on loopback, as an engineer client over a secure
channel: pause, step to an hour, save, load and status do what the Simulation methods do; an
operator is refused with the status code named; never a traceback."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.support.opcua_harness import USERS, running_plant, until

pytestmark = pytest.mark.asyncio

PLANT = str(Path(sys.executable).parent / "plant")


async def _sim(srv, tmp: Path, user: str, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        PLANT, "sim", *args, "--endpoint", srv.url, "--user", user, "--data-dir", str(tmp / f"client-{user}"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PLANT_SIM_PASSWORD": USERS[user][1], "COLUMNS": "200"})
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_plant_sim_pauses_steps_saves_and_loads(tmp_path: Path):
    async with running_plant(tmp_path / "server", time_factor=None, start_h=6.0, held=True) as (plc, srv):
        code, out, err = await _sim(srv, tmp_path, "eve", "step-to", "12")
        assert code == 0, err
        assert "stepping to plant hour 12" in out
        await until(lambda: plc.held and plc.calendar_h == 12.0, what="paused at hour 12")
        code, out, err = await _sim(srv, tmp_path, "eve", "save", "noon")
        assert code == 0 and "snapshot noon saved at plant hour 12" in out, err
        await _sim(srv, tmp_path, "eve", "step-to", "20")
        await until(lambda: plc.held and plc.calendar_h == 20.0, what="paused at hour 20")
        code, out, err = await _sim(srv, tmp_path, "eve", "load", "noon")
        assert code == 0 and plc.calendar_h == 12.0, err
        code, out, err = await _sim(srv, tmp_path, "eve", "status")
        assert code == 0 and "State: paused" in out and "PlantTime: 12.0" in out, err
        code, out, err = await _sim(srv, tmp_path, "olga", "resume")
        assert (code, "Traceback" in err) == (2, False)
        assert "BadUserAccessDenied" in err
        assert plc.held
