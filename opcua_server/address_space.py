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

from plc_sim.model.vocab import MACHINE_STATUSES
from plc_sim.plc.tags import Tag, TagTable

UNECE_CODES = {"kW": (4937729, "kW"), "kWh": (4937816, "kW·h"), "h": (4740434, "h"), "min": (5066068, "min"),
               "%": (20529, "%"), "mm/s": (4410707, "mm/s"), "degC": (4408652, "°C"), "rpm": (5394510, "r/min"),
               "mm/min": (0, "mm/min"), "parts": (0, "parts"), "orders": (0, "orders"), "cards": (0, "cards"),
               "events": (0, "events"), "parts/h": (0, "parts/h")}
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
    return ua.NodeId("Plant/" + "/".join(path), idx)


async def build(server: Server, idx: int, table: TagTable, line: str, stations: dict[str, list[str]]) -> PlantNodes:
    pn = PlantNodes(idx)
    base = server.nodes.base_object_type
    for name in TYPE_NAMES:
        pn.types[name] = await base.add_object_type(ua.NodeId(f"Types/{name}", idx), ua.QualifiedName(name, idx))
    pn.state_enum = (await new_enum(server, idx, "MachineStateEnum", list(MACHINE_STATUSES))).nodeid
    root = await server.nodes.objects.add_folder(ua.NodeId("Plant", idx), ua.QualifiedName("Plant", idx))
    pn.objects[()] = root
    pn.objects[(line,)] = await _object(root, idx, (line,), pn.types["LineType"])
    for st, machines in stations.items():
        pn.objects[(line, st)] = await _object(pn.objects[(line,)], idx, (line, st), pn.types["StationType"])
        pn.objects[(line, st, "OutputBuffer")] = await _object(pn.objects[(line, st)], idx, (line, st, "OutputBuffer"),
                                                               pn.types["BufferType"])
        for mach in machines:
            pn.objects[(line, st, mach)] = await _object(pn.objects[(line, st)], idx, (line, st, mach),
                                                         pn.types["MachineType"])
    for tag in table:
        parent = await _parent(pn, tag.path[:-1])
        pn.nodes[tag.key] = node = await _variable(server, parent, idx, tag, pn)
        pn.tags[node.nodeid] = tag
    return pn


async def _object(parent: Node, idx: int, path: tuple[str, ...], otype: Node) -> Node:
    return await parent.add_object(node_id(idx, path), ua.QualifiedName(path[-1], idx), objecttype=otype.nodeid)


async def _parent(pn: PlantNodes, path: tuple[str, ...]) -> Node:
    if path not in pn.objects:
        parent = await _parent(pn, path[:-1])
        pn.objects[path] = await parent.add_folder(node_id(pn.idx, path), ua.QualifiedName(path[-1], pn.idx))
    return pn.objects[path]


async def _variable(server: Server, parent: Node, idx: int, tag: Tag, pn: PlantNodes) -> Node:
    vtype = getattr(ua.VariantType, tag.dtype)
    nid = node_id(idx, tag.path)
    qn = ua.QualifiedName(tag.name, idx)
    analog = tag.dtype == "Double" and tag.unit != ""
    if analog:
        node = await parent.add_variable(nid, qn, ua.Variant(tag.value, vtype), varianttype=vtype,
                                         datatype=ua.NodeId(ua.ObjectIds.Double))
        await node.delete_reference(ua.NodeId(ua.ObjectIds.BaseDataVariableType), ua.ObjectIds.HasTypeDefinition,
                                    forward=True, bidirectional=False)
        await node.add_reference(ua.NodeId(ua.ObjectIds.AnalogItemType), ua.ObjectIds.HasTypeDefinition,
                                 forward=True, bidirectional=False)
        lo = tag.lo if tag.lo is not None else -1e300
        hi = tag.hi if tag.hi is not None else 1e300
        await node.add_property(idx, "EURange", ua.Range(lo, hi))
        code, text = UNECE_CODES.get(tag.unit, (0, tag.unit))
        eu = ua.EUInformation(NamespaceUri="http://www.opcfoundation.org/UA/units/un/cefact", UnitId=code,
                              DisplayName=ua.LocalizedText(text), Description=ua.LocalizedText(tag.unit))
        await node.add_property(idx, "EngineeringUnits", eu)
    else:
        datatype = pn.state_enum if tag.enum else None
        node = await parent.add_variable(nid, qn, ua.Variant(tag.value, vtype), varianttype=vtype, datatype=datatype)
        if tag.unit:
            await node.add_property(idx, "EngineeringUnits", ua.EUInformation(DisplayName=ua.LocalizedText(tag.unit)))
        if tag.lo is not None or tag.hi is not None:
            await node.add_property(idx, "EURange", ua.Range(tag.lo if tag.lo is not None else -1e300,
                                                             tag.hi if tag.hi is not None else 1e300))
    if tag.choices:
        await node.add_property(idx, "Choices", [ua.LocalizedText(c) for c in tag.choices])
    if tag.description:
        await node.write_attribute(ua.AttributeIds.Description, ua.DataValue(ua.Variant(ua.LocalizedText(tag.description))))
    access = ua.AccessLevel.CurrentRead.mask
    if tag.writable:
        access |= ua.AccessLevel.CurrentWrite.mask
    if tag.historize:
        access |= ua.AccessLevel.HistoryRead.mask
    dv = ua.DataValue(ua.Variant(access, ua.VariantType.Byte))
    await node.write_attribute(ua.AttributeIds.AccessLevel, dv)
    await node.write_attribute(ua.AttributeIds.UserAccessLevel, dv)
    if tag.historize:
        await node.write_attribute(ua.AttributeIds.Historizing, ua.DataValue(ua.Variant(True)))
    return node
