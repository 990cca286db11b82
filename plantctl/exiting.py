"""The last step of every daemon command (`plant plc`, `plant twin`, `plant optimizer`,
`plant up`): a bounded exit after the daemon's own shutdown has logged that it stopped.

What kept a stopped daemon alive for seconds was not the daemon: it was the interpreter's own
teardown (collecting and freeing the OPC UA address space, the model library and the asyncua
objects: about 2 s of no Python frame at all), and whatever a part left running (a worker
thread that is not a daemon thread, a pool's worker process). Here the command waits at most
`EXIT_DEADLINE_S` for such threads and child processes, names any that are still there, and
leaves with `os._exit`: logs and standard streams flushed, the teardown skipped (every part has
closed and flushed its own files in its shutdown). The exit code is the daemon's own, or
`EXIT_STUCK` when something was still running at the deadline, so a test (or systemd) can tell
a clean, prompt exit (0) from one that left something behind."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
import threading
import time
from typing import NoReturn

log = logging.getLogger("plant.exit")

EXIT_DEADLINE_S = 1.5
"""Seconds after the daemon's "stopped" line that threads and worker processes may take to end."""
EXIT_STUCK = 3
"""The exit code when a thread or child process was still running at the deadline."""


def leftovers(deadline_s: float) -> list[str]:
    """Waits up to `deadline_s` for non-daemon threads and child processes; names those left."""
    end = time.monotonic() + deadline_s
    me = threading.current_thread()
    for t in threading.enumerate():
        if t is not me and not t.daemon:
            t.join(max(end - time.monotonic(), 0.0))
    for p in multiprocessing.active_children():
        p.join(max(end - time.monotonic(), 0.0))
    threads = [f"thread {t.name}" for t in threading.enumerate() if t is not me and not t.daemon and t.is_alive()]
    return threads + [f"process {p.name} (pid {p.pid})" for p in multiprocessing.active_children()]


def exit_within(code: int, deadline_s: float = EXIT_DEADLINE_S) -> NoReturn:
    """Exits with `code` once threads and child processes have ended, or with EXIT_STUCK
    (after logging what still runs) when they have not within `deadline_s`."""
    left = leftovers(deadline_s)
    if left:
        log.error("still running %.1f s after the shutdown, exiting anyway: %s", deadline_s, ", ".join(left))
        for p in multiprocessing.active_children():
            p.terminate()
        code = EXIT_STUCK
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
