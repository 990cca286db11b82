"""The report's PNG: one seed's time series, live against baseline, per sample interval
(energy, unplanned downtime, good parts per hour), with the live loop's setpoint changes marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PANELS = (("energy_kwh", "energy kWh / h"), ("downtime_h", "unplanned downtime machine-h / h"),
          ("FG", "good parts delivered / h"))


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    changes = [(c["plant_h"] - live["start_h"]) / 24.0 for c in live["cycles"] if c.get("written")]
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(10, 8), sharex=True)
    for ax, (name, label) in zip(axes, PANELS, strict=True):
        for run, style in ((base, {"color": "0.55", "label": "baseline"}), (live, {"color": "C0", "label": "live loop"})):
            ax.step(*rates(run["series"], name), where="post", lw=1.0, **style)
        for i, d in enumerate(changes):
            ax.axvline(d, color="C3", lw=0.7, ls="--", label="setpoints written" if i == 0 else None)
        ax.set_ylabel(label, fontsize=8)
    axes[0].legend(fontsize=8, loc="upper right")
    axes[-1].set_xlabel("plant days since the start of measuring")
    fig.suptitle(f"auto_parts_cell, seed {live['seed']}: live loop against baseline", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
