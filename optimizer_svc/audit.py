"""The audit log: one JSON line per optimisation run (time, snapshot, problem, algorithm,
objectives before and after with intervals, values written, outcome and why)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plc_sim.model.private_files import private_file


class AuditLog:
    """Append-only JSON lines, flushed and synced per record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        """Called with each record once it is on disk (the metrics), in the recording thread."""

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        line = {"time": datetime.now(UTC).isoformat(timespec="seconds"), **entry}
        with self._lock, private_file(self.path).open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        for fn in self.listeners:
            fn(line)
        return line

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(x) for x in self.path.read_text(encoding="utf-8").splitlines() if x.strip()]
