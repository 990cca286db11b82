"""The plant's OPC UA server: an asyncua server whose address space mirrors the PLC's tag
table, synchronised after every PLC scan, with writes and methods routed to the PLC, PLC
events and breakdown alarms as OPC UA events, history in SQLite, and security."""

from __future__ import annotations

import asyncio
import gc
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from asyncua import Node, Server, ua
from asyncua.crypto.permission_rules import User
from asyncua.server.history_sql import HistorySQLite

from plc_sim.model.vocab import ROLES, Role, role_allows
from plc_sim.plc.commands import COMMANDS, Arg, CommandSpec, describe
from plc_sim.plc.runtime import PlcRuntime
from plc_sim.plc.tags import Refusal, Rejected, Tag

from . import address_space, fastpath  # noqa: F401 (fastpath patches asyncua on import)
from .access import CALLER, PlantAttributeService, PlantInternalServer, PlantRuleset, status, tag_variant, write_result
from .events import PlantEvents
from .security import configure_security
from .settings import ServerSettings
from .users import PlantUserManager, UserStore

log = logging.getLogger("opcua_server")

_QUALITY = {"good": ua.StatusCodes.Good, "uncertain": ua.StatusCodes.Uncertain, "bad": ua.StatusCodes.Bad}
_DATA_TYPES = {"Double": ua.ObjectIds.Double, "Int32": ua.ObjectIds.Int32, "Boolean": ua.ObjectIds.Boolean,
               "String": ua.ObjectIds.String}


def _timestamp(raw: bytes) -> datetime:
    return datetime.fromisoformat(raw.decode())


# sqlite3's default "timestamp" converter cannot read a time zone without microseconds
# ("2026-01-05 02:00:45+00:00"), which plant-time stamps produce on whole seconds.
sqlite3.register_converter("timestamp", _timestamp)


class PlantHistory(HistorySQLite):
    """asyncua's SQLite history with table names safe for string NodeIds like
    'Plant/Line/Station/Machine/Tag' (asyncua quotes the identifier into the table name)."""

    def _get_table_name(self, node_id: ua.NodeId) -> str:
        ident = str(node_id.Identifier)
        return f"{node_id.NamespaceIndex}_" + "".join(c if c.isalnum() else "_" for c in ident)

    async def _get_event_fields(self, evtypes: list[Node]) -> list[str]:
        """asyncua lists some AlarmConditionType fields twice; one column each."""
        return list(dict.fromkeys(await super()._get_event_fields(evtypes)))

    async def new_historized_event(self, source_id: ua.NodeId, evtypes: list[Node], period, count: int = 0) -> None:
        self.__dict__.setdefault("event_counts", {})[source_id] = count
        self.__dict__.setdefault("event_types", {})[source_id] = {t.nodeid for t in evtypes}
        await super().new_historized_event(source_id, evtypes, period, count)

    async def save_event(self, event) -> None:
        """Only events of historized sources, at most `count` of them per source (asyncua
        bounds events by age only). Events arrive through asyncua's internal subscription,
        which labels every one as emitted by the Server object: the source node decides."""
        source = event.SourceNode
        if event.EventType not in self.__dict__.get("event_types", {}).get(source, ()):
            return
        event.emitting_node = source
        await super().save_event(event)
        count = self.__dict__.get("event_counts", {}).get(source)
        if count:
            table = self._get_table_name(event.SourceNode)
            await self._db.execute(f'DELETE FROM "{table}" WHERE _Id NOT IN '
                                   f'(SELECT _Id FROM "{table}" ORDER BY _Id DESC LIMIT ?)', (count,))
            await self._db.commit()


