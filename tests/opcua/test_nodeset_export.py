"""The NodeSet2 export loads in asyncua's importer and matches what a client browses on the live
server: the same browse paths, node classes, type definitions and data types; the CSV tag list
and the OPC Publisher file name every tag by the NodeId the server gives it."""

from __future__ import annotations

import csv
import io
import json

from asyncua import Node, Server, ua

from opcua_server.nodeset import export_nodeset, published_nodes, tag_csv
from plc_sim.model.spec import load_plant
from tests.support.opcua_harness import NS, client, running_plant

DEPTH = 8


async def _tree(root: Node, path: str = "", depth: int = 0) -> dict[str, tuple[str, str, str]]:
    """Browse path -> (node class, type definition, data type) of everything below `root`."""
    out: dict[str, tuple[str, str, str]] = {}
    if depth > DEPTH:
        return out
    for ref in await root.get_references(refs=ua.ObjectIds.HierarchicalReferences, direction=ua.BrowseDirection.Forward):
        if ref.NodeId.NamespaceIndex == 0:
            continue  # standard nodes (ServerCapabilities, ...) are the stack's, not the export's
        node = Node(root.session, ref.NodeId)
        name = f"{path}/{ref.BrowseName.Name}"
        dtype = ""
        if ref.NodeClass == ua.NodeClass.Variable:
            dtype = str((await node.read_data_type()).to_string()).split(";")[-1]
        out[name] = (ref.NodeClass.name, ref.TypeDefinition.to_string().split(";")[-1], dtype)
        out |= await _tree(node, name, depth + 1)
    return out


async def test_the_nodeset_export_imports_and_matches_the_live_browse(tmp_path):
    xml = tmp_path / "gear_line.xml"
    count = await export_nodeset(load_plant("gear_line"), xml)
    assert count > 300
    async with running_plant(tmp_path / "live", held=True) as (_plc, srv), client(srv) as c:
        idx = await c.get_namespace_index(NS)
        live = await _tree(c.get_node(ua.NodeId("Plant", idx)))
    imported = Server()
    await imported.init()
    try:
        await imported.import_xml(str(xml))
        jdx = await imported.get_namespace_index(NS)
        loaded = await _tree(imported.get_node(ua.NodeId("Plant", jdx)))
    finally:
        await imported.stop()
    assert live and loaded == live
    assert live["/GearLine/MP1/MP1/PowerKW"][1] == f"i={ua.ObjectIds.AnalogItemType}", \
        "Browse reports the analog item's own type definition, not BaseDataVariableType"


def test_the_tag_list_and_the_publisher_file_name_every_tag(tmp_path):
    from plc_sim.plc.runtime import PlcRuntime

    table = PlcRuntime(load_plant("auto_parts_cell"), seed=1, time_factor=None).table
    rows = list(csv.DictReader(io.StringIO(tag_csv(table, NS))))
    assert len(rows) == len(list(table))
    speed = next(r for r in rows if r["path"].endswith("/CNC1/SpeedSetpoint"))
    assert speed["node_id"] == f"nsu={NS};s=Plant/AutoPartsCell/Machining/CNC1/SpeedSetpoint"
    assert speed["unit"] == "%" and speed["access"].startswith("read/write") and ".." in speed["range"]
    doc = json.loads(published_nodes(table, NS, "opc.tcp://127.0.0.1:4840/plant"))
    assert {n["Id"] for n in doc[0]["OpcNodes"]} == {r["node_id"] for r in rows}
    assert doc[0]["UseSecurity"] is True
