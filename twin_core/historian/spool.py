"""The durable spool: every point goes here first and leaves only once the sink has it.
A SQLite file in WAL mode (synchronous=NORMAL survives a killed process); rows are read and
deleted in insertion order, so replays keep their order, also across a twin restart. Bounded
by `max_points`: when full, new points are dropped, counted and logged loudly."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from .sink import Point

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, path: Path, max_points: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_points = max_points
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, p TEXT NOT NULL)")
        self._lock = threading.Lock()
        self.depth = int(self._db.execute("SELECT COUNT(*) FROM spool").fetchone()[0])
        self.dropped = 0
        if self.depth:
            log.info("spool %s holds %d points from before; they are replayed first", path, self.depth)

    def append(self, points: list[Point]) -> int:
        """Store `points` (in order); returns how many were dropped because the spool is full."""
        with self._lock:
            room = max(self.max_points - self.depth, 0)
            keep, lost = points[:room], len(points) - min(room, len(points))
            if keep:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT INTO spool (p) VALUES (?)", [(p.to_json(),) for p in keep])
                self._db.execute("COMMIT")
                self.depth += len(keep)
            if lost:
                self.dropped += lost
                log.error("SPOOL FULL (%d points): dropped %d new points, %d dropped in all",
                          self.max_points, lost, self.dropped)
            return lost

    def peek(self, n: int) -> tuple[int, list[Point]]:
        """The oldest `n` points and the id of the last of them (0 when empty)."""
        with self._lock:
            rows = self._db.execute("SELECT id, p FROM spool ORDER BY id LIMIT ?", (n,)).fetchall()
        if not rows:
            return 0, []
        return rows[-1][0], [Point.from_json(r[1]) for r in rows]

    def remove_through(self, last_id: int) -> int:
        """Forget the points up to `last_id` (the sink has them)."""
        with self._lock:
            cur = self._db.execute("DELETE FROM spool WHERE id <= ?", (last_id,))
            self.depth -= cur.rowcount
            return cur.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
