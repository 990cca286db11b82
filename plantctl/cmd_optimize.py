"""`plant optimize` (offline, one shot) and `plant optimizer` (the scheduled service)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from plantctl.options import DaskOpt

if TYPE_CHECKING:
    from optimizer_svc.offline import OfflineReport

err = Console(stderr=True)
optimizer_app = typer.Typer(help="The scheduled optimizer service.", invoke_without_command=True)

ConfigOpt = Annotated[Path | None, typer.Option(help="TOML file with an \\[optimizer] table")]


def _offline(plant: str, model: str | None, scenario: int | None, set_: list[str] | None,
             problem: str | None, algorithm: str, hours: float, warmup: float, reps: int, verify_reps: int,
             seed: int, jobs: int, budget: float, generations: int, pop_size: int, base_stock: bool,
             front: bool, plot: Path | None, as_json: bool, dask: str | None = None,
             bound: list[str] | None = None, only: str | None = None) -> None:
    from optimizer_svc.forecast import Horizon
    from optimizer_svc.offline import OfflineRun, run_offline
    from optimizer_svc.solve import Budget
    from plc_sim.model.spec import PlantFileError
    from plc_sim.model.variants import VariantError

    run = OfflineRun(plant=plant, model=model, scenario=scenario, sets=tuple(set_ or ()), problem=problem,
                     algorithm=algorithm, horizon=Horizon(hours, warmup, seed), reps=reps, verify_reps=verify_reps,
                     budget=Budget(budget, generations, pop_size), jobs=jobs, vary_base_stock=base_stock,
                     multi_objective=front, dask_scheduler=dask, bounds=tuple(bound or ()),
                     kinds=tuple(k.strip() for k in only.split(",") if k.strip()) if only else None)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[best]}"), console=err, transient=as_json) as bar:
        task = bar.add_task(f"{plant} {algorithm}", total=generations, best="")
        try:
            report = run_offline(run, on_step=lambda s: bar.update(task, advance=1, best=f"best {abs(s.best):,.6g}"))
        except (PlantFileError, VariantError, ValueError) as e:
            err.print(f"[red]error:[/red] {e}", highlight=False)
            raise typer.Exit(2) from None
    if plot is not None:
        _plot(plot, report, f"{plant} {model or ''} {report.problem} {algorithm}")
    if as_json:
        typer.echo(json.dumps(_as_json(report, plot), indent=2))
    else:
        _print(report, plot)


def _plot(path: Path, report: "OfflineReport", title: str) -> None:
    """The convergence plot, a maximised objective shown the right way up (the solver
    minimises its negative), the current settings' value as a line."""
    import plant_plots

    res = report.result
    sign = -1.0 if report.maximised else 1.0
    baseline = sign * res.baseline.objectives[0] if len(report.objectives) == 1 else None
    fig = plant_plots.convergence(title, " + ".join(plant_plots.kpi_label(o) for o in report.objectives),
                                  [h.evaluations for h in res.history], [sign * h.best for h in res.history],
                                  baseline=baseline)
    plant_plots.save(fig, path)


def _as_json(report: "OfflineReport", plot: Path | None) -> dict[str, Any]:
    res, run = report.result, report.run
    return {
        "plant": run.plant, "model": run.model, "scenario": run.scenario, "problem": report.problem,
        "algorithm": res.algorithm, "elapsed_s": res.elapsed_s, "candidates": res.evaluations, "stopped": res.stopped,
        "search": {"reps": run.reps, "hours": run.horizon.hours, "warmup": run.horizon.warmup,
                   "seed": run.horizon.seed},
        "decisions": {k: {"plain": a, "best": b} for k, a, b in report.decisions},
        "overrides": list(res.best.sets),
        "verification": report.verdict.as_json(),
        "objectives": report.objectives,
        "front": [{"objectives": dict(zip(report.objectives, r.objectives, strict=True)), "overrides": list(r.sets)}
                  for r in res.front],
        "history": [{"generation": h.generation, "simulations": h.evaluations, "elapsed_s": h.elapsed_s,
                     "best": h.best} for h in res.history],
        "plot": None if plot is None else str(plot),
    }


def _ci(mean: float, hw: float) -> str:
    return f"{mean:,.6g}" if math.isnan(hw) else f"{mean:,.6g} ± {hw:,.3g}"


def _print(report: "OfflineReport", plot: Path | None) -> None:
    res, run, v = report.result, report.run, report.verdict
    out = Console()
    t = Table(title=f"{run.plant} · {report.problem} · {res.algorithm} · {res.evaluations} candidates in "
                    f"{res.elapsed_s:.1f} s ({res.stopped})")
    t.add_column("decision")
    t.add_column("plain settings", justify="right")
    t.add_column("best found", justify="right")
    for key, plain, best in report.decisions:
        fmt = (lambda x: f"{x:.4g}") if isinstance(best, float) else str
        t.add_row(key, fmt(plain), fmt(best), style="bold" if plain != best else None)
    out.print(t)
    k = Table(title=f"verification: {v.seeds[-1] - v.seeds[0] + 1} replications x {run.horizon.hours:g} h after "
                    f"{run.horizon.warmup:g} h, same random numbers for both (95 % CI)")
    k.add_column("KPI")
    k.add_column("plain settings", justify="right")
    k.add_column("best found", justify="right")
    for name, cand in v.candidate.items():
        cur = v.current[name]
        k.add_row(name, _ci(cur.mean, cur.half_width), _ci(cand.mean, cand.half_width))
    out.print(k)
    if v.improvement is not None:
        out.print(f"improvement {_ci(v.improvement.mean, v.improvement.half_width)}, paired t-test p = {v.p_value:.3g}")
    refused = "[yellow]not verified:[/yellow] " + "; ".join(v.reasons)
    verdict = "[green]verified better[/green]" if v.accepted else refused
    out.print(verdict)
    if plot is not None:
        out.print(f"convergence plot: {plot}")


