"""`plant experiment ...`: the seeds' experiments, each a subcommand of its own."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from plantctl.options import DaskOpt

experiment_app = typer.Typer(help="The seeds' experiments: designs of runs with tables, figures and raw data.",
                             no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(experiment_app, name="experiment")


# --- plant experiment seed004 ------------------------------------------------------------

def _csv(text: str | None) -> tuple[str, ...] | None:
    return tuple(x.strip() for x in text.split(",") if x.strip()) if text else None


@experiment_app.command("seed004")
def seed004(
    quick: Annotated[bool, typer.Option("--quick", help="A reduced design (BSOP scenario 1, 3 solver seeds, "
                                                         "5 short replications): a few minutes")] = False,
    models: Annotated[str | None, typer.Option(help="Comma-separated models (default: all four)")] = None,
    scenarios: Annotated[str | None, typer.Option(help="Comma-separated Table 1 scenarios, or 'all' "
                                                       "(default: 1, the seed's baseline)")] = None,
    methods: Annotated[str | None, typer.Option(help="Comma-separated of GA,PSO,DE,ES,NSGA2 (plain always "
                                                     "runs)")] = None,
    solver_seeds: Annotated[int | None, typer.Option("--solver-seeds", min=1, help="Solver seeds per method")] = None,
    reps: Annotated[int | None, typer.Option(min=2, help="Evaluation replications")] = None,
    out: Annotated[Path, typer.Option(help="Output folder (cells cached here: a rerun resumes)")] = Path(
        "seed004-out"),
    docs: Annotated[Path | None, typer.Option(help="Also write the report as DOCS/seed004.md with its "
                                                   "figures in DOCS/seed004/")] = None,
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes")] = 2,
    dask: DaskOpt = None,
) -> None:
    """Seed 004's design: models x methods x solver seeds, every chosen solution on fresh
    replications with common random numbers; Tables 3-5, KPIs, figures, raw CSV, report."""
    import time

    from experiments.seed004 import design as d
    from experiments.seed004.report import write_report
    from experiments.seed004.runs import run_design

    try:
        scn = d.TABLE1 if scenarios == "all" else tuple(int(s) for s in _csv(scenarios) or ())
        plan = d.customised(d.quick() if quick else d.full(), _csv(models), scn or None, _csv(methods),
                            solver_seeds, reps)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn()) as bar:
        tasks = {"search": bar.add_task("solver runs", total=None), "eval": bar.add_task("replications", total=None)}

        def totals(searches: int, evals: int) -> None:
            bar.update(tasks["search"], total=searches)
            bar.update(tasks["eval"], total=evals or None)

        res = run_design(plan, out, jobs, tick=lambda kind: bar.advance(tasks[kind]), totals=totals, dask=dask)
    path = write_report(res, out, docs, sys.argv, time.perf_counter() - t0)
    typer.echo(f"{res.computed} cells computed, {res.cached} from the cache; report: {path}")


# --- closed-loop (issue 18, item 2) -------------------------------------------------------------

@experiment_app.command("closed-loop")
def closed_loop(quick: bool = typer.Option(False, "--quick", help="2 seeds, 3 plant days, 2 cycles (a few minutes)"),
                seeds: int | None = typer.Option(None, "--seeds", min=1, help="seeds 1..N (default 10)"),
                weeks: float | None = typer.Option(None, "--weeks", min=0.1, help="measured plant weeks (default 4)"),
                out: Path = typer.Option(Path("data/experiments"), "--out", help="report, figure, CSV and the cache of "
                                         "finished cells (a rerun resumes)"),
                dask: DaskOpt = None) -> None:
    """Seed 000's closed loop on the whole stack: per seed the live loop (PLC, OPC UA, twin,
    optimizer writing back), the baseline and the offline optimum, as paired differences."""
    from dataclasses import replace

    from experiments.closed_loop.design import FULL
    from experiments.closed_loop.design import quick as quick_design
    from experiments.closed_loop.run import run
    from experiments.closed_loop.stack import StackStoppedError

    design = quick_design() if quick else FULL
    if seeds is not None:
        design = replace(design, seeds=tuple(range(1, seeds + 1)))
    if weeks is not None:
        design = replace(design, weeks=weeks)
    if dask is not None:
        design = replace(design, dask=dask)
    try:
        report = run(design, out)
    except (KeyboardInterrupt, StackStoppedError):
        typer.echo(f"interrupted: the finished cells are kept under {out / 'closed_loop' / 'cells'}; "
                   "the same command resumes", err=True)
        raise typer.Exit(130) from None
    typer.echo(f"report: {report}")
