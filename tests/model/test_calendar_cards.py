"""The plant calendar's two clocks and the kanban pools."""

import pytest

from plc_sim.model.calendar import PlantCalendar
from plc_sim.model.cards import CardCounts, DedicatedPool, SharedPool


def test_calendar_converts_both_ways():
    cal = PlantCalendar(16.0, 6, 6.0)
    assert cal.share == pytest.approx(96 / 168)
    assert cal.to_working(6.0) == 0.0
    assert cal.to_working(22.0) == 16.0
    assert cal.to_working(24.0 + 7.0) == 17.0
    assert cal.to_working(168.0) == 96.0
    assert cal.to_working(6 * 24 + 12) == 96.0, "Sunday is off"
    for w in (0.5, 15.9, 16.0, 40.0, 95.99, 96.0, 1234.5):
        assert cal.to_working(cal.to_calendar(w)) == pytest.approx(w)
    assert cal.is_working(10.0) and not cal.is_working(23.0) and not cal.is_working(6 * 24 + 10)
    assert cal.to_working(9000.0) == pytest.approx(9000 * 96 / 168, rel=0.01)


def test_dedicated_pool_keeps_products_apart():
    pool = DedicatedPool([1, 2])
    assert pool.request(0) and not pool.request(0)
    assert pool.request(1) and pool.request(1) and not pool.request(1)
    assert pool.release(1) == 1, "a freed B card serves the waiting B request"
    assert pool.release(0) == 0
    assert pool.release(0) is None and pool.free == [1, 0]


def test_shared_pool_gives_a_freed_card_to_the_oldest_request():
    pool = SharedPool(2, 2)
    assert pool.request(0) and pool.request(0)
    assert not pool.request(1) and not pool.request(0) and not pool.request(1)
    assert pool.release(0) == 1
    assert pool.release(0) == 0
    assert pool.release(1) == 1
    assert pool.held == [1, 1] and pool.free == 0


def test_resize_grants_waiting_requests_and_retires_surplus_cards():
    pool = SharedPool(1, 2)
    pool.request(0)
    pool.request(1)
    assert pool.resize(0, 2) == [1]
    assert pool.resize(0, 1) == [] and pool.free == -1
    assert pool.release(0) is None and pool.free == 0, "the surplus card retires"
    d = DedicatedPool([1, 1])
    d.request(0)
    d.request(0)
    assert d.resize(0, 3) == [0] and d.free == [1, 1]


def test_shared_pool_counts_waiting_requests_per_product_through_a_restore():
    pool = SharedPool(1, 2)
    pool.request(0)
    pool.request(1)
    pool.request(1)
    pool.request(0)
    assert [pool.waiting_for(p) for p in (0, 1)] == [1, 2]
    copy = SharedPool(1, 2)
    copy.restore(pool.state())
    assert [copy.waiting_for(p) for p in (0, 1)] == [1, 2]
    assert copy.release(0) == 1 and copy.waiting_for(1) == 1


def test_card_counts_share_one_value_under_s_kap():
    shared = CardCounts([8], [0, 0])
    shared[1] -= 3
    assert shared[0] == 5 and list(shared) == [5, 5] and shared.shared and shared.sharing(0) == [0, 1]
    own = CardCounts([4, 6], [0, 1])
    own[1] += 1
    assert own == [4, 7] and not own.shared and own.sharing(1) == [1]
