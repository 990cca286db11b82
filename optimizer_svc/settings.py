"""Settings of the optimizer service (PLANT_OPTIMIZER_*, the `[optimizer]` table)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from plc_sim.model.config import PartSettings

DEFAULT_STEPS = {"speed": 10.0, "standby": 0.5, "off_shift": 1.0, "dispatch": 0.5, "K": 2.0, "C": 2.0, "shift": 0.0,
                 "maint_policy": 1.0}
"""Rate-of-change limits per kind of decision and run (0: the service never changes it)."""


class JobSettings(BaseModel):
    """One scheduled optimisation: a problem, a solver, a budget and a trigger (an interval
    in seconds or a crontab expression)."""

    model_config = ConfigDict(extra="forbid")

    name: str = "setpoints"
    problem: Literal["setpoints", "cards", "maintenance"] = "setpoints"
    algorithm: Literal["GA", "PSO", "DE", "ES", "NSGA2", "scipy"] = "GA"
    interval_s: float | None = Field(default=None, gt=0)
    """Seconds between runs (3600 when no cron is given)."""
    cron: str | None = None
    reps: int = Field(default=4, ge=1)
    verify_reps: int = Field(default=30, ge=2)
    hours: float = Field(default=336.0, gt=0)
    warmup: float = Field(default=168.0, ge=0)
    seed: int = 1
    budget_s: float = Field(default=30.0, gt=0)
    generations: int = Field(default=10, ge=1)
    pop_size: int = Field(default=10, ge=2)
    kinds: list[str] | None = None
    machines: list[str] | None = None

    @model_validator(mode="after")
    def _one_trigger(self) -> JobSettings:
        if self.interval_s is not None and self.cron is not None:
            raise ValueError("a job has an interval_s or a cron trigger, not both")
        if self.interval_s is None and self.cron is None:
            self.interval_s = 3600.0
        return self


class OptimizerSettings(PartSettings):
    """Where the plant is, who the optimizer is, what it optimises and how carefully."""

    model_config = SettingsConfigDict(env_prefix="PLANT_OPTIMIZER_", extra="forbid")
    toml_table: ClassVar[str] = "optimizer"

    server_url: str = "opc.tcp://127.0.0.1:4840/plant"
    namespace_uri: str = "urn:plant-twin:plant"
    username: str = "optimizer"
    """A user of the server with the engineer role (`plant users add optimizer --role engineer`)."""
    password: SecretStr = SecretStr("")
    security: Literal["SignAndEncrypt", "None"] = "SignAndEncrypt"
    """Basic256Sha256 SignAndEncrypt with the optimizer's own certificate, or None (demos)."""
    allow_none_fallback: bool = False
    """Connect without security when the secure channel fails (never by default)."""
    application_uri: str = "urn:plant-twin:optimizer"
    data_dir: Path = Path("data/optimizer")
    """The optimizer's certificate (pki/own), its audit log (audit.jsonl)."""
    mode: Literal["autonomous", "advisory"] = "autonomous"
    """autonomous: write verified setpoints; advisory: publish them as a recommendation
    (Recommendations/Recommend) that an operator applies or dismisses."""
    timeout_s: float = Field(default=10.0, gt=0)
    readback_timeout_s: float = Field(default=10.0, gt=0)
    holdoff_s: float = Field(default=1800.0, ge=0)
    """Wall seconds a setpoint changed by anyone other than the optimizer is left alone: the
    optimizer proposes nothing for it until then (0: no hold-off). docs/optimizer.md."""

    plant: str = "gear_line"
    """The plant file: its model, with the twin's estimates when forecasting from a snapshot."""
    twin_dir: Path | None = None
    """The twin's data directory: forecasts start from its snapshot.json (the plant's observed
    state and estimated parameters); None: from the plant file, empty and warmed up."""
    snapshot_max_age_s: float = Field(default=60.0, gt=0)
    """A run whose twin snapshot is older is skipped (the twin rewrites it every 5 s)."""
    model: str | None = None
    scenario: int | None = None
    sets: list[str] = []

    workers: int = Field(default=2, ge=1)
    dask_scheduler: str | None = None
    """Address of a dask.distributed scheduler to evaluate on (default: the local process pool)."""
    alpha: float = Field(default=0.05, gt=0, lt=1)
    margin: float = Field(default=0.0, ge=0)
    """Minimum improvement per replication (in objective units) the paired test must show."""
    steps: dict[str, float] = dict(DEFAULT_STEPS)
    weights: tuple[float, float, float] | None = None
    """w1, w2, w3 of Z = w1*C + w2*E + w3*D (default: the plant file's)."""
    jobs: list[JobSettings] = [JobSettings(name="cards", problem="cards")]
    """The default fits the default plant (the gear line has no seed-000 objectives)."""
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=0, ge=0, le=65535)
    """Prometheus metrics (docs/metrics.md) on this port; 0 = off (the default: several optimizers
    may run on one machine, one per plant)."""
