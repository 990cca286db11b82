"""The control policies of seed 004, each a small object plugged into the line model.

The line model owns the cards and the flow; a policy decides only where production
requests come from (docs/control_rules.md has the card life cycles):

* HK-CONWIP: demand reaches the line only through CONWIP cards returned on delivery; a free
  card is a request at stage 1; a part finished at stage i is a request at stage i+1.
* BK-CONWIP: an accepted order is broadcast at once as a demand token to every stage; a
  token, a kanban and an input part (at stage 1: a raw blank and a free CONWIP card) are
  joined only when all are there: a token asks for a kanban only with its input ready.
  A part scrapped at stage i re-issues tokens at stages 1..i so its replacement is made.

Kanban allocation (D-KAP dedicated, S-KAP shared) is the line model's choice of card pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .vocab import broadcasts_demand, shares_kanbans

if TYPE_CHECKING:
    from .line import LineModel


class ControlPolicy(Protocol):
    name: str

    def start(self, m: "LineModel") -> None: ...
    def on_order(self, m: "LineModel", p: int) -> None: ...
    def on_card_free(self, m: "LineModel", p: int) -> None: ...
    def on_output(self, m: "LineModel", s: int, p: int) -> None: ...
    def on_scrap(self, m: "LineModel", s: int, p: int) -> None: ...


class HKConwip:
    """Hybrid Kanban-CONWIP: kanbans on stages 1..N-1, CONWIP around the whole line."""

    name = "HK-CONWIP"

    def start(self, m: "LineModel") -> None:
        for s in range(1, m.n_stages):
            for p in range(m.n_products):
                for _ in range(m.buf[s - 1][p]):
                    m.request(s, p)
        for p in m.interleaved(m.free_cards_by_product()):
            m.request(0, p)

    def on_order(self, m: "LineModel", p: int) -> None:
        return None

    def on_card_free(self, m: "LineModel", p: int) -> None:
        m.request(0, m.card_product(p))

    def on_output(self, m: "LineModel", s: int, p: int) -> None:
        m.request(s + 1, p)

    def on_scrap(self, m: "LineModel", s: int, p: int) -> None:
        return None


class BKConwip:
    """Basestock-Kanban-CONWIP: demand broadcast to every stage as tokens."""

    name = "BK-CONWIP"

    def start(self, m: "LineModel") -> None:
        return None

    def on_order(self, m: "LineModel", p: int) -> None:
        m.add_tokens(p, m.n_stages)

    def on_card_free(self, m: "LineModel", p: int) -> None:
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

    def on_output(self, m: "LineModel", s: int, p: int) -> None:
        m.join(s + 1, p)

    def on_scrap(self, m: "LineModel", s: int, p: int) -> None:
        m.add_tokens(p, s + 1)


def policy_for(model: str) -> tuple[ControlPolicy, bool]:
    """The policy object and whether kanbans are shared (S-KAP) for a model name."""
    policy: ControlPolicy = BKConwip() if broadcasts_demand(model) else HKConwip()
    return policy, shares_kanbans(model)
