"""The line's sources and sinks outside its stations, each a SimPy process of its own:
customer orders per product, raw-material deliveries per product, and the recycling
station that takes scrap and returns. Each reads and writes the line's state (the `LineState`
of the `LineModel` it serves) and keeps no state of its own beyond its random stream,
so snapshots need nothing from here.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

from .streams import Stream

if TYPE_CHECKING:
    from .line import LineModel
    from .machine import Proc


class Orders:
    """Customer orders of product `p`: served from stock, backordered, or lost when the
    backlog is past the product's lost-sale queue; the arrival rate may fluctuate."""

    def __init__(self, line: LineModel, p: int) -> None:
        self.line = line
        self.p = p
        self.name = line.products[p]
        self.key = f"demand.{self.name}"
        self.rs: Stream = line.streams[self.key]

    def run(self) -> Proc:
        line, p, name, key, rs = self.line, self.p, self.name, self.key, self.rs
        st, flow = line.state, line.flow
        d = line.demand_spec[p]
        fg = st.buf[line.n_stages - 1]
        fl = d.fluctuation
        env = line.env
        while True:
            yield line.timer(key, st.next_order[p])
            now = env._now
            gap = rs.sample(d.interarrival)
            if fl is not None:
                gap /= 1.0 + fl.amplitude * math.sin(2 * math.pi * (now + fl.phase_h) / fl.period_h)
            if line.demand_factor != 1.0:
                gap /= line.demand_factor
            st.next_order[p] = now + gap
            st.demand_n[p] += 1
            backlog = st.backlog[p]
            lost = not fg[p] and len(backlog) > d.lost_sale_queue
            if line.listeners:
                line.emit("order", {"product": name, "t": now, "lost": lost})
            if fg[p]:
                st.count.from_stock += 1
                flow.policy.on_order(flow, p)
                flow.deliver(p, now)
            elif lost:
                st.lost[p] += 1
                st.count.LD += 1
            else:
                backlog.append(now)
                flow.policy.on_order(flow, p)


class Deliveries:
    """Raw blanks of product `p` arrive in lots, up to the raw store's capacity."""

    def __init__(self, line: LineModel, p: int) -> None:
        self.line = line
        self.p = p
        self.key = f"raw.{line.products[p]}"
        self.rs: Stream = line.streams[self.key]

    def run(self) -> Proc:
        line, p, key, rs = self.line, self.p, self.key, self.rs
        st, raw = line.state, line.spec.raw
        while True:
            yield line.timer(key, st.next_raw[p])
            st.next_raw[p] = line.env.now + rs.sample(raw.interval)
            qty = 0 if line.supply_stopped else min(raw.lot, raw.cap - st.raw[p])
            if qty > 0:
                st.raw[p] += qty
                st.count.Rw += qty
                line.flow.feed(0, p)


class Recycling:
    """One recycling station serving scrapped and returned items in turn."""

    def __init__(self, line: LineModel) -> None:
        self.line = line
        self.rs: Stream = line.streams["recycling"]
        self._wake: simpy.Event | None = None

    def put(self) -> None:
        """An item (scrap or a return) joins the recycling queue."""
        self.line.state.recycle_queue += 1
        ev, self._wake = self._wake, None
        if ev is not None:
            ev.succeed()

    def run(self) -> Proc:
        line, rs = self.line, self.rs
        st, service = line.state, line.spec.recycling.service
        while True:
            if st.recycle_end is not None:
                yield line.timer("recycling", st.recycle_end)
                st.recycle_end = None
                st.recycle_queue -= 1
                st.count.SC += 1
            elif st.recycle_queue:
                st.recycle_end = line.env.now + rs.sample(service)
            else:
                self._wake = line.env.event()
                yield self._wake
