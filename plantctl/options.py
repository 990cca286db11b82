"""Command-line options shared by several commands."""

from __future__ import annotations

from typing import Annotated

import typer

DaskOpt = Annotated[str | None, typer.Option(
    "--dask", help="run the simulations on this Dask scheduler (tcp://host:8786) instead of the local "
                   "process pool; the same results")]
