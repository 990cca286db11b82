"""Running the PLC and its OPC UA server as one daemon: start, scan until SIGTERM or Ctrl-C,
then shut down cleanly within a timeout (PLC stopped, events published, sessions closed,
history flushed) and restore the signal handlers it replaced."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Callable

from plc_sim.plc.runtime import PlcRuntime

from .server import PlantServer, endpoint_port
from .settings import ServerSettings

log = logging.getLogger("plantd")
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class PlcDaemon:
    def __init__(self, plc: PlcRuntime, settings: ServerSettings, shutdown_timeout_s: float = 5.0) -> None:
        self.plc = plc
        self.server = PlantServer(plc, settings)
        self.shutdown_timeout_s = shutdown_timeout_s
        self.should_exit = asyncio.Event()

    async def serve(self, on_ready: Callable[[str], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        for sig in HANDLED_SIGNALS:
            loop.add_signal_handler(sig, self._handle_exit, sig)
        try:
            await self.server.start()
            stop = asyncio.Event()
            scans = asyncio.create_task(self.plc.run(stop))
            url = self.server.url.replace(f":{self.server.settings.port}/", f":{endpoint_port(self.server)}/")
            log.info("plant %s (%s) serving at %s, time factor %s", self.plc.spec.name, self.plc.model.model_name,
                     url, self.plc.time_factor or "max")
            if on_ready:
                on_ready(url)
            await self.should_exit.wait()
            log.info("shutting down")
            stop.set()
            await asyncio.wait_for(self._shutdown(scans), timeout=self.shutdown_timeout_s)
            log.info("stopped cleanly after %d scans", self.plc.scans)
        finally:
            for sig in HANDLED_SIGNALS:
                loop.remove_signal_handler(sig)

    async def _shutdown(self, scans: asyncio.Task) -> None:
        await scans
        await self.server.stop()

    def _handle_exit(self, sig: signal.Signals) -> None:
        log.info("received %s", signal.Signals(sig).name)
        self.should_exit.set()
