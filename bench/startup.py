"""Start-up of the `plant` command: the wall and CPU seconds of `plant --help` and a few
subcommands' `--help` (median of `--runs` runs each), then `python -X importtime` of the
command's module: its total and the top offenders by their own import time.

Usage: python bench/startup.py [--runs 7] [--plant .venv/bin/plant] [--top 12]
Prints two tables and, last, one JSON line with every figure. CPU seconds (user + system of
the child) move less than wall seconds on a loaded machine; both are medians.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

COMMANDS = (["--help"], ["simulate", "--help"], ["compare", "--help"], ["up", "--help"], ["plc", "--help"],
            ["history", "--help"], ["certs", "list", "--help"], ["users", "list", "--help"])
"""What a newcomer types first."""


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def time_once(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `argv`, which must succeed."""
    cpu0, t0 = _child_cpu(), time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, _child_cpu() - cpu0


def import_times(python: str, module: str) -> list[tuple[str, int, int]]:
    """(module, self µs, cumulative µs) of every module `import module` loads, from -X importtime."""
    r = subprocess.run([python, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True,
                       check=True)
    rows = []
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, total, name = line.removeprefix("import time:").split("|")
        rows.append((name.strip(), int(own), int(total)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--plant", default=str(Path(sys.executable).parent / "plant"))
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    console = Console()
    figures: dict[str, dict[str, float]] = {}
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("timing plant start-up", total=args.runs * len(COMMANDS))
        for argv in COMMANDS:
            runs = []
            for _ in range(args.runs):
                runs.append(time_once([args.plant, *argv]))
                bar.advance(task)
            figures["plant " + " ".join(argv)] = {"wall_s": statistics.median(w for w, _ in runs),
                                                  "cpu_s": statistics.median(c for _, c in runs)}
    table = Table(title=f"plant start-up, median of {args.runs} runs (load {os.getloadavg()[0]:.1f})")
    for col in ("command", "wall s", "CPU s"):
        table.add_column(col, justify="left" if col == "command" else "right")
    for name, f in figures.items():
        table.add_row(name, f"{f['wall_s']:.2f}", f"{f['cpu_s']:.2f}")
    console.print(table)
    python = str(Path(args.plant).parent / "python")
    rows = import_times(python, "plantctl.cli")
    total = next(t for n, _, t in rows if n == "plantctl.cli")
    top = Table(title=f"python -X importtime -c 'import plantctl.cli': {total / 1e6:.2f} s, "
                      f"{len(rows)} modules; top {args.top} by own time")
    for col in ("module", "own ms", "cumulative ms"):
        top.add_column(col, justify="left" if col == "module" else "right")
    worst = sorted(rows, key=lambda r: r[1], reverse=True)[:args.top]
    for name, own, cum in worst:
        top.add_row(name, f"{own / 1e3:.1f}", f"{cum / 1e3:.1f}")
    console.print(top)
    print(json.dumps({"runs": args.runs, "commands": figures, "import_s": total / 1e6, "modules": len(rows),
                      "top": [{"module": n, "own_ms": o / 1e3, "cumulative_ms": c / 1e3} for n, o, c in worst]}))


if __name__ == "__main__":
    main()
