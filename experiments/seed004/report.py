"""The Markdown report: our tables beside the seed's, which of the seed's findings hold on
our gear line and which do not (and why), where the seed contradicts itself, the
interpretation choices, and the figures with the seed's figure each one answers."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.header import report_header

from . import seed
from .design import PLAIN, SEED_METHODS, TABLE1, Design, full
from .estimate import full_seconds
from .figures import draw_all
from .raw import write_all
from .runs import Results
from .tables import Row, all_tables

STEER = {
    "BSOP": "Under S-KAP the one C must hold both gears' S3, so WIP(3) = s4 (C - S3.1) + s5 (C - S3.2) grows "
            "with the stock: the seed's objective pushes base stock down (BSOP, HSOP).",
    "HSOP": "Under S-KAP the one C must hold both gears' S3, so WIP(3) = s4 (C - S3.1) + s5 (C - S3.2) grows "
            "with the stock: the seed's objective pushes base stock down (BSOP, HSOP).",
    "HDOP": "Under HDOP K1 + K2 <= C with K >= S3 makes C >= 2 S3, so WIP(3) grows with the stock too.",
    "BDOP": "Under BDOP every K1 = K2 = C = S3 point scores WIP 0 at any stock level, so the seed's objective "
            "does not steer the stock; the screening simulations and the choice decide it.",
}
"""What the seed's WIP objectives do to the base stock under each model (from equations 9-14
and the seed constraints)."""
FULL_COMMAND = "plant experiment seed004 --out seed004-full --docs docs/experiments"
CHOICES = [
    "**What the seed's GA, PSO, DE and ES optimised.** Their compute times (3-6 s, Table 5) rule out "
    "simulation inside the search; we read section 3.3.2 as: each solver minimises the WIP objectives "
    "(equations 9-14 with Table 2's weights, functions of the card counts alone) under the seed's "
    "constraints, summed into one number (the single-objective solvers need one; the weights already scale "
    "the parts). Its best distinct card combinations (the seed's table of 30) are then simulated.",
    "**The three-stage choice** (the same for every method): the Pareto front of simulated Zmax, SL and WIP "
    "(the seed's 'inventory' read as its WIP objective's quantity); of the front, those with fewer kanban plus "
    "CONWIP cards than the front's average; of those, the least base stock (S3 of both gears), ties to the "
    "higher Zmax.",
    "**Our NSGA-II** searches the same decisions on simulated Zmax, SL and WIP (the screening replications) "
    "and applies the same choice to its front.",
    "**Decisions**: K1, K2 and C (per gear under D-KAP; shared under S-KAP, one C for the line) and S3 per "
    "gear, in the plant file's [bounds] box, repaired onto the card rules and seed constraints "
    "(docs/optimizer.md); S1 and S2 stay 0 as the plant file has them (the seed names only S3).",
    "**Screening and evaluation are different replications**: candidates are simulated on the screening "
    "seed; chosen solutions on the evaluation seed's fresh replications, the same for every method "
    "(common random numbers).",
    "**Groups of Table 3-5**: all (solver seed, replication) observations of a method; plain has its 30 "
    "replications. The seed had one run per method. With common random numbers the groups are not "
    "independent, as ANOVA and Tukey assume; the paired differences against plain are the fair test.",
    "**Compute seconds** are the solver's search only (the seed's 'computational cost of optimisation'); "
    "the screening simulations are reported apart. NSGA-II's search includes its simulations.",
    "**The plant** is our reading of the seed (docs/control_rules.md, docs/response_surface.md): weekends "
    "and nights, stock priced per gear and hour, Table 1 rates read as the plant file says. Neither model "
    "nor plain settings were tuned for this experiment.",
]


def write_report(res: Results, out: Path, docs: Path | None, argv: Sequence[str], wall_s: float) -> Path:
    """CSV, tables.json, figures and report.md under `out` (or the report under `docs` with
    its figures in `docs/seed004/`)."""
    target = docs if docs is not None else out
    fig_dir = target / "seed004" if docs is not None else out / "figures"
    data = fig_dir if docs is not None else out
    write_all(res, data / "raw")
    tables = all_tables(res.reps, res.runs)
    (data / "tables.json").write_text(json.dumps(tables, indent=1, default=float))
    figs = draw_all(res.reps, res.convergence, fig_dir)
    rel = fig_dir.relative_to(target)
    text = _markdown(res, tables, figs, rel, argv, wall_s)
    text = text.replace("`raw/", f"`{(data.relative_to(target) / 'raw').as_posix()}/").replace(
        "(`tables.json`)", f"(`{(data.relative_to(target) / 'tables.json').as_posix()}`)")
    path = (docs / "seed004.md") if docs is not None else out / "report.md"
    path.write_text(text)
    return path


def _markdown(res: Results, tables: dict[str, Any], figs: list[tuple[str, str, str]], rel: Path,
              argv: Sequence[str], wall_s: float) -> str:
    d = res.design
    parts = [report_header("Seed 004 on our gear line: GA, PSO, DE, ES, NSGA-II and the plain settings",
                           d.seeds(), argv), _design_text(d, res, wall_s), "## Interpretation choices", "",
             *[f"- {c}" for c in CHOICES], ""]
    for key, t in tables.items():
        parts.append(_cell_text(key, t, res))
    parts += [_findings(tables, res), _contradictions(), _figures(figs, rel)]
    return "\n".join(parts) + "\n"


def _design_text(d: Design, res: Results, wall_s: float) -> str:
    e, s = d.evaluation, d.screening
    return "\n".join([
        "## Design", "", _reduced(d),
        f"- models {', '.join(d.models)}; scenarios {', '.join(map(str, d.scenarios))}; methods "
        f"{', '.join(d.methods)}; solver seeds {', '.join(map(str, d.solver_seeds))}",
        f"- evaluation: {e.reps} replications x {e.hours:g} h after {e.warmup:g} h warm-up, seed {e.seed}, "
        "the same for every method",
        f"- screening: {s.reps} replications x {s.hours:g} h after {s.warmup:g} h, seed {s.seed}; "
        f"{d.candidates} candidates per seed-method run",
        f"- budgets: seed methods population {d.analytic_pop} x {d.analytic_generations} generations on the WIP "
        f"objectives; NSGA-II population {d.nsga_pop} x {d.nsga_generations} generations on simulations; "
        f"{d.budget_s:g} s cap per run",
        f"- this run: {res.computed} cells computed, {res.cached} from the cache, {wall_s:,.0f} s wall time; "
        f"the cells' own time (also of cached ones): {_cell_hours(res):.2f} h on {res.jobs} workers",
        _estimate_text(res), "",
        "Raw data: `raw/replications.csv` (one row per evaluation replication), `raw/solver_runs.csv`, "
        "`raw/candidates.csv`, `raw/convergence.csv`; every table below is recomputed from them "
        "(`tables.json`).", ""])


def _reduced(d: Design) -> str:
    """Which fields of the design differ from the full one (the report says what it is not)."""
    mine, ref = d.as_dict(), full().as_dict()
    diff = [k for k in mine if k != "quick" and mine[k] != ref[k]]
    if not diff:
        return "The full design.\n"
    return (f"**A reduced design**: it differs from the full one (`{FULL_COMMAND}`) in "
            + ", ".join(f"{k} ({_short(mine[k])} instead of {_short(ref[k])})" for k in diff) + ".\n")


def _short(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v))
    if isinstance(v, dict):
        return ", ".join(f"{k} {x}" for k, x in v.items())
    return str(v)


def _cell_hours(res: Results) -> float:
    search = sum(float(r["cell_s"]) for r in res.runs)
    reps = {(r["model"], r["scenario"], r["sets"], r["rep"]): float(r.get("cell_s", 0.0)) for r in res.reps}
    return (search + sum(reps.values()) / res.jobs) / 3600


def _estimate_text(res: Results) -> str:
    secs = full_seconds(res, full())
    runs = [float(r["cell_s"]) for r in res.runs]
    reps = [float(r["cell_s"]) for r in res.reps if "cell_s" in r]
    measured = (f"search cells {np.mean(runs):.1f} s wall on average" if runs else "no search cell") + (
        f", evaluation replications {np.mean(reps):.2f} s each on {res.jobs} workers" if reps else "")
    est = f"about {secs / 3600:.1f} h" if secs is not None else "not measurable from this run"
    return (f"- the full design (`{FULL_COMMAND}`: all four models, 10 solver seeds, 30 x 9000 h) takes {est} "
            f"on this machine, estimated from the measured cell times ({measured}; cache hits of repeated "
            f"settings make it shorter); `--scenarios all` ({len(TABLE1)} Table 1 scenarios) takes {len(TABLE1)} "
            "times as long")


def _fmt(x: float, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.{digits}f}"


def _cell_text(key: str, t: dict[str, Any], res: Results) -> str:
    model, scenario = key.split("/")
    lines = [f"## {model}, scenario {scenario}", "", "**Table 5** (Zmax in EUR over the evaluation horizon; "
             "the seed's Table 5 is BSOP scenario 1 over its own horizon and units)", "",
             "| statistic | " + " | ".join(r["method"] for r in t["table5"]) + " |",
             "|---|" + "---|" * len(t["table5"])]
    rows = [("mean", "mean", 0), ("variance", "variance", 0), ("standard deviation", "sd", 0),
            ("95 % lower CI", "low", 0), ("95 % upper CI", "high", 0), ("observations", "n", 0),
            ("solver runs", "runs", 0), ("95 % CI over runs, low", "run_low", 0),
            ("95 % CI over runs, high", "run_high", 0), ("compute s per run (search)", "compute_s", 3),
            ("evaluations per run", "evaluations", 0), ("screening s per run", "screening_s", 1)]
    for label, field, digits in rows:
        lines.append(f"| {label} | " + " | ".join(_fmt(r[field], digits) for r in t["table5"]) + " |")
    lines += ["", "The seed's Table 5: " + ", ".join(
        f"{m} {v[0]:,.2f}" + (f" ({v[5]} s)" if v[5] else "") for m, v in seed.TABLE5.items()), ""]
    lines += _anova_text(t), _tukey_text(t), _kpi_text(t), _paired_text(t), _chosen_text(res, model, int(scenario))
    return "\n".join(lines)


def _anova_text(t: dict[str, Any]) -> str:
    a = t["anova"]
    if a is None:
        return ""
    s, r = seed.TABLE3, seed.anova_from_table5()
    return "\n".join([
        "**Table 3** (one-way ANOVA of Zmax over the methods, `scipy.stats.f_oneway`)", "",
        "| | df | sum of squares | mean square | F | p |", "|---|---|---|---|---|---|",
        f"| methods | {a['df_group']} | {a['ss_group']:.4g} | {a['ms_group']:.4g} | {a['F']:.4g} | {a['p']:.3g} |",
        f"| residuals | {a['df_resid']} | {a['ss_resid']:.4g} | {a['ms_resid']:.4g} | | |",
        f"| seed's Table 3 | {s['df_group']} / {s['df_resid']} | {s['ss_group']:.4g} / {s['ss_resid']:.4g} | | "
        f"{s['F']} | {s['p']} |",
        f"| from the seed's Table 5 | {r.df_group} / {r.df_resid} | | | {r.F:.3f} | {r.p:.3f} |", ""])


def _tukey_text(t: dict[str, Any]) -> str:
    if not t["tukey"]:
        return ""
    lines = ["**Table 4** (Tukey HSD, `scipy.stats.tukey_hsd`, 95 %)", "",
             "| comparison | difference | lower | upper | adjusted p |", "|---|---|---|---|---|"]
    lines += [f"| {r['pair']} | {_fmt(r['difference'], 1)} | {_fmt(r['low'], 1)} | {_fmt(r['high'], 1)} | "
              f"{r['p']:.5f} |" for r in t["tukey"]]
    return "\n".join([*lines, ""])


def _kpi_text(t: dict[str, Any]) -> str:
    cols = [("Zmax", 0), ("FG", 0), ("SL", 3), ("fill_rate", 3), ("WIP", 2), ("SC", 0), ("Rn", 0), ("LD", 0)]
    lines = ["**KPIs per method** (mean [95 % interval]; SL as the seed defines it, fill rate the orders "
             "served from stock; SC recycled, Rn returned, LD lost orders)", "",
             "| method | " + " | ".join(c for c, _ in cols) + " |", "|---|" + "---|" * len(cols)]
    for m, k in t["kpis"].items():
        lines.append(f"| {m} | " + " | ".join(
            f"{_fmt(k[c]['mean'], d)} [{_fmt(k[c]['low'], d)}, {_fmt(k[c]['high'], d)}]" for c, d in cols) + " |")
    return "\n".join([*lines, ""])


def _paired_text(t: dict[str, Any]) -> str:
    if not t["paired"]:
        return ""
    cols = [("Zmax", 0), ("FG", 1), ("SL", 4), ("fill_rate", 4), ("WIP", 2), ("LD", 1)]
    lines = ["**Paired differences against plain** (each method's per-replication mean over its solver runs "
             "minus plain on the same replication; * = the interval excludes 0)", "",
             "| method | " + " | ".join(f"d{c}" for c, _ in cols) + " |", "|---|" + "---|" * len(cols)]
    for m, k in t["paired"].items():
        lines.append(f"| {m} | " + " | ".join(
            f"{_fmt(k[c]['mean'], d)} [{_fmt(k[c]['low'], d)}, {_fmt(k[c]['high'], d)}]"
            + ("*" if k[c]["significant"] else "") for c, d in cols) + " |")
    return "\n".join([*lines, ""])


def _chosen_text(res: Results, model: str, scenario: int) -> str:
    runs = [r for r in res.runs if r["model"] == model and r["scenario"] == scenario]
    lines = ["**Chosen settings** (solver seed: settings)", ""]
    for m in dict.fromkeys(r["method"] for r in runs):
        picks = [f"{r['solver_seed']}: `{r['chosen'] or 'plain'}`" for r in runs if r["method"] == m]
        lines.append(f"- {m}: " + "; ".join(picks))
    return "\n".join([*lines, ""])


def _stock(res: Results, key: str, method: str) -> float:
    model, scenario = key.split("/")
    vals = [sum(float(v) for k, v in r.items() if k.startswith("chosen_S")) for r in res.runs
            if r["model"] == model and r["scenario"] == int(scenario) and r["method"] == method]
    return float(np.mean(vals)) if vals else math.nan


def _findings(tables: dict[str, Any], res: Results) -> str:
    key = "BSOP/1" if "BSOP/1" in tables else next(iter(tables))
    t = tables[key]
    lines = ["## The seed's findings on our gear line", "",
             f"Tested on {key.replace('/', ', scenario ')} (the seed's Tables 3-5 are BSOP, scenario 1) unless "
             "said otherwise. Nothing here is asserted by a test; it is what this run measured.", ""]
    lines += _finding_beats_plain(tables, res), _finding_alike(t), _finding_sl(tables), _finding_cost(t)
    return "\n".join(lines)


def _finding_beats_plain(tables: dict[str, Any], res: Results) -> str:
    out = ["**Optimised beats plain.**"]
    for key, t in tables.items():
        verdicts = []
        for m, k in t["paired"].items():
            z = k["Zmax"]
            word = "better" if z["significant"] and z["mean"] > 0 else (
                "worse" if z["significant"] else "no different")
            verdicts.append(f"{m} {word} ({z['mean']:+,.0f} [{z['low']:+,.0f}, {z['high']:+,.0f}] EUR, "
                            f"chosen base stock {_stock(res, key, m):.1f} against plain's 8, 4 per gear)")
        out.append(f"{key.replace('/', ' s')}: " + "; ".join(verdicts) + ".")
    out.append("Reading the chosen base stocks (stock covers nights and weekends and is the main lever of "
               "Zmax on our plant, docs/response_surface.md): " + " ".join(
                   dict.fromkeys(STEER[k.split("/")[0]] for k in tables if k.split("/")[0] in STEER)))
    out.append(_choice_cost(res))
    return " ".join(out) + "\n"


def _choice_cost(res: Results) -> str:
    """What the three-stage rule gave up: per method, the best screening Zmax of the front
    against the chosen candidate's, in % of the chosen."""
    gaps: dict[str, list[float]] = {}
    runs: dict[tuple[str, str, int, int], list[Row]] = {}
    for c in res.candidates:
        runs.setdefault((c["method"], c["model"], int(c["scenario"]), int(c["solver_seed"])), []).append(c)
    for (method, *_), cands in runs.items():
        chosen = next(c for c in cands if c["chosen"])
        best = max(c["Zmax"] for c in cands if c["front"])
        gaps.setdefault(method, []).append(100 * (best - chosen["Zmax"]) / abs(chosen["Zmax"]))
    listed = ", ".join(f"{m} {np.mean(g):.1f} %" for m, g in gaps.items())
    return (f"The choice rule's own price, on the screening replications: the front's best Zmax lies above the "
            f"chosen candidate's by {listed} on average (stages 2 and 3 prefer fewer cards and less stock "
            "to profit).")


