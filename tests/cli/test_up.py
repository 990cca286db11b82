"""`plant up` as a user runs it: one subprocess with the PLC and its server, the twin and the
optimizer, polled from outside until each part shows it works, then stopped by SIGTERM (by
its PID; nothing is killed by name)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, ua
from asyncua.ua.uaerrors import UaStatusCodeError

from tests.support.daemons import PLANT, Daemon, run_daemon
from tests.support.opcua_harness import NS
from tests.support.polling import until, wait_until


def poll(check: Callable[[], Any], timeout: float, what: str, proc: subprocess.Popen[str] | None = None,
         log: Path | None = None) -> Any:
    """`check()`'s first truthy result (tests/support/polling.py), failing at once if plant up ends."""
    def checked() -> Any:
        got = check()
        if not got and proc is not None and proc.poll() is not None:
            raise AssertionError(f"plant up ended ({proc.returncode}) before {what}:\n{_text(log)}")
        return got
    return wait_until(checked, timeout, what, interval=0.2, detail=lambda: _text(log)[-4000:])


def _text(path: Path | None) -> str:
    return path.read_text(errors="replace") if path is not None and path.exists() else ""


@contextmanager
def plant_up(tmp_path: Path, *args: str, name: str = "up",
             env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen[str], Path, str]]:
    """`plant up` on port 0 with its data in tmp_path, standard output into <name>.out and the
    log into <name>.log; yields the process, the log file and the URL it printed (with the port
    it bound) once it listens. Killed by PID if the test leaves it running."""
    log = tmp_path / f"{name}.log"
    with (tmp_path / f"{name}.out").open("w") as out, \
            run_daemon(["up", "--port", "0", "--data-dir", str(tmp_path), *args], log,
                       {"COLUMNS": "200", **(env or {})}, stdout=out, start_new_session=True) as up:
        yield up.proc, log, up.url()


def stop(proc: subprocess.Popen[str], log: Path) -> None:
    """SIGTERM, then exit 0: plant up's own bounded shutdown stopped every part within its
    timeouts and nothing was left running (an abandoned part makes it EXIT_STUCK)."""
    assert Daemon(proc, log).stop() == 0, _text(log)[-4000:]


