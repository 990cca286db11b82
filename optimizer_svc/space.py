"""Decision variables and how a vector of them becomes `--set` override strings.

Every variable lives on a real axis for the solvers; integer and choice variables are
snapped to their grid inside their bounds by :class:`SnapRepair` *before* evaluation, so the
point a solver keeps is exactly the point that was simulated and checked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from pymoo.core.repair import Repair

Value = float | int | str


@dataclass(frozen=True)
class Real:
    """A continuous setpoint in [low, high]."""

    key: str
    low: float
    high: float
    current: float

    integral = False

    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def decode(self, x: float) -> float:
        return float(min(max(x, self.low), self.high))

    def encode(self, value: Value) -> float:
        return float(value)

    def text(self, value: Value) -> str:
        return f"{float(value):.6g}"


@dataclass(frozen=True)
class Integer:
    """A whole number in [low, high] (card counts)."""

    key: str
    low: int
    high: int
    current: int

    integral = True

    def bounds(self) -> tuple[float, float]:
        return float(self.low), float(self.high)

    def decode(self, x: float) -> int:
        return int(min(max(round(x), self.low), self.high))

    def encode(self, value: Value) -> float:
        return float(value)

    def text(self, value: Value) -> str:
        return str(int(value))


@dataclass(frozen=True)
class Choice:
    """One of a few named options (shift plan, maintenance policy), as an index."""

    key: str
    options: tuple[str, ...]
    current: str

    integral = True

    def bounds(self) -> tuple[float, float]:
        return 0.0, float(len(self.options) - 1)

    def decode(self, x: float) -> str:
        return self.options[int(min(max(round(x), 0), len(self.options) - 1))]

    def encode(self, value: Value) -> float:
        return float(self.options.index(str(value)))

    def text(self, value: Value) -> str:
        return str(value)


Variable = Real | Integer | Choice
Values = dict[str, Value]


def plain_overrides(values: Values, variables: Sequence[Variable]) -> list[str]:
    """One `key=value` override per variable."""
    return [f"{v.key}={v.text(values[v.key])}" for v in variables]


@dataclass(frozen=True)
class DecisionSpace:
    """The variables of a problem; `to_sets` turns decoded values into override strings
    (one per variable unless a problem composes them, e.g. maintenance windows)."""

    variables: tuple[Variable, ...]
    fixed: tuple[str, ...] = ()
    composer: Callable[[Values, Sequence[Variable]], list[str]] | None = field(default=None, compare=False)
    repair: Callable[[Values], Values] | None = field(default=None, compare=False)
    """Moves a snapped candidate onto the plant's feasible set where a rule says how (cards)."""

    @property
    def n(self) -> int:
        return len(self.variables)

    @property
    def xl(self) -> np.ndarray:
        return np.array([v.bounds()[0] for v in self.variables], dtype=float)

    @property
    def xu(self) -> np.ndarray:
        return np.array([v.bounds()[1] for v in self.variables], dtype=float)

    @property
    def integral(self) -> np.ndarray:
        return np.array([v.integral for v in self.variables], dtype=bool)

    def values(self, x: Sequence[float]) -> Values:
        return {v.key: v.decode(float(xi)) for v, xi in zip(self.variables, x, strict=True)}

    def current(self) -> Values:
        return {v.key: v.current for v in self.variables}

    def encode(self, values: Values) -> np.ndarray:
        return np.array([v.encode(values[v.key]) for v in self.variables], dtype=float)

    def to_sets(self, values: Values) -> tuple[str, ...]:
        compose = self.composer or plain_overrides
        return (*self.fixed, *compose(values, self.variables))

    def snap(self, x: np.ndarray) -> np.ndarray:
        """Integer and choice coordinates rounded to their grid, all clipped to bounds."""
        out: np.ndarray = np.clip(np.asarray(x, dtype=float), self.xl, self.xu)
        mask = self.integral
        out[..., mask] = np.rint(out[..., mask])
        if self.repair is None:
            return out
        rows = np.atleast_2d(out)
        fixed = np.array([np.clip(self.encode(self.repair(self.values(r))), self.xl, self.xu) for r in rows])
        return fixed.reshape(out.shape)


class SnapRepair(Repair):  # type: ignore[misc]
    """pymoo repair that puts each candidate on the decision grid before evaluation."""

    def __init__(self, space: DecisionSpace) -> None:
        super().__init__()
        self.space = space

    def _do(self, problem: object, X: np.ndarray, **kwargs: object) -> np.ndarray:
        return self.space.snap(X)


def key_of(x: Sequence[float]) -> tuple[float, ...]:
    """A hashable key of a snapped point (rounded so float noise does not split the cache)."""
    return tuple(0.0 if math.isclose(v, 0.0, abs_tol=1e-12) else round(float(v), 9) for v in x)
