"""Which tags a plant has: measurements, setpoints and KPIs, declared once each from the plant
spec and the running model. Adding a setpoint is one `Tag(...)` here."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import plant_tags as tags
from plc_sim.model.calendar import shift_status
from plc_sim.model.kpi import kpis
from plc_sim.model.line import MAX_CARDS, LineModel
from plc_sim.model.machine import Machine
from plc_sim.model.rules import dispatch_weights_problem
from plc_sim.model.spec import OFF_SHIFT_MODES, revalidated
from plc_sim.model.vocab import MACHINE_STATUSES, MAINT_POLICIES

from .alarms import AlarmBook
from .card_rules import check_card_write, live_counts
from .clock import PLANT_EPOCH
from .tags import Tag, TagTable

MT, ST = tags.MachineTag, tags.StationTag

LINE_KPIS = (
    ("Zmax", "EUR", "profit of the run since the warm-up, seed 004 equation 22 (sales and recycling less event, "
                    "holding, lost-sales, raw-material and return costs)"),
    ("SL", "1", "service level (FG + I3 + SC + Rn) / D as seed 004 defines it, a ratio"),
    ("fill_rate", "1", "share of demand served from stock, a ratio 0..1"),
    ("WIP", "parts", "work in process: parts in the line between raw material and finished goods"),
    ("FG", "parts", "FG: finished parts sold, net of refunded returns, since the warm-up"),
    ("D", "orders", "D: demand, orders received since the warm-up"),
    ("I3", "parts", "I3: finished-goods inventory, its time average since the warm-up"),
    ("SC", "parts", "SC: recycled (scrapped) items since the warm-up"),
    ("Rn", "parts", "Rn: returned items since the warm-up"),
    ("B", "events", "B: machine breakdowns since the warm-up"),
    ("M", "events", "M: planned maintenance actions since the warm-up"),
    ("R", "events", "R: repairs since the warm-up"),
    ("LD", "orders", "LD: lost sales (orders not served) since the warm-up"),
    ("Rw", "parts", "Rw: raw material procured since the warm-up"),
    ("energy_kwh", "kWh", "energy used by the line's machines since the warm-up"),
    ("downtime_h", "h", "unplanned machine downtime since the warm-up, summed over machines"),
    ("throughput_per_h", "parts/h", "finished parts per plant hour since the warm-up"),
    ("oee", "1", "overall equipment effectiveness, mean over machines, a ratio 0..1"),
)
"""The line's KPIs: name (seed 004's where it has one), unit, description."""


def build_tags(model: LineModel, alarms: AlarmBook, noise: Callable[[], float],
               clock: Callable[[], float], time_factor: Callable[[], float] = lambda: 0.0) -> TagTable:
    """The tag table of `model`: `alarms` backs the alarm tags, `noise` draws the sensor
    noise of condition signals, `clock` gives the plant calendar hours (PlantTime,
    PlantClock), `time_factor` the plant seconds per wall second (0: as fast as possible)."""
    table = TagTable()
    line = model.spec.line
    for s, st in enumerate(model.spec.stations):
        _station_tags(table, model, s, (line, st.name), clock)
        for mach in model.machines[s]:
            _machine_tags(table, model, alarms, noise, mach, (line, st.name, mach.name))
    _line_tags(table, model, clock, line)
    table.add(Tag(tags.kpi(line, tags.ClockTag.PLANT_CLOCK), "DateTime", lambda: PLANT_EPOCH + timedelta(hours=clock()),  # type: ignore[arg-type]
                  description="plant time as a date and time (UTC): PLANT_EPOCH 2026-01-05 00:00 + PlantTime hours"))
    table.add(Tag(tags.kpi(line, tags.ClockTag.TIME_FACTOR), "Double", time_factor, "1", 0.0, None,
                  description="plant seconds per wall-clock second; 0 = as fast as possible"))
    return table


def _station_tags(table: TagTable, m: LineModel, s: int, base: tuple[str, ...], clock: Callable[[], float]) -> None:
    ln, stn = base
    def shift_active() -> bool:
        plan = m.shift_plan[s]
        if plan is None:
            return m.calendar.is_working(clock())
        return shift_status(m.spec.shift_plans[plan], m.now)[0]

    table.add(Tag(tags.station(ln, stn, ST.SHIFT_ACTIVE), "Boolean", shift_active,
                  description="the station is on shift (its shift plan, or the plant calendar's working hours)"))
    table.add(Tag(tags.station(ln, stn, ST.QUEUE_LENGTH), "Int32", lambda: len(m.jobs[s]), "parts", 0, None, historize=True,
                  description="jobs waiting for a machine of the station"))
    for p, name in enumerate(m.products):
        table.add(Tag(tags.output_buffer(ln, stn, name), "Int32", _at(lambda p: m.buf[s][p], p), "parts", 0, None,
                      description=f"finished {name} parts waiting for the next station (finished goods at the last)"))
    if m.shift_plan[s] is not None:
        plans = tuple(m.spec.shift_plans)
        table.add(Tag(tags.station(ln, stn, ST.SHIFT_PLAN), "String", lambda: m.shift_plan[s], choices=plans,
                      apply=lambda v: m.set_shift(s, v), description="named shift plan of the plant file"))


def _machine_tags(table: TagTable, m: LineModel, alarms: AlarmBook, noise: Callable[[], float], mach: Machine,
                  base: tuple[str, ...]) -> None:
    ln, stn, mn = base
    def now() -> float:
        return float(m.now)

    add = table.add
    add(Tag(tags.machine(ln, stn, mn, MT.STATE), "Int32", lambda: MACHINE_STATUSES.index(m.machine_status(mach)),
            enum=MACHINE_STATUSES,
            historize=True, description="machine state (MachineStateEnum)"))
    add(Tag(tags.machine(ln, stn, mn, MT.PARTS_DONE), "Int32", lambda: mach.done, "parts", 0, None, historize=True,
            description="parts the machine has finished since the start"))
    add(Tag(tags.machine(ln, stn, mn, MT.GOOD_PARTS), "Int32", lambda: mach.good, "parts", 0, None,
            description="good (not scrapped) parts the machine has finished since the start"))
    add(Tag(tags.machine(ln, stn, mn, MT.POWER_KW), "Double", lambda: mach.p_now, "kW", 0.0, _max_power(mach), historize=True,
            description="electrical power drawn now"))
    add(Tag(tags.machine(ln, stn, mn, MT.ENERGY_KWH), "Double", lambda: mach.energy_now(now()), "kWh", 0.0, None,
            description="energy used since the start"))
    add(Tag(tags.machine(ln, stn, mn, MT.CYCLE_TIME), "Double", lambda: mach.last_cycle_h * 60.0, "min", 0.0, None,
            description="processing time of the last finished part"))
    add(Tag(tags.machine(ln, stn, mn, MT.ENERGY_PER_PART), "Double", lambda: mach.last_part_kwh, "kWh", 0.0, None,
            description="energy used for the last finished part"))
    add(Tag(tags.machine(ln, stn, mn, MT.ALARM_ACTIVE), "Boolean", lambda: alarms.active(mach.name),
            description="the breakdown alarm is active (the machine is down)"))
    add(Tag(tags.machine(ln, stn, mn, MT.ALARM_ACKED), "Boolean", lambda: alarms.acked(mach.name),
            description="the breakdown alarm is acknowledged (true when there is none)"))
    if mach.wear_spec is not None:
        add(Tag(tags.machine(ln, stn, mn, MT.WEAR), "Double", lambda: mach.wear_now(now()), "1", 0.0, None, historize=True,
            description="tool wear, dimensionless (unit 1): accumulated wear of the wear model, grows while processing"))
    if mach.cond is not None:
        def sig(k: str) -> Callable[[], float]:
            return lambda: mach.signals(now(), noise)[k]

        add(Tag(tags.machine(ln, stn, mn, MT.VIBRATION), "Double", sig("vibration_mm_s"), "mm/s", 0.0, 20.0, historize=True,
            description="vibration velocity (RMS) of the condition monitor"))
        add(Tag(tags.machine(ln, stn, mn, MT.SPINDLE_TEMPERATURE), "Double", sig("spindle_temp_c"), "degC", 0.0, 150.0,
                historize=True,
            description="spindle temperature of the condition monitor"))
    if mach.speed_spec is not None:
        sp = mach.speed_spec
        if sp.spindle_rpm:
            add(Tag(tags.machine(ln, stn, mn, MT.SPINDLE_SPEED), "Double", lambda: mach.signals(now())["spindle_rpm"], "rpm", 0.0,
                    sp.spindle_rpm * sp.max_pct / 100, description="spindle speed now"))
        if sp.feed_mm_min:
            add(Tag(tags.machine(ln, stn, mn, MT.FEED_RATE), "Double", lambda: mach.signals(now())["feed_mm_min"], "mm/min", 0.0,
                    sp.feed_mm_min * sp.max_pct / 100, description="feed rate now"))
        add(Tag(tags.machine(ln, stn, mn, MT.SPEED_SETPOINT), "Double", lambda: mach.speed_pct, "%", sp.min_pct, sp.max_pct,
                apply=mach.set_speed, check=lambda v: _speed_check(mach, v), historize=True,
                description="speed in percent of nominal; applies from the next job"))
    if mach.standby_spec is not None:
        add(Tag(tags.machine(ln, stn, mn, MT.STANDBY_TIMEOUT), "Double", lambda: mach.standby_timeout_h, "h", 0.0, 1000.0,
                apply=mach.set_standby_timeout, check=lambda v: _standby_check(mach, v),
                description="idle hours before standby; 0 = never"))
        add(Tag(tags.machine(ln, stn, mn, MT.OFF_SHIFT_MODE), "String", lambda: mach.off_shift_mode, choices=OFF_SHIFT_MODES,
                apply=mach.set_off_shift_mode, check=lambda v: _off_shift_check(mach, v),
                description="what the machine does outside its station's shifts: idle (left powered), standby "
                            "or off (a cold start at the next shift), one of the Choices"))
    add(Tag(tags.machine(ln, stn, mn, MT.MAINTENANCE_INTERVAL), "Double", lambda: mach.maint_spec.interval_h, "h", 1.0, 100_000.0,
            apply=lambda v: mach.set_maintenance(interval_h=v), check=lambda v: mach.checked_maintenance(interval_h=v),
            description="working hours between preventive maintenance actions (policy interval)"))
    add(Tag(tags.machine(ln, stn, mn, MT.MAINTENANCE_POLICY), "String", lambda: mach.maint_spec.policy, choices=MAINT_POLICIES,
            apply=lambda v: mach.set_maintenance(policy=v), check=lambda v: mach.checked_maintenance(policy=v),
            description="maintenance policy, one of the Choices"))
    add(Tag(tags.machine(ln, stn, mn, MT.MAINTENANCE_PLAN), "String", lambda: _plan_text(mach.maint_spec.plan),
            parse=lambda text: _plan_windows(mach, text), apply=lambda v: mach.set_maintenance(plan=v),
            render=_plan_text,
            description='planned maintenance windows on the working clock, JSON [[start_h, duration_h], ...]; '
                        'used when MaintenancePolicy is "plan"'))
    if len(m.machines[mach.stage]) > 1:
        add(Tag(tags.machine(ln, stn, mn, MT.DISPATCH_WEIGHT), "Double", lambda: mach.weight, "1", 0.0, 100.0,
                apply=mach.set_dispatch_weight, check=lambda v: _weights_check(table, m, base[:-1], mach, v),
                description="relative share of the station's jobs sent to this machine, dimensionless (unit 1); "
                            "0 = none"))


def _line_tags(table: TagTable, m: LineModel, clock: Callable[[], float], line: str) -> None:
    cache: dict[str, Any] = {}

    def kpi(name: str) -> Callable[[], float]:
        def read() -> float:
            if cache.get("t") != m.now:
                cache.clear()
                cache.update(kpis(m) if m.now > m.stats_t else {})
                cache["t"] = m.now
            return float(cache[name]) if name in cache else 0.0
        return read

    for name, unit, text in LINE_KPIS:
        table.add(Tag(tags.kpi(line, name), "Double", kpi(name), unit, historize=name in ("WIP", "throughput_per_h"),
                      description=text))
    table.add(Tag(tags.kpi(line, tags.ClockTag.PLANT_TIME), "Double", clock, "h", description="plant calendar hours"))
    for p, name in enumerate(m.products):
        table.add(Tag(tags.backlog(line, name), "Int32", _at(lambda p: len(m.backlog[p]), p), "orders", 0, None,
                      description=f"orders of {name} waiting for finished goods"))
        table.add(Tag(tags.raw(line, name), "Int32", _at(lambda p: m.raw[p], p), "parts", 0, m.spec.raw.cap,
                      description=f"raw material of {name} in stock"))
        table.add(Tag(tags.conwip(line, name), "Int32", _at(lambda p: m.conwip_cap[p], p), "cards", 1, MAX_CARDS,
                      apply=_setter(lambda p, v: m.set_conwip(p, v), p), check=_cards_check(table, m, f"C_{name}"),
                      description=f"CONWIP cards of {name}"))
        for i, base in enumerate(m.spec.policy.S[name]):
            table.add(Tag(tags.base_stock(line, i + 1, name), "Int32", _at(lambda b: b, base), "parts", 0, None,
                          description="base stock (initial stock) of the stage; fixed while running"))
    for s, pool in enumerate(m.pools):
        if pool is None:
            continue
        if m.shared:
            table.add(Tag(tags.kanban(line, s + 1), "Int32", _at(lambda pl: pl.cap, pool), "cards", 1, MAX_CARDS,
                          apply=_setter(lambda s, v: m.set_kanbans(s, 0, v), s), check=_cards_check(table, m, f"K{s + 1}"),
                          description=f"shared kanbans of stage {s + 1}"))
        else:
            for p, name in enumerate(m.products):
                table.add(Tag(tags.kanban(line, s + 1, name), "Int32", _at(lambda sp: sp[0].cap[sp[1]], (pool, p)),
                              "cards", 1, MAX_CARDS, apply=_setter(lambda sp, v: m.set_kanbans(sp[0], sp[1], v), (s, p)),
                              check=_cards_check(table, m, f"K{s + 1}_{name}"),
                              description=f"kanbans of stage {s + 1} for {name}"))


def _at(read: Callable[[Any], Any], key: Any) -> Callable[[], Any]:
    """A reader bound to `key` now (a loop variable), not to the loop's last value."""
    return lambda: read(key)


