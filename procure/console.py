"""What a person sees in the terminal: every command's rendering, and the consoles it prints to.

Text from the input (names of minerals, suppliers, scenarios, periods, files) always goes through
:func:`escape` before it reaches rich: it is printed as written, never read as markup, and a control
character in it (an escape sequence that would retitle or clear the terminal) is shown as ``\x1b``,
never sent. ``cli`` parses options and calls the library; this module prints.

Tables (:func:`show`): a number is never broken across lines. Output that is not a terminal (a CI log,
a pipe) is printed at full width, never wrapped. On a terminal, a table whose numbers do not fit its
width is printed as one record per block instead: the row's first cell, then each other column as
``header: value`` on its own line.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

from procure import fmt
from procure.errors import Problem
from procure.solve import Status

PIPE_WIDTH = 100_000  # characters: output that is not a terminal is never wrapped (a CI log, a pipe)


def make_console(*, stderr: bool = False, **options):
    """A rich Console for procure's output: no highlighting and no emoji codes (``:warning:`` in a name
    stays that text); on a terminal, lines wrap between words; elsewhere nothing wraps (:data:`PIPE_WIDTH`).
    ``options`` go to rich (tests give ``file``, ``width``, ``force_terminal``)."""
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, emoji=False, **options)
    if not console.is_terminal and "width" not in options:
        console.width = PIPE_WIDTH
    console.soft_wrap = not console.is_terminal
    return console


class _VisibleFormatter(logging.Formatter):
    """Log lines with control characters shown (a scenario name in a solver step's label stays inert)."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record), lines=True)


class Context:
    """The run's consoles (stdout for results, stderr for problems) and its quiet and verbose settings."""

    def __init__(self, quiet: bool, verbose: bool, *, out=None, err=None):
        self.quiet = quiet
        self.verbose = verbose
        self._out, self._err = out, err
        if verbose:  # the solve steps (procure.solve) and anything else procure logs, on stderr
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(_VisibleFormatter("%(name)s: %(message)s"))
            logging.basicConfig(level=logging.INFO, handlers=[handler])

    # consoles are made on first use: a quiet run that prints nothing never imports rich's console
    @property
    def out(self):
        if self._out is None:
            self._out = make_console()
        return self._out

    @property
    def err(self):
        if self._err is None:
            self._err = make_console(stderr=True)
        return self._err

    def say(self, *args, **kwargs):
        if not self.quiet:
            self.out.print(*args, **kwargs)


def Table(*args, **kwargs):
    """rich's Table, imported when a table is printed."""
    from rich.table import Table as RichTable

    return RichTable(*args, **kwargs)


def add_columns(table, names, left=()) -> None:
    """Columns ``names`` of ``table``: those in ``left`` (names, labels) left-aligned and wrapped where they
    must be; the others right-aligned figures that never wrap (a number is never broken across lines)."""
    for name in names:
        if name in left:
            table.add_column(name, justify="left", overflow="fold")
        else:
            table.add_column(name, justify="right", no_wrap=True)


# C0 and C1 control characters, DEL, and the invisible format characters that reorder or hide text
# (bidirectional overrides and isolates, zero-width characters, the byte-order mark)
_FORMAT_CHARACTERS = r"\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_INVISIBLE_ALL = re.compile(r"[\x00-\x1f\x7f-\x9f" + _FORMAT_CHARACTERS + "]")
_INVISIBLE_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f" + _FORMAT_CHARACTERS + "]")  # tab, newline kept


def _code(match: re.Match) -> str:
    point = ord(match.group())
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"


def visible(text: object, *, lines: bool = False) -> str:
    """``text`` with every control and invisible format character written as its code (ESC as ``\\x1b``,
    a right-to-left override as ``\\u202e``); with ``lines``, line breaks and tabs are kept."""
    return (_INVISIBLE_BUT_LINES if lines else _INVISIBLE_ALL).sub(_code, str(text))


def escape(text: object, *, lines: bool = False) -> str:
    """Text from the input as rich must print it: shown as written, never read as markup (``[/]``,
    ``[red]``), with control characters made visible (:func:`visible`; ``lines``: keep line breaks,
    for a traceback)."""
    from rich.markup import escape as rich_escape

    return rich_escape(visible(text, lines=lines))


