"""Summaries: clipped intervals and paired differences."""

import math

import pytest

from plc_sim.model.experiment import kpi_bounds, paired, summarise, summarise_all


def test_bounded_kpis_are_clipped_to_their_range():
    runs = [{"LD": 0.0, "fill_rate": 1.0, "Zmax": -5.0}, {"LD": 3.0, "fill_rate": 0.9, "Zmax": 5.0},
            {"LD": 0.0, "fill_rate": 1.0, "Zmax": 0.0}]
    s = summarise_all(runs)
    assert s["LD"].low == 0.0 and s["LD"].mean - s["LD"].half_width < 0
    assert s["fill_rate"].high == 1.0 and s["fill_rate"].mean + s["fill_rate"].half_width > 1
    assert s["Zmax"].low < 0, "Zmax is signed"
    assert kpi_bounds("util_MP3") == (0.0, 1.0) and kpi_bounds("energy_kwh") == (0.0, math.inf)


def test_paired_differences_use_the_replication_pairs():
    ref = [{"Zmax": 100.0 + 50 * i} for i in range(5)]
    other = [{"Zmax": 102.0 + 50 * i + (0.1 if i % 2 else -0.1)} for i in range(5)]
    d = paired(ref, other)["Zmax"]
    assert d.mean == pytest.approx(2.0, abs=0.05)
    assert d.significant and d.half_width < 0.3
    unpaired = math.hypot(summarise([r["Zmax"] for r in ref]).half_width,
                          summarise([o["Zmax"] for o in other]).half_width)
    assert unpaired > 100 * d.half_width
