"""The mirror against this project's own PLC and asyncua server on loopback, over an
encrypted session (Basic256Sha256 SignAndEncrypt) with a user of its own."""

from __future__ import annotations

import time

import pytest
from asyncua import ua

from plc_sim.plc.clock import wall_clock
from tests.support.opcua_harness import endpoint_port, running_plant, until
from tests.twin.conftest import twin_settings
from twin_core.historian.sqlite import SqliteSink
from twin_core.twin import Twin

pytestmark = pytest.mark.asyncio


def _pause(plc) -> None:
    """Plant time stands still: the scan target no longer moves past the model's clock."""
    plc.time_factor = 1e-12


def _mirror_matches(twin: Twin, plc) -> list[str]:
    wrong = []
    for tag in plc.table:
        obs = twin.state.values.get(tag.key)
        if obs is None or obs.value != tag.value:
            wrong.append(tag.key)
    return wrong


async def test_discovery_and_mirror_equal_the_plc_tags(tmp_path):
    async with running_plant(tmp_path / "plc") as (plc, srv):
        settings = twin_settings(srv.url, tmp_path / "twin")
        async with Twin(settings) as twin:
            await until(twin.mirror.ready.is_set, what="the mirror subscribed")
            layout = twin.mirror.layout
            assert set(layout.tags) == {t.key for t in plc.table}
            assert set(layout.conditions) == {"MP1", "MP2", "MP3"}
            assert {"GearLine", "MP1", "MP2", "MP3"} <= set(layout.event_sources)
            await until(lambda: plc.model.machine("MP1").done > 5, what="some production")
            _pause(plc)
            scans = plc.scans
            await until(lambda: plc.scans > scans + 1, what="a scan after the pause")
            started = time.monotonic()
            await until(lambda: not _mirror_matches(twin, plc), timeout=10,
                        what=f"the mirror to equal the PLC ({_mirror_matches(twin, plc)[:5]})")
            print(f"mirror equal to the PLC {time.monotonic() - started:.3f} s after the last scan "
                  f"(publishing interval {settings.publishing_ms:.0f} ms)")
            assert twin.state.connected and not twin.state.gaps


async def test_events_and_alarm_conditions_arrive(tmp_path):
    async with running_plant(tmp_path / "plc") as (_plc, srv), Twin(twin_settings(srv.url, tmp_path / "twin")) as twin:
            await until(lambda: any(e.kind == "breakdown" and e.condition is None for e in twin.state.events),
                        timeout=30, what="a breakdown event")
            await until(lambda: any(a.condition and a.active for a in twin.state.alarms.values()), timeout=30,
                        what="an active breakdown alarm condition")
            ev = next(e for e in twin.state.events if e.kind == "breakdown")
            assert ev.severity >= 700 and ev.source in ("GearLine/MP1/MP1", "GearLine/MP2/MP2", "GearLine/MP3/MP3")
            assert ev.time is not None
            await until(lambda: twin.mirror.stats.duplicate_events > 0, timeout=30,
                        what="an event reported again at a notifier above its source")
            keys = [(e.kind, e.source, e.time, e.condition, e.active, e.acked) for e in twin.state.events]
            assert len(keys) == len(set(keys)), "every event is kept once"


async def test_bad_quality_stays_bad(tmp_path):
    async with running_plant(tmp_path / "plc") as (_plc, srv):
        async with Twin(twin_settings(srv.url, tmp_path / "twin")) as twin:
            key = "GearLine/Control/S1_A"
            await until(lambda: twin.state.good_value(key) is not None, what="the good value first")
            good = twin.state.good_value(key)
            bad = ua.DataValue(StatusCode=ua.StatusCode(ua.StatusCodes.BadSensorFailure),
                               SourceTimestamp=srv.source_stamp(wall_clock()))  # as the server stamps
            await srv.server.iserver.aspace.write_attribute_value(ua.NodeId(f"Plant/{key}", srv.nodes.idx),
                                                                  ua.AttributeIds.Value, bad)
            await until(lambda: not twin.state.values[key].good, what="the bad status mirrored")
            obs = twin.state.values[key]
            assert obs.status == ua.StatusCodes.BadSensorFailure
            assert obs.value is None and obs.value != good
            assert twin.state.good_value(key, default="no value") == "no value"
        sink = SqliteSink(tmp_path / "twin" / "history.sqlite")
        status = sink.series("tag", {"path": key}, "status")
        values = sink.series("tag", {"path": key}, "value")
        assert status[-1][1] == ua.StatusCodes.BadSensorFailure
        assert values[-1][0] < status[-1][0], "no value is stored at the bad point's time"


