"""The seed's published numbers (Tables 3-5, BSOP scenario 1) and what they imply when
recomputed: its own means and variances of Table 5 give a one-way ANOVA far from its
Table 3."""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

TABLE5 = {  # method: (mean, variance, sd, 95 % low, 95 % high, compute seconds)
    "PSO": (98111.51, 260338594, 16139.20, 93388.15, 102834.88, 5.692),
    "ES": (97644.58, 254616401, 15956.43, 93062.02, 102227.15, 3.241),
    "DE": (98015.03, 261301753, 16163.81, 93422.51, 102607.56, 3.736),
    "GA": (91481.47, 526160505, 22939.16, 85669.81, 97293.14, 4.491),
    "plain": (94719.68, 221618820, 14885.20, 91313.27, 98126.10, None),
}
TABLE3 = {"df_group": 3, "df_resid": 116, "ss_group": 8.030e15, "ss_resid": 8.068e14, "F": 384.9, "p": "< 2e-16"}
TABLE4_MIN_P = 0.92934
"""The smallest adjusted p-value of the seed's Tukey table (GA-DE): no pair differs."""
REPS = 30
SL_BAND = (0.949, 1.010)


@dataclass(frozen=True)
class Recomputed:
    df_group: int
    df_resid: int
    F: float
    p: float


def anova_from_table5() -> Recomputed:
    """One-way ANOVA from Table 5's means and variances, 30 replications per method."""
    means = [v[0] for v in TABLE5.values()]
    variances = [v[1] for v in TABLE5.values()]
    k, n = len(means), REPS
    grand = sum(means) / k
    ms_between = n * sum((m - grand) ** 2 for m in means) / (k - 1)
    ms_within = sum(variances) / k
    f = ms_between / ms_within
    df_r = k * n - k
    return Recomputed(k - 1, df_r, f, float(stats.f.sf(f, k - 1, df_r)))
