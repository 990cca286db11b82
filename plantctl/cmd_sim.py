"""`plant sim pause|resume|step-to H|time-factor F|reset SEED|save NAME|load NAME|status`: the
Simulation object of a running plant server, called as an engineer client over OPC UA (the
twin's secure connection: its certificate, Basic256Sha256 SignAndEncrypt, the server's
certificate pinned on first use). Heavy imports happen inside the commands."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any

import typer

import plant_tags as tags

sim_app = typer.Typer(help="Control a running plant's simulation over OPC UA (engineer role).", no_args_is_help=True)

PASSWORD_ENV = "PLANT_SIM_PASSWORD"
NS = "urn:plant-twin:plant"

EndpointOpt = Annotated[str, typer.Option(help="opc.tcp://host:port/path of the plant's server")]
UserOpt = Annotated[str, typer.Option(help=f"an engineer user (password: ${PASSWORD_ENV}, else prompted)")]
DataDirOpt = Annotated[Path, typer.Option(help="where this client keeps its certificate and the pinned server's")]


async def _call(endpoint: str, user: str, data_dir: Path, method: str | None, args: list[Any]) -> str:
    """Call Simulation/`method` (None: read the status variables) and return what to print."""
    from asyncua import ua

    from twin_core.security import secure_client
    from twin_core.settings import TwinSettings

    password = os.environ.get(PASSWORD_ENV) or typer.prompt("Password", hide_input=True)
    settings = TwinSettings.load(None, endpoint=endpoint, username=user, password=password, data_dir=data_dir)
    client = await secure_client(settings)
    async with client:
        idx = await client.get_namespace_index(NS)
        plant = client.get_node(ua.NodeId(tags.PLANT, idx))
        lines = await plant.get_children()
        sim = await lines[0].get_child(f"{idx}:{tags.Folder.SIMULATION}")
        if method is None:
            values = [f"{name}: {await (await sim.get_child(f'{idx}:{name}')).read_value()}"
                      for name in tags.SimulationTag]
            return "\n".join(values)
        return str(await sim.call_method(ua.QualifiedName(method, idx), *args))


def _run(endpoint: str, user: str, data_dir: Path, method: str | None, *args: Any) -> None:
    from asyncua import ua

    try:
        typer.echo(asyncio.run(_call(endpoint, user, data_dir, method, list(args))))
    except ua.UaStatusCodeError as e:
        typer.echo(f"error: {method or 'status'} refused: {ua.StatusCode(e.code).name}", err=True)
        raise typer.Exit(2) from None
    except (OSError, TimeoutError, ValueError) as e:
        typer.echo(f"error: cannot reach {endpoint}: {e}", err=True)
        raise typer.Exit(2) from None


def _double(v: float) -> Any:
    from asyncua import ua

    return ua.Variant(float(v), ua.VariantType.Double)


def _text(v: str) -> Any:
    from asyncua import ua

    return ua.Variant(v, ua.VariantType.String)


_DEFAULT_ENDPOINT = "opc.tcp://127.0.0.1:4840/plant"
_DEFAULT_DIR = Path("data/sim")


@sim_app.command()
def status(endpoint: EndpointOpt = _DEFAULT_ENDPOINT, user: UserOpt = "engineer",
           data_dir: DataDirOpt = _DEFAULT_DIR) -> None:
    """State, plant time, time factor and seed."""
    _run(endpoint, user, data_dir, None)


@sim_app.command()
def pause(endpoint: EndpointOpt = _DEFAULT_ENDPOINT, user: UserOpt = "engineer",
          data_dir: DataDirOpt = _DEFAULT_DIR) -> None:
    """Hold plant time where it stands."""
    _run(endpoint, user, data_dir, "Pause")


@sim_app.command()
def resume(endpoint: EndpointOpt = _DEFAULT_ENDPOINT, user: UserOpt = "engineer",
           data_dir: DataDirOpt = _DEFAULT_DIR) -> None:
    """Let plant time run again."""
    _run(endpoint, user, data_dir, "Resume")


@sim_app.command("step-to")
def step_to(hour: float, endpoint: EndpointOpt = _DEFAULT_ENDPOINT, user: UserOpt = "engineer",
            data_dir: DataDirOpt = _DEFAULT_DIR) -> None:
    """Run to plant hour HOUR and pause there."""
    _run(endpoint, user, data_dir, "StepTo", _double(hour))


@sim_app.command("time-factor")
def time_factor(factor: float, endpoint: EndpointOpt = _DEFAULT_ENDPOINT, user: UserOpt = "engineer",
                data_dir: DataDirOpt = _DEFAULT_DIR) -> None:
    """Plant seconds per wall second (0: as fast as possible)."""
    _run(endpoint, user, data_dir, "SetTimeFactor", _double(factor))


@sim_app.command()
def reset(seed: int, endpoint: EndpointOpt = _DEFAULT_ENDPOINT, user: UserOpt = "engineer",
          data_dir: DataDirOpt = _DEFAULT_DIR) -> None:
    """Start the plant again from its start hour with SEED."""
    from asyncua import ua

    _run(endpoint, user, data_dir, "Reset", ua.Variant(seed, ua.VariantType.Int32))


@sim_app.command()
def save(name: str, endpoint: EndpointOpt = _DEFAULT_ENDPOINT, user: UserOpt = "engineer",
         data_dir: DataDirOpt = _DEFAULT_DIR) -> None:
    """Record the plant's whole state as snapshot NAME (on the server)."""
    _run(endpoint, user, data_dir, "SaveSnapshot", _text(name))


@sim_app.command()
def load(name: str, endpoint: EndpointOpt = _DEFAULT_ENDPOINT, user: UserOpt = "engineer",
         data_dir: DataDirOpt = _DEFAULT_DIR) -> None:
    """Restore snapshot NAME; the run continues as it did from there."""
    _run(endpoint, user, data_dir, "LoadSnapshot", _text(name))
