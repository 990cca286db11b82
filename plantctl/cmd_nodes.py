"""`plant nodeset export` (NodeSet2 XML of the address space) and `plant nodes export` (an OPC
Publisher published-nodes file or a CSV tag list): a plant's tags for offline configuration of
clients, historians and gateways, without a running server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from plc_sim.model.spec import PlantSpec

err = Console(stderr=True)
nodeset_app = typer.Typer(help="The address space as NodeSet2 XML.", no_args_is_help=True)
nodes_app = typer.Typer(help="The plant's tags for offline configuration.", no_args_is_help=True)

PlantOpt = Annotated[str, typer.Option(help="bundled plant name or path to a plant TOML file")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="file to write (default: standard output)")]


def _spec(plant: str) -> PlantSpec:
    from plc_sim.model.spec import PlantFileError, load_plant

    try:
        return load_plant(plant)
    except PlantFileError as e:
        err.print(f"[red]error:[/red] {e}", highlight=False)
        raise typer.Exit(2) from None


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        err.print(f"wrote {out}", highlight=False)


@nodeset_app.command("export")
def nodeset_export(plant: PlantOpt = "gear_line",
                   out: Annotated[Path, typer.Option("--out", "-o", help="NodeSet2 XML file to write")] = Path(
                       "plant.NodeSet2.xml")) -> None:
    """Write the plant's address space (types, objects, variables, methods, alarms, in the
    plant's namespace) as NodeSet2 XML, as asyncua's and node-opcua's importers read it."""
    from opcua_server.nodeset import export_nodeset

    count = asyncio.run(export_nodeset(_spec(plant), out))
    err.print(f"wrote {out}: {count} nodes", highlight=False)


@nodes_app.command("export")
def nodes_export(plant: PlantOpt = "gear_line",
                 fmt: Annotated[str, typer.Option("--format", help="publisher (OPC Publisher JSON) or csv")] = "csv",
                 endpoint: Annotated[str, typer.Option(help="endpoint URL written into the publisher file")] = (
                     "opc.tcp://127.0.0.1:4840/plant"),
                 plain: Annotated[bool, typer.Option(help="publisher file without security (plant up's demo)")] = False,
                 out: OutOpt = None) -> None:
    """Every tag with its NodeId (namespace URI form), type, unit, range and access."""
    from opcua_server.nodeset import published_nodes, tag_csv
    from opcua_server.settings import ServerSettings
    from plc_sim.plc.runtime import PlcRuntime

    if fmt not in ("publisher", "csv"):
        err.print(f"[red]error:[/red] --format {fmt!r}: use publisher or csv", highlight=False)
        raise typer.Exit(2)
    table = PlcRuntime(_spec(plant), seed=1, time_factor=None).table
    uri = ServerSettings.model_fields["namespace_uri"].default
    _emit(published_nodes(table, uri, endpoint, use_security=not plain) if fmt == "publisher" else tag_csv(table, uri),
          out)


def register(app: typer.Typer) -> None:
    app.add_typer(nodeset_app, name="nodeset")
    app.add_typer(nodes_app, name="nodes")
