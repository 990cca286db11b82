"""The plant's OPC UA server: an asyncua server whose address space mirrors the PLC's tag
table, synchronised after every PLC scan, with writes and methods routed to the PLC, PLC
events and breakdown alarms as OPC UA events, history in SQLite, and security."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from types import TracebackType
from typing import Self

from asyncua import Server, ua
from asyncua.crypto import uacrypto
from asyncua.crypto.permission_rules import User

from plc_sim.plc.runtime import PlcRuntime
from plc_sim.plc.tags import Refusal, Rejected, Tag

from . import address_space
from .access import CALLER, PlantAttributeService, PlantRuleset, status, tag_variant, write_result
from .clip import clip
from .events import PlantEvents
from .history import HistoryFeed, PlantHistory
from .processor import PEER
from .security import configure_security
from .sessions import PlantInternalServer
from .settings import ServerSettings
from .transport import PlantBinaryServer
from .users import PlantUserManager, UserStore

log = logging.getLogger(__name__)

_QUALITY = {"good": ua.StatusCodes.Good, "uncertain": ua.StatusCodes.Uncertain, "bad": ua.StatusCodes.Bad}
_MACHINE_METHODS = (("Start", "start"), ("Stop", "stop"), ("AcknowledgeAlarm", "acknowledge"),
                    ("ResetFault", "reset"), ("StartMaintenance", "maintain"))


class PlantUaServer(Server):
    """asyncua's Server listening through `transport.PlantBinaryServer` (bounded connections)."""

    async def start(self) -> None:
        if self.iserver.certificate is not None:
            uacrypto.check_certificate(self.iserver.certificate, self._application_uri, socket.gethostname())
        await self._setup_server_nodes()
        await self.iserver.start()
        try:
            host, port = self._get_bind_socket_info()
            self.bserver = PlantBinaryServer(self.iserver, host, port, self.limits)
            self.bserver.set_policies(self._policies)
            await self.bserver.start()
        except Exception:
            await self.iserver.stop()
            raise


