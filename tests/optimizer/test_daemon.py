"""`plant optimizer` as a process: starts, schedules, and stops cleanly on SIGTERM;
`plant optimizer run-now` runs a job once and prints its audit record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.daemons import run_daemon
from tests.support.polling import wait_until

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


def _session(sid: int) -> list[tuple[int, str]]:
    r = subprocess.run(["ps", "-o", "pid=,args=", "-s", str(sid)], capture_output=True, text=True, check=False)
    return [(int(pid), args) for pid, args in (line.strip().split(" ", 1) for line in r.stdout.splitlines())]


def _ignores_sigint(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:")), 16)
    return bool(mask & (1 << (signal.SIGINT - 1)))


def test_its_workers_start_from_a_fork_server_that_ignores_ctrl_c(tmp_path):
    """The run under way survives a Ctrl-C to the terminal's process group: the workers come from
    a fork server started with SIGINT ignored (plantctl/fork_server.py), as under plant up."""
    cfg = tmp_path / "opt.toml"
    cfg.write_text(f'[optimizer]\ndata_dir = "{tmp_path}"\n[[optimizer.jobs]]\nname = "speeds"\ninterval_s = 3600\n')
    with run_daemon(["optimizer", "--config", str(cfg)], tmp_path / "optimizer.log",
                    {"PLANT_OPTIMIZER_PASSWORD": "x"}, executable=_plant(), start_new_session=True) as d:
        d.line("scheduled 1 job(s): speeds")
        [server] = [pid for pid, args in _session(d.proc.pid) if "forkserver" in args]
        assert _ignores_sigint(server)
        os.killpg(d.proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C
        assert d.wait() == 0, d.tail()
        assert "optimizer stopped cleanly" in d.text() and "KeyboardInterrupt" not in d.text(), d.tail()
    wait_until(lambda: not _session(d.proc.pid), 20, "the fork server gone with the daemon")


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