def _finding_alike(t: dict[str, Any]) -> str:
    if not t["tukey"]:
        return ""
    p = {r["pair"]: r for r in t["tukey"]}

    def pair(a: str, b: str) -> dict[str, Any] | None:
        return p.get(f"{a}-{b}") or p.get(f"{b}-{a}")

    trio = [x for x in ("PSO", "ES", "DE") if any(x in k for k in p)]
    alike = [pair(a, b) for i, a in enumerate(trio) for b in trio[i + 1:]]
    same = all(r is not None and r["p"] > 0.05 for r in alike)
    above = []
    for a in trio:
        for b in ("GA", PLAIN):
            r = pair(a, b)
            if r is None:
                continue
            diff = r["difference"] if r["pair"].startswith(a) else -r["difference"]
            above.append((a, b, diff, r["p"]))
    holds = [f"{a} > {b}" for a, b, dd, pv in above if dd > 0 and pv < 0.05]
    apart = [r["pair"] for r in alike if r is not None and r["p"] <= 0.05]
    return ("**PSO, ES and DE alike, above GA and plain.** Alike (Tukey p > 0.05 for every pair): "
            f"{'yes' if same else 'no'}{' (' + ', '.join(apart) + ' differ)' if apart else ''}; of the "
            f"{len(above)} comparisons of PSO, ES or DE with GA or plain, significantly above: "
            f"{', '.join(holds) or 'none'}.\n")


