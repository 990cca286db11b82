"""The plant's address space, generated from the plant spec and the PLC's tag table:

    Objects/Plant/<Line>/<Station>/<Machine>/<Tag>
    Objects/Plant/<Line>/<Station>/OutputBuffer/<Product>
    Objects/Plant/<Line>/{KPIs, Orders, Control}/<Tag>

Typed objects (LineType, StationType, MachineType, BufferType), analog measurements as
AnalogItemType with EngineeringUnits and EURange, machine state as an enumeration, methods
for the commands. NodeIds are strings derived from the browse path, in our own namespace,
so a client's configuration survives restarts."""

from __future__ import annotations

from dataclasses import dataclass, field

from asyncua import Node, Server, ua
from asyncua.common.structures104 import new_enum

import plant_tags as tags
from plc_sim.model.vocab import MACHINE_STATUSES
from plc_sim.plc.tags import Tag, TagTable

from .access import variant_type

UNECE_URI = "http://www.opcfoundation.org/UA/units/un/cefact"
UNECE_CODES = {"1": (4404786, "1"), "EUR": (0, "EUR"), "kW": (4937729, "kW"), "kWh": (4937816, "kW·h"),
               "h": (4740434, "h"), "min": (5066068, "min"),
               "%": (20529, "%"), "mm/s": (4410707, "mm/s"), "degC": (4408652, "°C"), "rpm": (5394510, "r/min"),
               "mm/min": (4732977, "mm/min"), "parts": (0, "parts"), "orders": (0, "orders"), "cards": (0, "cards"),
               "events": (0, "events"), "parts/h": (0, "parts/h")}
UNIT_NAMES = {"kW": "kilowatt", "kWh": "kilowatt hour", "h": "hour", "min": "minute", "%": "percent",
              "mm/s": "millimetre per second", "degC": "degree Celsius", "rpm": "revolutions per minute",
              "mm/min": "millimetre per minute", "parts": "parts (count)", "orders": "orders (count)",
              "cards": "cards (count)", "events": "events (count)", "parts/h": "parts per hour",
              "1": "one (dimensionless)", "EUR": "euro"}
TYPE_DESCRIPTIONS = {"LineType": "a production line: its stations, KPIs, orders and control setpoints",
                     "StationType": "a station of the line: its machines, queue and output buffer",
                     "MachineType": "a machine: state, counters, power, condition signals, setpoints and commands",
                     "BufferType": "a station's output buffer: finished parts per product"}
TYPE_NAMES = ("LineType", "StationType", "MachineType", "BufferType")


@dataclass
class PlantNodes:
    """What the server needs after building: nodes by tag, objects by path, types."""

    idx: int
    tags: dict[ua.NodeId, Tag] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    objects: dict[tuple[str, ...], Node] = field(default_factory=dict)
    types: dict[str, Node] = field(default_factory=dict)
    state_enum: ua.NodeId | None = None


def node_id(idx: int, path: tuple[str, ...]) -> ua.NodeId:
    return ua.NodeId(tags.key((tags.PLANT, *path)), idx)


async def build(server: Server, idx: int, table: TagTable, line: str, stations: dict[str, list[str]]) -> PlantNodes:
    pn = PlantNodes(idx)
    base = server.nodes.base_object_type
    for name in TYPE_NAMES:
        pn.types[name] = await base.add_object_type(ua.NodeId(f"Types/{name}", idx), ua.QualifiedName(name, idx))
        await _describe(pn.types[name], TYPE_DESCRIPTIONS[name])
    enum = await new_enum(server, idx, "MachineStateEnum", list(MACHINE_STATUSES))
    await enum.add_property(ua.NodeId("Types/MachineStateEnum/EnumStrings", idx), ua.QualifiedName("EnumStrings", 0),
                            ua.Variant([ua.LocalizedText(x) for x in MACHINE_STATUSES], ua.VariantType.LocalizedText))
    await _describe(enum, "state of a machine: " + ", ".join(f"{i} {x}" for i, x in enumerate(MACHINE_STATUSES)))
    pn.state_enum = enum.nodeid
    root = await server.nodes.objects.add_folder(ua.NodeId(tags.PLANT, idx), ua.QualifiedName(tags.PLANT, idx))
    await _describe(root, "the plant served by this PLC")
    pn.objects[()] = root
    pn.objects[(line,)] = await _object(root, idx, (line,), pn.types["LineType"])
    for st, machines in stations.items():
        pn.objects[(line, st)] = await _object(pn.objects[(line,)], idx, (line, st), pn.types["StationType"])
        buffer = (line, st, str(tags.Folder.OUTPUT_BUFFER))
        pn.objects[buffer] = await _object(pn.objects[(line, st)], idx, buffer, pn.types["BufferType"])
        for mach in machines:
            pn.objects[(line, st, mach)] = await _object(pn.objects[(line, st)], idx, (line, st, mach),
                                                         pn.types["MachineType"])
    for tag in table:
        parent = await _parent(pn, tag.path[:-1])
        pn.nodes[tag.key] = node = await _variable(server, parent, idx, tag, pn)
        pn.tags[node.nodeid] = tag
    return pn


async def _object(parent: Node, idx: int, path: tuple[str, ...], otype: Node) -> Node:
    node = await parent.add_object(node_id(idx, path), ua.QualifiedName(path[-1], idx), objecttype=otype.nodeid)
    kind = {"Types/LineType": "line", "Types/StationType": "station", "Types/MachineType": "machine",
            "Types/BufferType": "output buffer"}[str(otype.nodeid.Identifier)]
    await _describe(node, f"{kind} {'/'.join(path)}")
    return node


