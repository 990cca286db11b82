"""Settings of the web view, from keyword overrides, environment variables (PLANT_WEB_*),
the `[web]` table of an optional TOML file, then the defaults."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from plc_sim.model.config import PartSettings


class WebSettings(PartSettings):
    model_config = SettingsConfigDict(env_prefix="PLANT_WEB_", extra="forbid")
    toml_table: ClassVar[str] = "web"

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    """0 binds a free port (tests); the bound one is in `WebServer.url`."""
    push_interval_s: float = Field(default=0.5, gt=0)
    """How often the state is sent to the open pages (one snapshot serialised once for all)."""
    max_clients: int = Field(default=32, ge=1)
    """Open event streams at most: each holds a queue and a socket, so a crowd of tabs (or a
    script opening streams in a loop) cannot grow the process; the one over is refused (503)."""
    client_queue: int = Field(default=8, ge=1)
    """Messages waiting for one stream at most. A client that reads slower than the plant
    changes (a stalled tab, a slow link) is dropped when its queue is full, and counted,
    so it never holds memory or the loop that runs the PLC scan."""
    max_connections: int = Field(default=64, ge=2)
    """HTTP connections and requests in progress at once (uvicorn's limit_concurrency): a script
    opening sockets in a loop is answered 503 before any work, instead of growing the process."""
    header_timeout_s: float = Field(default=10.0, gt=0)
    """A connection that has not sent a whole request head this long after it opened is closed
    (uvicorn itself waits forever): idle sockets cannot fill `max_connections` (slowloris)."""
    body_timeout_s: float = Field(default=10.0, gt=0)
    """A request body (a login, an action) not received within this is refused with 408."""
    max_sessions: int = Field(default=16, ge=1)
    """Logged-in users at once: each holds an OPC UA session on the plant's server; a login
    over the limit is refused (503) rather than evicting someone."""
    session_idle_s: float = Field(default=1800.0, gt=0)
    """A session unused this long is closed (its OPC UA session too)."""
    max_body_bytes: int = Field(default=16_384, ge=256)
    """The largest request body (a login or an action is a few hundred bytes)."""
    history_max_points: int = Field(default=2000, ge=10)
    """Points of one trend sent at most (longer series are thinned evenly)."""
    runs_shown: int = Field(default=20, ge=1)
    """Optimizer runs read from the end of the audit log."""
    events_shown: int = Field(default=50, ge=1)
    """Recent events sent to the page."""
    max_reads: int = Field(default=2, ge=1)
    """History and audit-log reads at once (each a thread reading a file): a page polling in a
    loop cannot take every worker thread; a read over the limit waits its turn."""
