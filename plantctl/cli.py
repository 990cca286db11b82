"""The `plant` command. `plant --help` and every subcommand's `--help` import only typer,
rich and the command modules: the model library (numpy, scipy, pydantic), asyncua and the
twin are imported inside the commands that use them (bench/startup.py measures it)."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator, Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from plantctl import cmd_certs, cmd_experiment, cmd_nodes, cmd_optimize, cmd_plc, cmd_twin, cmd_up
from plantctl.options import DaskOpt

if TYPE_CHECKING:
    import plant_plots
    from plc_sim.model.experiment import Summary
    from plc_sim.model.spec import PlantSpec

app = typer.Typer(help="OPC UA plant-integration service: PLC simulator, digital twin, optimizer.",
                  no_args_is_help=True, add_completion=False)
err = Console(stderr=True)


@app.callback()
def main() -> None:
    """Simulate plants, serve them over OPC UA, mirror and optimise them."""


@app.command()
def simulate(
    plant: Annotated[str, typer.Option(help="bundled plant name or path to a plant TOML file")] = "gear_line",
    model: Annotated[str | None, typer.Option(help="control model: BDOP, BSOP, HDOP or HSOP")] = None,
    scenario: Annotated[int | None, typer.Option(help="Table-1 scenario number")] = None,
    hours: Annotated[float, typer.Option(help="calendar hours measured after the warm-up")] = 9000.0,
    warmup: Annotated[float, typer.Option(help="calendar hours of warm-up, not measured")] = 1000.0,
    reps: Annotated[int, typer.Option(min=1, help="independent replications")] = 30,
    seed: Annotated[int, typer.Option(help="base seed; replication r uses stream r of it")] = 1,
    jobs: Annotated[int, typer.Option(min=1, help="parallel worker processes")] = 2,
    set_: Annotated[list[str] | None, typer.Option("--set", help="policy override, e.g. K1=4, C.A=8, S3=2")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
    dask: DaskOpt = None,
    plot: Annotated[Path | None, typer.Option(help="draw the headline KPIs' replications and intervals "
                                                   "into this PNG")] = None,
) -> None:
    """Run replications of a plant and print KPI means with 95 % confidence intervals."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from plc_sim.model.experiment import RunPlan, run_replications, summarise_all
    from plc_sim.model.spec import PlantFileError, load_plant
    from plc_sim.model.variants import VariantError, build_variant

    try:
        spec = build_variant(load_plant(plant), model=model, scenario=scenario, sets=set_ or [])
        plan = RunPlan(hours=hours, warmup=warmup, seed=seed)
    except (PlantFileError, VariantError, ValueError) as e:
        err.print(f"[red]error:[/red] {e}", highlight=False)
        raise typer.Exit(2) from None
    if scenario is None and spec.scenarios is not None:
        scenario = spec.scenarios.default
    _warn_few(reps)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=as_json, disable=not err.is_terminal and as_json) as bar:
        task = bar.add_task(f"{spec.name} {spec.policy.model} replications", total=reps)
        with _executor(dask) as pool:
            runs = run_replications(spec, plan, reps, jobs, on_done=lambda _r: bar.advance(task), executor=pool)
    summary = summarise_all(runs)
    head = {"plant": spec.name, "model": spec.policy.model, "scenario": scenario, "hours": hours,
            "warmup": warmup, "reps": reps, "seed": seed, "policy": spec.policy.model_dump()}
    if plot is not None:
        names = [k for k in _headline(spec) if k in summary]
        _plot_simulate(plot, _title(head), {k: [r[k] for r in runs] for k in names}, summary)
    if as_json:
        typer.echo(json.dumps({**head, "kpis": {k: _json(s) for k, s in summary.items()}}, indent=2))
    else:
        _print_table(head, summary)


def _interval(s: Summary) -> plant_plots.Interval:
    import plant_plots

    if math.isnan(s.half_width):
        return plant_plots.Interval(s.mean, s.mean, s.mean)
    return plant_plots.Interval(s.mean, s.low, s.high)


def _plot_simulate(path: Path, title: str, values: dict[str, list[float]], summary: dict[str, Summary]) -> None:
    import plant_plots

    fig = plant_plots.replications(title, values, {k: _interval(summary[k]) for k in values})
    plant_plots.save(fig, path)
    err.print(f"plot written to {path}", highlight=False)


