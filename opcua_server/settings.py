"""Settings of the OPC UA server, from environment variables (PLANT_OPCUA_*, PLANT_DATA_DIR)
and the `[opcua]` table of an optional TOML file. Every default works on a fresh machine."""

from __future__ import annotations

from pathlib import Path

from typing import ClassVar

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from plc_sim.model.config import PartSettings


class ServerSettings(PartSettings):
    model_config = SettingsConfigDict(env_prefix="PLANT_OPCUA_", extra="forbid")
    toml_table: ClassVar[str] = "opcua"

    host: str = "127.0.0.1"
    port: int = Field(default=4840, ge=0, le=65535)
    data_dir: Path = Field(default=Path("data"), validation_alias=AliasChoices("PLANT_DATA_DIR", "data_dir"))
    namespace_uri: str = "urn:plant-twin:plant"
    application_uri: str = "urn:plant-twin:opcua-server"
    allow_none_policy: bool = False
    """The unencrypted None policy. Off by default; on only in `plant up`'s local demo profile."""
    trust_all_clients: bool = False
    """Accept any client certificate (local demos). Off: only certificates in
    <data_dir>/pki/trusted are accepted for Sign and SignAndEncrypt."""
    allow_anonymous: bool = True
    """Anonymous sessions, which are viewers at most (read, browse, subscribe)."""

    # Resource limits, each against one way a client can exhaust the server.
    max_sessions: int = Field(default=50, ge=1)
    """Sessions: a client opening session after session until memory or sockets run out."""
    max_subscriptions: int = Field(default=200, ge=1)
    """Client subscriptions, server-wide: each costs a publish loop and notification queues."""
    max_monitored_items: int = Field(default=50_000, ge=1)
    """Monitored items per subscription: each costs a sampling slot and a queue per change."""
    max_message_size: int = Field(default=16 * 1024 * 1024, ge=8192)
    """Message size in bytes: one huge request or response exhausting memory."""
    session_timeout_s: float = Field(default=600.0, ge=5.0)
    """Longest session timeout granted: abandoned sessions keep their subscriptions alive."""

    history_count: int = Field(default=10_000, ge=1)
    """Values (and events) kept per historized node: the history database stays bounded."""
