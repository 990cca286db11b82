"""A whole optimisation cycle against a real PLC and server on loopback: read the setpoints,
search, verify, write back only what verification accepts, audit every run."""

from __future__ import annotations

import asyncio
import re

from asyncua import ua
from pydantic import SecretStr

from optimizer_svc.audit import AuditLog
from optimizer_svc.cycle import run_job, shifted_plan
from optimizer_svc.settings import JobSettings, OptimizerSettings
from plc_sim.model.spec import PLANTS_DIR
from tests.optimizer.conftest import IDLERS, OFF_SHIFT_JOB, cell_settings
from tests.support.opcua_harness import NS, USERS, client, int32, plant_node, running_plant, until

JOB = OFF_SHIFT_JOB
_settings = cell_settings


def _modes(plc) -> list[str]:
    return [plc.model.machine(m).off_shift_mode for m in IDLERS]


async def test_a_verified_improvement_is_written_and_audited(tmp_path):
    async with running_plant(tmp_path / "plant", plant="auto_parts_cell", time_factor=60.0) as (plc, srv):
        settings = _settings(srv, tmp_path)
        audit = AuditLog(settings.data_dir / "audit.jsonl")
        entry = await asyncio.to_thread(run_job, settings, JOB, audit)
        assert entry["outcome"] == "written", entry["reasons"]
        assert entry["written"] and set(entry["written"]) <= {f"off_shift.{m}" for m in IDLERS}
        for key, value in entry["written"].items():
            assert value in ("standby", "off"), "a change from the baseline's idle"
            assert plc.model.machine(key.split(".")[1]).off_shift_mode == value
        assert entry["current"] == {f"off_shift.{m}": "idle" for m in IDLERS}
        assert entry["after"]["Z"]["mean"] < entry["before"]["Z"]["mean"]
        assert entry["after"]["energy_kwh"]["mean"] < entry["before"]["energy_kwh"]["mean"]
        assert entry["after"]["T"]["mean"] >= 1.5 * 0.98, "T >= Tmin within the plant's tolerance"
        assert entry["p_value"] < 0.05
        assert entry["snapshot"].startswith("opcua:")
        assert entry["before"]["Z"]["half_width"] > 0 and entry["after"]["Z"]["n"] == 6
        assert entry["writes"]["outcome"] == "written" and set(entry["timings"]) == {
            "read_s", "snapshot_s", "search_s", "verify_s", "write_s"}
    assert audit.entries() == [entry]
    assert {"time", "job", "problem", "algorithm", "outcome"} <= set(entry)


async def test_a_refused_write_is_audited_and_not_retried(tmp_path):
    async with running_plant(tmp_path / "plant", plant="auto_parts_cell", time_factor=60.0) as (plc, srv):
        settings = _settings(srv, tmp_path).model_copy(update={"username": "olga",
                                                               "password": SecretStr(USERS["olga"][1])})
        audit = AuditLog(settings.data_dir / "audit.jsonl")
        entry = await asyncio.to_thread(run_job, settings, JOB, audit)
        assert entry["outcome"] == "refused"
        assert "BadUserAccessDenied" in entry["reasons"][0]
        assert len(entry["writes"]["writes"]) == 1
        assert _modes(plc) == ["idle"] * 5
    assert [e["outcome"] for e in audit.entries()] == ["refused"]


async def test_advisory_mode_only_recommends_and_an_operator_applies(tmp_path):
    async with running_plant(tmp_path / "plant", plant="auto_parts_cell", time_factor=60.0) as (plc, srv):
        settings = _settings(srv, tmp_path, mode="advisory")
        entry = await asyncio.to_thread(run_job, settings, JOB, AuditLog(settings.data_dir / "audit.jsonl"))
        assert entry["outcome"] == "recommended", entry["reasons"]
        assert entry["written"] == {} and entry["recommended"]
        assert _modes(plc) == ["idle"] * 5, "nothing written"
        (rec,) = plc.recommendations.open()
        assert rec.author == "eve" and f"p={entry['p_value']:.3g}" in rec.summary
        assert {k.split("/")[2]: v for k, v in rec.changes.items()} == {
            k.split(".")[1]: v for k, v in entry["recommended"].items()}
        async with client(srv, "olga") as c:
            idx = await c.get_namespace_index(NS)
            folder = plant_node(c, idx, "AutoPartsCell/Recommendations")
            await folder.call_method(ua.QualifiedName("Apply", idx), int32(rec.id))
        await until(lambda: all(plc.model.machine(k.split(".")[1]).off_shift_mode == v
                                for k, v in entry["recommended"].items()), what="the recommendation applied")