class PlantServer:
    """Serves one PLC: `async with PlantServer(plc, settings):` (or `await start()`, then
    `await stop()`, which closes sessions and flushes events and history)."""

    def __init__(self, plc: PlcRuntime, settings: ServerSettings) -> None:
        self.plc = plc
        self.settings = settings
        self.users = UserStore(settings.data_dir / "users.json")
        self.user_manager = PlantUserManager(self.users, settings.allow_anonymous)
        iserver = PlantInternalServer(settings, user_manager=self.user_manager)
        iserver.max_monitored_item_queue_size = settings.max_queue_size
        iserver.max_unacked_messages_per_subscription = settings.max_unacked_messages
        iserver.attribute_service = PlantAttributeService(iserver.aspace, self._write_tag)
        self.server = PlantUaServer(iserver=iserver, user_manager=self.user_manager)
        self.nodes: address_space.PlantNodes | None = None
        self.events = PlantEvents(self.server, plc, self._caller, settings.event_queue_size,
                                  max(1024, settings.max_logged_length))
        self.history: PlantHistory | None = None
        self._machine_paths = {(st.name, mach.name) for row, st in zip(plc.model.machines, plc.spec.stations)
                               for mach in row}
        self.url = f"opc.tcp://{settings.host}:{settings.port}/plant"

    async def start(self) -> None:
        s, settings = self.server, self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        s.iserver.bind_condition_methods = True  # ConditionRefresh of the breakdown alarms
        await s.init()
        s.set_endpoint(self.url)
        s.set_server_name(f"plant-twin PLC: {self.plc.spec.title or self.plc.spec.name}")
        await s.set_application_uri(settings.application_uri)
        s.limits.max_recv_buffer = s.limits.max_send_buffer = settings.max_chunk_size
        s.limits.max_message_size = settings.max_message_size
        s.limits.max_chunk_count = max(settings.max_message_size // s.limits.max_recv_buffer + 1, 1)
        await configure_security(s, settings, PlantRuleset())
        idx = await s.register_namespace(settings.namespace_uri)
        m = self.plc.model
        stations = {st.name: [x.name for x in m.machines[i]] for i, st in enumerate(m.spec.stations)}
        self.nodes = await address_space.build(s, idx, self.plc.table, m.spec.line, stations)
        await self._sync(list(self.plc.table))
        await self._add_methods(idx)
        line = self.nodes.objects[(m.spec.line,)]
        machines = {path[2]: obj for path, obj in self.nodes.objects.items() if path[1:] in self._machine_paths}
        await self.events.setup(idx, line, machines)
        await self._setup_history()
        internal = len(s.iserver.subscription_service.subscriptions)
        s.iserver.max_subscriptions = settings.max_subscriptions + internal  # the limit counts clients' only
        await self.events.setup_alarms()
        self.plc.on_scan_async(self._sync)
        self.events.start()
        await s.start()
        log.info("OPC UA server listening at %s (%d tags)", self.url, len(self.plc.table))

    async def stop(self) -> None:
        await self.events.stop()
        await self.server.stop()
        log.info("OPC UA server stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    # --- tag sync and writes ------------------------------------------------------------

    async def _sync(self, changed: list[Tag]) -> None:
        """Write the scan's changed tags into the address space, stamped with plant time."""
        pn = self.nodes
        write = self.server.iserver.aspace.write_attribute_value
        value_attr = ua.AttributeIds.Value
        stamp = self.plc.plant_time()
        for i, tag in enumerate(changed):
            if i and not i % 100:
                await asyncio.sleep(0)
            dv = ua.DataValue(tag_variant(tag.dtype, tag.value), StatusCode=ua.StatusCode(_QUALITY[tag.quality]),
                              SourceTimestamp=stamp)
            await write(pn.nodes[tag.key].nodeid, value_attr, dv)

    def _write_tag(self, nodeid: ua.NodeId, variant: ua.Variant, user: User) -> ua.StatusCode | None:
        tag = self.nodes.tags.get(nodeid) if self.nodes else None
        if tag is None:
            return None
        role = self.user_manager.role_of(user)
        who = user.name or "anonymous"
        limit = self.settings.max_logged_length
        if variant.VariantType != getattr(ua.VariantType, tag.dtype) or isinstance(variant.Value, list):
            return self._refuse(tag, variant.Value, who, Rejected(
                Refusal.TYPE_MISMATCH, f"{tag.key} takes a {tag.dtype}, not a {variant.VariantType.name}"))
        value = variant.Value
        if isinstance(value, str) and len(value) > self.settings.max_value_length:
            return self._refuse(tag, value, who, Rejected(
                Refusal.OUT_OF_RANGE, f"{tag.key} takes at most {self.settings.max_value_length} characters"))
        result = write_result(lambda: self.plc.write(tag.key, value, role, who))
        if not result.is_good():
            log.warning("refused write of %s = %r by %s from %s (%s)", tag.key, clip(value, limit), who, PEER.get(),
                        result.name)
        return result

    def _refuse(self, tag: Tag, value: object, who: str, e: Rejected) -> ua.StatusCode:
        """A refusal the server decides itself, reported to the PLC with the value cut short."""
        code = status(e.refusal.value)
        log.warning("refused write of %s by %s from %s (%s)", tag.key, who, PEER.get(), code.name)
        self.plc.report_refusal(tag.key, clip(value, self.settings.max_logged_length), who, e)
        return code

    # --- methods ------------------------------------------------------------------------

    async def _add_methods(self, idx: int) -> None:
        pn = self.nodes
        for path, obj in pn.objects.items():
            if path[1:] in self._machine_paths:
                for browse, command in _MACHINE_METHODS:
                    await obj.add_method(ua.NodeId(f"Plant/{'/'.join(path)}/{browse}", idx), ua.QualifiedName(browse, idx),
                                         self._machine_method(command, path[2]), [], [ua.VariantType.String])
        control = pn.objects.get((self.plc.spec.line, "Control"))
        if control is not None:
            await control.add_method(ua.NodeId(f"Plant/{self.plc.spec.line}/Control/SetKanbans", idx),
                                     ua.QualifiedName("SetKanbans", idx), self._cards_method("set_kanbans"),
                                     [ua.VariantType.Int32, ua.VariantType.String, ua.VariantType.Int32],
                                     [ua.VariantType.String])
            await control.add_method(ua.NodeId(f"Plant/{self.plc.spec.line}/Control/SetConwip", idx),
                                     ua.QualifiedName("SetConwip", idx), self._cards_method("set_conwip"),
                                     [ua.VariantType.String, ua.VariantType.Int32], [ua.VariantType.String])

    def _caller(self) -> tuple[str | None, str]:
        user = CALLER.get()
        return self.user_manager.role_of(user), (user.name if user and user.name else "anonymous")

    def _machine_method(self, command: str, machine: str):
        async def call(parent: ua.NodeId):
            role, name = self._caller()
            out: list[str] = []
            res = write_result(lambda: out.append(self.plc.command(command, machine, role, name)))
            return res if not res.is_good() else [ua.Variant(out[0], ua.VariantType.String)]
        return call

    def _cards_method(self, command: str):
        async def call(parent: ua.NodeId, *args: ua.Variant):
            role, name = self._caller()
            vals = [a.Value if isinstance(a, ua.Variant) else a for a in args]
            kw = dict(zip(("stage", "product", "value"), vals)) if command == "set_kanbans" else dict(
                zip(("product", "value"), vals))
            out: list[str] = []
            res = write_result(lambda: out.append(self.plc.command(command, None, role, name, **kw)))
            return res if not res.is_good() else [ua.Variant(out[0], ua.VariantType.String)]
        return call

    # --- history ------------------------------------------------------------------------

    async def _setup_history(self) -> None:
        """Key tags and the plant events of machines and line go to SQLite, bounded by
        count. Alarm condition events are not historized (their state is in the tags)."""
        s, pn = self.server, self.nodes
        path = Path(self.settings.data_dir) / "history.sqlite"
        storage = PlantHistory(str(path), self.settings.history_queue_size, self.settings.history_batch_size)
        await storage.init()
        self.history = storage
        manager = s.iserver.history_manager
        manager.set_storage(storage)
        feed = HistoryFeed(s.iserver.isession, storage)  # no task per change
        await feed.init()
        manager._sub = feed
        count = self.settings.history_count
        historized = [pn.nodes[t.key] for t in self.plc.table if t.historize]
        await s.historize_node_data_change(historized, period=None, count=count)
        await s.historize_node_event(self.events.emitters, period=None, count=count)


def endpoint_port(server: PlantServer) -> int:
    """The port actually bound (useful with port 0)."""
    bs = server.server.bserver
    return bs._server.sockets[0].getsockname()[1] if bs and bs._server else server.settings.port

