"""Kanban card pools: dedicated per product (D-KAP) or shared by all products (S-KAP).

A request for a card is either granted at once or waits. A freed card goes to a waiting
request: in a dedicated pool the oldest request of the card's own product; in a shared
pool the oldest request of any product (the freed card is re-tagged to that product).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any


class DedicatedPool:
    """One card set per product; requests of one product never wait on another's cards."""

    __slots__ = ("cap", "free", "n_waiting", "waiting")

    def __init__(self, caps: list[int]) -> None:
        self.cap = list(caps)
        self.free = list(caps)
        self.waiting = [0] * len(caps)
        self.n_waiting = self.waiting  # requests waiting per product, as in SharedPool

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

    def waiting_total(self) -> int:
        return sum(self.waiting)

    def state(self) -> dict[str, Any]:
        return {"cap": list(self.cap), "free": list(self.free), "waiting": list(self.waiting)}

    def restore(self, s: dict[str, Any]) -> None:
        self.cap = list(s["cap"])
        self.free = list(s["free"])
        self.waiting = list(s["waiting"])
        self.n_waiting = self.waiting


class SharedPool:
    """One card set for all products; freed cards go to the oldest product-tagged request."""

    __slots__ = ("cap", "free", "held", "n_waiting", "waiting")

    def __init__(self, cap: int, n_products: int) -> None:
        self.cap = cap
        self.free = cap
        self.waiting: deque[int] = deque()
        self.held = [0] * n_products
        self.n_waiting = [0] * n_products

    def request(self, p: int) -> bool:
        if self.free > 0:
            self.free -= 1
            self.held[p] += 1
            return True
        self.waiting.append(p)
        self.n_waiting[p] += 1
        return False

    def _grant_oldest(self) -> int:
        q = self.waiting.popleft()
        self.n_waiting[q] -= 1
        self.held[q] += 1
        return q

    def release(self, p: int) -> int | None:
        self.held[p] -= 1
        if self.free < 0:
            self.free += 1
            return None
        if self.waiting:
            return self._grant_oldest()
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
            granted.append(self._grant_oldest())
        return granted

    def in_use(self, p: int) -> int:
        return self.held[p]

    def waiting_for(self, p: int) -> int:
        return self.n_waiting[p]

    def waiting_total(self) -> int:
        return len(self.waiting)

    def state(self) -> dict[str, Any]:
        return {"cap": self.cap, "free": self.free, "waiting": list(self.waiting), "held": list(self.held)}

    def restore(self, s: dict[str, Any]) -> None:
        self.cap = s["cap"]
        self.free = s["free"]
        self.waiting = deque(s["waiting"])
        self.held = list(s["held"])
        self.n_waiting = [0] * len(self.held)
        for q in self.waiting:
            self.n_waiting[q] += 1


class CardCounts:
    """Per-product view of card counts where products may share one count: D-KAP gives
    each product its own CONWIP count, S-KAP one count for the whole line (the seed's single
    C). Indexing by product reads and writes the count that product draws on."""

    __slots__ = ("key", "values")

    def __init__(self, values: list[int], key: list[int]) -> None:
        self.values = list(values)
        self.key = list(key)

    def __getitem__(self, p: int) -> int:
        return self.values[self.key[p]]

    def __setitem__(self, p: int, v: int) -> None:
        self.values[self.key[p]] = v

    def __len__(self) -> int:
        return len(self.key)

    def __iter__(self) -> Iterator[int]:
        return (self.values[k] for k in self.key)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, (list, tuple, CardCounts)) else NotImplemented

    def __repr__(self) -> str:
        return f"CardCounts({list(self)}, shared={self.shared})"

    def sharing(self, p: int) -> list[int]:
        """The products that draw on the same count as product p."""
        k = self.key[p]
        return [q for q, kq in enumerate(self.key) if kq == k]

    @property
    def shared(self) -> bool:
        return len(self.values) < len(self.key)


Pool = DedicatedPool | SharedPool