async def test_gap_is_marked_and_the_twin_recovers_alone(tmp_path):
    data = tmp_path / "plc"
    async with running_plant(data) as (_plc, srv):
        port = endpoint_port(srv)
        twin = Twin(twin_settings(srv.url, tmp_path / "twin"))
        await twin.start()
        await until(twin.mirror.ready.is_set, what="the mirror subscribed")
    try:
        await until(lambda: twin.state.gaps and twin.state.gaps[-1].end is None, what="the gap marked")
        assert not twin.state.connected
        async with running_plant(data, port=port) as (_plc2, _srv2):
            await until(twin.mirror.ready.is_set, timeout=30, what="the twin reconnected")
            gap = twin.state.gaps[-1]
            assert gap.end is not None and gap.end >= gap.start
            assert twin.mirror.stats.reconnects == 1
            await until(lambda: twin.state.good_value("GearLine/KPIs/PlantTime", 0) > 0, what="fresh values")
    finally:
        await twin.stop()
    sink = SqliteSink(tmp_path / "twin" / "history.sqlite")
    gaps = sink.series("twin_gap", {"endpoint": twin.settings.endpoint}, "seconds")
    assert len(gaps) == 1 and gaps[0][1] > 0


@pytest.mark.parametrize("match_plant,report", [(True, "not plant"), (False, "tags gone")])
async def test_another_plant_on_the_same_endpoint_is_reported_not_mirrored(tmp_path, match_plant, report):
    """Checked against the plant file, or (without one) against the tags mirrored before."""
    data = tmp_path / "plc"
    async with running_plant(data) as (_plc, srv):
        port = endpoint_port(srv)
        twin = Twin(twin_settings(srv.url, tmp_path / "twin", match_plant=match_plant, pin_server_certificate=False))
        await twin.start()
        await until(twin.mirror.ready.is_set, what="the mirror subscribed")
    try:
        async with running_plant(tmp_path / "plc2", plant="auto_parts_cell", port=port):
            await until(lambda: report in twin.mirror.stats.problem, timeout=30, what="the mismatch reported")
            assert not twin.mirror.ready.is_set()
            assert not twin.state.connected
    finally:
        await twin.stop()


async def test_operation_limits_split_reads_and_subscriptions(tmp_path):
    async with running_plant(tmp_path / "plc") as (plc, srv):
        limits = {ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead: 7,
                  ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall: 9,
                  ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerBrowse: 3}
        for nid, value in limits.items():
            await srv.server.get_node(ua.NodeId(nid)).write_value(ua.Variant(value, ua.VariantType.UInt32))
        seen: list[tuple[str, int]] = []
        service = srv.server.iserver.attribute_service
        read, create = service.read, srv.server.iserver.subscription_service.create_monitored_items

        def counting_read(params, *a, **kw):
            seen.append(("read", len(params.NodesToRead)))
            return read(params, *a, **kw)

        async def counting_create(params, *a, **kw):
            seen.append(("monitor", len(params.ItemsToCreate)))
            return await create(params, *a, **kw)

        service.read = counting_read
        srv.server.iserver.subscription_service.create_monitored_items = counting_create
        async with Twin(twin_settings(srv.url, tmp_path / "twin")) as twin:
            await until(twin.mirror.ready.is_set, what="the mirror subscribed")
            assert len(twin.mirror.layout.tags) == len(plc.table)
            await until(lambda: len(twin.state.values) == len(plc.table), what="every tag mirrored")
        reads = [n for kind, n in seen if kind == "read"]
        monitors = [n for kind, n in seen if kind == "monitor"]
        assert max(reads) <= 7 and sum(n for n in reads if n > 1) >= len(plc.table)
        assert max(monitors) <= 9 and sum(monitors) >= len(plc.table)


