"""The twin's snapshot as the live service takes it: the newest `snapshot.json` of the twin's
data directory, refused when it is missing, stale, of another plant, or taken while the twin
was cut off from the plant (a decision forecast from an old state is not acted on)."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import ValidationError

from plc_sim.model.spec import PlantSpec
from twin_core.calibration import estimated_spec
from twin_core.snapshot import TwinSnapshot

from .forecast import SnapshotForecaster


class SnapshotUnusable(Exception):  # noqa: N818 (a reason to skip a run, not a fault)
    """Why a run cannot start from the twin's snapshot."""


def load_snapshot(twin_dir: Path, plant: str, max_age_s: float) -> tuple[TwinSnapshot, float]:
    """The snapshot and its age in seconds, or SnapshotUnusable with the reason."""
    path = twin_dir / "snapshot.json"
    try:
        snap = TwinSnapshot.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise SnapshotUnusable(f"no twin snapshot in {twin_dir} yet (is the twin running?)") from None
    except ValidationError as e:
        raise SnapshotUnusable(f"{path} is not a twin snapshot: {e.errors()[0]['msg']}") from None
    age = time.time() - snap.taken_at
    if age > max_age_s:
        raise SnapshotUnusable(f"the twin snapshot is {age:.0f} s old (at most {max_age_s:g} s)")
    if not snap.connected:
        raise SnapshotUnusable("the twin was not connected to the plant when it took the snapshot")
    if snap.plant != plant:
        raise SnapshotUnusable(f"the twin mirrors plant {snap.plant!r}, not {plant!r}")
    return snap, age


def snapshot_forecaster(base: PlantSpec, current_sets: list[str], snap: TwinSnapshot, age_s: float,
                        twin_dir: Path) -> SnapshotForecaster:
    """Forecasts from `snap`: the plant file with the twin's estimates, then the current setpoints
    as the run read them from the server (they win over the snapshot's observed card counts)."""
    obs = snap.to_observation()
    label = f"twin:{twin_dir / 'snapshot.json'}@plant_h={obs.calendar_h:.3f} (taken {age_s:.1f} s before)"
    return SnapshotForecaster.of(estimated_spec(base, snap.estimates), obs, label, current_sets)
