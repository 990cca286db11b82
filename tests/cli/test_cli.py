"""The `plant simulate` command, run as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

PLANT = [str(Path(sys.executable).parent / "plant")]


def _plant(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(PLANT + list(args), capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})


def test_simulate_json_in_parallel_processes():
    r = _plant("simulate", "--plant", "gear_line", "--model", "HSOP", "--scenario", "21", "--hours", "300",
               "--warmup", "100", "--reps", "4", "--seed", "3", "--jobs", "2", "--set", "K1=5", "--json")
    assert r.returncode == 0, r.stderr
    assert "4 replications give wide confidence intervals" in r.stderr
    out = json.loads(r.stdout)
    assert out["model"] == "HSOP" and out["scenario"] == 21 and out["reps"] == 4
    assert out["policy"]["K_shared"][0] == 5 and out["policy"]["C_shared"] == 8
    for k in ("Zmax", "SL", "fill_rate", "WIP", "FG", "I3", "SC", "Rn", "B", "M", "R", "LD", "Rw",
              "energy_kwh", "downtime_h", "throughput_per_h", "oee", "util_MP3", "WIP_MP1", "FG_A", "served",
              "WIP1_obj", "WIP3_obj", "holding_eur", "sales_eur", "scrap_writeoff_eur"):
        s = out["kpis"][k]
        assert s["ci95"][0] <= s["mean"] <= s["ci95"][1], k
    again = _plant("simulate", "--model", "HSOP", "--scenario", "21", "--hours", "300", "--warmup", "100",
                   "--reps", "4", "--seed", "3", "--jobs", "1", "--set", "K1=5", "--json")
    assert json.loads(again.stdout)["kpis"] == out["kpis"], "parallel and serial runs agree"


def test_simulate_table():
    r = _plant("simulate", "--hours", "200", "--warmup", "0", "--reps", "2", "--jobs", "1")
    assert r.returncode == 0, r.stderr
    assert "gear_line · BDOP · scenario 1" in r.stdout
    assert "Zmax" in r.stdout and "95 % CI" in r.stdout


def test_bad_plant_file_runs_nothing(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text((Path(__file__).parents[2] / "plc_sim/plants/gear_line.toml").read_text()
                   .replace("C = { A = 8, B = 8 }", "C = { A = 0, B = 8 }"))
    r = _plant("simulate", "--plant", str(bad), "--reps", "1", "--hours", "10")
    assert r.returncode == 2
    assert "broken.toml, line" in r.stderr and "policy.C.A" in r.stderr
    assert r.stdout == ""


def test_simulate_auto_parts_cell_with_setpoints():
    r = _plant("simulate", "--plant", "auto_parts_cell", "--hours", "400", "--warmup", "100", "--reps", "3",
               "--jobs", "2", "--set", "speed.Machining=115", "--set", "standby.CNC3=0.25", "--json")
    assert r.returncode == 0, r.stderr
    k = json.loads(r.stdout)["kpis"]
    for name in ("cost", "energy_kwh", "downtime_h", "throughput_per_h", "peak_kw", "Z", "feasible"):
        assert k[name]["ci95"] is not None, name
    table = _plant("simulate", "--plant", "auto_parts_cell", "--hours", "200", "--warmup", "0", "--reps", "2")
    head = table.stdout.split("Zmax")[0]
    for name in ("cost", "energy_kwh", "downtime_h", "throughput_per_h", "peak_kw"):
        assert name in head, "C, E, D, T and R lead the table"
    bad = _plant("simulate", "--plant", "auto_parts_cell", "--reps", "1", "--hours", "10", "--set", "speed.CNC1=131")
    assert bad.returncode == 2 and "outside [70, 130] %" in bad.stderr
