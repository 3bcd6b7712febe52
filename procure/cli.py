"""The ``procure`` command line (Typer): parse options, call the library, map errors to exit codes.

Exit codes (CLI.md): 0 optimal, plan written; 1 input problems; 2 infeasible
(relaxation report printed and written); 3 solver stopped without a proven
plan; 4 a ``batch --fail-on`` condition met. No traceback reaches a user
unless ``--verbose``.
"""

from __future__ import annotations

import logging
import sys
import traceback
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer

from procure import fmt
from procure.errors import InputError, Problem, ProcureError

app = typer.Typer(
    name="procure",
    help="Least-cost critical-mineral procurement plans from an Excel workbook.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NOT_SOLVED, EXIT_FAIL_ON, EXIT_INTERNAL = 0, 1, 2, 3, 4, 5
STATUS_EXIT = {"optimal": EXIT_OK, "infeasible": EXIT_INFEASIBLE, "not_solved": EXIT_NOT_SOLVED}

SolverOpt = Annotated[str, typer.Option("--solver", help="highs (default, in-process) or any solver "
                                                         "`procure solvers` lists (cbc, glpk, gurobi...).")]
TimeLimitOpt = Annotated[Optional[float], typer.Option("--time-limit", min=0.0,
                                                       help="Wall-clock limit of the whole command, every "
                                                            "re-solve included (seconds).")]
GapOpt = Annotated[float, typer.Option("--gap", min=0.0, max=1.0,
                                       help="Relative MIP gap for models with agreements.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Solver log and full tracebacks.")]
ModelOpt = Annotated[Optional[Path], typer.Option("--model", "-m", help="Scenario file (models/*.toml).")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Demand must be met in full (no shortfall).")]


def _show_version(value: bool) -> None:
    if value:
        import procure

        print(f"procure {procure.__version__}")
        raise typer.Exit(0)


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Least-cost critical-mineral procurement plans from an Excel workbook."""


@dataclass(frozen=True)
class RunOptions:
    """The options every solving command shares (solve, frontier, batch)."""

    solver: str = "highs"
    time_limit: float | None = None
    gap: float = 1e-6
    strict: bool = False
    quiet: bool = False
    verbose: bool = False

    def solve_options(self):
        """The library's SolveOptions, the solver name checked here once, the deadline started now."""
        from procure.pulp_model import check_solver
        from procure.solve import SolveOptions

        return SolveOptions(solver=check_solver(self.solver), time_limit_s=self.time_limit, gap=self.gap,
                            verbose=self.verbose).started()


class _Context:
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


def _print_problems(ctx: _Context, problems: list[Problem], warnings: list[Problem]) -> None:
    for problem in problems:
        ctx.err.print(f"[bold red]error[/]: {_escape(str(problem))}")
    if not ctx.quiet:
        for warning in warnings:
            ctx.err.print(f"[yellow]warning[/]: {_escape(str(warning))}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _run(quiet: bool, verbose: bool, body) -> None:
    """Run ``body(ctx)``, mapping every failure to its exit code and a message; a traceback only with --verbose."""
    ctx = _Context(quiet, verbose)
    try:
        code = body(ctx)
    except InputError as exc:
        _print_problems(ctx, exc.problems, exc.warnings)
        ctx.err.print(f"[bold red]{_escape(str(exc))}[/]")
        code = EXIT_INPUT
    except ProcureError as exc:
        ctx.err.print(f"[bold red]error[/]: {_escape(str(exc))}")
        code = exc.exit_code
    except KeyboardInterrupt:
        ctx.err.print("interrupted; no plan was written")
        code = 130
    except Exception as exc:  # a bug: say so plainly, show the traceback only when asked
        if ctx.verbose:
            ctx.err.print(_escape(traceback.format_exc()))
        ctx.err.print(f"[bold red]internal error[/]: {_escape(f'{type(exc).__name__}: {exc}')} "
                      "(a bug in procure; run with --verbose for details and please report it)")
        code = EXIT_INTERNAL
    raise typer.Exit(code or 0)


def default_plan_path(workbook: Path, scenario: str) -> Path:
    from procure.paths import default_output_path

    return default_output_path(workbook, scenario)


def _safe_stem(text: str) -> str:
    from procure.paths import safe_stem

    return safe_stem(text)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to write the starter project.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Write a starter project: inputs/sample.xlsx (reserve program), inputs/imports.xlsx, models/*.toml."""
    _run(quiet, verbose, lambda ctx: _init(ctx, directory, force))


def _init(ctx: _Context, directory: Path, force: bool) -> int:
    from procure.starter import write_starter

    written = write_starter(directory, force=force)
    for path in written:
        ctx.say(f"wrote {_escape(str(path))}")
    ctx.say(f"next: procure solve {_escape(str(directory / 'inputs' / 'sample.xlsx'))} (the reserve program),"
            f" or procure solve {_escape(str(directory / 'inputs' / 'imports.xlsx'))}"
            f" --model {_escape(str(directory / 'models' / 'china-export-controls.toml'))}")
    return EXIT_OK


@app.command()
def validate(
    workbook: Annotated[Path, typer.Argument(help="The input workbook (.xlsx).")],
    model: ModelOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> int:
    """Read and check a workbook (and scenario); print every problem and a summary of the problem's size."""
    _run(quiet, verbose, lambda ctx: _validate(ctx, workbook, model))


def _validate(ctx: _Context, workbook: Path, model: Path | None) -> int:
    from procure.data import OfferKind
    from procure.instance import build_instance
    from procure.pipeline import load
    from procure.risks import has_risks_sheet, read_risks
    from procure.stochastic import load_stochastic
    from procure.workbook import read_workbook

    raw = read_workbook(workbook)
    problems: list[Problem] = []
    try:  # the Scenarios and Shocks sheets are checked too...
        data, scenarios = load_stochastic(workbook, model, raw=raw)
    except InputError as exc:
        problems += exc.problems + exc.warnings
        data, scenarios = load(workbook, model, raw=raw), []  # raises when the plan's own sheets are wrong
    events = []
    if has_risks_sheet(raw):  # ...and the Risks sheet, all reported at once
        try:
            events = read_risks(raw, data)
        except InputError as exc:
            problems += exc.problems + exc.warnings
    if any(p.severity == "error" for p in problems):
        raise InputError(problems + data.warnings)
    _print_problems(ctx, [], data.warnings)
    inst = build_instance(data)
    table = Table(title=f"{workbook.name}: valid", show_header=False)
    table.add_row("scenario", data.policy.scenario)
    table.add_row("minerals", str(len(data.minerals)))
    table.add_row("periods", f"{len(data.periods)} ({data.periods[0]} .. {data.periods[-1]})")
    table.add_row("offers", f"{len(data.offers)} ({len(inst.excluded)} excluded)")
    table.add_row("optional agreements", str(int((inst.offer_kind == OfferKind.OPTIONAL).sum())))
    table.add_row("purchase variables", f"{inst.n_offer_periods:,}")
    if scenarios:
        table.add_row("scenarios (stochastic plan)", ", ".join(s.name for s in scenarios))
    if events:
        table.add_row("risk events (for procure stress)", str(len(events)))
    table.add_row("warnings", str(len(data.warnings)))
    ctx.say(table)
    return EXIT_OK


@app.command()
def solve(
    workbook: Annotated[Optional[Path],
                        typer.Argument(help="The input workbook; the bundled sample if omitted.")] = None,
    model: ModelOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Plan path (.xlsx).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Also write the results as JSON.")] = None,
    strict: StrictOpt = False,
    price_rules: Annotated[bool, typer.Option("--price-rules", help="Price each active policy rule by "
                                                                     "re-solving without it.")] = False,
    solver: SolverOpt = "highs",
    time_limit: TimeLimitOpt = None,
    gap: GapOpt = 1e-6,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    scenario_files: Annotated[Optional[list[Path]], typer.Option(
        "--scenario", help="A scenario of a stochastic plan (TOML with probability); repeat for each.")] = None,
) -> int:
    """Solve a workbook and write the plan (the main job)."""
    run = RunOptions(solver, time_limit, gap, strict, quiet, verbose)
    _run(quiet, verbose, lambda ctx: _solve(ctx, run, workbook, model, output, json_path, price_rules,
                                            scenario_files or []))


def _solve(ctx: _Context, run: RunOptions, workbook, model, output, json_path, price_rules, scenario_files) -> int:
    from procure.paths import check_json_path, check_output_path
    from procure.pipeline import optimize
    from procure.stochastic import load_stochastic

    options = run.solve_options()
    if workbook is None:
        from procure.starter import bundled_sample

        workbook = bundled_sample()
    inputs = [workbook] + ([model] if model else []) + list(scenario_files)
    data, scenarios = load_stochastic(workbook, model, scenario_files)  # scenarios: [] unless stochastic
    _print_problems(ctx, [], data.warnings)
    plan_path = check_output_path(output or default_plan_path(workbook, data.policy.scenario), inputs)
    if json_path is not None:
        check_json_path(json_path, inputs)
    if scenarios:
        if price_rules:
            raise ProcureError("--price-rules is not available for a stochastic plan (Scenarios sheet or --scenario)")
        return _solve_stochastic(ctx, data, scenarios, options, run.strict, workbook, plan_path, json_path)
    with ctx.out.status("solving", spinner="dots") if (not ctx.quiet and ctx.out.is_terminal) else nullcontext():
        outcome = optimize(data, options, strict=run.strict)
    from procure.plan import write_json, write_plan
    from procure.report import build_report

    rule_costs = agreement_values = None
    if price_rules and outcome.solution.has_plan:
        from procure.analysis import agreement_values as value_each_agreement, price_rules as price_each_rule

        rule_costs, agreement_values = price_each_rule(outcome), value_each_agreement(outcome)
    report = build_report(outcome, input_name=workbook.name, rule_costs=rule_costs,
                          agreement_values=agreement_values)
    written = outcome.solution.has_plan or outcome.status == "infeasible"
    if written:
        write_plan(report, plan_path)
    if json_path is not None:
        write_json(report.json, json_path)
    _print_summary(ctx, outcome, report, plan_path if written else None)
    return STATUS_EXIT[outcome.status]


def _solve_stochastic(ctx: _Context, data, scenarios, options, strict, workbook, plan_path, json_path) -> int:
    """A stochastic plan (STOCKPILE.md): one program over the scenario fan, its measures, its sheets."""
    from procure import stochastic_report
    from procure.plan import write_json, write_tables
    from procure.stochastic import optimize_stochastic

    with ctx.out.status("solving", spinner="dots") if (not ctx.quiet and ctx.out.is_terminal) else nullcontext():
        outcome = optimize_stochastic(data, scenarios, options, strict=strict)
    tables, summary, document = stochastic_report.plan(outcome, input_name=workbook.name, input_sha256=data.sha256)
    written = outcome.solution.has_plan or outcome.status == "infeasible"
    if written:
        write_tables(plan_path, tables, summary=summary)
    if json_path is not None:
        write_json(document, json_path)
    if outcome.status == "infeasible":
        ctx.err.print(f"[bold red]infeasible[/]: {_escape(outcome.solution.message)}; "
                      "the constraints below would have to be relaxed:")
        for row in tables.get("Relaxations", []).to_dict("records") if "Relaxations" in tables else []:
            ctx.err.print(f"  - {row['constraint']}: {_escape(row['meaning'])}")
    elif outcome.status == "not_solved":
        ctx.err.print(f"[yellow]not optimal[/]: {_escape(outcome.solution.message)}")
    if not ctx.quiet and outcome.solution.has_plan:
        st = document["stochastic"]
        ctx.say(f"[bold green]{outcome.status}[/]  stochastic, {len(scenarios)} scenarios, risk {st['risk']}  "
                f"RP {fmt.usd(st['RP'])}  WS {fmt.usd(st['WS'])}  EEV {fmt.usd(st['EEV'])}  "
                f"EVPI {fmt.usd(st['EVPI'])}  VSS {fmt.usd(st['VSS'])}")
        if st["eev_reason"]:
            ctx.say(f"EEV: {_escape(st['eev_reason'])}")
        ctx.say(f"expected spend {fmt.usd(document['spend'])};  expected shortfall value "
                f"{fmt.usd(document['shortfall_usd'])} at reference prices (RP and the scenario costs include "
                "penalties, which are not spend)")
        table = Table(show_edge=False)
        for column in ("scenario", "probability", "spend", "shortfall value", "reserve released", "cost"):
            table.add_column(column, justify="left" if column == "scenario" else "right", overflow="fold")
        for name, figures in st["scenarios"].items():
            table.add_row(_escape(name), fmt.share(figures["probability"], 0), fmt.usd(figures["spend"]),
                          fmt.usd(figures["shortfall_usd"]), fmt.usd(figures["reserve_released_usd"]),
                          fmt.usd(figures["cost"]))
        ctx.say(table)
    if written and not ctx.quiet:
        ctx.say(f"plan written to {_escape(str(plan_path))}")
    return STATUS_EXIT[outcome.status]


@app.command()
def frontier(
    workbook: Annotated[Path, typer.Argument(help="The input workbook (.xlsx).")],
    caps: Annotated[str, typer.Option("--caps", help="start:stop:step (inclusive) or a list, e.g. 0,0.1,0.5.")]
    = "0:1:0.05",
    model: ModelOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Frontier workbook (.xlsx).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Also write the points as JSON.")] = None,
    strict: StrictOpt = False,
    solver: SolverOpt = "highs",
    time_limit: TimeLimitOpt = None,
    gap: GapOpt = 1e-6,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Solve once per China cap applied to every mineral: cost, shortfall and exposure against the cap."""
    run = RunOptions(solver, time_limit, gap, strict, quiet, verbose)
    _run(quiet, verbose, lambda ctx: _frontier(ctx, run, workbook, caps, model, output, json_path))


def _frontier(ctx: _Context, run: RunOptions, workbook, caps, model, output, json_path) -> int:
    import dataclasses

    import pandas as pd

    from procure.analysis import frontier as solve_frontier, parse_caps
    from procure.instance import build_instance
    from procure.paths import check_output_path
    from procure.pipeline import load
    from procure.plan import write_frontier, write_json

    try:
        cap_values = parse_caps(caps)
    except ValueError as exc:
        raise ProcureError(str(exc)) from None
    data = load(workbook, model)
    _print_problems(ctx, [], data.warnings)
    suffix = "" if data.policy.scenario in ("", "base") else f"-{_safe_stem(data.policy.scenario)}"
    out_path = check_output_path(output or Path("outputs") / f"{workbook.stem}{suffix}-frontier.xlsx",
                                 [workbook] + ([model] if model else []))
    options = run.solve_options()
    instance = build_instance(data)
    with _progress(ctx, "frontier", len(cap_values)) as advance:
        points = solve_frontier(instance, cap_values, options, run.strict, progress=lambda cap: advance())
    table = pd.DataFrame([dataclasses.asdict(p) for p in points])
    write_frontier(table, out_path, f"China-cap frontier: {data.policy.scenario}")
    if json_path is not None:
        write_json({"scenario": data.policy.scenario, "points": table.astype(object).where(table.notna(), None)
                    .to_dict("records")}, json_path)
    if not ctx.quiet:
        view = Table(title="China-cap frontier", show_edge=False)
        for column in ("cap", "status", "spend", "shortfall value", "objective", "China share (value)",
                       "reserve days (min)"):
            view.add_column(column, justify="right", overflow="fold")
        for p in points:
            view.add_row(f"{p.cap:.0%}", p.status, fmt.usd(p.spend_usd), fmt.usd(p.shortfall_value_usd),
                         fmt.usd(p.objective_usd), fmt.share(p.china_share),
                         "-" if p.reserve_days_min is None else f"{p.reserve_days_min:,.0f}")
        ctx.say(view)
        ctx.say(f"frontier written to {_escape(str(out_path))}")
    return EXIT_OK if all(p.status != "not_solved" for p in points) else EXIT_NOT_SOLVED


@app.command()
def batch(
    workbook: Annotated[Path, typer.Argument(help="The input workbook (.xlsx).")],
    models: Annotated[list[Path], typer.Argument(help="Scenario files (models/*.toml).")],
    out_dir: Annotated[Path, typer.Option("--output", "-o", help="Folder for the plans and the comparison.")]
    = Path("outputs"),
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Scenarios solved in parallel, on a "
                                          "local Dask cluster of this many processes.")] = 1,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="An existing Dask scheduler "
                                                     "(tcp://host:8786) to run the scenarios on.")] = None,
    baseline: Annotated[Optional[str], typer.Option("--baseline", help="The scenario the others are compared "
                                                   "with (default: one named 'baseline', else the first).")] = None,
    fail_on: Annotated[str, typer.Option("--fail-on", help="Exit 4 when any scenario meets one of: "
                                          "shortfall, infeasible, not_optimal, budget, error.")] = "",
    strict: StrictOpt = False,
    solver: SolverOpt = "highs",
    time_limit: TimeLimitOpt = None,
    gap: GapOpt = 1e-6,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """One plan per scenario plus a comparison workbook and JSON; gate CI with --fail-on."""
    run = RunOptions(solver, time_limit, gap, strict, quiet, verbose)
    _run(quiet, verbose, lambda ctx: _batch(ctx, run, workbook, models, out_dir, workers, scheduler, baseline,
                                            fail_on))


def _batch(ctx: _Context, run: RunOptions, workbook, models, out_dir, workers, scheduler, baseline, fail_on) -> int:
    import pandas as pd

    from procure.batch import FAIL_CONDITIONS, Job, compare, failures, run_batch
    from procure.paths import check_output_path
    from procure.plan import write_json, write_tables

    conditions = [c.strip() for c in fail_on.split(",") if c.strip()]
    unknown = [c for c in conditions if c not in FAIL_CONDITIONS]
    if unknown:
        raise ProcureError(f"--fail-on: unknown condition {', '.join(unknown)}; expected any of: "
                           + ", ".join(FAIL_CONDITIONS))
    options = run.solve_options()
    if not workbook.is_file():
        raise ProcureError(f"{workbook}: no such workbook")
    jobs = [Job(workbook, model, out_dir, options, run.strict) for model in models]
    with _progress(ctx, "batch", len(jobs)) as advance:
        rows, base_name = compare(run_batch(jobs, workers, progress=lambda row: advance(), scheduler=scheduler),
                                  baseline)
    comparison = pd.DataFrame([{k: v for k, v in r.items() if k != "traceback"} for r in rows])
    stem = f"{workbook.stem}-comparison"
    write_tables(check_output_path(out_dir / f"{stem}.xlsx", [workbook] + list(models)),
                 {"Comparison": comparison})
    met = failures(rows, conditions)
    write_json({"workbook": str(workbook), "baseline": base_name, "scenarios": rows, "fail_on": conditions,
                "failed": met},
               out_dir / f"{stem}.json")
    if not ctx.quiet:
        view = Table(title=f"scenarios (baseline: {_escape(base_name)})", show_edge=False)
        for column in ("scenario", "status", "spend", "vs baseline", "shortfall value", "vs baseline ",
                       "China share (value)", "budget used"):
            view.add_column(column, justify="left" if column in ("scenario", "status") else "right",
                            overflow="fold")
        for r in rows:
            view.add_row(_escape(str(r["scenario"])), r["status"], fmt.usd(r.get("spend_usd")),
                         fmt.usd(r.get("spend_usd_vs_baseline")), fmt.usd(r.get("shortfall_usd")),
                         fmt.usd(r.get("shortfall_usd_vs_baseline")),
                         fmt.share(r.get("china_share")), fmt.share(r.get("budget_used")))
        ctx.say(view)
        ctx.say(f"comparison written to {_escape(str(out_dir / (stem + '.xlsx')))}")
    for r in rows:
        if r["status"] == "error":
            ctx.err.print(f"[bold red]error[/] in {_escape(str(r['scenario']))}: {_escape(r.get('message', ''))}")
            if ctx.verbose and r.get("traceback"):
                ctx.err.print(_escape(r["traceback"]))
    if met:
        for line in met:
            ctx.err.print(f"[bold red]fail-on[/]: {_escape(line)}")
        return EXIT_FAIL_ON
    return EXIT_INPUT if any(r["status"] == "error" for r in rows) else EXIT_OK


@app.command()
def diff(
    plan_a: Annotated[Path, typer.Argument(help="The earlier plan (.xlsx written by procure).")],
    plan_b: Annotated[Path, typer.Argument(help="The later plan.")],
    top: Annotated[int, typer.Option("--top", min=1, help="How many moved allocations to show.")] = 20,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the differences as JSON.")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the differences as .xlsx.")]
    = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """What changed between two plans: cost, spend, shortfall, China share, and the allocations that moved most."""
    _run(quiet, verbose, lambda ctx: _diff(ctx, plan_a, plan_b, top, json_path, output))


def _diff(ctx, plan_a, plan_b, top, json_path, output) -> int:
    from procure.diff import diff_plans
    from procure.paths import check_output_path
    from procure.plan import write_json, write_tables

    result = diff_plans(plan_a, plan_b, top)
    if json_path is not None:
        write_json(result.to_json(), json_path)
    if output is not None:
        write_tables(check_output_path(output, [plan_a, plan_b]), {"Figures": result.figures, "Moves": result.moves})
    if not ctx.quiet:
        figures = Table(title=f"{_escape(plan_a.name)} -> {_escape(plan_b.name)}", show_edge=False)
        for column in ("figure", "plan A", "plan B", "change"):
            figures.add_column(column, justify="left" if column == "figure" else "right", overflow="fold")
        for r in result.figures.to_dict("records"):
            shown = fmt.share if "share" in r["figure"] else fmt.usd
            figures.add_row(r["figure"], shown(r["plan_a"]), shown(r["plan_b"]), shown(r["change"]))
        ctx.say(figures)
        for note in result.notes:
            ctx.say(f"note: {_escape(note)}")
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
                moves.add_row(_escape(str(r["supplier"])), _escape(str(r["country"])), _escape(str(r["mineral"])),
                              fmt.period(r["period"]), _escape(str(r["unit"])), fmt.quantity(r["before"]),
                              fmt.quantity(r["after"]), ("+" if r["change"] > 0 else "") + fmt.quantity(r["change"]),
                              fmt.usd(r["value_change_usd"]))
            ctx.say(moves)
    return EXIT_OK


class _progress:
    """A rich progress bar on a terminal; nothing when piped or quiet. Yields an ``advance()`` callable."""

    def __init__(self, ctx: _Context, label: str, total: int):
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


def _print_summary(ctx: _Context, outcome, report, plan_path: Path | None) -> None:
    """One screen: status, spend, shortfall value, what binds, and per mineral (in its unit) what was bought."""
    js = report.json
    status = outcome.status
    colour = {"optimal": "green", "infeasible": "red", "not_solved": "yellow"}[status]
    if status == "infeasible":
        ctx.err.print(f"[bold red]infeasible[/]: {_escape(outcome.solution.message)}; "
                      "the constraints below would have to be relaxed:")
        relax = report.tables.get("Relaxations")
        if relax is not None:
            for row in relax.to_dict("records"):
                ctx.err.print(f"  - {row['constraint']}: {_escape(row['meaning'])}")
        if relax is None or relax.empty:
            ctx.err.print("  (the relaxed model needed no slack above the solver's tolerance: the conflict lies in "
                          "coefficients too small for it to see; look for tiny shares, prices or scores)")
    elif status == "not_solved":
        ctx.err.print(f"[yellow]not optimal[/]: {_escape(outcome.solution.message)}")
    if ctx.quiet:
        return
    summary = dict(report.summary)
    ctx.say(f"[bold {colour}]{status}[/]  scenario {_escape(str(js['scenario']))}  "
            f"solver {js['solver']}  {summary.get('Solve time (s)', 0):.2f} s")
    if js.get("spend") is not None:
        line = f"spend {fmt.usd(js['spend'])}"
        if "Horizon budget (USD)" in summary:
            line += (f" ({fmt.share(summary['Budget used (share of horizon budget)'])} of the "
                     f"{fmt.usd(summary['Horizon budget (USD)'])} budget)")
        ctx.say(line)
        ctx.say(f"shortfall value {fmt.usd(js['shortfall_usd'])} at reference prices;  China share "
                f"{fmt.share(js['china_share'])} of purchases by value")
        ctx.say(f"objective with penalties {fmt.usd(js['objective'])} (the penalties are not spend)")
    elif summary.get("Plan shown"):
        ctx.say("the plan written is the relaxed plan of the infeasibility report")
    if report.findings:
        ctx.say("[bold]what binds[/]")
        for finding in report.findings[:10]:
            ctx.say(f"  - {_escape(finding.sentence)}")
        if len(report.findings) > 10:
            ctx.say(f"  ... and {len(report.findings) - 10} more on the Summary sheet")
    if js["minerals"]:
        table = Table(show_edge=False)
        for column in ("mineral", "unit", "bought", "shortfall", "shortfall USD", "China share", "cap",
                       "reserve end"):
            table.add_column(column, justify="left" if column in ("mineral", "unit") else "right",
                             overflow="fold")
        caps = dict(zip(outcome.instance.mineral_keys, outcome.instance.china_cap))
        for key, (name, values) in zip(outcome.instance.mineral_keys, js["minerals"].items()):
            cap = caps[key]
            share = values["china_share"]
            over = share is not None and cap < 1 and share > cap + 1e-6
            table.add_row(_escape(name), _escape(values["unit"]), fmt.quantity(values["bought"]),
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
            table.add_row(_escape(row["item"]), fmt.usd(row["spend_difference_usd"]),
                          fmt.usd(row["shortfall_value_difference_usd"]), fmt.usd(row["objective_difference_usd"]))
        ctx.say(table)
    if plan_path is not None:
        ctx.say(f"plan written to {_escape(str(plan_path))}")


@app.command()
def solvers(
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """The solvers --solver accepts on this machine: name, interface, version, whether they solve MIPs."""
    _run(quiet, verbose, _solvers)


def _solvers(ctx: _Context) -> int:
    from procure.pulp_model import available_solvers

    found = available_solvers()
    if ctx.quiet:
        return EXIT_OK
    table = Table(title="solvers available here", show_edge=False)
    for column in ("solver", "interface", "version", "MIP"):
        table.add_column(column)
    for info in found:
        table.add_row(info.name, _escape(info.interface), _escape(info.version), "yes" if info.mip else "no")
    ctx.say(table)
    ctx.say("highs runs in process; the others through PuLP. Install a solver (and its licence) and it "
            "appears here.")
    return EXIT_OK


@app.command()
def export(
    workbook: Annotated[Path, typer.Argument(help="The input workbook (.xlsx).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="MODEL.lp or MODEL.mps (format from the suffix).")],
    model: ModelOpt = None,
    scenario: Annotated[Optional[list[Path]], typer.Option(
        "--scenario", help="Scenario file of a stochastic plan (not available yet).")] = None,
    strict: StrictOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Write the model as PuLP writes it (.lp or .mps), with readable names, for audit or another solver."""
    _run(quiet, verbose, lambda ctx: _export(ctx, workbook, output, model, scenario or [], strict))


def _export(ctx: _Context, workbook: Path, output: Path, model: Path | None, scenario: list[Path],
            strict: bool) -> int:
    from procure import formulation
    from procure.instance import build_instance
    from procure.pulp_model import check_export_path, export_model
    from procure.stochastic import build_extensive_form, load_stochastic, prepare, risk_settings

    inputs = [workbook] + ([model] if model else []) + list(scenario)
    check_export_path(output, inputs)
    data, scenarios = load_stochastic(workbook, model, scenario)
    _print_problems(ctx, [], data.warnings)
    if scenarios:  # the extensive form, one column per decision node (STOCKPILE.md)
        fan = prepare(data, scenarios)
        risk, alpha, weight, commit = risk_settings(data.policy)
        form = build_extensive_form(fan.instances, fan.probabilities, risk=risk, risk_level=alpha,
                                    risk_weight=weight, commit_through=commit, strict=strict)
        program, instance = form.program, fan.base
    else:
        instance = build_instance(data)
        program = formulation.build(instance, strict=strict)
    export_model(program, output, instance, title=f"{workbook.stem}-{data.policy.scenario}")
    integers = int(program.col_integer.sum())
    ctx.say(f"model written to {_escape(str(output))}: {program.n_cols:,} variables"
            + (f" ({integers:,} binary)" if integers else "") + f", {program.n_rows:,} constraints"
            + (f"; objective constant {fmt.usd(program.objective_constant)} as column objective_constant = 1"
               if program.objective_constant else ""))
    return EXIT_OK


def main() -> None:
    """Console entry point.

    A usage error (unknown option, missing argument) exits 2 by Click's
    convention; CLI.md makes it an input problem, exit 1, so that 2 always
    means "infeasible".
    """
    from typer.exceptions import TyperException

    try:
        code = app(standalone_mode=False)
    except TyperException as exc:  # Typer's (vendored Click's) usage and parameter errors
        exc.show()
        code = EXIT_INPUT if exc.exit_code == 2 else exc.exit_code
    except typer.Abort:
        print("interrupted", file=sys.stderr)
        code = 130
    sys.exit(code if isinstance(code, int) else 0)


# ---------------------------------------------------------------- procure stress (STOCKPILE.md)


@app.command()
def stress(
    workbook: Annotated[Optional[Path], typer.Argument(help="The input workbook with a Risks sheet; the bundled "
                                                            "sample if omitted.")] = None,
    draws: Annotated[Optional[int], typer.Option("--draws", min=1, help="How many disruptions to sample "
                                                 "(required).")] = None,
    model: ModelOpt = None,
    plan: Annotated[Optional[Path], typer.Option("--plan", help="A plan workbook written by procure solve "
                                                                "(else the plan is solved first).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the random draws.")] = 0,
    commit_through: Annotated[Optional[str], typer.Option("--commit-through", help="Purchases up to and "
                                                          "including this period are fixed (default: the first).")]
    = None,
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1, help="Local Dask worker processes "
                                                   "(default: the machine's cores).")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Use an existing Dask cluster, e.g. "
                                                     "tcp://host:8786.")] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=1, help="Draws per Dask task.")] = 250,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Stress workbook (.xlsx).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Also write the figures as JSON.")] = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Stress-test a committed plan against sampled disruptions from the Risks sheet, on Dask."""
    _run(quiet, verbose, lambda ctx: _stress(ctx, workbook, draws, model, plan, seed, commit_through, workers,
                                             scheduler, chunk_size, output, json_path, verbose))


def _stress(ctx, workbook, draws, model, plan, seed, commit_through, workers, scheduler, chunk_size, output,
            json_path, verbose) -> int:
    from procure.cluster import dask_client
    from procure.paths import check_json_path, check_output_path
    from procure.plan import write_json, write_tables
    from procure.solve import SolveOptions
    from procure.stress import prepare, run_draws
    from procure.stress_report import build_result, histogram_chart

    if draws is None:
        raise ProcureError("--draws N is required: how many disruptions to sample (e.g. --draws 10000)")
    if workers is not None and scheduler is not None:
        raise ProcureError("give --workers (a local cluster) or --scheduler (an existing one), not both")
    if workbook is None:
        from procure.starter import bundled_sample

        workbook = bundled_sample()
    inputs = [workbook] + [p for p in (model, plan) if p is not None]
    out_path = check_output_path(output or Path("outputs") / f"{workbook.stem}-stress.xlsx", inputs)
    if json_path is not None:
        check_json_path(json_path, inputs)
    busy = ctx.err.status("preparing", spinner="dots") if (not ctx.quiet and ctx.err.is_terminal) \
        else nullcontext()
    with busy:
        setup = prepare(workbook, model, plan, commit_through, SolveOptions(verbose=verbose))
    _print_problems(ctx, [], setup.instance.data.warnings)
    with dask_client(workers, scheduler) as client, _progress(ctx, "draws", draws) as advance:
        results = run_draws(setup.base, draws, seed, client=client, chunk_size=chunk_size,
                            progress=lambda n: [advance() for _ in range(n)])
    result = build_result(setup.instance, setup.base, setup.events, results, seed, setup.commit_through,
                          setup.hashes)
    write_tables(out_path, result.tables, summary=result.summary, charts=histogram_chart)
    if json_path is not None:
        write_json(result.json, json_path)
    if not ctx.quiet:
        total = result.json["total_shortfall_usd"]
        ctx.say(f"{draws:,} draws, seed {seed}, committed through {result.json['commit_through']}: "
                f"{len(result.json['failed_draws'])} failed")
        if total["mean"] is not None:
            ctx.say(f"total shortfall value: mean {fmt.usd(total['mean'])}  p95 {fmt.usd(total['p95'])}  "
                    f"CVaR95 {fmt.usd(total['cvar95'])}")
        view = Table(show_edge=False)
        for column in ("mineral", "P(shortfall)", "mean", "p95", "mean USD", "reserve released"):
            view.add_column(column, justify="left" if column == "mineral" else "right")
        for name, m in result.json["minerals"].items():
            if m["mean"] is None:
                continue
            view.add_row(_escape(name), fmt.share(m["p_shortfall"]),
                         f"{fmt.quantity(m['mean'])} {_escape(m['unit'])}", fmt.quantity(m["p95"]),
                         fmt.usd(m["mean_usd"]), fmt.quantity(m["reserve_released_mean"]))
        ctx.say(view)
        ctx.say(f"stress workbook written to {_escape(str(out_path))}")
    for draw in result.json["failed_draws"]:
        ctx.err.print(f"[yellow]warning[/]: draw {draw} failed: {_escape(results.failures[draw])}")
    return EXIT_NOT_SOLVED if result.json["failed_draws"] else EXIT_OK


if __name__ == "__main__":
    main()
