"""The durable spool: every point goes here first and leaves only once the sink has it.
A SQLite file in WAL mode (synchronous=NORMAL survives a killed process); one row per batch
appended (a JSON array of points: one insert and one parse per batch, not per point); rows are
read and deleted in insertion order, so replays keep their order, also across a twin
restart. Bounded by `max_points`: when full, new points are dropped, counted and logged loudly."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path

from plc_sim.model.private_files import private_file

from .sink import Point

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, path: Path, max_points: int) -> None:
        private_file(path)  # 0600 before SQLite opens it: its WAL and shared-memory files take its mode
        self.path = path
        self.max_points = max_points
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL, "
                         "body TEXT NOT NULL)")
        self._lock = threading.Lock()
        self.depth = int(self._db.execute("SELECT COALESCE(SUM(n), 0) FROM spool").fetchone()[0])
        self.dropped = 0
        if self.depth:
            log.info("spool %s holds %d points from before; they are replayed first", path, self.depth)

    def append(self, points: list[Point]) -> int:
        """Store `points` (in order); returns how many were dropped because the spool is full."""
        with self._lock:
            room = max(self.max_points - self.depth, 0)
            keep, lost = points[:room], len(points) - min(room, len(points))
            if keep:
                body = json.dumps([[p.measurement, p.tags, p.fields, p.time_ns] for p in keep], separators=(",", ":"))
                self._db.execute("INSERT INTO spool (n, body) VALUES (?, ?)", (len(keep), body))
                self.depth += len(keep)
            if lost:
                self.dropped += lost
                log.error("SPOOL FULL (%d points): dropped %d new points, %d dropped in all",
                          self.max_points, lost, self.dropped)
            return lost

    def peek(self, n: int) -> tuple[int, list[Point]]:
        """The oldest batches, at least one and about `n` points, and the id of the last batch
        (0 when empty)."""
        out: list[Point] = []
        last = 0
        with self._lock:
            for row_id, body in self._db.execute("SELECT id, body FROM spool ORDER BY id"):
                out += [Point(m, t, f, ts) for m, t, f, ts in json.loads(body)]
                last = row_id
                if len(out) >= n:
                    break
        return last, out

    def remove_through(self, last_id: int) -> int:
        """Forget the batches up to `last_id` (the sink has them); returns the points removed."""
        with self._lock:
            n = int(self._db.execute("SELECT COALESCE(SUM(n), 0) FROM spool WHERE id <= ?", (last_id,)).fetchone()[0])
            self._db.execute("DELETE FROM spool WHERE id <= ?", (last_id,))
            self.depth -= n
            return n

    def close(self) -> None:
        with self._lock:
            self._db.close()
