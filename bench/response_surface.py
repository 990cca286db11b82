"""Response surfaces of both plants, as markdown tables for docs/response_surface.md.

Gear line (seed 004): for each control model, Zmax, SL and WIP over a grid of kanban counts
K (K1 = K2 = K) and CONWIP counts C, on scenarios 1 and 21, S3 = 4 as in the plant file;
settings that break the seed's constraints are marked. Auto-parts cell (seed 000): C, E, D,
T, lost orders and Z over the CNC speed setpoint and the CNC standby timeout. Every cell is
the mean of the same replications (common random numbers), so neighbouring cells differ by
the setting, not by luck.

Usage: python bench/response_surface.py [--reps 10] [--hours 9000] [--warmup 1000] [--jobs 2]
       [--cell-reps 6] [--cell-hours 4000] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from plc_sim.model.experiment import RunPlan, run_settings, summarise_all
from plc_sim.model.spec import MODELS, PlantSpec, load_plant
from plc_sim.model.variants import VariantError, build_variant

KS = (4, 6, 8)
CS = (8, 16, 24, 32)
S3S = (4, 8, 16, 24)
C_OVER_S3 = (0, 4, 8)
K1S = (4, 8)
K2S = (4, 6, 8)
SPEEDS = (70, 85, 100, 115, 130)
STANDBY = (0.0, 0.25, 1.0)


def _gear_specs(base: PlantSpec, model: str, scenario: int) -> dict[tuple[int, int], PlantSpec | str]:
    """Each grid point's spec, or the seed constraint it breaks."""
    out: dict[tuple[int, int], PlantSpec | str] = {}
    for k in KS:
        for c in CS:
            try:
                out[(k, c)] = build_variant(base, model=model, scenario=scenario, sets=[f"K1={k}", f"K2={k}", f"C={c}"])
            except VariantError as e:
                out[(k, c)] = str(e).split("seed constraint ")[-1].split(" fails")[0]
    return out


