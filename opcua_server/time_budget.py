"""A request's time budget, and work done in slices within it: a history read over many
nodes and a long range holds neither the event loop nor its reader longer than the budget
(`history_read_budget_ms`); what is not done by then is answered with continuation points."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

SLICE = 500
"""Items (rows decoded, intervals aggregated) done between two checks of the budget, the loop
serving other clients between them."""


class Budget:
    """`seconds` from now on the monotonic clock."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> bool:
        return time.monotonic() < self.end


async def in_slices(items: Sequence[T], work: Callable[[T], R], budget: Budget) -> list[R]:
    """`work` of each item in order, SLICE at a time, the loop served between slices; stops
    at a slice boundary once the budget is spent (the first slice is always done, so a
    read always advances). The caller continues from `len(result)`."""
    out: list[R] = []
    for start in range(0, len(items), SLICE):
        if start and not budget.left():
            break
        out += [work(item) for item in items[start:start + SLICE]]
        await asyncio.sleep(0)
    return out
