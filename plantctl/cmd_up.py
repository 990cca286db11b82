"""`plant up`: the whole plant in one process on embedded defaults.

One asyncio loop runs the PLC and its OPC UA server (local demo profile: None policy offered,
any client certificate accepted, anonymous viewers), the twin with its embedded SQLite
historian as a client of that server, the web view and a live terminal view; the optimizer's scheduler runs
its jobs in a worker thread and their simulations in a process pool, as `plant optimizer` does.

Each part reads its settings through its own settings class (command line, then environment,
then the `--config` file's `[plc]`, `[opcua]`, `[twin]` and `[optimizer]` tables, then the
defaults below). On SIGTERM or Ctrl-C the parts stop in order, each with its own daemon's
shutdown: the optimizer (a run under way finishes and is audited), the twin (the historian is
flushed), then the PLC and the server. A second signal forces the exit at once."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from plantctl import demo_passwords
from plantctl.cmd_plc import DataDirOpt, FaultsOpt, HostOpt, PlantOpt, PortOpt, TimeFactorOpt, schedule_faults, start_hour
from plantctl.errors import check_data_dir, check_port, fail, load_settings, port_in_use_message
from plantctl.exiting import exit_within
from plc_sim.model.private_files import write_private

if TYPE_CHECKING:
    from opcua_server.daemon import PlcDaemon
    from opcua_server.settings import ServerSettings
    from opcua_server.users import UserStore
    from optimizer_svc.schedule import OptimizerService
    from optimizer_svc.settings import JobSettings, OptimizerSettings
    from plc_sim.model.spec import PlantSpec
    from plc_sim.plc.runtime import PlcRuntime
    from plc_sim.plc.settings import PlcSettings
    from twin_core.settings import TwinSettings
    from twin_core.twin import Twin
    from web_view.server import WebServer
    from web_view.settings import WebSettings

log = logging.getLogger("plant.up")
T = TypeVar("T")

DEMO_USERS = (("operator", "operator"), ("engineer", "engineer"))
"""Demo users made on the first `plant up` of a data directory (name, role)."""
PASSWORD_FILE = "password"
"""The optimizer's generated OPC UA password, in its data directory (mode 0600)."""
OPTIMIZER_STOP_S = 10.0
"""Seconds a run under way may take to finish at shutdown before the exit stops waiting."""
TWIN_STOP_S = 15.0
"""Seconds the twin may take to stop (its own stop bounds mirror and flush at 5 s each)."""
SNAPSHOT_WAIT_S = 30.0
"""Seconds the optimizer waits for the twin's first snapshot before it starts anyway."""
SERVER_STOP_S = 5.0
"""The PLC daemon's shutdown timeout."""
UI_REFRESH_S = 0.5

DEMO_JOB: dict[str, Any] = {"interval_s": 60.0, "reps": 2, "verify_reps": 8, "hours": 168.0, "warmup": 72.0,
                            "budget_s": 5.0, "generations": 3, "pop_size": 6}
"""A short job for the demo: a run every minute that takes a few seconds on two cores."""


@functools.cache
def up_twin_settings() -> type[TwinSettings]:
    """The twin of `plant up`: its Prometheus metrics are off unless a port is set (a demo
    machine may run other things on 9464). A class made on use: `plant --help` does not
    import the twin's settings (pydantic)."""
    from pydantic import Field

    from twin_core.settings import TwinSettings

    class UpTwinSettings(TwinSettings):
        metrics_port: int = Field(default=0, ge=0, le=65535)

    return UpTwinSettings


def _password() -> str:
    return secrets.token_urlsafe(12)


def ensure_demo_users(store: UserStore) -> list[tuple[str, str, str]]:
    """The demo operator and engineer, made with generated passwords when missing; returns
    (name, role, password) of those made now (the only time their passwords are known)."""
    made = []
    for name, role in DEMO_USERS:
        if store.role(name) is None:
            password = _password()
            store.add(name, role, password)
            made.append((name, role, password))
    return made


