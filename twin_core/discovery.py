"""Finding the plant in a server's address space: browse from a configured root, collect
the tag variables (by browse path, never by a hard-coded NodeId), the objects that notify
events, the alarm conditions (HasCondition) and the plant's event types, and check the
result against the plant file. A mapping file replaces browsing for servers laid out
differently. Reads and browses are split to honour the server's OperationLimits."""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from asyncua import Client, ua

import plant_tags as tags
from plc_sim.model.spec import PlantSpec

log = logging.getLogger(__name__)

MAX_NODES = 100_000
"""Nodes browsed under the root at most (a guard against a runaway address space)."""
MAX_DEPTH = 8
MIRRORED_MACHINE_TAGS = (tags.MachineTag.STATE, tags.MachineTag.PARTS_DONE, tags.MachineTag.ALARM_ACTIVE)
"""The machine tags every server of a plant must have for the twin."""

_DESCEND = {ua.NodeId(ua.ObjectIds.HasComponent), ua.NodeId(ua.ObjectIds.Organizes),
            ua.NodeId(ua.ObjectIds.HasOrderedComponent)}
_CONDITION = ua.NodeId(ua.ObjectIds.HasCondition)
T = TypeVar("T")


class DiscoveryError(Exception):
    """The root is missing, or what was found is not the configured plant."""


@dataclass
class Layout:
    """What the twin mirrors: tag path -> NodeId, event notifiers and conditions by name."""

    tags: dict[str, ua.NodeId] = field(default_factory=dict)
    dtypes: dict[str, str] = field(default_factory=dict)
    event_sources: dict[str, ua.NodeId] = field(default_factory=dict)
    conditions: dict[str, ua.NodeId] = field(default_factory=dict)
    event_types: list[ua.NodeId] = field(default_factory=list)
    initial: dict[str, ua.DataValue] = field(default_factory=dict)

    def signature(self) -> frozenset[str]:
        """What identifies the plant: its tag paths."""
        return frozenset(self.tags)


@dataclass(frozen=True)
class Limits:
    per_read: int
    per_monitor: int
    per_browse: int


def chunks(items: list[T], n: int) -> list[list[T]]:
    return [items[i:i + n] for i in range(0, len(items), max(n, 1))]


async def operation_limits(client: Client, cap: int) -> Limits:
    """The server's OperationLimits (0 or unreadable = none), capped by `cap`."""
    ids = (ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead,
           ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall,
           ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerBrowse)
    out = []
    for i in ids:
        try:
            v = await client.get_node(ua.NodeId(i)).read_value()
        except (ua.UaError, ua.UaStatusCodeError):
            v = 0
        out.append(min(int(v), cap) if v else cap)
    return Limits(*out)


def expected_paths(spec: PlantSpec) -> set[str]:
    """Tags every server of this plant must have (extra tags are mirrored too)."""
    line = spec.line
    out = [tags.kpi(line, tags.ClockTag.PLANT_TIME)]
    for st in spec.stations:
        out.append(tags.station(line, st.name, tags.StationTag.QUEUE_LENGTH))
        out += [tags.output_buffer(line, st.name, p) for p in spec.product_names]
        for m in st.machines:
            out += [tags.machine(line, st.name, m.name, t) for t in MIRRORED_MACHINE_TAGS]
    for p in spec.product_names:
        out += [tags.backlog(line, p), tags.raw(line, p)]
    return {tags.key(path) for path in out}


def check_plant(layout: Layout, spec: PlantSpec) -> None:
    missing = sorted(expected_paths(spec) - set(layout.tags))
    if missing:
        raise DiscoveryError(f"the server is not plant {spec.name!r}: {len(missing)} expected tags missing, "
                             f"e.g. {', '.join(missing[:5])}")


async def read_values(client: Client, nodeids: list[ua.NodeId], per_read: int,
                      attr: ua.AttributeIds = ua.AttributeIds.Value) -> list[ua.DataValue]:
    out: list[ua.DataValue] = []
    for part in chunks(nodeids, per_read):
        params = ua.ReadParameters()
        params.NodesToRead = [ua.ReadValueId(NodeId=n, AttributeId=attr) for n in part]
        out += await client.uaclient.read(params)
    return out


async def _browse(client: Client, nodeids: list[ua.NodeId], per_browse: int) -> list[list[ua.ReferenceDescription]]:
    out: list[list[ua.ReferenceDescription]] = []
    for part in chunks(nodeids, per_browse):
        params = ua.BrowseParameters()
        params.NodesToBrowse = [ua.BrowseDescription(
            NodeId=n, BrowseDirection=ua.BrowseDirection.Forward,
            ReferenceTypeId=ua.NodeId(ua.ObjectIds.References), IncludeSubtypes=True,
            NodeClassMask=ua.NodeClass.Object | ua.NodeClass.Variable,
            ResultMask=ua.BrowseResultMask.All) for n in part]
        for res in await client.uaclient.browse(params):
            refs = list(res.References or [])
            cp = res.ContinuationPoint
            while cp:
                nxt = await client.uaclient.browse_next(ua.BrowseNextParameters(ContinuationPoints=[cp]))
                refs += list(nxt[0].References or [])
                cp = nxt[0].ContinuationPoint
            out.append(refs)
    return out


