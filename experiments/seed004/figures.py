"""PNG figures in the spirit of the seed's figures 4-10: convergence of each solver (median
and the band between the lowest and highest run over solver seeds), Zmax, FG, SL, recycled
and returned items per model and method (means with 95 % intervals), and the front of profit
against service level of every evaluated solution."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import plant_plots

from .design import METHODS
from .tables import Row, kpi_table, split

BARS = {"zmax": ("Zmax", "Zmax (EUR), mean of the evaluation replications", "Figure 5"),
        "fg": ("FG", "finished gears sold (count)", "Figure 6"),
        "sl": ("SL", "SL (seed's definition, share 0-1)", "Figure 7"),
        "fill_rate": ("fill_rate", "fill rate (share 0-1 of orders served from stock)", "Figure 7 (plainer measure)"),
        "recycled": ("SC", "recycled items (count)", "Figure 9"),
        "returned": ("Rn", "returned items (count)", "Figure 10")}


def convergence(rows: Sequence[Row], path: Path, title: str) -> None:
    """One panel per solver: best value so far against generation, median over solver seeds
    with the min-max band. The seed's methods converge on the WIP objective (minimised),
    NSGA-II on its screening Zmax (best of the front, maximised)."""
    by: dict[str, dict[int, list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by[r["method"]][int(r["solver_seed"])].append((int(r["generation"]), float(r["best"])))
    methods = [m for m in METHODS if m in by]
    n_panels = max(len(methods), 1)
    fig, axes = plant_plots.panels(n_panels, title, columns=n_panels, size=(3.2, 3))
    for ax, m in zip(axes, methods, strict=False):
        runs = [np.array([b for _, b in sorted(v)]) for v in by[m].values()]
        n = max(len(r) for r in runs)
        grid = np.array([np.pad(r, (0, n - len(r)), mode="edge") for r in runs])
        sign = -1.0 if m == "NSGA2" else 1.0
        grid = grid * sign
        gens = np.arange(n)
        ax.fill_between(gens, grid.min(axis=0), grid.max(axis=0), alpha=0.3)
        ax.plot(gens, np.median(grid, axis=0))
        ax.set_title(m)
        ax.set_xlabel("generation (count)")
        ax.set_ylabel("screening Zmax (EUR)" if m == "NSGA2" else "WIP objective (cards, weighted)")
    plant_plots.save(fig, path)


def bars(reps: Sequence[Row], kpi: str, label: str, path: Path, title: str) -> None:
    """Mean and 95 % interval of `kpi` per model (groups) and method (bars)."""
    cells = split(reps)
    fig, [ax] = plant_plots.panels(1, title, size=(max(6, 2.2 * len(cells)), 3.6))
    methods = [m for m in METHODS if any(r["method"] == m for r in reps)]
    width = 0.8 / max(len(methods), 1)
    for i, m in enumerate(methods):
        xs, ys, errs = [], [], []
        for j, rows in enumerate(cells.values()):
            s = kpi_table(rows).get(m, {}).get(kpi)
            if s is None:
                continue
            xs.append(j + i * width)
            ys.append(s.mean)
            errs.append([[s.mean - s.low], [s.high - s.mean]])
        if xs:
            e = np.hstack(errs) if errs else None
            ax.bar(xs, ys, width, yerr=e, label=m, capsize=2)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(cells))])
    ax.set_xticklabels([f"{mod} s{sc}" for mod, sc in cells])
    ax.set_ylabel(label)
    ax.set_xlabel("model and scenario")
    _zoom(ax, reps, kpi)
    ax.legend(fontsize=7, ncol=len(methods))
    plant_plots.save(fig, path)


def _zoom(ax: Any, reps: Sequence[Row], kpi: str) -> None:
    """A y range around the means (bars from 0 would hide differences of a few percent)."""
    v = np.array([float(r[kpi]) for r in reps])
    lo, hi = float(np.percentile(v, 2)), float(np.percentile(v, 98))
    pad = 0.1 * (hi - lo or abs(hi) or 1.0)
    ax.set_ylim(lo - pad, hi + pad)


def front(reps: Sequence[Row], path: Path) -> None:
    """Every evaluated solution (mean over its replications) as profit against service
    level, one colour per model, one marker per method, with each model's non-dominated
    points joined (the seed's Figure 8 shows PSO's)."""
    marks = dict(zip(METHODS, "osD^v*", strict=True))
    fig, [ax] = plant_plots.panels(1, "profit against service level (green: the seed's SL acceptance band)",
                                   size=(6.5, 4.2))
    for k, ((model, sc), rows) in enumerate(split(reps).items()):
        pts: dict[tuple[str, int], list[Row]] = defaultdict(list)
        for r in rows:
            pts[(r["method"], int(r["solver_seed"]))].append(r)
        xy = []
        for (m, _), rs in pts.items():
            x, y = float(np.mean([r["SL"] for r in rs])), float(np.mean([r["Zmax"] for r in rs]))
            xy.append((x, y))
            ax.scatter(x, y, marker=marks.get(m, "o"), color=f"C{k}", s=22, alpha=0.8)
        nd = sorted(p for p in xy if not any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in xy))
        ax.plot([p[0] for p in nd], [p[1] for p in nd], color=f"C{k}", label=f"{model} s{sc}")
    for m, mk in marks.items():
        ax.scatter([], [], marker=mk, color="grey", label=m)
    ax.set_xlabel("SL (seed's definition, share 0-1)")
    ax.set_ylabel("Zmax (EUR)")
    ax.axvspan(0.949, 1.01, color="green", alpha=0.08)
    ax.legend(fontsize=7)
    plant_plots.save(fig, path)


def draw_all(reps: Sequence[Row], convergence_rows: Sequence[Row], folder: Path) -> list[tuple[str, str, str]]:
    """Every figure into `folder`; (file name, caption, the seed's figure) per figure."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for (model, sc), rows in split(convergence_rows).items():
        name = f"convergence_{model}_s{sc}.png"
        convergence(rows, folder / name, f"{model} scenario {sc}: convergence over solver seeds")
        out.append((name, f"convergence of each solver, {model} scenario {sc}", "Figure 4"))
    for stem, (kpi, label, seed_fig) in BARS.items():
        bars(reps, kpi, label, folder / f"{stem}.png", f"{label} per model and method")
        out.append((f"{stem}.png", f"{label} per model and method", seed_fig))
    front(reps, folder / "front.png")
    out.append(("front.png", "profit against service level, every evaluated solution", "Figure 8"))
    return out