def _setter(apply: Callable[[Any, Any], None], key: Any) -> Callable[[Any], None]:
    """An apply function bound to `key` now."""
    return lambda v: apply(key, v)


def _max_power(mach: Machine) -> float:
    pw = mach.power
    top = max(pw.processing, pw.idle, pw.standby, pw.wakeup, pw.down, pw.maintenance, pw.off)
    if mach.speed_spec is not None:
        top = max(top, pw.processing * (mach.speed_spec.max_pct / 100) ** mach.speed_spec.power_exp)
    return top


def _plan_windows(mach: Machine, text: str) -> list[tuple[float, float]]:
    """A plan written as JSON text, checked by the plant file's validators. NaN and
    Infinity (which Python's JSON reader takes) are refused: a plan is finite hours."""
    try:
        raw = json.loads(text, parse_constant=_no_constant)
        windows = [(float(start), float(dur)) for start, dur in raw]
    except (json.JSONDecodeError, TypeError, ValueError, RecursionError):
        raise ValueError('a plan is JSON [[start_h, duration_h], ...] of finite numbers') from None
    if not all(math.isfinite(x) for w in windows for x in w):
        raise ValueError("a plan's hours must be finite numbers")
    mach.checked_maintenance(plan=windows)
    return windows


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number of hours")


