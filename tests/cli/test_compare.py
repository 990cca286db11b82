"""`plant compare`: settings on the same seeds, paired differences with their intervals."""

import json
import math

import pytest

from tests.cli.test_cli import _plant


def test_compare_prints_paired_differences_as_json():
    r = _plant("compare", "--scenario", "21", "--hours", "600", "--warmup", "100", "--reps", "6", "--seed", "2",
               "--jobs", "2", "--json", "BDOP", "HDOP", "model=BDOP,S3=8,K1=8,K2=8,C=14")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    ref, hk, more_stock = out["settings"]
    assert ref["vs_reference"] is None and hk["model"] == "HDOP" and more_stock["model"] == "BDOP"
    d = hk["vs_reference"]["I3"]
    assert d["mean"] == pytest.approx(hk["kpis"]["I3"]["mean"] - ref["kpis"]["I3"]["mean"])
    assert d["ci95"][0] > 0, "HK-CONWIP keeps its C cards as finished stock, BK only S3"
    z_ref, z_more = ref["kpis"]["Zmax"]["half_width"], more_stock["kpis"]["Zmax"]["half_width"]
    paired_hw = more_stock["vs_reference"]["Zmax"]["half_width"]
    assert paired_hw < math.hypot(z_ref, z_more) / 3, "common random numbers make the paired interval tight"
    assert more_stock["vs_reference"]["LD"]["ci95"][1] < 0, "more base stock loses fewer sales"
    for s in out["settings"]:
        lo, hi = s["kpis"]["fill_rate"]["ci95"]
        assert 0.0 <= lo <= hi <= 1.0
        assert s["kpis"]["LD"]["ci95"][0] >= 0.0


def test_compare_table_and_refusals():
    r = _plant("compare", "--hours", "200", "--warmup", "0", "--reps", "2", "--jobs", "1", "HDOP", "HSOP")
    assert r.returncode == 0, r.stderr
    assert "differences from 'HDOP'" in r.stdout and "Zmax" in r.stdout
    one = _plant("compare", "--reps", "2", "BDOP")
    assert one.returncode == 2 and "at least two settings" in one.stderr
    bad = _plant("compare", "--reps", "2", "BDOP", "HDOP,K1=2")
    assert bad.returncode == 2 and "seed constraint" in bad.stderr
