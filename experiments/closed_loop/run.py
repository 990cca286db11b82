"""The experiment run: the offline search, then per seed the baseline, offline and live cells,
each cached (CellCache) under the out directory, with rich progress; then the report, its
figure and the raw CSV."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from experiments.cells import CellCache

from .arms import run_cell
from .design import ARMS, Design
from .document import markdown
from .figures import time_series
from .offline import offline_cell, search
from .report import write_csv

REPORT = "closed_loop.md"
FULL_COMMAND = "plant experiment closed-loop --seeds 10 --weeks 4 --out docs/experiments"


def quiet() -> None:
    """The clients' and servers' chatter off the terminal (the progress bars stay readable)."""
    for name in ("asyncua", "twin_core", "opcua_server", "optimizer_svc", "plc_sim"):
        logging.getLogger(name).setLevel(logging.ERROR)


def run(design: Design, out: Path, argv: Sequence[str] | None = None) -> Path:
    """Every cell of the design (finished ones from the cache), then the report; its path."""
    quiet()
    cache = CellCache(out / "closed_loop" / "cells")
    cache.folder.mkdir(parents=True, exist_ok=True)
    (cache.folder / ".gitignore").write_text("*\n")  # the cache is for resuming, not for the repository
    cells: list[dict[str, Any]] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns) as bar:
        total = bar.add_task("cells", total=1 + len(design.seeds) * len(ARMS))
        cycles = bar.add_task("live cycles", total=len(design.cycle_hours()), visible=False)
        bar.update(total, description="offline search")
        found = cache.run(offline_cell(design), lambda: search(design))
        bar.advance(total)
        for seed in design.seeds:
            for arm in ("baseline", "offline", "live"):
                bar.update(total, description=f"seed {seed}: {arm}")
                bar.reset(cycles, visible=arm == "live")

                def progress(done: int, n: int) -> None:
                    bar.update(cycles, completed=done, total=n)

                sets = tuple(found["sets"]) if arm == "offline" else ()
                cells.append(cache.run(design.cell(seed, arm), _compute(design, seed, arm, sets, progress)))
                bar.advance(total)
    return write(cells, found, design, out, argv)


def _compute(design: Design, seed: int, arm: str, sets: tuple[str, ...],
             progress: Callable[[int, int], None]) -> Callable[[], dict[str, Any]]:
    """The cell's computation (run only when the cache has no result for it), timed."""

    def compute() -> dict[str, Any]:
        t0 = time.perf_counter()
        cell = run_cell(design, seed, arm, sets, progress)
        return cell | {"wall_s": round(time.perf_counter() - t0, 1)}

    return compute


def write(cells: list[dict[str, Any]], found: dict[str, Any], design: Design, out: Path,
          argv: Sequence[str] | None) -> Path:
    folder = out / "closed_loop"
    first = min(design.seeds)
    live = next(c for c in cells if c["arm"] == "live" and c["seed"] == first)
    base = next(c for c in cells if c["arm"] == "baseline" and c["seed"] == first)
    figure = time_series(live, base, folder / "time_series.png")
    csv_path = write_csv(cells, folder / "kpis.csv")
    path = out / REPORT
    text = markdown(cells, found, design, figure, csv_path, FULL_COMMAND, argv)
    path.write_text(text.replace("](time_series.png)", "](closed_loop/time_series.png)")
                    .replace("`kpis.csv`", "`closed_loop/kpis.csv`"))
    return path
