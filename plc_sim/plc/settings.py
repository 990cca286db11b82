"""Settings of the PLC (PLANT_PLC_*, the `[plc]` table)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from plc_sim.model.config import PartSettings


class PlcSettings(PartSettings):
    """What the PLC runs: which plant and variant, its seed, and how fast (PLANT_PLC_*, [plc])."""

    model_config = SettingsConfigDict(env_prefix="PLANT_PLC_", extra="forbid")
    toml_table: ClassVar[str] = "plc"

    plant: str = "gear_line"
    """A bundled plant name or the path of a plant TOML file."""
    model: str | None = None
    """BDOP, BSOP, HDOP or HSOP (plants with seed-004 control); None keeps the plant file's."""
    scenario: int | None = None
    """A Table-1 scenario of the plant file; None keeps the plant file's rates."""
    sets: list[str] = []
    """Policy or setpoint overrides, as `plant simulate --set` takes them."""
    seed: int = 1
    time_factor: float | None = Field(default=60.0, gt=0)
    """Plant seconds per wall second (60: a plant minute per second); None or "max": as fast
    as possible."""
    scan_s: float = Field(default=0.1, gt=0)
    """Scan period in wall seconds."""
    start_h: float | None = Field(default=None, ge=0)
    """Plant calendar hour to start at; None: the first hour a station is on shift (the gear
    line: Monday 06:00), so that a demo moves from its first second."""
    faults: Path | None = None
    """A fault script (TOML, docs/faults.md): faults at plant hours; None: none."""
    overrun_report_s: float = Field(default=60.0, ge=0)
    """At most one `scan_overrun` event (low severity, counting the overruns) per this many
    seconds: a slow machine flooding the event log."""
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=0, ge=0, le=65535)
    """Prometheus metrics of the PLC and its OPC UA server (`plant up`: of every part) on this
    port (docs/metrics.md); 0 = off, the default: a machine may run several PLCs."""

    @field_validator("time_factor", mode="before")
    @classmethod
    def _max(cls, v: object) -> object:
        return None if isinstance(v, str) and v.strip().lower() == "max" else v
