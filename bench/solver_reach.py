"""Does every solver reach the best hand setting? Gear line BSOP scenario 1 (seed 004), the
cards problem with base stocks in the plant file's [bounds] box: a hand scan of S3 (both
gears, K and C raised to what the seed constraints ask) against GA, PSO, DE, ES and NSGA2,
all on the same replications (common random numbers), Zmax as the mean over them. Each
solver ends with the shared local polish of `optimizer_svc.solve` (coordinate moves on its
best candidate's integers, `Budget.polish_share` of the budget); the table shows its best
before and after that polish.

    .venv/bin/python bench/solver_reach.py --hours 2000 --warmup 500 --reps 3 --generations 25 --pop-size 16

The table it prints is the one in docs/optimizer.md ("Bounds").
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from optimizer_svc.evaluator import Evaluator
from optimizer_svc.forecast import Horizon, PlantForecaster
from optimizer_svc.problems.base import Evaluated, ForecastProblem
from optimizer_svc.problems.production import CardOptions, card_problem
from optimizer_svc.solve import Budget, solve

SOLVERS = ("GA", "PSO", "DE", "ES", "NSGA2")


def _problem(ev: Evaluator, args: argparse.Namespace) -> ForecastProblem:
    horizon = Horizon(args.hours, args.warmup, args.seed)
    return card_problem(ev, range(args.reps), horizon, CardOptions(vary_base_stock=True))


def hand_scan(problem: ForecastProblem, s3_max: int, bar: Progress) -> list[tuple[int, Evaluated]]:
    """S3 of both gears from 0 to `s3_max`, the other decisions as the plant has them
    (the repair raises K and C to the seed constraints' floors)."""
    out = []
    task = bar.add_task("hand scan S3", total=s3_max + 1)
    for s in range(s3_max + 1):
        values = {**problem.space.current(), "S3.A": s, "S3.B": s}
        out.append((s, problem.evaluate_values(values)))
        bar.advance(task)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for flag, kind, default in (("--hours", float, 2000.0), ("--warmup", float, 500.0), ("--reps", int, 3),
                                ("--seed", int, 1), ("--jobs", int, 2), ("--generations", int, 8),
                                ("--pop-size", int, 10), ("--budget", float, 900.0), ("--s3-max", int, 24),
                                ("--polish-share", float, 0.15)):
        ap.add_argument(flag, type=kind, default=default)
    args = ap.parse_args()
    console = Console(width=220)
    rows: list[tuple[str, str, float, int, float | None]] = []
    with Evaluator(PlantForecaster.from_file("gear_line", "BSOP", 1), jobs=args.jobs) as ev, \
            Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                     TimeElapsedColumn(), console=console) as bar:
        plain = _problem(ev, args)
        base = plain.baseline()
        scan = [(s, r) for s, r in hand_scan(plain, args.s3_max, bar) if r.feasible]
        s_best, hand = max(scan, key=lambda sr: sr[1].objectives[0])
        rows.append(("plain settings", ", ".join(base.sets) or "as the plant file", base.objectives[0], 1, None))
        rows.append((f"best hand (S3 = {s_best})", ", ".join(hand.sets), hand.objectives[0], len(scan), None))
        for name in SOLVERS:
            problem = _problem(ev, args)
            budget = Budget(args.budget, args.generations, args.pop_size, args.polish_share)
            task = bar.add_task(name, total=args.generations + budget.polish_candidates())
            res = solve(problem, name, budget, seed=args.seed, on_step=lambda _s, t=task: bar.advance(t))
            searched = res.searched.objectives[0] if res.searched else None
            rows.append((name, ", ".join(res.best.sets), res.best.objectives[0], res.evaluations, searched))
            bar.console.print(f"{name}: {searched or 0:,.0f} -> {res.best.objectives[0]:,.0f} "
                              f"(best hand {hand.objectives[0]:,.0f}), {res.evaluations} candidates")
    _print(console, rows, base.objectives[0], hand.objectives[0], args)


def _print(console: Console, rows: list[tuple[str, str, float, int, float | None]], base: float, hand: float,
           args: argparse.Namespace) -> None:
    t = Table(title=f"gear line BSOP scenario 1, {args.hours:g} h after {args.warmup:g} h, {args.reps} replications "
                    f"(same random numbers), Zmax mean, {args.generations} x {args.pop_size}, "
                    f"polish {100 * args.polish_share:g} %")
    for col, justify in (("setting", "left"), ("before polish", "right"), ("Zmax", "right"), ("vs plain", "right"),
                         ("vs best hand", "right"), ("candidates", "right"), ("overrides", "left")):
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    for name, sets, z, n, searched in rows:
        reach = "" if name.startswith(("plain", "best hand")) else (" ✓" if z >= hand - 1e-9 else " ✗")
        t.add_row(name, "" if searched is None else f"{searched:,.0f}", f"{z:,.0f}", f"{100 * (z - base) / abs(base):+.1f} %",
                  f"{100 * (z - hand) / abs(hand):+.1f} %{reach}", str(n), sets)
    console.print(t)


if __name__ == "__main__":
    main()
