"""Write-back against a real PLC and OPC UA server on loopback: a secure engineer session
writes, reads back, and the PLC's model uses the new values; a refused write is reported,
what the run had written is restored, and nothing is retried."""

from __future__ import annotations

import pytest
from asyncua import ua

from optimizer_svc.settings import OptimizerSettings
from optimizer_svc.tags import NotLiveError, tag_refs
from optimizer_svc.writeback import PlantLink
from plc_sim.model.spec import PLANTS_DIR, load_plant
from plc_sim.model.variants import with_model
from tests.support.opcua_harness import USERS, running_plant


def _settings(srv, tmp_path, user: str = "eve", **kw) -> OptimizerSettings:
    return OptimizerSettings(server_url=srv.url, username=user, password=USERS[user][1],
                             data_dir=tmp_path / "optimizer", **kw)


async def test_secure_write_reads_back_and_the_plc_uses_it(tmp_path):
    spec = load_plant("auto_parts_cell")
    async with running_plant(tmp_path / "plant", plant="auto_parts_cell") as (plc, srv):
        settings = _settings(srv, tmp_path)
        async with PlantLink(settings, spec) as link:
            assert link.security == "Basic256Sha256/SignAndEncrypt"
            before = await link.read(["standby.CNC1", "dispatch.CNC3", "shift.Machining"])
            assert before == {"standby.CNC1": 0.0, "dispatch.CNC3": 1.0, "shift.Machining": "two"}
            report = await link.write({"standby.CNC1": 0.25, "dispatch.CNC3": 0.5, "shift.Machining": "two_sat"})
        assert report.outcome == "written", report.detail
        assert [w.status for w in report.writes] == ["Good"] * 3
        assert [w.readback for w in report.writes] == [0.25, 0.5, "two_sat"]
        assert plc.model.machine("CNC1").standby_timeout_h == 0.25
        assert plc.model.machine("CNC3").weight == 0.5
        assert plc.model.shift_plan[0] == "two_sat"
        assert (tmp_path / "optimizer" / "pki" / "own" / "optimizer_cert.der").exists()


async def test_card_counts_are_written_to_the_control_folder(tmp_path):
    spec = load_plant("gear_line")
    async with running_plant(tmp_path / "plant") as (plc, srv):
        async with PlantLink(_settings(srv, tmp_path), spec) as link:
            report = await link.write({"K1.A": 5, "C.B": 12})
        assert report.outcome == "written", report.detail
        assert plc.model.pools[0].cap[0] == 5
        assert plc.model.conwip_cap[1] == 12


async def test_the_one_conwip_count_of_s_kap_is_written_once(tmp_path):
    plant = tmp_path / "gear_hsop.toml"
    text = (PLANTS_DIR / "gear_line.toml").read_text()
    assert 'model = "BDOP"' in text
    plant.write_text(text.replace('model = "BDOP"', 'model = "HSOP"', 1))
    spec = load_plant(str(plant))
    assert [r.path[-1] for r in tag_refs(spec, "C")] == ["C_A"]
    with pytest.raises(NotLiveError, match="one CONWIP count"):
        tag_refs(spec, "C.A")
    async with running_plant(tmp_path / "plant", plant=str(plant)) as (plc, srv):
        async with PlantLink(_settings(srv, tmp_path), spec) as link:
            assert await link.read(["K1", "C"]) == {"K1": 4, "C": 8}
            report = await link.write({"K1": 5, "C": 12})
        assert report.outcome == "written", report.detail
        assert len(report.writes) == 2
        assert plc.model.pools[0].cap == 5
        assert list(plc.model.conwip_cap) == [12, 12] and plc.model.conwip_cap.shared


def test_d_kap_c_spans_every_product():
    spec = with_model(load_plant("gear_line"), "HDOP")
    assert [r.path[-1] for r in tag_refs(spec, "C")] == ["C_A", "C_B"]
    assert [r.path[-1] for r in tag_refs(spec, "C.B")] == ["C_B"]


async def test_a_refused_write_is_reported_and_the_run_restored(tmp_path):
    spec = load_plant("auto_parts_cell")
    async with running_plant(tmp_path / "plant", plant="auto_parts_cell") as (plc, srv):
        async with PlantLink(_settings(srv, tmp_path), spec) as link:
            report = await link.write({"standby.CNC1": 0.5, "dispatch.CNC1": 500.0, "standby.CNC2": 0.5})
            after = await link.read(["standby.CNC1", "standby.CNC2"])
        assert report.outcome == "refused"
        assert [w.status for w in report.writes] == ["Good", "BadOutOfRange"]
        assert "BadOutOfRange" in report.detail
        assert report.restored == ["AutoPartsCell/Machining/CNC1/StandbyTimeout=0.0: Good"]
        assert after == {"standby.CNC1": 0.0, "standby.CNC2": 0.0}
        assert plc.model.machine("CNC1").weight == 1.0


async def test_an_operator_cannot_write_setpoints(tmp_path):
    spec = load_plant("gear_line")
    async with running_plant(tmp_path / "plant") as (plc, srv):
        async with PlantLink(_settings(srv, tmp_path, user="olga"), spec) as link:
            report = await link.write({"K1.A": 6})
        assert report.outcome == "refused"
        assert report.writes[0].status == "BadUserAccessDenied"
        assert plc.model.pools[0].cap[0] == 4


@pytest.mark.parametrize("fallback", [False, True])
async def test_none_security_only_when_allowed(tmp_path, fallback):
    spec = load_plant("gear_line")
    async with running_plant(tmp_path / "plant", trust_all_clients=False) as (_plc, srv):
        settings = _settings(srv, tmp_path, allow_none_fallback=fallback)
        if not fallback:
            with pytest.raises((ua.UaError, ConnectionError, TimeoutError)):  # refused channel or session
                await PlantLink(settings, spec).connect()
            assert any((srv.settings.data_dir / "pki" / "rejected").iterdir()), "the untrusted certificate was refused"
            return
        async with PlantLink(settings, spec) as link:
            assert link.security == "None"
            assert await link.read(["K1.A"]) == {"K1.A": 4}


async def test_a_maintenance_plan_is_written_as_plan_json_and_policy(tmp_path):
    spec = load_plant("auto_parts_cell")
    plan = "[[500, 2.5], [900, 2.5]]"
    async with running_plant(tmp_path / "plant", plant="auto_parts_cell", time_factor=60.0) as (plc, srv):
        async with PlantLink(_settings(srv, tmp_path), spec) as link:
            report = await link.write({"maint_plan.CNC1": plan, "maint_policy.CNC1": "plan"})
        assert report.outcome == "written", report.detail
        maint = plc.model.machine("CNC1").maint_spec
        assert maint.policy == "plan"
        assert [list(w) for w in maint.plan] == [[500.0, 2.5], [900.0, 2.5]]