class PlantServer:
    """Serves one PLC. `await start()`, then `await stop()` (closes sessions, flushes history)."""

    def __init__(self, plc: PlcRuntime, settings: ServerSettings) -> None:
        self.plc = plc
        self.settings = settings
        self.users = UserStore(settings.data_dir / "users.json")
        self.user_manager = PlantUserManager(self.users, settings.allow_anonymous)
        iserver = PlantInternalServer(user_manager=self.user_manager)
        iserver.max_sessions = settings.max_sessions
        iserver.max_monitored_items = settings.max_monitored_items
        iserver.max_session_timeout_ms = settings.session_timeout_s * 1000
        iserver.attribute_service = PlantAttributeService(iserver.aspace, self._write_tag)
        self.server = Server(iserver=iserver, user_manager=self.user_manager)
        self.nodes: address_space.PlantNodes | None = None
        self.events = PlantEvents(self.server, plc, self._caller)
        self._notifying: set[asyncio.Task[None]] = set()
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
        _tune_gc()
        log.info("OPC UA server listening at %s (%d tags)", self.url, len(self.plc.table))

    async def stop(self) -> None:
        await self.events.stop()
        await self.server.stop()
        log.info("OPC UA server stopped")

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
        role = _as_role(self.user_manager.role_of(user))
        who = user.name or "anonymous"
        if variant.VariantType != getattr(ua.VariantType, tag.dtype):
            self.plc.report_refusal(tag.key, variant.Value, who, Rejected(
                Refusal.TYPE_MISMATCH, f"{tag.key} takes a {tag.dtype}, not a {variant.VariantType.name}"))
            return status("BadTypeMismatch")
        res = write_result(lambda: self.plc.write(tag.key, variant.Value, role, who))
        if res.is_good():
            self._show(nodeid, tag)
        return res

    def _show(self, nodeid: ua.NodeId, tag: Tag) -> None:
        """Put a commanded setpoint into its node at once, so that a read right after the
        write sees it; subscribers are notified from a task (the write service is sync here)."""
        aspace = self.server.iserver.aspace
        dv = ua.DataValue(tag_variant(tag.dtype, tag.value), StatusCode=ua.StatusCode(ua.StatusCodes.Good),
                          SourceTimestamp=self.plc.plant_time())
        aspace[nodeid].attributes[ua.AttributeIds.Value].value = dv
        task = asyncio.get_running_loop().create_task(self._notify(nodeid))
        self._notifying.add(task)
        task.add_done_callback(self._notifying.discard)

    async def _notify(self, nodeid: ua.NodeId) -> None:
        """Re-write the node's current value: asyncua then runs its data-change callbacks."""
        aspace = self.server.iserver.aspace
        current = aspace[nodeid].attributes[ua.AttributeIds.Value].value
        if current is not None:
            await aspace.write_attribute_value(nodeid, ua.AttributeIds.Value, current)

    # --- methods ------------------------------------------------------------------------

    async def _add_methods(self, idx: int) -> None:
        """One OPC UA method per command of the PLC's command table: machine commands on
        every machine, line commands on the line's Control folder."""
        pn = self.nodes
        assert pn is not None, "the address space is built before the methods"
        line = self.plc.spec.line
        control = pn.objects.get((line, "Control"))
        for spec in COMMANDS.values():
            if spec.target == "machine":
                for path, obj in pn.objects.items():
                    if path[1:] in self._machine_paths:
                        await self._add_method(idx, obj, path, spec, path[2])
            elif control is not None:
                await self._add_method(idx, control, (line, "Control"), spec, None)

    async def _add_method(self, idx: int, parent: Node, path: tuple[str, ...], spec: CommandSpec,
                          machine: str | None) -> None:
        inputs = [_argument(a.name, a.dtype, _arg_description(a)) for a in spec.args]
        outputs = [_argument("Result", "String", "what the PLC did")]
        method = await parent.add_method(ua.NodeId(f"Plant/{'/'.join(path)}/{spec.method}", idx),
                                         ua.QualifiedName(spec.method, idx), self._method(spec, machine),
                                         inputs, outputs)
        await method.write_attribute(ua.AttributeIds.Description, ua.DataValue(ua.Variant(
            ua.LocalizedText(spec.description), ua.VariantType.LocalizedText)))

    def _caller(self) -> tuple[Role | None, str]:
        user = CALLER.get()
        return _as_role(self.user_manager.role_of(user)), (user.name if user and user.name else "anonymous")

    def _method(self, spec: CommandSpec, machine: str | None
                ) -> Callable[..., Awaitable[ua.StatusCode | list[ua.Variant]]]:
        async def call(parent: ua.NodeId, *args: ua.Variant) -> ua.StatusCode | list[ua.Variant]:
            role, name = self._caller()
            values = [a.Value if isinstance(a, ua.Variant) else a for a in args]
            kw = dict(zip((a.name for a in spec.args), values, strict=False))
            bad = _variant_problem(spec, args)
            if bad is not None and role_allows(role, spec.role):
                self.plc.report_refusal(describe(spec.command, machine, kw), None, name, bad, source=machine)
                return status(bad.refusal.value)
            out: list[str] = []
            res = write_result(lambda: out.append(self.plc.command(spec.command, machine, role, name, **kw)))
            return res if not res.is_good() else [ua.Variant(out[0], ua.VariantType.String)]
        return call

    # --- history ------------------------------------------------------------------------

    async def _setup_history(self) -> None:
        """Key tags and the plant events of machines and line go to SQLite, bounded by
        count. Alarm condition events are not historized (their state is in the tags)."""
        s, pn = self.server, self.nodes
        path = Path(self.settings.data_dir) / "history.sqlite"
        storage = PlantHistory(str(path))
        await storage.init()
        s.iserver.history_manager.set_storage(storage)
        count = self.settings.history_count
        historized = [pn.nodes[t.key] for t in self.plc.table if t.historize]
        await s.historize_node_data_change(historized, period=None, count=count)
        await s.historize_node_event(self.events.emitters, period=None, count=count)


