"""The raw data as CSV, so anyone can recompute every table: every evaluation replication
(`replications.csv`), every solver run (`solver_runs.csv`), every screened candidate
(`candidates.csv`) and every convergence step (`convergence.csv`). Floats are written in
Python's shortest round-trip form, so reading them back gives the same numbers."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .runs import Results

Row = dict[str, Any]
FILES = ("replications", "solver_runs", "candidates", "convergence")


def write_csv(path: Path, rows: Sequence[Row]) -> None:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)


def read_csv(path: Path) -> list[Row]:
    """Rows with numbers as floats where they parse (keys and text stay strings)."""
    with path.open(newline="") as f:
        return [{k: _number(v) for k, v in r.items()} for r in csv.DictReader(f)]


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def write_all(res: Results, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    data = {"replications": res.reps, "solver_runs": res.runs, "candidates": res.candidates,
            "convergence": res.convergence}
    paths = []
    for name in FILES:
        path = folder / f"{name}.csv"
        write_csv(path, data[name])
        paths.append(path)
    return paths
