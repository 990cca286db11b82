"""Cutting client-supplied values down to a size fit for logs, the audit, events and history."""

from __future__ import annotations

from typing import Any


def clip(value: Any, limit: int) -> Any:
    """`value` itself if short (numbers, booleans, short strings), else its text cut to `limit`
    characters with the original length noted."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return value
    return f"{text[:limit]}... ({len(text)} chars)"


def clip_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"
