"""What a person sees in the terminal: every command's rendering, and the consoles it prints to.

Text from the input (names of minerals, suppliers, scenarios, files) is always
escaped before it reaches rich, so it is printed as written and never read as
markup. ``cli`` parses options and calls the library; this module prints.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from procure import fmt
from procure.errors import Problem
from procure.solve import Status


class Context:
    """The run's consoles (stdout for results, stderr for problems) and its quiet and verbose settings."""

    def __init__(self, quiet: bool, verbose: bool):
        self.quiet = quiet
        self.verbose = verbose
        self._out = self._err = None
        if verbose:  # the solve steps (procure.solve) and anything else procure logs, on stderr
            logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)

    # consoles are made on first use: a quiet run that prints nothing never imports rich's console
    @property
    def out(self):
        if self._out is None:
            from rich.console import Console

            self._out = Console(highlight=False, soft_wrap=True)
        return self._out

    @property
    def err(self):
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._err

    def say(self, *args, **kwargs):
        if not self.quiet:
            self.out.print(*args, **kwargs)


def Table(*args, **kwargs):
    """rich's Table, imported when a table is printed."""
    from rich.table import Table as RichTable

    return RichTable(*args, **kwargs)


def escape(text: str) -> str:
    """Text from the input, printed as written (never read as rich markup)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def print_problems(ctx: Context, problems: list[Problem], warnings: list[Problem]) -> None:
    """Every problem (errors always, warnings unless quiet), on stderr."""
    for problem in problems:
        ctx.err.print(f"[bold red]error[/]: {escape(str(problem))}")
    if not ctx.quiet:
        for warning in warnings:
            ctx.err.print(f"[yellow]warning[/]: {escape(str(warning))}")


class progress:
    """A rich progress bar on a terminal; nothing when piped or quiet. Yields an ``advance()`` callable."""

    def __init__(self, ctx: Context, label: str, total: int):
        self.ctx, self.label, self.total = ctx, label, total
        self.bar = None

    def __enter__(self):
        if self.ctx.quiet or not self.ctx.err.is_terminal:
            return lambda: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn(self.label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=self.ctx.err, transient=True)
        self.bar.start()
        task = self.bar.add_task(self.label, total=self.total)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def plan_summary(ctx: Context, outcome, report, plan_path: Path | None) -> None:
    """One screen: status, spend, shortfall value, what binds, and per mineral (in its unit) what was bought."""
    js = report.json
    status = outcome.status
    colour = {Status.OPTIMAL: "green", Status.INFEASIBLE: "red", Status.NOT_SOLVED: "yellow"}[status]
    if status == Status.INFEASIBLE:
        ctx.err.print(f"[bold red]infeasible[/]: {escape(outcome.solution.message)}; "
                      "the constraints below would have to be relaxed:")
        relax = report.tables.get("Relaxations")
        if relax is not None:
            for row in relax.to_dict("records"):
                ctx.err.print(f"  - {escape(row['constraint'])}: {escape(row['meaning'])}")
        if relax is None or relax.empty:
            ctx.err.print("  (the relaxed model needed no slack above the solver's tolerance: the conflict lies in "
                          "coefficients too small for it to see; look for tiny shares, prices or scores)")
    elif status == Status.NOT_SOLVED:
        ctx.err.print(f"[yellow]not optimal[/]: {escape(outcome.solution.message)}")
    if ctx.quiet:
        return
    ctx.say(f"[bold {colour}]{status}[/]  scenario {escape(str(js['scenario']))}  "
            f"solver {js['solver']}  {report.item('solve_time', 0):.2f} s")
    several = outcome.stochastic
    if js.get("spend") is not None:
        line = f"{'expected ' if several else ''}spend {fmt.usd(js['spend'])}"
        if report.item("budget_total") is not None:
            line += (f" ({fmt.share(report.item('budget_total_used'))} of the "
                     f"{fmt.usd(report.item('budget_total'))} budget)")
        if report.item("spend_first_period") is not None:
            line += (f";  committed in {fmt.period(outcome.instance.periods[0])} "
                     f"{fmt.usd(report.item('spend_first_period'))}")
        ctx.say(line)
        ctx.say(f"{'expected ' if several else ''}shortfall value {fmt.usd(js['shortfall_usd'])} at reference "
                f"prices;  China share {fmt.share(js['china_share'])} of purchases by value")
        ctx.say(f"objective {fmt.quantity(round(js['objective']))} (spend plus penalty terms; the penalties are "
                "not spend)")
    elif report.item("plan_shown"):
        ctx.say("the plan written is the relaxed plan of the infeasibility report")
    if several and "stochastic" in js and outcome.solution.has_plan:
        st = js["stochastic"]
        ctx.say(f"{len(outcome.fan.scenarios)} scenarios, risk {st['risk']}; objective values (spend plus "
                f"penalties): RP {fmt.quantity(st['RP'])}  WS {fmt.quantity(st['WS'])}  "
                f"EEV {fmt.quantity(st['EEV'])}  EVPI {fmt.quantity(st['EVPI'])}  VSS {fmt.quantity(st['VSS'])}")
        if st["eev_reason"]:
            ctx.say(f"EEV: {escape(st['eev_reason'])}")
        view = Table(show_edge=False)
        for column in ("scenario", "probability", "spend", "shortfall value", "reserve released value"):
            view.add_column(column, justify="left" if column == "scenario" else "right", overflow="fold")
        for name, figures in st["scenarios"].items():
            view.add_row(escape(name), fmt.share(figures["probability"], 0), fmt.usd(figures["spend"]),
                         fmt.usd(figures["shortfall_usd"]), fmt.usd(figures["reserve_released_usd"]))
        ctx.say(view)
    if report.findings:
        ctx.say("[bold]what binds[/]")
        for finding in report.findings[:10]:
            ctx.say(f"  - {escape(finding.sentence)}")
        if len(report.findings) > 10:
            ctx.say(f"  ... and {len(report.findings) - 10} more on the Summary sheet")
    if js["minerals"]:
        title = "per mineral, expected over scenarios" if several else None
        table = Table(show_edge=False, title=title)
        for column in ("mineral", "unit", "bought", "shortfall", "shortfall USD", "China share", "cap",
                       "reserve end"):
            table.add_column(column, justify="left" if column in ("mineral", "unit") else "right",
                             overflow="fold")
        caps = dict(zip(outcome.instance.mineral_keys, outcome.instance.china_cap))
        for key, (name, values) in zip(outcome.instance.mineral_keys, js["minerals"].items()):
            cap = caps[key]
            share = values["china_share"]
            over = share is not None and cap < 1 and share > cap + 1e-6
            table.add_row(escape(name), escape(values["unit"]), fmt.quantity(values["bought"]),
                          fmt.quantity(values["shortfall"]), fmt.usd(values["shortfall_usd"]),
                          ("[red]" if over else "") + fmt.share(share), fmt.share(cap) if cap < 1 else "-",
                          fmt.quantity(values["reserve_end"]))
        ctx.say(table)
    rules = report.tables.get("RuleCosts")
    if rules is not None and len(rules):
        table = Table(title="what each rule costs (with minus without) and each agreement saves "
                            "(unsigned minus signed)", show_edge=False)
        for column in ("item", "spend", "shortfall value", "objective"):
            table.add_column(column, justify="left" if column == "item" else "right", overflow="fold")
        for row in rules.to_dict("records"):
            table.add_row(escape(row["item"]), fmt.usd(row["spend_difference_usd"]),
                          fmt.usd(row["shortfall_value_difference_usd"]), fmt.usd(row["objective_difference"]))
        ctx.say(table)
    if plan_path is not None:
        ctx.say(f"plan written to {escape(str(plan_path))}")


def frontier_summary(ctx: Context, points, out_path: Path) -> None:
    """The frontier, one row per cap."""
    if ctx.quiet:
        return
    view = Table(title="China-cap frontier", show_edge=False)
    for column in ("cap", "status", "spend", "shortfall value", "objective", "China share (value)",
                   "reserve days (min)"):
        view.add_column(column, justify="right", overflow="fold")
    for p in points:
        view.add_row(f"{p.cap:.0%}", p.status, fmt.usd(p.spend_usd), fmt.usd(p.shortfall_value_usd),
                     fmt.quantity(p.objective), fmt.share(p.china_share),
                     "-" if p.reserve_days_min is None else f"{p.reserve_days_min:,.0f}")
    ctx.say(view)
    ctx.say(f"frontier written to {escape(str(out_path))}")


def batch_summary(ctx: Context, rows: list[dict], base_name: str, out_dir: Path, stem: str) -> None:
    """One row per scenario of a batch, against the baseline."""
    if ctx.quiet:
        return
    view = Table(title=f"scenarios (baseline: {escape(base_name)})", show_edge=False)
    for column in ("scenario", "status", "spend", "vs baseline", "shortfall value", "vs baseline ",
                   "China share (value)", "budget used"):
        view.add_column(column, justify="left" if column in ("scenario", "status") else "right",
                        overflow="fold")
    for r in rows:
        view.add_row(escape(str(r["scenario"])), r["status"], fmt.usd(r.get("spend_usd")),
                     fmt.usd(r.get("spend_usd_vs_baseline")), fmt.usd(r.get("shortfall_usd")),
                     fmt.usd(r.get("shortfall_usd_vs_baseline")),
                     fmt.share(r.get("china_share")), fmt.share(r.get("budget_used")))
    ctx.say(view)
    ctx.say(f"comparison written to {escape(str(out_dir / (stem + '.xlsx')))}")


def diff_summary(ctx: Context, plan_a: Path, plan_b: Path, result) -> None:
    """What changed between two plans."""
    if ctx.quiet:
        return
    figures = Table(title=f"{escape(plan_a.name)} -> {escape(plan_b.name)}", show_edge=False)
    for column in ("figure", "plan A", "plan B", "change"):
        figures.add_column(column, justify="left" if column == "figure" else "right", overflow="fold")
    for r in result.figures.to_dict("records"):
        shown = {"china_share": fmt.share, "objective": fmt.quantity}.get(r["key"], fmt.usd)
        figures.add_row(r["figure"], shown(r["plan_a"]), shown(r["plan_b"]), shown(r["change"]))
    ctx.say(figures)
    for note in result.notes:
        ctx.say(f"note: {escape(note)}")
    if result.moves.empty:
        ctx.say("no allocation moved")
    else:
        moves = Table(title="allocations that moved most (by value)", show_edge=False)
        for column in ("supplier", "country", "mineral", "period", "unit", "before", "after", "change",
                       "value change"):
            moves.add_column(column, overflow="fold",
                             justify="right" if column in ("before", "after", "change", "value change")
                             else "left")
        for r in result.moves.to_dict("records"):
            moves.add_row(escape(str(r["supplier"])), escape(str(r["country"])), escape(str(r["mineral"])),
                          fmt.period(r["period"]), escape(str(r["unit"])), fmt.quantity(r["before"]),
                          fmt.quantity(r["after"]), ("+" if r["change"] > 0 else "") + fmt.quantity(r["change"]),
                          fmt.usd(r["value_change_usd"]))
        ctx.say(moves)


def stress_summary(ctx: Context, draws: int, seed: int, result, out_path: Path, failures=None) -> None:
    """The stress test's headline and per-mineral figures, each quantity with its unit; then the failed
    draws (on stderr, even when quiet), grouped by reason. Under full foresight every figure is said to be
    an optimistic bound."""
    doc = result.json
    full = doc.get("foresight") == "full"
    if not ctx.quiet:
        total, spend = doc["total_shortfall_usd"], doc["spend_usd"]
        ctx.say(f"{draws:,} draws, seed {seed}, committed through {escape(doc['commit_through'])}, foresight "
                f"{doc['foresight']}: {len(doc['failed_draws'])} failed")
        if full:
            ctx.say("[bold]full foresight: each draw knows its whole future, so every figure below is an "
                    "optimistic bound[/]")
        if total["mean"] is not None:
            ctx.say(f"total shortfall value per draw: mean {fmt.usd(total['mean'])} (95% interval "
                    f"{fmt.usd(total['mean_ci95'][0])} to {fmt.usd(total['mean_ci95'][1])})  p95 "
                    f"{fmt.usd(total['p95'])}  CVaR95 {fmt.usd(total['cvar95'])}")
            ctx.say(f"spend per draw (committed plus recourse): mean {fmt.usd(spend['mean'])}  p5 "
                    f"{fmt.usd(spend['p5'])}  p50 {fmt.usd(spend['p50'])}  p95 {fmt.usd(spend['p95'])}")
        view = Table(show_edge=False)
        for column in ("mineral", "draws short", "mean shortfall", "p95 shortfall", "mean shortfall value",
                       "mean reserve released"):
            view.add_column(column, justify="left" if column == "mineral" else "right")
        for name, m in doc["minerals"].items():
            if m["mean"] is None:
                continue
            unit = escape(m["unit"])
            view.add_row(escape(name), fmt.share(m["p_shortfall"], 2), f"{fmt.quantity(m['mean'])} {unit}",
                         f"{fmt.quantity(m['p95'])} {unit}", fmt.usd(m["mean_usd"]),
                         f"{fmt.quantity(m['reserve_released_mean'])} {unit}")
        ctx.say(view)
        ctx.say(f"stress workbook written to {escape(str(out_path))}")
    by_reason: dict[str, list[int]] = {}
    for draw, why in (failures or {}).items():
        by_reason.setdefault(why, []).append(draw)
    for why, listed in by_reason.items():
        shown = ", ".join(str(d) for d in listed[:10]) + (", ..." if len(listed) > 10 else "")
        ctx.err.print(f"[yellow]warning[/]: {len(listed):,} draw(s) failed ({shown}): {escape(why)}")
