"""Scale-out: evaluations on a dask.distributed cluster instead of the local process pool
(`dask_scheduler` in the settings, `plant optimize --dask`). The process pool stays the
default; the cluster's workers need this project installed."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager

CONNECT_TIMEOUT_S = 10


@contextmanager
def dask_executor(address: str) -> Iterator[Executor]:
    """A concurrent.futures Executor on the scheduler at `address` (e.g. tcp://host:8786)."""
    from distributed import Client

    with Client(address, timeout=CONNECT_TIMEOUT_S) as client:  # type: ignore[no-untyped-call]
        yield client.get_executor()
