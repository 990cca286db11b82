"""The PLC's operator commands, declared once each: name, role, target, arguments (with type,
range and description) and handler. The runtime runs them from this table and the OPC UA
server builds its methods from it, so a command and its method cannot disagree.

A handler gets arguments that already passed the schema (type, range, length); it raises
ValueError (InterlockError for a state that forbids it) to refuse, before changing anything.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import plant_tags as tags
from plc_sim.model.line import MAX_CARDS, LineModel
from plc_sim.model.machine import InterlockError, Machine
from plc_sim.model.vocab import DataType, Role

from .alarms import AlarmBook
from .card_rules import check_card_write, live_counts
from .checks import Refusal, Rejected, check_value, clip
from .faults import (
    MAX_CAP_KW,
    MAX_DURATION_H,
    MAX_SURGE,
    MIN_DURATION_H,
    ORDER_FIELDS,
    QUALITIES,
    FaultKind,
    FaultOrder,
    FaultSet,
)
from .recommendations import RecommendationBook

if TYPE_CHECKING:
    from .simulation import Simulation


class Command(enum.StrEnum):
    """The commands of the PLC (their values are the names callers pass)."""

    START = "start"
    STOP = "stop"
    ACKNOWLEDGE = "acknowledge"
    RESET = "reset"
    MAINTAIN = "maintain"
    SET_KANBANS = "set_kanbans"
    SET_CONWIP = "set_conwip"
    RECOMMEND = "recommend"
    APPLY_RECOMMENDATION = "apply_recommendation"
    DISMISS_RECOMMENDATION = "dismiss_recommendation"
    BREAK_MACHINE = "break_machine"
    FREEZE_TAG = "freeze_tag"
    DRIFT_TAG = "drift_tag"
    NOISE_TAG = "noise_tag"
    STICK_TAG = "stick_tag"
    SET_QUALITY = "set_quality"
    STOP_SUPPLY = "stop_supply"
    DEMAND_SURGE = "demand_surge"
    POWER_CAP = "power_cap"
    CLEAR_FAULT = "clear_fault"
    PAUSE = "pause"
    RESUME = "resume"
    SET_TIME_FACTOR = "set_time_factor"
    STEP_TO = "step_to"
    RESET_SIMULATION = "reset_simulation"
    SAVE_SNAPSHOT = "save_snapshot"
    LOAD_SNAPSHOT = "load_snapshot"


Target = Literal["machine", "line"]
"""A machine command is a method of every machine, a line command one of a folder of the line."""


@dataclass(frozen=True)
class Arg:
    """One argument of a command: its name, PLC data type, range (numbers) and meaning."""

    name: str
    dtype: DataType
    description: str
    lo: float | None = None
    hi: float | None = None


@dataclass(frozen=True)
class CommandContext:
    """What a handler works on: the line model, the alarm book, the addressed machine (None
    for a line command), the recommendations, and who calls with which role."""

    model: LineModel
    alarms: AlarmBook
    machine: Machine | None
    recommendations: RecommendationBook
    user: str
    role: Role | None
    faults: FaultSet | None = None
    simulation: Simulation | None = None


Handler = Callable[[CommandContext, Mapping[str, Any]], str]


@dataclass(frozen=True)
class CommandSpec:
    """A command: who may run it, on what, with which arguments, and what it does. `method`
    is its OPC UA browse name, `event` an extra event kind reported when it succeeds."""

    command: Command
    method: str
    role: Role
    target: Target
    description: str
    handler: Handler
    args: tuple[Arg, ...] = ()
    event: str | None = None
    folder: str = tags.Folder.CONTROL
    """The line's folder that holds a line command's method."""

    def checked_args(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments if every one is there, known, and of its type and range; else Rejected."""
        names = [a.name for a in self.args]
        unknown = [k for k in args if k not in names]
        if unknown:
            raise Rejected(Refusal.TOO_MANY_ARGUMENTS,
                           f"{self.command} takes no argument {clip(', '.join(map(str, unknown)))}")
        missing = [n for n in names if n not in args]
        if missing:
            raise Rejected(Refusal.ARGUMENTS_MISSING, f"{self.command} needs {', '.join(missing)}")
        checked = {}
        for a in self.args:
            try:
                checked[a.name] = check_value(args[a.name], a.dtype, f"{self.command} {a.name}", a.lo, a.hi)
            except Rejected as e:
                e.argument = a.name
                raise
        return checked


