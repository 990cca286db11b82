"""Forecast speed: 10 replications x 24 plant hours of the auto-parts cell from a snapshot
(an observed state of a run of 200 h), serially and in a process pool of 2 workers (cold:
pool started for the forecast; warm: a pool kept by the daemon). Target: < 1 s on 2 cores.

Usage: python bench/forecast.py [--reps 10] [--hours 24] [--jobs 2] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plc_sim.model.line import LineModel
from plc_sim.model.observe import observation_of as observe
from plc_sim.model.spec import load_plant
from twin_core.forecast import forecast


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    spec = load_plant("auto_parts_cell")
    truth = LineModel(spec, 1)
    truth.run_calendar(200.0)
    obs = observe(truth, 200.0)
    res: dict[str, list[float]] = {"serial": [], "pool_cold": [], "pool_warm": []}
    for _ in range(args.runs):
        t = time.perf_counter()
        forecast(spec, obs, args.hours, args.reps, seed=1)
        res["serial"].append(time.perf_counter() - t)
        t = time.perf_counter()
        with ProcessPoolExecutor(args.jobs) as pool:
            forecast(spec, obs, args.hours, args.reps, seed=1, pool=pool)
        res["pool_cold"].append(time.perf_counter() - t)
    with ProcessPoolExecutor(args.jobs) as pool:
        forecast(spec, obs, 1.0, args.jobs, seed=9, pool=pool)
        for _ in range(args.runs):
            t = time.perf_counter()
            f = forecast(spec, obs, args.hours, args.reps, seed=1, pool=pool)
            res["pool_warm"].append(time.perf_counter() - t)
    for k, v in res.items():
        print(f"{k:10s} median {statistics.median(v):.3f} s  (min {min(v):.3f}, max {max(v):.3f}; "
              f"{args.reps} reps x {args.hours:g} h, target < 1 s)")
    fg = f.kpis["FG"]
    print(f"FG in the next {args.hours:g} h: {fg.mean:.1f}, 95 % CI [{fg.ci95[0]:.1f}, {fg.ci95[1]:.1f}], "
          f"90 % PI [{fg.pi90[0]:.1f}, {fg.pi90[1]:.1f}]")
    print(json.dumps({k: statistics.median(v) for k, v in res.items()}))


if __name__ == "__main__":
    main()
