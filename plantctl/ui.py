"""The live terminal view of `plant up` (rich Live, refreshed about twice a second from the
event loop): plant time, machine states, the main KPIs, the twin's health and the optimizer's
last run. It only reads in-process objects: the PLC's tag table (the values its last scan
published), the twin's health view and the optimizer's status; nothing goes over OPC UA."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from plant_tags import Folder, MachineTag, key, kpi

if TYPE_CHECKING:
    from plc_sim.plc.runtime import PlcRuntime
    from twin_core.health import HealthView

console = Console()
"""The view's console; `plant up` logs through it too, so log lines print above the view."""

KPIS = ("Zmax", "SL", "fill_rate", "throughput_per_h", "WIP", "oee", "LD", "energy_kwh", "downtime_h")
"""The main KPIs, in this order (those the line publishes)."""
STATE_STYLE = {"processing": "green", "idle": "yellow", "starved": "yellow", "blocked": "yellow", "standby": "cyan",
               "waking": "cyan", "down": "bold red", "maintenance": "magenta", "off": "dim"}
"""Colours of plc_sim.model.vocab.MACHINE_STATUSES."""

OptimizerSnapshot = tuple[str | None, float | None, int, dict[str, Any] | None]
"""(job running or None, since when, runs so far, the last run's audit record or None)."""


def _fmt(x: object) -> str:
    if isinstance(x, float):
        return f"{x:,.4g}"
    return "-" if x is None else str(x)


def _age(t: float | None) -> str:
    if t is None:
        return "-"
    s = max(time.time() - t, 0.0)
    return f"{s:.0f} s ago" if s < 120 else f"{s / 60:.0f} min ago"


class Dashboard:
    """Renders the view from the live objects; `live()` is the rich Live context."""

    def __init__(self, plc: PlcRuntime, url: str, optimizer_dir: Path) -> None:
        self.plc = plc
        self.url = url
        self.optimizer_dir = optimizer_dir
        line = plc.spec.line
        tags = plc.table.tags
        self.states = [(t.path[1], t.path[2], t) for t in tags.values() if len(t.path) == 4 and t.name == MachineTag.STATE]
        self.kpis = [tags[k] for k in (key(kpi(line, n)) for n in KPIS) if k in tags]

    @contextmanager
    def live(self) -> Iterator[Live]:
        with Live(Text("starting..."), console=console, auto_refresh=False, transient=False,
                  redirect_stdout=False, redirect_stderr=False) as live:
            yield live

    def render(self, twin: HealthView | None, opt: OptimizerSnapshot, next_run: float | None) -> RenderableType:
        return Group(self._head(), Columns([self._machines(), self._kpis(), self._twin(twin)], padding=(0, 1)),
                     self._optimizer(opt, next_run))

    def _head(self) -> Text:
        p = self.plc
        factor = "max" if p.time_factor is None else f"x{p.time_factor:g}"
        return Text.assemble(("plant up ", "bold"), f"{p.spec.name} ({p.model.model_name}) at {self.url}   ",
                             ("plant time ", "bold"), f"{p.plant_time():%Y-%m-%d %H:%M}  ({p.calendar_h:,.1f} h, "
                             f"{factor})   ", ("Ctrl-C", "bold"), " stops")

    def _machines(self) -> Panel:
        t = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        t.add_column("station")
        t.add_column("machine")
        t.add_column("state")
        for station, machine, tag in self.states:
            value = tag.value
            name = tag.enum[value] if tag.enum and isinstance(value, int) and 0 <= value < len(tag.enum) else _fmt(value)
            t.add_row(station, machine, Text(name, style=STATE_STYLE.get(name, "")))
        return Panel(t, title="machines", border_style="blue")

    def _kpis(self) -> Panel:
        t = Table(box=None, show_header=False, pad_edge=False)
        t.add_column("kpi", style="bold")
        t.add_column("value", justify="right")
        t.add_column("unit", style="dim")
        for tag in self.kpis:
            t.add_row(tag.name, _fmt(tag.value), tag.unit)
        return Panel(t, title=str(Folder.KPIS), border_style="blue")

    def _twin(self, h: HealthView | None) -> Panel:
        t = Table(box=None, show_header=False, pad_edge=False)
        t.add_column("what", style="bold")
        t.add_column("value")
        if h is None:
            t.add_row("twin", "starting")
        else:
            t.add_row("connected", Text("yes", style="green") if h.connected else Text("NO", style="bold red"))
            t.add_row("points stored", f"{h.stored:,}")
            t.add_row("points/s", f"{h.points_per_s:,.0f}")
            t.add_row("sink", f"{h.sink} ({'up' if h.sink_up else 'DOWN'})")
            t.add_row("spool", f"{h.spool_depth:,}")
            t.add_row("dropped", f"{h.dropped:,}")
            t.add_row("gaps", str(h.gaps))
            if h.problem:
                t.add_row("problem", Text(h.problem, style="red"))
        return Panel(t, title="twin", border_style="blue")

    def _optimizer(self, opt: OptimizerSnapshot, next_run: float | None) -> Panel:
        running, since, runs, last = opt
        lines: list[RenderableType] = []
        now = f"running {running} for {time.time() - since:.0f} s" if running and since else "idle"
        nxt = "-" if next_run is None else f"in {max(next_run - time.time(), 0):.0f} s"
        lines.append(Text(f"{now}; runs so far {runs}; next run {nxt}; audit {self.optimizer_dir / 'audit.jsonl'}"))
        if last is not None:
            outcome = str(last.get("outcome"))
            style = {"written": "green", "recommended": "cyan", "kept": "yellow", "skipped": "yellow"}.get(outcome, "red")
            when = last.get("time", "")
            lines.append(Text.assemble("last run ", (f"{last.get('job')}: {outcome}", f"bold {style}"),
                                       f"  at {when}, {last.get('elapsed_s', 0):.1f} s"))
            imp = last.get("improvement")
            if isinstance(imp, dict) and imp.get("mean") is not None:
                lines.append(Text(f"improvement {imp['mean']:,.4g} (p = {_fmt(last.get('p_value'))})"))
            written = last.get("written") or last.get("recommended") or {}
            if written:
                current = last.get("current") or {}
                verb = "changed " if last.get("written") else f"{last.get('recommendation', 'recommended')}: "
                lines.append(Text(verb + ", ".join(f"{k}: {_fmt(current.get(k))} -> {_fmt(v)}"
                                                   for k, v in written.items())))
            elif outcome != "written":
                lines.append(Text("changed nothing"))
            for reason in (last.get("reasons") or [])[:2]:
                lines.append(Text(f"  {reason}", style="dim"))
        return Panel(Group(*lines), title="optimizer", border_style="blue")
