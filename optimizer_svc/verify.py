"""Verify before acting: the chosen candidate and the current setpoints are re-simulated on
`reps` fresh replications (the same seeds for both, none of them used by the search, so the
search's luck on its own seeds does not count). The candidate is accepted only if it meets
every constraint on the verification mean, stays within the rate-of-change limits, and beats
the current setpoints by more than `margin` in a one-sided paired t-test on the per-
replication differences at level `alpha`. Otherwise the current setpoints stay, and the
verdict says why."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from plc_sim.model.experiment import Summary, summarise

from .evaluator import Invalid
from .forecast import KPIs
from .problems.base import Evaluated, ForecastProblem, kpi
from .problems.limits import step_violations


@dataclass(frozen=True)
class VerifyOptions:
    reps: int = 30
    seed_offset: int = 1000
    alpha: float = 0.05
    margin: float = 0.0
    steps: Mapping[str, float] | None = None


@dataclass
class Verdict:
    accepted: bool
    reasons: list[str]
    seeds: tuple[int, ...]
    candidate: dict[str, Summary] = field(default_factory=dict)
    current: dict[str, Summary] = field(default_factory=dict)
    improvement: Summary | None = None
    p_value: float = math.nan
    restores: str | None = None
    """Why the current setpoints were refused, when the candidate restores the plant's rules."""

    def as_json(self) -> dict[str, object]:
        def summ(s: Summary) -> dict[str, float | None]:
            hw = None if math.isnan(s.half_width) else s.half_width
            return {"mean": s.mean, "half_width": hw, "n": s.n}

        return {"accepted": self.accepted, "reasons": self.reasons, "restores": self.restores,
                "seeds": [self.seeds[0], self.seeds[-1]],
                "p_value": None if math.isnan(self.p_value) else self.p_value,
                "improvement": None if self.improvement is None else summ(self.improvement),
                "candidate": {k: summ(v) for k, v in self.candidate.items()},
                "current": {k: summ(v) for k, v in self.current.items()}}


def paired_test(current: list[float], candidate: list[float], margin: float) -> tuple[Summary, float]:
    """Improvement d_r = current_r - candidate_r (minimisation form), its Student-t summary and
    the one-sided p-value of H0: mean(d) <= margin."""
    d = np.asarray(current) - np.asarray(candidate)
    summary = summarise([float(x) for x in d])
    if len(d) < 2 or float(np.std(d, ddof=1)) == 0.0:
        return summary, 0.0 if float(np.mean(d)) > margin else 1.0
    t = (float(np.mean(d)) - margin) / (float(np.std(d, ddof=1)) / math.sqrt(len(d)))
    return summary, float(stats.t.sf(t, len(d) - 1))


def verify(problem: ForecastProblem, candidate: Evaluated, opts: VerifyOptions = VerifyOptions()) -> Verdict:
    seeds = tuple(range(opts.seed_offset, opts.seed_offset + opts.reps))
    reasons: list[str] = []
    if candidate.invalid:
        return Verdict(False, [f"the plant refuses the candidate: {candidate.invalid}"], seeds)
    reasons += step_violations(candidate.values, problem.space.current(), opts.steps)
    if not candidate.sets or candidate.sets == problem.space.to_sets(problem.space.current()):
        reasons.append("the candidate is the current setpoints")
    cand, cur = problem.evaluator.evaluate([candidate.sets, ()], seeds, problem.horizon)
    if isinstance(cur, Invalid) and not isinstance(cand, Invalid):
        return _restoring(problem, cand, cur, reasons, seeds)
    if isinstance(cand, Invalid) or isinstance(cur, Invalid):
        return Verdict(False, [*reasons, "the plant refuses the candidate or the current setpoints"], seeds)
    verdict = Verdict(False, reasons, seeds, _summaries(problem, cand), _summaries(problem, cur))
    for c in problem.bind(cur):
        mean = verdict.candidate[c.name].mean
        if c.violation(mean) > 0:
            reasons.append(f"constraint {c.describe()} broken: {c.name} = {mean:.6g} on {len(seeds)} replications")
    score = [_scalar(problem, k) for k in cand]
    base = [_scalar(problem, k) for k in cur]
    verdict.improvement, verdict.p_value = paired_test(base, score, opts.margin)
    if verdict.p_value >= opts.alpha:
        reasons.append(f"no significant improvement: mean {verdict.improvement.mean:.6g} "
                       f"(margin {opts.margin:g}), paired t-test p = {verdict.p_value:.3g} >= {opts.alpha:g}")
    verdict.accepted = not reasons
    return verdict


def _restoring(problem: ForecastProblem, cand: list[KPIs], cur: Invalid, reasons: list[str],
               seeds: tuple[int, ...]) -> Verdict:
    """The current setpoints break the plant's rules (a live plant left where the plant file
    forbids): a valid candidate that meets the constraints is accepted without a comparison,
    since moving to the feasible set is the improvement."""
    verdict = Verdict(False, reasons, seeds, _summaries(problem, cand))
    for c in problem.constraints:
        mean = verdict.candidate[c.name].mean
        if c.violation(mean) > 0:
            reasons.append(f"constraint {c.describe()} broken: {c.name} = {mean:.6g} on {len(seeds)} replications")
    verdict.restores = cur.reason
    verdict.accepted = not reasons
    return verdict


def _scalar(problem: ForecastProblem, k: KPIs) -> float:
    return sum(w * o.metric(k) * o.sign() for w, o in zip(problem.pick_weights, problem.objectives, strict=True))


def _summaries(problem: ForecastProblem, runs: list[KPIs]) -> dict[str, Summary]:
    metrics = {o.name: o.metric for o in problem.objectives} | {c.name: c.metric for c in problem.constraints}
    metrics |= {name: kpi(name) for name in problem.report if name not in metrics}
    return {name: summarise([float(m(k)) for k in runs]) for name, m in metrics.items()}
