"""The experiment's design: seeds, plant weeks, cycle and sampling hours, the live job and the
offline search. Every number that shapes a result is here, and the whole design is part of
each cached cell's key (a changed design never reuses an old cell)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

ARMS = ("live", "baseline", "offline")
"""(a) the live loop, (b) the baseline setpoints with no optimizer, (c) the offline optimum."""
PLANT = "auto_parts_cell"


@dataclass(frozen=True)
class LiveJob:
    """The optimizer's job in the live arm: `plant up`'s demo job (a setpoints run that fits
    a few seconds on two cores), forecasting `hours` ahead from the twin's snapshot."""

    reps: int = 2
    verify_reps: int = 8
    hours: float = 168.0
    budget_s: float = 5.0
    generations: int = 3
    pop_size: int = 6
    algorithm: str = "GA"


@dataclass(frozen=True)
class OfflineSearch:
    """`plant optimize --plant auto_parts_cell` as the offline arm runs it (on the true plant file)."""

    algorithm: str = "GA"
    hours: float = 1000.0
    warmup: float = 168.0
    reps: int = 3
    verify_reps: int = 10
    generations: int = 8
    pop_size: int = 10
    budget_s: float = 600.0
    seed: int = 1


@dataclass(frozen=True)
class Design:
    seeds: tuple[int, ...] = tuple(range(1, 11))
    weeks: float = 4.0
    """Measured plant weeks per run (after the warm-up)."""
    warmup_h: float = 168.0
    """Plant hours run before measuring starts (the cell fills its buffers)."""
    cycle_h: float = 24.0
    """Plant hours between two optimisation cycles of the live arm (the first at the start)."""
    sample_h: float = 4.0
    """Plant hours between two points of the time series."""
    job: LiveJob = field(default_factory=LiveJob)
    offline: OfflineSearch = field(default_factory=OfflineSearch)
    workers: int = 2
    dask: str | None = None
    """A Dask scheduler's address: the optimizer's simulations (live and offline) run on its
    workers instead of `workers` local processes. Not part of a cell's key: the results are the
    same bit for bit."""

    @property
    def hours(self) -> float:
        return self.weeks * 168.0

    def cycle_hours(self) -> list[float]:
        """Offsets from the start (plant hours) at which the live arm runs a cycle."""
        n = int(self.hours // self.cycle_h)
        return [i * self.cycle_h for i in range(n) if i * self.cycle_h < self.hours]

    def stops(self) -> list[float]:
        """Offsets at which the plant is held: every sample point and every cycle, then the end."""
        n = int(self.hours // self.sample_h)
        points = {round(i * self.sample_h, 9) for i in range(1, n + 1)} | set(self.cycle_hours()) | {self.hours}
        return sorted(p for p in points if 0 < p <= self.hours) if points else [self.hours]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def cell(self, seed: int, arm: str) -> dict[str, Any]:
        """A cell's key: the arm, the seed and everything of the design its result depends on."""
        doc = {k: v for k, v in self.as_json().items() if k not in ("seeds", "dask")}
        if arm != "live":
            doc.pop("job")
        if arm != "offline":
            doc.pop("offline")
        else:
            doc["start"] = "plant file"  # measured from the plant file's first shift (arms.start_of)
        return {"experiment": "closed-loop", "plant": PLANT, "arm": arm, "seed": seed, **doc}


FULL = Design()
"""10 seeds x 4 plant weeks, a cycle a plant day."""


def quick() -> Design:
    """2 seeds, 3 plant days, a cycle every 36 h (2 cycles), a cheaper offline search."""
    return replace(FULL, seeds=(1, 2), weeks=3 / 7, cycle_h=36.0,
                   offline=replace(FULL.offline, hours=336.0, reps=2, verify_reps=4, generations=3, pop_size=6))