async def _resolve_root(client: Client, root: str) -> ua.NodeId:
    node = client.nodes.root
    for part in [p for p in root.split("/") if p]:
        name = part.split(":", 1)[-1]
        kids = await node.get_children()
        for kid in kids:
            if (await kid.read_browse_name()).Name == name:
                node = kid
                break
        else:
            raise DiscoveryError(f"browse path {root!r}: no {name!r} under {node.nodeid.to_string()}")
    return node.nodeid


async def _find_type(client: Client, base: int, name: str) -> ua.NodeId | None:
    for kid in await client.get_node(ua.NodeId(base)).get_children(refs=ua.ObjectIds.HasSubtype):
        if (await kid.read_browse_name()).Name == name:
            return kid.nodeid
    return None


async def browse_layout(client: Client, root: str, limits: Limits) -> Layout:
    """Walk the tree under `root`; the tag path is the chain of browse names below it."""
    layout = Layout()
    objects: dict[str, ua.NodeId] = {}
    level: list[tuple[str, ua.NodeId]] = [("", await _resolve_root(client, root))]
    seen: set[ua.NodeId] = {level[0][1]}
    for _depth in range(MAX_DEPTH):
        if not level:
            break
        nxt: list[tuple[str, ua.NodeId]] = []
        browsed = await _browse(client, [n for _, n in level], limits.per_browse)
        for (path, _nid), refs in zip(level, browsed, strict=True):
            conds = {_target(r) for r in refs if r.ReferenceTypeId == _CONDITION}
            if conds:
                layout.conditions[path.rsplit("/", 1)[-1]] = next(iter(conds))
            for ref in refs:
                nid = _target(ref)
                if ref.ReferenceTypeId not in _DESCEND or nid in seen or nid in conds:
                    continue
                seen.add(nid)
                if len(seen) > MAX_NODES:
                    raise DiscoveryError(f"more than {MAX_NODES} nodes under {root!r}")
                child = f"{path}/{ref.BrowseName.Name}".lstrip("/")
                if ref.NodeClass == ua.NodeClass.Variable:
                    layout.tags[child] = nid
                else:
                    objects[child] = nid
                    nxt.append((child, nid))
        level = nxt
    await _event_sources(client, layout, objects, limits)
    return layout


def _target(ref: ua.ReferenceDescription) -> ua.NodeId:
    nid = ref.NodeId
    return ua.NodeId(nid.Identifier, nid.NamespaceIndex, nid.NodeIdType)


async def _event_sources(client: Client, layout: Layout, objects: dict[str, ua.NodeId], limits: Limits) -> None:
    paths = list(objects)
    notifiers = await read_values(client, [objects[p] for p in paths], limits.per_read, ua.AttributeIds.EventNotifier)
    for path, dv in zip(paths, notifiers, strict=True):
        if dv.StatusCode is not None and not dv.StatusCode.is_good():
            continue
        v = dv.Value.Value if dv.Value is not None else 0
        if v and int(v) & ua.EventNotifier.SubscribeToEvents.mask:
            layout.event_sources[path.rsplit("/", 1)[-1]] = objects[path]


def load_mapping(path: Path) -> dict[str, Any]:
    """A mapping file: `[tags]` path = "NodeId", `[events]` name = "NodeId", `[conditions]`
    machine = "NodeId"; NodeIds as strings, "nsu=<namespace URI>;s=..." (stable) or
    "ns=2;s=PLC.MP1.State"."""
    return tomllib.loads(path.read_text())


async def mapped_layout(client: Client, mapping: dict[str, Any]) -> Layout:
    uris: list[str] = await client.get_namespace_array()

    def node(text: str) -> ua.NodeId:
        nid = ua.NodeId.from_string(text)
        uri = getattr(nid, "NamespaceUri", None)
        if uri:
            if uri not in uris:
                raise DiscoveryError(f"mapping: the server has no namespace {uri!r}")
            return ua.NodeId(nid.Identifier, uris.index(uri), nid.NodeIdType)
        return ua.NodeId(nid.Identifier, nid.NamespaceIndex, nid.NodeIdType)

    layout = Layout()
    layout.tags = {p: node(s) for p, s in mapping.get("tags", {}).items()}
    layout.event_sources = {p: node(s) for p, s in mapping.get("events", {}).items()}
    layout.conditions = {p: node(s) for p, s in mapping.get("conditions", {}).items()}
    return layout


async def discover(client: Client, root: str, spec: PlantSpec | None, limits: Limits,
                   mapping: dict[str, Any] | None = None) -> Layout:
    """The layout of the plant on the server, with the initial value and data type of every tag."""
    layout = await mapped_layout(client, mapping) if mapping else await browse_layout(client, root, limits)
    if spec is not None:
        check_plant(layout, spec)
    idx_types = [t for t in (await _find_type(client, ua.ObjectIds.BaseEventType, "PlantEventType"),
                             await _find_type(client, ua.ObjectIds.AlarmConditionType, "BreakdownAlarmType"))
                 if t is not None]
    layout.event_types = idx_types or [ua.NodeId(ua.ObjectIds.BaseEventType)]
    paths = list(layout.tags)
    values = await read_values(client, [layout.tags[p] for p in paths], limits.per_read)
    for path, dv in zip(paths, values, strict=True):
        layout.initial[path] = dv
        vt = dv.Value.VariantType if dv.Value is not None else None
        layout.dtypes[path] = vt.name if vt is not None else "Null"
    log.info("discovered %d tags, %d event sources, %d conditions", len(layout.tags), len(layout.event_sources),
             len(layout.conditions))
    return layout