def _plot_compare(path: Path, title: str, settings: list[str], diffs: list[dict[str, Summary]],
                  names: list[str]) -> None:
    import plant_plots

    fig = plant_plots.paired_differences(title, settings[0], {
        text: {k: _interval(d[k]) for k in names} for text, d in zip(settings[1:], diffs)})
    plant_plots.save(fig, path)
    err.print(f"plot written to {path}", highlight=False)


@contextlib.contextmanager
def _executor(dask: str | None) -> Iterator[Executor | None]:
    """A Dask cluster's executor for `--dask`, else None (the local process pool)."""
    if dask is None:
        yield None
        return
    from optimizer_svc.dask_pool import dask_executor

    with dask_executor(dask) as pool:
        yield pool


FEW_REPS = 5


def _warn_few(reps: int) -> None:
    """Student-t intervals of a handful of replications are wide (t = 12.7 for 2 of them)."""
    if reps < FEW_REPS:
        err.print(f"[yellow]warning:[/yellow] {reps} replications give wide confidence intervals; "
                  f"use {FEW_REPS} or more to compare settings", highlight=False)


def _json(s: Summary) -> dict[str, object]:
    hw = None if math.isnan(s.half_width) else s.half_width
    return {"mean": s.mean, "half_width": hw, "ci95": None if hw is None else [s.low, s.high]}


def _title(head: Mapping[str, object]) -> str:
    scen = "" if head["scenario"] is None else f" · scenario {head['scenario']}"
    return (f"{head['plant']} · {head['model']}{scen} · "
            f"{head['reps']} x {head['hours']:g} h after {head['warmup']:g} h warm-up · seed {head['seed']}")


def _print_table(head: Mapping[str, object], summary: dict[str, Summary]) -> None:
    from rich.table import Table

    t = Table(title=_title(head))
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


HEADLINE = {
    "gear_line": ("Zmax", "SL", "fill_rate", "served", "LD", "I3", "WIP", "holding_eur", "FG", "scrap"),
    "objectives": ("Z", "cost", "energy_kwh", "stoppage_h", "downtime_h", "maintenance_h", "throughput_per_h",
                   "peak_kw", "feasible", "LD", "energy_per_part_kwh"),
}


def parse_setting(text: str) -> tuple[str | None, list[str]]:
    """A setting of `plant compare`: comma-separated overrides, with `model=HSOP` (or a bare
    model name) for the control model, e.g. `HSOP,K1=6,C=12` or `speed.Machining=90`."""
    from plc_sim.model.spec import MODELS

    model, sets = None, []
    for item in (x.strip() for x in text.split(",") if x.strip()):
        key, sep, value = item.partition("=")
        if item.upper() in MODELS:
            model = item.upper()
        elif sep and key.strip() == "model":
            model = value.strip()
        else:
            sets.append(item)
    return model, sets


