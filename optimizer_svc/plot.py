"""The convergence plot of a run: best feasible objective against evaluations (PNG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .solve import Step


def convergence_png(path: Path, history: Sequence[Step], title: str, ylabel: str, sign: float = 1.0,
                    baseline: float | None = None) -> Path:
    """Writes the plot; `sign` -1 shows a maximised objective the right way up."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.step([h.evaluations for h in history], [sign * h.best for h in history], where="post", label="best feasible")
    if baseline is not None:
        ax.axhline(sign * baseline, color="grey", linestyle="--", label="current settings")
    ax.set_xlabel("simulations")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