async def test_a_run_that_fails_verification_writes_nothing(tmp_path):
    async with running_plant(tmp_path / "plant", plant="auto_parts_cell", time_factor=60.0) as (plc, srv):
        settings = _settings(srv, tmp_path, margin=1e9)
        audit = AuditLog(settings.data_dir / "audit.jsonl")
        entry = await asyncio.to_thread(run_job, settings, JOB, audit)
        assert entry["outcome"] == "kept"
        assert entry["written"] == {}
        assert any("no significant improvement" in r for r in entry["reasons"])
        assert _modes(plc) == ["idle"] * 5


async def test_a_solution_that_breaks_a_constraint_is_never_written(tmp_path):
    strict = tmp_path / "strict_cell.toml"
    text = (PLANTS_DIR / "auto_parts_cell.toml").read_text()
    strict_text, n = re.subn(r"(?m)^r_max_kw = [0-9.]+", "r_max_kw = 5.0", text)
    assert n == 1
    strict.write_text(strict_text)
    async with running_plant(tmp_path / "plant", plant="auto_parts_cell", time_factor=60.0) as (plc, srv):
        settings = _settings(srv, tmp_path).model_copy(update={"plant": str(strict)})
        entry = await asyncio.to_thread(run_job, settings, JOB, AuditLog(settings.data_dir / "audit.jsonl"))
        assert entry["outcome"] == "kept"
        assert any("constraint R <= 5 broken" in r for r in entry["reasons"]), entry["reasons"]
        assert entry["written"] == {}
        assert _modes(plc) == ["idle"] * 5


def test_an_unreachable_server_is_recorded_as_an_error(tmp_path):
    settings = OptimizerSettings(server_url="opc.tcp://127.0.0.1:9/plant", plant="auto_parts_cell",
                                 data_dir=tmp_path, timeout_s=2.0, security="None", jobs=[JOB])
    entry = run_job(settings, JOB, AuditLog(tmp_path / "audit.jsonl"))
    assert entry["outcome"] == "error" and entry["reasons"]


def test_plan_windows_move_to_the_plant_clock():
    assert shifted_plan("[[100.0, 2.0], [300.0, 2.0]]", shift_h=1000.0 - 168.0, now_h=1000.0) == "[[1132.0, 2.0]]"


async def test_a_live_card_job_changes_only_k_and_c_within_their_limits(tmp_path):
    job = JobSettings(name="cards", problem="cards", algorithm="DE", reps=2, verify_reps=6, hours=600.0,
                      warmup=100.0, generations=2, pop_size=6)
    async with running_plant(tmp_path / "plant") as (plc, srv):
        settings = OptimizerSettings(server_url=srv.url, username="eve", password=USERS["eve"][1],
                                     data_dir=tmp_path / "optimizer", workers=1, jobs=[job])
        entry = await asyncio.to_thread(run_job, settings, job, AuditLog(settings.data_dir / "audit.jsonl"))
        assert entry["outcome"] in ("written", "kept"), entry["reasons"]
        assert set(entry["current"]) == {"K1.A", "K1.B", "K2.A", "K2.B", "C.A", "C.B"}
        assert all(not s.startswith("S") for s in entry["candidate"])
        for key, value in entry["written"].items():
            assert abs(value - entry["current"][key]) <= 2
        pools = {f"K{s + 1}.{p}": plc.model.pools[s].cap[i] for s in (0, 1) for i, p in enumerate("AB")}
        shown = pools | {f"C.{p}": plc.model.conwip_cap[i] for i, p in enumerate("AB")}
        assert shown == entry["current"] | entry["written"]
