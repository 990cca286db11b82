"""Exports of the plant's address space for offline configuration: NodeSet2 XML (what the server
builds, in our namespace, for node-opcua's or asyncua's importer), an OPC Publisher style
published-nodes JSON, and a CSV tag list. The NodeSet2 is taken from a real server built for
the plant (bound to a loopback port for the moment of the export), so it is the address space
a client browses, not a second description of it."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from asyncua import Node, Server, ua
from asyncua.common.xmlexporter import XmlExporter

import plant_tags as tags
from plc_sim.model.spec import PlantSpec
from plc_sim.plc.runtime import PlcRuntime
from plc_sim.plc.tags import Tag

from .address_space import PlantNodes
from .server import PlantServer
from .settings import ServerSettings

PUBLISHER_SAMPLING_MS = 1000
"""OPC Publisher's default sampling and publishing interval, written out so a user sees it."""


def node_id_text(namespace_uri: str, path: tags.Path) -> str:
    """A tag's NodeId with its namespace URI (stable across servers: `nsu=...;s=Plant/...`)."""
    return f"nsu={namespace_uri};s={tags.PLANT}/{tags.key(path)}"


TYPE_ROOTS = (ua.ObjectIds.BaseObjectType, ua.ObjectIds.BaseEventType, ua.ObjectIds.BaseVariableType,
              ua.ObjectIds.BaseDataType)
"""Our types (line, station, machine, buffer, the state enumeration, the event types) are
subtypes of these."""


async def _walk(server: Server, start: list[ua.NodeId], refs: int, keep: Callable[[ua.NodeId], bool]) -> list[ua.NodeId]:
    """Every node reached from `start` over forward references of kind `refs` (subtypes
    included), in order of discovery; `keep` decides which of them are returned."""
    seen: set[ua.NodeId] = set()
    found: list[ua.NodeId] = []
    todo = list(start)
    while todo:
        nid = todo.pop()
        if nid in seen:
            continue
        seen.add(nid)
        if keep(nid):
            found.append(nid)
        for ref in await server.get_node(nid).get_references(refs=refs, direction=ua.BrowseDirection.Forward):
            todo.append(ref.NodeId)
    return found


async def _ours(server: Server, pn: PlantNodes) -> list[Node]:
    """Every node of the plant's namespace that a client reaches: its types (found below the
    standard base types) and what hangs below them and below the Plant folder."""
    def ours(nid: ua.NodeId) -> bool:
        return nid.NamespaceIndex == pn.idx

    types = await _walk(server, [ua.NodeId(t) for t in TYPE_ROOTS], ua.ObjectIds.HasSubtype, ours)
    nodes = await _walk(server, [pn.objects[()].nodeid, *types], ua.ObjectIds.HierarchicalReferences, ours)
    return [server.get_node(nid) for nid in nodes]


async def export_nodeset(spec: PlantSpec, out: Path, seed: int = 1) -> int:
    """Write the plant's NodeSet2 XML to `out`; returns how many nodes it holds."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = ServerSettings.load(port=0, host="127.0.0.1", data_dir=Path(tmp), allow_none_policy=True)
        srv = PlantServer(PlcRuntime(spec, seed=seed, time_factor=None), settings)
        async with srv:
            assert srv.nodes is not None
            nodes = await _ours(srv.server, srv.nodes)
            exporter = XmlExporter(srv.server)
            await exporter.build_etree(nodes)
            await exporter.write_xml(str(out))
    return len(nodes)


def _access(tag: Tag) -> str:
    return f"read/write ({tag.role})" if tag.writable else "read"


def _range(tag: Tag) -> str:
    if tag.choices or tag.enum:
        return "|".join(tag.choices or tag.enum or ())
    if tag.lo is None and tag.hi is None:
        return ""
    return f"{'' if tag.lo is None else tag.lo}..{'' if tag.hi is None else tag.hi}"


def tag_csv(table: Iterable[Tag], namespace_uri: str) -> str:
    """The tag list: browse path, NodeId, type, unit, range, access, description."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["path", "node_id", "type", "unit", "range", "access", "description"])
    for t in table:
        w.writerow([tags.browse_path(t.path), node_id_text(namespace_uri, t.path), t.dtype, t.unit or "",
                    _range(t), _access(t), t.description])
    return buf.getvalue()


def published_nodes(table: Iterable[Tag], namespace_uri: str, endpoint: str, use_security: bool = True) -> str:
    """An OPC Publisher `publishednodes.json`: one entry for the endpoint with every tag.
    `use_security` False only for `plant up`'s local demo (the one profile with the None policy)."""
    nodes = [{"Id": node_id_text(namespace_uri, t.path), "DisplayName": tags.key(t.path),
              "OpcSamplingInterval": PUBLISHER_SAMPLING_MS, "OpcPublishingInterval": PUBLISHER_SAMPLING_MS}
             for t in table]
    return json.dumps([{"EndpointUrl": endpoint, "UseSecurity": use_security, "OpcNodes": nodes}], indent=2)
