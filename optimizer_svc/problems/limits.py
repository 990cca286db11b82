"""Bounds of a decision: the plant's own range, narrowed by a rate-of-change limit around the
current value when the live service searches (a step of None means no limit)."""

from __future__ import annotations

from collections.abc import Mapping


def within_step(low: float, high: float, current: float, step: float | None) -> tuple[float, float]:
    if step is None:
        return low, high
    return max(low, current - step), min(high, current + step)


def step_of(steps: Mapping[str, float] | None, kind: str) -> float | None:
    return None if steps is None else steps.get(kind)


def step_violations(values: Mapping[str, float | int | str], current: Mapping[str, float | int | str],
                    steps: Mapping[str, float] | None) -> list[str]:
    """Each change larger than its kind's limit (kind = the key's part before '.' or digits)."""
    out = []
    for key, new in values.items():
        old = current.get(key)
        step = step_of(steps, kind_of(key))
        if step is None or old is None:
            continue
        if isinstance(new, str) or isinstance(old, str):
            if new != old and step < 1:
                out.append(f"{key}: {old} -> {new} is not allowed to change")
        elif abs(float(new) - float(old)) > step + 1e-9:
            out.append(f"{key}: {old} -> {new} changes by more than {step:g}")
    return out


def kind_of(key: str) -> str:
    head = key.split(".", 1)[0]
    return head.rstrip("0123456789") or head
