"""The embedded sink: a local SQLite file. No server to install or keep running, in the
standard library, one file to copy or delete, and good for ten thousands of points per
second in batches; the right default for a single twin on one machine. For long retention,
dashboards or several twins, configure InfluxDB instead."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path

from plc_sim.model.private_files import private_file

from .sink import FieldValue, Point, SinkError

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    measurement TEXT NOT NULL,
    tags TEXT NOT NULL,
    time_ns INTEGER NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (measurement, tags, time_ns)
) WITHOUT ROWID;
"""
TAG_KEYS_CACHED = 100_000
"""Serialised tag sets kept (one per series); beyond, the cache starts over (counted, logged)."""


def tag_key(tags: dict[str, str]) -> str:
    return json.dumps(tags, sort_keys=True, separators=(",", ":"))


class SqliteSink:
    """One row per point: (measurement, tags, time) -> fields as JSON. INSERT OR REPLACE
    keeps replays idempotent (the same measurement, tags and time overwrite)."""

    name = "sqlite"

    def __init__(self, path: Path) -> None:
        private_file(path)  # 0600 before SQLite opens it: its WAL and shared-memory files take its mode
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._keys: dict[tuple[tuple[str, str], ...], str] = {}
        self.key_cache_resets = 0

    def _key(self, tags: dict[str, str]) -> str:
        k = tuple(tags.items())
        key = self._keys.get(k)
        if key is None:
            if len(self._keys) >= TAG_KEYS_CACHED:
                self.key_cache_resets += 1
                log.warning("tag-key cache full (%d series): cleared, %d times", TAG_KEYS_CACHED,
                            self.key_cache_resets)
                self._keys.clear()
            key = self._keys[k] = tag_key(tags)
        return key

    def write(self, points: list[Point]) -> None:
        dumps = json.dumps
        rows = [(p.measurement, self._key(p.tags), p.time_ns, dumps(p.fields, separators=(",", ":"))) for p in points]
        try:
            with self._lock:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
        except sqlite3.Error as e:
            raise SinkError(f"sqlite: {e}") from e

    def points(self, measurement: str, tags: dict[str, str],
               since_ns: int | None = None) -> list[tuple[int, dict[str, FieldValue]]]:
        """(time_ns, fields) of one series, oldest first."""
        q = "SELECT time_ns, fields FROM points WHERE measurement=? AND tags=?"
        args: list[object] = [measurement, tag_key(tags)]
        if since_ns is not None:
            q += " AND time_ns >= ?"
            args.append(since_ns)
        with self._lock:
            rows = list(self._db.execute(q + " ORDER BY time_ns", args))
        return [(t, json.loads(f)) for t, f in rows]

    def series(self, measurement: str, tags: dict[str, str], field: str,
               since_ns: int | None = None) -> list[tuple[int, FieldValue]]:
        """(time_ns, value) of one field of one series, oldest first (points without it left out)."""
        return [(t, f[field]) for t, f in self.points(measurement, tags, since_ns) if field in f]

    def last_time(self, measurement: str, tags: dict[str, str]) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT MAX(time_ns) FROM points WHERE measurement=? AND tags=?",
                                   (measurement, tag_key(tags))).fetchone()
        return row[0] if row else None

    def tag_sets(self, measurement: str) -> list[dict[str, str]]:
        """The tag sets of every series of `measurement` (e.g. every historized tag path)."""
        with self._lock:
            rows = list(self._db.execute("SELECT DISTINCT tags FROM points WHERE measurement=?", (measurement,)))
        return [json.loads(r[0]) for r in rows]

    def all_points(self, measurement: str, since_ns: int, until_ns: int) -> list[tuple[int, dict[str, FieldValue]]]:
        """(time_ns, fields) of every series of `measurement` in [since_ns, until_ns], oldest first."""
        with self._lock:
            rows = list(self._db.execute("SELECT time_ns, fields FROM points WHERE measurement=? AND time_ns >= ? "
                                         "AND time_ns <= ? ORDER BY time_ns", (measurement, since_ns, until_ns)))
        return [(t, json.loads(f)) for t, f in rows]

    def last_before(self, measurement: str, time_ns: int) -> int | None:
        """The time of the newest point of `measurement` (any series) before `time_ns`."""
        with self._lock:
            row = self._db.execute("SELECT MAX(time_ns) FROM points WHERE measurement=? AND time_ns < ?",
                                   (measurement, time_ns)).fetchone()
        return row[0] if row else None

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
