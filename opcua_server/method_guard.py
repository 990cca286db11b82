"""Every method of the address space behind one gate that checks a call before it acts.

asyncua calls a method's Python function with whatever the client sent: no check that the
method belongs to the object, of the caller's role, of the argument count or of the variant
types, and an exception (a TypeError for one argument too many) becomes BadUnexpectedError
with a traceback in the log. Here every method node, the plant's commands, the standard
methods of conditions and the ones asyncua declares but does not implement, is wrapped so
that a call is checked in this order, each refusal with its status code:

1. the method is a component of the object or of its type (BadMethodInvalid);
2. the caller's role may run it (BadUserAccessDenied);
3. argument count (BadArgumentsMissing, BadTooManyArguments), variant types and array or
   scalar (BadTypeMismatch), values: NaN, infinities, strings and arrays longer than
   `max_value_length` (BadInvalidArgument, or the rule's own code: plant commands answer
   BadOutOfRange as their writes do);
4. then the method runs; an exception it raises is answered BadInternalError with one
   rate-limited log line, never a traceback.

Refusals are logged through `refusals.warn` (one line per kind per interval, with a count)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from asyncua import ua

from plc_sim.model.vocab import Role, role_allows
from plc_sim.plc.checks import Refusal, Rejected

from . import refusals
from .access import status

log = logging.getLogger(__name__)

SESSION: ContextVar[Any] = ContextVar("SESSION", default=None)
"""The session whose Call is being served (set by `sessions.PlantSession.call`)."""

Handler = Callable[..., Awaitable[Any]]
OnRefused = Callable[[ua.NodeId, Rejected], None]
Caller = Callable[[], tuple[Role | None, str]]

_ID = ua.ObjectIds
_COMPONENT = {ua.NodeId(_ID.HasComponent), ua.NodeId(_ID.HasOrderedComponent)}
_SUBTYPE = ua.NodeId(_ID.HasSubtype)
_TYPE_DEFINITION = ua.NodeId(_ID.HasTypeDefinition)
_PROPERTY = ua.NodeId(_ID.HasProperty)
_ABSTRACT_NUMBERS = {_ID.Number, _ID.Integer, _ID.UInteger, _ID.BaseDataType}
_BUILTIN_MAX = 25
"""The built-in data types have NodeIds i=1..25, as their variant types are numbered."""


@dataclass(frozen=True)
class ArgRule:
    """One input argument: its name, variant type (None: any) and shape (scalar, array or
    either, None)."""

    name: str
    vtype: ua.VariantType | None
    array: bool | None = False


@dataclass(frozen=True)
class MethodRule:
    """Who may call a method and with what: its arguments, the role it needs (None:
    anyone, anonymous included) and the refusal of a bad value."""

    name: str
    args: tuple[ArgRule, ...]
    role: Role | None
    bad_value: Refusal = Refusal.INVALID_ARGUMENT


def _args(*pairs: tuple[str, ua.VariantType]) -> tuple[ArgRule, ...]:
    return tuple(ArgRule(n, t) for n, t in pairs)


_EVENT_AND_COMMENT = _args(("EventId", ua.VariantType.ByteString), ("Comment", ua.VariantType.LocalizedText))
CONDITION_RULES: dict[int, MethodRule] = {
    _ID.AcknowledgeableConditionType_Acknowledge: MethodRule("Acknowledge", _EVENT_AND_COMMENT, "operator"),
    _ID.AcknowledgeableConditionType_Confirm: MethodRule("Confirm", _EVENT_AND_COMMENT, "operator"),
    _ID.ConditionType_AddComment: MethodRule("AddComment", _EVENT_AND_COMMENT, "operator"),
    _ID.ConditionType_Enable: MethodRule("Enable", (), "operator"),
    _ID.ConditionType_Disable: MethodRule("Disable", (), "operator"),
    _ID.ConditionType_ConditionRefresh: MethodRule(
        "ConditionRefresh", _args(("SubscriptionId", ua.VariantType.UInt32)), None),
    _ID.ConditionType_ConditionRefresh2: MethodRule(
        "ConditionRefresh2", _args(("SubscriptionId", ua.VariantType.UInt32),
                                   ("MonitoredItemId", ua.VariantType.UInt32)), None),
}
"""The standard condition methods: Acknowledge on the type (clients call it with the
condition as object) and on each condition; the others on their types."""


def argument_problem(rule: MethodRule, args: Sequence[Any], max_length: int) -> Rejected | None:
    """Why these arguments do not fit `rule` (count, variant type, shape, value), or None."""
    want, got = len(rule.args), len(args)
    if got != want:
        refusal = Refusal.ARGUMENTS_MISSING if got < want else Refusal.TOO_MANY_ARGUMENTS
        return Rejected(refusal, f"{rule.name} takes {want} arguments, not {got}")
    for a, v in zip(rule.args, args, strict=True):
        problem = _shape_problem(a, v)
        if problem is not None:
            return Rejected(Refusal.TYPE_MISMATCH, f"{rule.name} {a.name} takes {problem}", a.name)
        bad = value_problem(v.Value, max_length)
        if bad is not None:
            return Rejected(rule.bad_value, f"{rule.name} {a.name}: {bad}", a.name)
    return None


def refused_call(names: Sequence[str], given: int, problem: Rejected) -> ua.StatusCode | ua.CallMethodResult:
    """The answer to a refused call: its status code and, when one argument is to blame, the
    InputArgumentResults flagging that one with the code (the others Good), so that a client
    shows which input was wrong (Part 4, Call)."""
    code = status(problem.refusal.value)
    if problem.argument not in names or given != len(names):
        return code
    res = ua.CallMethodResult()
    res.StatusCode = code
    res.InputArgumentResults = [code if n == problem.argument else ua.StatusCode() for n in names]
    return res


def _shape_problem(a: ArgRule, v: Any) -> str | None:
    if not isinstance(v, ua.Variant):
        return f"a variant, not a {type(v).__name__}"
    if a.vtype is not None and v.VariantType != a.vtype:
        return f"a {a.vtype.name}, not a {v.VariantType.name}"
    is_array = isinstance(v.Value, list)
    if a.array is not None and is_array != a.array:
        return "an array" if a.array else "a scalar, not an array"
    return None


def value_problem(value: Any, max_length: int) -> str | None:
    """A value no method takes: a number that is not finite, a string, byte string or array
    longer than `max_length`."""
    if isinstance(value, list):
        if len(value) > max_length:
            return f"at most {max_length} elements"
        return next((p for p in (value_problem(x, max_length) for x in value) if p is not None), None)
    if isinstance(value, float) and not math.isfinite(value):
        return "numbers must be finite"
    text = value.Text if isinstance(value, ua.LocalizedText) else value
    if isinstance(text, (str, bytes)) and len(text) > max_length:
        return f"at most {max_length} characters"
    return None


async def not_implemented(parent: ua.NodeId, *args: ua.Variant) -> ua.StatusCode:
    """A method the standard declares and this server does not offer."""
    return status("BadNotImplemented")


class MethodGuard:
    """The rules of the server's methods and the gate in front of each (`install`)."""

    def __init__(self, aspace: Any, caller: Caller, max_length: int) -> None:
        self._aspace = aspace
        self._caller = caller
        self.max_length = max_length
        self.rules: dict[ua.NodeId, MethodRule] = {}
        self._on_refused: dict[ua.NodeId, OnRefused] = {}
        self._handlers: dict[ua.NodeId, Handler] = {}

    def add(self, method_id: ua.NodeId, rule: MethodRule, handler: Handler | None = None,
            on_refused: OnRefused | None = None) -> None:
        """Declare a method's rule (and its handler, if it is not linked already); `on_refused`
        hears of each refusal the guard makes (the plant reports them as events)."""
        self.rules[method_id] = rule
        if handler is not None:
            self._handlers[method_id] = handler
        if on_refused is not None:
            self._on_refused[method_id] = on_refused

    def role_needed(self, method_id: ua.NodeId) -> Role | None:
        rule = self.rules.get(method_id)
        return rule.role if rule else None

    def install(self) -> int:
        """Wrap every method node of the address space not wrapped yet; returns how many.
        Call it again after adding methods."""
        count = 0
        for nid in list(self._aspace.keys()):
            node = self._aspace.get(nid)
            if node is None or _node_class(node) != ua.NodeClass.Method or getattr(node.call, "guarded", False):
                continue
            handler = self._handlers.get(nid) or node.call or not_implemented
            rule = self.rules.get(nid) or self._declared_rule(nid)
            self.rules[nid] = rule
            node.call = self._guarded(nid, rule, handler)
            count += 1
        return count

    def _guarded(self, method_id: ua.NodeId, rule: MethodRule, handler: Handler) -> Handler:
        async def call(parent: ua.NodeId, *args: Any) -> Any:
            return await self._call(method_id, rule, handler, parent, args)
        call.guarded = True  # type: ignore[attr-defined]
        return call

    async def _call(self, method_id: ua.NodeId, rule: MethodRule, handler: Handler, parent: ua.NodeId,
                    args: tuple[Any, ...]) -> Any:
        if not self.belongs(parent, method_id):
            refusals.warn(log, "refused call of %s on %s by %s: not a method of that object", rule.name, parent,
                          self._caller()[1])
            return status("BadMethodInvalid")
        role, who = self._caller()
        problem = (Rejected(Refusal.ACCESS_DENIED, f"{rule.name} needs the {rule.role} role")
                   if rule.role is not None and not role_allows(role, rule.role) else None)
        problem = problem or argument_problem(rule, args, self.max_length)
        if problem is not None:
            refusals.warn(log, "refused call of %s by %s: %s", rule.name, who, problem)
            report = self._on_refused.get(method_id)
            if report is not None:
                report(parent, problem)
            return refused_call([a.name for a in rule.args], len(args), problem)
        try:
            if inspect.iscoroutinefunction(handler):
                return await handler(parent, *args)
            return await asyncio.to_thread(handler, parent, *args)
        except Exception as e:
            refusals.warn(log, "method %s failed for %s: %s: %s", rule.name, who, type(e).__name__, str(e)[:200])
            return status("BadInternalError")

    def belongs(self, object_id: ua.NodeId, method_id: ua.NodeId) -> bool:
        """The method is a component of the object, of its type or of a supertype of either."""
        start = self._aspace.get(object_id)
        if start is None:
            return False
        seen: set[ua.NodeId] = set()
        todo = [object_id, *self._targets(start, _TYPE_DEFINITION, forward=True)]
        while todo:
            nid = todo.pop()
            node = self._aspace.get(nid)
            if nid in seen or node is None:
                continue
            seen.add(nid)
            if any(r.NodeId == method_id and r.IsForward and r.ReferenceTypeId in _COMPONENT for r in node.references):
                return True
            todo.extend(self._targets(node, _SUBTYPE, forward=False))
        return False

    @staticmethod
    def _targets(node: Any, ref_type: ua.NodeId, forward: bool) -> list[ua.NodeId]:
        return [r.NodeId for r in node.references if r.ReferenceTypeId == ref_type and r.IsForward == forward]

    def _declared_rule(self, method_id: ua.NodeId) -> MethodRule:
        """The rule of a method from its InputArguments property (anyone may call it)."""
        node = self._aspace[method_id]
        name = _browse_name(node) or str(method_id)
        args: tuple[ArgRule, ...] = ()
        for r in node.references:
            prop = self._aspace.get(r.NodeId) if r.ReferenceTypeId == _PROPERTY and r.IsForward else None
            if prop is not None and _browse_name(prop) == "InputArguments":
                value = prop.attributes[ua.AttributeIds.Value].value
                declared = value.Value.Value if value is not None and value.Value is not None else None
                args = tuple(self._arg_rule(a) for a in declared or [])
        return MethodRule(name, args, None)

    def _arg_rule(self, a: ua.Argument) -> ArgRule:
        array = None if a.ValueRank in (-2, -3, 0) else a.ValueRank >= 1
        return ArgRule(a.Name, self._builtin(a.DataType), array)

    def _builtin(self, data_type: ua.NodeId) -> ua.VariantType | None:
        """The variant type a value of `data_type` travels as; None for the abstract ones."""
        nid, hops = data_type, 0
        while hops < 32:
            if nid.NamespaceIndex == 0 and isinstance(nid.Identifier, int):
                if nid.Identifier in _ABSTRACT_NUMBERS:
                    return None
                if nid.Identifier == _ID.Enumeration:
                    return ua.VariantType.Int32
                if 1 <= nid.Identifier <= _BUILTIN_MAX:
                    return ua.VariantType(nid.Identifier)
            node = self._aspace.get(nid)
            parents = self._targets(node, _SUBTYPE, forward=False) if node is not None else []
            if not parents:
                return None
            nid, hops = parents[0], hops + 1
        return None


def refresh_of_own_subscription(handler: Handler) -> Handler:
    """ConditionRefresh(2) of a subscription of the calling session only (ids are sequential:
    anyone could have the server replay conditions into another session's subscription)."""
    async def refresh(parent: ua.NodeId, subscription_id: ua.Variant, *rest: ua.Variant) -> Any:
        session = SESSION.get()
        if session is None or not session.owns(subscription_id.Value):
            return status("BadSubscriptionIdInvalid")
        return await handler(parent, subscription_id, *rest)
    return refresh


def _node_class(node: Any) -> Any:
    value = node.attributes.get(ua.AttributeIds.NodeClass)
    return value.value.Value.Value if value is not None and value.value is not None else None


def _browse_name(node: Any) -> str | None:
    value = node.attributes.get(ua.AttributeIds.BrowseName)
    qn = value.value.Value.Value if value is not None and value.value is not None else None
    return qn.Name if isinstance(qn, ua.QualifiedName) else None