def _finding_sl(tables: dict[str, Any]) -> str:
    lo, hi = seed.SL_BAND
    rows = []
    for key, t in tables.items():
        if not key.startswith(("BDOP", "BSOP")):
            continue
        inside = [m for m, k in t["kpis"].items() if lo <= k["SL"]["mean"] <= hi]
        outside = [f"{m} {k['SL']['mean']:.3f}" for m, k in t["kpis"].items() if not lo <= k["SL"]["mean"] <= hi]
        rows.append(f"{key.replace('/', ' s')}: inside {', '.join(inside) or 'none'}; outside "
                    f"{', '.join(outside) or 'none'}")
    if not rows:
        return ""
    return f"**SL of BDOP and BSOP within {lo:.1%}-{hi:.1%}.** " + "; ".join(rows) + ".\n"


def _finding_cost(t: dict[str, Any]) -> str:
    cost = {r["method"]: r["compute_s"] for r in t["table5"] if r["method"] in SEED_METHODS}
    if not cost:
        return ""
    cheapest = min(cost, key=lambda m: cost[m])
    listed = ", ".join(f"{m} {s:.3f} s" for m, s in cost.items())
    evals = {r["method"]: r["evaluations"] for r in t["table5"] if r["method"] in SEED_METHODS}
    per = ", ".join(f"{m} {1000 * cost[m] / max(evals[m], 1):.1f} ms" for m in cost)
    return (f"**ES the cheapest.** Cheapest here: {cheapest} ({listed} per search on the WIP objectives; the "
            "seed: ES 3.241, DE 3.736, GA 4.491, PSO 5.692 s). The searches cost what their evaluations cost "
            f"(per evaluation: {per}); a method that stops finding new candidates early is cheap for it, not "
            "better.\n")


