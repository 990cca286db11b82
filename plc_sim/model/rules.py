"""Rules that the plant file, the `--set` overrides, live setpoints and the optimizer all
apply: each is one function here, so every caller refuses the same things for the same
reason. A rule returns the reason a value is refused, or None when it is fine."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .spec import Maintenance


def dispatch_weight_problem(weight: float) -> str | None:
    """One machine's dispatch weight: a finite number, not negative."""
    if not math.isfinite(weight) or weight < 0:
        return f"a dispatch weight must be a finite number >= 0 (got {weight!r})"
    return None


def dispatch_weights_problem(weights: Sequence[float]) -> str | None:
    """A station's dispatch weights: each fine, and not all 0 (the station could then take
    no job)."""
    for w in weights:
        problem = dispatch_weight_problem(w)
        if problem:
            return problem
    if not any(w > 0 for w in weights):
        return "every dispatch weight of the station would be 0: it could take no job"
    return None


def condition_maintenance_problem(maint: "Maintenance", has_wear: bool = True,
                                  has_condition: bool = True) -> str | None:
    """Condition-based maintenance needs a threshold, and a wear model (threshold_wear) or
    condition signals (threshold_vibration) to compare it with."""
    if maint.policy != "condition":
        return None
    if maint.threshold_wear is None and maint.threshold_vibration is None:
        return "condition-based maintenance needs threshold_wear or threshold_vibration"
    if maint.threshold_wear is not None and not has_wear:
        return "maintains on wear but the machine has no wear section"
    if maint.threshold_vibration is not None and not has_condition:
        return "maintains on vibration but the machine has no condition section"
    return None


def bk_conwip_ceiling(base_stocks: Sequence[Sequence[int]], lost_sale_queues: Sequence[int]) -> int:
    """The CONWIP count from which BK-CONWIP's C can no longer bind, for the products that
    share it (one product under D-KAP, all under S-KAP): the sum of their base stocks plus
    lost_sale_queue + 1 each.

    Why: every order broadcasts one demand token, and a part starts only for a token, so
    parts in the line and in stock = base stocks + backorders - tokens not yet started at
    stage 1. An order is back-ordered only while at most lost_sale_queue orders wait (seed
    004: lost when more than 5 requests wait at stage 3), so backorders <= lost_sale_queue + 1
    and a start, which has a token waiting, finds at most base stocks + lost_sale_queue parts
    out: with C at this ceiling or above a CONWIP card is always free. (Under HK-CONWIP C is
    the line's whole stock and WIP, and binds at every count.)"""
    return sum(sum(s) for s in base_stocks) + sum(q + 1 for q in lost_sale_queues)
