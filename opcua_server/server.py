"""The plant's OPC UA server: an asyncua server whose address space mirrors the PLC's tag
table, synchronised after every PLC scan, with writes and methods routed to the PLC, PLC
events and breakdown alarms as OPC UA events, history in SQLite, and security."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from asyncua import Node, ua
from asyncua.crypto.permission_rules import User

import plant_tags as tags
from plc_sim.model.private_files import private_dir
from plc_sim.model.vocab import ROLES, Role, role_allows
from plc_sim.plc.checks import echo as clip
from plc_sim.plc.clock import wall_clock
from plc_sim.plc.commands import COMMANDS, Arg, CommandSpec, describe
from plc_sim.plc.runtime import PlcRuntime
from plc_sim.plc.tags import Refusal, Rejected, Tag

from . import address_space, refusals
from ._asyncua.access import PlantAttributeService, PlantRuleset
from ._asyncua.fanout import write_value
from ._asyncua.history import PlantHistory
from ._asyncua.server import PlantUaServer, attach_history, set_value_now, value_now
from ._asyncua.sessions import PlantInternalServer
from ._asyncua.users import PlantUserManager
from .access import CALLER, data_type_id, status, tag_variant, variant_type, write_result
from .connections import PEER
from .events import PlantEvents
from .history_service import AGGREGATES, MAX_VALUES, HistoryService
from .method_guard import ArgRule, MethodGuard, MethodRule, refused_call
from .request_limits import operation_limits
from .security import configure_security
from .settings import ServerSettings
from .users import UserStore

log = logging.getLogger(__name__)

_QUALITY = {"good": ua.StatusCodes.Good, "uncertain": ua.StatusCodes.Uncertain, "bad": ua.StatusCodes.Bad}


class PlantServer:
    """Serves one PLC: `async with PlantServer(plc, settings):` (or `await start()`, then
    `await stop()`, which closes sessions and flushes events and history)."""

    def __init__(self, plc: PlcRuntime, settings: ServerSettings) -> None:
        self.plc = plc
        self.settings = settings
        self.users = UserStore(settings.data_dir / "users.json")
        self.user_manager = PlantUserManager(self.users, settings.allow_anonymous)
        iserver = PlantInternalServer(settings, user_manager=self.user_manager)
        self.slices = iserver.slices
        iserver.max_monitored_item_queue_size = settings.max_queue_size
        iserver.max_unacked_messages_per_subscription = settings.max_unacked_messages
        iserver.attribute_service = PlantAttributeService(iserver.aspace, self._write_tag, self._user_attribute)
        self.methods = MethodGuard(iserver.aspace, self._caller, settings.max_value_length)
        """Every method's rule (role, arguments) and the gate in front of it."""
        self.server = PlantUaServer(iserver=iserver, user_manager=self.user_manager)
        self.nodes: address_space.PlantNodes | None = None
        self.events = PlantEvents(self.server, plc, self._caller, settings.event_queue_size,
                                  max(1024, settings.max_logged_length), plant_stamps=settings.timestamps == "plant")
        self.history: PlantHistory | None = None
        self._notifying: set[asyncio.Task[None]] = set()
        self._machine_paths = {(st.name, mach.name) for row, st in zip(plc.model.machines, plc.spec.stations)
                               for mach in row}
        self.url = f"opc.tcp://{settings.host}:{settings.port}/plant"

    async def start(self) -> None:
        s, settings = self.server, self.settings
        private_dir(settings.data_dir)
        self.plc.simulation.snapshot_dir = settings.data_dir / "snapshots"
        self.plc.simulation.max_snapshots = settings.max_snapshots
        self.plc.faults.max_active = settings.max_active_faults
        s.iserver.bind_condition_methods = True  # ConditionRefresh of the breakdown alarms
        await s.init()
        s.set_endpoint(self.url)
        s.set_server_name(f"plant-twin PLC: {self.plc.spec.title or self.plc.spec.name}")
        await s.set_build_info(PRODUCT_URI, "plant-twin", "plant-twin PLC OPC UA server", _version(), _version(),
                               _build_date())
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
        machines = {path[2]: (path[1], obj) for path, obj in self.nodes.objects.items()
                    if path[1:] in self._machine_paths}
        stations = {st.name: self.nodes.objects[(m.spec.line, st.name)] for st in m.spec.stations}
        await self.events.setup(idx, line, stations, machines)
        await self._setup_history()
        await self._operation_limits()
        internal = len(s.iserver.subscription_service.subscriptions)
        s.iserver.max_subscriptions = settings.max_subscriptions + internal  # the limit counts clients' only
        await self.events.setup_alarms()
        self.events.guard_methods(self.methods)
        self.methods.install()
        refusals.configure(settings.refusal_log_interval_s)
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
        """Write the scan's changed tags into the address space, all with the scan's stamp
        (wall clock, or plant time with `timestamps = "plant"`) as SourceTimestamp and the
        wall clock as ServerTimestamp."""
        pn = self.nodes
        assert pn is not None, "the address space is built before the first sync"
        aspace = self.server.iserver.aspace
        now = wall_clock()
        stamp = self.source_stamp(now)
        for i, tag in enumerate(changed):
            if i and not i % 100:
                await asyncio.sleep(0)
            dv = ua.DataValue(tag_variant(tag.dtype, tag.value), StatusCode=_quality(tag.quality),
                              SourceTimestamp=stamp, ServerTimestamp=now)
            await write_value(aspace, pn.nodes[tag.key].nodeid, dv, self.slices)

    def source_stamp(self, wall: datetime) -> datetime:
        """The source timestamp of a value read at wall-clock time `wall`."""
        return self.plc.plant_time() if self.settings.timestamps == "plant" else wall

    def _write_tag(self, nodeid: ua.NodeId, variant: ua.Variant, user: User) -> ua.StatusCode | None:
        tag = self.nodes.tags.get(nodeid) if self.nodes else None
        if tag is None:
            return None
        role = _as_role(self.user_manager.role_of(user))
        who = user.name or "anonymous"
        limit = self.settings.max_logged_length
        if variant.VariantType != variant_type(tag.dtype) or isinstance(variant.Value, list):
            return self._refuse(tag, variant.Value, who, Rejected(
                Refusal.TYPE_MISMATCH, f"{tag.key} takes a {tag.dtype}, not a {variant.VariantType.name}"))
        value = variant.Value
        if isinstance(value, str) and len(value) > self.settings.max_value_length:
            return self._refuse(tag, value, who, Rejected(
                Refusal.OUT_OF_RANGE, f"{tag.key} takes at most {self.settings.max_value_length} characters"))
        result = write_result(lambda: self.plc.write(tag.key, value, role, who))
        if result.is_good():
            self._show(nodeid, tag)
        else:
            refusals.warn(log, "refused write of %s = %r by %s from %s (%s)", tag.key, clip(value, limit), who,
                          PEER.get(), result.name)
        return result

    def _user_attribute(self, nodeid: ua.NodeId, attribute: ua.AttributeIds, user: User | None) -> ua.Variant | None:
        """UserAccessLevel of a plant tag and UserExecutable of a plant method as the
        session's role has them (a viewer sees no setpoint writable, no command executable)."""
        role = _as_role(self.user_manager.role_of(user)) if user is not None else None
        if attribute == ua.AttributeIds.UserAccessLevel:
            tag = self.nodes.tags.get(nodeid) if self.nodes else None
            if tag is None:
                return None
            access = ua.AccessLevel.CurrentRead.mask
            if tag.writable and role_allows(role, tag.role):
                access |= ua.AccessLevel.CurrentWrite.mask
            if tag.historized:
                access |= ua.AccessLevel.HistoryRead.mask
            return ua.Variant(access, ua.VariantType.Byte)
        if nodeid not in self.methods.rules:
            return None
        needed = self.methods.role_needed(nodeid)
        return ua.Variant(needed is None or role_allows(role, needed), ua.VariantType.Boolean)

    def _refuse(self, tag: Tag, value: object, who: str, e: Rejected) -> ua.StatusCode:
        """A refusal the server decides itself, reported to the PLC with the value cut short."""
        code = status(e.refusal.value)
        refusals.warn(log, "refused write of %s by %s from %s (%s)", tag.key, who, PEER.get(), code.name)
        self.plc.report_refusal(tag.key, clip(value, self.settings.max_logged_length), who, e)
        return code

    def _show(self, nodeid: ua.NodeId, tag: Tag) -> None:
        """Put a commanded setpoint into its node at once, so that a read right after the
        write sees it; subscribers are notified from a task (the write service is sync here)."""
        aspace = self.server.iserver.aspace
        now = wall_clock()
        dv = ua.DataValue(tag_variant(tag.dtype, tag.value), StatusCode=ua.StatusCode(ua.StatusCodes.Good),
                          SourceTimestamp=self.source_stamp(now), ServerTimestamp=now)
        set_value_now(aspace, nodeid, dv)
        task = asyncio.get_running_loop().create_task(self._notify(nodeid))
        self._notifying.add(task)
        task.add_done_callback(self._notifying.discard)

    async def _notify(self, nodeid: ua.NodeId) -> None:
        """Re-write the node's current value: asyncua then runs its data-change callbacks."""
        aspace = self.server.iserver.aspace
        current = value_now(aspace, nodeid)
        if current is not None:
            await write_value(aspace, nodeid, current, self.slices)

    # --- methods ------------------------------------------------------------------------

    async def _add_methods(self, idx: int) -> None:
        """One OPC UA method per command of the PLC's command table: machine commands on
        every machine, line commands on their folder of the line (Control, Recommendations)."""
        pn = self.nodes
        assert pn is not None, "the address space is built before the methods"
        line = self.plc.spec.line
        for spec in COMMANDS.values():
            if spec.target == "machine":
                for path, obj in pn.objects.items():
                    if path[1:] in self._machine_paths:
                        await self._add_method(idx, obj, path, spec, path[2])
            elif (folder := pn.objects.get((line, spec.folder))) is not None:
                await self._add_method(idx, folder, (line, spec.folder), spec, None)

    async def _add_method(self, idx: int, parent: Node, path: tuple[str, ...], spec: CommandSpec,
                          machine: str | None) -> None:
        inputs = [_argument(a.name, a.dtype, _arg_description(a)) for a in spec.args]
        outputs = [_argument("Result", "String", "what the PLC did")]
        method = await parent.add_method(ua.NodeId(tags.key((tags.PLANT, *path, spec.method)), idx),
                                         ua.QualifiedName(spec.method, idx), self._method(spec, machine),
                                         inputs, outputs)
        await method.write_attribute(ua.AttributeIds.Description, ua.DataValue(ua.Variant(
            ua.LocalizedText(spec.description), ua.VariantType.LocalizedText)))
        self.methods.add(method.nodeid, _method_rule(spec), on_refused=self._report_call(spec, machine))

    def _caller(self) -> tuple[Role | None, str]:
        user = CALLER.get()
        return _as_role(self.user_manager.role_of(user)), (user.name if user and user.name else "anonymous")

    def _report_call(self, spec: CommandSpec, machine: str | None) -> Callable[[ua.NodeId, Rejected], None]:
        """A call the method guard refused, reported and audited by the PLC as its own refusals are."""
        def report(parent: ua.NodeId, e: Rejected) -> None:
            self.plc.report_refusal(describe(spec.command, machine, {}), None, self._caller()[1], e, source=machine)
        return report

    def _method(self, spec: CommandSpec, machine: str | None
                ) -> Callable[..., Awaitable[ua.StatusCode | ua.CallMethodResult | list[ua.Variant]]]:
        """The command behind a plant method (its arguments already passed `_method_rule`)."""
        async def call(parent: ua.NodeId, *args: ua.Variant) -> ua.StatusCode | ua.CallMethodResult | list[ua.Variant]:
            role, name = self._caller()
            kw = dict(zip((a.name for a in spec.args), (a.Value for a in args), strict=True))
            try:
                out = self.plc.command(spec.command, machine, role, name, **kw)
            except Rejected as e:
                if spec.event == "alarm_acknowledged" and e.refusal is Refusal.INVALID_STATE:
                    return status("BadConditionBranchAlreadyAcked")  # no unacknowledged alarm: its text says so
                return refused_call([a.name for a in spec.args], len(args), e)
            return [ua.Variant(out, ua.VariantType.String)]
        return call

    # --- history ------------------------------------------------------------------------

    async def _setup_history(self) -> None:
        """Key tags and the plant events of machines and line go to SQLite, bounded by
        count. Alarm condition events are not historized (their state is in the tags)."""
        s, pn = self.server, self.nodes
        assert pn is not None, "the address space is built before history"
        path = Path(self.settings.data_dir) / "history.sqlite"
        storage = PlantHistory(str(path), self.settings.history_queue_size, self.settings.history_batch_size,
                               self.settings.timestamps)
        await storage.init()
        self.history = storage
        aspace = s.iserver.aspace
        self.history_service = HistoryService(storage, lambda nid: nid in aspace, self.events.notifiers,
                                              budget_s=self.settings.history_read_budget_ms / 1000.0)
        await attach_history(s.iserver, storage, self.history_service.read_history)
        count = self.settings.history_count
        historized = [pn.nodes[t.key] for t in self.plc.table if t.historized]
        await s.historize_node_data_change(historized, period=None, count=count)
        await s.historize_node_event(self.events.emitters, period=None, count=count)
        await self._history_capabilities()

    async def _operation_limits(self) -> None:
        """ServerCapabilities as `request_limits` enforces them (asyncua publishes 10,000 for all)."""
        s, ids = self.server, ua.ObjectIds
        for name, value in operation_limits(self.settings).items():
            nid = getattr(ids, f"Server_ServerCapabilities_OperationLimits_{name}")
            await s.get_node(nid).write_value(ua.Variant(value, ua.VariantType.UInt32))
        rate = ua.Variant(self.settings.min_sampling_interval_ms, ua.VariantType.Double)
        await s.get_node(ids.Server_ServerCapabilities_MinSupportedSampleRate).write_value(rate)
        points = ua.Variant(self.settings.max_browse_continuation_points, ua.VariantType.UInt16)
        await s.get_node(ids.Server_ServerCapabilities_MaxBrowseContinuationPoints).write_value(points)

    async def _history_capabilities(self) -> None:
        """HistoryServerCapabilities as this server has them: raw, at-time, processed and
        event reads; no inserts, updates or deletes; the aggregates of `history_service`."""
        s = self.server
        ids = ua.ObjectIds
        values = {ids.HistoryServerCapabilities_AccessHistoryDataCapability: True,
                  ids.HistoryServerCapabilities_AccessHistoryEventsCapability: True,
                  ids.HistoryServerCapabilities_ServerTimestampSupported: True,
                  ids.HistoryServerCapabilities_MaxReturnDataValues: ua.Variant(MAX_VALUES, ua.VariantType.UInt32),
                  ids.HistoryServerCapabilities_MaxReturnEventValues: ua.Variant(MAX_VALUES, ua.VariantType.UInt32)}
        for name in ("InsertData", "ReplaceData", "UpdateData", "DeleteRaw", "DeleteAtTime", "InsertEvent",
                     "ReplaceEvent", "UpdateEvent", "DeleteEvent", "InsertAnnotation"):
            values[getattr(ids, f"HistoryServerCapabilities_{name}Capability")] = False
        for nid, value in values.items():
            variant = value if isinstance(value, ua.Variant) else ua.Variant(value, ua.VariantType.Boolean)
            await s.get_node(nid).write_value(variant)
        folder = s.get_node(ids.HistoryServerCapabilities_AggregateFunctions)
        have = {r.NodeId for r in await folder.get_references(ua.ObjectIds.Organizes)}
        for agg in AGGREGATES.values():
            if ua.NodeId(agg) not in have:
                await folder.add_reference(ua.NodeId(agg), ua.ObjectIds.Organizes, forward=True, bidirectional=False)