async def _describe(node: Node, text: str) -> None:
    await node.write_attribute(ua.AttributeIds.Description, ua.DataValue(ua.Variant(ua.LocalizedText(text))))


_FOLDERS: dict[str, str] = {tags.Folder.KPIS: "key performance indicators of the line since the warm-up, and its clocks",
            tags.Folder.ORDERS: "order backlog and raw material per product",
            tags.Folder.CONTROL: "control setpoints and commands",
            tags.Folder.RECOMMENDATIONS: "setpoint changes proposed by an engineer (the optimizer in advisory mode), applied or "
                               "dismissed by an operator"}


async def _parent(pn: PlantNodes, path: tuple[str, ...]) -> Node:
    if path not in pn.objects:
        parent = await _parent(pn, path[:-1])
        pn.objects[path] = await parent.add_folder(node_id(pn.idx, path), ua.QualifiedName(path[-1], pn.idx))
        await _describe(pn.objects[path], _FOLDERS.get(path[-1], path[-1]))
    return pn.objects[path]


async def _variable(server: Server, parent: Node, idx: int, tag: Tag, pn: PlantNodes) -> Node:
    """A tag's variable. Numbers with a unit are analog items: AnalogItemType when the tag
    has a range (its EURange), BaseAnalogType when it has none (AnalogItemType's EURange is
    mandatory, and an invented one such as [0, 1e300] would mislead clients). EngineeringUnits
    and EURange are the standard properties (browse names in namespace 0)."""
    vtype = variant_type(tag.dtype)
    nid = node_id(idx, tag.path)
    qn = ua.QualifiedName(tag.name, idx)
    analog = tag.dtype in ("Double", "Int32") and tag.unit != ""
    ranged = tag.lo is not None and tag.hi is not None
    datatype = pn.state_enum if tag.enum else ua.NodeId(getattr(ua.ObjectIds, tag.dtype))
    node = await parent.add_variable(nid, qn, ua.Variant(tag.value, vtype), varianttype=vtype, datatype=datatype)
    if analog:
        vartype = ua.ObjectIds.AnalogItemType if ranged else ua.ObjectIds.BaseAnalogType
        await node.delete_reference(ua.NodeId(ua.ObjectIds.BaseDataVariableType), ua.ObjectIds.HasTypeDefinition,
                                    forward=True, bidirectional=False)
        await node.add_reference(ua.NodeId(vartype), ua.ObjectIds.HasTypeDefinition, forward=True, bidirectional=False)
        await _refresh_component(parent, node)
        code, text = UNECE_CODES.get(tag.unit, (0, tag.unit))
        eu = ua.EUInformation(NamespaceUri=UNECE_URI if code else "", UnitId=code if code else -1,
                              DisplayName=ua.LocalizedText(text),
                              Description=ua.LocalizedText(UNIT_NAMES.get(tag.unit, tag.unit)))
        await _property(node, idx, "EngineeringUnits", ua.Variant(eu))
    if ranged:
        await _property(node, idx, "EURange", ua.Variant(ua.Range(float(tag.lo), float(tag.hi))))  # type: ignore[arg-type]
    if tag.choices:
        await node.add_property(ua.NodeId(f"{nid.Identifier}/Choices", idx), ua.QualifiedName("Choices", idx),
                                [ua.LocalizedText(c) for c in tag.choices])
    await node.write_attribute(ua.AttributeIds.Description, ua.DataValue(ua.Variant(ua.LocalizedText(describe(tag)))))
    access = ua.AccessLevel.CurrentRead.mask
    if tag.writable:
        access |= ua.AccessLevel.CurrentWrite.mask
    if tag.historized:
        access |= ua.AccessLevel.HistoryRead.mask
    dv = ua.DataValue(ua.Variant(access, ua.VariantType.Byte))
    await node.write_attribute(ua.AttributeIds.AccessLevel, dv)
    await node.write_attribute(ua.AttributeIds.UserAccessLevel, dv)
    if tag.historized:
        await node.write_attribute(ua.AttributeIds.Historizing, ua.DataValue(ua.Variant(True)))
    return node


async def _refresh_component(parent: Node, node: Node) -> None:
    """The parent's HasComponent reference again, so that Browse reports the node's type
    definition as it is now: a reference description copies the target's type definition
    when the reference is added (asyncua 2.1), so after a change of type it kept saying
    BaseDataVariableType (importers that take the type from Browse missed every analog item)."""
    await parent.delete_reference(node.nodeid, ua.ObjectIds.HasComponent, forward=True, bidirectional=False)
    await parent.add_reference(node.nodeid, ua.ObjectIds.HasComponent, forward=True, bidirectional=False)


async def _property(node: Node, idx: int, name: str, value: ua.Variant) -> Node:
    """A standard property (browse name in namespace 0, NodeId in ours)."""
    return await node.add_property(ua.NodeId(f"{node.nodeid.Identifier}/{name}", idx), ua.QualifiedName(name, 0), value)


def describe(tag: Tag) -> str:
    """A node's description: what it is, its unit and whether it is a setpoint."""
    what = tag.description or _DEFAULT_TEXT.get(tag.name, tag.name)
    unit = f"; unit {UNIT_NAMES.get(tag.unit, tag.unit)}" if tag.unit else ""
    rng = f"; range {tag.lo:g}..{tag.hi:g}" if tag.lo is not None and tag.hi is not None else ""
    kind = f"; setpoint ({tag.role} may write it)" if tag.writable else ""
    return f"{what}{unit}{rng}{kind}"


_DEFAULT_TEXT: dict[str, str] = {tags.ClockTag.PLANT_TIME: "plant calendar hours since the start"}
