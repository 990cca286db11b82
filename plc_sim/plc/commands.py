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
from typing import Any, Literal

from plc_sim.model.line import MAX_CARDS, LineModel
from plc_sim.model.machine import InterlockError, Machine
from plc_sim.model.vocab import DataType, Role

from .alarms import AlarmBook
from .card_rules import check_card_write, live_counts
from .checks import Refusal, Rejected, check_value, clip
from .recommendations import RecommendationBook


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
    folder: str = "Control"
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
        return {a.name: check_value(args[a.name], a.dtype, f"{self.command} {a.name}", a.lo, a.hi)
                for a in self.args}


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
    key = f"K{stage}" if m.shared else f"K{stage}_{m.products[product]}"
    check_card_write(m, live_counts(m), key, args["value"])
    m.set_kanbans(stage - 1, 0 if m.shared else product, args["value"])
    return "kanbans set"


def _set_conwip(ctx: CommandContext, args: Mapping[str, Any]) -> str:
    m = ctx.model
    product = _product(m, args["product"])
    check_card_write(m, live_counts(m), f"C_{m.products[product]}", args["value"])
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


_CARDS = Arg("value", "Int32", f"the new card count, 1..{MAX_CARDS}", 1, MAX_CARDS)
_PRODUCT = Arg("product", "String", "the product's name in the plant file")
_ID = Arg("id", "Int32", "the recommendation's id (Recommendations/Open)", 1, None)

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
                 Arg("summary", "String", "why, e.g. the forecast gain and its interval")), folder="Recommendations"),
    CommandSpec(Command.APPLY_RECOMMENDATION, "Apply", "operator", "line",
                "write every change of an open recommendation (with its author's role), or none", _apply_recommendation,
                (_ID,), folder="Recommendations"),
    CommandSpec(Command.DISMISS_RECOMMENDATION, "Dismiss", "operator", "line", "close a recommendation unapplied",
                _dismiss_recommendation, (_ID,), folder="Recommendations"),
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
