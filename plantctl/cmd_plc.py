"""`plant plc` and `plant users`: the PLC daemon with its OPC UA server (`plant up`, which runs
it with the twin and the optimizer, is in cmd_up.py)."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from plantctl import demo_passwords
from plantctl.cmd_sim import sim_app
from plantctl.errors import check_data_dir, check_port, fail, load_settings, port_in_use_message
from plantctl.exiting import exit_within
from plc_sim.model.vocab import ROLES

if TYPE_CHECKING:
    from opcua_server.users import UserStore
    from plc_sim.model.spec import PlantSpec
    from plc_sim.plc.runtime import PlcRuntime

users_app = typer.Typer(help="The OPC UA server's users (roles: viewer, operator, engineer); "
                             "`plant users` alone lists them.", invoke_without_command=True)

PlantOpt = Annotated[str | None, typer.Option(help="bundled plant name or path to a plant TOML file "
                                                         "(default gear_line)")]
TimeFactorOpt = Annotated[str | None, typer.Option(help="plant seconds per wall second, or 'max' (default 60)")]
HostOpt = Annotated[str | None, typer.Option(help="address to listen on (default 127.0.0.1)")]
PortOpt = Annotated[int | None, typer.Option(help="port to listen on (default 4840)")]
ConfigOpt = Annotated[Path | None, typer.Option(help="TOML file with \\[plc] and \\[opcua] tables")]
FaultsOpt = Annotated[Path | None, typer.Option(help="fault script: a TOML file of faults at plant hours "
                                                         "(docs/faults.md)")]
DataDirOpt = Annotated[Path | None, typer.Option(help="data directory: users, certificates, history "
                                                          "(default: $PLANT_DATA_DIR, else ./data)")]


def _run(config: Path | None, plc_overrides: dict[str, object], server_overrides: dict[str, object]) -> None:
    """Start the PLC and its server; options given on the command line beat the environment,
    which beats the config file's [plc] and [opcua] tables."""
    from opcua_server.daemon import PlcDaemon
    from opcua_server.settings import ServerSettings
    from plantctl.metrics import PLC_SETTING, check_metrics_port, plc_collectors, serve_metrics, stop_metrics
    from plc_sim.model.spec import PlantFileError, load_plant
    from plc_sim.model.variants import VariantError, build_variant
    from plc_sim.plc.runtime import PlcRuntime
    from plc_sim.plc.settings import PlcSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for noisy in ("asyncua", "asyncua.server", "asyncua.common"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cfg = load_settings(PlcSettings, config, plc_overrides)
    settings = load_settings(ServerSettings, config, server_overrides)
    check_data_dir(settings.data_dir)
    check_port(settings.host, settings.port)
    if cfg.metrics_port:
        check_metrics_port(cfg.metrics_host, cfg.metrics_port, PLC_SETTING)
    try:
        spec = build_variant(load_plant(cfg.plant), model=cfg.model, scenario=cfg.scenario, sets=cfg.sets)
    except (PlantFileError, VariantError) as e:
        fail(str(e))
    plc = PlcRuntime(spec, seed=cfg.seed, time_factor=cfg.time_factor, scan_s=cfg.scan_s,
                     overrun_report_s=cfg.overrun_report_s, start_h=start_hour(spec, cfg.seed, cfg.start_h))
    problem = schedule_faults(plc, cfg.faults)
    if problem:
        fail(problem)
    daemon = PlcDaemon(plc, settings)
    metrics = serve_metrics(plc_collectors(plc, daemon.server), cfg.metrics_host, cfg.metrics_port) \
        if cfg.metrics_port else None
    code = 0
    try:
        asyncio.run(daemon.serve(on_ready=lambda url: typer.echo(f"listening at {url}", err=True)))
    except SystemExit as e:
        code = int(e.code or 0)
    except OSError as e:
        message = port_in_use_message(e, settings.host, settings.port)
        if message is None:
            raise
        fail(message)
    finally:
        if metrics is not None:
            stop_metrics(metrics)
    exit_within(code)


def start_hour(spec: PlantSpec, seed: int, start_h: float | None) -> float:
    """The configured start hour, or the plant's first hour on shift."""
    if start_h is not None:
        return start_h
    from plc_sim.model.line import LineModel

    return LineModel(spec, seed).first_shift_h()


def schedule_faults(plc: PlcRuntime, script: Path | None) -> str | None:
    """Arm the fault script `script` (if any) on `plc`; the problems of a bad one, else None."""
    if script is None:
        return None
    from plc_sim.plc.fault_script import FaultScriptError, load_fault_script

    try:
        plc.faults.schedule(load_fault_script(script, plc.faults))
    except FaultScriptError as e:
        return str(e)
    return None


def register(app: typer.Typer) -> None:
    @app.command()
    def plc(plant: PlantOpt = None,
            model: Annotated[str | None, typer.Option(help="BDOP, BSOP, HDOP or HSOP")] = None,
            scenario: Annotated[int | None, typer.Option(help="Table-1 scenario")] = None,
            set_: Annotated[list[str] | None, typer.Option("--set", help="policy or setpoint override")] = None,
            seed: Annotated[int | None, typer.Option(help="random seed (default 1)")] = None,
            time_factor: TimeFactorOpt = None, host: HostOpt = None, port: PortOpt = None, config: ConfigOpt = None,
            data_dir: DataDirOpt = None, faults: FaultsOpt = None,
            allow_none: Annotated[bool, typer.Option(help="offer the unencrypted None policy")] = False,
            trust_all: Annotated[bool, typer.Option(help="accept any client certificate")] = False) -> None:
        """Run the simulated PLC and its OPC UA server (secure profile)."""
        _run(config, {"plant": plant, "model": model, "scenario": scenario, "sets": set_ or None, "seed": seed,
                      "time_factor": time_factor, "faults": faults},
             {"host": host, "port": port, "data_dir": data_dir, "allow_none_policy": allow_none or None,
              "trust_all_clients": trust_all or None})

    app.add_typer(users_app, name="users")
    app.add_typer(sim_app, name="sim")  # the client side of a running server's Simulation object


_users_data_dir: Path | None = None


@users_app.callback()
def users_main(ctx: typer.Context, data_dir: DataDirOpt = None) -> None:
    """Users live in <data dir>/users.json."""
    global _users_data_dir
    _users_data_dir = data_dir
    if ctx.invoked_subcommand is None:
        users_list(None)


def _store(data_dir: Path | None, must_exist: bool = False) -> "UserStore":
    """The users file of `data_dir` (given after the subcommand), else of `plant users --data-dir`."""
    from opcua_server.settings import ServerSettings
    from opcua_server.users import UserStore

    settings = load_settings(ServerSettings, None, {"data_dir": data_dir or _users_data_dir})
    data_dir = settings.data_dir
    if must_exist and not data_dir.exists():
        fail(f"data directory {data_dir} does not exist (PLANT_DATA_DIR or --data-dir)")
    if not must_exist:
        check_data_dir(data_dir)
    try:
        return UserStore(data_dir / "users.json")
    except OSError as e:
        fail(f"{data_dir / 'users.json'}: cannot read it ({e.strerror or e})")
    except ValueError as e:
        fail(f"{data_dir / 'users.json'}: not a users file ({e})")


MIN_PASSWORD = 8


def password_problem(name: str, password: str) -> str | None:
    """Why a password is too weak to keep, or None."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    if password.lower() == name.lower():
        return "a password must not be the user name"
    return None


@users_app.command("add")
def users_add(name: str, role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")],
              password_stdin: Annotated[bool, typer.Option(help="read the password from standard input "
                                                                 "(for scripts) instead of prompting")] = False,
              data_dir: DataDirOpt = None) -> None:
    """Add a user (or replace its role and password); the password is prompted for."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(name, password)
    if problem:
        fail(problem)
    store = _store(data_dir)
    try:
        store.add(name, role, password)
    except ValueError as e:
        fail(str(e))
    demo_passwords.forget(store.path.parent, name)
    typer.echo(f"user {name} ({role}) saved")


@users_app.command("list")
def users_list(data_dir: DataDirOpt = None) -> None:
    """The users and their roles (never a password; a demo user's generated one is in the
    file named)."""
    store = _store(data_dir, must_exist=True)
    names = store.names()
    if not names:
        typer.echo(f"no users in {store.path} (add one with `plant users add NAME --role ROLE`; "
                   "`plant up` makes the demo users)")
        return
    kept = demo_passwords.read(store.path.parent)
    for name in names:
        where = f"\tgenerated password in {demo_passwords.path_in(store.path.parent)}" if name in kept else ""
        typer.echo(f"{name}\t{store.role(name)}{where}")


@users_app.command("remove")
def users_remove(name: str, data_dir: DataDirOpt = None) -> None:
    """Remove a user."""
    store = _store(data_dir)
    try:
        store.remove(name)
    except KeyError:
        typer.echo(f"error: no user {name}", err=True)
        raise typer.Exit(2) from None
    demo_passwords.forget(store.path.parent, name)