def _fits(console, table) -> bool:
    """Whether ``table`` fits ``console``'s width with every figure on one line: each no-wrap column as wide
    as its widest cell, each other column as its longest word, plus padding and rules."""
    from rich.text import Text

    def width(cell, whole: bool) -> int:
        text = cell if isinstance(cell, Text) else Text.from_markup(str(cell))
        words = text.plain.split() if not whole else [text.plain]
        return max((Text(w).cell_len for w in words), default=0)

    left, right = table.padding[3], table.padding[1]  # rich's padding: top, right, bottom, left
    total = 0
    for column in table.columns:
        cells = [column.header] if table.show_header else []
        cells += list(column.cells)
        total += max((width(c, column.no_wrap) for c in cells), default=0) + left + right
    if table.box is not None:
        total += len(table.columns) - 1 + (2 if table.show_edge else 0)
    return total <= console.width


def _print_records(console, table) -> None:
    """``table`` as one record per block: the first cell, then ``header: value`` per other column."""
    from rich.text import Text

    if table.title:
        console.print(table.title)
    columns = table.columns
    rows = zip(*[list(c.cells) for c in columns]) if columns else []
    for row in rows:
        if not table.show_header:
            console.print(Text.assemble(Text.from_markup(str(row[0])), ": ", *[
                Text.from_markup(str(cell)) for cell in row[1:]]))
            continue
        console.print(Text.from_markup(str(row[0])))
        for column, cell in zip(columns[1:], row[1:]):
            console.print(Text.assemble("  ", Text.from_markup(str(column.header)), ": ",
                                        Text.from_markup(str(cell))))