def _plan_text(plan: list[tuple[float, float]]) -> str:
    """A plan as the tag shows it (and as a written plan reads back once applied)."""
    return json.dumps([list(w) for w in plan], allow_nan=False)


def _speed_check(mach: Machine, pct: float) -> None:
    """Everything `Machine.set_speed` checks: the interlock and the speed section's validators."""
    mach.require_up("speed change")
    if mach.speed_spec is None:
        raise ValueError(f"machine {mach.name} has no speed setpoint")
    revalidated(mach.speed_spec, setpoint_pct=float(pct))


def _standby_check(mach: Machine, hours: float) -> None:
    """Everything `Machine.set_standby_timeout` checks: the standby section's validators."""
    if mach.standby_spec is None:
        raise ValueError(f"machine {mach.name} has no standby mode")
    revalidated(mach.standby_spec, timeout_h=float(hours))


def _off_shift_check(mach: Machine, mode: str) -> None:
    """Everything `Machine.set_off_shift_mode` checks: the standby section's validators."""
    if mach.standby_spec is None:
        raise ValueError(f"machine {mach.name} has no standby mode")
    revalidated(mach.standby_spec, off_shift=mode)


def _weights_check(table: TagTable, m: LineModel, station: tuple[str, ...], mach: Machine, weight: float) -> None:
    """The station's dispatch-weight rule over the commanded weights: the other machines'
    tags show the weights written but not yet applied, so two writes that are each fine
    but together leave the station no machine cannot both be accepted."""
    line, name = station[0], station[1]
    weights = [weight if x is mach else table.get(tags.key(tags.machine(line, name, x.name, MT.DISPATCH_WEIGHT))).value
               for x in m.machines[mach.stage]]
    _no_problem(dispatch_weights_problem(weights))


def _cards_check(table: TagTable, m: LineModel, key: str) -> Callable[[int], None]:
    """The seed constraints over the commanded card counts: the other Control tags show the
    counts written but not yet applied, so a K and a C written in one scan are judged together."""
    def check(value: int) -> None:
        counts = {k: _commanded(table, m.spec.line, k, v) for k, v in live_counts(m).items()}
        check_card_write(m, counts, key, value)
    return check


def _commanded(table: TagTable, line: str, key: str, live: int) -> int:
    shown = table.get(tags.key((line, tags.Folder.CONTROL, key))).value
    return live if shown is None else int(shown)


def _no_problem(problem: str | None) -> None:
    if problem:
        raise ValueError(problem)
