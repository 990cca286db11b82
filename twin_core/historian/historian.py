"""The path of a point: `add()` (on the event loop, never blocking) -> a bounded pending list
-> the durable spool (worker thread, in batches) -> the sink (worker thread, oldest first).
A batch leaves the spool only after the sink took it; when the sink fails, the drainer backs
off and retries the same batch, so nothing is lost and the order is kept.

With `direct=True` (the embedded SQLite sink, itself a durable local file) a batch goes
straight to the sink while the spool is empty and the sink healthy, and to the spool
otherwise: the spool would only copy the same bytes to the same disk twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field

from .sink import Point, Sink, SinkError
from .spool import Spool

log = logging.getLogger(__name__)

SOURCE_CLOCK_TOLERANCE_S = 86_400.0
"""A source clock further than this from the wall clock is not wall time: no source lag."""
LAG_SAMPLES = 2048
"""Receipt-to-stored lags kept for the percentiles (one sample per batch added)."""


@dataclass
class HistorianStats:
    stored: int = 0
    replayed: int = 0
    dropped_pending: int = 0
    sink_up: bool = True
    sink_failures: int = 0
    last_error: str = ""
    lags: deque[float] = field(default_factory=lambda: deque(maxlen=LAG_SAMPLES))
    source_lag_s: float | None = None
    """Wall clock minus the newest source timestamp of the last stored batch; None when the
    source clock is not wall time (a simulated PLC stamps plant time)."""

    def lag_quantile(self, q: float) -> float | None:
        if not self.lags:
            return None
        xs = sorted(self.lags)
        return xs[min(int(q * len(xs)), len(xs) - 1)]


class Historian:
    def __init__(self, sink: Sink, spool: Spool, batch_size: int = 5000, flush_interval_s: float = 0.2,
                 pending_max: int = 200_000, retry_min_s: float = 0.2, retry_max_s: float = 5.0,
                 direct: bool = False) -> None:
        self.sink, self.spool = sink, spool
        self.batch_size, self.flush_interval_s, self.pending_max = batch_size, flush_interval_s, pending_max
        self.retry_min_s, self.retry_max_s = retry_min_s, retry_max_s
        self.direct = direct
        self.stats = HistorianStats()
        self._pending: list[Point] = []
        self._marks: deque[tuple[int, float]] = deque(maxlen=LAG_SAMPLES)
        self._accepted = 0
        self._done = -spool.depth
        """Points accepted minus those stored or dropped: the spool's old points come first."""
        self._backlog = spool.depth > 0
        self._wake = asyncio.Event()
        self._spooled = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    # --- intake (event loop) --------------------------------------------------------------

    def add(self, point: Point) -> None:
        if len(self._pending) >= self.pending_max:
            self.stats.dropped_pending += 1
            if self.stats.dropped_pending % 10_000 == 1:
                log.error("HISTORIAN PENDING FULL (%d points): %d points dropped", self.pending_max,
                          self.stats.dropped_pending)
            return
        if not self._pending:
            self._marks.append((self._accepted + 1, time.monotonic()))
        self._pending.append(point)
        self._accepted += 1
        if len(self._pending) >= self.batch_size:
            self._wake.set()

    def add_many(self, points: list[Point]) -> None:
        for p in points:
            self.add(p)

    @property
    def spool_depth(self) -> int:
        return self.spool.depth + len(self._pending)

    # --- running ------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._flusher(), name="historian-flush"),
                       asyncio.create_task(self._drainer(), name="historian-drain")]

    async def _flusher(self) -> None:
        while not self._closing:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_interval_s)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Move the pending points to the spool."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        if self.direct and self.stats.sink_up and self.spool.depth == 0:
            try:
                await asyncio.to_thread(self.sink.write, batch)
            except SinkError as e:
                self._sink_failed(str(e))
            else:
                self._stored(batch)
                return
        lost = await asyncio.to_thread(self.spool.append, batch)
        self._done += lost
        self._spooled.set()

    async def _drainer(self) -> None:
        delay = self.retry_min_s
        while True:
            if not await self.drain_once():
                if self._closing:
                    return
                if not self.stats.sink_up:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.retry_max_s)
                    continue
                self._spooled.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._spooled.wait(), self.flush_interval_s)
            else:
                delay = self.retry_min_s

    async def drain_once(self) -> bool:
        """Send the oldest batch of the spool to the sink; True when one was sent."""
        last_id, batch = await asyncio.to_thread(self.spool.peek, self.batch_size)
        if not batch:
            self._backlog = False
            return False
        try:
            await asyncio.to_thread(self.sink.write, batch)
        except SinkError as e:
            self._sink_failed(str(e))
            return False
        await asyncio.to_thread(self.spool.remove_through, last_id)
        self._stored(batch)
        return True

    def _sink_failed(self, error: str) -> None:
        self.stats.sink_failures += 1
        self.stats.last_error = error
        if self.stats.sink_up:
            log.warning("sink %s is down (%s): points wait in the spool", self.sink.name, error)
        self.stats.sink_up = False
        self._backlog = True

    def _stored(self, batch: list[Point]) -> None:
        n = len(batch)
        newest = max(p.time_ns for p in batch)
        lag = time.time() - newest / 1e9
        self.stats.source_lag_s = lag if abs(lag) < SOURCE_CLOCK_TOLERANCE_S else None
        if not self.stats.sink_up:
            log.info("sink %s is back: replaying %d spooled points", self.sink.name, self.spool.depth + n)
        self.stats.sink_up = True
        self.stats.stored += n
        if self._backlog:
            self.stats.replayed += n
        self._done += n
        now = time.monotonic()
        while self._marks and self._marks[0][0] <= self._done:
            self.stats.lags.append(now - self._marks.popleft()[1])

    async def close(self, timeout_s: float = 5.0) -> None:
        """Stop: everything pending goes to the spool; what the sink takes within `timeout_s`
        leaves it, the rest stays for the next start."""
        self._closing = True
        self._wake.set()
        self._spooled.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        if self._tasks:
            _done, late = await asyncio.wait(self._tasks, timeout=timeout_s / 2)
            for t in late:
                t.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self.flush()
        while self.spool.depth and loop.time() < deadline and await self.drain_once():
            pass
        if self.spool.depth:
            log.warning("%d points stay in the spool %s for the next start", self.spool.depth, self.spool.path)
        await asyncio.to_thread(self.spool.close)
        await asyncio.to_thread(self.sink.close)
