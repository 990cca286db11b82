"""The embedded sink: a local SQLite file. No server to install or keep running, in the
standard library, one file to copy or delete, and good for ten thousands of points per
second in batches; the right default for a single twin on one machine. For long retention,
dashboards or several twins, configure InfluxDB instead."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from .sink import Point, SinkError

SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    measurement TEXT NOT NULL,
    tags TEXT NOT NULL,
    field TEXT NOT NULL,
    time_ns INTEGER NOT NULL,
    num REAL,
    text TEXT,
    PRIMARY KEY (measurement, tags, field, time_ns)
) WITHOUT ROWID;
"""


def tag_key(tags: dict[str, str]) -> str:
    return json.dumps(tags, sort_keys=True, separators=(",", ":"))


class SqliteSink:
    """Rows of (measurement, tags, field, time) -> value; INSERT OR REPLACE keeps replays idempotent."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def write(self, points: list[Point]) -> None:
        rows = []
        for p in points:
            key = tag_key(p.tags)
            for f, v in p.fields.items():
                num, text = (None, v) if isinstance(v, str) else (float(v), None)
                rows.append((p.measurement, key, f, p.time_ns, num, text))
        try:
            with self._lock:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
        except sqlite3.Error as e:
            raise SinkError(f"sqlite: {e}") from e

    def series(self, measurement: str, tags: dict[str, str], field: str,
               since_ns: int | None = None) -> list[tuple[int, float | str | None]]:
        """(time_ns, value) of one field of one series, oldest first."""
        q = "SELECT time_ns, COALESCE(num, text) FROM points WHERE measurement=? AND tags=? AND field=?"
        args: list[object] = [measurement, tag_key(tags), field]
        if since_ns is not None:
            q += " AND time_ns >= ?"
            args.append(since_ns)
        with self._lock:
            return list(self._db.execute(q + " ORDER BY time_ns", args))

    def last_time(self, measurement: str, tags: dict[str, str]) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT MAX(time_ns) FROM points WHERE measurement=? AND tags=?",
                                   (measurement, tag_key(tags))).fetchone()
        return row[0] if row else None

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
