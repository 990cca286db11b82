"""A live run whose current setpoints break a seed constraint (the gear line's PLC started
with K1.A = 3 < S3.A = 4, a plant file without the seed constraints, while the optimizer's
plant file has them) searches from where the plant stands and writes a feasible, verified
change instead of failing on "seed constraint K1.A >= S3.A"."""

from __future__ import annotations

import asyncio

from optimizer_svc.audit import AuditLog
from optimizer_svc.cycle import run_job
from optimizer_svc.settings import JobSettings, OptimizerSettings
from plc_sim.model.spec import PLANTS_DIR, load_plant, seed_constraint_problems
from tests.support.opcua_harness import USERS, running_plant

JOB = JobSettings(name="cards", problem="cards", algorithm="GA", reps=2, verify_reps=4, hours=400.0,
                  warmup=100.0, generations=2, pop_size=6)


def _infeasible_plant(tmp_path):
    text = (PLANTS_DIR / "gear_line.toml").read_text()
    text = text.replace('constraints = "seed"', 'constraints = "cards"')
    text = text.replace("K_dedicated = { A = [4, 4]", "K_dedicated = { A = [3, 4]")
    path = tmp_path / "gear_line_k3.toml"
    path.write_text(text)
    return path


async def test_an_infeasible_incumbent_is_moved_onto_the_feasible_set(tmp_path):
    async with running_plant(tmp_path / "plant", plant=str(_infeasible_plant(tmp_path))) as (plc, srv):
        settings = OptimizerSettings(server_url=srv.url, username="eve", password=USERS["eve"][1],
                                     data_dir=tmp_path / "optimizer", workers=1, jobs=[JOB])
        entry = await asyncio.to_thread(run_job, settings, JOB, AuditLog(settings.data_dir / "audit.jsonl"))
        assert entry["current"]["K1.A"] == 3
        assert entry["outcome"] == "written", entry["reasons"]
        assert entry["written"]["K1.A"] >= 4
        pol = load_plant("gear_line").policy
        caps = {p: [plc.model.pools[s].cap[i] for s in (0, 1)] for i, p in enumerate("AB")}
        live = pol.model_copy(update={"K_dedicated": caps, "C": {p: plc.model.conwip_cap[i] for i, p in enumerate("AB")}})
        assert seed_constraint_problems(live, ["A", "B"], 3) == [], "the plant is feasible again"
