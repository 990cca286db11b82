"""The report's PNG: one seed's time series, live against baseline, per sample interval
(energy, unplanned downtime, good parts per hour), with the live loop's setpoint changes marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PANELS = (("energy_kwh", "energy (kWh/h)"), ("downtime_h", "unplanned downtime (machine-h/h)"),
          ("FG", "good parts delivered (1/h)"))


def rates(series: list[dict[str, float]], name: str) -> tuple[list[float], list[float]]:
    """Plant days at the start of each sample interval and the per-hour rate of a cumulative
    KPI over it (the last interval repeated at its end, so a step plot closes)."""
    days, out, prev_h, prev = [], [], 0.0, 0.0
    for point in series:
        h, v = point["h"], point[name]
        if h > prev_h:
            days.append(prev_h / 24.0)
            out.append((v - prev) / (h - prev_h))
        prev_h, prev = h, v
    if out:
        days.append(prev_h / 24.0)
        out.append(out[-1])
    return days, out


def time_series(live: dict[str, Any], base: dict[str, Any], path: Path) -> Path:
    import plant_plots

    changes = [(c["plant_h"] - live["start_h"]) / 24.0 for c in live["cycles"] if c.get("written")]
    fig, axes = plant_plots.panels(len(PANELS), f"auto_parts_cell, seed {live['seed']}: live loop against baseline",
                                   columns=1, size=(10, 2.5))
    for ax, (name, label) in zip(axes, PANELS, strict=True):
        for run, color, text in ((base, "0.55", "baseline"), (live, "C0", "live loop")):
            ax.step(*rates(run["series"], name), where="post", lw=1.0, color=color, label=text)
        for i, d in enumerate(changes):
            ax.axvline(d, color="C3", lw=0.7, ls="--", label="setpoints written" if i == 0 else None)
        ax.set_ylabel(label, fontsize=8)
        ax.set_xlabel("plant days since the start of measuring", fontsize=8)
    axes[0].legend(fontsize=8, loc="upper right")
    return plant_plots.save(fig, path)
