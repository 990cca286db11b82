"""`plant experiment ...`: the seeds' experiments, each a subcommand of its own."""

from __future__ import annotations

import typer

experiment_app = typer.Typer(help="The seeds' experiments: designs of runs with tables, figures and raw data.",
                             no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(experiment_app, name="experiment")
