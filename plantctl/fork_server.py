"""The fork server from which the daemons' worker processes start (`plant up`, `plant optimizer`).

Workers start from a fork server, not by forking the daemon (its threads, event loop and signal
handlers); the model library is preloaded there once, and the workers ignore Ctrl-C
(plantctl/pool_worker.py), so a Ctrl-C in the terminal, which reaches the whole process group,
lets the run under way finish instead of breaking its pool.

The fork server starts at once, with SIGINT ignored, a disposition it keeps across exec: started
lazily by the first run it would take a Ctrl-C during its imports (it ignores SIGINT only after
them), and that run would fail on a broken pool instead of finishing."""

from __future__ import annotations

import multiprocessing
import signal
from multiprocessing import forkserver

PRELOAD = ["plantctl.pool_worker", "plc_sim.model.line", "optimizer_svc.forecast"]


def start_fork_server() -> None:
    """Makes the fork server this process's start method for worker processes and starts it now."""
    multiprocessing.set_start_method("forkserver", force=True)
    multiprocessing.set_forkserver_preload(PRELOAD)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)
