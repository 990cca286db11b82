"""`plant experiment closed-loop --quick` as a user runs it (one subprocess: the PLC and its
OPC UA server, the twin and the optimizer per live run), checked for structure and sanity:
the live loop wrote setpoints through OPC UA and the other arms wrote none, the arms of a seed
saw the same orders, every table row is there, intervals hold their means, and a rerun
resumes from the cache. No test asserts that the optimizer wins."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest

from experiments.closed_loop.design import ARMS, quick
from experiments.closed_loop.report import ROWS, kpi_table
from experiments.closed_loop.stack import OPTIMIZER_USER
from experiments.closed_loop.stats import paired, t_interval
from tests.support.daemons import PLANT

RUN_TIMEOUT_S = 1200
"""A guard against a hang (the quick run takes 2-4 minutes on an idle 2-core machine)."""
pytestmark = pytest.mark.timeout(RUN_TIMEOUT_S + 300)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]], str]:
    out = tmp_path_factory.mktemp("closed-loop")
    r = subprocess.run([PLANT, "experiment", "closed-loop", "--quick", "--out", str(out)], capture_output=True,
                       text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    cells = [json.loads(p.read_text()) for p in sorted((out / "closed_loop" / "cells").glob("*.json"))]
    return out, cells, r.stdout


def _arm_cells(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["result"] for c in cells if c["params"]["arm"] in ARMS]


def test_the_live_loop_wrote_setpoints_through_opcua_and_the_other_arms_wrote_none(quick_run):
    _, cells, _ = quick_run
    arms = _arm_cells(cells)
    assert sorted((c["seed"], c["arm"]) for c in arms) == sorted((s, a) for s in quick().seeds for a in ARMS)
    for cell in arms:
        accepted = [r for r in cell["plc_audit"] if r["result"] == "accepted"]
        if cell["arm"] == "live":
            assert len(cell["cycles"]) == len(quick().cycle_hours())
            written = {k for c in cell["cycles"] for k in (c["written"] or {})}
            assert accepted and all(r["user"] == OPTIMIZER_USER for r in accepted), cell["cycles"]
            assert written, "the optimizer's audit names no value written"
            applied = [r for r in cell["plc_audit"] if r["result"] == "applied"]
            assert len(applied) == len(accepted)  # every write the server took, the PLC applied
        else:
            assert cell["plc_audit"] == [] and cell["cycles"] == []


def test_the_arms_of_a_seed_saw_the_same_order_arrivals(quick_run):
    _, cells, _ = quick_run
    arms = _arm_cells(cells)
    for seed in quick().seeds:
        seen = {json.dumps(c["arrivals"]) for c in arms if c["seed"] == seed}
        assert len(seen) == 1, seen
    assert len({c["arrivals"]["digest"] for c in arms}) == len(quick().seeds)  # seeds differ


def test_every_table_row_is_present_and_its_intervals_hold_their_means(quick_run):
    out, cells, stdout = quick_run
    text = (out / "closed_loop.md").read_text()
    assert "report:" in stdout
    assert "`plant experiment closed-loop --quick" in text and "seeds: 1, 2" in text
    for row in ROWS:
        assert f"| {row.label} |" in text
    for heading in ("## Paired differences", "## Levers the optimizer used", "## Cycle times",
                    "## The offline optimum", "## Interpretation choices"):
        assert heading in text
    assert (out / "closed_loop" / "time_series.png").stat().st_size > 0
    assert len((out / "closed_loop" / "kpis.csv").read_text().splitlines()) == 1 + len(ARMS) * len(quick().seeds)
    _, data = kpi_table(_arm_cells(cells))
    assert [d["kpi"] for d in data] == [r.kpi for r in ROWS]
    for d in data:
        for interval in (*d["live"], *d["offline"]):
            assert interval.n == len(quick().seeds)
            assert math.isnan(interval.mean) or interval.contains_mean()


def test_a_rerun_resumes_from_the_cache(quick_run):
    out, _, _ = quick_run
    files = sorted((out / "closed_loop" / "cells").glob("*.json"))
    stamps = [p.stat().st_mtime_ns for p in files]
    r = subprocess.run([PLANT, "experiment", "closed-loop", "--quick", "--out", str(out)], capture_output=True,
                       text=True, timeout=RUN_TIMEOUT_S, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    assert sorted((out / "closed_loop" / "cells").glob("*.json")) == files
    assert [p.stat().st_mtime_ns for p in files] == stamps


def test_paired_intervals_hold_their_means_and_pair_by_seed():
    d, pct = paired([11.0, 19.0, 32.0], [10.0, 20.0, 30.0])
    assert d.mean == pytest.approx(2 / 3) and d.low <= d.mean <= d.high
    assert pct.mean == pytest.approx((10.0 - 5.0 + 6.666666666666667) / 3)
    one = t_interval([3.0])
    assert one.mean == 3.0 and math.isnan(one.low) and one.contains_mean()


def test_an_arm_with_its_own_shift_plan_is_measured_over_the_same_orders():
    """A setting with another shift plan starts its first shift at another hour; every arm is
    still measured from the plant file's, so the orders are the same."""
    from dataclasses import replace

    from experiments.closed_loop.arms import run_cell

    design = replace(quick(), weeks=0.05, sample_h=4.0)
    base = run_cell(design, 1, "baseline")
    other = run_cell(design, 1, "offline", ("shift.Machining=three",))
    assert other["start_h"] == base["start_h"]
    assert other["arrivals"] == base["arrivals"] and base["arrivals"]["n"] > 0
