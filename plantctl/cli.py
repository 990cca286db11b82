"""The `plant` command."""

from __future__ import annotations

import json
import math
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from plantctl import cmd_optimize, cmd_plc
from plc_sim.model.experiment import RunPlan, Summary, run_replications, summarise_all
from plc_sim.model.spec import PlantFileError, load_plant
from plc_sim.model.variants import VariantError, build_variant

app = typer.Typer(help="OPC UA plant-integration service: PLC simulator, digital twin, optimizer.",
                  no_args_is_help=True, add_completion=False)
err = Console(stderr=True)


@app.callback()
def main() -> None:
    """Simulate plants, serve them over OPC UA, mirror and optimise them."""


@app.command()
def simulate(
    plant: Annotated[str, typer.Option(help="bundled plant name or path to a plant TOML file")] = "gear_line",
    model: Annotated[Optional[str], typer.Option(help="control model: BDOP, BSOP, HDOP or HSOP")] = None,
    scenario: Annotated[Optional[int], typer.Option(help="Table-1 scenario number")] = None,
    hours: Annotated[float, typer.Option(help="calendar hours measured after the warm-up")] = 9000.0,
    warmup: Annotated[float, typer.Option(help="calendar hours of warm-up, not measured")] = 1000.0,
    reps: Annotated[int, typer.Option(min=1, help="independent replications")] = 30,
    seed: Annotated[int, typer.Option(help="base seed; replication r uses stream r of it")] = 1,
    jobs: Annotated[int, typer.Option(min=1, help="parallel worker processes")] = 2,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="policy override, e.g. K1=4, C.A=8, S3=2")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
) -> None:
    """Run replications of a plant and print KPI means with 95 % confidence intervals."""
    try:
        spec = build_variant(load_plant(plant), model=model, scenario=scenario, sets=set_ or [])
        plan = RunPlan(hours=hours, warmup=warmup, seed=seed)
    except (PlantFileError, VariantError, ValueError) as e:
        err.print(f"[red]error:[/red] {e}", highlight=False)
        raise typer.Exit(2) from None
    if scenario is None and spec.scenarios is not None:
        scenario = spec.scenarios.default
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=as_json, disable=not err.is_terminal and as_json) as bar:
        task = bar.add_task(f"{spec.name} {spec.policy.model} replications", total=reps)
        runs = run_replications(spec, plan, reps, jobs, on_done=lambda _r: bar.advance(task))
    summary = summarise_all(runs)
    head = {"plant": spec.name, "model": spec.policy.model, "scenario": scenario, "hours": hours,
            "warmup": warmup, "reps": reps, "seed": seed, "policy": spec.policy.model_dump()}
    if as_json:
        typer.echo(json.dumps({**head, "kpis": {k: _json(s) for k, s in summary.items()}}, indent=2))
    else:
        _print_table(head, summary)


def _json(s: Summary) -> dict[str, object]:
    hw = None if math.isnan(s.half_width) else s.half_width
    return {"mean": s.mean, "half_width": hw, "ci95": None if hw is None else [s.low, s.high]}


def _print_table(head: dict[str, object], summary: dict[str, Summary]) -> None:
    scen = "" if head["scenario"] is None else f" · scenario {head['scenario']}"
    title = (f"{head['plant']} · {head['model']}{scen} · "
             f"{head['reps']} x {head['hours']:g} h after {head['warmup']:g} h warm-up · seed {head['seed']}")
    t = Table(title=title)
    t.add_column("KPI")
    t.add_column("mean", justify="right")
    t.add_column("± 95 %", justify="right")
    t.add_column("95 % CI", justify="right")
    for k, s in summary.items():
        if math.isnan(s.half_width):
            t.add_row(k, f"{s.mean:,.4g}", "", "")
        else:
            t.add_row(k, f"{s.mean:,.4g}", f"{s.half_width:,.3g}", f"[{s.low:,.4g}, {s.high:,.4g}]")
    Console().print(t)


# extra command modules register here
cmd_plc.register(app)
cmd_optimize.register(app)


if __name__ == "__main__":
    app()