PRODUCT_URI = "urn:plant-twin"


def _version() -> str:
    """This product's version, from its package metadata."""
    try:
        return importlib.metadata.version("plant-twin")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def _build_date() -> datetime:
    """When this package was installed or built (its files' time)."""
    return datetime.fromtimestamp(Path(__file__).stat().st_mtime, UTC)


def _quality(quality: str) -> ua.StatusCode:
    """A tag's quality as its StatusCode: good, uncertain, bad, or a StatusCode's name (a quality fault)."""
    code = _QUALITY.get(quality)
    return ua.StatusCode(code) if code is not None else status(quality)


def _as_role(role: str | None) -> Role | None:
    """A user's role as the PLC's vocabulary has it (an unknown role counts as none)."""
    return next((r for r in ROLES if r == role), None)


def _argument(name: str, dtype: str, description: str) -> ua.Argument:
    arg = ua.Argument()
    arg.Name = name
    arg.DataType = data_type_id(dtype)
    arg.ValueRank = -1
    arg.ArrayDimensions = []
    arg.Description = ua.LocalizedText(description)
    return arg


def _arg_description(a: Arg) -> str:
    bounds = f" ({a.lo:g}..{a.hi:g})" if a.lo is not None and a.hi is not None else ""
    return a.description + bounds


def _method_rule(spec: CommandSpec) -> MethodRule:
    """A plant method's rule: the command's role and arguments; bad values are BadOutOfRange,
    as they are for writes."""
    args = tuple(ArgRule(a.name, variant_type(a.dtype)) for a in spec.args)
    return MethodRule(spec.method, args, spec.role, bad_value=Refusal.OUT_OF_RANGE)

