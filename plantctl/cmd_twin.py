"""`plant twin` (the twin daemon), `plant twin status`, `plant twin snapshot` and
`plant history TAG`. Heavy imports (asyncua, the twin) happen inside the commands."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

twin_app = typer.Typer(help="The digital twin: mirror the plant over OPC UA, historize, calibrate, forecast.")

ConfigOpt = Annotated[Path | None, typer.Option(help="TOML file with a \\[twin] table")]
DataDirOpt = Annotated[Path | None, typer.Option(help="the twin's data directory (default data/twin)")]


def _settings(config: Path | None, **overrides: Any) -> Any:
    from twin_core.settings import TwinSettings

    try:
        return TwinSettings.load(config, **{k: v for k, v in overrides.items() if v is not None})
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


@twin_app.callback(invoke_without_command=True)
def twin(ctx: typer.Context,
         endpoint: Annotated[str | None, typer.Option(help="opc.tcp://host:port/path of the plant's server")] = None,
         plant: Annotated[str | None, typer.Option(help="plant file the server is matched against")] = None,
         user: Annotated[str | None, typer.Option(help="OPC UA user (password: PLANT_TWIN_PASSWORD)")] = None,
         sink: Annotated[str | None, typer.Option(help="sqlite (embedded, default) or influx")] = None,
         influx_url: Annotated[str | None, typer.Option(help="InfluxDB v2 write API base URL")] = None,
         numeric_only: Annotated[bool | None, typer.Option(help="send numeric fields only")] = None,
         metrics_port: Annotated[int | None, typer.Option(help="Prometheus port on loopback (0 = off)")] = None,
         allow_none: Annotated[bool | None, typer.Option(help="accept the None policy if it is all")] = None,
         data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """Run the twin daemon (SIGTERM stops it cleanly, with the spool flushed)."""
    if ctx.invoked_subcommand is not None:
        return
    import asyncio

    from plantctl.exiting import exit_within
    from twin_core.daemon import serve

    settings = _settings(config, endpoint=endpoint, plant=plant, username=user, sink=sink, influx_url=influx_url,
                         numeric_only=numeric_only, metrics_port=metrics_port, allow_none=allow_none,
                         data_dir=data_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("asyncua").setLevel(logging.WARNING)
    asyncio.run(serve(settings, on_ready=lambda _t: typer.echo(f"mirroring {settings.endpoint}", err=True)))
    exit_within(0)


@twin_app.command()
def status(data_dir: DataDirOpt = None, config: ConfigOpt = None,
           as_json: Annotated[bool, typer.Option("--json", help="print the raw health view")] = False) -> None:
    """The health view of the twin running on this data directory."""
    import time

    from twin_core.health import read_health

    settings = _settings(config, data_dir=data_dir)
    path = settings.data_dir / "health.json"
    if not path.exists():
        typer.echo(f"no twin has run on {settings.data_dir} (no {path.name})", err=True)
        raise typer.Exit(1)
    h = read_health(path)
    if as_json:
        typer.echo(json.dumps(h, indent=2))
        return
    age = time.time() - h["time"]
    state = "running" if h["running"] and age < 10 else ("stopped" if not h["running"] else f"stale ({age:.0f} s)")
    lag = "-" if h["lag_p99_s"] is None else f"{h['lag_p50_s']:.3f} / {h['lag_p99_s']:.3f} s"
    cal = "-" if h["last_calibration"] is None else time.strftime("%Y-%m-%d %H:%M:%S",
                                                                   time.localtime(h["last_calibration"]))
    source_lag = "-" if h.get("source_lag_s") is None else f"{h['source_lag_s']:.3f} s"
    rows = [("twin", state), ("endpoint", h["endpoint"]), ("connected", str(h["connected"])),
            ("problem", h["problem"] or "-"), ("gaps", str(h["gaps"])), ("sink", f"{h['sink']} "
            f"({'up' if h['sink_up'] else 'DOWN'})"), ("points/s", f"{h['points_per_s']:,.0f}"),
            ("lag p50 / p99", lag), ("source lag", source_lag), ("spool depth", str(h["spool_depth"])),
            ("replayed", str(h["replayed"])), ("dropped", str(h["dropped"])), ("last calibration", cal)]
    for k, v in rows:
        typer.echo(f"{k:<17}{v}")


@twin_app.command()
def snapshot(data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """The twin snapshot (observed state + estimated parameters) as JSON."""
    settings = _settings(config, data_dir=data_dir)
    path = settings.data_dir / "snapshot.json"
    if not path.exists():
        typer.echo(f"no snapshot yet in {settings.data_dir} (run `plant twin` first)", err=True)
        raise typer.Exit(1)
    typer.echo(path.read_text())


@twin_app.command("forecast")
def forecast_cmd(hours: Annotated[float, typer.Option(help="calendar hours ahead")] = 24.0,
                 reps: Annotated[int, typer.Option(min=2, help="replications")] = 10,
                 seed: Annotated[int, typer.Option(help="base seed")] = 1,
                 jobs: Annotated[int, typer.Option(min=1, help="worker processes")] = 2,
                 set_: Annotated[list[str] | None, typer.Option("--set", help="candidate setpoint, e.g. C_A=8, "
                                                                          "K1_A=4, MP1.SpeedSetpoint=110")] = None,
                 data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """Forecast the KPIs from the latest twin snapshot, under current or candidate setpoints."""
    from concurrent.futures import ProcessPoolExecutor

    from plc_sim.model.spec import load_plant
    from twin_core.calibration import estimated_spec
    from twin_core.forecast import forecast
    from twin_core.snapshot import TwinSnapshot

    settings = _settings(config, data_dir=data_dir)
    path = settings.data_dir / "snapshot.json"
    if not path.exists():
        typer.echo(f"no snapshot yet in {settings.data_dir} (run `plant twin` first)", err=True)
        raise typer.Exit(1)
    try:
        setpoints = {k.strip(): float(v) for k, v in (s.split("=", 1) for s in set_ or [])}
    except ValueError:
        typer.echo("error: --set takes NAME=VALUE", err=True)
        raise typer.Exit(2) from None
    snap = TwinSnapshot.model_validate_json(path.read_text())
    spec = estimated_spec(load_plant(settings.plant), snap.estimates)
    try:
        with ProcessPoolExecutor(jobs) as pool:
            f = forecast(spec, snap.to_observation(), hours, reps, seed, setpoints, pool)
    except (ValueError, KeyError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f.model_dump_json(indent=2))


def history(tag: Annotated[str, typer.Argument(help="tag path, e.g. GearLine/MP1/MP1/PowerKW")],
            since: Annotated[str, typer.Option(help="span up to the newest sample: 30s, 15m, 1h, 2d")] = "1h",
            plot: Annotated[Path | None, typer.Option(help="draw the values into this PNG file")] = None,
            data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """Print a tag's history from the twin's embedded store (and plot it: states as named
    steps, numbers against their unit, spans the twin did not observe shaded)."""
    from twin_core.history import gaps, parse_since, tag_history, tag_paths, unknown_tag_message
    from twin_core.history import plot as draw

    settings = _settings(config, data_dir=data_dir)
    db = settings.data_dir / "history.sqlite"
    try:
        span = parse_since(since)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    if not db.exists():
        typer.echo(f"no embedded history in {settings.data_dir}", err=True)
        raise typer.Exit(1)
    samples = tag_history(db, tag, span)
    if not samples:
        paths = tag_paths(db)
        if tag not in paths:
            typer.echo(f"error: {unknown_tag_message(tag, paths)}", err=True)
            raise typer.Exit(2)
        typer.echo(f"no samples of {tag} in the last {since}", err=True)
        raise typer.Exit(1)
    for s in samples:
        value = "-" if s.value is None else s.value
        quality = "good" if s.status & 0xC0000000 == 0 else ("BAD" if s.status & 0x80000000 else "uncertain")
        typer.echo(f"{s.time.isoformat()}\t{value}\t{quality}\t0x{s.status:08X}")
    if plot is not None:
        from plantctl.tag_meta import tag_meta

        meta = tag_meta(settings.plant, tag)
        draw(samples, tag, plot, unit=meta.unit, states=meta.states, gaps=gaps(db, samples[0].time, samples[-1].time))
        typer.echo(f"plot written to {plot}", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(twin_app, name="twin")
    app.command("history")(history)
