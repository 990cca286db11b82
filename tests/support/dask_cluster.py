"""A Dask cluster started the standard way: one `dask scheduler` and `dask worker` processes
on loopback, each a subprocess whose PID the test keeps (a worker can be killed mid-run), the
scheduler on port 0 with its address read from its scheduler file."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.polling import wait_until

DASK = str(Path(sys.executable).parent / "dask")
START_GUARD_S = 120.0
"""How long the cluster may take to come up before the test calls it broken (a guard, not a bound)."""


@dataclass
class Cluster:
    address: str
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([DASK, *args], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def dask_cluster(folder: Path, workers: int = 2) -> Iterator[Cluster]:
    """A scheduler and `workers` single-threaded workers without nannies (a killed worker
    stays dead, so its tasks must be retried elsewhere)."""
    folder.mkdir(parents=True, exist_ok=True)
    info = folder / "scheduler.json"
    with ExitStack() as stack:
        scheduler = _spawn(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                            "--scheduler-file", str(info)], folder / "scheduler.log")
        stack.callback(_stop, scheduler)
        address = wait_until(lambda: _address(info, scheduler, folder), START_GUARD_S, "the dask scheduler's file")
        cluster = Cluster(address)
        for i in range(workers):
            proc = _spawn(["worker", "--scheduler-file", str(info), "--host", "127.0.0.1", "--nthreads", "1",
                           "--no-nanny", "--no-dashboard", "--name", f"w{i}", "--death-timeout", "60"],
                          folder / f"worker{i}.log")
            stack.callback(_stop, proc)
            cluster.workers.append(proc)
        yield cluster


def _address(info: Path, scheduler: subprocess.Popen[bytes], folder: Path) -> str | None:
    if scheduler.poll() is not None:
        raise AssertionError(f"dask scheduler ended ({scheduler.returncode}):\n"
                             f"{(folder / 'scheduler.log').read_text(errors='replace')[-3000:]}")
    try:
        return str(json.loads(info.read_text())["address"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None
