"""A daemon command (`plant plc`, `plant up`, `plant optimizer`, ...) as a user runs it: a real
subprocess with its log in a file, on port 0 (it prints the URL with the port it bound), stopped
by a signal sent to its PID. The tests judge the stop by the daemon's exit code: 0 is its own
bounded shutdown finishing cleanly (plantctl/exiting.py), so no test times a shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.polling import wait_until

PLANT = str(Path(sys.executable).parent / "plant")
STOP_GUARD_S = 60.0
"""How long a test waits for a stopped daemon to exit before calling it hung (a guard, not a bound)."""


class Daemon:
    """One subprocess; `log` holds its standard error."""

    def __init__(self, proc: subprocess.Popen[str], log: Path) -> None:
        self.proc, self.log = proc, log

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self) -> str:
        return self.text()[-4000:]

    def line(self, needle: str, timeout: float = 120.0, start: bool = False) -> str:
        """The first log line containing `needle` (`start`: beginning with it); fails if the
        process ends first."""
        def found() -> str | None:
            hit = next((x for x in self.text().splitlines() if (x.startswith(needle) if start else needle in x)),
                       None)
            if hit is None and self.proc.poll() is not None:
                raise AssertionError(f"{self.proc.args!r} ended ({self.proc.returncode}) before {needle!r}:\n"
                                     f"{self.tail()}")
            return hit
        return wait_until(found, timeout, f"{needle!r} in the log", interval=0.05, detail=self.tail)

    def url(self) -> str:
        """The URL the daemon printed once it listened (with the port it bound)."""
        return self.line("listening at ", start=True).split("listening at ", 1)[1].strip()

    def send(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    def wait(self) -> int:
        """The exit code, once the process has ended (STOP_GUARD_S guards against a hang)."""
        wait_until(lambda: self.proc.poll() is not None, STOP_GUARD_S, f"{self.proc.args[1:3]} to exit",
                   interval=0.05, detail=self.tail)
        return self.proc.returncode

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.send(sig)
        return self.wait()


@contextmanager
def run_daemon(args: Sequence[str], log: Path, env: dict[str, str] | None = None, executable: Sequence[str] = (PLANT,),
           **popen: object) -> Iterator[Daemon]:
    """`plant <args>` with its standard error in `log`; killed by PID if a test leaves it running."""
    with log.open("w") as err:
        proc = subprocess.Popen([*executable, *args], stderr=err, stdout=popen.pop("stdout", subprocess.DEVNULL),
                                text=True, env={**os.environ, **(env or {})}, **popen)  # type: ignore[call-overload]
    try:
        yield Daemon(proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
