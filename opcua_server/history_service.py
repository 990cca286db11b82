"""The HistoryRead service over the plant's SQLite history (asyncua's own reads truncate
silently, answer Good for nodes without history and fail on the Server object).

- ReadRaw: values of historized tags, paged: at most NumValuesPerNode (or `max_values`) per
  call, and a continuation point when more exist. Continuation points are stateless (the
  key of the last value returned), so there is nothing to release.
- ReadAtTime: the value at each requested time, interpolated (linear for Double tags,
  stepped for the others) between the values around it.
- ReadProcessed: Average, Minimum, Maximum, Count, Interpolative and TimeAverage per
  processing interval (one aggregate per node read, as Part 11 has it).
- ReadEvent: at every notifier (Server, line, station, machine) the historized events of
  the sources below it, merged in time order, paged like values.
- A node without history answers BadHistoryOperationUnsupported, an unknown node
  BadNodeIdUnknown.
- Every request has a time budget (`history_read_budget_ms`): rows are decoded and
  intervals aggregated in slices (`time_budget.in_slices`), the loop serving other clients
  between them, and once the budget is spent the node being read is answered with what was
  done and a continuation point, the nodes not started with a continuation point and no
  values; the client continues. The SQL of one node runs off the loop (aiosqlite) and reads
  at most `history_count` rows.
"""

from __future__ import annotations

import bisect
import itertools
import json
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncua import ua
from asyncua.common.events import Event
from asyncua.common.utils import Buffer
from asyncua.ua.ua_binary import variant_from_binary

from ._asyncua.history import PlantHistory
from .time_budget import Budget, in_slices

log = logging.getLogger(__name__)

AGGREGATES = {"Average": ua.ObjectIds.AggregateFunction_Average, "Minimum": ua.ObjectIds.AggregateFunction_Minimum,
              "Maximum": ua.ObjectIds.AggregateFunction_Maximum, "Count": ua.ObjectIds.AggregateFunction_Count,
              "Interpolative": ua.ObjectIds.AggregateFunction_Interpolative,
              "TimeAverage": ua.ObjectIds.AggregateFunction_TimeAverage}
_AGGREGATE_NAMES = {ua.NodeId(v): k for k, v in AGGREGATES.items()}
MAX_VALUES = 10_000
"""Values (or events, or processed intervals) returned per node and call at most."""

_CALCULATED = 0x1  # HistorianBits of a StatusCode: Calculated, Interpolated
_INTERPOLATED = 0x2


def _code(name: str) -> ua.StatusCode:
    return ua.StatusCode(getattr(ua.StatusCodes, name))


def _unset(t: datetime | None) -> bool:
    return t is None or t <= ua.get_win_epoch() + timedelta(days=1)


def _iso(t: datetime) -> str:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).isoformat(" ")


