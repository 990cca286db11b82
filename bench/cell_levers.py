"""The auto-parts cell's levers (seed 000), each alone and all together, paired against the
plain baseline on common random numbers: throughput, energy per good part, unplanned and
total downtime, Z and feasibility, as mean differences with 95 % intervals.

    .venv/bin/python bench/cell_levers.py --reps 10 --hours 2000 --warmup 336 --jobs 2

The table it prints is the one in docs/machine_physics.md ("The cell's levers, measured").
"""

from __future__ import annotations

import argparse

from plc_sim.model.experiment import RunPlan, Summary, paired, run_settings
from plc_sim.model.spec import load_plant
from plc_sim.model.variants import build_variant

STATIONS = ("Machining", "Handling", "Inspection", "Transport")
LEVERS: dict[str, list[str]] = {
    "third shift": [f"shift.{s}=three" for s in STATIONS],
    "speed 115 % (CNCs)": ["speed.Machining=115"],
    "speed 130 % (CNCs)": ["speed.Machining=130"],
    "speed 85 % (CNCs)": ["speed.Machining=85"],
    "speed 70 % (CNCs)": ["speed.Machining=70"],
    "off-shift standby": [f"off_shift.{s}=standby" for s in STATIONS],
    "off-shift off": [f"off_shift.{s}=off" for s in STATIONS],
    "in-shift standby 0.25 h": [f"standby.{s}=0.25" for s in STATIONS],
    "dispatch CNC3 0.5": ["dispatch.CNC3=0.5"],
    "condition maintenance": [f"maint_policy.CNC{i}=condition" for i in (1, 2, 3)],
    "condition maintenance, later (wear 110, 4.0 mm/s)": [
        x for i in (1, 2, 3)
        for x in (f"maint_policy.CNC{i}=condition", f"maint_wear.CNC{i}=110", f"maint_vibration.CNC{i}=4.0")],
    "third shift, CNC3 weight 0.5": [f"shift.{s}=three" for s in STATIONS] + ["dispatch.CNC3=0.5"],
    "AGVs on one shift": ["shift.Transport=one"],
}
ALL_TOGETHER = ("third shift", "speed 115 % (CNCs)", "off-shift off", "in-shift standby 0.25 h",
                "dispatch CNC3 0.5", "condition maintenance")
OPTIONS: tuple[tuple[str, type, float], ...] = (
    ("--reps", int, 10), ("--hours", float, 2000.0), ("--warmup", float, 336.0), ("--seed", int, 1), ("--jobs", int, 2))
COLUMNS = (("throughput_per_h", "T /h", 3), ("energy_per_part_kwh", "kWh/part", 2), ("downtime_h", "unplanned h", 1),
           ("stoppage_h", "total stop h", 1), ("Z", "Z", 0))


def _cell(s: Summary, digits: int, base: float) -> str:
    pct = 100.0 * s.mean / base if base else float("nan")
    mark = "" if s.significant else " (ns)"
    return f"{s.mean:+.{digits}f} [{s.low:+.{digits}f}, {s.high:+.{digits}f}] {pct:+.1f} %{mark}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for flag, kind, default in OPTIONS:
        ap.add_argument(flag, type=kind, default=default)
    a = ap.parse_args()
    base = load_plant("auto_parts_cell")
    levers = dict(LEVERS)
    levers["all together"] = [x for name in ALL_TOGETHER for x in LEVERS[name]]
    specs = [base] + [build_variant(base, sets=sets) for sets in levers.values()]
    plan = RunPlan(hours=a.hours, warmup=a.warmup, seed=a.seed)
    runs = run_settings(specs, plan, a.reps, jobs=a.jobs)
    ref = runs[0]
    means = {k: sum(r[k] for r in ref) / len(ref) for k, _, _ in COLUMNS}
    feas = sum(r["feasible"] for r in ref) / len(ref)
    tare = sum(r["non_processing_share"] for r in ref) / len(ref)
    lost = sum(r["LD"] / r["D"] for r in ref) / len(ref)
    print(f"auto_parts_cell, {a.reps} replications of {a.hours:g} h after {a.warmup:g} h, seed {a.seed} (CRN)")
    print("baseline: " + ", ".join(f"{label} {means[k]:.{d}f}" for k, label, d in COLUMNS) + f", feasible {feas:.0%}")
    print(f"baseline: energy drawn while not processing {tare:.1%} of the total, orders lost {lost:.1%}")
    print("| setting | " + " | ".join(f"d {label}" for _, label, _ in COLUMNS) + " | feasible |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for name, other in zip(levers, runs[1:]):
        d = paired(ref, other)
        share = sum(r["feasible"] for r in other) / len(other)
        cells = [_cell(d[k], digits, means[k]) for k, _, digits in COLUMNS]
        print(f"| {name} | " + " | ".join(cells) + f" | {share:.0%} |")


if __name__ == "__main__":
    main()
