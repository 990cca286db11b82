"""Settings of the OPC UA server, from environment variables (PLANT_OPCUA_*, PLANT_DATA_DIR)
and the `[opcua]` table of an optional TOML file. Every default works on a fresh machine."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self

from pydantic import AliasChoices, Field, model_validator
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
    timestamps: Literal["wall", "plant"] = "wall"
    """Source timestamps and event times: "wall" (UTC wall clock at the scan that read the
    value, monotonic, never in the future: what historians expect), or "plant" (plant
    time, which runs ahead of the wall clock at a time factor above 1). Plant time is always
    in the PlantClock/PlantTime tags and in every event's PlantTime field."""
    allow_anonymous: bool = True
    """Anonymous sessions, which are viewers at most (read, browse, subscribe)."""

    # Resource limits, each against one way a client can exhaust the server.
    max_connections: int = Field(default=200, ge=1)
    """TCP connections, server-wide: sockets parked by one host until file descriptors run out.
    At the limit a new connection evicts the oldest one that has no activated session."""
    hello_timeout_s: float = Field(default=5.0, gt=0)
    """Seconds a new connection may take to send its Hello: idle sockets holding slots."""
    activation_timeout_s: float = Field(default=10.0, gt=0)
    """Seconds from connect (or CreateSession) to an activated session: connections and
    sessions opened and then left half-way, each holding a slot."""
    max_sessions: int = Field(default=50, ge=1)
    """Sessions: a client opening session after session until memory or sockets run out."""
    reserved_user_sessions: int = Field(default=5, ge=0)
    """Of `max_sessions`, the slots anonymous sessions never get: a user who logs in (the
    engineer) finds room while anonymous clients fill the rest. Less than `max_sessions`."""
    max_accepted_certificates: int = Field(default=100, ge=1)
    """Client certificates kept in <data_dir>/pki/accepted when `trust_all_clients` is on (the
    demo profile), the oldest removed first: a client presenting a new certificate at every
    connection filling the disk."""
    max_sessions_per_certificate: int = Field(default=10, ge=1)
    """Anonymous sessions opened with one client certificate (its thumbprint): one trusted
    client filling the server."""
    max_sessions_per_host: int = Field(default=20, ge=1)
    """Anonymous sessions from one peer address."""
    max_sessions_per_user: int = Field(default=10, ge=1)
    """Sessions of one user name: one password taking the slots kept for users."""
    max_subscriptions: int = Field(default=200, ge=1)
    """Client subscriptions, server-wide: each costs a publish loop and notification queues."""
    max_subscriptions_per_session: int = Field(default=20, ge=1)
    """Subscriptions of one session: one (even anonymous) session taking every subscription slot."""
    max_monitored_items: int = Field(default=50_000, ge=1)
    """Monitored items per subscription: each costs a sampling slot and a queue per change."""
    max_monitored_items_per_session: int = Field(default=10_000, ge=1)
    """Monitored items of one session over all its subscriptions (the plant has about 100 tags):
    one anonymous session creating 100,000 items, every change of their tag then fanned out
    to all of them. Beyond it each further item is BadTooManyMonitoredItems, before any work."""
    max_monitored_items_total: int = Field(default=100_000, ge=1)
    """Monitored items of all sessions: the server's memory for sampling slots and queues, and
    the data-change work of one scan (sessions of many hosts each at their own limit)."""
    notifications_per_slice: int = Field(default=200, ge=1)
    """Data-change notifications fanned out (and monitored items created) on the event loop
    before other clients are served: one scan's changes reaching 100,000 items, or one
    CreateMonitoredItems of 1,000 items, holding the loop while every other client waits."""
    max_notifications_per_publish: int = Field(default=1_000, ge=1)
    """Data-change notifications in one Publish response (the rest follow at the next publishing
    interval): 10,000 items on a changing tag making a response whose encoding holds the event
    loop about 120 ms at every publishing interval."""
    max_queue_size: int = Field(default=100, ge=1)
    """Queued notifications per monitored item (a client asking for queue size 0 gets this):
    a subscriber that stops publishing holding every change."""
    max_unacked_messages: int = Field(default=100, ge=1)
    """Notification messages kept per subscription for Republish until acknowledged: a
    client that never acknowledges."""
    max_message_size: int = Field(default=16 * 1024 * 1024, ge=8192)
    """Message size in bytes: one huge request or response exhausting memory."""
    max_chunk_size: int = Field(default=65535, ge=8192)
    """Chunk (transport buffer) size in bytes, the most we buffer of one chunk: a header
    claiming gigabytes. Clients negotiate it down in Hello, never below 8192."""
    max_pending_messages: int = Field(default=100, ge=1)
    """Parsed requests queued per connection behind the one being served: a pipelining client."""
    session_timeout_s: float = Field(default=600.0, ge=5.0)
    """Longest session timeout granted: abandoned sessions keep their subscriptions alive."""
    orphan_timeout_s: float = Field(default=30.0, ge=1.0)
    """Seconds a session with subscriptions outlives its lost connection (to be reactivated
    on a new one): orphans keeping the server full."""
    max_login_failures: int = Field(default=5, ge=1)
    """Wrong passwords per user name and per host within `login_window_s` before further
    attempts are refused without checking: password guessing."""
    max_password_length: int = Field(default=256, ge=16)
    """Longest user name and password accepted at login (longer: BadIdentityTokenInvalid,
    not hashed): megabyte passwords costing hashing time and log space."""
    login_window_s: float = Field(default=60.0, gt=0)
    """Window of `max_login_failures` (a refused host or name is free again after it)."""
    max_value_length: int = Field(default=4096, ge=16)
    """Longest string written to a tag; longer writes are refused, and refused values are cut to
    `max_logged_length` in the audit, events and history: one write filling memory and disk."""
    max_logged_length: int = Field(default=200, ge=16)
    """Characters of a refused value kept in the audit, the event message and history."""
    refusal_log_interval_s: float = Field(default=10.0, gt=0)
    """Refusals of one kind (a refused call, write, login, request) are logged once per this
    many seconds, the next line saying how many were left out: a client flooding the log."""

    max_nodes_per_read: int = Field(default=2_000, ge=1)
    """Nodes (attributes) in one Read: one request of 100,000 reads holding the event loop for
    seconds while every other client waits. More: BadTooManyOperations, nothing read."""
    max_nodes_per_write: int = Field(default=1_000, ge=1)
    """Nodes in one Write (each a PLC write and an audit line)."""
    max_nodes_per_browse: int = Field(default=500, ge=1)
    """Nodes in one Browse: browsing the whole address space in one request."""
    max_references_per_node: int = Field(default=1_000, ge=1)
    """References in one node's Browse result (fewer when the client asks for fewer); the rest
    behind a continuation point for BrowseNext: one node's thousands of references in one response."""
    max_browse_continuation_points: int = Field(default=10, ge=1)
    """Browse continuation points one session holds (more: BadNoContinuationPoints for the node):
    a client browsing and never continuing, each point holding references in memory."""
    max_paths_per_translate: int = Field(default=500, ge=1)
    """Paths in one TranslateBrowsePathsToNodeIds (100 paths x 1,000 elements held the loop 15 s)."""
    max_browse_path_elements: int = Field(default=32, ge=1)
    """Elements of one relative path (the plant's deepest is 5): a longer path's result is
    BadTooManyOperations, the request's other paths are answered."""
    max_nodes_per_call: int = Field(default=100, ge=1)
    """Methods in one Call: each may start PLC work."""
    max_monitored_items_per_call: int = Field(default=250, ge=1)
    """Monitored items in one CreateMonitoredItems: one request creating 100,000 sampling slots
    (decoding 1,000 items alone holds the loop about 20 ms of CPU, several times that on a
    loaded machine)."""
    max_nodes_per_history_read: int = Field(default=100, ge=1)
    """Nodes in one HistoryRead (data or events): a year over 1,000 nodes in one request."""
    max_history_values_per_response: int = Field(default=20_000, ge=1)
    """Values (or events) in one HistoryRead response, shared among its nodes; the rest comes
    with continuation points: a response too large to build or send (RSS 357 -> 929 MB)."""
    history_read_budget_ms: float = Field(default=500.0, ge=1.0)
    """Time one HistoryRead may take (rows decoded and intervals aggregated in slices, the loop
    serving others between them); what is not read by then comes with continuation points:
    a year over 100 nodes, or 10,000 intervals each over 10,000 values, keeping the
    history reader (and in slices the loop) busy for seconds."""
    min_publishing_interval_ms: float = Field(default=50.0, ge=1.0)
    """Shortest publishing interval granted (asked for less: revised to this): subscriptions
    at 1 ms each taking a share of the event loop."""
    min_sampling_interval_ms: float = Field(default=50.0, ge=1.0)
    """Shortest sampling interval granted to a monitored item (asked for less: revised to this)."""

    history_count: int = Field(default=10_000, ge=1)
    """Values (and events) kept per historized node: the history database stays bounded."""
    history_queue_size: int = Field(default=20_000, ge=100)
    """Values and events waiting to be written to history; when full, new ones are skipped,
    counted and logged: a time factor faster than SQLite filling memory."""
    history_batch_size: int = Field(default=2_000, ge=1)
    """Values and events written to SQLite in one transaction."""
    event_queue_size: int = Field(default=10_000, ge=100)
    """PLC events waiting to be published as OPC UA events; when full, new ones are skipped,
    counted and logged."""
    max_active_faults: int = Field(default=256, ge=1)
    """Faults active at once (docs/faults.md); the next is BadInvalidState: an engineer client
    injecting in a loop growing the PLC's memory and the work of every scan."""
    max_snapshots: int = Field(default=64, ge=1)
    """Simulation snapshots kept under <data dir>/snapshots; a new name beyond it is
    BadInvalidState (saving over one is allowed): a client saving in a loop filling the disk."""

    @model_validator(mode="after")
    def _reserve_fits(self) -> Self:
        if self.reserved_user_sessions >= self.max_sessions:
            raise ValueError(f"reserved_user_sessions ({self.reserved_user_sessions}) must be less than max_sessions "
                             f"({self.max_sessions}): anonymous sessions would get no slot")
        return self
