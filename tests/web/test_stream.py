"""The event streams' bounds: a slow client is dropped and counted, a client over the limit refused."""

from __future__ import annotations

import pytest

from web_view.stream import Broadcaster, TooManyClientsError

pytestmark = pytest.mark.web


async def test_a_slow_client_is_dropped_and_counted_while_a_fast_one_gets_everything() -> None:
    b = Broadcaster(max_clients=4, queue_size=3)
    slow, fast = b.subscribe(), b.subscribe()
    got: list[str] = []
    for i in range(10):
        b.publish(str(i))
        got.append(fast.get_nowait())
    assert got == [str(i) for i in range(10)]
    assert b.dropped == 1 and b.clients == 1
    frames = [f async for f in b.messages(slow)]
    assert frames == []  # its stream ends at once: the page reconnects by itself


async def test_a_stream_over_the_limit_is_refused_and_counted() -> None:
    b = Broadcaster(max_clients=2, queue_size=3)
    b.subscribe(), b.subscribe()
    with pytest.raises(TooManyClientsError):
        b.subscribe()
    assert b.refused == 1 and b.clients == 2


async def test_frames_are_server_sent_events() -> None:
    b = Broadcaster(max_clients=1, queue_size=4)
    q = b.subscribe(first="x")
    b.publish("y")
    frames = []
    async for f in b.messages(q):
        frames.append(f)
        if len(frames) == 2:
            break
    assert frames == ["data: x\n\n", "data: y\n\n"]
