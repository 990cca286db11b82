"""KPIs of a run since its last `reset_stats()` (the end of the warm-up).

Names follow seed 004: FG (finished gears sold, net of refunded returns), I3 (finished-goods
inventory, its time average), SC (recycled items), Rn (returns), B, M, R (breakdowns,
maintenance actions, repairs), LD (lost sales), Rw (raw material procured), D (demand),
SL = (FG+I3+SC+Rn)/D as the seed defines it, and Zmax (equation 22 with Table 2
coefficients, read as the plant file's `[costs]` says: docs/control_rules.md); the WIP
objectives of equations 9-14 (`WIP1_obj`..`WIP3_obj`, functions of the card counts); plus
the plain fill rate, WIP, energy (and the part of it drawn while not processing: idle,
standby, waking, off, down, maintenance), unplanned downtime, throughput, peak power, OEE and
utilisation per machine. Plants with an `[objectives]` section (seed 000) also get C =
`cost`, E = `energy_kwh`, D = `stoppage_h` (unplanned `downtime_h` plus planned
`maintenance_h`, machine-hours), T = `throughput_per_h`, R = `peak_kw`, per hour, the
weighted `Z` and `feasible`.
"""

from __future__ import annotations

from .machine import DOWN, MAINTENANCE, OFF, PROCESSING
from .spec import Objectives, PlantSpec
from .view import LineView
from .vocab import shares_kanbans

SEED_000_HEADLINE = ("Z", "cost", "energy_kwh", "stoppage_h", "downtime_h", "maintenance_h", "throughput_per_h",
                     "peak_kw", "feasible", "LD")


def zmax_terms(m: LineView, i3_area: float, wip_area: float, span: float) -> dict[str, float]:
    """The terms of equation 22 in EUR under the plant's reading of them."""
    costs = m.spec.costs
    c = m.count
    refund = costs.refund_returns
    sales = sum(costs.FG[n] * (m.delivered[p] - (m.returned[p] if refund else 0)) for p, n in enumerate(m.products))
    if costs.holding_period_h is None:
        holding = costs.I3 * i3_area / span
    else:
        holding = costs.I3 * (i3_area + (wip_area if costs.hold_wip else 0.0)) / costs.holding_period_h
    writeoff = sum(costs.FG[n] * m.scrapped[p] for p, n in enumerate(m.products)) if costs.scrap_writeoff else 0.0
    return {
        "sales_eur": sales, "recycling_eur": costs.SC * c.SC,
        "events_eur": costs.B * c.B + costs.M * c.M + costs.R * c.R,
        "holding_eur": holding, "lost_sales_eur": costs.LD * c.LD, "raw_eur": costs.Rw * c.Rw,
        "returns_eur": costs.Rn * c.Rn, "scrap_writeoff_eur": writeoff,
    }


def zmax(terms: dict[str, float]) -> float:
    return (terms["sales_eur"] + terms["recycling_eur"] - terms["events_eur"] - terms["holding_eur"]
            - terms["lost_sales_eur"] - terms["raw_eur"] - terms["returns_eur"] - terms["scrap_writeoff_eur"])


def wip_objectives(spec: PlantSpec) -> dict[str, float]:
    """Seed 004's WIP objectives, equations 9-11 (D-KAP) or 12-14 (S-KAP), with Table 2's
    weights: functions of the card counts alone (3 stages, 2 products), as in the seed."""
    w = spec.wip_weights
    pol = spec.policy
    if w is None or len(spec.stations) != 3 or len(spec.products) != 2:
        return {}
    a, b = spec.product_names
    s3a, s3b = pol.S[a][2], pol.S[b][2]
    if shares_kanbans(pol.model):
        k1, k2 = pol.K_shared
        c = pol.conwip_shared()
        s = w.s
        return {"WIP1_obj": s[0] * (k1 - k2), "WIP2_obj": s[1] * (k2 - s3a) + s[2] * (k2 - s3b),
                "WIP3_obj": s[3] * (c - s3a) + s[4] * (c - s3b)}
    ka, kb = pol.K_dedicated[a], pol.K_dedicated[b]
    d = w.d
    return {"WIP1_obj": d[0] * (ka[0] - ka[1]) + d[1] * (kb[0] - kb[1]),
            "WIP2_obj": d[2] * (ka[1] - s3a) + d[3] * (kb[1] - s3b),
            "WIP3_obj": d[4] * (pol.C[a] - s3a) + d[5] * (pol.C[b] - s3b)}


def seed_000_z(ob: Objectives, cost: float, energy_kwh: float, stoppage_h: float) -> float:
    """Z = w1*C + w2*E + w3*D of seed 000, D the stoppage (unplanned plus planned hours):
    counting both, a maintenance policy cannot buy fewer breakdowns with more maintenance
    hours for free."""
    return ob.w1 * cost + ob.w2 * energy_kwh + ob.w3 * stoppage_h


