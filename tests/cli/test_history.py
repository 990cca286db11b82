"""`plant history`: an unknown tag is named with its close matches; the plot draws a machine's
State as named steps, numbers against their unit, and marks the span the twin was stopped."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.pyplot as plt

from plantctl.tag_meta import tag_meta
from plc_sim.model.vocab import MACHINE_STATUSES
from twin_core.historian.sink import Point
from twin_core.historian.sqlite import SqliteSink
from twin_core.history import figure, gaps, tag_history

PLANT = str(Path(sys.executable).parent / "plant")
T0 = 1_767_571_200_000_000_000
MIN = 60_000_000_000
STATE = "GearLine/MP1/MP1/State"
POWER = "GearLine/MP1/MP1/PowerKW"
URL = "opc.tcp://127.0.0.1:4840/plant"


def _history(folder: Path) -> Path:
    """Two runs of a twin: minutes 0-30, stopped, then minutes 60-90 (a restart, no gap point)."""
    db = folder / "history.sqlite"
    sink = SqliteSink(db)
    points = [Point("twin_connection", {"endpoint": URL}, {"connected": 1.0}, T0),
              Point("twin_connection", {"endpoint": URL}, {"connected": 1.0}, T0 + 60 * MIN)]
    for start in (0, 60):
        for i in range(0, 31, 5):
            t = T0 + (start + i) * MIN
            points.append(Point("tag", {"path": STATE}, {"value": float((i // 5) % 3), "status": 0}, t))
            points.append(Point("tag", {"path": POWER}, {"value": 10.0 + i, "status": 0}, t))
    sink.write(points)
    sink.close()
    return db


def _plant(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PLANT, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})


def test_an_unknown_tag_is_named_with_its_close_matches(tmp_path: Path) -> None:
    _history(tmp_path)
    r = _plant("history", "GearLine/MP1/MP1/PowerKw", "--data-dir", str(tmp_path))
    assert r.returncode == 2
    assert "no tag GearLine/MP1/MP1/PowerKw in the history (2 tags); did you mean GearLine/MP1/MP1/PowerKW?" \
        in r.stderr
    other = _plant("history", "Line9/Oven/Temp", "--data-dir", str(tmp_path))
    assert other.returncode == 2 and "no tag Line9/Oven/Temp" in other.stderr and STATE in other.stderr


def test_the_restart_is_a_gap_and_the_line_breaks_there(tmp_path: Path) -> None:
    db = _history(tmp_path)
    samples = tag_history(db, POWER, 3 * 3600)
    holes = gaps(db, samples[0].time, samples[-1].time)
    assert [(g.start, g.end) for g in holes] == [(datetime.fromtimestamp((T0 + 30 * MIN) / 1e9, UTC),
                                                  datetime.fromtimestamp((T0 + 60 * MIN) / 1e9, UTC))]
    meta = tag_meta("gear_line", POWER)
    assert meta.unit == "kW" and meta.states is None
    fig = figure(samples, POWER, meta.unit, meta.states, holes)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "PowerKW (kW)" and ax.get_xlabel() == "source time (UTC)" and ax.get_title() == POWER
    assert len(ax.get_lines()) == 2, "one step line per run: none drawn across the gap"
    assert "not observed (twin stopped or disconnected)" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(fig)


def test_states_are_named_steps(tmp_path: Path) -> None:
    db = _history(tmp_path)
    meta = tag_meta("gear_line", STATE)
    assert meta.states == MACHINE_STATUSES
    fig = figure(tag_history(db, STATE, 3 * 3600), STATE, meta.unit, meta.states)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(MACHINE_STATUSES)
    assert ax.get_ylabel() == "State (state)"
    plt.close(fig)
    r = _plant("history", STATE, "--since", "2h", "--data-dir", str(tmp_path), "--plot", str(tmp_path / "s.png"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
