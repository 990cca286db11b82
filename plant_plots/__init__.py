"""The project's one plotting module: every PNG the project draws (`plant simulate --plot`,
`plant compare --plot`, `plant optimize --plot`, `plant history --plot`, the experiment
reports) is made here or through `panels` and `save`, so every figure is titled, every axis
labelled with its unit, and the look is one.

It takes plain numbers (no part's objects), so the model library, the twin, the optimizer
and the experiments can all use it; matplotlib is imported inside the functions (the `plant`
command's start-up stays light, bench/startup.py) and always with the Agg backend (no
display needed)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 110


class Interval(NamedTuple):
    """A mean and its 95 % interval (what `plc_sim.model.experiment.Summary` gives)."""

    mean: float
    low: float
    high: float


_UNIT_RULES: tuple[tuple[str, str], ...] = (
    (r"^(Zmax|Z|cost)$|_eur$", "EUR"),
    (r"_kwh_per_h$", "kWh/h"),
    (r"_h_per_h$", "machine-h/h"),
    (r"_per_h$", "1/h"),
    (r"_kwh$", "kWh"),
    (r"_kw$", "kW"),
    (r"_h$", "h"),
    (r"^(SL|fill_rate|served|oee|feasible)$|^util_|_share$", "share 0-1"),
    (r"^(WIP|I3)(_|$)", "parts, time average"),
    (r"^(FG|D|SC|Rn|B|M|R|LD|Rw|scrap)(_|$)", "count"),
    (r"_obj$", "cards, weighted"),
)


def kpi_unit(name: str) -> str:
    """The unit of a KPI by its name (the names of plc_sim/model/kpi.py), '' if unknown."""
    for pattern, unit in _UNIT_RULES:
        if re.search(pattern, name):
            return unit
    return ""


def kpi_label(name: str) -> str:
    """An axis label: the KPI and its unit, e.g. `energy_kwh (kWh)`."""
    unit = kpi_unit(name)
    return f"{name} ({unit})" if unit else name


def panels(count: int, title: str, columns: int = 3, size: tuple[float, float] = (3.4, 2.6)) -> tuple[Figure, list[Axes]]:
    """A titled figure of `count` panels in rows of `columns` (unused cells hidden)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = max(1, min(columns, count))
    rows = max(1, math.ceil(count / cols))
    fig, grid = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows + 0.6), squeeze=False)
    axes = [ax for row in grid for ax in row]
    for ax in axes[count:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=10)
    return fig, axes[:count]


def save(fig: Figure, path: Path) -> Path:
    """Lay out, write the PNG (folders created) and free the figure. A figure without its
    title or an axis label is a programming error, refused here so that no path draws one."""
    import matplotlib.pyplot as plt

    if not labelled(fig):
        plt.close(fig)
        raise ValueError("plant_plots.save: a figure needs a title and both axis labels on every panel")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def replications(title: str, values: Mapping[str, Sequence[float]], summaries: Mapping[str, Interval]) -> Figure:
    """`plant simulate --plot`: one panel per KPI, each replication's value as a dot and the
    mean with its 95 % interval as a bar beside them."""
    fig, axes = panels(len(values), title)
    for ax, (name, vals) in zip(axes, values.items()):
        s = summaries[name]
        ax.scatter([0.0] * len(vals), list(vals), s=10, alpha=0.5, color="C0", label="replications")
        ax.errorbar([0.4], [s.mean], yerr=[[s.mean - s.low], [s.high - s.mean]], fmt="o", color="C3",
                    capsize=4, label="mean, 95 % CI")
        ax.set_xlim(-0.4, 0.8)
        ax.set_xticks([])
        ax.set_title(name, fontsize=9)
        ax.set_ylabel(kpi_label(name), fontsize=8)
        ax.set_xlabel(f"{len(vals)} replications", fontsize=8)
    if axes:
        axes[0].legend(fontsize=7, loc="best")
    return fig


def paired_differences(title: str, reference: str, diffs: Mapping[str, Mapping[str, Interval]]) -> Figure:
    """`plant compare --plot`: one panel per KPI, each setting's paired difference from the
    reference with its 95 % interval (red where the interval excludes 0), and 0 marked.
    `diffs` maps a setting to its KPIs' differences."""
    from matplotlib.ticker import MaxNLocator

    settings = list(diffs)
    names = list(next(iter(diffs.values()))) if diffs else []
    fig, axes = panels(len(names), title, columns=2, size=(5.0, 1.6 + 0.4 * max(len(settings), 1)))
    for ax, name in zip(axes, names):
        for y, setting in enumerate(settings):
            d = diffs[setting][name]
            hit = d.low > 0 or d.high < 0
            ax.errorbar([d.mean], [y], xerr=[[d.mean - d.low], [d.high - d.mean]], fmt="o", capsize=3,
                        color="C3" if hit else "C0")
        ax.axvline(0.0, color="grey", lw=0.8, ls="--")
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.tick_params(labelsize=7)
        ax.set_yticks(range(len(settings)), settings, fontsize=7)
        ax.set_ylim(-0.6, len(settings) - 0.4)
        ax.set_ylabel("setting", fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(f"difference from '{reference}', {kpi_unit(name) or 'KPI units'}", fontsize=8)
    return fig


def convergence(title: str, ylabel: str, evaluations: Sequence[int], best: Sequence[float],
                baseline: float | None = None) -> Figure:
    """`plant optimize --plot`: the best feasible objective against simulations run."""
    fig, [ax] = panels(1, title, size=(6.0, 3.2))
    ax.step(list(evaluations), list(best), where="post", label="best feasible")
    if baseline is not None:
        ax.axhline(baseline, color="grey", linestyle="--", label="current settings")
    ax.set_xlabel("simulations run (count)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return fig


def labelled(fig: Any) -> bool:
    """Whether a figure has a title and every visible panel both axis labels (tests use it)."""
    title = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    visible = [ax for ax in fig.get_axes() if ax.get_visible()]
    titled = bool(title) or all(ax.get_title() for ax in visible)
    return titled and all(ax.get_xlabel() and ax.get_ylabel() for ax in visible)