@app.command()
def compare(
    settings: Annotated[list[str], typer.Argument(
        help="two or more settings, e.g. BDOP BSOP,K1=6; the first is the reference")],
    plant: Annotated[str, typer.Option(help="bundled plant name or path to a plant TOML file")] = "gear_line",
    model: Annotated[str | None, typer.Option(help="control model of every setting that names none")] = None,
    scenario: Annotated[int | None, typer.Option(help="Table-1 scenario number")] = None,
    hours: Annotated[float, typer.Option(help="calendar hours measured after the warm-up")] = 9000.0,
    warmup: Annotated[float, typer.Option(help="calendar hours of warm-up, not measured")] = 1000.0,
    reps: Annotated[int, typer.Option(min=2, help="replications per setting, paired by seed")] = 30,
    seed: Annotated[int, typer.Option(help="base seed; replication r uses stream r of it")] = 1,
    jobs: Annotated[int, typer.Option(min=1, help="parallel worker processes")] = 2,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override applied to every setting first")] = None,
    kpi: Annotated[list[str] | None, typer.Option(help="KPIs to print (default: the headline ones; 'all')")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
    dask: DaskOpt = None,
    plot: Annotated[Path | None, typer.Option(help="draw the paired differences with their intervals "
                                                   "into this PNG")] = None,
) -> None:
    """Run settings on the same seeds (common random numbers) and print each one's paired
    differences from the first, with 95 % confidence intervals."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from plc_sim.model.experiment import RunPlan, paired, run_settings, summarise_all
    from plc_sim.model.spec import PlantFileError, load_plant
    from plc_sim.model.variants import VariantError

    if len(settings) < 2:
        err.print("[red]error:[/red] compare needs at least two settings", highlight=False)
        raise typer.Exit(2)
    try:
        base = load_plant(plant)
        specs = [_setting_spec(base, text, model, scenario, set_ or []) for text in settings]
        plan = RunPlan(hours=hours, warmup=warmup, seed=seed)
    except (PlantFileError, VariantError, ValueError) as e:
        err.print(f"[red]error:[/red] {e}", highlight=False)
        raise typer.Exit(2) from None
    _warn_few(reps)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=as_json, disable=not err.is_terminal and as_json) as bar:
        task = bar.add_task(f"{base.name}: {len(specs)} settings x {reps} paired replications", total=reps * len(specs))
        with _executor(dask) as pool:
            runs = run_settings(specs, plan, reps, jobs, on_done=lambda _k: bar.advance(task), executor=pool)
    summaries = [summarise_all(r) for r in runs]
    diffs = [paired(runs[0], r) for r in runs[1:]]
    head = {"plant": base.name, "scenario": scenario, "hours": hours, "warmup": warmup, "reps": reps, "seed": seed}
    names = list(summaries[0]) if kpi == ["all"] else (kpi or [k for k in _headline(base) if k in summaries[0]])
    if plot is not None:
        _plot_compare(plot, f"{_compare_title(head, settings)}: paired differences, 95 % CI", settings, diffs,
                      [k for k in names if k in diffs[0]])
    if as_json:
        typer.echo(json.dumps({**head, "settings": [
            {"setting": text, "model": sp.policy.model, "kpis": {k: _json(v) for k, v in sm.items()},
             "vs_reference": None if i == 0 else {k: _json(v) for k, v in diffs[i - 1].items()}}
            for i, (text, sp, sm) in enumerate(zip(settings, specs, summaries))]}, indent=2))
        return
    _print_compare(head, settings, summaries, diffs, names)


def _setting_spec(base: PlantSpec, text: str, model: str | None, scenario: int | None, common: list[str]) -> PlantSpec:
    from plc_sim.model.variants import build_variant

    own_model, sets = parse_setting(text)
    return build_variant(base, model=own_model or model, scenario=scenario, sets=common + sets)


def _headline(spec: PlantSpec) -> tuple[str, ...]:
    return HEADLINE["objectives" if spec.objectives is not None else "gear_line"]


def _print_compare(head: Mapping[str, object], settings: list[str], summaries: list[dict[str, Summary]],
                   diffs: list[dict[str, Summary]], names: list[str]) -> None:
    from rich.table import Table

    t = Table(title=f"{_compare_title(head, settings)} · differences from '{settings[0]}'")
    t.add_column("KPI")
    t.add_column(settings[0], justify="right")
    for text in settings[1:]:
        t.add_column(text, justify="right")
        t.add_column("difference, 95 % CI", justify="right")
    for k in names:
        ref = summaries[0][k]
        row = [k, _mean_ci(ref)]
        for sm, d in zip(summaries[1:], diffs):
            mark = " *" if d[k].significant else ""
            row += [_mean_ci(sm[k]), f"{d[k].mean:+,.4g} [{d[k].low:+,.3g}, {d[k].high:+,.3g}]{mark}"]
        t.add_row(*row)
    Console().print(t)
    Console().print("* the paired 95 % interval excludes 0")


def _compare_title(head: Mapping[str, object], settings: list[str]) -> str:
    scen = "" if head["scenario"] is None else f" · scenario {head['scenario']}"
    return (f"{head['plant']}{scen} · {head['reps']} paired replications x {head['hours']:g} h "
            f"after {head['warmup']:g} h · seed {head['seed']}")


def _mean_ci(s: Summary) -> str:
    if math.isnan(s.half_width):
        return f"{s.mean:,.4g}"
    return f"{s.mean:,.4g} ± {s.half_width:,.2g}"


# extra command modules register here
cmd_plc.register(app)
cmd_up.register(app)
cmd_optimize.register(app)
cmd_twin.register(app)
cmd_certs.register(app)
cmd_experiment.register(app)
cmd_nodes.register(app)


if __name__ == "__main__":
    app()