def audit_entries(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # a line being written
            out.append(json.loads(line))
    return out


def history_lines(data_dir: Path, tag: str) -> list[str]:
    r = subprocess.run([PLANT, "history", tag, "--since", "1000d", "--data-dir", str(data_dir)], capture_output=True,
                       text=True, timeout=60, check=False)
    return r.stdout.splitlines() if r.returncode == 0 else []


def _web_state(base: str) -> dict[str, Any] | None:
    """The web view's /api/state once the twin has a state, else None."""
    import urllib.request

    with urllib.request.urlopen(base + "api/state", timeout=10) as r:
        state = json.loads(r.read())
    return state if state.get("connected") and state.get("values") else None


async def read_plant_time(url: str) -> float:
    async with Client(url, timeout=10) as c:
        idx = await c.get_namespace_index(NS)
        return float(await c.get_node(ua.NodeId("Plant/GearLine/KPIs/PlantTime", idx)).read_value())


def test_plant_up_serves_mirrors_optimises_and_stops_on_sigterm(tmp_path: Path) -> None:
    with plant_up(tmp_path, "--no-ui", "--time-factor", "max", "--optimize-every", "5") as (proc, log, url):
        assert url.endswith("/plant")
        assert asyncio.run(read_plant_time(url)) >= 0.0, "an anonymous asyncua client reads the plant"
        twin_dir = tmp_path / "twin"
        db = twin_dir / "history.sqlite"
        poll(lambda: db.exists() and history_lines(twin_dir, "GearLine/MP1/MP1/State"), 90,
             "stored twin history (plant history)", proc, log)
        before = len(history_lines(twin_dir, "GearLine/MP1/MP1/State"))
        poll(lambda: len(history_lines(twin_dir, "GearLine/MP1/MP1/State")) != before, 60, "a growing history",
             proc, log)
        audit = tmp_path / "optimizer" / "audit.jsonl"
        entries = poll(lambda: [e for e in audit_entries(audit) if e.get("outcome") not in (None, "skipped")], 120,
                       "an audited optimisation run", proc, log)
        first = entries[0]
        assert first["outcome"] in ("written", "kept", "refused", "readback_mismatch"), first
        assert first["snapshot"].startswith(f"opcua:{url}@plant_h="), "the optimizer read the live plant"
        assert first["forecast"].startswith(f"twin:{tmp_path / 'twin' / 'snapshot.json'}"), "and forecast from the twin"
        assert "optimizer: job" in _text(log)
        web = poll(lambda: re.search(r"web view at (http://127\.0\.0\.1:\d+/)", _text(log)), 30, "the web view",
                   proc, log)
        state = poll(lambda: _web_state(web.group(1)), 30, "the twin's state in the web view", proc, log)
        assert "GearLine/MP1/MP1/State" in state["values"], sorted(state["values"])[:5]
        stop(proc, log)
    text = _text(log)
    assert "Traceback" not in text, text[-4000:]
    order = [text.index(x) for x in ("web view stopped", "optimizer stopped", "twin_core.daemon: stopped",
                                     "OPC UA server stopped", "plant up stopped cleanly")]
    assert order == sorted(order), "the web view, the optimizer and the twin stop before the server"
    health = json.loads((tmp_path / "twin" / "health.json").read_text())
    assert health["running"] is False and health["stored"] > 0 and health["spool_depth"] == 0


def test_ctrl_c_lets_the_run_under_way_finish_and_be_audited(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group (here: its own session), worker processes
    included: they ignore it, the run under way finishes, is audited, and plant up exits 0."""
    # A short run (its search budget 1 s, a small verification): plant up waits 10 s for a run
    # under way, and the run must fit in that on a loaded machine too.
    job = {"name": "cards", "problem": "cards", "interval_s": 600, "reps": 2, "verify_reps": 4, "hours": 168,
           "warmup": 48, "budget_s": 1, "generations": 50, "pop_size": 6}
    with plant_up(tmp_path, "--no-ui", "--time-factor", "600",
                  env={"PLANT_OPTIMIZER_JOBS": json.dumps([job])}) as (proc, log, _url):
        poll(lambda: "optimizer: job cards started" in _text(log), 60, "a run under way", proc, log)
        os.killpg(proc.pid, signal.SIGINT)  # our own child's process group, as a terminal's Ctrl-C
        assert Daemon(proc, log).wait() == 0, _text(log)[-4000:]
    [entry] = audit_entries(tmp_path / "optimizer" / "audit.jsonl")
    assert entry["outcome"] in ("written", "kept"), entry.get("reasons", entry)
    text = _text(log)
    assert text.index("optimizer: job cards") < text.index("optimizer stopped") < text.index("plant up stopped cleanly")


def session_processes(sid: int) -> list[str]:
    r = subprocess.run(["ps", "-o", "pid=,args=", "-s", str(sid)], capture_output=True, text=True, check=False)
    return [x for x in r.stdout.splitlines() if x.strip()]


def test_a_run_longer_than_the_shutdown_timeout_is_abandoned_and_the_exit_says_so(tmp_path: Path) -> None:
    job = {"name": "cards", "problem": "cards", "interval_s": 600, "reps": 3, "verify_reps": 30, "hours": 2000,
           "warmup": 500, "budget_s": 120, "generations": 1000, "pop_size": 10}
    with plant_up(tmp_path, "--no-ui", "--time-factor", "600",
                  env={"PLANT_OPTIMIZER_JOBS": json.dumps([job])}) as (proc, log, _url):
        poll(lambda: "optimizer: job cards started" in _text(log), 60, "a run under way", proc, log)
        assert Daemon(proc, log).stop() == 1, _text(log)[-4000:]
    text = _text(log)
    assert "did not finish within" in text and "OPC UA server stopped" in text, text[-4000:]
    assert "still running" not in text, "its workers ended, its thread with them, within the exit's deadline"
    poll(lambda: not session_processes(proc.pid), 20, "the worker processes gone")


DEMO = re.compile(r"demo user (\w+) \((\w+)\) password (\S+)")


async def write_cards(url: str, user: str, password: str, value: int) -> int:
    """Writes C_A as `user`; returns what the tag reads once the PLC has scanned."""
    c = Client(url, timeout=10)
    c.set_user(user)
    c.set_password(password)
    async with c:
        idx = await c.get_namespace_index(NS)
        node = c.get_node(ua.NodeId("Plant/GearLine/Control/C_A", idx))
        await node.write_value(ua.Variant(value, ua.VariantType.Int32))
        clock = c.get_node(ua.NodeId("Plant/GearLine/KPIs/PlantTime", idx))
        t0 = await clock.read_value()

        async def scanned() -> bool:
            return bool(await clock.read_value() > t0)

        await until(scanned, what="a PLC scan after the write", interval=0.1)
        return int(await node.read_value())


def test_demo_users_are_made_once_and_the_engineer_writes_a_setpoint(tmp_path: Path) -> None:
    with plant_up(tmp_path, "--time-factor", "600", name="first") as (proc, log, url):  # stdout no terminal: no view
        users = {m.group(1): (m.group(2), m.group(3)) for m in DEMO.finditer(_text(log))}
        assert users.keys() == {"operator", "engineer"}, _text(log)
        role, password = users["engineer"]
        assert role == "engineer"
        assert asyncio.run(write_cards(url, "engineer", password, 9)) == 9
        with pytest.raises(UaStatusCodeError) as refused:
            asyncio.run(write_cards(url, "operator", users["operator"][1], 8))
        assert refused.value.code == ua.StatusCodes.BadUserAccessDenied
        stop(proc, log)
    kept_demo = tmp_path / "demo-passwords"
    assert f"passwords kept in {kept_demo} (0600" in _text(log)
    assert stat.S_IMODE(kept_demo.stat().st_mode) == 0o600
    assert all(f"{name}\t{role}\t{pw}" in kept_demo.read_text() for name, (role, pw) in users.items())
    stored = json.loads((tmp_path / "users.json").read_text())
    assert {"operator", "engineer", "optimizer"} <= stored.keys()
    assert stored["optimizer"]["role"] == "engineer"
    secret = tmp_path / "optimizer" / "password"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    kept = secret.read_text()
    assert kept.strip() and kept.strip() not in _text(log), "the optimizer's password is never printed"

    with plant_up(tmp_path, "--time-factor", "600", name="second") as (proc, log, url):
        assert "demo user" not in _text(log), "passwords are printed only when the users are made"
        assert asyncio.run(write_cards(url, "engineer", password, 7)) == 7, "the same password still works"
        stop(proc, log)
    assert secret.read_text() == kept, "the optimizer keeps its password"
    assert _text(tmp_path / "first.out") == "", "no live view when standard output is not a terminal"


def test_the_live_view_in_a_terminal(tmp_path: Path) -> None:
    """On a terminal (a pseudo-terminal here) plant up draws the view; Ctrl-C stops it with 0."""
    import pty

    master, slave = pty.openpty()
    log = tmp_path / "view.log"
    with log.open("w") as err:
        proc = subprocess.Popen([PLANT, "up", "--port", "0", "--data-dir", str(tmp_path),
                                 "--time-factor", "600", "--optimize-every", "600"], stdout=slave, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env={**os.environ, "COLUMNS": "160", "LINES": "50", "TERM": "xterm"})
    os.close(slave)
    os.set_blocking(master, False)
    seen = bytearray()

    def drawn() -> bool:
        with contextlib.suppress(BlockingIOError, OSError):
            while chunk := os.read(master, 65536):
                seen.extend(chunk)
        text = seen.decode(errors="replace")
        return all(x in text for x in ("plant time", "machines", "KPIs", "points stored", "optimizer", "MP3"))

    try:
        poll(drawn, 90, "the live view", proc, log)
        os.killpg(proc.pid, signal.SIGINT)
        def exited() -> bool:
            drawn()  # keep the terminal drained
            return proc.poll() is not None

        poll(exited, 60, "plant up to exit on Ctrl-C", log=log)
        assert proc.returncode == 0, _text(log)[-4000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_a_port_in_use_is_one_error_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([PLANT, "up", "--no-ui", "--port", str(port), "--data-dir", str(tmp_path)],
                           capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and f"port {port}" in lines[0], r.stderr


def test_a_bad_twin_setting_names_its_table(tmp_path: Path) -> None:
    config = tmp_path / "plant.toml"
    config.write_text("[twin]\npublishing_ms = -1\n")
    r = subprocess.run([PLANT, "up", "--no-ui", "--port", "0", "--data-dir", str(tmp_path),
                        "--config", str(config)], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "[twin] publishing_ms" in lines[0] and "PLANT_TWIN_PUBLISHING_MS" in lines[0], r.stderr


def test_a_busy_twin_metrics_port_names_the_setting(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        config = tmp_path / "plant.toml"
        config.write_text(f"[twin]\nmetrics_port = {busy}\n")
        r = subprocess.run([PLANT, "up", "--no-ui", "--port", "0", "--data-dir", str(tmp_path),
                            "--config", str(config)], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 2, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and f"metrics port {busy}" in lines[0] and "[twin] metrics_port" in lines[0], r.stderr


# --- in-process: the settings of every part, the users, the view ----------------------------

@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in list(os.environ):
        if var.startswith(("PLANT_PLC_", "PLANT_OPCUA_", "PLANT_TWIN_", "PLANT_OPTIMIZER_")) or var == "PLANT_DATA_DIR":
            monkeypatch.delenv(var)


def test_every_part_reads_its_table_and_follows_the_plc(tmp_path: Path, clean_env: None) -> None:
    from plantctl.cmd_up import load_up

    config = tmp_path / "plant.toml"
    config.write_text('[plc]\nplant = "auto_parts_cell"\n\n[opcua]\nmax_sessions = 7\n\n'
                      '[twin]\nplant = "gear_line"\npublishing_ms = 250\n\n[optimizer]\nalpha = 0.1\n')
    cfg = load_up(config, {"time_factor": "max"}, {"port": 0, "allow_none_policy": True,
                                                   "trust_all_clients": True}, tmp_path, None, False)
    assert cfg.plc.plant == "auto_parts_cell" and cfg.plc.time_factor is None
    assert cfg.server.max_sessions == 7 and cfg.server.allow_none_policy and cfg.server.data_dir == tmp_path
    assert cfg.twin.publishing_ms == 250 and cfg.twin.plant == "auto_parts_cell", "the twin mirrors the PLC's plant"
    assert cfg.twin.data_dir == tmp_path / "twin" and cfg.twin.metrics_port == 0
    assert cfg.optimizer.alpha == 0.1 and cfg.optimizer.plant == "auto_parts_cell"
    assert cfg.optimizer.data_dir == tmp_path / "optimizer"
    [job] = cfg.optimizer.jobs
    assert (job.problem, job.interval_s) == ("setpoints", 60.0), "a short demo job that fits the plant"


def test_configured_jobs_and_data_dirs_are_kept(tmp_path: Path, clean_env: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from plantctl.cmd_up import load_up

    config = tmp_path / "plant.toml"
    config.write_text(f'[twin]\ndata_dir = "{tmp_path / "tw"}"\n\n'
                      '[[optimizer.jobs]]\nname = "nightly"\nproblem = "cards"\ncron = "0 2 * * *"\n')
    monkeypatch.setenv("PLANT_DATA_DIR", str(tmp_path / "srv"))
    monkeypatch.setenv("PLANT_OPTIMIZER_DATA_DIR", str(tmp_path / "opt"))
    cfg = load_up(config, {}, {"port": 0}, None, None, False)
    assert cfg.server.data_dir == tmp_path / "srv"
    assert cfg.twin.data_dir == tmp_path / "tw" and cfg.optimizer.data_dir == tmp_path / "opt"
    assert [(j.name, j.cron) for j in cfg.optimizer.jobs] == [("nightly", "0 2 * * *")]
    every = load_up(config, {}, {"port": 0}, None, 30.0, False)
    assert [(j.name, j.interval_s, j.cron) for j in every.optimizer.jobs] == [("nightly", 30.0, None)]


def test_the_optimizer_user_uses_a_configured_password_or_refuses_a_wrong_one(tmp_path: Path) -> None:
    import typer

    from opcua_server.users import UserStore
    from optimizer_svc.settings import OptimizerSettings
    from plantctl.cmd_up import ensure_optimizer_user

    store = UserStore(tmp_path / "users.json")
    given = OptimizerSettings.load(data_dir=tmp_path / "opt", password="configured-pw-1")
    assert ensure_optimizer_user(store, given)[0] == "configured-pw-1"
    assert store.verify("optimizer", "configured-pw-1") == "engineer"
    assert not (tmp_path / "opt" / "password").exists(), "a configured password is not written anywhere"
    wrong = OptimizerSettings.load(data_dir=tmp_path / "opt", password="another-pw-2")
    with pytest.raises(typer.Exit):
        ensure_optimizer_user(store, wrong)


def test_the_view_renders_from_the_live_objects(tmp_path: Path) -> None:
    from rich.console import Console

    from plantctl.ui import Dashboard
    from plc_sim.model.spec import load_plant
    from plc_sim.plc.runtime import PlcRuntime
    from twin_core.health import HealthView

    plc = PlcRuntime(load_plant("gear_line"), seed=1, time_factor=None)
    plc.table.refresh(plc.calendar_h)
    plc.scan(30.0)
    board = Dashboard(plc, "opc.tcp://127.0.0.1:4840/plant", tmp_path)
    health = HealthView(running=True, endpoint="opc.tcp://127.0.0.1:4840/plant", connected=True, problem="", gaps=0,
                        reconnects=0, notifications=10, events=1, sink="sqlite", sink_up=True, stored=12345,
                        points_per_s=99.0, lag_p50_s=0.1, lag_p99_s=0.2, source_lag_s=None, spool_depth=3, replayed=0,
                        dropped=0, last_calibration=None, time=time.time())
    last = {"time": "2026-11-23T12:00:00+00:00", "job": "cards", "outcome": "written", "elapsed_s": 2.5,
            "improvement": {"mean": 12.5, "half_width": 1.0, "n": 8}, "p_value": 0.001,
            "current": {"C.A": 8}, "written": {"C.A": 9}, "reasons": []}
    out = Console(record=True, width=160, force_terminal=False)
    out.print(board.render(health, (None, None, 1, last), time.time() + 30))
    text = out.export_text()
    assert "plant time 2026-01-06" in text and "MP1" in text and "Zmax" in text
    assert "12,345" in text and "cards: written" in text and "C.A: 8 -> 9" in text
    out.print(board.render(None, ("cards", time.time() - 3, 0, None), None))
    assert "running cards" in out.export_text()
    advised = last | {"outcome": "recommended", "written": {}, "recommended": {"C.A": 9},
                      "recommendation": "recommendation 4: 1 setpoint change(s), open"}
    out.print(board.render(health, (None, None, 2, advised), None))
    text = out.export_text()
    assert "cards: recommended" in text and "recommendation 4: 1 setpoint change(s), open: C.A: 8 -> 9" in text