async def test_mapping_file_for_a_server_laid_out_differently(tmp_path):
    """The mapping names the server's nodes for the plant's tag paths (here a handful of tags
    under other names); the twin mirrors exactly those, by namespace URI."""
    async with running_plant(tmp_path / "plc") as (_plc, srv):
        wanted = ["GearLine/KPIs/PlantTime", "GearLine/MP1/MP1/State", "GearLine/MP1/MP1/PartsDone"]
        lines = ["[tags]"] + [f'"{w}" = "nsu=urn:plant-twin:plant;s=Plant/{w}"' for w in wanted]
        lines += ["[events]", '"MP1" = "nsu=urn:plant-twin:plant;s=Plant/GearLine/MP1/MP1"']
        mapping = tmp_path / "mapping.toml"
        mapping.write_text("\n".join(lines) + "\n")
        settings = twin_settings(srv.url, tmp_path / "twin", mapping_file=mapping, match_plant=False)
        async with Twin(settings) as twin:
            await until(twin.mirror.ready.is_set, what="the mirror subscribed")
            assert set(twin.mirror.layout.tags) == set(wanted)
            await until(lambda: set(twin.state.values) == set(wanted), what="the mapped tags mirrored")
            await until(lambda: twin.state.good_value("GearLine/MP1/MP1/PartsDone", 0) > 0, what="changes")


async def test_absolute_deadband_from_settings_holds_back_small_changes(tmp_path):
    async with running_plant(tmp_path / "plc") as (plc, srv):
        settings = twin_settings(srv.url, tmp_path / "twin", deadband_abs=1e9)
        async with Twin(settings) as twin:
            await until(twin.mirror.ready.is_set, what="the mirror subscribed")
            energy, done = "GearLine/MP1/MP1/EnergyKWh", "GearLine/MP1/MP1/PartsDone"
            first = twin.state.values[energy].value
            start = twin.state.good_value(done)
            await until(lambda: twin.state.good_value(done) >= start + 5, what="Int32 changes still arrive")
            assert plc.table.get(energy).value > first
            assert twin.state.values[energy].value == first, "Double changes below the deadband are held back"


async def test_retained_alarms_are_known_right_after_connecting(tmp_path):
    """ConditionRefresh after subscribing: an unacknowledged breakdown from before the twin
    started is in its alarm state although no new event happens (plant time stands still)."""
    async with running_plant(tmp_path / "plc") as (plc, srv):
        await until(lambda: plc.alarms.retained(), timeout=30, what="a breakdown not yet acknowledged")
        _pause(plc)
        scans = plc.scans
        await until(lambda: plc.scans > scans + 1, what="a scan after the pause")
        stations = plc.spec.stations
        retained = {f"{plc.spec.line}/{stations[plc.model.machine(a.machine).stage].name}/{a.machine}"
                    for a in plc.alarms.retained()}  # events' SourceName: the machine's path
        assert retained
        async with Twin(twin_settings(srv.url, tmp_path / "twin")) as twin:
            await until(lambda: retained <= set(twin.state.alarms), what=f"the retained alarms {retained}")
            assert all(twin.state.alarms[n].condition for n in retained)


async def test_a_changed_server_certificate_is_refused(tmp_path):
    """Trust on first use: a server with another certificate on the same endpoint (another
    data directory) is refused and reported; the pinned one is accepted again."""
    async with running_plant(tmp_path / "plc") as (_plc, srv):
        port = endpoint_port(srv)
        twin = Twin(twin_settings(srv.url, tmp_path / "twin"))
        await twin.start()
        await until(twin.mirror.ready.is_set, what="the mirror subscribed")
    try:
        async with running_plant(tmp_path / "other", port=port):
            await until(lambda: "certificate" in twin.mirror.stats.problem, timeout=30, what="the refusal reported")
            assert not twin.mirror.ready.is_set()
        async with running_plant(tmp_path / "plc", port=port):
            await until(twin.mirror.ready.is_set, timeout=30, what="the pinned server accepted again")
    finally:
        await twin.stop()
