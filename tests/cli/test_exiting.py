"""The bounded exit of the daemon commands (plantctl/exiting.py), judged by exit code: the
daemon's own code when nothing is left running, EXIT_STUCK naming what is when something
outlives the deadline (a worker thread that never ends, a child process that ignores its work)."""

from __future__ import annotations

import subprocess
import sys

from plantctl.exiting import EXIT_STUCK

PRELUDE = "import logging, threading, multiprocessing, time\nfrom plantctl.exiting import exit_within\n" \
          "logging.basicConfig(level=logging.INFO)\n"


def _run(body: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PRELUDE + body], capture_output=True, text=True, timeout=120,
                          check=False)


def test_a_clean_daemon_keeps_its_exit_code():
    assert _run("exit_within(0)").returncode == 0
    assert _run("exit_within(1)").returncode == 1


def test_a_thread_that_ends_within_the_deadline_is_waited_for():
    r = _run("flushed = threading.Event()\n"
             "threading.Thread(target=lambda: (time.sleep(0.2), flushed.set()), name='flusher').start()\n"
             "exit_within(0, deadline_s=60)\n")
    assert r.returncode == 0, r.stderr
    assert "still running" not in r.stderr


def test_what_still_runs_at_the_deadline_is_named_and_the_exit_is_stuck():
    r = _run("stop = threading.Event()\nthreading.Thread(target=stop.wait, name='stuck-worker').start()\n"
             "exit_within(0, deadline_s=0.2)\n")
    assert r.returncode == EXIT_STUCK, r.stderr
    assert "still running 0.2 s after the shutdown" in r.stderr and "thread stuck-worker" in r.stderr


def test_a_child_process_left_running_is_named_and_ended():
    r = _run("if __name__ == '__main__':\n"
             "    p = multiprocessing.get_context('spawn').Process(target=time.sleep, args=(600,), name='worker-1')\n"
             "    p.start()\n    exit_within(0, deadline_s=0.2)\n")
    assert r.returncode == EXIT_STUCK, r.stderr
    assert "process worker-1 (pid" in r.stderr
