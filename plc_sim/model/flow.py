"""The card flow of a line: production requests, kanbans and CONWIP cards, BK-CONWIP demand
tokens, the jobs they release to the stations, and the parts that come out (inspected,
passed on, scrapped, stocked, delivered). The control policy (`policies.py`) decides where
requests come from and calls back into this flow; the card pools (`cards.py`) grant and
return the cards.

The flow keeps no state of its own: every count it moves is a field of the line's
`LineState` (`self.st`), so a snapshot of the line is a snapshot of the flow. Counters that a
statistics reset replaces (`count`, `delivered`, ...) are looked up on the state at each use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from .cards import CardCounts
from .policies import ControlPolicy
from .state import LineState

if TYPE_CHECKING:
    from .env import PlantEnv
    from .machine import Machine
    from .sources import Recycling
    from .streams import Stream


class CardFlow:
    """Request, join, release and dispatch for one line; the policy's `PolicyHost`."""

    def __init__(self, st: LineState, env: PlantEnv, policy: ControlPolicy, bk: bool, n_products: int,
                 kanban_on_start: bool, queue_cap: list[int | None]) -> None:
        self.st = st
        self.env = env
        self.policy = policy
        self.bk = bk
        self.n_products = n_products
        self.n_stages = len(queue_cap)
        self.kanban_on_start = kanban_on_start
        self.queue_cap = queue_cap
        """Per station, the parts its input queue may hold (None: bounded by the cards)."""
        self.one_conwip = st.conwip_free.shared
        self.conwip_members = [st.conwip_free.sharing(p) for p in range(n_products)]
        self.machines: list[list[Machine]] = []
        self.wake_station: list[Callable[[], object]] = []
        """Per station, what wakes the machine for a new job (`dispatch`, the lone machine's `kick`)."""
        self.recycling: Recycling | None = None
        self.rs_returns: Stream | None = None
        self.return_prob: Any = None
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        """The line's listeners (the same list), told of each delivery."""
        self.products: list[str] = []

    def attach(self, machines: list[list[Machine]], recycling: Recycling, rs_returns: Stream, return_prob: Any,
               products: list[str], listeners: list[Callable[[str, dict[str, Any]], None]]) -> None:
        """Wire the stations, the recycling station and the returns stream in (they are built
        after the flow, since a machine asks the flow for its take hook)."""
        self.machines = machines
        self.wake_station = [row[0].kick if len(row) == 1 else partial(self.dispatch, s)
                             for s, row in enumerate(machines)]
        for s, cap in enumerate(self.queue_cap):
            for mach in machines[s]:
                mach.complete_to = self.complete
                if cap is not None:
                    mach.on_take = partial(self.queue_room, s)
        self.recycling = recycling
        self.rs_returns = rs_returns
        self.return_prob = return_prob
        self.products = products
        self.listeners = listeners

    # --- the policy's view (PolicyHost) ---------------------------------------------------

    @property
    def buf(self) -> list[list[int]]:
        return self.st.buf

    @property
    def conwip_free(self) -> CardCounts:
        return self.st.conwip_free

    def free_cards_by_product(self) -> list[int]:
        """Free CONWIP cards per product; a shared count is dealt out in turn (HK start)."""
        cw = self.st.conwip_free
        if not cw.shared:
            return list(cw)
        free = [0] * self.n_products
        for i in range(max(cw[0], 0)):
            free[i % self.n_products] += 1
        return free

    def card_product(self, p: int) -> int:
        """The product a CONWIP card freed by product p now authorises (HK-CONWIP): p
        itself, unless the count is shared (S-KAP) and some product has backorders: then the
        product of the oldest backorder, so cards move to where demand is."""
        if not self.one_conwip:
            return p
        best, oldest = p, math.inf
        backlog = self.st.backlog
        for q in self.conwip_members[p]:
            b = backlog[q]
            if b and b[0] < oldest:
                best, oldest = q, b[0]
        return best

    @staticmethod
    def interleaved(counts: list[int]) -> list[int]:
        """Products in round-robin order, `counts[p]` times each: fair initial requests."""
        left = [max(n, 0) for n in counts]
        out: list[int] = []
        while any(left):
            for p, n in enumerate(left):
                if n:
                    left[p] -= 1
                    out.append(p)
        return out

    # --- requests and tokens --------------------------------------------------------------

    def request(self, s: int, p: int) -> None:
        """A production request for product p at stage s asks for a kanban of that stage."""
        st = self.st
        pool = st.pools[s]
        if pool is None or pool.request(p):
            st.carded[s][p] += 1
            self.try_start(s, p)

    def add_tokens(self, p: int, stages: int) -> None:
        """BK-CONWIP demand tokens of product p reach stages 1..`stages`; a token joins at
        once only where its input is there (at stage 1: always try)."""
        st = self.st
        tokens, buf = st.tokens, st.buf
        for s in range(stages):
            tokens[s][p] += 1
            if s == 0 or buf[s - 1][p]:
                self.join(s, p)

    def feed(self, s: int, p: int) -> None:
        """Something stage s of product p may have waited for came free: an input part, a
        raw blank or a CONWIP card."""
        if self.bk:
            st = self.st
            if st.tokens[s][p]:
                self.join(s, p)
            if not st.carded[s][p]:
                return
        self.try_start(s, p)

    def join(self, s: int, p: int) -> None:
        """BK-CONWIP synchronisation: a demand token asks for its stage's kanban only when
        its input (and at stage 1 a CONWIP card) is there and not already claimed by an
        earlier request. A kanban is never held by a token that waits for a part, so the
        shared-kanban deadlock (every kanban held by tokens of the product that has no
        parts) cannot form."""
        st = self.st
        tokens = st.tokens[s]
        if not tokens[p]:
            return
        pool = st.pools[s]
        carded = st.carded[s]
        waiting = pool.n_waiting if pool is not None else None
        inputs = st.buf[s - 1] if s else None
        while tokens[p]:
            claimed = carded[p] + waiting[p] if waiting is not None else carded[p]
            if inputs is not None:
                if inputs[p] <= claimed:
                    return
            elif not self._stage1_free(p, claimed):
                return
            tokens[p] -= 1
            if pool is None or pool.request(p):
                carded[p] += 1
                self.try_start(s, p)

    def _stage1_free(self, p: int, claimed: int) -> bool:
        """A raw blank and a CONWIP card not claimed by earlier stage-1 requests."""
        st = self.st
        if st.raw[p] <= claimed:
            return False
        cards = st.conwip_free
        free = cards.values[cards.key[p]]
        if not self.one_conwip:
            return free > claimed
        pool = st.pools[0]
        return free > sum(st.carded[0]) + (pool.waiting_total() if pool is not None else 0)

    # --- release to the stations ------------------------------------------------------------

    def try_start(self, s: int, p: int) -> None:
        """Start every carded request of (s, p) that has its input: at stage 1 a raw blank
        and a CONWIP card, further on a part of the stage before, whose kanban comes free."""
        st = self.st
        carded = st.carded[s]
        if not carded[p]:
            return
        jobs, wake = st.jobs[s], self.wake_station[s]
        cap = self.queue_cap[s]
        if s == 0:
            raw, cards, life = st.raw, st.conwip_free, st.life
            values, k = cards.values, cards.key[p]
            while carded[p]:
                if raw[p] <= 0 or values[k] <= 0 or (cap is not None and len(jobs) >= cap):
                    return
                raw[p] -= 1
                values[k] -= 1
                life["released"] += 1
                self.wip(0, 1)
                carded[p] -= 1
                jobs.append(p)
                wake()
            return
        inputs = st.buf[s - 1]
        on_start = self.kanban_on_start
        while carded[p]:
            if not inputs[p] or (cap is not None and len(jobs) >= cap):
                return
            inputs[p] -= 1
            self.wip_move(s - 1)
            if not on_start:
                self.release_kanban(s - 1, p)
            carded[p] -= 1
            jobs.append(p)
            wake()

    def queue_room(self, s: int) -> None:
        """A machine of station s took a job from its finite input queue: the room goes to
        the product with the most parts (at stage 1: raw blanks) waiting for it, so the
        station before, blocked by a full buffer, moves again."""
        st = self.st
        carded = st.carded[s]
        if not any(carded):
            return
        waiting = st.buf[s - 1] if s else st.raw
        ready = [p for p, n in enumerate(carded) if n and waiting[p]]
        if len(ready) > 1:
            ready.sort(key=waiting.__getitem__, reverse=True)
        for p in ready:
            self.try_start(s, p)

    def dispatch(self, s: int) -> None:
        """Wake the machine that takes the next job at station s: an awake one before one
        in standby, then the one furthest below its weighted share of the station's jobs
        (fewest jobs done per unit of dispatch weight; ties: the first)."""
        ms = self.machines[s]
        if len(ms) == 1:
            ms[0].kick()
            return
        best, best_awake, best_share = None, False, 0.0
        for m in ms:
            r = m.rec
            if m._wake is not None and r.weight > 0 and not (r.off_shift or r.failed or r.stopped):
                awake, share = not r.asleep, -r.done / r.weight
                if best is None or awake > best_awake or (awake == best_awake and share > best_share):
                    best, best_awake, best_share = m, awake, share
        if best is not None:
            best.kick()

    def take_hook(self, s: int) -> Callable[[int], None] | None:
        """What stage s's machines call when they start a part of product p: under
        `kanban_until = "next_start"` the part leaves stage s-1's output inventory I_(s-1)
        only then, and its stage-(s-1) kanban with it; None when there is nothing to do."""
        if not self.kanban_on_start or s == 0 or self.st.pools[s - 1] is None:
            return None
        return partial(self.release_kanban, s - 1)

    # --- cards coming back --------------------------------------------------------------

    def release_kanban(self, s: int, p: int) -> None:
        st = self.st
        pool = st.pools[s]
        if pool is not None:
            q = pool.release(p)
            if q is not None:
                st.carded[s][q] += 1
                self.try_start(s, q)

    def card_free(self, p: int) -> None:
        cards = self.st.conwip_free
        k = cards.key[p]
        retiring = cards.values[k] < 0
        cards.values[k] += 1
        if not retiring:
            self.policy.on_card_free(self, p)

    # --- parts coming out ----------------------------------------------------------------

    def complete(self, m: Machine, p: int) -> None:
        """Machine `m` finished product `p`: inspect, then pass on, scrap or stock it."""
        st = self.st
        s = m.stage
        r = m.rec
        if r.job_defect and m.rs_defect.uniform() < r.job_defect:
            st.count.scrap += 1
            st.scrapped[p] += 1
            st.life["scrapped"] += 1
            self.wip(s, -1)
            self.release_kanban(s, p)
            self.card_free(p)
            self.policy.on_scrap(self, s, p)
            assert self.recycling is not None
            self.recycling.put()
            return
        r.good += 1
        r.ideal_h += m.nominal_h[p]
        if s < self.n_stages - 1:
            st.buf[s][p] += 1
            self.policy.on_output(self, s, p)
            return
        self.wip(s, -1)
        self.to_stock(p, 1)
        count = st.count
        count.finished += 1
        backlog = st.backlog[p]
        fg = st.buf[s]
        while backlog and fg[p]:
            ordered = backlog.popleft()
            count.wait_h += self.env._now - ordered
            self.deliver(p, ordered)

    def deliver(self, p: int, ordered: float) -> None:
        """Hand a finished part of product p to the customer who ordered at `ordered`."""
        st = self.st
        if self.listeners:
            info = {"product": self.products[p], "ordered": ordered, "t": self.env.now}
            for fn in self.listeners:
                fn("delivery", info)
        self.to_stock(p, -1)
        st.delivered[p] += 1
        st.life["delivered"] += 1
        self.card_free(p)
        rs = self.rs_returns
        assert rs is not None
        if rs.uniform() < rs.sample(self.return_prob):
            st.count.Rn += 1
            st.returned[p] += 1
            assert self.recycling is not None
            self.recycling.put()

    # --- inventories over time -------------------------------------------------------------

    def to_stock(self, p: int, d: int) -> None:
        """Finished stock of product p changes by d (kept apart from the KPI FG, gears sold)."""
        st = self.st
        now = self.env._now
        st.fg_area += st.fg_total * (now - st.fg_t)
        st.fg_t = now
        st.fg_total += d
        st.buf[self.n_stages - 1][p] += d

    def wip_move(self, s: int) -> None:
        """A part moves from stage s's output buffer into stage s+1."""
        st = self.st
        now = self.env._now
        area, wip, t = st.wip_area, st.wip, st.wip_t
        area[s] += wip[s] * (now - t[s])
        area[s + 1] += wip[s + 1] * (now - t[s + 1])
        t[s] = t[s + 1] = now
        wip[s] -= 1
        wip[s + 1] += 1

    def wip(self, s: int, d: int) -> None:
        st = self.st
        now = self.env._now
        st.wip_area[s] += st.wip[s] * (now - st.wip_t[s])
        st.wip_t[s] = now
        st.wip[s] += d

    # --- live card counts (PLC commands, through LineModel) ------------------------------------

    def resize_kanbans(self, stage: int, product: int, value: int) -> None:
        """Stage `stage`'s kanban count of `product` (checked by the line) to `value`; the
        requests a raise grants start at once."""
        st = self.st
        pool = st.pools[stage]
        assert pool is not None
        for q in pool.resize(product, value):
            st.carded[stage][q] += 1
            self.try_start(stage, q)

    def resize_conwip(self, product: int, value: int) -> None:
        """Product `product`'s CONWIP count to `value`; a cut retires cards as they come free,
        cards that only cancel a pending cut are booked at once."""
        st = self.st
        delta = value - st.conwip_cap[product]
        st.conwip_cap[product] = value
        if delta <= 0:
            st.conwip_free[product] += delta
            return
        retiring = min(delta, max(-st.conwip_free[product], 0))
        st.conwip_free[product] += retiring
        for _ in range(delta - retiring):
            self.card_free(product)