def staffed_hours(m: LineView, now: float) -> float:
    """Station-hours on shift (what labour is paid for): the shift meter for stations on
    shift plans, a station's time not stopped by the operator for one on the calendar."""
    on_shift = m.shift_meter.hours_until(now)
    span = now - m.stats_t
    return sum(on_shift[s] if m.shift_plan[s] is not None else span - row[0].time_in(now)[OFF]
               for s, row in enumerate(m.machines))


def kpis(m: LineView, calendar_h: float | None = None) -> dict[str, float]:
    """The run's KPIs; `calendar_h` is the measured span in calendar hours (default: the
    working span divided by the calendar's share of working time)."""
    now = m.now
    span = now - m.stats_t
    if span <= 0:
        raise ValueError("no time has been measured since the last reset")
    cal = calendar_h if calendar_h is not None else span / m.calendar.share
    c = m.count
    D = sum(m.demand_n)
    i3_area = m.fg_area + m.fg_total * (now - m.fg_t)
    wip_areas = [a + w * (now - t) for a, w, t in zip(m.wip_area, m.wip, m.wip_t)]
    I3 = i3_area / span
    wip = [x / span for x in wip_areas]
    terms = zmax_terms(m, i3_area, sum(wip_areas), span)
    refund = m.spec.costs.refund_returns
    fg = sum(m.delivered) - (c.Rn if refund else 0)
    out: dict[str, float] = {"Zmax": zmax(terms)}
    out["SL"] = (fg + I3 + c.SC + c.Rn) / D if D else 0.0
    out["fill_rate"] = c.from_stock / D if D else 0.0
    out["served"] = sum(m.delivered) / D if D else 0.0
    out["WIP"] = sum(wip)
    for s, st in enumerate(m.spec.stations):
        out[f"WIP_{st.name}"] = wip[s]
    out.update(wip_objectives(m.spec))
    out.update({"FG": fg, "D": D})
    for p, name in enumerate(m.products):
        out[f"FG_{name}"] = m.delivered[p] - (m.returned[p] if refund else 0)
        out[f"D_{name}"] = m.demand_n[p]
    out.update({
        "I3": I3, "SC": c.SC, "Rn": c.Rn, "B": c.B, "M": c.M, "R": c.R,
        "LD": c.LD, "Rw": c.Rw, "scrap": c.scrap,
    })
    out.update(terms)
    out["backorder_wait_h"] = c.wait_h / max(sum(m.delivered) - c.from_stock, 1)
    energy = 0.0
    down = 0.0
    planned = 0.0
    tare = 0.0
    oee = []
    off_h = max(cal - span, 0.0)
    for row in m.machines:
        for mach in row:
            t = mach.time_in(now)
            energy += mach.energy_now(now) + mach.power.off * off_h
            tare += mach.power.off * off_h + sum(h * mach.draw_kw(st) for st, h in t.items() if st != PROCESSING)
            down += t[DOWN]
            planned += t[MAINTENANCE]
            out[f"util_{mach.name}"] = t[PROCESSING] / span
            oee.append(mach.ideal_h / span)
    staffed_h = staffed_hours(m, now)
    out["energy_kwh"] = energy
    out["non_processing_kwh"] = tare
    out["non_processing_share"] = tare / energy if energy else 0.0
    out["downtime_h"] = down
    out["maintenance_h"] = planned
    out["stoppage_h"] = down + planned
    out["throughput_per_h"] = c.finished / cal
    out["peak_kw"] = m.peak_kw
    out["oee"] = sum(oee) / len(oee)
    ob = m.spec.objectives
    if ob is not None:
        lost = sum(ob.lost_sale_cost.get(n, 0.0) * m.lost[p] for p, n in enumerate(m.products))
        cost = (ob.tariff_per_kwh * energy + ob.labour_per_station_h * staffed_h + ob.maintenance_cost * c.M
                + ob.repair_cost * c.R + ob.scrap_cost * c.scrap + lost)
        out.update({
            "cost": cost, "labour_eur": ob.labour_per_station_h * staffed_h, "lost_sale_eur": lost,
            "energy_per_part_kwh": energy / max(c.finished, 1), "cost_per_h": cost / cal,
            "energy_kwh_per_h": energy / cal, "downtime_h_per_h": down / cal,
            "stoppage_h_per_h": (down + planned) / cal,
            "Z": seed_000_z(ob, cost, energy, down + planned),
            "feasible": float(m.peak_kw <= ob.r_max_kw
                              and out["throughput_per_h"] >= ob.t_min_per_h * (1 - ob.t_min_tolerance)),
        })
        out = {k: out[k] for k in SEED_000_HEADLINE} | out
    return out
