"""KPIs of a run since its last `reset_stats()` (the end of the warm-up).

Names follow seed 004: FG (finished gears sold), I3 (finished-goods inventory, here its
time average), SC (recycled items), Rn (returns), B, M, R (breakdowns, maintenance actions,
repairs), LD (lost sales), Rw (raw material procured), D (demand), SL = (FG+I3+SC+Rn)/D and
Zmax (equation 22 with Table 2 coefficients); plus the plain fill rate, WIP, energy,
unplanned downtime, throughput, peak power, OEE and utilisation per machine. Plants with
an `[objectives]` section (seed 000) also get C = `cost`, E = `energy_kwh`, D = `downtime_h`,
T = `throughput_per_h`, R = `peak_kw`, per hour, the weighted `Z` and `feasible`.
"""

from __future__ import annotations

from .line import LineModel
from .machine import DOWN, OFF, PROCESSING


SEED_000_HEADLINE = ("Z", "cost", "energy_kwh", "downtime_h", "throughput_per_h", "peak_kw", "feasible")


def kpis(m: LineModel, calendar_h: float | None = None) -> dict[str, float]:
    """The run's KPIs; `calendar_h` is the measured span in calendar hours (default: the
    working span divided by the calendar's share of working time)."""
    now = m.env.now
    span = now - m.stats_t
    if span <= 0:
        raise ValueError("no time has been measured since the last reset")
    cal = calendar_h if calendar_h is not None else span / m.calendar.share
    c = m.count
    costs = m.spec.costs
    fg = sum(m.delivered)
    D = sum(m.demand_n)
    I3 = (m.fg_area + m.fg_total * (now - m.fg_t)) / span
    wip = [(a + w * (now - t)) / span for a, w, t in zip(m.wip_area, m.wip, m.wip_t)]
    out: dict[str, float] = {}
    out["Zmax"] = (sum(costs.FG[n] * m.delivered[p] for p, n in enumerate(m.products))
                   + costs.SC * c["SC"] - costs.B * c["B"] - costs.M * c["M"] - costs.R * c["R"]
                   - costs.I3 * I3 - costs.LD * c["LD"] - costs.Rw * c["Rw"] - costs.Rn * c["Rn"])
    out["SL"] = (fg + I3 + c["SC"] + c["Rn"]) / D if D else 0.0
    out["fill_rate"] = c["from_stock"] / D if D else 0.0
    out["WIP"] = sum(wip)
    for s, st in enumerate(m.spec.stations):
        out[f"WIP_{st.name}"] = wip[s]
    out.update({"FG": fg, "D": D})
    for p, name in enumerate(m.products):
        out[f"FG_{name}"] = m.delivered[p]
        out[f"D_{name}"] = m.demand_n[p]
    out.update({
        "I3": I3, "SC": c["SC"], "Rn": c["Rn"], "B": c["B"], "M": c["M"], "R": c["R"],
        "LD": c["LD"], "Rw": c["Rw"], "scrap": c["scrap"],
    })
    out["backorder_wait_h"] = c["wait_h"] / max(fg - c["from_stock"], 1)
    energy = 0.0
    down = 0.0
    oee = []
    off_h = max(cal - span, 0.0)
    staffed_h = 0.0
    for row in m.machines:
        for mach in row:
            t = mach.time_in(now)
            energy += mach.energy_now(now) + mach.power.off * off_h
            down += t[DOWN]
            out[f"util_{mach.name}"] = t[PROCESSING] / span
            oee.append(mach.ideal_h / span)
        staffed_h += span - row[0].time_in(now)[OFF]
    out["energy_kwh"] = energy
    out["downtime_h"] = down
    out["throughput_per_h"] = c["finished"] / cal
    out["peak_kw"] = m.peak_kw
    out["oee"] = sum(oee) / len(oee)
    ob = m.spec.objectives
    if ob is not None:
        cost = (ob.tariff_per_kwh * energy + ob.labour_per_station_h * staffed_h + ob.maintenance_cost * c["M"]
                + ob.repair_cost * c["R"] + ob.scrap_cost * c["scrap"])
        out.update({
            "cost": cost, "cost_per_h": cost / cal, "energy_kwh_per_h": energy / cal,
            "downtime_h_per_h": down / cal,
            "Z": ob.w1 * cost + ob.w2 * energy + ob.w3 * down,
            "feasible": float(m.peak_kw <= ob.r_max_kw and out["throughput_per_h"] >= ob.t_min_per_h),
        })
        out = {k: out[k] for k in SEED_000_HEADLINE} | out
    return out
