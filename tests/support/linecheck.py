"""Invariants of the line model, checked after every event by the tests.

Card counts may stand above a cap only right after a live cut (free < 0): the surplus
cards retire as they come free, and the accounting must stay exact all the while. Under
`kanban_until = "next_start"` a stage-s kanban is also held by the parts queued (not yet
started) at stage s+1.
"""

from __future__ import annotations

from plc_sim.model.cards import SharedPool
from plc_sim.model.line import LineModel


def parts_at(m: LineModel, s: int, p: int) -> int:
    """Parts of product p queued or in process at stage s."""
    return m.jobs[s].count(p) + sum(1 for mach in m.machines[s] if mach.job == p)


def check_invariants(m: LineModel) -> None:
    N, P = m.n_stages, m.n_products
    for s in range(N):
        for p in range(P):
            assert m.buf[s][p] >= 0 and m.carded[s][p] >= 0, (s, p)
        held = [m.carded[s][p] + parts_at(m, s, p) + (m.buf[s][p] if s < N - 1 else 0)
                + (m.jobs[s + 1].count(p) if m.kanban_on_start and s < N - 1 else 0) for p in range(P)]
        pool = m.pools[s]
        if pool is None:
            continue
        if isinstance(pool, SharedPool):
            assert sum(held) == pool.cap - pool.free, (s, held, pool.state())
            assert sum(held) <= pool.cap or pool.free < 0, "over the cap without a pending cut"
        else:
            for p in range(P):
                assert held[p] == pool.cap[p] - pool.free[p], (s, p, held, pool.state())
                assert held[p] <= pool.cap[p] or pool.free[p] < 0, "over the cap without a pending cut"
    for p in range(P):
        assert 0 <= m.raw[p] <= m.spec.raw.cap
        in_system = sum(parts_at(m, s, q) + m.buf[s][q] for s in range(N) for q in m.conwip_free.sharing(p))
        assert in_system == m.conwip_cap[p] - m.conwip_free[p], (p, in_system, m.conwip_free.values)
        assert in_system <= m.conwip_cap[p] or m.conwip_free[p] < 0
        assert all(t >= 0 for t in m.tokens[0]) and all(t >= 0 for row in m.tokens for t in row)
        times = list(m.backlog[p])
        assert times == sorted(times)
    for s in range(N):
        expect = sum(parts_at(m, s, p) + (m.buf[s][p] if s < N - 1 else 0) for p in range(P))
        assert m.wip[s] == expect, (s, m.wip, expect)
    assert m.fg_total == sum(m.buf[N - 1])
    life = m.life
    assert life["initial"] + life["released"] == (
        life["delivered"] + m.fg_total + life["scrapped"] + sum(m.wip)), life


def step_until(m: LineModel, until: float, check=check_invariants) -> int:
    """Process events one by one up to working hour `until`, checking after each."""
    n = 0
    while m.env.peek() < until:
        m.env.step()
        check(m)
        n += 1
    return n
