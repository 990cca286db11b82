"""asyncua's SQLite history, writing through `history_store.HistoryQueue` (bounded, batched),
with table names safe for string NodeIds and events bounded by count."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import OrderedDict
from pathlib import Path
from typing import Any

import aiosqlite
from asyncua import Node, ua
from asyncua.common.subscription import DataChangeEvent, OpcEvent, Subscription
from asyncua.server.history_sql import HistorySQLite
from asyncua.ua.ua_binary import variant_to_binary

from plc_sim.model.private_files import private_file

from ..history_store import RUN_KEYS, HistoryQueue, Item, keep_runs_apart

log = logging.getLogger(__name__)

_RECENT_IDS = 4096
"""EventIds remembered to store an event once although each notifier above its source reports it."""


class HistoryFeed(Subscription):
    """asyncua's internal history subscription, feeding the storage's queue directly (asyncua
    starts a task per notification for a subscription handler; here nothing is started)."""

    def __init__(self, session: Any, storage: PlantHistory) -> None:
        params = ua.CreateSubscriptionParameters()
        params.RequestedPublishingInterval = 10
        params.RequestedLifetimeCount = 3000
        params.RequestedMaxKeepAliveCount = 10000
        params.MaxNotificationsPerPublish = 0
        params.PublishingEnabled = True
        params.Priority = 0
        super().__init__(session, params, handler=self)
        self.storage = storage

    def _deliver(self, event: Any) -> None:
        if isinstance(event, DataChangeEvent):
            self.storage.enqueue_value(event.node.nodeid, event.data.monitored_item.Value)
        elif isinstance(event, OpcEvent):
            self.storage.enqueue_event(event.event)


class PlantHistory(HistorySQLite):
    """asyncua's SQLite history with a bounded, batched writer, table names safe for string
    NodeIds like 'Plant/Line/Station/Machine/Tag', and events bounded by count."""

    def __init__(self, path: str, queue_size: int, batch_size: int, timestamps: str = "wall") -> None:
        super().__init__(path)
        self.timestamps = timestamps
        self.queue = HistoryQueue(queue_size, batch_size, self._write)
        self._task: asyncio.Task | None = None
        self._event_counts: dict[ua.NodeId, int] = {}
        self._event_types: dict[ua.NodeId, set[ua.NodeId]] = {}
        self._recent_ids: OrderedDict[Any, None] = OrderedDict()

    @property
    def written(self) -> int:
        return self.queue.written

    @property
    def skipped(self) -> int:
        return self.queue.skipped

    @property
    def db(self) -> aiosqlite.Connection:
        """The open database, for the project's HistoryRead (`history_service`)."""
        assert self._db is not None, "init() opens it"
        return self._db

    def historized(self, node_id: ua.NodeId) -> bool:
        return node_id in self._datachanges_period

    def table_name(self, node_id: ua.NodeId) -> str:
        return self._get_table_name(node_id)

    async def init(self) -> None:
        keep_runs_apart(Path(self._db_file), self.timestamps)
        private_file(Path(self._db_file))  # 0600 before SQLite creates it (and its journal) with the umask's mode
        await super().init()
        await self._db.execute(f"PRAGMA user_version = {RUN_KEYS[self.timestamps]}")
        await self._db.commit()
        self._task = asyncio.create_task(self.queue.run())

    async def stop(self, timeout_s: float = 2.0) -> None:
        """Write what is queued (within `timeout_s`), then close the database."""
        try:
            await asyncio.wait_for(self.queue.flush(), timeout=timeout_s)
        except TimeoutError:
            log.warning("history: %d values and events not written at shutdown", len(self.queue))
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        log.info("history: %d values and events written, %d skipped (queue full)", self.written, self.skipped)
        await super().stop()

    async def flush(self) -> None:
        await self.queue.flush()

    def _get_table_name(self, node_id: ua.NodeId) -> str:
        ident = str(node_id.Identifier)
        return f"{node_id.NamespaceIndex}_" + "".join(c if c.isalnum() else "_" for c in ident)

    async def _get_event_fields(self, evtypes: list[Node]) -> list[str]:
        """asyncua lists some AlarmConditionType fields twice; one column each."""
        return list(dict.fromkeys(await super()._get_event_fields(evtypes)))

    async def new_historized_event(self, source_id: ua.NodeId, evtypes: list[Node], period: Any,
                                   count: int = 0) -> None:
        self._event_counts[source_id] = count
        self._event_types[source_id] = {t.nodeid for t in evtypes}
        await super().new_historized_event(source_id, evtypes, period, count)

    # --- the queue ----------------------------------------------------------------------

    def enqueue_value(self, node_id: ua.NodeId, datavalue: ua.DataValue) -> None:
        self._enqueue(("value", node_id, datavalue))

    def enqueue_event(self, event: Any) -> None:
        """Only events of historized sources. Events arrive through asyncua's internal
        subscription, which labels every one as emitted by the Server object: the source
        node decides."""
        source = event.SourceNode
        if event.EventType not in self._event_types.get(source, ()):
            return
        event_id = event.EventId.Value if isinstance(event.EventId, ua.Variant) else event.EventId
        if event_id in self._recent_ids:  # the same event reported again at a notifier above its source
            return
        self._recent_ids[event_id] = None
        if len(self._recent_ids) > _RECENT_IDS:
            self._recent_ids.popitem(last=False)
        event.emitting_node = source
        self._enqueue(("event", source, event))

    async def save_node_value(self, node_id: ua.NodeId, datavalue: ua.DataValue) -> None:
        self.enqueue_value(node_id, datavalue)

    async def save_event(self, event: Any) -> None:
        self.enqueue_event(event)

    def _enqueue(self, item: Item) -> None:
        self.queue.put(item)

    # --- the writer ---------------------------------------------------------------------

    async def _write(self, batch: list[Item]) -> None:
        inserts: dict[str, list[tuple[Any, ...]]] = {}
        trims: dict[str, int] = {}
        for kind, node_id, item in batch:
            table = self._get_table_name(node_id)
            if kind == "value":
                sql, row = self._value_row(table, item)
                count = self._datachanges_period[node_id][1]
            else:
                sql, row = self._event_row(table, item)
                count = self._event_counts.get(node_id, 0)
            inserts.setdefault(sql, []).append(row)
            if count:
                trims[table] = count
        for sql, rows in inserts.items():
            await self._db.executemany(sql, rows)
        for table, count in trims.items():
            await self._db.execute(f'DELETE FROM "{table}" WHERE _Id <= '
                                   f'(SELECT _Id FROM "{table}" ORDER BY _Id DESC LIMIT 1 OFFSET ?)', (count,))
        await self._db.commit()

    @staticmethod
    def _value_row(table: str, dv: ua.DataValue) -> tuple[str, tuple[Any, ...]]:
        variant = dv.Value if dv.Value is not None else ua.Variant()
        row = (dv.ServerTimestamp, dv.SourceTimestamp, dv.StatusCode.value if dv.StatusCode else 0,
               str(variant.Value), variant.VariantType.name, sqlite3.Binary(variant_to_binary(variant)))
        return f'INSERT INTO "{table}" VALUES (NULL, ?, ?, ?, ?, ?, ?)', row

    def _event_row(self, table: str, event: Any) -> tuple[str, tuple[Any, ...]]:
        columns, placeholders, values = self._format_event(event)
        sql = (f'INSERT INTO "{table}" ("_Id", "_Timestamp", "_EventTypeName", {columns}) '
               f"VALUES (NULL, ?, ?, {placeholders})")
        return sql, (str(event.Time), str(event.EventType), *values)