def write_secret(path: Path, text: str) -> None:
    """`text` into `path`, readable by its owner only (0600 from the start)."""
    write_private(path, text + "\n")


def ensure_optimizer_user(store: UserStore, settings: OptimizerSettings) -> tuple[str, str]:
    """The optimizer's engineer user in the server's users file and its password: the
    configured one (PLANT_OPTIMIZER_PASSWORD or [optimizer] password), else one generated on
    first run and kept in `<optimizer data dir>/password` (0600). Returns (password, what was done)."""
    name = settings.username
    if "password" in settings.model_fields_set and settings.password.get_secret_value():
        given = settings.password.get_secret_value()
        if store.role(name) is None:
            store.add(name, "engineer", given)
            return given, f"user {name} (engineer) created with the configured password"
        if store.verify(name, given) != "engineer":
            fail(f"optimizer user {name} in {store.path} is not an engineer with the configured password "
                 "(PLANT_OPTIMIZER_PASSWORD or [optimizer] password)")
        return given, f"user {name} (engineer) with the configured password"
    path = settings.data_dir / PASSWORD_FILE
    if path.exists():
        kept = path.read_text(encoding="utf-8").strip()
        if kept and store.verify(name, kept) == "engineer":
            return kept, f"user {name} (engineer), password in {path}"
    password = secrets.token_urlsafe(18)
    write_secret(path, password)
    existed = store.role(name) is not None
    store.add(name, "engineer", password)
    return password, (f"user {name} (engineer) {'reset' if existed else 'created'} with a generated password "
                      f"kept in {path} (0600)")


def demo_job(spec: PlantSpec) -> JobSettings:
    from optimizer_svc.settings import JobSettings

    problem = "setpoints" if spec.objectives is not None else "cards"
    return JobSettings(name=problem, problem=problem, **DEMO_JOB)


def client_url(url: str, host: str) -> str:
    """The URL the in-process clients use: loopback when the server listens on every interface."""
    if host in ("0.0.0.0", "::", ""):
        return url.replace(f"//{host}:", "//127.0.0.1:", 1) if host else url
    return url


def _resolver(fut: asyncio.Future[T]) -> Callable[[T], None]:
    """A callback that resolves `fut` with its argument (once)."""

    def resolve(value: T) -> None:
        if not fut.done():
            fut.set_result(value)

    return resolve


async def _first(*futures: asyncio.Future[Any]) -> None:
    """Until the first of `futures` is done."""
    await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)


@dataclass
class OptimizerStatus:
    """What the optimizer is doing, for the live view (written by its worker thread)."""

    running: str | None = None
    since: float | None = None
    runs: int = 0
    last: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class UpConfig:
    plc: PlcSettings
    server: ServerSettings
    twin: TwinSettings
    optimizer: OptimizerSettings
    spec: PlantSpec
    ui: bool
    web: WebSettings | None
    """The web view's settings; None with `--no-web`."""