class HistoryService:
    def __init__(self, storage: PlantHistory, exists: Callable[[ua.NodeId], bool],
                 notifiers: dict[ua.NodeId, list[ua.NodeId]], max_values: int = MAX_VALUES,
                 budget_s: float = 0.5) -> None:
        self.storage = storage
        self.budget_s = budget_s
        self.exists = exists
        self.notifiers = notifiers
        self.max_values = max_values

    @property
    def _db(self) -> Any:
        return self.storage.db

    def historized(self, node: ua.NodeId) -> bool:
        return self.storage.historized(node)

    async def read_history(self, params: ua.HistoryReadParameters) -> list[ua.HistoryReadResult]:
        if params.ReleaseContinuationPoints:  # stateless continuation points: nothing held, nothing to read
            return [ua.HistoryReadResult(StatusCode=_code("Good")) for _ in params.NodesToRead]
        results = []
        details = params.HistoryReadDetails
        if isinstance(details, ua.ReadProcessedDetails) and len(details.AggregateType or []) != len(params.NodesToRead):
            # one aggregate per node read (Part 11, 6.4.4)
            return [ua.HistoryReadResult(StatusCode=_code("BadAggregateListMismatch")) for _ in params.NodesToRead]
        budget = Budget(self.budget_s)
        for i, rv in enumerate(params.NodesToRead):
            if i and not budget.left():
                results.append(_not_started(details, rv))
                continue
            try:
                results.append(await self._read(details, rv, i, budget))
            except ValueError:
                results.append(ua.HistoryReadResult(StatusCode=_code("BadContinuationPointInvalid")))
            except Exception:
                log.exception("history read of %s failed", rv.NodeId)
                results.append(ua.HistoryReadResult(StatusCode=_code("BadInternalError")))
        return results

    async def _read(self, details: Any, rv: ua.HistoryReadValueId, i: int, budget: Budget) -> ua.HistoryReadResult:
        if not self.exists(rv.NodeId):
            return ua.HistoryReadResult(StatusCode=_code("BadNodeIdUnknown"))
        if isinstance(details, ua.ReadEventDetails):
            if rv.NodeId not in self.notifiers:
                return ua.HistoryReadResult(StatusCode=_code("BadHistoryOperationUnsupported"))
            events, cont = await self._events(rv, details, budget)
            return ua.HistoryReadResult(StatusCode=_code("Good"), ContinuationPoint=cont,
                                        HistoryData=ua.HistoryEvent(Events=events))
        if not self.historized(rv.NodeId):
            return ua.HistoryReadResult(StatusCode=_code("BadHistoryOperationUnsupported"))
        if isinstance(details, ua.ReadRawModifiedDetails):
            if details.IsReadModified:  # history is never modified: there are no modified values
                return ua.HistoryReadResult(StatusCode=_code("Good"), HistoryData=ua.HistoryModifiedData())
            values, cont = await self._raw(rv, details, budget)
        elif isinstance(details, ua.ReadAtTimeDetails):
            values, cont = await self._at_times(rv, details.ReqTimes or [], budget)
        elif isinstance(details, ua.ReadProcessedDetails):
            return await self._processed(rv, details, details.AggregateType[i], budget)
        else:
            return ua.HistoryReadResult(StatusCode=_code("BadHistoryOperationUnsupported"))
        return ua.HistoryReadResult(StatusCode=_code("Good"), ContinuationPoint=cont,
                                    HistoryData=ua.HistoryData(DataValues=values))

    # --- raw values -----------------------------------------------------------------------

    def _limit(self, n: int | None) -> int:
        return min(n, self.max_values) if n else self.max_values

    async def _raw(self, rv: ua.HistoryReadValueId, d: ua.ReadRawModifiedDetails, budget: Budget
                   ) -> tuple[list[ua.DataValue], bytes | None]:
        start, end = d.StartTime, d.EndTime
        descending = (_unset(start) and not _unset(end)) or (not _unset(start) and not _unset(end) and start > end)
        lo, hi = sorted([start if not _unset(start) else ua.get_win_epoch(),
                         end if not _unset(end) else datetime(9999, 1, 1, tzinfo=UTC)])
        resumed = _resume(rv.ContinuationPoint, "v")
        after = resumed[0] if resumed else None
        limit = self._limit(d.NumValuesPerNode)
        table = self.storage.table_name(rv.NodeId)
        op, order = ("<", "DESC") if descending else (">", "ASC")
        where = f'SourceTimestamp BETWEEN ? AND ?{f" AND _Id {op} ?" if after is not None else ""}'
        args: list[Any] = [_iso(lo), _iso(hi), *([after] if after is not None else [])]
        rows = await self._rows(f'SELECT _Id, ServerTimestamp, SourceTimestamp, StatusCode, VariantBinary FROM "{table}" '
                                f'WHERE {where} ORDER BY _Id {order} LIMIT ?', (*args, limit + 1))
        page = rows[:limit]
        values = await in_slices(page, _datavalue, budget)
        more = len(values) < len(page) or len(rows) > limit
        return values, _encode("v", page[len(values) - 1][0]) if more and values else None

    async def _rows(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        async with self._db.execute(sql, args) as cursor:
            return list(await cursor.fetchall())

    async def _series(self, node: ua.NodeId, lo: datetime, hi: datetime) -> list[tuple[datetime, Any, ua.DataValue]]:
        """Good values with SourceTimestamp in [lo, hi], plus the last one before lo and the
        first one after hi (the bounds), in time order."""
        table = self.storage.table_name(node)
        cols = "_Id, ServerTimestamp, SourceTimestamp, StatusCode, VariantBinary"
        before = await self._rows(f'SELECT {cols} FROM "{table}" WHERE SourceTimestamp < ? ORDER BY _Id DESC LIMIT 1',
                                  (_iso(lo),))
        inside = await self._rows(f'SELECT {cols} FROM "{table}" WHERE SourceTimestamp BETWEEN ? AND ? ORDER BY _Id',
                                  (_iso(lo), _iso(hi)))
        after = await self._rows(f'SELECT {cols} FROM "{table}" WHERE SourceTimestamp > ? ORDER BY _Id LIMIT 1',
                                 (_iso(hi),))
        out = []
        for row in [*before, *inside, *after]:
            dv = _datavalue(row)
            if dv.StatusCode is None or dv.StatusCode.is_good():
                out.append((_aware(dv.SourceTimestamp), dv.Value.Value if dv.Value else None, dv))
        return out

    async def _at_times(self, rv: ua.HistoryReadValueId, times: list[datetime], budget: Budget
                        ) -> tuple[list[ua.DataValue], bytes | None]:
        """The values at the times, from the first one not yet answered (a continuation
        point holds its index)."""
        resumed = _resume(rv.ContinuationPoint, "t")
        first = int(resumed[0]) if resumed else 0
        todo = times[first:]
        if not todo:
            return [], None
        series = await self._series(rv.NodeId, min(todo), max(todo))
        times_of = [x[0] for x in series]
        values = await in_slices(todo, lambda t: _value_at(_around(series, times_of, _aware(t), _aware(t)), _aware(t)),
                                 budget)
        done = first + len(values)
        return values, _encode("t", done) if done < len(times) else None

    async def _processed(self, rv: ua.HistoryReadValueId, d: ua.ReadProcessedDetails, agg: ua.NodeId,
                         budget: Budget) -> ua.HistoryReadResult:
        if _unset(d.StartTime) or _unset(d.EndTime) or d.StartTime == d.EndTime:
            return ua.HistoryReadResult(StatusCode=_code("BadInvalidTimestampArgument"))
        start, end = sorted([_aware(d.StartTime), _aware(d.EndTime)])
        span = (end - start).total_seconds()
        step = d.ProcessingInterval / 1000.0 if d.ProcessingInterval and d.ProcessingInterval > 0 else span
        n = math.ceil(span / step)
        if n > self.max_values:
            return ua.HistoryReadResult(StatusCode=_code("BadTooManyOperations"))
        name = _AGGREGATE_NAMES.get(agg)
        if name is None:
            return ua.HistoryReadResult(StatusCode=_code("BadAggregateNotSupported"))
        resumed = _resume(rv.ContinuationPoint, "p")
        first = int(resumed[0]) if resumed else 0
        series = await self._series(rv.NodeId, start, end)

        times_of = [x[0] for x in series]

        def interval(i: int) -> ua.DataValue:
            a = start + timedelta(seconds=i * step)
            b = min(a + timedelta(seconds=step), end)
            return _aggregate(name, _around(series, times_of, a, b), a, b)
        values = await in_slices(range(first, n), interval, budget)
        done = first + len(values)
        return ua.HistoryReadResult(StatusCode=_code("Good"), ContinuationPoint=_encode("p", done) if done < n else None,
                                    HistoryData=ua.HistoryData(DataValues=values))

    # --- events ---------------------------------------------------------------------------

    async def _events(self, rv: ua.HistoryReadValueId, d: ua.ReadEventDetails, budget: Budget
                      ) -> tuple[list[ua.HistoryEventFieldList], bytes | None]:
        """Events of the sources below the notifier, in time order (newest first when the
        start is later than the end, or unset), paged by the key (time, source, row)."""
        start, end = d.StartTime, d.EndTime
        descending = (_unset(start) and not _unset(end)) or (not _unset(start) and not _unset(end) and start > end)
        lo, hi = sorted([start if not _unset(start) else ua.get_win_epoch(),
                         end if not _unset(end) else datetime(9999, 1, 1, tzinfo=UTC)])
        cont = _resume(rv.ContinuationPoint, "e")
        limit = self._limit(d.NumValuesPerNode)
        sources = self.notifiers[rv.NodeId]
        found: list[tuple[tuple[str, int, int], dict[str, Any]]] = []
        op, order = ("<", "DESC") if descending else (">", "ASC")
        for i, source in enumerate(sources):
            table = self.storage.table_name(source)
            where, args = '"_Timestamp" BETWEEN ? AND ?', [_iso(lo), _iso(hi)]
            if cont is not None:
                ts, ci, cid = cont
                if i == ci:
                    where += f' AND ("_Timestamp" {op} ? OR ("_Timestamp" = ? AND _Id {op} ?))'
                    args += [ts, ts, cid]
                elif (i > ci) != descending:
                    where += f' AND "_Timestamp" {op}= ?'
                    args.append(ts)
                else:
                    where += f' AND "_Timestamp" {op} ?'
                    args.append(ts)
            try:
                async with self._db.execute(f'SELECT * FROM "{table}" WHERE {where} '
                                            f'ORDER BY "_Timestamp" {order}, _Id {order} LIMIT ?',
                                            (*args, limit + 1)) as cursor:
                    names = [c[0] for c in cursor.description]
                    async for row in cursor:
                        found.append(((str(row[1]), i, row[0]), dict(zip(names, row, strict=True))))
            except Exception as e:  # a source whose table does not exist yet has no events
                log.debug("no event history of %s: %s", source, e)
        found.sort(key=lambda x: x[0], reverse=descending)
        page = found[:limit]

        def event(item: tuple[tuple[str, int, int], dict[str, Any]]) -> ua.HistoryEventFieldList:
            fields = {k: variant_from_binary(Buffer(v)) if v is not None else ua.Variant(None)
                      for k, v in item[1].items() if not k.startswith("_")}
            return ua.HistoryEventFieldList(EventFields=Event.from_field_dict(fields).to_event_fields(d.Filter.SelectClauses))
        out = await in_slices(page, event, budget)
        more = len(out) < len(page) or len(found) > limit
        return out, _encode("e", *page[len(out) - 1][0]) if more and out else None


def _encode(kind: str, *key: Any) -> bytes:
    return json.dumps([kind, *key]).encode()


_NOT_STARTED = "n"
"""The continuation point of a node the budget left no time for: read it from its start."""


def _not_started(details: Any, rv: ua.HistoryReadValueId) -> ua.HistoryReadResult:
    """No values, and a continuation point where the node stands (its own, or its start)."""
    data = ua.HistoryEvent(Events=[]) if isinstance(details, ua.ReadEventDetails) else ua.HistoryData(DataValues=[])
    return ua.HistoryReadResult(StatusCode=_code("Good"), ContinuationPoint=rv.ContinuationPoint or _encode(_NOT_STARTED),
                                HistoryData=data)


def _resume(cp: bytes | None, kind: str) -> list[Any] | None:
    """The key a continuation point of `kind` holds; None to read from the start."""
    if not cp:
        return None
    try:
        if json.loads(cp.decode()) == [_NOT_STARTED]:
            return None
    except (UnicodeDecodeError, json.JSONDecodeError):
        pass
    return _decode(cp, kind)


def _decode(cp: bytes, kind: str) -> list[Any]:
    try:
        raw = json.loads(cp.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("not one of our continuation points") from None
    if not isinstance(raw, list) or not raw or raw[0] != kind:
        raise ValueError("not one of our continuation points")
    return raw[1:]


def _around(series: list[tuple[datetime, Any, ua.DataValue]], times: list[datetime], a: datetime, b: datetime
            ) -> list[tuple[datetime, Any, ua.DataValue]]:
    """The part of the (time-ordered) series an interval [a, b] needs: its values, the last one
    before it and the first one after it (found by bisection: each interval costs its own
    values, not the whole series)."""
    return series[max(bisect.bisect_left(times, a) - 1, 0):bisect.bisect_right(times, b) + 1]


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _datavalue(row: tuple[Any, ...]) -> ua.DataValue:
    return ua.DataValue(variant_from_binary(Buffer(row[4])), ServerTimestamp=row[1], SourceTimestamp=row[2],
                        StatusCode=ua.StatusCode(row[3]))


def _numeric(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _interpolate(series: list[tuple[datetime, Any, ua.DataValue]], t: datetime) -> tuple[Any, bool] | None:
    """The value at `t`: (value, exact) or None without a value at or before `t`. Double
    values are linear between their neighbours; others are stepped (the prior value)."""
    prior = next_ = None
    for item in series:
        if item[0] <= t:
            prior = item
        elif next_ is None:
            next_ = item
            break
    if prior is None:
        return None
    if prior[0] == t:
        return prior[1], True
    if next_ is not None and isinstance(prior[1], float) and _numeric(next_[1]):
        frac = (t - prior[0]).total_seconds() / (next_[0] - prior[0]).total_seconds()
        return prior[1] + (next_[1] - prior[1]) * frac, False
    return prior[1], False


def _value_at(series: list[tuple[datetime, Any, ua.DataValue]], t: datetime) -> ua.DataValue:
    found = _interpolate(series, t)
    if found is None:
        return ua.DataValue(StatusCode=_code("BadNoData"), SourceTimestamp=t)
    value, exact = found
    dv = next((x[2] for x in series if x[0] == t), None) if exact else None
    if dv is not None:
        return dv
    vtype = series[0][2].Value.VariantType if series else ua.VariantType.Double
    return ua.DataValue(ua.Variant(value, vtype), StatusCode=ua.StatusCode(_INTERPOLATED), SourceTimestamp=t)


def _aggregate(name: str, series: list[tuple[datetime, Any, ua.DataValue]], a: datetime, b: datetime) -> ua.DataValue:
    inside = [v for t, v, _ in series if a <= t < b and _numeric(v)]
    calc = ua.StatusCode(_CALCULATED)
    if name == "Count":
        return ua.DataValue(ua.Variant(len(inside), ua.VariantType.Int32), StatusCode=calc, SourceTimestamp=a)
    if name == "Interpolative":
        return _value_at(series, a)
    if name == "TimeAverage":
        avg = _time_average(series, a, b)
        if avg is None:
            return ua.DataValue(StatusCode=_code("BadNoData"), SourceTimestamp=a)
        return ua.DataValue(ua.Variant(avg, ua.VariantType.Double), StatusCode=calc, SourceTimestamp=a)
    if not inside:
        return ua.DataValue(StatusCode=_code("BadNoData"), SourceTimestamp=a)
    if name == "Average":
        return ua.DataValue(ua.Variant(sum(inside) / len(inside), ua.VariantType.Double), StatusCode=calc,
                            SourceTimestamp=a)
    pick = min(inside) if name == "Minimum" else max(inside)
    vtype = ua.VariantType.Double if isinstance(pick, float) else ua.VariantType.Int32
    return ua.DataValue(ua.Variant(pick, vtype), StatusCode=calc, SourceTimestamp=a)


def _time_average(series: list[tuple[datetime, Any, ua.DataValue]], a: datetime, b: datetime) -> float | None:
    """The time-weighted average over [a, b): the area under the interpolated curve (linear
    between Double values, stepped for the others) divided by the time covered."""
    start = _interpolate(series, a)
    if start is None or not _numeric(start[0]) or b <= a:
        return None
    points = [(a, float(start[0]))] + [(t, float(v)) for t, v, _ in series if a < t < b and _numeric(v)]
    end = _interpolate(series, b)
    points.append((b, float(end[0]) if end is not None and _numeric(end[0]) else points[-1][1]))
    linear = isinstance(start[0], float)
    area = 0.0
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        dt = (t1 - t0).total_seconds()
        area += (v0 + v1) / 2 * dt if linear else v0 * dt
    return area / (b - a).total_seconds()
