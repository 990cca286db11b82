"""The C allocator of a long-running `plant up`: fewer arenas, free pages given back.

`plant up` runs the PLC, the server, the twin and the optimizer in one process with a dozen
threads (asyncio's executor for SQLite and the historian, aiosqlite's writer, the scheduler,
the optimizer's run thread). glibc gives each thread that allocates concurrently an arena of
its own (up to 8 per core) and keeps what is freed in an arena for reuse instead of returning
it to the system. Python objects stay flat over a soak (bench/soak.py --trace counts them),
yet RSS grew in steps of whole heaps: memory freed in one thread's arena was not reused by
another and never went back. Capping the arenas (`M_ARENA_MAX`) and calling `malloc_trim`
periodically (a daemon thread; ctypes releases the GIL during the call) make RSS follow what is
in use. Nothing happens where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
import time

log = logging.getLogger(__name__)

M_ARENA_MAX = -8
"""mallopt parameter number of M_ARENA_MAX in glibc's malloc.h."""
ENV_ARENAS = "PLANT_MALLOC_ARENA_MAX"
ENV_TRIM_S = "PLANT_MALLOC_TRIM_S"
ARENAS = 2
"""Default arena cap (PLANT_MALLOC_ARENA_MAX; 0 leaves glibc's default)."""
TRIM_S = 30.0
"""Default seconds between malloc_trim calls (PLANT_MALLOC_TRIM_S; 0 turns them off)."""
SLOW_TRIM_MS = 50.0
"""A trim longer than this is logged (with the count so far): it holds each arena's lock while
it runs, so a thread allocating in that arena (the event loop's, in the main arena) waits."""


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.mallopt.argtypes, libc.malloc_trim.argtypes = [ctypes.c_int, ctypes.c_int], [ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    return libc


class Trimmer:
    """Calls malloc_trim(0) every `every_s` seconds until `stop` is set; counts the calls and
    keeps the longest."""

    def __init__(self, libc: ctypes.CDLL, every_s: float) -> None:
        self.libc = libc
        self.every_s = every_s
        self.stop = threading.Event()
        self.trims = 0
        self.slow = 0
        self.max_ms = 0.0

    def run(self) -> None:
        while not self.stop.wait(self.every_s):
            t0 = time.perf_counter()
            self.libc.malloc_trim(0)
            ms = (time.perf_counter() - t0) * 1000
            self.trims += 1
            self.max_ms = max(self.max_ms, ms)
            if ms > SLOW_TRIM_MS:
                self.slow += 1
                log.warning("malloc: trim took %.0f ms (%d of %d trims over %.0f ms; PLANT_MALLOC_TRIM_S=0 turns "
                            "them off)", ms, self.slow, self.trims, SLOW_TRIM_MS)


def tune_malloc() -> Trimmer | None:
    """Cap the arenas and start the trimmer as the environment says (call it before threads
    start); None where there is no glibc or trimming is off."""
    libc = _glibc()
    if libc is None:
        log.info("malloc: not glibc, allocator left as it is")
        return None
    arenas = int(os.environ.get(ENV_ARENAS, ARENAS))
    if arenas > 0 and libc.mallopt(M_ARENA_MAX, arenas) != 1:
        log.warning("malloc: M_ARENA_MAX=%d refused", arenas)
    every_s = float(os.environ.get(ENV_TRIM_S, TRIM_S))
    if every_s <= 0:
        return None
    trimmer = Trimmer(libc, every_s)
    threading.Thread(target=trimmer.run, name="malloc-trim", daemon=True).start()
    return trimmer
