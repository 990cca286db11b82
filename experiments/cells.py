"""Finished cells of an experiment's design, kept on disk so that an interrupted run resumes
where it stopped. A cell is named by its parameters (any JSON-able mapping); its result is
JSON. A result is written whole (temporary file, then rename), so a run killed mid-write
leaves the cell missing, never half there."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


class CellCache:
    """Results of finished cells under `folder`, one JSON file each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.hits = 0
        """Cells answered from disk in this run (a resumed run reports how many it skipped)."""

    def key(self, params: Mapping[str, Any]) -> str:
        text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def get(self, params: Mapping[str, Any]) -> Any | None:
        path = self.folder / f"{self.key(params)}.json"
        if not path.exists():
            return None
        self.hits += 1
        return json.loads(path.read_text())["result"]

    def put(self, params: Mapping[str, Any], result: Any) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.key(params)}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"params": params, "result": result}, sort_keys=True, default=str))
        os.replace(tmp, path)

    def run(self, params: Mapping[str, Any], compute: Callable[[], Any]) -> Any:
        """The cell's cached result, or `compute()`'s, stored before it is returned."""
        found = self.get(params)
        if found is not None:
            return found
        result = compute()
        self.put(params, result)
        return result
