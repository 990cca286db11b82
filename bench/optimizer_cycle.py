"""Wall time of the optimizer (prints figures, not part of the test run).

1. Live setpoint optimisation cycles on the auto-parts cell, as `plant up` runs them: a
   loopback PLC + server (the plant has run two weeks), the twin mirroring it and writing its
   snapshot; each cycle reads the setpoints over OPC UA, forecasts a week ahead from the
   twin's snapshot and searches (GA), verifies on 30 paired replications, writes back and
   reads back (seed 000 claims cycles under 5 s). The median of `--cycles` cycles.
2. One `plant optimize` of the gear line, scenario 1 (HDOP by default: under HK-CONWIP the
   CONWIP cards are stock and Zmax has an interior optimum in C), with each of GA, PSO, DE
   and ES, including its 30-replication verification (target: each under 60 s), next to
   the computational costs of seed 004's Table 5.

    python bench/optimizer_cycle.py [--workers 2] [--cycles 5] [--model HDOP] [--skip-cycle] [--skip-offline]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from optimizer_svc.audit import AuditLog
from optimizer_svc.cycle import run_job
from optimizer_svc.forecast import Horizon
from optimizer_svc.offline import OfflineRun, changed, run_offline
from optimizer_svc.settings import JobSettings, OptimizerSettings
from optimizer_svc.solve import Budget

TABLE5_S = {"PSO": 5.69, "ES": 3.24, "DE": 3.74, "GA": 4.49}
# The off-shift modes of the machines that are not the bottleneck (robots, inspection, AGVs):
# the cell leaves them powered outside the shifts, and parking them costs no output.
CYCLE_JOB = JobSettings(name="cell-setpoints", problem="setpoints", algorithm="GA", kinds=["off_shift"],
                        machines=["RB1", "RB2", "QI1", "AGV1", "AGV2"], reps=3, verify_reps=30, hours=168.0,
                        generations=4, pop_size=8, budget_s=20.0)


def _port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def _cycles(workers: int, n: int) -> list[dict]:
    from opcua_server.server import PlantServer
    from opcua_server.settings import ServerSettings
    from plc_sim.model.spec import load_plant
    from plc_sim.plc.runtime import PlcRuntime
    from twin_core.daemon import serve
    from twin_core.settings import TwinSettings

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        plc = PlcRuntime(load_plant("auto_parts_cell"), seed=3, time_factor=60.0, scan_s=0.1, start_h=336.0)
        srv = PlantServer(plc, ServerSettings.load(port=_port(), data_dir=data / "plant", trust_all_clients=True))
        srv.users.add("optimizer", "engineer", "bench-password")
        srv.users.add("twin", "viewer", "twin-password")
        await srv.start()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(plc.run(stop)), asyncio.create_task(serve(TwinSettings.load(
            endpoint=srv.url, data_dir=data / "twin", plant="auto_parts_cell", username="twin",
            password="twin-password", metrics_port=0), stop=stop))]
        entries = []
        try:
            while not (data / "twin" / "snapshot.json").exists():
                await asyncio.sleep(0.1)
            settings = OptimizerSettings(server_url=srv.url, username="optimizer", password="bench-password",
                                         plant="auto_parts_cell", data_dir=data / "optimizer", workers=workers,
                                         twin_dir=data / "twin", jobs=[CYCLE_JOB])
            for _ in range(n):
                t0 = time.perf_counter()
                entry = await asyncio.to_thread(run_job, settings, CYCLE_JOB, AuditLog(data / "audit.jsonl"))
                entry["wall_s"] = time.perf_counter() - t0
                entries.append(entry)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            await srv.stop()
    return entries


def _offline(workers: int, model: str) -> list[tuple[str, float, object]]:
    rows = []
    for algorithm in ("GA", "PSO", "DE", "ES"):
        run = OfflineRun(plant="gear_line", model=model, scenario=1, algorithm=algorithm,
                         horizon=Horizon(2000.0, 500.0, 1), reps=5, verify_reps=30, vary_base_stock=False,
                         budget=Budget(seconds=30.0, generations=10, pop_size=10), jobs=workers)
        t0 = time.perf_counter()
        report = run_offline(run)
        rows.append((algorithm, time.perf_counter() - t0, report))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--model", default="HDOP", help="control model of the offline runs (BDOP, BSOP, HDOP, HSOP)")
    ap.add_argument("--skip-cycle", action="store_true")
    ap.add_argument("--skip-offline", action="store_true")
    args = ap.parse_args()
    if not args.skip_cycle:
        entries = asyncio.run(_cycles(args.workers, args.cycles))
        walls = [e["wall_s"] for e in entries]
        print(f"setpoint cycles (auto_parts_cell from the twin's snapshot, GA, {CYCLE_JOB.reps} reps x "
              f"{CYCLE_JOB.hours:g} h search, {CYCLE_JOB.verify_reps} paired verification reps, {args.workers} workers): "
              f"median {statistics.median(walls):.2f} s wall over {len(walls)} (min {min(walls):.2f}, "
              f"max {max(walls):.2f})")
        for e in entries:
            t = e.get("timings", {})
            gain = e.get("improvement") or {}
            print(f"  {e['wall_s']:.2f} s: " + ", ".join(f"{k} {v:.2f}" for k, v in t.items()) +
                  f"; {e['outcome']}" + (f", Z gain {gain['mean']:.1f} ± {gain['half_width']:.1f}, "
                                          f"p = {e['p_value']:.2g}" if gain else "") +
                  (f"; wrote {e['written']}" if e.get("written") else "") +
                  (f"; {e['reasons'][0]}" if e.get("reasons") else ""))
        print("  seed 000 target: under 5 s per cycle")
    if not args.skip_offline:
        print(f"\nplant optimize --plant gear_line --model {args.model} --scenario 1 (5 reps x 2000 h search, "
              "30 x 2000 h verification, budget 30 s, 10 x 10, K and C with the base stocks fixed)")
        print(f"{'method':<6} {'wall s':>8} {'search s':>9} {'cands':>6} {'Zmax gain':>12} {'p':>9} "
              f"{'verified':>9} {'Table 5 s':>10}")
        for algorithm, wall, report in _offline(args.workers, args.model):
            r, v = report.result, report.verdict
            gain = "" if v.improvement is None else f"{v.improvement.mean:,.0f}"
            print(f"{algorithm:<6} {wall:8.1f} {r.elapsed_s:9.1f} {r.evaluations:6d} {gain:>12} {v.p_value:9.2g} "
                  f"{'yes' if v.accepted else 'no':>9} {TABLE5_S[algorithm]:10.2f}")
            print(f"       {', '.join(f'{k} {a} -> {b}' for k, a, b in changed(report.decisions))}; {r.stopped}")


if __name__ == "__main__":
    main()