def _settings(config: Path | None) -> Any:
    from pydantic import ValidationError

    from optimizer_svc.settings import OptimizerSettings

    try:
        return OptimizerSettings.load(config)
    except (ValidationError, OSError, ValueError) as e:
        err.print(f"[red]error:[/red] optimizer settings: {e}", highlight=False)
        raise typer.Exit(2) from None


@optimizer_app.callback()
def optimizer(ctx: typer.Context, config: ConfigOpt = None) -> None:
    """Run the scheduled optimizer until SIGTERM (settings: PLANT_OPTIMIZER_* and [optimizer])."""
    ctx.obj = config
    if ctx.invoked_subcommand is not None:
        return
    import logging

    from optimizer_svc.daemon import serve
    from plantctl.exiting import exit_within
    from plantctl.fork_server import start_fork_server
    from plantctl.metrics import check_metrics_port

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("asyncua").setLevel(logging.WARNING)
    settings = _settings(config)
    if settings.metrics_port:
        check_metrics_port(settings.metrics_host, settings.metrics_port,
                           "[optimizer] metrics_port or PLANT_OPTIMIZER_METRICS_PORT")
    start_fork_server()  # its workers ignore Ctrl-C: a run under way finishes and is audited
    typer.echo(f"optimizer: {len(settings.jobs)} job(s) on {settings.server_url}", err=True)
    serve(settings)
    exit_within(0)


@optimizer_app.command("run-now")
def run_now(ctx: typer.Context, job: Annotated[str | None, typer.Option(help="job name (default: every job)")] = None,
            as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Run the configured job(s) once, now, in the foreground, and print the audit record."""
    from optimizer_svc.audit import AuditLog
    from optimizer_svc.cycle import run_job

    settings = _settings(ctx.obj)
    jobs = [j for j in settings.jobs if job is None or j.name == job]
    if not jobs:
        err.print(f"[red]error:[/red] no job {job!r} (jobs: {', '.join(j.name for j in settings.jobs)})")
        raise typer.Exit(2)
    audit = AuditLog(settings.data_dir / "audit.jsonl")
    for j in jobs:
        entry = run_job(settings, j, audit)
        if as_json:
            typer.echo(json.dumps(entry, default=str))
        else:
            typer.echo(f"{j.name}: {entry['outcome']} {'; '.join(entry.get('reasons', []))}".rstrip())
            for key, value in entry.get("written", {}).items():
                typer.echo(f"  wrote {key} = {value}")


def register(app: typer.Typer) -> None:
    @app.command()
    def optimize(
        plant: Annotated[str, typer.Option(help="bundled plant name or path to a plant TOML file")] = "gear_line",
        model: Annotated[str | None, typer.Option(help="BDOP, BSOP, HDOP or HSOP")] = None,
        scenario: Annotated[int | None, typer.Option(help="Table-1 scenario number")] = None,
        set_: Annotated[list[str] | None, typer.Option("--set", help="override applied before optimising")] = None,
        problem: Annotated[str | None, typer.Option(help="setpoints, cards or maintenance (default: setpoints "
                                                           "for a plant with [objectives], else cards)")] = None,
        algorithm: Annotated[str, typer.Option(help="GA, PSO, DE, ES, NSGA2 (with --front) or scipy")] = "GA",
        hours: Annotated[float, typer.Option(help="calendar hours forecast per replication")] = 2000.0,
        warmup: Annotated[float, typer.Option(help="calendar hours of warm-up")] = 500.0,
        reps: Annotated[int, typer.Option(min=1, help="replications per candidate in the search")] = 5,
        verify_reps: Annotated[int, typer.Option(min=2, help="replications of the verification")] = 30,
        seed: Annotated[int, typer.Option(help="base seed of the replications and of the solver")] = 1,
        jobs: Annotated[int, typer.Option(min=1, help="worker processes")] = 2,
        budget: Annotated[float, typer.Option(help="wall seconds of search")] = 30.0,
        generations: Annotated[int, typer.Option(min=1)] = 10,
        pop_size: Annotated[int, typer.Option(min=2)] = 10,
        base_stock: Annotated[bool, typer.Option(help="vary the base stocks S too (offline only)")] = True,
        front: Annotated[bool, typer.Option(help="multi-objective: keep the Pareto front (NSGA2)")] = False,
        plot: Annotated[Path | None, typer.Option(help="write the convergence plot to this PNG")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print machine-readable JSON")] = False,
        dask: DaskOpt = None,
        bound: Annotated[list[str] | None, typer.Option(help="NAME=LO:HI, the search range of a decision, "
                                                             "its head or kind (S3=0:24, K=1:40, speed.MP1=80:110); "
                                                             "over the plant file's [bounds]; repeatable")] = None,
        only: Annotated[str | None, typer.Option(help="KIND[,KIND]: search only these decision kinds "
                                                      "(setpoints: speed, standby, off_shift, dispatch, shift, "
                                                      "maint_policy; cards: K, C, S)")] = None,
    ) -> None:
        """Optimise a plant file offline and verify the result against its plain settings."""
        _offline(plant, model, scenario, set_, problem, algorithm, hours, warmup, reps, verify_reps, seed, jobs,
                 budget, generations, pop_size, base_stock, front, plot, as_json, dask, bound, only)

    app.add_typer(optimizer_app, name="optimizer")
