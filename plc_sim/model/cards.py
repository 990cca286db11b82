"""Kanban card pools: dedicated per product (D-KAP) or shared by all products (S-KAP).

A request for a card is either granted at once or waits. A freed card goes to a waiting
request: in a dedicated pool the oldest request of the card's own product; in a shared
pool the oldest request of any product (the freed card is re-tagged to that product).
"""

from __future__ import annotations

from collections import deque
from typing import Any


class DedicatedPool:
    """One card set per product; requests of one product never wait on another's cards."""

    __slots__ = ("cap", "free", "waiting")

    def __init__(self, caps: list[int]) -> None:
        self.cap = list(caps)
        self.free = list(caps)
        self.waiting = [0] * len(caps)

    def request(self, p: int) -> bool:
        if self.free[p] > 0:
            self.free[p] -= 1
            return True
        self.waiting[p] += 1
        return False

    def release(self, p: int) -> int | None:
        """Free a card of product `p`; return the product whose request it now serves, if any.
        A pool whose cap was cut (free < 0) retires the card instead."""
        if self.free[p] < 0:
            self.free[p] += 1
            return None
        if self.waiting[p]:
            self.waiting[p] -= 1
            return p
        self.free[p] += 1
        return None

    def take_initial(self, p: int) -> None:
        self.free[p] -= 1

    def resize(self, p: int, cap: int) -> list[int]:
        """Change product p's card count; return the products of requests granted by it."""
        self.free[p] += cap - self.cap[p]
        self.cap[p] = cap
        granted = []
        while self.free[p] > 0 and self.waiting[p]:
            self.free[p] -= 1
            self.waiting[p] -= 1
            granted.append(p)
        return granted

    def in_use(self, p: int) -> int:
        return self.cap[p] - self.free[p]

    def waiting_for(self, p: int) -> int:
        return self.waiting[p]

    def state(self) -> dict[str, Any]:
        return {"cap": list(self.cap), "free": list(self.free), "waiting": list(self.waiting)}

    def restore(self, s: dict[str, Any]) -> None:
        self.cap = list(s["cap"])
        self.free = list(s["free"])
        self.waiting = list(s["waiting"])


class SharedPool:
    """One card set for all products; freed cards go to the oldest product-tagged request."""

    __slots__ = ("cap", "free", "waiting", "held")

    def __init__(self, cap: int, n_products: int) -> None:
        self.cap = cap
        self.free = cap
        self.waiting: deque[int] = deque()
        self.held = [0] * n_products

    def request(self, p: int) -> bool:
        if self.free > 0:
            self.free -= 1
            self.held[p] += 1
            return True
        self.waiting.append(p)
        return False

    def release(self, p: int) -> int | None:
        self.held[p] -= 1
        if self.free < 0:
            self.free += 1
            return None
        if self.waiting:
            q = self.waiting.popleft()
            self.held[q] += 1
            return q
        self.free += 1
        return None

    def take_initial(self, p: int) -> None:
        self.free -= 1
        self.held[p] += 1

    def resize(self, p: int, cap: int) -> list[int]:
        """Change the shared card count (`p` is ignored); return the products granted."""
        self.free += cap - self.cap
        self.cap = cap
        granted = []
        while self.free > 0 and self.waiting:
            self.free -= 1
            q = self.waiting.popleft()
            self.held[q] += 1
            granted.append(q)
        return granted

    def in_use(self, p: int) -> int:
        return self.held[p]

    def waiting_for(self, p: int) -> int:
        return sum(1 for q in self.waiting if q == p)

    def state(self) -> dict[str, Any]:
        return {"cap": self.cap, "free": self.free, "waiting": list(self.waiting), "held": list(self.held)}

    def restore(self, s: dict[str, Any]) -> None:
        self.cap = s["cap"]
        self.free = s["free"]
        self.waiting = deque(s["waiting"])
        self.held = list(s["held"])


Pool = DedicatedPool | SharedPool
