"""PLC events as OPC UA events, and breakdowns as alarm conditions.

Every PLC event (breakdown, repair, maintenance start and end, scan overrun, refused write,
acknowledgement, command) is a `PlantEventType` event from its machine's node, or from the
line's node when no machine is concerned, with the PLC's severity and message.

Alarms & Conditions, as far as implemented here: each machine has one condition object
`<Machine>/BreakdownAlarm` (a `BreakdownAlarmType`, subtype of AlarmConditionType, with its
mandatory children), referenced from the machine by HasCondition. A breakdown, its repair
and its acknowledgement are condition events carrying the ConditionId, EnabledState,
ActiveState, AckedState, Retain, Severity, ConditionClass (maintenance) and, after an
acknowledgement, Comment and ClientUserId; the same state is written into the condition
object's variables, so a client that reads instead of subscribing sees it too. Operators
acknowledge with the standard `Acknowledge(EventId, Comment)` method (on the condition or
AcknowledgeableConditionType's) or with the machine's own `AcknowledgeAlarm`; ConditionRefresh
re-sends the retained conditions. Not implemented: Confirm, shelving, suppression, branches,
Enable/Disable and AddComment (they answer BadNotImplemented or are absent), and a
condition's history.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from asyncua import Node, Server, ua

import plant_tags as tags
from plc_sim.model.vocab import Role
from plc_sim.plc.checks import clip
from plc_sim.plc.clock import PLANT_EPOCH
from plc_sim.plc.runtime import SEVERITY, PlcEvent, PlcRuntime
from plc_sim.plc.tags import Refusal, Rejected

from .access import status
from .method_guard import CONDITION_RULES, MethodGuard, refresh_of_own_subscription

log = logging.getLogger(__name__)

ALARM_KINDS = ("breakdown", "repair", "alarm_acknowledged")
NOTIFIER = ua.EventNotifier.SubscribeToEvents.mask | ua.EventNotifier.HistoryRead.mask
"""Every notifier of the plant (Server, line, stations, machines) keeps event history: the
events of the sources below it."""
_REFUSED_ACK = {Refusal.INVALID_STATE: "BadConditionBranchAlreadyAcked"}
_SERVER = ua.NodeId(ua.ObjectIds.Server)


class PlantEvents:
    """Publishes the PLC's events from a queue (the PLC never waits for OPC UA)."""

    def __init__(self, server: Server, plc: PlcRuntime, caller: Callable[[], tuple[Role | None, str]],
                 queue_size: int = 10_000, max_message_length: int = 200, plant_stamps: bool = False) -> None:
        self.server = server
        self.plc = plc
        self._caller = caller
        self._queue: asyncio.Queue[PlcEvent] = asyncio.Queue(maxsize=queue_size)
        self._max_message = max_message_length
        self._plant_stamps = plant_stamps
        """Event Time in plant time (`timestamps = "plant"`) rather than the wall clock."""
        self.skipped = 0
        """Events not published because the queue was full (the PLC outran the server)."""
        self._task: asyncio.Task | None = None
        self._generators: dict[str | None, Any] = {}
        self._alarm_generators: dict[str, Any] = {}
        self.conditions: dict[str, Node] = {}
        self._machines: dict[ua.NodeId, str] = {}
        self._event_ids: dict[str, set[bytes]] = {}
        """The events of each condition since its last breakdown: any of them can be acknowledged."""
        self._comments: dict[str, tuple[str, str]] = {}
        self.emitters: list[Node] = []
        """The event sources whose events are historized (line and machines)."""
        self.notifiers: dict[ua.NodeId, list[ua.NodeId]] = {}
        self.acknowledge_methods: list[ua.NodeId] = [ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge)]
        """The Acknowledge methods: the type's and each condition's own."""
        self._chains: dict[str | None, list[ua.NodeId]] = {}
        """The notifiers an event of a machine (or of the line, None) is reported at, itself first."""

    async def setup(self, idx: int, line: Node, stations: dict[str, Node], machines: dict[str, tuple[str, Node]]) -> None:
        """Event types, a generator per machine and the line, the notifier hierarchy (Server
        HasNotifier line HasNotifier station HasNotifier machine, machine HasEventSource its
        condition) and the condition objects. `machines`: name -> (station, node)."""
        s = self.server
        self.event_type = await self._event_type(idx, "PlantEventType", ua.ObjectIds.BaseEventType)
        self.alarm_type = await self._event_type(idx, "BreakdownAlarmType", ua.ObjectIds.AlarmConditionType)
        server = s.get_node(ua.ObjectIds.Server)
        for name, node in [(None, line), *((m, n) for m, (_, n) in machines.items())]:
            self._generators[name] = gen = await s.get_event_generator(self.event_type, node)
            gen.event.SourceName = source_name(node)
            self.emitters.append(node)
        await _notifies(server, line)
        self._chains[None] = [line.nodeid, _SERVER]
        sources = [line.nodeid]
        for st_name, st in stations.items():
            await _notifies(line, st)
            below = []
            for name, (station, node) in machines.items():
                if station == st_name:
                    await _notifies(st, node)
                    self._chains[name] = [node.nodeid, st.nodeid, line.nodeid, _SERVER]
                    self.notifiers[node.nodeid] = [node.nodeid]
                    below.append(node.nodeid)
            self.notifiers[st.nodeid] = below
            sources.extend(below)
        self.notifiers[line.nodeid] = sources
        self.notifiers[_SERVER] = sources
        await self._write_notifiers()
        for name, (_, node) in machines.items():
            cid = ua.NodeId(f"{node.nodeid.Identifier}/BreakdownAlarm", idx)
            cond = await node.add_object(cid, ua.QualifiedName("BreakdownAlarm", idx), objecttype=self.alarm_type.nodeid,
                                         instantiate_optional=False)
            await node.add_reference(cid, ua.ObjectIds.HasCondition, forward=True, bidirectional=False)
            await node.add_reference(cid, ua.ObjectIds.HasEventSource, forward=True, bidirectional=False)
            self.conditions[name] = cond
            await _describe(cond, f"breakdown alarm of machine {name}: active while it is down, until acknowledged retained")
            self._machines[cid] = name
            ack = await cond.get_child("0:Acknowledge")
            s.link_method(ack, self._acknowledge)
            self.acknowledge_methods.append(ack.nodeid)
        s.link_method(s.get_node(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge), self._acknowledge)

    async def _write_notifiers(self) -> None:
        """EventNotifier: subscribe and history read at every notifier (asyncua's event
        generators set SubscribeToEvents alone)."""
        for nid in self.notifiers:
            await self.server.get_node(nid).write_attribute(ua.AttributeIds.EventNotifier,
                                                            ua.DataValue(ua.Variant(NOTIFIER, ua.VariantType.Byte)))

    async def _event_type(self, idx: int, name: str, base: int) -> Node:
        """An event type with a `Kind` property, both with string NodeIds (stable across restarts)."""
        etype = await self.server.create_custom_event_type(ua.NodeId(f"Types/{name}", idx), ua.QualifiedName(name, idx),
                                                           base)
        kind = await etype.add_property(ua.NodeId(f"Types/{name}/Kind", idx), ua.QualifiedName("Kind", idx), "",
                                        varianttype=ua.VariantType.String)
        await _describe(kind, "what happened: breakdown, repair, maintenance_start, maintenance_end, scan_overrun, "
                              "write_refused, apply_failed, alarm_acknowledged, command, fault_start, fault_end or "
                              "fault_refused")
        await _describe(etype, _TYPE_TEXT[name])
        plant_time = await etype.add_property(ua.NodeId(f"Types/{name}/{tags.ClockTag.PLANT_TIME}", idx),
                                              ua.QualifiedName(tags.ClockTag.PLANT_TIME, idx), PLANT_EPOCH,
                                              varianttype=ua.VariantType.DateTime)
        await plant_time.write_attribute(ua.AttributeIds.Description, ua.DataValue(ua.Variant(ua.LocalizedText(
            "when the event happened in plant time (Time is the wall clock unless timestamps = \"plant\")"))))
        return etype

    async def setup_alarms(self) -> None:
        """Alarm generators come after the event history is set up: asyncua historizes every
        event type a node GeneratesEvent at that moment, and condition events are not
        historized (their state is in the condition and the AlarmActive/AlarmAcked tags)."""
        for name, cond in self.conditions.items():
            machine = self._generators[name].event.SourceNode
            gen = await self.server.get_event_generator(self.alarm_type, machine)
            e = gen.event
            e.NodeId = cond.nodeid
            e.SourceName = self._generators[name].event.SourceName
            e.ConditionName = f"{name} breakdown"
            e.ConditionClassId = ua.NodeId(ua.ObjectIds.MaintenanceConditionClassType)
            e.ConditionClassName = ua.LocalizedText("Maintenance")
            e.BranchId = ua.NodeId()
            self._alarm_generators[name] = gen
            await self._write_state(name, gen.event)
        await self._write_notifiers()

    def start(self) -> None:
        self.plc.on_event(self._put)
        self._task = asyncio.create_task(self._publish())

    def _put(self, ev: PlcEvent) -> None:
        try:
            self._queue.put_nowait(ev)
        except asyncio.QueueFull:
            self.skipped += 1
            if self.skipped == 1 or not self.skipped % 1000:
                log.warning("event queue full (%d): %d PLC events not published so far", self._queue.maxsize,
                            self.skipped)

    async def stop(self, timeout_s: float = 2.0) -> None:
        """Publish what is queued (within `timeout_s`), then stop."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), timeout=timeout_s)
        except TimeoutError:
            log.warning("%d events not published at shutdown", self._queue.qsize())
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _publish(self) -> None:
        while True:
            ev = await self._queue.get()
            try:
                await self._fire(ev)
            except Exception:
                log.exception("could not publish event %s", ev)
            finally:
                self._queue.task_done()

    async def _fire(self, ev: PlcEvent) -> None:
        gen = self._generators.get(ev.source, self._generators[None])
        gen.event.Severity = ev.severity
        gen.event.Kind = ev.kind
        gen.event.PlantTime = ev.time
        await gen.trigger(time_attr=self._time(ev), message=clip(ev.message, self._max_message))
        await self._notify_up(gen.event, ev.source)
        if ev.kind in ALARM_KINDS and ev.source in self._alarm_generators:
            await self._fire_alarm(ev)

    def _time(self, ev: PlcEvent) -> datetime:
        return ev.time if self._plant_stamps else ev.wall

    async def _notify_up(self, event: Any, source: str | None) -> None:
        """asyncua delivers an event to the monitored items of its emitting node only; the
        same event goes to every notifier above its source, up to the Server object, where
        alarm summaries subscribe."""
        chain = self._chains.get(source, self._chains[None])
        service = self.server.iserver.subscription_service
        try:
            for nid in chain[1:]:
                event.emitting_node = nid
                await service.trigger_event(event)
        finally:
            event.emitting_node = chain[0]

    async def _fire_alarm(self, ev: PlcEvent) -> None:
        alarms, name = self.plc.alarms, ev.source
        assert name is not None, "alarm events come from a machine"
        gen = self._alarm_generators[name]
        e = gen.event
        active, acked = alarms.active(name), alarms.acked(name)
        e.Severity = SEVERITY["breakdown"] if active else SEVERITY["repair"]
        e.Kind = ev.kind
        e.Retain = active or not acked
        e.ActiveState = ua.LocalizedText("Active" if active else "Inactive")
        setattr(e, "ActiveState/Id", active)
        e.AckedState = ua.LocalizedText("Acknowledged" if acked else "Unacknowledged")
        setattr(e, "AckedState/Id", acked)
        e.EnabledState = ua.LocalizedText("Enabled")
        setattr(e, "EnabledState/Id", True)
        comment, user = self._comments.pop(name, ("", "")) if ev.kind == "alarm_acknowledged" else ("", "")
        e.Comment = ua.LocalizedText(comment)
        e.ClientUserId = user
        e.PlantTime = ev.time
        await gen.trigger(time_attr=self._time(ev), message=ev.message)
        await self._notify_up(e, name)
        event_id = e.EventId.Value if isinstance(e.EventId, ua.Variant) else e.EventId
        if ev.kind == "breakdown":
            self._event_ids[name] = set()
        self._event_ids.setdefault(name, set()).add(event_id)
        await self._write_state(name, e)

    async def _write_state(self, name: str, e: Any) -> None:
        """The condition object's variables follow its latest event."""
        cond = self.conditions[name]
        fields = {"EventId": ua.VariantType.ByteString, "Time": ua.VariantType.DateTime,
                  "Message": ua.VariantType.LocalizedText, "Severity": ua.VariantType.UInt16,
                  "Retain": ua.VariantType.Boolean, "ConditionName": ua.VariantType.String,
                  "ActiveState": ua.VariantType.LocalizedText, "ActiveState/Id": ua.VariantType.Boolean,
                  "AckedState": ua.VariantType.LocalizedText, "AckedState/Id": ua.VariantType.Boolean,
                  "EnabledState": ua.VariantType.LocalizedText, "EnabledState/Id": ua.VariantType.Boolean,
                  "Comment": ua.VariantType.LocalizedText, "ClientUserId": ua.VariantType.String,
                  "SourceNode": ua.VariantType.NodeId, "SourceName": ua.VariantType.String}
        for path, vtype in fields.items():
            value = getattr(e, path, None)
            if isinstance(value, ua.Variant):
                value = value.Value
            if value is None:
                continue
            node = await cond.get_child([f"0:{p}" for p in path.split("/")])
            await node.write_value(ua.Variant(value, vtype))

    def guard_methods(self, guard: MethodGuard) -> None:
        """The rules and handlers of the standard condition methods: Acknowledge on the
        breakdown conditions, ConditionRefresh(2) of the caller's own subscriptions; Enable
        (the conditions are always enabled), Disable, AddComment and Confirm checked and
        answered, not offered."""
        ack = CONDITION_RULES[ua.ObjectIds.AcknowledgeableConditionType_Acknowledge]
        for nid in self.acknowledge_methods:
            guard.add(nid, ack, on_refused=self._report_refused)
        refresh = refresh_of_own_subscription(self.server.iserver.subscription_service.condition_refresh)
        handlers = {ua.ObjectIds.ConditionType_ConditionRefresh: refresh,
                    ua.ObjectIds.ConditionType_ConditionRefresh2: refresh,
                    ua.ObjectIds.ConditionType_Enable: self._enable,
                    ua.ObjectIds.ConditionType_Disable: self._unsupported,
                    ua.ObjectIds.ConditionType_AddComment: self._unsupported,
                    ua.ObjectIds.AcknowledgeableConditionType_Confirm: self._unsupported}
        for oid, handler in handlers.items():
            guard.add(ua.NodeId(oid), CONDITION_RULES[oid], handler, on_refused=self._report_refused)

    def _report_refused(self, parent: ua.NodeId, e: Rejected) -> None:
        """A refused condition method of a breakdown alarm, audited and reported by the PLC."""
        name = self._machines.get(parent)
        if name is not None:
            self.plc.report_refusal(f"acknowledge {name}", None, self._caller()[1], e, source=name)

    async def _enable(self, parent: ua.NodeId) -> ua.StatusCode:
        if parent not in self._machines:
            return status("BadNodeIdInvalid")
        return status("BadConditionAlreadyEnabled")

    async def _unsupported(self, parent: ua.NodeId, event_id: ua.Variant | None = None, *rest: ua.Variant
                           ) -> ua.StatusCode:
        """Disable, AddComment, Confirm: an unknown EventId says so, a known one is not supported."""
        name = self._machines.get(parent)
        if name is None:
            return status("BadNodeIdInvalid")
        if event_id is not None and event_id.Value not in self._event_ids.get(name, ()):
            return status("BadEventIdUnknown")
        return status("BadNotSupported")

    async def _acknowledge(self, parent: ua.NodeId, event_id: ua.Variant, comment: ua.Variant) -> ua.StatusCode | list[Any]:
        """AcknowledgeableConditionType.Acknowledge(EventId, Comment) on a breakdown condition
        (count, types and role already checked by the method guard)."""
        name = self._machines.get(parent)
        if name is None:
            return status("BadNodeIdInvalid")
        if event_id.Value not in self._event_ids.get(name, ()):
            return status("BadEventIdUnknown")
        role, user = self._caller()
        text = comment.Value.Text or "" if isinstance(comment.Value, ua.LocalizedText) else ""
        self._comments[name] = (text, user)
        try:
            self.plc.command("acknowledge", name, role, user)
        except Rejected as e:
            self._comments.pop(name, None)
            return status(_REFUSED_ACK.get(e.refusal, e.refusal.value))
        return []


_TYPE_TEXT = {"PlantEventType": "an event of the plant's PLC (Kind says which), from a machine or the line",
              "BreakdownAlarmType": "a machine breakdown as an alarm condition (maintenance class)"}


async def _describe(node: Node, text: str) -> None:
    await node.write_attribute(ua.AttributeIds.Description, ua.DataValue(ua.Variant(ua.LocalizedText(text))))


def source_name(node: Node) -> str:
    """An event's SourceName: the source's browse path below Plant ("GearLine/MP1/MP1"), not
    its browse name, which a station and its machine share on the gear line."""
    return str(node.nodeid.Identifier).removeprefix(f"{tags.PLANT}/")


async def _notifies(parent: Node, child: Node) -> None:
    await parent.add_reference(child.nodeid, ua.ObjectIds.HasNotifier, forward=True, bidirectional=False)