def _tune_gc() -> None:
    """Process-wide, for the daemon that serves: the address space built at start moves out of
    the collector's sight (gc.freeze), and collections wait for 50,000 net new container
    objects instead of 700. Every change makes short-lived objects that reference counting
    frees; with the default threshold the collector ran every few milliseconds and its full
    passes over the notification queues stalled the loop for up to 120 ms under ten clients."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _as_role(role: str | None) -> Role | None:
    """A user's role as the PLC's vocabulary has it (an unknown role counts as none)."""
    return next((r for r in ROLES if r == role), None)


def _argument(name: str, dtype: str, description: str) -> ua.Argument:
    arg = ua.Argument()
    arg.Name = name
    arg.DataType = ua.NodeId(_DATA_TYPES[dtype])
    arg.ValueRank = -1
    arg.ArrayDimensions = []
    arg.Description = ua.LocalizedText(description)
    return arg


def _arg_description(a: Arg) -> str:
    bounds = f" ({a.lo:g}..{a.hi:g})" if a.lo is not None and a.hi is not None else ""
    return a.description + bounds


def _variant_problem(spec: CommandSpec, args: tuple[ua.Variant, ...]) -> Rejected | None:
    """A method call whose arguments are too few, too many, or of other variant types than
    the command declares (asyncua does not check them)."""
    if len(args) < len(spec.args):
        return Rejected(Refusal.ARGUMENTS_MISSING, f"{spec.method} takes {len(spec.args)} arguments, not {len(args)}")
    if len(args) > len(spec.args):
        return Rejected(Refusal.TOO_MANY_ARGUMENTS, f"{spec.method} takes {len(spec.args)} arguments, not {len(args)}")
    for a, v in zip(spec.args, args, strict=True):
        vtype = v.VariantType if isinstance(v, ua.Variant) else None
        if vtype != getattr(ua.VariantType, a.dtype):
            got = vtype.name if vtype else type(v).__name__
            return Rejected(Refusal.TYPE_MISMATCH, f"{spec.method} {a.name} takes a {a.dtype}, not a {got}")
    return None


def endpoint_port(server: PlantServer) -> int:
    """The port actually bound (useful with port 0)."""
    bs = server.server.bserver
    return bs._server.sockets[0].getsockname()[1] if bs and bs._server else server.settings.port