class Up:
    """The parts, started in order and stopped in reverse; `await run()` returns the exit code
    or a one-line reason a part could not start."""

    def __init__(self, cfg: UpConfig) -> None:
        self.cfg = cfg
        self.plc: PlcRuntime | None = None
        self.daemon: PlcDaemon | None = None
        self.twin: Twin | None = None
        self.twin_stop = asyncio.Event()
        self.service: OptimizerService | None = None
        self.web: WebServer | None = None
        self.status = OptimizerStatus()
        self.stop_requested = asyncio.Event()
        self.url = ""
        self.abandoned = False
        self._signals = 0

    # --- signals ----------------------------------------------------------------------------

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)
        loop.add_signal_handler(signal.SIGUSR1, self._run_now)

    def _on_signal(self, sig: int) -> None:
        self._signals += 1
        name = signal.Signals(sig).name
        if self._signals > 1:
            log.warning("received %s again: forcing the exit", name)
            logging.shutdown()
            os._exit(1)
        log.info("received %s: stopping the optimizer, the twin, then the PLC and its server", name)
        self.stop_requested.set()

    def _run_now(self) -> None:
        if self.service is not None:
            log.info("SIGUSR1: running every optimizer job now")
            self.service.run_now()

    # --- the parts --------------------------------------------------------------------------

    async def _serve_plc(self, ready: asyncio.Future[str]) -> int:
        try:
            assert self.daemon is not None
            await self.daemon.serve(on_ready=_resolver(ready))
        except SystemExit as e:
            return int(e.code or 0)
        return 0

    def _optimizer_runner(self, settings: OptimizerSettings, job: JobSettings, audit: Any) -> dict[str, Any]:
        from optimizer_svc.cycle import run_job

        with self.status.lock:
            self.status.running, self.status.since = job.name, time.time()
        log.info("optimizer: job %s started", job.name)
        try:
            entry = run_job(settings, job, audit)
        finally:
            with self.status.lock:
                self.status.running, self.status.since = None, None
        with self.status.lock:
            self.status.runs += 1
            self.status.last = entry
        written = ", ".join(f"{k}={v}" for k, v in (entry.get("written") or {}).items())
        log.info("optimizer: job %s %s in %.1f s%s%s", job.name, entry.get("outcome"), entry.get("elapsed_s", 0.0),
                 f"; wrote {written}" if written else "",
                 f" ({'; '.join(entry.get('reasons') or [])})" if entry.get("reasons") else "")
        return entry

    async def run(self) -> int | str:
        from opcua_server.daemon import PlcDaemon
        from optimizer_svc.schedule import OptimizerService
        from plantctl import metrics as part_metrics
        from plc_sim.plc.runtime import PlcRuntime
        from twin_core.daemon import serve as twin_serve

        cfg = self.cfg
        self.plc = PlcRuntime(cfg.spec, seed=cfg.plc.seed, time_factor=cfg.plc.time_factor, scan_s=cfg.plc.scan_s,
                              overrun_report_s=cfg.plc.overrun_report_s,
                              start_h=start_hour(cfg.spec, cfg.plc.seed, cfg.plc.start_h))
        problem = schedule_faults(self.plc, cfg.plc.faults)
        if problem:
            return problem
        self.daemon = PlcDaemon(self.plc, cfg.server, shutdown_timeout_s=SERVER_STOP_S)
        loop = asyncio.get_running_loop()
        self._install_signals()

        # 1. the PLC and its server
        ready: asyncio.Future[str] = loop.create_future()
        plc_task = asyncio.create_task(self._serve_plc(ready), name="plc-daemon")
        await _first(plc_task, ready)
        if not ready.done():
            if self.daemon.should_exit.is_set() and not plc_task.cancelled() and plc_task.exception() is None:
                return plc_task.result()  # a signal while the server was starting
            return self._start_error("the PLC and its OPC UA server", plc_task)
        self._install_signals()  # the daemon installed its own handlers; the order of stopping is ours
        url = ready.result()
        self.url = client_url(url, cfg.server.host)
        typer.echo(f"listening at {url}", err=True)

        # 2. the twin, a client of that server
        twin_settings = cfg.twin.model_copy(update={"endpoint": self.url})
        twin_ready: asyncio.Future[Twin] = loop.create_future()
        twin_task = asyncio.create_task(
            twin_serve(twin_settings, on_ready=_resolver(twin_ready), stop=self.twin_stop), name="twin-daemon")
        await _first(twin_task, twin_ready)
        self._install_signals()
        if not twin_ready.done():
            reason = self._start_error("the twin", twin_task)
            await self._stop_server(plc_task)
            return reason
        self.twin = twin_ready.result()
        log.info("twin mirroring %s into %s", self.url, twin_settings.data_dir / "history.sqlite")

        # 3. the optimizer, an engineer on a secure channel, forecasting from the twin's snapshots
        twin_dir = cfg.optimizer.twin_dir or twin_settings.data_dir
        await self._first_snapshot(twin_dir / "snapshot.json", twin_task)
        opt = cfg.optimizer.model_copy(update={"server_url": self.url, "twin_dir": twin_dir})
        try:
            self.service = OptimizerService(opt, runner=self._optimizer_runner)
            self.service.start()
        except Exception as e:
            log.exception("the optimizer failed to start")
            await self._stop_twin(twin_task)
            await self._stop_server(plc_task)
            return f"the optimizer failed to start: {type(e).__name__}: {e}"
        self.service.run_now()  # a first run at once, then one per interval
        log.info("optimizer: %s as %s over %s, audit in %s", ", ".join(
            f"{j.name} every {j.interval_s:g} s" if j.interval_s else f"{j.name} at {j.cron}" for j in opt.jobs),
            opt.username, "Basic256Sha256/SignAndEncrypt" if opt.security == "SignAndEncrypt" else "None",
            opt.data_dir / "audit.jsonl")
        # 4. the web view, reading the twin's state and history and the optimizer's audit
        problem = await self._start_web(opt.data_dir / "audit.jsonl", twin_settings.data_dir / "history.sqlite")
        if problem:
            await self._stop_optimizer()
            await self._stop_twin(twin_task)
            await self._stop_server(plc_task)
            return problem

        metrics = part_metrics.serve_up(self)

        # 5. the live view, until a signal or a part ends by itself
        ui_task = asyncio.create_task(self._ui(), name="ui") if cfg.ui else None
        stop_wait = asyncio.create_task(self.stop_requested.wait(), name="stop-wait")
        await asyncio.wait({plc_task, twin_task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        self._install_signals()  # a part that ended by itself removed the handlers it had replaced
        code = 0
        signalled = self.twin_stop.is_set() or self.daemon.should_exit.is_set()  # caught by a part's own handler
        if not stop_wait.done() and not signalled:
            which = "the PLC daemon" if plc_task.done() else "the twin"
            log.error("%s ended by itself: stopping everything", which)
            code = 1
        stop_wait.cancel()
        if ui_task is not None:
            ui_task.cancel()
            await asyncio.gather(ui_task, return_exceptions=True)
        if self.web is not None:
            await self.web.stop()
        code = max(code, await self._stop_optimizer())
        code = max(code, await self._stop_twin(twin_task))
        code = max(code, await self._stop_server(plc_task))
        if metrics is not None:
            part_metrics.stop_metrics(metrics)
        if code == 0:
            log.info("plant up stopped cleanly")
        return code

    async def _start_web(self, audit: Path, history: Path) -> str | None:
        """The web view, when it is on; a one-line reason when it cannot listen."""
        from web_view.server import WebServer

        cfg = self.cfg
        if cfg.web is None or self.twin is None:
            return None
        twin = self.twin
        self.web = WebServer(cfg.web, cfg.spec, lambda: twin.state, self.url, cfg.server.data_dir / "users.json",
                             history, audit)
        try:
            url = await self.web.start()
        except OSError as e:
            self.web = None
            return port_in_use_message(e, cfg.web.host, cfg.web.port, "--web-port") or f"the web view: {e}"
        typer.echo(f"web view at {url}", err=True)
        return None

    async def _first_snapshot(self, path: Path, twin_task: asyncio.Task[Any]) -> None:
        """Until the twin has written a snapshot of this run (the optimizer's first run starts
        from it), a stop is requested, the twin ends, or SNAPSHOT_WAIT_S pass (the runs are
        then skipped, with the reason, until one is there)."""
        loop = asyncio.get_running_loop()
        started, deadline = time.time(), loop.time() + SNAPSHOT_WAIT_S
        while not (path.exists() and path.stat().st_mtime >= started):
            if self.stop_requested.is_set() or twin_task.done() or loop.time() > deadline:
                log.warning("no twin snapshot in %s yet: optimisation runs are skipped until there is one", path.parent)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_requested.wait(), 0.1)

    def _start_error(self, what: str, task: asyncio.Task[Any]) -> str:
        exc = None if task.cancelled() else task.exception()
        if isinstance(exc, OSError):
            message = port_in_use_message(exc, self.cfg.server.host, self.cfg.server.port)
            if message is not None:
                return message
        if exc is None:
            return f"{what} stopped while starting (exit code {task.result() if not task.cancelled() else '?'})"
        log.error("%s failed to start", what, exc_info=exc)
        return f"{what} failed to start: {type(exc).__name__}: {exc}"

    async def _stop_optimizer(self) -> int:
        """The optimizer daemon's shutdown: no new run, the run under way finishes and is audited."""
        service = self.service
        if service is None:
            return 0
        loop = asyncio.get_running_loop()
        done = asyncio.Event()

        def stop() -> None:
            try:
                service.shutdown(wait=True)
            finally:
                loop.call_soon_threadsafe(done.set)

        running = self.status.running
        if running:
            log.info("optimizer: waiting for the run of %s under way (at most %.0f s)", running, OPTIMIZER_STOP_S)
        threading.Thread(target=stop, name="optimizer-stop", daemon=True).start()
        try:
            await asyncio.wait_for(done.wait(), OPTIMIZER_STOP_S)
        except TimeoutError:
            log.error("optimizer: the run under way did not finish within %.0f s: not waiting for it", OPTIMIZER_STOP_S)
            self.abandoned = True
            return 1
        log.info("optimizer stopped")
        return 0

    async def _stop_twin(self, twin_task: asyncio.Task[None]) -> int:
        if self.plc is not None:
            self.plc.held = True  # plant time stands still: the twin flushes on a quiet plant
        self.twin_stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(twin_task), TWIN_STOP_S)
        except TimeoutError:
            log.error("the twin did not stop within %.0f s: cancelled", TWIN_STOP_S)
            twin_task.cancel()
            await asyncio.gather(twin_task, return_exceptions=True)
            return 1
        except Exception as e:
            log.error("the twin failed: %r", e, exc_info=e)
            return 1
        finally:
            self._install_signals()  # the twin's daemon removes the handlers it replaced
        return 0

    async def _stop_server(self, plc_task: asyncio.Task[int]) -> int:
        assert self.daemon is not None
        self.daemon.should_exit.set()
        try:
            return await plc_task
        except Exception as e:
            log.error("the PLC daemon failed: %r", e, exc_info=e)
            return 1

    # --- the live view ----------------------------------------------------------------------

    async def _ui(self) -> None:
        from plantctl.ui import Dashboard
        from twin_core.health import Health

        assert self.plc is not None and self.twin is not None
        health = Health(self.twin)
        board = Dashboard(self.plc, self.url, self.cfg.optimizer.data_dir)
        with board.live() as live:
            while True:
                with self.status.lock:
                    opt = (self.status.running, self.status.since, self.status.runs, self.status.last)
                nxt = self._next_run()
                live.update(board.render(health.view(), opt, nxt), refresh=True)
                await asyncio.sleep(UI_REFRESH_S)

    def _next_run(self) -> float | None:
        if self.service is None:
            return None
        times = [j.next_run_time.timestamp() for j in self.service.scheduler.get_jobs() if j.next_run_time]
        return min(times) if times else None


