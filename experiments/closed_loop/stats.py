"""Paired differences over seeds with Student t 95 % intervals: absolute, and in percent of each
seed's baseline (the mean of the per-seed percentages, so a seed with a large baseline does not
weigh more)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    def contains_mean(self) -> bool:
        return self.low <= self.mean <= self.high or math.isnan(self.low)

    def significant(self) -> bool:
        return not (self.low <= 0.0 <= self.high)


def t_interval(xs: Sequence[float]) -> Interval:
    """Mean and Student t interval; with fewer than two values the interval is NaN."""
    n = len(xs)
    mean = sum(xs) / n if n else math.nan
    if n < 2:
        return Interval(mean, math.nan, math.nan, n)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    hw = float(stats.t.ppf(0.5 + LEVEL / 2, n - 1)) * sd / math.sqrt(n)
    return Interval(mean, mean - hw, mean + hw, n)


def paired(arm: Sequence[float], base: Sequence[float]) -> tuple[Interval, Interval]:
    """(arm - base, 100 * (arm - base) / base) over seeds paired by position."""
    diffs = [a - b for a, b in zip(arm, base, strict=True)]
    pct = [100.0 * (a - b) / b if b else math.nan for a, b in zip(arm, base, strict=True)]
    return t_interval(diffs), t_interval(pct)


def share(live: Sequence[float], offline: Sequence[float], base: Sequence[float]) -> float:
    """How much of the offline optimum's mean gain the live loop's mean gain is (NaN without a gain)."""
    gain_off = sum(o - b for o, b in zip(offline, base, strict=True))
    gain_live = sum(a - b for a, b in zip(live, base, strict=True))
    return gain_live / gain_off if gain_off else math.nan
