"""The mirror: one OPC UA session that discovers the plant, subscribes to every tag and to
the plant's events and alarm conditions, and keeps the observed state and the historian
fed. When the connection goes, it marks a gap, retries with backoff, rediscovers and
resubscribes on its own; a server that comes back with another plant is reported and not
mirrored until the expected plant is back."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asyncua import Client, ua
from asyncua.common.subscription import DataChangeEvent, OpcEvent, OverflowPolicy, Subscription

from plc_sim.model.spec import PlantSpec

from .discovery import DiscoveryError, Layout, Limits, chunks, discover, load_mapping, operation_limits
from .historian.historian import Historian
from .points import connection_point, event_point, gap_point, tag_point
from .security import SecurityRefusedError, secure_client
from .settings import TwinSettings
from .state import Observed, ObservedState, PlantEvent

log = logging.getLogger(__name__)

SEEN_EVENTS = 10_000
"""EventIds remembered to drop an event reported again at another notifier."""

_FIRST_HANDLE = 1 << 31
"""The client handles of the mirror's data-change items count up from here: asyncua's own
counter (for `subscribe_events`) starts at 200 in the same subscription, far below."""

class PlantChangedError(Exception):
    """The server came back with other tags than the plant the twin mirrors."""


@dataclass
class MirrorStats:
    notifications: int = 0
    events: int = 0
    duplicate_events: int = 0
    reconnects: int = 0
    overflows: int = 0
    problem: str = ""
    connected_since: float | None = None


class Mirror:
    def __init__(self, settings: TwinSettings, state: ObservedState, historian: Historian | None,
                 spec: PlantSpec | None) -> None:
        self.settings, self.state, self.historian, self.spec = settings, state, historian, spec
        self.stats = MirrorStats()
        self.layout: Layout | None = None
        self._paths: dict[ua.NodeId, str] = {}
        self._seen_events: dict[bytes | str, None] = {}
        """EventIds already handled, oldest first, at most SEEN_EVENTS of them."""
        self._lost = asyncio.Event()
        self._handles = itertools.count(_FIRST_HANDLE)
        self.ready = asyncio.Event()
        """Set while subscribed (tests and the daemon wait on it)."""
        self._mapping = load_mapping(settings.mapping_file) if settings.mapping_file else None
        self.listeners: list[Callable[[str, Observed], None]] = []
        """Called with every mirrored value (the calibration listens)."""

    async def run(self, stop: asyncio.Event) -> None:
        """Mirror until `stop` is set, reconnecting as often as needed."""
        delay = self.settings.reconnect_min_s
        while not stop.is_set():
            try:
                await self._session(stop)
                delay = self.settings.reconnect_min_s
            except PlantChangedError as e:
                self._lose(f"plant changed: {e}")
                self.stats.problem = str(e)
                log.error("NOT MIRRORING: %s", e)
            except (SecurityRefusedError, DiscoveryError) as e:
                self._lose(str(e))
                self.stats.problem = str(e)
                log.error("cannot mirror %s: %s", self.settings.endpoint, e)
            except (TimeoutError, OSError, ConnectionError, ua.UaError) as e:
                self._lose(f"{type(e).__name__}: {e}")
            except Exception as e:  # a bug or an unexpected asyncua failure must not end the mirroring
                log.exception("unexpected failure of the mirror session; reconnecting")
                self._lose(f"{type(e).__name__}: {e}")
            if stop.is_set():
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, self.settings.reconnect_max_s)
        self._lose("twin stopped")

    def _lose(self, reason: str) -> None:
        self.ready.clear()
        self.stats.connected_since = None
        if self.state.gaps and self.state.gaps[-1].end is None:
            return
        log.warning("observation of %s stopped: %s", self.settings.endpoint, reason)
        self.state.open_gap(time.time(), reason)
        if self.historian is not None:
            self.historian.add(connection_point(self.settings.endpoint, 0.0))

    def _recover(self) -> None:
        gap = self.state.close_gap(time.time())
        self.stats.problem = ""
        self.stats.connected_since = time.time()
        if gap is not None:
            self.stats.reconnects += 1
            log.info("observation resumed after a gap of %.1f s", (gap.end or gap.start) - gap.start)
            if self.historian is not None:
                self.historian.add(gap_point(self.settings.endpoint, gap))
        if self.historian is not None:
            self.historian.add(connection_point(self.settings.endpoint, 1.0))

    async def _session(self, stop: asyncio.Event) -> None:
        client = await secure_client(self.settings)
        self._lost.clear()
        client.connection_lost_callback = self._on_lost
        await client.connect()
        try:
            limits = await operation_limits(client, self.settings.max_items_per_call)
            layout = await discover(client, self.settings.root, self.spec, limits, self._mapping)
            self._check_same_plant(layout)
            sub = await self._subscribe(client, layout, limits)
            self._recover()
            self._take_initial(layout)
            self.ready.set()
            await self._consume(sub, stop)
        finally:
            self.ready.clear()
            with contextlib.suppress(OSError, ConnectionError, asyncio.TimeoutError, ua.UaError, AttributeError):
                await asyncio.wait_for(client.disconnect(), 2.0)

    async def _on_lost(self, exc: Exception) -> None:
        self._lost.set()

    def _check_same_plant(self, layout: Layout) -> None:
        if self.layout is not None and layout.signature() != self.layout.signature():
            old, new = self.layout.signature(), layout.signature()
            raise PlantChangedError(f"{len(old - new)} tags gone (e.g. {sorted(old - new)[:3]}), "
                                    f"{len(new - old)} new (e.g. {sorted(new - old)[:3]})")
        self.layout = layout
        self._paths = {nid: path for path, nid in layout.tags.items()}

    async def _subscribe(self, client: Client, layout: Layout, limits: Limits) -> Subscription:
        s = self.settings
        params = ua.CreateSubscriptionParameters(RequestedPublishingInterval=s.publishing_ms,
                                                 RequestedLifetimeCount=10_000, RequestedMaxKeepAliveCount=30,
                                                 MaxNotificationsPerPublish=0, PublishingEnabled=True, Priority=0)
        sub = await client.create_subscription(params, None, queue_maxsize=s.client_queue_size,
                                               overflow=OverflowPolicy.DISCONNECT)
        sub.set_overflow_disconnect_handler(self._on_overflow)
        self._handles = itertools.count(_FIRST_HANDLE)
        items = [self._item(sub, nid, layout.dtypes.get(path, "")) for path, nid in layout.tags.items()]
        failed = 0
        for part in chunks(items, limits.per_monitor):
            failed += sum(isinstance(r, ua.StatusCode) for r in await sub.create_monitored_items(part))
        if failed:
            log.warning("%d of %d monitored items were refused by the server", failed, len(items))
        for name, nid in layout.event_sources.items():
            try:
                await sub.subscribe_events(nid, layout.event_types, queuesize=s.event_queue_size)
            except ua.UaStatusCodeError as e:
                log.warning("no events from %s: %s", name, e)
        if layout.conditions:
            await self._refresh_conditions(client, sub)
        return sub

    async def _refresh_conditions(self, client: Client, sub: Subscription) -> None:
        """ConditionRefresh: the retained conditions (active or unacknowledged alarms) are sent
        again, so the alarm state is whole after every (re)connect."""
        try:
            await client.get_node(ua.NodeId(ua.ObjectIds.ConditionType)).call_method(
                ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh),
                ua.Variant(sub.subscription_id, ua.VariantType.UInt32))
        except ua.UaError as e:
            log.warning("ConditionRefresh refused (%s): alarms are known from their next event only", e)

    def _item(self, sub: Subscription, nid: ua.NodeId, dtype: str) -> ua.MonitoredItemCreateRequest:
        s = self.settings
        mfilter = None
        if s.deadband_abs > 0 and dtype in ("Double", "Float"):
            mfilter = ua.DataChangeFilter(Trigger=ua.DataChangeTrigger.StatusValue,
                                          DeadbandType=ua.DeadbandType.Absolute, DeadbandValue=s.deadband_abs)
        mparams = ua.MonitoringParameters(ClientHandle=next(self._handles), SamplingInterval=s.sampling_ms,
                                          QueueSize=s.queue_size, DiscardOldest=True, Filter=mfilter)
        item = ua.ReadValueId(NodeId=nid, AttributeId=ua.AttributeIds.Value)
        return ua.MonitoredItemCreateRequest(ItemToMonitor=item, MonitoringMode=ua.MonitoringMode.Reporting,
                                             RequestedParameters=mparams)

    def _on_overflow(self) -> None:
        self.stats.overflows += 1
        log.error("the mirror fell behind by %d notifications (client_queue_size): reconnecting (a gap is marked)",
                  self.settings.client_queue_size)
        self._lost.set()

    def _take_initial(self, layout: Layout) -> None:
        for path, dv in layout.initial.items():
            self._value(path, dv)

    async def _consume(self, sub: Subscription, stop: asyncio.Event) -> None:
        """Handle notifications until the connection is lost (raises) or `stop` is set."""
        waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._lost.wait())}
        reader = asyncio.ensure_future(self._read(sub))
        try:
            await asyncio.wait({reader, *waiters}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (reader, *waiters):
                t.cancel()
        if reader.done() and not reader.cancelled() and reader.exception() is not None:
            raise reader.exception()  # type: ignore[misc]
        if not stop.is_set():
            raise ConnectionError("connection to the server lost")

    async def _read(self, sub: Subscription) -> None:
        async for ev in sub:
            if isinstance(ev, DataChangeEvent):
                path = self._paths.get(ev.node.nodeid)
                if path is not None:
                    self._value(path, ev.data.monitored_item.Value)
            elif isinstance(ev, OpcEvent):
                self._event(ev.event)

    def _value(self, path: str, dv: ua.DataValue) -> None:
        status = dv.StatusCode.value if dv.StatusCode is not None else 0
        value = dv.Value.Value if dv.Value is not None else None
        stamp = dv.SourceTimestamp or dv.ServerTimestamp
        obs = Observed(value, status, dv.SourceTimestamp, dv.ServerTimestamp, time.time())
        self.state.update(path, obs)
        self.stats.notifications += 1
        for fn in self.listeners:
            fn(path, obs)
        if self.historian is not None:
            self.historian.add(tag_point(path, value, status, stamp))

    def _event(self, e: Any) -> None:
        """One plant event, once: a server reports an event at every notifier above its
        source (machine, station, line, Server), and the twin subscribes to several."""
        event_id = getattr(e, "EventId", None)
        if event_id is not None:
            key = bytes(event_id) if isinstance(event_id, (bytes, bytearray)) else repr(event_id)
            if key in self._seen_events:
                self.stats.duplicate_events += 1
                return
            self._seen_events[key] = None
            if len(self._seen_events) > SEEN_EVENTS:
                self._seen_events.pop(next(iter(self._seen_events)))
        ev = plant_event(e)
        self.state.add_event(ev)
        self.stats.events += 1
        if self.historian is not None:
            self.historian.add(event_point(ev))


def plant_event(e: Any) -> PlantEvent:
    msg = getattr(e, "Message", None)
    cond = getattr(e, "ConditionName", None)
    return PlantEvent(time=getattr(e, "Time", None), source=str(getattr(e, "SourceName", "") or ""),
                      kind=str(getattr(e, "Kind", "") or ""), severity=int(getattr(e, "Severity", 0) or 0),
                      message=str(getattr(msg, "Text", msg) or ""), condition=str(cond) if cond else None,
                      active=getattr(e, "ActiveState/Id", None) if cond else None,
                      acked=getattr(e, "AckedState/Id", None) if cond else None)
