"""`plant twin`: the twin as a daemon. Mirrors and historizes until SIGTERM or SIGINT, then
stops mirroring, flushes what it holds to the spool (and the sink, within a timeout) and
exits; the spool keeps whatever the sink did not take for the next start. Reports health
to the log, to `<data dir>/health.json` and as Prometheus metrics on loopback.

`python -m twin_core.daemon` runs it with settings from the environment only."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any, Callable

from .health import Health
from .settings import TwinSettings
from .twin import Twin

log = logging.getLogger(__name__)

HEALTH_FILE_S = 1.0


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
            try:
                await asyncio.wait_for(stop.wait(), HEALTH_FILE_S)
            except asyncio.TimeoutError:
                pass
            if calibrator is not None:
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
        log.info("stopped: %s", view.line())
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def _calibrator(twin: Twin, health: Health) -> Callable[[], None] | None:
    try:
        from .calibration import Calibrator
    except ImportError:
        return None
    cal = Calibrator(twin.spec, twin.settings.data_dir / "calibration.json")

    def step() -> None:
        if cal.update(twin.state):
            health.last_calibration = time.time()

    return step


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for noisy in ("asyncua",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(serve(TwinSettings.load()))


if __name__ == "__main__":
    main()