def show(ctx: Context, table) -> None:
    """Print ``table`` (unless quiet): whole when it fits or when output is not a terminal, else as one
    record per block (see the module's docstring)."""
    if ctx.quiet:
        return
    if not ctx.out.is_terminal or _fits(ctx.out, table):
        ctx.out.print(table)
    else:
        _print_records(ctx.out, table)


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
    ctx.say(f"[bold {colour}]{status}[/]  scenario {escape(js['scenario'])}  "
            f"solver {escape(js['solver'])}  {report.item('solve_time', 0):.2f} s")
    several = outcome.stochastic
    if js.get("spend") is not None:
        line = f"{'expected ' if several else ''}spend {fmt.usd(js['spend'])}"
        if report.item("budget_total") is not None:
            line += (f" ({fmt.share(report.item('budget_total_used'))} of the "
                     f"{fmt.usd(report.item('budget_total'))} budget)")
        if report.item("spend_first_period") is not None:
            line += (f";  committed in {escape(fmt.period(outcome.instance.periods[0]))} "
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
        ctx.say(f"{len(outcome.fan.scenarios)} scenarios, risk {escape(st['risk'])}; objective values (spend plus "
                f"penalties): RP {fmt.quantity(st['RP'])}  WS {fmt.quantity(st['WS'])}  "
                f"EEV {fmt.quantity(st['EEV'])}  EVPI {fmt.quantity(st['EVPI'])}  VSS {fmt.quantity(st['VSS'])}")
        if st["eev_reason"]:
            ctx.say(f"EEV: {escape(st['eev_reason'])}")
        view = Table(show_edge=False)
        add_columns(view, ("scenario", "probability", "spend", "shortfall value", "reserve released value"),
                    left=("scenario",))
        for name, figures in st["scenarios"].items():
            view.add_row(escape(name), fmt.share(figures["probability"], 0), fmt.usd(figures["spend"]),
                         fmt.usd(figures["shortfall_usd"]), fmt.usd(figures["reserve_released_usd"]))
        show(ctx, view)
    if report.findings:
        ctx.say("[bold]what binds[/]")
        for finding in report.findings[:10]:
            ctx.say(f"  - {escape(finding.sentence)}")
        if len(report.findings) > 10:
            ctx.say(f"  ... and {len(report.findings) - 10} more on the Summary sheet")
    if js["minerals"]:
        title = "per mineral, expected over scenarios" if several else None
        table = Table(show_edge=False, title=title)
        add_columns(table, ("mineral", "unit", "bought", "shortfall", "shortfall USD", "China share", "cap",
                            "reserve end"), left=("mineral", "unit"))
        caps = dict(zip(outcome.instance.mineral_keys, outcome.instance.china_cap))
        for key, (name, values) in zip(outcome.instance.mineral_keys, js["minerals"].items()):
            cap = caps[key]
            share = values["china_share"]
            over = share is not None and cap < 1 and share > cap + 1e-6
            table.add_row(escape(name), escape(values["unit"]), fmt.quantity(values["bought"]),
                          fmt.quantity(values["shortfall"]), fmt.usd(values["shortfall_usd"]),
                          ("[red]" if over else "") + fmt.share(share), fmt.share(cap) if cap < 1 else "-",
                          fmt.quantity(values["reserve_end"]))
        show(ctx, table)
    rules = report.tables.get("RuleCosts")
    if rules is not None and len(rules):
        table = Table(title="what each rule costs (with minus without) and each agreement saves "
                            "(unsigned minus signed)", show_edge=False)
        add_columns(table, ("item", "spend", "shortfall value", "objective"), left=("item",))
        for row in rules.to_dict("records"):
            table.add_row(escape(row["item"]), fmt.usd(row["spend_difference_usd"]),
                          fmt.usd(row["shortfall_value_difference_usd"]), fmt.usd(row["objective_difference"]))
        show(ctx, table)
        _say_unpriced(ctx, rules, outcome.options)
    if plan_path is not None:
        ctx.say(f"plan written to {escape(str(plan_path))}")


def _say_unpriced(ctx: Context, rules, options) -> None:
    """One line naming the rules and agreements ``--price-rules`` could not price (a '-' in the table), and
    why: the --time-limit ran out before their re-solves, or how those re-solves ended."""
    unpriced = [row for row in rules.to_dict("records")
                if any(part.strip() != Status.OPTIMAL for part in str(row["status"]).split("/"))]
    if not unpriced:
        return
    names = "; ".join(escape(row["item"]) for row in unpriced)
    out_of_time = options is not None and options.time_limit_s is not None and options.remaining_s() == 0
    if out_of_time:
        why = (f"the --time-limit of {options.time_limit_s:g} s ran out before their re-solves finished "
               "(a longer limit prices them)")
    else:
        why = "their re-solves ended " + ", ".join(sorted({escape(row["status"]) for row in unpriced}))
    ctx.say(f"[yellow]not priced[/] ({len(unpriced)}): {names}: {why}")


def frontier_summary(ctx: Context, points, out_path: Path) -> None:
    """The frontier, one row per cap."""
    if ctx.quiet:
        return
    view = Table(title="China-cap frontier", show_edge=False)
    add_columns(view, ("cap", "status", "spend", "shortfall value", "objective", "China share (value)",
                       "reserve days (min)"))
    for p in points:
        view.add_row(f"{p.cap:.0%}", escape(p.status), fmt.usd(p.spend_usd), fmt.usd(p.shortfall_value_usd),
                     fmt.quantity(p.objective), fmt.share(p.china_share),
                     "-" if p.reserve_days_min is None else f"{p.reserve_days_min:,.0f}")
    show(ctx, view)
    ctx.say(f"frontier written to {escape(str(out_path))}")


def budget_frontier_summary(ctx: Context, points, out_path: Path, stochastic: bool) -> None:
    """What each budget buys, one row per budget (USD; shortfall and reserve gap at reference prices)."""
    if ctx.quiet:
        return
    view = Table(title="what each budget buys (USD; shortfall and reserve gap at reference prices)",
                 show_edge=False)
    columns = ["budget", "status", "spend", "shortfall value"] + (["worst scenario"] if stochastic else []) + [
        "reserve gap value", "saved per extra $"]
    add_columns(view, columns, left=("status",))
    for p in points:
        row = [fmt.usd_compact(p.budget), str(p.status), fmt.usd_compact(p.spend_usd),
               fmt.usd_compact(p.shortfall_value_usd)]
        if stochastic:
            row.append(fmt.usd_compact(p.worst_shortfall_usd))
        row += [fmt.usd_compact(p.reserve_gap_value_usd), "-" if p.marginal is None else f"${p.marginal:,.2f}"]
        view.add_row(*row)
    show(ctx, view)
    ctx.say(f"budget frontier written to {escape(str(out_path))}")


def batch_summary(ctx: Context, rows: list[dict], base_name: str, out_dir: Path, stem: str) -> None:
    """One row per scenario of a batch, against the baseline."""
    if ctx.quiet:
        return
    view = Table(title=f"scenarios (baseline: {escape(base_name)})", show_edge=False)
    add_columns(view, ("scenario", "status", "spend", "vs baseline", "shortfall value", "vs baseline ",
                       "China share (value)", "budget used"), left=("scenario", "status"))
    for r in rows:
        view.add_row(escape(r["scenario"]), escape(r["status"]), fmt.usd(r.get("spend_usd")),
                     fmt.usd(r.get("spend_usd_vs_baseline")), fmt.usd(r.get("shortfall_usd")),
                     fmt.usd(r.get("shortfall_usd_vs_baseline")),
                     fmt.share(r.get("china_share")), fmt.share(r.get("budget_used")))
    show(ctx, view)
    ctx.say(f"comparison written to {escape(str(out_dir / (stem + '.xlsx')))}")


def diff_summary(ctx: Context, plan_a: Path, plan_b: Path, result) -> None:
    """What changed between two plans."""
    if ctx.quiet:
        return
    figures = Table(title=f"{escape(plan_a.name)} -> {escape(plan_b.name)}", show_edge=False)
    add_columns(figures, ("figure", "plan A", "plan B", "change"), left=("figure",))
    for r in result.figures.to_dict("records"):
        shown = {"china_share": fmt.share, "objective": fmt.quantity}.get(r["key"], fmt.usd)
        change = shown(r["change"])
        if r["key"] == "china_share":  # a change of a share is in percentage points, not a percentage
            change = "-" if r["change"] != r["change"] else f"{100 * r['change']:+.1f} pp"
        figures.add_row(r["figure"], shown(r["plan_a"]), shown(r["plan_b"]), change)
    show(ctx, figures)
    for note in result.notes:
        ctx.say(f"note: {escape(note)}")
    if result.moves.empty:
        ctx.say("no allocation moved")
    else:
        moves = Table(title="allocations that moved most (by value)", show_edge=False)
        add_columns(moves, ("supplier", "country", "mineral", "period", "unit", "before", "after", "change",
                            "value change"), left=("supplier", "country", "mineral", "period", "unit"))
        for r in result.moves.to_dict("records"):
            moves.add_row(escape(r["supplier"]), escape(r["country"]), escape(r["mineral"]),
                          escape(fmt.period(r["period"])), escape(r["unit"]), fmt.quantity(r["before"]),
                          fmt.quantity(r["after"]), ("+" if r["change"] > 0 else "") + fmt.quantity(r["change"]),
                          fmt.usd(r["value_change_usd"]))
        show(ctx, moves)


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
        add_columns(view, ("mineral", "draws short", "mean shortfall", "p95 shortfall", "mean shortfall value",
                           "mean reserve released"), left=("mineral",))
        for name, m in doc["minerals"].items():
            if m["mean"] is None:
                continue
            unit = escape(m["unit"])
            view.add_row(escape(name), fmt.share(m["p_shortfall"], 2), f"{fmt.quantity(m['mean'])} {unit}",
                         f"{fmt.quantity(m['p95'])} {unit}", fmt.usd(m["mean_usd"]),
                         f"{fmt.quantity(m['reserve_released_mean'])} {unit}")
        show(ctx, view)
        ctx.say(f"stress workbook written to {escape(str(out_path))}")
    by_reason: dict[str, list[int]] = {}
    for draw, why in (failures or {}).items():
        by_reason.setdefault(why, []).append(draw)
    for why, listed in by_reason.items():
        shown = ", ".join(str(d) for d in listed[:10]) + (", ..." if len(listed) > 10 else "")
        ctx.err.print(f"[yellow]warning[/]: {len(listed):,} draw(s) failed ({shown}): {escape(why)}")
