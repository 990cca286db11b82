"""Random streams: one numpy generator per random source, drawn in blocks for speed.

Each source (demand of a product, processing on a machine, its failures, ...) has its own
stream spawned from one `SeedSequence`, so two control models run with the same seed meet
the same demand and the same failures (common random numbers). A stream's whole state,
including the unread part of its block, goes into snapshots.
"""

from __future__ import annotations

from operator import length_hint
from typing import Any

import numpy as np

from .spec import Dist

BLOCK = 512


class Stream:
    """Standard normal, exponential and uniform variates from one PCG64 generator.

    Each kind is read through an iterator over its current block: a draw is one `next()`,
    and the unread part of a block is what the iterator has left (`length_hint`)."""

    __slots__ = ("_e", "_gen", "_it_e", "_it_n", "_it_u", "_n", "_u")

    def __init__(self, seed: np.random.SeedSequence) -> None:
        self._gen = np.random.Generator(np.random.PCG64(seed))
        self._set_blocks([], [], [])

    def _set_blocks(self, n: list[float], e: list[float], u: list[float]) -> None:
        self._n, self._e, self._u = n, e, u
        self._it_n, self._it_e, self._it_u = iter(n), iter(e), iter(u)

    def _refill_n(self) -> float:
        self._n = self._gen.standard_normal(BLOCK).tolist()
        it = self._it_n = iter(self._n)
        return next(it)

    def _refill_e(self) -> float:
        self._e = self._gen.standard_exponential(BLOCK).tolist()
        it = self._it_e = iter(self._e)
        return next(it)

    def _refill_u(self) -> float:
        self._u = self._gen.random(BLOCK).tolist()
        it = self._it_u = iter(self._u)
        return next(it)

    def uniform(self) -> float:
        x = next(self._it_u, None)
        return self._refill_u() if x is None else x

    def std_normal(self) -> float:
        x = next(self._it_n, None)
        return self._refill_n() if x is None else x

    def std_exponential(self) -> float:
        x = next(self._it_e, None)
        return self._refill_e() if x is None else x

    def sample(self, d: Dist) -> float:
        """A draw of `d`: clipped normal, exponential or constant."""
        kind = d.dist
        if kind == "normal":
            z = next(self._it_n, None)
            x = d.mean * (1.0 + d.cv * (self._refill_n() if z is None else z))
        elif kind == "exponential":
            z = next(self._it_e, None)
            x = d.mean * (self._refill_e() if z is None else z)
        else:
            x = d.mean
        lo = d.min
        if lo is not None and x < lo:
            x = lo
        elif x <= 0.0:
            x = d.mean * 1e-3
        hi = d.max
        if hi is not None and x > hi:
            x = hi
        return x

    def _unread(self) -> dict[str, list[float]]:
        out = {}
        for k, buf, it in (("n", self._n, self._it_n), ("e", self._e, self._it_e), ("u", self._u, self._it_u)):
            out[k] = buf[len(buf) - length_hint(it):]
        return out

    def state(self) -> dict[str, Any]:
        return {"gen": self._gen.bit_generator.state, "buf": self._unread()}

    def restore(self, state: dict[str, Any]) -> None:
        self._gen.bit_generator.state = state["gen"]
        buf = state["buf"]
        self._set_blocks(list(buf["n"]), list(buf["e"]), list(buf["u"]))


class Streams:
    """The named streams of one replication, spawned in a fixed order from the seed."""

    def __init__(self, seed: int | np.random.SeedSequence, names: list[str]) -> None:
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self._streams = {n: Stream(child) for n, child in zip(names, _children(ss, len(names)))}

    def __getitem__(self, name: str) -> Stream:
        return self._streams[name]

    def state(self) -> dict[str, Any]:
        return {n: s.state() for n, s in self._streams.items()}

    def restore(self, state: dict[str, Any]) -> None:
        for n, s in state.items():
            self._streams[n].restore(s)


def _children(ss: np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    """What `ss.spawn(n)` gives on a fresh sequence, without changing `ss`: the same seed
    object can build any number of identical models."""
    return [np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, i), pool_size=ss.pool_size)
            for i in range(n)]


def replication_seed(seed: int, rep: int) -> np.random.SeedSequence:
    """The seed of replication `rep`: the same for every model, so models share randomness."""
    return np.random.SeedSequence(seed, spawn_key=(rep,))
