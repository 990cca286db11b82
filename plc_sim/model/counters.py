"""The line's event counters since the last statistics reset, read by `kpi.py`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class LineCounters:
    """Counts of seed 004's events (names as in the seed) and a few of our own."""

    B: int = 0
    """Breakdowns."""
    M: int = 0
    """Maintenance actions started."""
    R: int = 0
    """Repairs finished."""
    LD: int = 0
    """Lost sales: orders turned away."""
    Rw: int = 0
    """Raw blanks procured."""
    Rn: int = 0
    """Returned items."""
    SC: int = 0
    """Items recycled."""
    scrap: int = 0
    """Parts scrapped at inspection."""
    finished: int = 0
    """Parts finished at the last stage."""
    from_stock: int = 0
    """Orders served from finished stock at once."""
    wait_h: float = 0.0
    """Hours that backordered orders waited, summed."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LineCounters:
        return cls(**d)
