"""`plant optimizer`: the scheduled service until SIGTERM or SIGINT; SIGUSR1 runs every job
now. On shutdown no new run starts and a run under way finishes and is audited. Prometheus
metrics on `metrics_port` when it is set."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from .metrics import serve_metrics
from .schedule import OptimizerService
from .settings import OptimizerSettings

log = logging.getLogger(__name__)


def serve(settings: OptimizerSettings, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    service = OptimizerService(settings)

    def on_stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the run under way", signal.Signals(signum).name)
        stop.set()

    def on_run_now(signum: int, frame: FrameType | None) -> None:
        service.run_now()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGUSR1, on_run_now)
    metrics = serve_metrics(service.audit, settings.metrics_host, settings.metrics_port) \
        if settings.metrics_port else None
    service.start()
    try:
        stop.wait()
    finally:
        service.shutdown(wait=True)
        if metrics is not None:
            metrics.shutdown()
            metrics.server_close()
        log.info("optimizer stopped cleanly")
