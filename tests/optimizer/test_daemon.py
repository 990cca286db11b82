"""`plant optimizer` as a process: starts, schedules, and stops cleanly on SIGTERM;
`plant optimizer run-now` runs a job once and prints its audit record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

APP = ("import typer\nfrom plantctl.cmd_optimize import register\napp = typer.Typer()\n"
       "@app.callback()\ndef main() -> None:\n    'plant'\nregister(app)\napp()\n")


def _plant(*args: str) -> list[str]:
    return [sys.executable, "-c", APP, *args]


def test_the_daemon_stops_cleanly_on_sigterm(tmp_path):
    cfg = tmp_path / "opt.toml"
    cfg.write_text(f'[optimizer]\ndata_dir = "{tmp_path}"\n[[optimizer.jobs]]\nname = "speeds"\ninterval_s = 3600\n')
    proc = subprocess.Popen(_plant("optimizer", "--config", str(cfg)), stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PLANT_OPTIMIZER_PASSWORD": "x"})
    try:
        deadline = time.monotonic() + 60
        for line in proc.stderr:
            if "scheduled 1 job(s): speeds" in line:
                break
            assert time.monotonic() < deadline
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[1]
    finally:
        proc.kill()
    assert proc.returncode == 0, rest
    assert "optimizer stopped" in rest


def test_run_now_records_an_unreachable_server(tmp_path):
    cfg = tmp_path / "opt.toml"
    cfg.write_text(f'[optimizer]\ndata_dir = "{tmp_path}"\nserver_url = "opc.tcp://127.0.0.1:9/plant"\n'
                   'security = "None"\ntimeout_s = 2\nplant = "auto_parts_cell"\n'
                   '[[optimizer.jobs]]\nname = "speeds"\nkinds = ["speed"]\n')
    out = subprocess.run(_plant("optimizer", "--config", str(cfg), "run-now", "--json"), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    entry = json.loads(out.stdout.strip().splitlines()[-1])
    assert entry["job"] == "speeds" and entry["outcome"] == "error"
    assert json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[0])["outcome"] == "error"