def _contradictions() -> str:
    r = seed.anova_from_table5()
    return "\n".join([
        "## Where the seed contradicts itself", "",
        f"- Table 3 gives {seed.TABLE3['df_group']} group degrees of freedom and {seed.TABLE3['df_resid']} "
        "residual ones for five methods of 30 replications; five groups have 4 and 145.",
        f"- Table 5's own means and variances (30 replications each) give F = {r.F:.2f} (p = {r.p:.2f}) on "
        f"{r.df_group} and {r.df_resid} degrees of freedom, not F = 384.9 with p < 2e-16: the methods' "
        "differences of a few thousand EUR are small against standard deviations of 15,000-23,000 EUR.",
        f"- Its Tukey table (Table 4) finds no significant pair (smallest adjusted p {seed.TABLE4_MIN_P}), while "
        "the text reports GA and plain below the others with p < 0.001.",
        "- Table 3's sums of squares (8.03e15 between, 8.07e14 within) do not fit Table 5's variances either "
        "(within-group SS from Table 5 is about 145 x 3.05e8 = 4.4e10).", ""])


def _figures(figs: list[tuple[str, str, str]], rel: Path) -> str:
    lines = ["## Figures beside the seed's", "", "| ours | answers the seed's |", "|---|---|"]
    lines += [f"| {cap}: ![{name}]({(rel / name).as_posix()}) | {seed_fig} |" for name, cap, seed_fig in figs]
    return "\n".join([*lines, ""])

