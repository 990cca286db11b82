"""The report's tables from the finished cells: paired differences beside seed 000's Table 1,
the levers the optimizer wrote, its cycle times against "under 5 s", and the share of the
offline optimum's gain the live loop captured; plus the raw per-seed CSV."""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .stats import Interval, paired, share


@dataclass(frozen=True)
class Row:
    kpi: str
    label: str
    seed: str
    """Seed 000's Table 1 figure for it (empty: the seed gives none)."""
    better: int
    """-1: lower is better, +1: higher is better."""


ROWS = (Row("energy_kwh", "energy (kWh)", "-28 % (energy usage)", -1),
        Row("energy_per_part_kwh", "energy per good part (kWh)", "", -1),
        Row("downtime_h", "unplanned downtime (machine-h)", "-35 % (downtime)", -1),
        Row("stoppage_h", "total downtime, unplanned + planned (machine-h)", "", -1),
        Row("throughput_per_h", "throughput (good parts / h)", "+21 %", 1),
        Row("LD", "lost orders", "", -1),
        Row("cost", "cost C (EUR)", "", -1),
        Row("Z", "Z = w1 C + w2 E + w3 D", "", -1))
SEED_CYCLE_S = 5.0


def by_arm(cells: Sequence[dict[str, Any]], arm: str) -> list[dict[str, Any]]:
    return sorted((c for c in cells if c["arm"] == arm), key=lambda c: c["seed"])


def values(cells: Sequence[dict[str, Any]], kpi: str) -> list[float]:
    return [float(c["kpis"][kpi]) for c in cells]


def _fmt(x: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(x) else f"{x:+.{digits}g}"


def cell_text(d: Interval, pct: Interval) -> str:
    mark = "" if d.significant() or math.isnan(d.low) else " (ns)"
    return (f"{_fmt(d.mean)} [{_fmt(d.low)}, {_fmt(d.high)}] {_fmt(pct.mean, 2)} % "
            f"[{_fmt(pct.low, 2)}, {_fmt(pct.high, 2)}]{mark}")


def kpi_table(cells: Sequence[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Markdown lines of the paired-difference table and its rows as data (for tests)."""
    base, live, off = by_arm(cells, "baseline"), by_arm(cells, "live"), by_arm(cells, "offline")
    lines = ["| KPI | seed 000 Table 1 | baseline mean | live - baseline | offline - baseline | live's share of "
             "the offline gain |", "|---|---|---|---|---|---|"]
    data = []
    for row in ROWS:
        b, a, c = values(base, row.kpi), values(live, row.kpi), values(off, row.kpi)
        da, pa = paired(a, b)
        dc, pc = paired(c, b)
        sh = share(a, c, b) if dc.significant() else math.nan
        data.append({"kpi": row.kpi, "live": (da, pa), "offline": (dc, pc), "share": sh})
        lines.append(f"| {row.label} | {row.seed or '-'} | {np.mean(b):.4g} | {cell_text(da, pa)} | "
                     f"{cell_text(dc, pc)} | {'- (offline ns)' if math.isnan(sh) else f'{100 * sh:.0f} %'} |")
    return lines, data


def lever(key: str) -> str:
    return key.partition(".")[0]


def levers_table(live: Sequence[dict[str, Any]]) -> list[str]:
    """Per lever kind: how many cycles wrote it, how many values, on which machines, and the
    values written (the range of a number, the options of a choice)."""
    cycles: Counter[str] = Counter()
    machines: dict[str, set[str]] = {}
    written: dict[str, list[Any]] = {}
    for cell in live:
        for c in cell["cycles"]:
            changes = c.get("written") or {}
            cycles.update({lever(k) for k in changes})
            for k, v in changes.items():
                machines.setdefault(lever(k), set()).add(k.partition(".")[2])
                written.setdefault(lever(k), []).append(v)
    lines = ["| lever | cycles that wrote it | values written | machines / stations | values |", "|---|---|---|---|---|"]
    for kind, n in cycles.most_common():
        lines.append(f"| {kind} | {n} | {len(written[kind])} | {', '.join(sorted(machines[kind]))} | "
                     f"{_spread(written[kind])} |")
    return lines if cycles else [*lines, "| (none) | 0 | 0 | | |"]


def _spread(values: Sequence[Any]) -> str:
    numbers = [v for v in values if isinstance(v, int | float)]
    if len(numbers) == len(values):
        return f"{min(numbers):.3g} .. {max(numbers):.3g}"
    return ", ".join(f"{k} x{n}" for k, n in Counter(map(str, values)).most_common())


def kept_reasons(live: Sequence[dict[str, Any]]) -> list[str]:
    """Why cycles wrote nothing, grouped by the reason's words before its figures."""
    why: Counter[str] = Counter()
    for cell in live:
        for c in cell["cycles"]:
            if not c.get("written"):
                for r in c.get("reasons") or [c.get("outcome", "")]:
                    why[str(r).split(":")[0]] += 1
    return [f"- {reason}: {n}" for reason, n in why.most_common()]


def outcomes_line(live: Sequence[dict[str, Any]]) -> str:
    counts = Counter(c["outcome"] for cell in live for c in cell["cycles"])
    return ", ".join(f"{k} {n}" for k, n in counts.most_common())


def cycle_times(live: Sequence[dict[str, Any]]) -> dict[str, float]:
    t = np.array([c["elapsed_s"] for cell in live for c in cell["cycles"] if c.get("elapsed_s") is not None])
    if not len(t):
        return {"n": 0, "median": math.nan, "p95": math.nan, "max": math.nan, "under_5s": math.nan}
    return {"n": len(t), "median": float(np.median(t)), "p95": float(np.percentile(t, 95)), "max": float(t.max()),
            "under_5s": float(np.mean(t < SEED_CYCLE_S))}


def stage_line(live: Sequence[dict[str, Any]]) -> str:
    """Median wall seconds of each stage of a cycle (the optimizer's own timings)."""
    stages: dict[str, list[float]] = {}
    for cell in live:
        for c in cell["cycles"]:
            for name, s in (c.get("timings") or {}).items():
                stages.setdefault(name, []).append(float(s))
    return ", ".join(f"{name.removesuffix('_s')} {np.median(v):.2f} s ({len(v)})" for name, v in stages.items())


def arrivals_line(cells: Sequence[dict[str, Any]]) -> str:
    seeds = sorted({c["seed"] for c in cells})
    same = [s for s in seeds if len({c["arrivals"]["digest"] for c in cells if c["seed"] == s}) == 1]
    return f"{len(same)} of {len(seeds)} seeds: all three arms saw the same order arrivals (count and digest)"


def write_csv(cells: Sequence[dict[str, Any]], path: Path) -> Path:
    names = [r.kpi for r in ROWS] + ["maintenance_h", "feasible", "FG"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["seed", "arm", *names, "orders", "orders_digest", "optimizer_writes"])
        for c in sorted(cells, key=lambda c: (c["seed"], c["arm"])):
            writes = sum(1 for r in c["plc_audit"] if r["result"] == "accepted")
            w.writerow([c["seed"], c["arm"], *(c["kpis"][n] for n in names), c["arrivals"]["n"],
                        c["arrivals"]["digest"], writes])
    return path
