"""The control policies of seed 004, each a small object plugged into the line model.

The card flow (`flow.CardFlow`) owns the cards' movements; a policy decides only where production
requests come from (docs/control_rules.md has the card life cycles):

* HK-CONWIP: demand reaches the line only through CONWIP cards returned on delivery; a free
  card is a request at stage 1; a part finished at stage i is a request at stage i+1.
* BK-CONWIP: an accepted order is broadcast at once as a demand token to every stage; a
  token, a kanban and an input part (at stage 1: a raw blank and a free CONWIP card) are
  joined only when all are there: a token asks for a kanban only with its input ready.
  A part scrapped at stage i re-issues tokens at stages 1..i so its replacement is made.

Kanban allocation (D-KAP dedicated, S-KAP shared) is the line's choice of card pool.
"""

from __future__ import annotations

from typing import Protocol

from .cards import CardCounts
from .vocab import broadcasts_demand, shares_kanbans


class PolicyHost(Protocol):
    """What a control policy needs from its line: the shape, the output buffers, the CONWIP
    cards, and the line's ways to request a kanban, join a demand token or feed a stage."""

    n_stages: int
    n_products: int
    one_conwip: bool
    conwip_members: list[list[int]]

    @property
    def buf(self) -> list[list[int]]: ...
    @property
    def conwip_free(self) -> CardCounts: ...

    def request(self, s: int, p: int) -> None: ...
    def add_tokens(self, p: int, stages: int) -> None: ...
    def feed(self, s: int, p: int) -> None: ...
    def join(self, s: int, p: int) -> None: ...
    def card_product(self, p: int) -> int: ...
    def free_cards_by_product(self) -> list[int]: ...
    def interleaved(self, counts: list[int]) -> list[int]: ...


class ControlPolicy(Protocol):
    name: str

    def start(self, m: PolicyHost) -> None: ...
    def on_order(self, m: PolicyHost, p: int) -> None: ...
    def on_card_free(self, m: PolicyHost, p: int) -> None: ...
    def on_output(self, m: PolicyHost, s: int, p: int) -> None: ...
    def on_scrap(self, m: PolicyHost, s: int, p: int) -> None: ...


class HKConwip:
    """Hybrid Kanban-CONWIP: kanbans on stages 1..N-1, CONWIP around the whole line."""

    name = "HK-CONWIP"

    def start(self, m: PolicyHost) -> None:
        for s in range(1, m.n_stages):
            for p in range(m.n_products):
                for _ in range(m.buf[s - 1][p]):
                    m.request(s, p)
        for p in m.interleaved(m.free_cards_by_product()):
            m.request(0, p)

    def on_order(self, m: PolicyHost, p: int) -> None:
        return None

    def on_card_free(self, m: PolicyHost, p: int) -> None:
        m.request(0, m.card_product(p))

    def on_output(self, m: PolicyHost, s: int, p: int) -> None:
        m.request(s + 1, p)

    def on_scrap(self, m: PolicyHost, s: int, p: int) -> None:
        return None


class BKConwip:
    """Basestock-Kanban-CONWIP: demand broadcast to every stage as tokens."""

    name = "BK-CONWIP"

    def start(self, m: PolicyHost) -> None:
        return None

    def on_order(self, m: PolicyHost, p: int) -> None:
        m.add_tokens(p, m.n_stages)

    def on_card_free(self, m: PolicyHost, p: int) -> None:
        if not m.one_conwip:
            m.feed(0, p)
            return
        first = m.card_product(p)
        m.feed(0, first)
        for q in m.conwip_members[p]:
            if m.conwip_free[p] <= 0:
                return
            if q != first:
                m.feed(0, q)

    def on_output(self, m: PolicyHost, s: int, p: int) -> None:
        m.join(s + 1, p)

    def on_scrap(self, m: PolicyHost, s: int, p: int) -> None:
        m.add_tokens(p, s + 1)


def policy_for(model: str) -> tuple[ControlPolicy, bool]:
    """The policy object and whether kanbans are shared (S-KAP) for a model name."""
    policy: ControlPolicy = BKConwip() if broadcasts_demand(model) else HKConwip()
    return policy, shares_kanbans(model)
