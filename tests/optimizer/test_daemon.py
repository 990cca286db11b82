"""`plant optimizer` as a process: starts, schedules, and stops cleanly on SIGTERM;
`plant optimizer run-now` runs a job once and prints its audit record."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.daemons import run_daemon

APP = ("import typer\nfrom plantctl.cmd_optimize import register\napp = typer.Typer()\n"
       "@app.callback()\ndef main() -> None:\n    'plant'\nregister(app)\napp()\n")


def _plant(*args: str) -> list[str]:
    return [sys.executable, "-c", APP, *args]


def test_the_daemon_stops_cleanly_on_sigterm(tmp_path):
    cfg = tmp_path / "opt.toml"
    cfg.write_text(f'[optimizer]\ndata_dir = "{tmp_path}"\n[[optimizer.jobs]]\nname = "speeds"\ninterval_s = 3600\n')
    with run_daemon(["optimizer", "--config", str(cfg)], tmp_path / "optimizer.log",
                    {"PLANT_OPTIMIZER_PASSWORD": "x"}, executable=_plant()) as d:
        d.line("scheduled 1 job(s): speeds")
        assert d.stop() == 0, d.tail()
    assert "optimizer stopped cleanly" in d.text()


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
