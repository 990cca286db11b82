"""`plant experiment ...`: the seeds' experiments, each a subcommand of its own."""

from __future__ import annotations

from pathlib import Path

import typer

experiment_app = typer.Typer(help="The seeds' experiments: designs of runs with tables, figures and raw data.",
                             no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(experiment_app, name="experiment")


# --- closed-loop (issue 18, item 2) -------------------------------------------------------------

@experiment_app.command("closed-loop")
def closed_loop(quick: bool = typer.Option(False, "--quick", help="2 seeds, 3 plant days, 2 cycles (a few minutes)"),
                seeds: int | None = typer.Option(None, "--seeds", min=1, help="seeds 1..N (default 10)"),
                weeks: float | None = typer.Option(None, "--weeks", min=0.1, help="measured plant weeks (default 4)"),
                out: Path = typer.Option(Path("data/experiments"), "--out", help="report, figure, CSV and the cache of "
                                         "finished cells (a rerun resumes)")) -> None:
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
    try:
        report = run(design, out)
    except (KeyboardInterrupt, StackStoppedError):
        typer.echo(f"interrupted: the finished cells are kept under {out / 'closed_loop' / 'cells'}; "
                   "the same command resumes", err=True)
        raise typer.Exit(130) from None
    typer.echo(f"report: {report}")
