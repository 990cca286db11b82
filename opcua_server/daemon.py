"""Running the PLC and its OPC UA server as one daemon, supervised the way uvicorn's server is.

`serve()` installs the process-wide tunings (asyncua fast path, sqlite3 converter, collector),
starts the server and the PLC's scan task, and then waits on the scan task and the stop
signal together:

* SIGTERM or Ctrl-C: the PLC stops, pending events are published, sessions closed, history
  flushed, within `shutdown_timeout_s`; past that, what is left is cancelled and logged.
* a second signal during the shutdown forces the exit at once;
* the scan task ending by itself (a crash) is logged and the daemon exits non-zero, instead of
  serving stale tags.

A non-zero exit is raised as SystemExit(code); signal handlers are restored either way."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable

from plc_sim.plc.runtime import PlcRuntime

from . import history_store
from ._asyncua import fastpath
from ._asyncua.server import endpoint_port
from .server import PlantServer
from .settings import ServerSettings

log = logging.getLogger(__name__)
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def install() -> None:
    """The process-wide side effects the daemon wants, made explicit: asyncua's data-change
    fast path and the sqlite3 timestamp converter (the collector is tuned after start)."""
    fastpath.install()
    history_store.install()


def tune_gc() -> tuple[int, int, int]:
    """Process-wide, for the daemon that serves: the address space built at start moves out of
    the collector's sight (gc.freeze), and collections wait for 50,000 net new container
    objects instead of 700. Every change makes short-lived objects that reference counting
    frees; with the default threshold the collector ran every few milliseconds and its full
    passes over the notification queues stalled the loop for up to 120 ms under ten clients.
    Returns the thresholds before, for `untune_gc`."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    return before


def untune_gc(thresholds: tuple[int, int, int]) -> None:
    gc.unfreeze()
    gc.set_threshold(*thresholds)


class PlcDaemon:
    def __init__(self, plc: PlcRuntime, settings: ServerSettings, shutdown_timeout_s: float = 5.0) -> None:
        self.plc = plc
        self.server = PlantServer(plc, settings)
        self.shutdown_timeout_s = shutdown_timeout_s
        self.should_exit = asyncio.Event()
        self.force_exit = False
        self._shutdown_task: asyncio.Task | None = None

    async def serve(self, on_ready: Callable[[str], None] | None = None) -> None:
        install()
        loop = asyncio.get_running_loop()
        for sig in HANDLED_SIGNALS:
            loop.add_signal_handler(sig, self._handle_exit, sig)
        try:
            code = await self._serve(on_ready)
        finally:
            for sig in HANDLED_SIGNALS:
                loop.remove_signal_handler(sig)
        if code:
            raise SystemExit(code)

    async def _serve(self, on_ready: Callable[[str], None] | None) -> int:
        await self.server.start()
        thresholds = tune_gc()
        try:
            return await self._supervise(on_ready)
        finally:
            untune_gc(thresholds)  # the process may go on (tests, embedding)

    async def _supervise(self, on_ready: Callable[[str], None] | None) -> int:
        stop = asyncio.Event()
        scans = asyncio.create_task(self.plc.run(stop), name="plc-scans")
        signalled = asyncio.create_task(self.should_exit.wait(), name="stop-signal")
        url = self.server.url.replace(f":{self.server.settings.port}/", f":{endpoint_port(self.server)}/")
        log.info("plant %s (%s) serving at %s, time factor %s", self.plc.spec.name, self.plc.model.model_name,
                 url, self.plc.time_factor or "max")
        if on_ready:
            on_ready(url)
        await asyncio.wait({scans, signalled}, return_when=asyncio.FIRST_COMPLETED)
        signalled.cancel()
        code = 0
        if scans.done():
            exc = None if scans.cancelled() else scans.exception()
            log.error("the PLC scan task ended after %d scans: %r; stopping, tags would go stale", self.plc.scans, exc,
                      exc_info=exc)
            code = 1
        else:
            log.info("shutting down")
        stop.set()
        return await self._shutdown(scans) or code

    async def _shutdown(self, scans: asyncio.Task) -> int:
        """0 if everything stopped within the timeout, else 1 (what was left is cancelled)."""
        self._shutdown_task = task = asyncio.create_task(self._stop_all(scans), name="shutdown")
        if self.force_exit:
            task.cancel()
        done, _ = await asyncio.wait({task}, timeout=self.shutdown_timeout_s)
        if task not in done:
            log.error("shutdown took longer than %.1f s: cancelled", self.shutdown_timeout_s)
        if not task.done() or task.cancelled():
            task.cancel()
            scans.cancel()
            await asyncio.gather(task, scans, return_exceptions=True)
            if self.force_exit:
                log.warning("forced exit after %d scans", self.plc.scans)
            return 1
        if task.exception() is not None:
            exc = task.exception()
            log.error("shutdown failed: %r", exc, exc_info=exc)
            return 1
        log.info("stopped cleanly after %d scans", self.plc.scans)
        return 0

    async def _stop_all(self, scans: asyncio.Task) -> None:
        await asyncio.gather(scans, return_exceptions=True)
        await self.server.stop()

    def _handle_exit(self, sig: int) -> None:
        if self.should_exit.is_set():
            log.warning("received %s again: forcing the exit", signal.Signals(sig).name)
            self.force_exit = True
            if self._shutdown_task is not None:
                self._shutdown_task.cancel()
            return
        log.info("received %s", signal.Signals(sig).name)
        self.should_exit.set()
