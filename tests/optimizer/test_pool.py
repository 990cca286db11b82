"""The service's evaluation pool is kept between runs (workers start once), replaced when a
worker dies, and stopped at shutdown."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from optimizer_svc.evaluator import close_shared_pools, shared_pool


def _pids(pool, n: int = 4) -> set[int]:
    return {f.result() for f in [pool.submit(os.getpid) for _ in range(n)]}


def test_the_pool_is_kept_between_runs_replaced_when_broken_and_stopped_at_shutdown():
    assert shared_pool(1) is None, "one worker: evaluate in this process"
    try:
        first = shared_pool(2)
        workers = _pids(first)
        assert shared_pool(2) is first
        workers |= _pids(shared_pool(2))
        assert len(workers) <= 2, "the next run is served by the same two workers, not new ones"
        os.kill(next(iter(workers)), signal.SIGKILL)  # a worker of our own pool, by its PID
        with pytest.raises(BrokenProcessPool):
            # The pool learns of the death from its management thread, not at once: the live
            # worker may serve a few more calls first. Keep asking until it knows (deadline).
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                first.submit(os.getpid).result(timeout=30)
        second = shared_pool(2)
        assert second is not first and _pids(second)
    finally:
        close_shared_pools()
    assert shared_pool(2) is not second
    close_shared_pools()
