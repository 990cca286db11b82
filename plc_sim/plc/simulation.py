"""Simulation control: pause, resume, time factor, step to a plant hour, reset with a seed, and
named snapshots of the whole PLC state, for clients that test against the plant. The commands
(`commands.py`, folder Simulation) call these; the status tags show state, time factor, plant
time and seed.

Snapshots are JSON files, 0600, in `snapshot_dir` (the server sets it below its data
directory); a name is a plain file name, so no path leaves that folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import plant_tags as tags
from plc_sim.model.private_files import write_private

from .checks import Refusal, Rejected, clip
from .tags import Tag

if TYPE_CHECKING:
    from .runtime import PlcRuntime

STATES = ("running", "paused", "stepping")
NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_SNAPSHOTS = 64
"""Snapshots kept in the folder by default (the server's `max_snapshots`): a client saving in a
loop cannot fill the disk."""
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024
"""The largest snapshot file loaded back."""


class Simulation:
    """The simulation controls of one PLC."""

    def __init__(self, plc: PlcRuntime, snapshot_dir: Path | None = None) -> None:
        self.plc = plc
        self.snapshot_dir = snapshot_dir
        self.max_snapshots = MAX_SNAPSHOTS

    @property
    def state(self) -> str:
        if self.plc.hold_at_h is not None and not self.plc.held:
            return "stepping"
        return "paused" if self.plc.held else "running"

    def pause(self) -> str:
        self.plc.hold(True)
        return f"paused at plant hour {self.plc.calendar_h:g}"

    def resume(self) -> str:
        self.plc.hold(False)
        return f"running from plant hour {self.plc.calendar_h:g}"

    def set_time_factor(self, factor: float) -> str:
        self.plc.set_time_factor(factor or None)
        return f"time factor {factor:g}" + (" (as fast as possible)" if not factor else "")

    def step_to(self, hour: float) -> str:
        if hour < self.plc.calendar_h:
            raise Rejected(Refusal.OUT_OF_RANGE, f"plant hour {hour:g} has passed (now {self.plc.calendar_h:g}); "
                                                 "plant time does not go back (LoadSnapshot or Reset do)")
        if self.plc.release_to(hour):
            return f"stepping to plant hour {hour:g}"
        return f"paused at plant hour {hour:g}"

    def reset(self, seed: int) -> str:
        self.plc.reset(seed)
        return f"reset to plant hour {self.plc.calendar_h:g} with seed {seed}"

    def save(self, name: str) -> str:
        path = self._path(name)
        assert self.snapshot_dir is not None, "_path checks the folder"
        kept = {p.name for p in self.snapshot_dir.glob("*.json")} if self.snapshot_dir.exists() else set()
        if path.name not in kept and len(kept) >= self.max_snapshots:
            raise Rejected(Refusal.INVALID_STATE, f"{self.max_snapshots} snapshots are kept; save over one of them")
        write_private(path, json.dumps(self.plc.snapshot(), allow_nan=True))
        return f"snapshot {name} saved at plant hour {self.plc.calendar_h:g}"

    def load(self, name: str) -> str:
        path = self._path(name)
        try:
            if path.stat().st_size > MAX_SNAPSHOT_BYTES:
                raise Rejected(Refusal.INVALID_STATE, f"snapshot {name} is larger than {MAX_SNAPSHOT_BYTES} bytes")
            snap = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise Rejected(Refusal.INVALID_ARGUMENT, f"no snapshot {name}") from None
        except (OSError, ValueError) as e:
            raise Rejected(Refusal.INVALID_STATE, f"snapshot {name} cannot be read: {clip(e)}") from None
        try:
            self.plc.restore(snap)
        except (KeyError, TypeError, ValueError) as e:
            raise Rejected(Refusal.INVALID_STATE, f"snapshot {name} does not fit this plant: {clip(e)}") from None
        return f"snapshot {name} loaded: plant hour {self.plc.calendar_h:g}, seed {self.plc.seed}"

    def _path(self, name: str) -> Path:
        if not NAME_RE.fullmatch(name) or name.startswith("."):
            raise Rejected(Refusal.INVALID_ARGUMENT, f"snapshot name {clip(name, 80)!r}: letters, digits, '.', '_' "
                                                     "or '-', up to 64, not starting with '.'")
        if self.snapshot_dir is None:
            raise Rejected(Refusal.INVALID_STATE, "this PLC has no folder for snapshots")
        return self.snapshot_dir / f"{name}.json"

    def add_tags(self, line: str) -> None:
        """The Simulation folder's status tags."""
        table = self.plc.table
        table.add(Tag((line, tags.Folder.SIMULATION, tags.SimulationTag.STATE), "String", lambda: self.state,
                      description="running, paused or stepping (StepTo until its hour)"))
        table.add(Tag((line, tags.Folder.SIMULATION, tags.SimulationTag.TIME_FACTOR), "Double",
                      lambda: self.plc.time_factor or 0.0, "1", 0.0, None,
                      description="plant seconds per wall-clock second; 0 = as fast as possible"))
        table.add(Tag((line, tags.Folder.SIMULATION, tags.SimulationTag.PLANT_TIME), "Double", self.plc.calendar_hours, "h",
                      description="plant calendar hours"))
        table.add(Tag((line, tags.Folder.SIMULATION, tags.SimulationTag.SEED), "Int32", lambda: self.plc.seed, "", 0, None,
                      description="the random seed the plant runs with (Reset sets it)"))
