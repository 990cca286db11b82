"""The controls of the page, each one method of the plant's server called in the user's own
OPC UA session: the server's method gate checks the role and the arguments, and a refusal
comes back with its status code. The methods, their folders and argument types are the PLC's
command table (`plc_sim.plc.commands`), the same the server builds its methods from."""

from __future__ import annotations

import math
from typing import Any

from asyncua import ua

import plant_tags as tags
from plc_sim.plc.commands import Command, CommandSpec, command_spec

from .sessions import WebSession, status_name

ACTIONS: dict[str, Command] = {
    "apply": Command.APPLY_RECOMMENDATION,
    "dismiss": Command.DISMISS_RECOMMENDATION,
    "break_machine": Command.BREAK_MACHINE,
    "set_quality": Command.SET_QUALITY,
    "stop_supply": Command.STOP_SUPPLY,
    "clear_fault": Command.CLEAR_FAULT,
    "pause": Command.PAUSE,
    "resume": Command.RESUME,
    "step_to": Command.STEP_TO,
    "set_time_factor": Command.SET_TIME_FACTOR,
}
"""What the page offers (name in the request -> the PLC command)."""
_VARIANTS = {"Double": ua.VariantType.Double, "Int32": ua.VariantType.Int32, "String": ua.VariantType.String,
             "Boolean": ua.VariantType.Boolean}


class ActionError(Exception):
    """A request the page should not have sent (unknown action, missing or mistyped argument)."""


class RefusedError(Exception):
    """The server refused the call: `status` is its StatusCode's name."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def _variant(spec: CommandSpec, name: str, dtype: str, value: Any) -> ua.Variant:
    ok = {"Double": isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(float(value)),
          "Int32": isinstance(value, int) and not isinstance(value, bool),
          "String": isinstance(value, str), "Boolean": isinstance(value, bool)}[dtype]
    if not ok:
        raise ActionError(f"{spec.method} {name}: a {dtype}, not {value!r:.40}")
    return ua.Variant(float(value) if dtype == "Double" else value, _VARIANTS[dtype])


def arguments(spec: CommandSpec, args: dict[str, Any]) -> list[ua.Variant]:
    """The call's variants in the method's order; ActionError for a missing, extra or mistyped one."""
    names = [a.name for a in spec.args]
    extra = sorted(set(args) - set(names))
    if extra:
        raise ActionError(f"{spec.method} takes no argument {', '.join(extra)[:80]}")
    missing = [n for n in names if n not in args]
    if missing:
        raise ActionError(f"{spec.method} needs {', '.join(missing)}")
    return [_variant(spec, a.name, a.dtype, args[a.name]) for a in spec.args]


async def run(session: WebSession, line: str, action: object, args: object) -> str:
    """Call the action's method as the session's user; its answer, or RefusedError."""
    if not isinstance(action, str) or action not in ACTIONS:
        raise ActionError(f"no action {str(action)[:40]!r}: one of {', '.join(ACTIONS)}")
    if not isinstance(args, dict):
        raise ActionError("args is a JSON object")
    spec = command_spec(ACTIONS[action])
    variants = arguments(spec, args)
    ns = session.namespace
    folder = session.client.get_node(ua.NodeId(tags.key((tags.PLANT, line, spec.folder)), ns))
    async with session.lock:
        try:
            result = await folder.call_method(ua.QualifiedName(spec.method, ns), *variants)
        except ua.UaStatusCodeError as e:
            raise RefusedError(status_name(e.code), f"{spec.method} refused: {status_name(e.code)}") from None
    return str(result) if result is not None else "done"
