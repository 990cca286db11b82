"""Random streams: one numpy generator per random source, drawn in blocks for speed.

Each source (demand of a product, processing on a machine, its failures, ...) has its own
stream spawned from one `SeedSequence`, so two control models run with the same seed meet
the same demand and the same failures (common random numbers). A stream's whole state,
including the unread part of its block, goes into snapshots.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .spec import Dist

BLOCK = 512


class Stream:
    """Standard normal, exponential and uniform variates from one PCG64 generator."""

    __slots__ = ("_buf", "_gen", "_pos")

    def __init__(self, seed: np.random.SeedSequence) -> None:
        self._gen = np.random.Generator(np.random.PCG64(seed))
        self._buf: dict[str, list[float]] = {"n": [], "e": [], "u": []}
        self._pos: dict[str, int] = {"n": 0, "e": 0, "u": 0}

    def _next(self, kind: str) -> float:
        pos = self._pos[kind]
        buf = self._buf[kind]
        if pos >= len(buf):
            g = self._gen
            draw = g.standard_normal if kind == "n" else g.standard_exponential if kind == "e" else g.random
            buf = self._buf[kind] = draw(BLOCK).tolist()
            pos = 0
        self._pos[kind] = pos + 1
        return buf[pos]

    def uniform(self) -> float:
        return self._next("u")

    def std_normal(self) -> float:
        return self._next("n")

    def std_exponential(self) -> float:
        return self._next("e")

    def sample(self, d: Dist) -> float:
        """A draw of `d`: clipped normal, exponential or constant."""
        if d.dist == "normal":
            x = d.mean * (1.0 + d.cv * self._next("n"))
        elif d.dist == "exponential":
            x = d.mean * self._next("e")
        else:
            x = d.mean
        if d.min is not None and x < d.min:
            x = d.min
        elif x <= 0.0:
            x = d.mean * 1e-3
        if d.max is not None and x > d.max:
            x = d.max
        return x

    def state(self) -> dict[str, Any]:
        return {
            "gen": self._gen.bit_generator.state,
            "buf": {k: v[self._pos[k]:] for k, v in self._buf.items()},
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._gen.bit_generator.state = state["gen"]
        self._buf = {k: list(v) for k, v in state["buf"].items()}
        self._pos = {k: 0 for k in self._buf}


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
