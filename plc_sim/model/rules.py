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
