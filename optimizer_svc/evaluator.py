"""Parallel, cached evaluation of candidates: each (candidate, seed) is one job in a process
pool (never on an asyncio event loop) and its KPIs are cached, so a candidate seen again, or
the current setpoints in verification, costs nothing twice."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass

from plc_sim.model.spec import policy_problems
from plc_sim.model.variants import VariantError

from .forecast import Forecaster, Horizon, KPIs
from .overrides import build_plant

log = logging.getLogger(__name__)

CACHE_LIMIT = 50_000
"""KPI dicts kept (one per candidate and seed); the oldest go first."""


@dataclass(frozen=True)
class Invalid:
    """A candidate the plant's own checks refuse; it is never simulated."""

    reason: str


_SHARED: dict[int, ProcessPoolExecutor] = {}
_SHARED_LOCK = threading.Lock()


def shared_pool(workers: int) -> ProcessPoolExecutor | None:
    """The service's process pool of `workers` processes, kept between runs so that the
    workers start (and import the model library) once, not at every run; None for one worker
    (evaluate in this process). A pool broken by a dead worker is replaced."""
    if workers <= 1:
        return None
    with _SHARED_LOCK:
        pool = _SHARED.get(workers)
        if pool is None or getattr(pool, "_broken", False):
            pool = _SHARED[workers] = ProcessPoolExecutor(max_workers=workers)
        return pool


def close_shared_pools() -> None:
    """Stop the service's pools (at shutdown; a later run starts new ones)."""
    with _SHARED_LOCK:
        pools = list(_SHARED.values())
        _SHARED.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


Outcome = list[KPIs] | Invalid
CacheKey = tuple[tuple[str, ...], int, Horizon]


def _forecast_one(forecaster: Forecaster, sets: tuple[str, ...], seed: int, horizon: Horizon) -> KPIs:
    return forecaster.evaluate(sets, [seed], horizon)[0]


class Evaluator:
    """Evaluates batches of candidates (override tuples) on fixed seeds with `jobs` worker
    processes (1: in this process). Use as a context manager or call `close()`."""

    def __init__(self, forecaster: Forecaster, jobs: int = 1, executor: Executor | None = None,
                 cache_limit: int = CACHE_LIMIT) -> None:
        self.forecaster = forecaster
        self.jobs = jobs
        self._executor = executor
        self._own_executor = executor is None
        self.cache: OrderedDict[CacheKey, KPIs] = OrderedDict()
        self.cache_limit = cache_limit
        self.simulations = 0
        self.cache_hits = 0

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None and self._own_executor:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _pool(self) -> Executor | None:
        if self.jobs <= 1 and self._own_executor:
            return None
        if self._executor is None:
            self._executor = ProcessPoolExecutor(max_workers=self.jobs)
        return self._executor

    def validity(self, sets: tuple[str, ...]) -> Invalid | None:
        """Why the plant refuses `sets`; for no override, why the current setpoints break the
        plant file's card rules (a live plant the forecast starts from anyway: `incumbent_plant`)."""
        try:
            spec = build_plant(self.forecaster.plant, sets)
        except VariantError as e:
            return Invalid(str(e))
        problems = [] if sets else policy_problems(spec.policy, spec.product_names, len(spec.stations))
        if problems:
            return Invalid("the current setpoints break the plant's rules: " + "; ".join(m for _, m in problems))
        return None

    def evaluate(self, candidates: Sequence[tuple[str, ...]], seeds: Sequence[int], horizon: Horizon) -> list[Outcome]:
        """KPIs per seed for each candidate, or Invalid with the plant's reason."""
        invalid = {c: self.validity(c) for c in set(candidates)}
        pending: dict[CacheKey, Future[KPIs] | KPIs] = {}
        pool = self._pool()
        for cand in candidates:
            if invalid[cand] is not None:
                continue
            for seed in seeds:
                key = (cand, seed, horizon)
                if key in pending:
                    continue
                if key in self.cache:
                    self.cache.move_to_end(key)
                    self.cache_hits += 1
                    pending[key] = self.cache[key]
                elif pool is None:
                    pending[key] = _forecast_one(self.forecaster, cand, seed, horizon)
                    self._store(key, pending[key])
                else:
                    pending[key] = pool.submit(_forecast_one, self.forecaster, cand, seed, horizon)
        for key, item in pending.items():
            if isinstance(item, Future):
                pending[key] = item.result()
                self._store(key, pending[key])
        out: list[Outcome] = []
        for cand in candidates:
            bad = invalid[cand]
            out.append(bad if bad is not None else [pending[(cand, s, horizon)] for s in seeds])  # type: ignore[misc]
        return out

    def _store(self, key: CacheKey, kpis: KPIs | Future[KPIs]) -> None:
        assert isinstance(kpis, dict)
        self.simulations += 1
        self.cache[key] = kpis
        while len(self.cache) > self.cache_limit:
            self.cache.popitem(last=False)
