"""`plant optimize`: a short run prints JSON with the plain settings and the result on the
same random numbers, and writes the convergence plot."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from plantctl.cmd_optimize import register


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """plant"""

    register(app)
    return app


def test_plant_optimize_bsop_pso_json_and_plot(tmp_path):
    png = tmp_path / "conv.png"
    res = CliRunner().invoke(_app(), [
        "optimize", "--plant", "gear_line", "--model", "BSOP", "--scenario", "1", "--algorithm", "PSO",
        "--hours", "500", "--warmup", "100", "--reps", "2", "--verify-reps", "3", "--generations", "2",
        "--pop-size", "4", "--jobs", "1", "--plot", str(png), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["problem"] == "cards" and out["algorithm"] == "PSO"
    assert set(out["decisions"]) >= {"K1", "K2", "C", "S3.A"}, "S-KAP: shared kanbans and one CONWIP count"
    ver = out["verification"]
    assert set(ver["candidate"]) == set(ver["current"]) == {"Zmax", "SL", "WIP", "FG", "LD", "I3"}
    assert ver["current"]["Zmax"]["n"] == 3
    assert 2 <= len(out["history"]) <= 2 + 2, "two generations, then at most 15 % of 2 x 4 polish moves"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plant_optimize_refuses_a_bad_override():
    res = CliRunner().invoke(_app(), ["optimize", "--plant", "gear_line", "--set", "K9=1", "--json"])
    assert res.exit_code == 2
    assert "K stages" in res.output


def test_plant_optimize_prints_both_settings_with_intervals():
    res = CliRunner().invoke(_app(), [
        "optimize", "--plant", "auto_parts_cell", "--problem", "setpoints", "--algorithm", "scipy",
        "--hours", "168", "--warmup", "48", "--reps", "2", "--verify-reps", "3", "--generations", "1",
        "--pop-size", "4", "--jobs", "1"])
    assert res.exit_code == 0, res.output
    assert "plain settings" in res.stdout and "best found" in res.stdout
    assert "speed.CNC1" in res.stdout and "±" in res.stdout
    assert "verified better" in res.stdout or "not verified" in res.stdout
