"""The twin assembled: observed state, historian (sink + spool) and mirror, started and
stopped together. The daemon adds signals, health reporting and metrics around it."""

from __future__ import annotations

import asyncio
import logging

from plc_sim.model.private_files import private_dir
from plc_sim.model.spec import PlantSpec, load_plant

from .historian.historian import Historian
from .historian.sink import Sink
from .historian.spool import Spool
from .historian.sqlite import SqliteSink
from .mirror import Mirror
from .settings import TwinSettings
from .state import ObservedState

log = logging.getLogger(__name__)


def make_sink(settings: TwinSettings) -> Sink:
    if settings.sink == "influx":
        from .historian.influx import InfluxSink

        return InfluxSink(settings.influx_url, settings.influx_token, settings.influx_org, settings.influx_bucket,
                          settings.numeric_only, settings.request_timeout_s)
    return SqliteSink(settings.data_dir / "history.sqlite")


class Twin:
    def __init__(self, settings: TwinSettings, spec: PlantSpec | None = None) -> None:
        self.settings = settings
        self.spec = spec if spec is not None else load_plant(settings.plant)
        self.state = ObservedState()
        private_dir(settings.data_dir)
        self.historian = Historian(make_sink(settings), Spool(settings.data_dir / "spool.sqlite",
                                                              settings.spool_max_points),
                                   settings.batch_size, settings.flush_interval_s, settings.pending_max_points,
                                   settings.sink_retry_min_s, settings.sink_retry_max_s,
                                   direct=settings.sink == "sqlite")
        self.mirror = Mirror(settings, self.state, self.historian, self.spec if settings.match_plant else None)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.historian.start()
        self._task = asyncio.create_task(self.mirror.run(self._stop), name="mirror")

    async def stop(self, flush_timeout_s: float = 5.0, mirror_timeout_s: float = 2.0) -> None:
        """Stop mirroring, then flush: pending points reach the spool, and the sink what it
        takes within `flush_timeout_s`; the rest stays in the spool for the next start."""
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, mirror_timeout_s)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        await self.historian.close(flush_timeout_s)

    async def __aenter__(self) -> "Twin":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
