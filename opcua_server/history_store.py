"""How history is stored: one bounded queue drained by a single writer in batches, runs
kept apart, timestamps read back (the asyncua storage that uses them is `_asyncua.history`).

asyncua's SQLite history starts one task per historized change and commits every value on
its own; at a high time factor the tasks pile up faster than SQLite commits them and memory
grows without bound. Here changes and events go into one bounded queue (`history_queue_size`)
that a single writer drains in batches (`history_batch_size` per transaction). When the
queue is full, new values are skipped, counted (`skipped`) and logged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

_SKIP_LOG_EVERY_S = 10.0
RUN_KEYS = {"wall": 1, "plant": 2}
"""PRAGMA user_version of a history database: what its timestamps are."""

Item = tuple[str, Any, Any]
"""("value" or "event", node id, DataValue or event)."""


def _timestamp(raw: bytes) -> datetime:
    return datetime.fromisoformat(raw.decode())


def install() -> None:
    """Process-wide: sqlite3's default "timestamp" converter cannot read a time zone without
    microseconds ("2026-01-05 02:00:45+00:00"), which plant-time stamps produce on whole
    seconds; reading history needs this one."""
    sqlite3.register_converter("timestamp", _timestamp)


def keep_runs_apart(path: Path, timestamps: str) -> None:
    """History never mixes runs: wall-clock keys never overlap, so a database of
    wall-clock stamps is continued; plant time restarts at the plant epoch every run, so
    with plant stamps (and for a database of another kind) the previous database is moved
    to `history.previous.sqlite` and a new one started."""
    if not path.exists():
        return
    with contextlib.closing(sqlite3.connect(path)) as db:
        kind = db.execute("PRAGMA user_version").fetchone()[0]
    if timestamps == "plant" or kind != RUN_KEYS["wall"]:
        previous = path.with_name(f"{path.stem}.previous{path.suffix}")
        log.info("history: %s kept as %s (%s)", path, previous,
                 "plant-time stamps restart every run" if timestamps == "plant" else "not wall-clock stamps")
        path.replace(previous)


class HistoryQueue:
    """Values and events waiting to be written, at most `queue_size`; `run()` writes them
    with `write(batch)`, at most `batch_size` per call."""

    def __init__(self, queue_size: int, batch_size: int, write: Callable[[list[Item]], Awaitable[None]]) -> None:
        self.queue_size = queue_size
        self.batch_size = batch_size
        self._write = write
        self._pending: deque[Item] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.written = 0
        self.skipped = 0
        self._skipped_logged = 0
        self._skip_logged_at = 0.0

    def __len__(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        while self._pending or not self._idle.is_set():
            self._wake.set()
            await self._idle.wait()
            await asyncio.sleep(0)

    def put(self, item: Item) -> None:
        if len(self._pending) >= self.queue_size:
            self.skipped += 1
            now = time.monotonic()
            if now - self._skip_logged_at >= _SKIP_LOG_EVERY_S:
                log.warning("history: queue full (%d), %d values and events skipped so far (%d since the last report)",
                            self.queue_size, self.skipped, self.skipped - self._skipped_logged)
                self._skip_logged_at, self._skipped_logged = now, self.skipped
            return
        self._pending.append(item)
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._idle.clear()
            try:
                while self._pending:
                    batch = [self._pending.popleft() for _ in range(min(self.batch_size, len(self._pending)))]
                    try:
                        await self._write(batch)
                    except (aiosqlite.Error, sqlite3.Error) as e:
                        log.error("history: %d values and events not written: %s", len(batch), e)
                    else:
                        self.written += len(batch)
            finally:
                self._idle.set()
