"""`plant nodeset export` and `plant nodes export` as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import xml.etree.ElementTree as Et

from tests.support.daemons import PLANT

NODESET = "{http://opcfoundation.org/UA/2011/03/UANodeSet.xsd}"


def _plant(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PLANT, *args], capture_output=True, text=True, timeout=300, check=False)


def test_nodeset_export_writes_the_address_space(tmp_path):
    out = tmp_path / "cell.xml"
    done = _plant("nodeset", "export", "--plant", "auto_parts_cell", "--out", str(out))
    assert done.returncode == 0, done.stderr
    root = Et.parse(out).getroot()
    uris = [u.text for u in root.iter(f"{NODESET}Uri")]
    assert "urn:plant-twin:plant" in uris
    names = {el.get("BrowseName", "").split(":")[-1] for el in root.iter(f"{NODESET}UAVariable")}
    assert {"SpeedSetpoint", "PowerKW", "EngineeringUnits"} <= names
    assert any(el.get("BrowseName", "").endswith("BreakdownAlarm") for el in root.iter(f"{NODESET}UAObject"))


def test_nodes_export_as_csv_and_publisher_file():
    done = _plant("nodes", "export", "--plant", "gear_line", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert any(r["path"] == "Objects/Plant/GearLine/Control/C_A" and r["access"].startswith("read/write") for r in rows)
    pub = _plant("nodes", "export", "--format", "publisher", "--plain", "--endpoint", "opc.tcp://127.0.0.1:4999/plant")
    doc = json.loads(pub.stdout)
    assert doc[0]["EndpointUrl"].endswith(":4999/plant") and doc[0]["UseSecurity"] is False
    assert len(doc[0]["OpcNodes"]) == len(rows)
    bad = _plant("nodes", "export", "--format", "xml")
    assert bad.returncode == 2 and "use publisher or csv" in bad.stderr
