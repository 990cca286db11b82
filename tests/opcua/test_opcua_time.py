"""Timestamps a historian accepts: wall clock by default, plant time on request, plant time
always beside them (PlantClock, TimeFactor, PlantTime of every event); history never mixes runs."""

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest
from asyncua import Client, ua

from plc_sim.plc.clock import PLANT_EPOCH
from plc_sim.plc.tags import Refusal, Rejected
from tests.support.opcua_harness import NS, running_plant, until

pytestmark = pytest.mark.asyncio


class Collect:
    def __init__(self):
        self.events = []

    def event_notification(self, event):
        self.events.append(event)


async def _events_and_reads(srv, plc):
    async with Client(srv.url, timeout=10) as c:
        idx = await c.get_namespace_index(NS)
        plant_type = await c.nodes.base_event_type.get_child(f"{idx}:PlantEventType")
        got = Collect()
        sub = await c.create_subscription(20, got)
        await sub.subscribe_events(c.nodes.server, plant_type)
        await until(lambda: plc.calendar_h > 0.5, what="the plant running")
        plc.report_refusal("GearLine/MP1/MP1/PartsDone", 1, "test", _refusal())  # an event, at once
        await until(lambda: any(getattr(e, "Kind", None) == "write_refused" for e in got.events), what="an event")
        ev = next(e for e in got.events if getattr(e, "Kind", None) == "write_refused")
        node = c.get_node(ua.NodeId("Plant/GearLine/KPIs/PlantTime", idx))
        read = (await c.uaclient.read(ua.ReadParameters(
            NodesToRead=[ua.ReadValueId(NodeId=node.nodeid, AttributeId=ua.AttributeIds.Value)],
            TimestampsToReturn=ua.TimestampsToReturn.Both)))[0]
        only_source = (await c.uaclient.read(ua.ReadParameters(
            NodesToRead=[ua.ReadValueId(NodeId=node.nodeid, AttributeId=ua.AttributeIds.Value)],
            TimestampsToReturn=ua.TimestampsToReturn.Source)))[0]
        await sub.delete()
        return ev, read, only_source


def _refusal():
    return Rejected(Refusal.NOT_WRITABLE, "a test refusal")


async def test_wall_clock_stamps_and_plant_time_beside_them(tmp_path):
    async with running_plant(tmp_path, time_factor=3600.0 * 10) as (plc, srv):
        before = datetime.now(UTC)
        ev, read, only_source = await _events_and_reads(srv, plc)
        now = datetime.now(UTC)
        assert before <= ev.Time <= now, "event Time is the wall clock at the event (not plant time)"
        assert PLANT_EPOCH <= ev.PlantTime <= PLANT_EPOCH + timedelta(hours=plc.calendar_h)
        assert read.SourceTimestamp <= now and read.ServerTimestamp is not None
        assert only_source.ServerTimestamp is None and only_source.SourceTimestamp is not None
        hours = read.Value.Value
        assert PLANT_EPOCH + timedelta(hours=hours) <= PLANT_EPOCH + timedelta(hours=plc.calendar_h)


async def test_plant_stamps_on_request_and_history_never_mixes_runs(tmp_path):
    async with running_plant(tmp_path, time_factor=3600.0 * 10) as (plc, srv):
        await until(lambda: srv.history.written > 10, what="some history")
    with closing(sqlite3.connect(tmp_path / "history.sqlite")) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1, "wall-clock keys"
    async with running_plant(tmp_path, time_factor=3600.0 * 10, timestamps="plant") as (plc, srv):
        ev, read, _ = await _events_and_reads(srv, plc)
        assert ev.Time == ev.PlantTime
        assert read.SourceTimestamp == PLANT_EPOCH + timedelta(hours=read.Value.Value)
    assert (tmp_path / "history.previous.sqlite").exists(), "the wall-clock run's history is kept apart"
    async with running_plant(tmp_path, time_factor=3600.0 * 10, timestamps="plant") as (plc, srv), \
            Client(srv.url, timeout=10) as c:
        idx = await c.get_namespace_index(NS)
        node = c.get_node(ua.NodeId("Plant/GearLine/KPIs/WIP", idx))
        values = await node.read_raw_history(PLANT_EPOCH - timedelta(days=1), PLANT_EPOCH + timedelta(days=3650))
        assert len({v.SourceTimestamp for v in values}) == len(values), "one run's plant times only"


async def test_server_certificate_names_the_host_with_one_common_name(tmp_path):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    from opcua_server.security import host_names, own_certificate

    key, cert = tmp_path / "key.pem", tmp_path / "cert.der"
    await own_certificate(key, cert, "urn:plant-twin:opcua-server", "127.0.0.1")
    c = x509.load_der_x509_certificate(cert.read_bytes())
    assert len(c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)) == 1
    san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns, ips = host_names("127.0.0.1")
    assert set(dns) <= set(san.get_values_for_type(x509.DNSName))
    assert {"127.0.0.1", *ips} <= {str(a) for a in san.get_values_for_type(x509.IPAddress)}
    assert "urn:plant-twin:opcua-server" in san.get_values_for_type(x509.UniformResourceIdentifier)
    before = cert.read_bytes()
    await own_certificate(key, cert, "urn:plant-twin:opcua-server", "127.0.0.1")
    assert cert.read_bytes() == before, "a fitting certificate is kept"