def _grid_table(title: str, grid: dict[tuple[int, int], PlantSpec | str], rows: tuple[str, tuple[int, ...]],
                cols: tuple[str, tuple[int, ...]], plan: RunPlan, reps: int, jobs: int, col_name: str = "C") -> str:
    """Runs every valid grid point on the same seeds and tabulates Zmax (k EUR) / SL / fill rate
    / WIP, the best Zmax in bold; a point the plant refuses shows the constraint it breaks.
    `rows` is (name, values), `cols` (header format with `{}` for the value, values)."""
    keys = [k for k, v in grid.items() if not isinstance(v, str)]
    runs = run_settings([grid[k] for k in keys], plan, reps, jobs)  # type: ignore[misc]
    means = {k: {n: s.mean for n, s in summarise_all(r).items()} for k, r in zip(keys, runs)}
    best = max(keys, key=lambda k: means[k]["Zmax"])
    (row_name, row_vals), (col_fmt, col_vals) = rows, cols
    header = f"| {row_name} \\ {col_name} | " + " | ".join(col_fmt.format(c) for c in col_vals) + " |"
    lines = [title, "", header, "|---|" + "---|" * len(col_vals)]
    for r in row_vals:
        cells = []
        for c in col_vals:
            v = grid[(r, c)]
            if isinstance(v, str):
                cells.append(f"breaks {v}")
                continue
            m = means[(r, c)]
            z = f"{m['Zmax'] / 1000:,.1f}"
            z = f"**{z}**" if (r, c) == best else z
            cells.append(f"{z} / {m['SL']:.3f} / {m['fill_rate']:.2f} / {m['WIP']:.1f}")
        lines.append(f"| {row_name} = {r} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def gear_table(base: PlantSpec, model: str, scenario: int, plan: RunPlan, reps: int, jobs: int) -> str:
    return _grid_table(f"**{model}, scenario {scenario}** (Zmax in k EUR / SL / fill rate / WIP; best Zmax in bold)",
                       _gear_specs(base, model, scenario), ("K", KS), ("C = {}", CS), plan, reps, jobs)


def bk_stock_table(base: PlantSpec, model: str, scenario: int, plan: RunPlan, reps: int, jobs: int) -> str:
    """BK-CONWIP's stock lever is the base stock S3; K1 = K2 = S3 (the seed's K >= S3) and
    C = S3 + 0, 4 or 8 (at C = S3 every card is stock and each start waits for a delivery)."""
    grid: dict[tuple[int, int], PlantSpec | str] = {}
    for s3 in S3S:
        for extra in C_OVER_S3:
            grid[(s3, extra)] = build_variant(base, model=model, scenario=scenario,
                                              sets=[f"S3={s3}", f"K1={s3}", f"K2={s3}", f"C={s3 + extra}"])
    return _grid_table(f"**{model}, scenario {scenario}, base stock S3 against C** (K1 = K2 = S3; "
                       "Zmax in k EUR / SL / fill rate / WIP; best Zmax in bold)", grid, ("S3", S3S),
                       ("C = S3 + {}", C_OVER_S3), plan, reps, jobs)


def k2_table(base: PlantSpec, model: str, scenario: int, plan: RunPlan, reps: int, jobs: int) -> str:
    """K1 against K2 (C = 16, S3 = 4) where the bottleneck MP3 is overloaded: the stage-2
    kanbans cap the queue in front of it (docs/control_rules.md, "What a kanban covers")."""
    grid: dict[tuple[int, int], PlantSpec | str] = {}
    for k1 in K1S:
        for k2 in K2S:
            try:
                grid[(k1, k2)] = build_variant(base, model=model, scenario=scenario, sets=[f"K1={k1}", f"K2={k2}", "C=16"])
            except VariantError as e:
                grid[(k1, k2)] = str(e).split("seed constraint ")[-1].split(" fails")[0]
    return _grid_table(f"**{model}, scenario {scenario}, K1 against K2** (C = 16, S3 = 4; "
                       "Zmax in k EUR / SL / fill rate / WIP; best Zmax in bold)", grid, ("K1", K1S),
                       ("K2 = {}", K2S), plan, reps, jobs, col_name="K2")


def cell_table(base: PlantSpec, plan: RunPlan, reps: int, jobs: int) -> str:
    points = [(v, s) for s in STANDBY for v in SPEEDS]
    specs = [build_variant(base, sets=[f"speed.Machining={v}", f"standby.Machining={s}"]) for v, s in points]
    runs = run_settings(specs, plan, reps, jobs)
    header = ("| CNC speed % | standby after h | C k EUR | E MWh | unplanned h | D h | T parts/h | lost orders | "
              "kWh/part | Z k EUR | feasible |")
    lines = [header, "|---|---|---|---|---|---|---|---|---|---|---|"]
    rows = []
    for (v, s), r in zip(points, runs):
        m = {n: x.mean for n, x in summarise_all(r).items()}
        rows.append(((v, s), m))
    best = min(rows, key=lambda x: x[1]["Z"] if x[1]["feasible"] >= 0.5 else float("inf"))[0]
    for (v, s), m in rows:
        z = f"{m['Z'] / 1000:,.1f}"
        z = f"**{z}**" if (v, s) == best else z
        lines.append(f"| {v} | {s:g} | {m['cost'] / 1000:,.1f} | {m['energy_kwh'] / 1000:,.1f} | "
                     f"{m['downtime_h']:.0f} | {m['stoppage_h']:.0f} | "
                     f"{m['throughput_per_h']:.3f} | {m['LD']:.0f} | {m['energy_per_part_kwh']:.2f} | {z} | "
                     f"{m['feasible']:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--hours", type=float, default=9000.0)
    ap.add_argument("--warmup", type=float, default=1000.0)
    ap.add_argument("--cell-reps", type=int, default=6)
    ap.add_argument("--cell-hours", type=float, default=4000.0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--sections", default="gear,bkstock,k2,cell", help="comma-separated: gear, bkstock, k2, cell")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    t0 = time.perf_counter()
    gear = load_plant("gear_line")
    plan = RunPlan(args.hours, args.warmup, 1)
    parts = []
    if "gear" in sections:
        parts.append(f"Gear line: {args.reps} paired replications x {args.hours:g} h after {args.warmup:g} h, "
                     "seed 1, S3 = 4, K1 = K2 = K.\n")
        for scenario in (1, 21):
            for model in MODELS:
                parts.append(gear_table(gear, model, scenario, plan, args.reps, args.jobs))
                print(f"{model} scenario {scenario} done", file=sys.stderr)
    if "bkstock" in sections:
        for scenario in (1, 21):
            parts.append(bk_stock_table(gear, "BDOP", scenario, plan, args.reps, args.jobs))
    if "k2" in sections:
        for model in MODELS:
            parts.append(k2_table(gear, model, 15, plan, args.reps, args.jobs))
    if "cell" in sections:
        cell_plan = RunPlan(args.cell_hours, 500.0, 1)
        parts.append(f"Auto-parts cell: {args.cell_reps} paired replications x {args.cell_hours:g} h after 500 h, "
                     "seed 1; speed and standby set on the three CNCs, everything else as in the plant file "
                     "(best feasible Z in bold).\n")
        parts.append(cell_table(load_plant("auto_parts_cell"), cell_plan, args.cell_reps, args.jobs))
    parts.append(f"_Generated by `python bench/response_surface.py` in {time.perf_counter() - t0:.0f} s._\n")
    text = "\n".join(parts)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
