"""The daemons' fork server ignores Ctrl-C from its first instruction: a Ctrl-C while it still imports
the model library (its first second, longer on a loaded machine) must not break the run under way."""

from __future__ import annotations

import subprocess
import sys

# Ctrl-C reaches the fork server again and again while it starts and while it forks the pool's
# workers; the pool must still answer (a dead fork server breaks the pool).
SCRIPT = """
import os, signal, threading, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver
from plantctl.fork_server import start_fork_server

start_fork_server()
pid = forkserver._forkserver._forkserver_pid
done = threading.Event()

def interrupt():
    while not done.is_set():
        os.kill(pid, signal.SIGINT)
        done.wait(0.005)

threading.Thread(target=interrupt, daemon=True).start()
with ProcessPoolExecutor(max_workers=2) as pool:
    print(sum(pool.map(abs, [-1, -2, -3])))
    print(pool.submit(os.getpid).result() != os.getpid())
done.set()
print(forkserver._forkserver._forkserver_pid == pid)
"""


def test_ctrl_c_while_the_fork_server_starts_leaves_it_serving_workers() -> None:
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split() == ["6", "True", "True"], r.stdout + r.stderr[-3000:]
