"""The seed's three-stage sorting and selection (section 3.3.2): among a search's candidates,
each simulated, (1) keep the Pareto front of profit Zmax, service level SL and WIP; (2) of the
front keep those with fewer cards (kanban plus CONWIP) than the front's average; (3) of
those take the one with the smallest initial stock (base stock). Ties in stage 3 go to the
higher Zmax, then to the order the search found them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from optimizer_svc.space import Value


@dataclass(frozen=True)
class Candidate:
    """A card combination and its screening means."""

    sets: tuple[str, ...]
    values: Mapping[str, Value]
    zmax: float
    sl: float
    wip: float

    @property
    def cards(self) -> float:
        return float(sum(float(v) for k, v in self.values.items() if k[0] in "KC"))

    @property
    def stock(self) -> float:
        return float(sum(float(v) for k, v in self.values.items() if k[0] == "S"))

    def dominates(self, other: Candidate) -> bool:
        mine, theirs = (self.zmax, self.sl, -self.wip), (other.zmax, other.sl, -other.wip)
        return all(a >= b for a, b in zip(mine, theirs, strict=True)) and mine != theirs


def pareto(cands: Sequence[Candidate]) -> list[Candidate]:
    """Stage 1: the candidates no other one dominates (max Zmax, max SL, min WIP)."""
    return [c for c in cands if not any(o.dominates(c) for o in cands)]


def few_cards(front: Sequence[Candidate]) -> list[Candidate]:
    """Stage 2: fewer cards than the front's average (all of them when they tie)."""
    mean = sum(c.cards for c in front) / len(front)
    return [c for c in front if c.cards < mean] or list(front)


def choose(cands: Sequence[Candidate]) -> tuple[Candidate, list[Candidate], list[Candidate]]:
    """The chosen candidate, the stage-1 front and the stage-2 survivors."""
    if not cands:
        raise ValueError("no candidate to choose from")
    front = pareto(cands)
    low = few_cards(front)
    best = min(range(len(low)), key=lambda i: (low[i].stock, -low[i].zmax, i))
    return low[best], front, low
