"""`plant twin`: the twin as a daemon. Mirrors and historizes until SIGTERM or SIGINT, then
stops mirroring, flushes what it holds to the spool (and the sink, within a timeout) and
exits; the spool keeps whatever the sink did not take for the next start. Reports health
to the log, to `<data dir>/health.json` and as Prometheus metrics on loopback.

`python -m twin_core.daemon` runs it with settings from the environment only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from typing import Any

from plc_sim.model.private_files import write_private

from .health import Health
from .settings import TwinSettings
from .twin import Twin

log = logging.getLogger(__name__)

HEALTH_FILE_S = 1.0
SNAPSHOT_S = 5.0
"""How often the twin snapshot file is rewritten."""


async def serve(settings: TwinSettings, on_ready: Callable[[Twin], None] | None = None,
                stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    twin = Twin(settings)
    health = Health(twin)
    await twin.start()
    metrics: Any = None
    if settings.metrics_port:
        from .health import serve_metrics

        metrics = serve_metrics(twin, health, settings.metrics_host, settings.metrics_port)
    if on_ready is not None:
        on_ready(twin)
    path = settings.data_dir / "health.json"
    last_log = time.monotonic()
    calibrator = _calibrator(twin, health)
    try:
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), HEALTH_FILE_S)
            calibrator()
            view = health.view()
            health.write(path, view)
            if time.monotonic() - last_log >= settings.health_log_s:
                log.info("health: %s", view.line())
                last_log = time.monotonic()
    finally:
        log.info("stopping: flushing the historian")
        await twin.stop()
        if metrics is not None:
            metrics.shutdown()
        view = health.view(running=False)
        health.write(path, view)
        log.info("stopped cleanly: %s", view.line())
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


class _Calibration:
    """Feeds the calibrator from the mirror and writes estimates and snapshot files."""

    def __init__(self, twin: Twin, health: Health) -> None:
        from .calibration import Calibrator

        self.twin, self.health = twin, health
        self.cal = Calibrator(twin.spec, twin.settings.data_dir / "calibration.json")
        twin.mirror.listeners.append(self.cal.on_value)
        self._snap_at = 0.0

    def __call__(self) -> None:
        from .snapshot import take

        if self.cal.update():
            self.health.last_calibration = time.time()
        if time.monotonic() - self._snap_at >= SNAPSHOT_S and self.twin.state.values:
            self._snap_at = time.monotonic()
            snap = take(self.twin.state, self.twin.spec, self.twin.settings.endpoint, self.cal.estimates(),
                        self.cal.up_hours())
            write_private(self.twin.settings.data_dir / "snapshot.json", snap.model_dump_json(indent=1))


def _calibrator(twin: Twin, health: Health) -> Callable[[], None]:
    return _Calibration(twin, health)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for noisy in ("asyncua",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(serve(TwinSettings.load()))


if __name__ == "__main__":
    main()
