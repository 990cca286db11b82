"""Yielding to people: a setpoint that someone other than the optimizer changed is on hold for
`holdoff_s` wall seconds, and the optimizer proposes nothing for it until then.

The server exposes no "last writer" of a tag, so a change is told from the values: the ledger
keeps, per decision key, the value the optimizer last knew (what it read in its last run, or
what it wrote and read back). A run that reads anything else there sees someone else's change,
holds that key from now until now + `holdoff_s`, and records why. A change seen while the key
is on hold starts the hold again. The ledger is `<data dir>/holds.json`, rewritten atomically,
so holds outlive a restart of the service; the times are wall-clock epoch seconds."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plc_sim.model.private_files import write_private

from .problems.base import ForecastProblem
from .space import Choice, Integer, Value, Variable

Clock = Callable[[], float]

_LOCK = threading.Lock()
"""Jobs run in worker threads of one process; each ledger update is read-modify-write."""


@dataclass(frozen=True)
class Hold:
    """A key someone else changed from `was` to `now` at `since`; left alone until `until`."""

    key: str
    was: Value
    now: Value
    since: float
    until: float

    def reason(self) -> str:
        return (f"{self.key} was changed from {self.was!r} to {self.now!r} by someone other than the optimizer "
                f"at {_iso(self.since)}: on hold until {_iso(self.until)}")

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"reason": self.reason()}


def same_value(a: object, b: object) -> bool:
    """Equal as the PLC shows it: numbers within float noise, JSON plans by their windows."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, float | int) and isinstance(b, float | int):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, str) and isinstance(b, str) and a.startswith("[") and b.startswith("["):
        try:
            return bool(json.loads(a) == json.loads(b))
        except json.JSONDecodeError:
            return False
    return a == b


class Ledger:
    """What the optimizer last knew of each setpoint, and the holds; one file per data directory."""

    def __init__(self, path: Path, holdoff_s: float, clock: Clock | None = None) -> None:
        self.path = path
        self.holdoff_s = holdoff_s
        self.clock: Clock = clock or time.time

    def observe(self, current: Mapping[str, Value]) -> dict[str, Hold]:
        """Takes the values a run just read; returns the holds in force on them (new ones
        for values someone else changed since the optimizer last knew them)."""
        now = self.clock()
        with _LOCK:
            doc = self._load()
            known, holds = doc["known"], doc["holds"]
            for key, value in current.items():
                if key in known and not same_value(known[key], value) and self.holdoff_s > 0:
                    holds[key] = asdict(Hold(key, known[key], value, now, now + self.holdoff_s))
                known[key] = value
            for key in [k for k, h in holds.items() if h["until"] <= now]:
                del holds[key]
            self._save(doc)
            return {k: Hold(**h) for k, h in holds.items() if k in current}

    def wrote(self, values: Mapping[str, Value]) -> None:
        """The values the optimizer has just put on the plant (written and read back, or restored)."""
        with _LOCK:
            doc = self._load()
            doc["known"].update(values)
            self._save(doc)

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {"known": {}, "holds": {}}
        return {"known": dict(doc.get("known", {})), "holds": dict(doc.get("holds", {}))}

    def _save(self, doc: dict[str, dict[str, Any]]) -> None:
        write_private(self.path, json.dumps(doc, indent=1), sync=True)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def pinned(problem: ForecastProblem, keys: set[str]) -> ForecastProblem:
    """`problem` with the variables of `keys` fixed at their current values (the search cannot
    move them, so no candidate changes them and verification compares like with like)."""
    if not keys & {v.key for v in problem.space.variables}:
        return problem
    space = replace(problem.space, variables=tuple(_pin(v) if v.key in keys else v for v in problem.space.variables))
    return ForecastProblem(problem.name, space, problem.evaluator, problem.seeds, problem.horizon, problem.objectives,
                           problem.constraints, problem.pick_weights, problem.report)


def _pin(v: Variable) -> Variable:
    if isinstance(v, Choice):
        return replace(v, options=(v.current,))
    if isinstance(v, Integer):  # the two replace calls are typed apart (int and float bounds)
        return replace(v, low=v.current, high=v.current)
    return replace(v, low=v.current, high=v.current)
