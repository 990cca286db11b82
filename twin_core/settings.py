"""Settings of the twin, from keyword overrides, environment variables (PLANT_TWIN_*,
PLANT_DATA_DIR), the `[twin]` table of an optional TOML file, then the defaults. Every
default works on a fresh machine with a local `plant up`."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

import plant_tags as tags
from plc_sim.model.config import PartSettings


class TwinSettings(PartSettings):
    model_config = SettingsConfigDict(env_prefix="PLANT_TWIN_", extra="forbid")
    toml_table: ClassVar[str] = "twin"

    endpoint: str = "opc.tcp://127.0.0.1:4840/plant"
    data_dir: Path = Field(default=Path("data/twin"), validation_alias=AliasChoices("PLANT_TWIN_DATA_DIR", "data_dir"))
    """Own certificate (pki/), spool, embedded history database, health file."""
    plant: str = "gear_line"
    """Plant file (bundled name or path) the discovered address space is matched against."""
    root: str = tags.key(tags.ROOT)
    """Browse path of the folder holding the line object; each element may carry `ns:` or not."""
    match_plant: bool = True
    """Refuse a server that lacks the plant file's tags (off: mirror whatever is found or mapped)."""
    mapping_file: Path | None = None
    """TOML `[tags]` table of tag path -> NodeId string, for servers laid out differently."""

    # security
    security_policy: Literal["Basic256Sha256", "Aes256_Sha256_RsaPss"] = "Basic256Sha256"
    security_mode: Literal["SignAndEncrypt", "Sign"] = "SignAndEncrypt"
    allow_none: bool = False
    """Connect unencrypted, but only when the endpoint offers nothing else."""
    pin_server_certificate: bool = True
    """Trust on first use: the server's certificate is kept at the first connection
    (<data dir>/pki/servers) and a different one later is refused until the file is removed."""
    username: str | None = None
    password: str | None = None
    application_uri: str = "urn:plant-twin:twin"
    request_timeout_s: float = Field(default=10.0, gt=0)

    # subscription
    publishing_ms: float = Field(default=100.0, gt=0)
    sampling_ms: float = Field(default=50.0, ge=0)
    queue_size: int = Field(default=10, ge=1)
    """Server-side queue per monitored item: changes between two publishes are kept, not merged."""
    deadband_abs: float = Field(default=0.0, ge=0)
    """Absolute deadband on analog (Double) tags; 0 = every change."""
    max_items_per_call: int = Field(default=1000, ge=1)
    """Upper bound per Read/CreateMonitoredItems call; the server's OperationLimits may lower it."""
    event_queue_size: int = Field(default=1000, ge=1)
    client_queue_size: int = Field(default=200_000, ge=1)
    """Notifications asyncua may hold for the mirror (about 1 kB each in memory); an overflow
    forces a reconnect and a marked gap (counted in the mirror's overflows, logged)."""

    # reconnect
    reconnect_min_s: float = Field(default=0.2, gt=0)
    reconnect_max_s: float = Field(default=10.0, gt=0)

    # historian
    sink: Literal["sqlite", "influx"] = "sqlite"
    """`sqlite`: the embedded file database in the data dir; `influx`: an InfluxDB v2 write API."""
    influx_url: str = "http://127.0.0.1:8086"
    influx_token: str = ""
    influx_org: str = "plant"
    influx_bucket: str = "plant"
    numeric_only: bool = False
    """Send numeric fields only (VictoriaMetrics turns strings into 0): strings are dropped, booleans become 0/1."""
    batch_size: int = Field(default=5000, ge=1)
    flush_interval_s: float = Field(default=0.2, gt=0)
    spool_max_points: int = Field(default=5_000_000, ge=1)
    """Points the disk spool holds while the sink is away; beyond, new points are dropped (counted, logged)."""
    pending_max_points: int = Field(default=200_000, ge=1)
    """Points held in memory before they reach the spool."""
    sink_retry_min_s: float = Field(default=0.2, gt=0)
    sink_retry_max_s: float = Field(default=5.0, gt=0)

    # health
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    """Prometheus metrics on loopback; 0 = off."""
    health_log_s: float = Field(default=30.0, gt=0)