def _setup_logging(ui: bool) -> None:
    root = logging.getLogger()
    root.handlers.clear()
    if ui:
        from rich.logging import RichHandler

        from plantctl.ui import console

        handler: logging.Handler = RichHandler(console=console, show_path=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for noisy in ("asyncua", "asyncua.server", "asyncua.common", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("asyncua.client.client").setLevel(logging.ERROR)  # "session timeout ... got 600000ms"


def load_up(config: Path | None, plc_overrides: dict[str, Any], server_overrides: dict[str, Any],
            data_dir: Path | None, optimize_every: float | None, ui: bool,
            web_overrides: dict[str, Any] | None = None) -> UpConfig:
    """Every part's settings, checked, with `plant up`'s embedded defaults: the twin and the
    optimizer follow the PLC's plant and keep their data under the server's data directory
    unless their own data_dir is set."""
    from opcua_server.settings import ServerSettings
    from optimizer_svc.settings import OptimizerSettings
    from plantctl import metrics as part_metrics
    from plc_sim.model.spec import PlantFileError, load_plant
    from plc_sim.model.variants import VariantError, build_variant
    from plc_sim.plc.settings import PlcSettings
    from web_view.settings import WebSettings

    plc = load_settings(PlcSettings, config, plc_overrides)
    server = load_settings(ServerSettings, config, {**server_overrides, "data_dir": data_dir})
    base = {"plant": plc.plant}
    twin = load_settings(up_twin_settings(), config, {**base, "data_dir": None if data_dir is None else data_dir / "twin"})
    if "data_dir" not in twin.model_fields_set:
        twin = twin.model_copy(update={"data_dir": server.data_dir / "twin"})
    opt = load_settings(OptimizerSettings, config, {**base, "model": plc.model, "scenario": plc.scenario,
                                                    "sets": plc.sets or None,
                                                    "data_dir": None if data_dir is None else data_dir / "optimizer"})
    if "data_dir" not in opt.model_fields_set:
        opt = opt.model_copy(update={"data_dir": server.data_dir / "optimizer"})
    for path in (server.data_dir, twin.data_dir, opt.data_dir):
        check_data_dir(path)
    check_port(server.host, server.port)
    if twin.metrics_port:
        check_metrics_port(twin.metrics_host, twin.metrics_port)
    web = None if web_overrides is None else load_settings(WebSettings, config, web_overrides)
    if web is not None and web.port:
        check_port(web.host, web.port, "--web-port")
    if plc.metrics_port:
        part_metrics.check_metrics_port(plc.metrics_host, plc.metrics_port, part_metrics.PLC_SETTING)
    try:
        spec = build_variant(load_plant(plc.plant), model=plc.model, scenario=plc.scenario, sets=plc.sets)
    except (PlantFileError, VariantError) as e:
        fail(str(e))
    jobs = opt.jobs if "jobs" in opt.model_fields_set else [demo_job(spec)]
    if optimize_every is not None:
        jobs = [j.model_copy(update={"interval_s": optimize_every, "cron": None}) for j in jobs]
    opt = opt.model_copy(update={"jobs": jobs})
    return UpConfig(plc, server, twin, opt, spec, ui, web)


def check_metrics_port(host: str, port: int) -> None:
    """The twin's metrics port, free, or one line naming the setting."""
    try:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as e:
        fail(f"twin metrics port {port} on {host}: {e.strerror or e} "
             "([twin] metrics_port or PLANT_TWIN_METRICS_PORT; 0 turns the metrics off)")


def _users(cfg: UpConfig) -> None:
    """The demo users and the optimizer's user, before the server reads its users file."""
    from pydantic import SecretStr

    from opcua_server.users import UserStore

    path = cfg.server.data_dir / "users.json"
    try:
        store = UserStore(path)
    except (OSError, ValueError) as e:
        fail(f"{path}: not a users file ({e})")
    made = ensure_demo_users(store)
    if made:
        kept = demo_passwords.remember(cfg.server.data_dir, made)
        typer.echo(f"demo users created in {path}, passwords kept in {kept} (0600; `plant users list` shows "
                   "the users, `plant users add NAME --role ROLE` changes a password):", err=True)
        for name, role, password in made:
            typer.echo(f"  demo user {name} ({role}) password {password}", err=True)
    password, what = ensure_optimizer_user(store, cfg.optimizer)
    cfg.optimizer = cfg.optimizer.model_copy(update={"password": SecretStr(password)})
    trust = ("accepted by the demo profile (any client certificate)" if cfg.server.trust_all_clients else
             f"to be trusted: copy it into {cfg.server.data_dir / 'pki' / 'trusted'}")
    log.info("optimizer: %s; its certificate %s is %s", what,
             cfg.optimizer.data_dir / "pki" / "own" / "optimizer_cert.der", trust)


def up(plant: PlantOpt = None,
       model: Annotated[str | None, typer.Option(help="BDOP, BSOP, HDOP or HSOP")] = None,
       scenario: Annotated[int | None, typer.Option(help="Table-1 scenario")] = None,
       seed: Annotated[int | None, typer.Option(help="random seed (default 1)")] = None,
       time_factor: TimeFactorOpt = None, host: HostOpt = None, port: PortOpt = None,
       config: Annotated[Path | None, typer.Option(help="TOML file with \\[plc], \\[opcua], \\[twin], "
                                                        "\\[optimizer] and \\[web] tables")] = None,
       data_dir: DataDirOpt = None, faults: FaultsOpt = None,
       optimize_every: Annotated[float | None, typer.Option(min=1.0, help="seconds between optimisation runs "
                                                                         "(default 60)")] = None,
       ui: Annotated[bool, typer.Option(help="live terminal view (off when stdout is not a terminal)")] = True,
       web: Annotated[bool, typer.Option(help="serve the web view (the line, trends, alarms, optimizer runs)")] = True,
       web_port: Annotated[int | None, typer.Option(min=0, max=65535, help="the web view's port on 127.0.0.1 "
                                                                         "(default 8080; 0 picks a free one)")] = None,
       ) -> None:
    """Everything in one process on embedded defaults: the PLC and its OPC UA server in the local
    demo profile (None policy on, any client certificate accepted, anonymous viewers), the twin
    with its embedded historian, and the optimizer every minute as its own engineer user.

    The first start in a data directory makes the demo users `operator` and `engineer`,
    prints their generated passwords and keeps them in <data dir>/demo-passwords (0600; an
    HMI logs in with them; the engineer writes setpoints), and the optimizer's engineer user `optimizer`, whose password stays in
    <data dir>/optimizer/password (0600). Twin data: <data dir>/twin; optimizer audit:
    <data dir>/optimizer/audit.jsonl. SIGTERM or Ctrl-C stops the optimizer, the twin, then
    the server; a second one forces the exit. SIGUSR1 runs the optimizer now."""
    from plantctl.fork_server import start_fork_server
    from plantctl.malloc import tune_malloc
    from plantctl.memtrace import start_from_env

    ui = ui and sys.stdout.isatty()
    _setup_logging(ui)
    start_from_env()  # PLANT_TRACEMALLOC: opt-in memory tracing (bench/soak.py --trace)
    tune_malloc()  # before the parts start their threads
    cfg = load_up(config, {"plant": plant, "model": model, "scenario": scenario, "seed": seed,
                           "time_factor": time_factor, "faults": faults},
                  {"host": host, "port": port, "allow_none_policy": True, "trust_all_clients": True},
                  data_dir, optimize_every, ui, {"port": web_port} if web else None)
    _users(cfg)
    start_fork_server()
    up_ = Up(cfg)
    result = asyncio.run(up_.run())
    if isinstance(result, str):
        fail(result)
    if up_.abandoned:
        _end_workers()  # the abandoned run then fails fast (its pool is gone) and its thread ends
    exit_within(result or (1 if up_.abandoned else 0))


def _end_workers() -> None:
    """SIGTERM to the worker processes this process started (by PID), which a run abandoned at
    shutdown leaves computing: they would otherwise wait for work from a queue nobody closes."""
    import multiprocessing

    workers = multiprocessing.active_children()
    if workers:
        log.warning("ending %d worker process(es) of the abandoned run", len(workers))
    for p in workers:
        with contextlib.suppress(OSError):
            p.terminate()
    for p in workers:
        p.join(5)


def register(app: typer.Typer) -> None:
    app.command()(up)
