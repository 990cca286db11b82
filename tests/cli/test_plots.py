"""The one plotting module: `plant simulate --plot` and `plant compare --plot` write real PNGs,
and every figure the project draws is titled with both axes labelled (with units)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import pytest

import plant_plots
from plant_plots import Interval
from tests.cli.test_cli import _plant


def _png_size(path: Path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(path)
    return img.shape[1], img.shape[0]


def _sane(path: Path) -> None:
    width, height = _png_size(path)
    assert 300 <= width <= 4000 and 200 <= height <= 4000, (width, height)


def test_replications_figure_is_titled_and_labelled_with_units():
    fig = plant_plots.replications("gear_line, 3 reps", {"Zmax": [1.0, 2.0, 3.0], "energy_kwh": [5.0, 6.0, 7.0]},
                                   {"Zmax": Interval(2.0, 0.5, 3.5), "energy_kwh": Interval(6.0, 5.0, 7.0)})
    assert plant_plots.labelled(fig)
    assert fig._suptitle.get_text() == "gear_line, 3 reps"
    visible = [ax for ax in fig.get_axes() if ax.get_visible()]
    assert [ax.get_ylabel() for ax in visible] == ["Zmax (EUR)", "energy_kwh (kWh)"]


def test_paired_differences_marks_intervals_that_exclude_zero(tmp_path):
    diffs = {"HSOP": {"Zmax": Interval(-3.0, -4.0, -2.0), "SL": Interval(0.01, -0.02, 0.04)},
             "BDOP": {"Zmax": Interval(1.0, -1.0, 3.0), "SL": Interval(0.1, 0.05, 0.15)}}
    fig = plant_plots.paired_differences("compare", "HDOP", diffs)
    assert plant_plots.labelled(fig)
    zmax, sl = [ax for ax in fig.get_axes() if ax.get_visible()]
    assert zmax.get_xlabel() == "difference from 'HDOP', EUR" and sl.get_xlabel().endswith("share 0-1")
    assert [t.get_text() for t in zmax.get_yticklabels()] == ["HSOP", "BDOP"]
    _sane(plant_plots.save(fig, tmp_path / "deep" / "diff.png"))


def test_save_refuses_an_unlabelled_figure(tmp_path):
    fig, [ax] = plant_plots.panels(1, "no axis labels")
    ax.plot([0, 1], [0, 1])
    with pytest.raises(ValueError, match="axis labels"):
        plant_plots.save(fig, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_kpi_units_follow_the_kpi_names():
    assert [plant_plots.kpi_unit(k) for k in ("Zmax", "holding_eur", "energy_kwh", "downtime_h", "SL", "FG",
                                              "WIP_MP1", "throughput_per_h", "peak_kw", "no_such")] == [
        "EUR", "EUR", "kWh", "h", "share 0-1", "count", "parts, time average", "1/h", "kW", ""]


def test_simulate_and_compare_write_their_plots(tmp_path):
    sim, cmp = tmp_path / "sim.png", tmp_path / "cmp.png"
    r = _plant("simulate", "--hours", "200", "--warmup", "0", "--reps", "3", "--jobs", "1", "--plot", str(sim))
    assert r.returncode == 0, r.stderr
    assert f"plot written to {sim}" in r.stderr.replace("\n", "")
    _sane(sim)
    r = _plant("compare", "--hours", "200", "--warmup", "0", "--reps", "3", "--jobs", "1", "--plot", str(cmp),
               "--kpi", "Zmax", "--kpi", "SL", "HDOP", "HSOP")
    assert r.returncode == 0, r.stderr
    _sane(cmp)