def _machine(ctx: CommandContext) -> Machine:
    assert ctx.machine is not None, "the runtime resolves the machine of a machine command"
    return ctx.machine


def _start(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    mach = _machine(ctx)
    mach.set_stopped(False)
    return f"{mach.name} started"


def _stop(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    mach = _machine(ctx)
    mach.set_stopped(True)
    return f"{mach.name} stops after its current job"


def _acknowledge(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    name = _machine(ctx).name
    if ctx.alarms.acked(name):
        raise InterlockError(f"no unacknowledged alarm on {name}")
    ctx.alarms.acknowledge(name)
    return "acknowledged"


def _reset(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    mach = _machine(ctx)
    if mach.failed:
        raise InterlockError(f"{mach.name} is still down")
    if not ctx.alarms.acked(mach.name):
        raise InterlockError(f"acknowledge the alarm of {mach.name} first")
    if not ctx.alarms.fault(mach.name):
        raise InterlockError(f"{mach.name} has no fault to reset")
    ctx.alarms.reset(mach.name)
    return "fault reset"


def _maintain(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    mach = _machine(ctx)
    mach.request_maintenance()
    return f"{mach.name}: maintenance starts when the current job ends"


def _product(model: LineModel, name: str) -> int:
    if name not in model.products:
        raise ValueError(f"no product {clip(name)} (products: {', '.join(model.products)})")
    return model.products.index(name)


def _set_kanbans(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    m = ctx.model
    stage = args["stage"]
    if not 1 <= stage < m.n_stages or m.pools[stage - 1] is None:
        raise ValueError(f"stage {stage} has no kanbans (stages with kanbans: 1..{m.n_stages - 1})")
    product = _product(m, args["product"])
    key = tags.kanban_name(stage, None if m.shared else m.products[product])
    check_card_write(m, live_counts(m), key, args["value"])
    m.set_kanbans(stage - 1, 0 if m.shared else product, args["value"])
    return "kanbans set"


def _set_conwip(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    m = ctx.model
    product = _product(m, args["product"])
    check_card_write(m, live_counts(m), tags.conwip_name(m.products[product]), args["value"])
    m.set_conwip(product, args["value"])
    return "CONWIP cards set"


def _recommend(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    rec = ctx.recommendations.add(args["changes"], args["summary"], ctx.user, ctx.role, ctx.model.env.now)
    return f"recommendation {rec.id}: {len(rec.changes)} setpoint change(s), open"


def _apply_recommendation(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    rec = ctx.recommendations.apply(args["id"], ctx.user)
    return f"recommendation {rec.id} applied: {', '.join(f'{k}={clip(v, 64)}' for k, v in rec.changes.items())}"


def _dismiss_recommendation(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    return f"recommendation {ctx.recommendations.dismiss(args['id'], ctx.user).id} dismissed"


def _faults(ctx: CommandContext) -> FaultSet:
    assert ctx.faults is not None, "the runtime gives fault commands its fault set"
    return ctx.faults


def _sim(ctx: CommandContext) -> Simulation:
    assert ctx.simulation is not None, "the runtime gives simulation commands its simulation"
    return ctx.simulation


def _injector(kind: FaultKind) -> Handler:
    target, value = ORDER_FIELDS[kind]

    def inject(ctx: CommandContext, args: Mapping[str, Any]) -> str:
        order = FaultOrder(kind, args["duration_h"], args[target] if target else None, args[value] if value else None)
        f = _faults(ctx).start(order, ctx.user)
        return f"{f.describe()} active until plant hour {f.end_h:g}"
    return inject


def _clear_fault(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    return f"{_faults(ctx).clear(args['id'], ctx.user).describe()} cleared"


_CARDS = Arg("value", "Int32", f"the new card count, 1..{MAX_CARDS}", 1, MAX_CARDS)
_PRODUCT = Arg("product", "String", "the product's name in the plant file")
_ID = Arg("id", "Int32", "the recommendation's id (Recommendations/Open)", 1, None)
_DURATION = Arg("duration_h", "Double", "how long, plant hours", MIN_DURATION_H, MAX_DURATION_H)
_TAG = Arg("tag", "String", "a measurement's path below Objects/Plant, joined by / (e.g. Line/Station/M1/PowerKW)")


def _fault_spec(command: Command, method: str, kind: FaultKind, text: str, *args: Arg) -> CommandSpec:
    return CommandSpec(command, method, "engineer", "line", text, _injector(kind), (*args, _DURATION), folder=tags.Folder.FAULTS)


def _sim_spec(command: Command, method: str, text: str, handler: Handler, *args: Arg) -> CommandSpec:
    return CommandSpec(command, method, "engineer", "line", text, handler, args, folder=tags.Folder.SIMULATION)


_FAULT_COMMANDS = (
    _fault_spec(Command.BREAK_MACHINE, "BreakMachine", FaultKind.BREAK_MACHINE,
                "break a machine down now, repaired after duration_h (a breakdown alarm and events as any)",
                Arg("machine", "String", "the machine's name")),
    _fault_spec(Command.FREEZE_TAG, "FreezeTag", FaultKind.FREEZE, "a measurement keeps showing its value of now",
                _TAG),
    _fault_spec(Command.DRIFT_TAG, "DriftTag", FaultKind.DRIFT, "a measurement drifts off by rate per plant hour",
                _TAG, Arg("rate", "Double", "drift, the tag's unit per plant hour")),
    _fault_spec(Command.NOISE_TAG, "NoiseTag", FaultKind.NOISE, "a measurement gets Gaussian noise at every scan",
                _TAG, Arg("sd", "Double", "standard deviation, the tag's unit", 0.0, None)),
    _fault_spec(Command.STICK_TAG, "StickTag", FaultKind.STICK, "a measurement is stuck at a value",
                _TAG, Arg("value", "Double", "the value shown, within the tag's range")),
    _fault_spec(Command.SET_QUALITY, "SetQuality", FaultKind.QUALITY,
                "a measurement's StatusCode is Bad or Uncertain (sensor failure, lost comms); its last value kept",
                _TAG, Arg("quality", "String", "one of " + ", ".join(QUALITIES))),
    _fault_spec(Command.STOP_SUPPLY, "StopSupply", FaultKind.STOP_SUPPLY, "raw-material deliveries arrive empty"),
    _fault_spec(Command.DEMAND_SURGE, "DemandSurge", FaultKind.DEMAND_SURGE, "orders arrive factor times as often",
                Arg("factor", "Double", "order rate multiplier", 0.01, MAX_SURGE)),
    _fault_spec(Command.POWER_CAP, "PowerCap", FaultKind.POWER_CAP,
                "hold the line's draw under kw by stopping machines (each finishes its job first)",
                Arg("kw", "Double", "the cap, kW", 0.0, MAX_CAP_KW)),
    CommandSpec(Command.CLEAR_FAULT, "ClearFault", "engineer", "line", "end an active fault now", _clear_fault,
                (Arg("id", "Int32", "the fault's id (Faults/Active)", 1, None),), folder=tags.Folder.FAULTS),
)

_NAME = Arg("name", "String", "snapshot name: letters, digits, '.', '_' or '-', up to 64")
_SIM_COMMANDS = (
    _sim_spec(Command.PAUSE, "Pause", "hold plant time where it stands", lambda ctx, a: _sim(ctx).pause()),
    _sim_spec(Command.RESUME, "Resume", "let plant time run again (no jump for the time paused)",
              lambda ctx, a: _sim(ctx).resume()),
    _sim_spec(Command.SET_TIME_FACTOR, "SetTimeFactor", "plant seconds per wall second; 0 = as fast as possible",
              lambda ctx, a: _sim(ctx).set_time_factor(a["factor"]), Arg("factor", "Double", "time factor", 0.0, 1e6)),
    _sim_spec(Command.STEP_TO, "StepTo", "run to a plant hour and pause there (State shows stepping until then)",
              lambda ctx, a: _sim(ctx).step_to(a["hour"]), Arg("hour", "Double", "plant calendar hour", 0.0, 1e7)),
    _sim_spec(Command.RESET_SIMULATION, "Reset", "start the plant again from its start hour with a seed",
              lambda ctx, a: _sim(ctx).reset(a["seed"]), Arg("seed", "Int32", "random seed", 0, None)),
    _sim_spec(Command.SAVE_SNAPSHOT, "SaveSnapshot", "record the plant's whole state under a name",
              lambda ctx, a: _sim(ctx).save(a["name"]), _NAME),
    _sim_spec(Command.LOAD_SNAPSHOT, "LoadSnapshot", "restore a recorded state; the run continues as it did from there",
              lambda ctx, a: _sim(ctx).load(a["name"]), _NAME),
)

COMMANDS: dict[Command, CommandSpec] = {spec.command: spec for spec in (
    CommandSpec(Command.START, "Start", "operator", "machine", "start a stopped machine", _start),
    CommandSpec(Command.STOP, "Stop", "operator", "machine", "stop the machine after its current job", _stop),
    CommandSpec(Command.ACKNOWLEDGE, "AcknowledgeAlarm", "operator", "machine",
                "acknowledge the machine's breakdown alarm", _acknowledge, event="alarm_acknowledged"),
    CommandSpec(Command.RESET, "ResetFault", "operator", "machine",
                "reset the fault of a repaired machine whose alarm is acknowledged", _reset),
    CommandSpec(Command.MAINTAIN, "StartMaintenance", "operator", "machine",
                "planned maintenance, starting when the current job ends", _maintain),
    CommandSpec(Command.SET_KANBANS, "SetKanbans", "engineer", "line",
                "set the kanban count of a stage (in S-KAP the shared count; product then ignored)", _set_kanbans,
                (Arg("stage", "Int32", "the stage, 1-based, one that has kanbans", 1, None), _PRODUCT, _CARDS)),
    CommandSpec(Command.SET_CONWIP, "SetConwip", "engineer", "line", "set the CONWIP card count of a product",
                _set_conwip, (_PRODUCT, _CARDS)),
    CommandSpec(Command.RECOMMEND, "Recommend", "engineer", "line",
                "propose setpoint changes for an operator to apply (checked now and when applied)", _recommend,
                (Arg("changes", "String", "JSON object: tag path below Objects/Plant (joined by /) -> value"),
                 Arg("summary", "String", "why, e.g. the forecast gain and its interval")), folder=tags.Folder.RECOMMENDATIONS),
    CommandSpec(Command.APPLY_RECOMMENDATION, "Apply", "operator", "line",
                "write every change of an open recommendation (with its author's role), or none", _apply_recommendation,
                (_ID,), folder=tags.Folder.RECOMMENDATIONS),
    CommandSpec(Command.DISMISS_RECOMMENDATION, "Dismiss", "operator", "line", "close a recommendation unapplied",
                _dismiss_recommendation, (_ID,), folder=tags.Folder.RECOMMENDATIONS),
    *_FAULT_COMMANDS, *_SIM_COMMANDS,
)}


def command_spec(name: Command | str) -> CommandSpec:
    """The spec of command `name`, or Rejected(NOT_FOUND)."""
    try:
        return COMMANDS[Command(name)]
    except (ValueError, TypeError):
        raise Rejected(Refusal.NOT_FOUND, f"no command {clip(name)}") from None


def describe(name: object, machine: object, args: Mapping[str, Any]) -> str:
    """A command as the audit log shows it, e.g. `maintain(MP1)` or
    `set_conwip(product=A, value=12)`; every part clipped."""
    parts = [clip(machine, 64)] if machine is not None else []
    parts += [f"{clip(k, 32)}={clip(v, 64)}" for k, v in args.items()]
    return clip(f"{clip(name, 64)}({', '.join(parts)})")
