"""The ``procure`` command line (Typer): parse options, call the library, map errors to exit codes.

Exit codes (CLI.md): 0 optimal, plan written; 1 input problems; 2 infeasible
(relaxation report printed and written); 3 solver stopped without a proven
plan; 4 a ``batch --fail-on`` condition met. No traceback reaches a user
unless ``--verbose``.
"""

from __future__ import annotations

import dataclasses
import sys
import traceback
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Callable, Optional

import pandas as pd
import typer

from procure import console, fmt, pipeline
from procure.analysis import frontier as solve_frontier, parse_caps
from procure.batch import FAIL_CONDITIONS, compare, failures, plan_jobs, run_batch
from procure.budgets import budget_frontier, parse_budgets
from procure.cluster import dask_client
from procure.committed import commit_warning, plan_scenario_warning
from procure.data import OfferKind
from procure.diff import diff_plans
from procure.errors import InputError, Problem, ProcureError
from procure.instance import build_instance
from procure.outcome import build_form
from procure.paths import check_folder, check_output_path, check_paths, default_output_path, safe_stem
from procure.plan import write_budget_frontier, write_frontier, write_json, write_tables
from procure.pulp_model import available_solvers, check_export_path, check_solver, export_model
from procure.risks import has_risks_sheet, read_risks
from procure.solve import SolveOptions, Status
from procure.starter import bundled_sample, starter_files, write_starter
from procure.stochastic import prepare as prepare_fan
from procure.stress import FORESIGHTS, prepare as prepare_stress, run_draws
from procure.stress_report import build_result, stress_charts
from procure.validate import validate as validate_workbook
from procure.version import tool_version
from procure.workbook import read_workbook

app = typer.Typer(
    name="procure",
    help="Least-cost critical-mineral procurement plans from an Excel workbook.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NOT_SOLVED, EXIT_FAIL_ON, EXIT_INTERNAL = 0, 1, 2, 3, 4, 5
STATUS_EXIT = {Status.OPTIMAL: EXIT_OK, Status.INFEASIBLE: EXIT_INFEASIBLE, Status.NOT_SOLVED: EXIT_NOT_SOLVED}

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

        print(tool_version())
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

        return SolveOptions(solver=check_solver(self.solver), time_limit_s=self.time_limit, gap=self.gap,
                            verbose=self.verbose).started()


def _run(quiet: bool, verbose: bool, body) -> None:
    """Run ``body(ctx)``, mapping every failure to its exit code and a message; a traceback only with --verbose."""
    ctx = console.Context(quiet, verbose)
    try:
        code = body(ctx)
    except InputError as exc:
        console.print_problems(ctx, exc.problems, exc.warnings)
        ctx.err.print(f"[bold red]{console.escape(str(exc))}[/]")
        code = EXIT_INPUT
    except ProcureError as exc:
        ctx.err.print(f"[bold red]error[/]: {console.escape(str(exc))}")
        code = exc.exit_code
    except KeyboardInterrupt:
        ctx.err.print("interrupted; no plan was written")
        code = 130
    except Exception as exc:  # a bug: say so plainly, show the traceback only when asked
        if ctx.verbose:
            ctx.err.print(console.escape(traceback.format_exc(), lines=True))
        ctx.err.print(f"[bold red]internal error[/]: {console.escape(f'{type(exc).__name__}: {exc}')} "
                      "(a bug in procure; run with --verbose for details and please report it)")
        code = EXIT_INTERNAL
    raise typer.Exit(code or 0)


def _inputs(workbook: Path, model: Path | None, scenario_files=()) -> list[tuple[str, Path | None]]:
    """What a command reads, labelled for :func:`procure.paths.check_paths`'s messages."""
    return [("workbook", workbook), ("model file", model)] + [("scenario file", p) for p in scenario_files]


def default_plan_path(workbook: Path, scenario: str) -> Path:

    return default_output_path(workbook, scenario)


def _safe_stem(text: str) -> str:

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


def _init(ctx: console.Context, directory: Path, force: bool) -> int:
    check_folder(directory)
    check_paths([], [("starter", target) for _, target in starter_files(directory)])
    written = write_starter(directory, force=force)
    for path in written:
        ctx.say(f"wrote {console.escape(str(path))}")
    ctx.say(f"next: procure solve {console.escape(str(directory / 'inputs' / 'sample.xlsx'))} (the reserve program),"
            f" or procure solve {console.escape(str(directory / 'inputs' / 'imports.xlsx'))}"
            f" --model {console.escape(str(directory / 'models' / 'china-export-controls.toml'))}")
    return EXIT_OK


@app.command()
def validate(
    workbook: Annotated[Optional[Path],
                        typer.Argument(help="The input workbook; the bundled sample if omitted.")] = None,
    model: ModelOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> int:
    """Read and check a workbook (and scenario); print every problem and a summary of the problem's size."""
    _run(quiet, verbose, lambda ctx: _validate(ctx, workbook, model))


def _validate(ctx: console.Context, workbook: Path | None, model: Path | None) -> int:
    workbook = workbook if workbook is not None else bundled_sample()
    raw = read_workbook(workbook)
    problems: list[Problem] = []
    try:  # the plan's sheets, the Scenarios and Shocks sheets...
        data = pipeline.load(workbook, model, raw=raw)
    except InputError as exc:
        problems += exc.problems + exc.warnings
        data = validate_workbook(raw)  # raises when the plan's own sheets are wrong
    scenarios = data.scenarios
    events = []
    if has_risks_sheet(raw):  # ...and the Risks sheet, all reported at once
        try:
            events = read_risks(raw, data)
        except InputError as exc:
            problems += exc.problems + exc.warnings
    if any(p.severity == "error" for p in problems):
        raise InputError(problems + data.warnings)
    console.print_problems(ctx, [], data.warnings)
    inst = build_instance(data)
    table = console.Table(title=f"{console.escape(workbook.name)}: valid", show_header=False)
    table.add_row("scenario", console.escape(data.policy.scenario))
    table.add_row("minerals", str(len(data.minerals)))
    table.add_row("periods", f"{len(data.periods)} ({console.escape(fmt.period(data.periods[0]))} .. "
                             f"{console.escape(fmt.period(data.periods[-1]))})")
    table.add_row("offers", f"{len(data.offers)} ({len(inst.excluded)} excluded)")
    table.add_row("optional agreements", str(int((inst.offer_kind == OfferKind.OPTIONAL).sum())))
    table.add_row("purchase variables", f"{inst.n_offer_periods:,}")
    if scenarios:
        table.add_row("scenarios (stochastic plan)", console.escape(", ".join(s.name for s in scenarios)))
    if events:
        table.add_row("risk events (for procure stress)", str(len(events)))
    table.add_row("warnings", str(len(data.warnings)))
    console.show(ctx, table)
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


def _solve(ctx: console.Context, run: RunOptions, workbook, model, output, json_path, price_rules,
           scenario_files) -> int:
    """The main job, one flow for every plan kind: load, optimize, report, write, render."""
    options = run.solve_options()
    workbook = workbook if workbook is not None else bundled_sample()
    inputs = _inputs(workbook, model, scenario_files)
    data = pipeline.load(workbook, model, scenario_files)
    console.print_problems(ctx, [], data.warnings)
    plan_path = output or default_plan_path(workbook, data.policy.scenario)
    check_paths(inputs, [("plan", plan_path), ("JSON", json_path)])
    check_output_path(plan_path, inputs)
    with ctx.out.status("solving", spinner="dots") if (not ctx.quiet and ctx.out.is_terminal) else nullcontext():
        outcome = pipeline.optimize(data, options, strict=run.strict)
        report = pipeline.make_report(outcome, input_name=workbook.name, price_rules=price_rules)
    written = pipeline.write(outcome, report, plan_path, json_path)
    console.plan_summary(ctx, outcome, report, plan_path if written else None)
    return STATUS_EXIT[outcome.status]


@app.command()
def frontier(
    workbook: Annotated[Optional[Path],
                        typer.Argument(help="The input workbook; the bundled sample if omitted.")] = None,
    caps: Annotated[str, typer.Option("--caps", help="start:stop:step (inclusive) or a list, e.g. 0,0.1,0.5.")]
    = "0:1:0.05",
    budgets: Annotated[Optional[str], typer.Option(
        "--budgets", help="Horizon budgets in USD instead of caps: start:stop:step or a list, e.g. 6e9:18e9:1e9.")]
    = None,
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
    """Solve once per China cap applied to every mineral (or per horizon budget, --budgets): spend, shortfall
    value and exposure against the cap, or what the program buys at each budget."""
    run = RunOptions(solver, time_limit, gap, strict, quiet, verbose)
    sweep, text = (_BUDGETS, budgets) if budgets is not None else (_CAPS, caps)
    _run(quiet, verbose, lambda ctx: _frontier(ctx, run, workbook, sweep, text, model, output, json_path))


@dataclass(frozen=True)
class _Sweep:
    """One kind of frontier: how its points are parsed, solved, written and shown."""

    name: str  # in file names and on the progress bar
    parse: Callable[[str], list[float]]
    solve: Callable
    write: Callable[[pd.DataFrame, Path, str], None]
    title: str
    show: Callable


_CAPS = _Sweep("frontier", parse_caps, solve_frontier, write_frontier, "China-cap frontier",
               lambda ctx, points, path, stochastic: console.frontier_summary(ctx, points, path))
_BUDGETS = _Sweep("budgets", parse_budgets, budget_frontier, write_budget_frontier, "What each budget buys",
                  console.budget_frontier_summary)


def _frontier(ctx: console.Context, run: RunOptions, workbook, sweep: _Sweep, text: str, model, output,
              json_path) -> int:
    """A frontier (CLI.md): the plan re-solved at each point (China cap, or horizon budget), whatever its
    kind (a plan of several scenarios is re-solved whole at each point)."""
    try:
        values = sweep.parse(text)
    except ValueError as exc:
        raise ProcureError(str(exc)) from None
    workbook = workbook if workbook is not None else bundled_sample()
    data = pipeline.load(workbook, model)
    console.print_problems(ctx, [], data.warnings)
    suffix = "" if data.policy.scenario in ("", "base") else f"-{_safe_stem(data.policy.scenario)}"
    inputs = _inputs(workbook, model)
    out_path = output or Path("outputs") / f"{workbook.stem}{suffix}-{sweep.name}.xlsx"
    check_paths(inputs, [("frontier workbook", out_path), ("JSON", json_path)])
    check_output_path(out_path, inputs, "frontier workbook")
    options = run.solve_options()
    fan = prepare_fan(data, data.scenarios)
    stochastic = len(fan.scenarios) > 1
    with console.progress(ctx, sweep.name, len(values)) as advance:
        points = sweep.solve(fan, values, options, run.strict, progress=lambda value: advance())
    table = pd.DataFrame([dataclasses.asdict(p) for p in points])
    if not stochastic and "worst_shortfall_usd" in table:
        table = table.drop(columns="worst_shortfall_usd")
    sweep.write(table, out_path, f"{sweep.title}: {data.policy.scenario}")
    if json_path is not None:
        write_json({"scenario": data.policy.scenario, "points": [p.to_json(stochastic) for p in points]},
                   json_path)
    sweep.show(ctx, points, out_path, stochastic)
    return EXIT_OK if all(p.status != Status.NOT_SOLVED for p in points) else EXIT_NOT_SOLVED


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


def _batch(ctx: console.Context, run: RunOptions, workbook, models, out_dir, workers, scheduler, baseline,
           fail_on) -> int:


    conditions = [c.strip() for c in fail_on.split(",") if c.strip()]
    unknown = [c for c in conditions if c not in FAIL_CONDITIONS]
    if unknown:
        raise ProcureError(f"--fail-on: unknown condition {', '.join(unknown)}; expected any of: "
                           + ", ".join(FAIL_CONDITIONS))
    options = run.solve_options()
    if not workbook.is_file():
        raise ProcureError(f"{workbook}: no such workbook")
    stem = f"{workbook.stem}-comparison"
    comparison_path, comparison_json = out_dir / f"{stem}.xlsx", out_dir / f"{stem}.json"
    jobs = plan_jobs(workbook, models, out_dir, options, run.strict,
                     [("comparison workbook", comparison_path), ("comparison JSON", comparison_json)])
    with console.progress(ctx, "batch", len(jobs)) as advance:
        rows, base_name = compare(run_batch(jobs, workers, progress=lambda row: advance(), scheduler=scheduler),
                                  baseline)
    comparison = pd.DataFrame([{k: v for k, v in r.items() if k != "traceback"} for r in rows])
    write_tables(comparison_path, {"Comparison": comparison})
    met = failures(rows, conditions)
    write_json({"workbook": str(workbook), "baseline": base_name, "scenarios": rows, "fail_on": conditions,
                "failed": met}, comparison_json)
    console.batch_summary(ctx, rows, base_name, out_dir, stem)
    for r in rows:
        if r["status"] == "error":
            ctx.err.print(f"[bold red]error[/] in {console.escape(str(r['scenario']))}: "
                          f"{console.escape(r.get('message', ''))}")
            if ctx.verbose and r.get("traceback"):
                ctx.err.print(console.escape(r["traceback"], lines=True))
    if met:
        for line in met:
            ctx.err.print(f"[bold red]fail-on[/]: {console.escape(line)}")
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

    inputs = [("plan", plan_a), ("plan", plan_b)]
    check_paths(inputs, [("JSON", json_path), ("differences workbook", output)])
    if output is not None:
        check_output_path(output, inputs, "differences workbook")
    result = diff_plans(plan_a, plan_b, top)
    if json_path is not None:
        write_json(result.to_json(), json_path)
    if output is not None:
        write_tables(output, {"Figures": result.figures, "Moves": result.moves})
    console.diff_summary(ctx, plan_a, plan_b, result)
    return EXIT_OK


@app.command()
def solvers(
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """The solvers --solver accepts on this machine: name, interface, version, whether they solve MIPs."""
    _run(quiet, verbose, _solvers)


def _solvers(ctx: console.Context) -> int:

    found = available_solvers()
    if ctx.quiet:
        return EXIT_OK
    table = console.Table(title="solvers available here", show_edge=False)
    console.add_columns(table, ("solver", "interface", "version", "MIP"), left=("solver", "interface", "version",
                                                                                 "MIP"))
    for info in found:
        table.add_row(console.escape(info.name), console.escape(info.interface), console.escape(info.version),
                      "yes" if info.mip else "no")
    console.show(ctx, table)
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


def _export(ctx: console.Context, workbook: Path, output: Path, model: Path | None, scenario: list[Path],
            strict: bool) -> int:
    check_export_path(output, _inputs(workbook, model, scenario))
    data = pipeline.load(workbook, model, scenario)
    console.print_problems(ctx, [], data.warnings)
    fan = prepare_fan(data, data.scenarios)
    program = build_form(fan, strict=strict).program  # the extensive form: one column per decision node
    export_model(program, output, fan.base, title=f"{workbook.stem}-{data.policy.scenario}")
    integers = int(program.col_integer.sum())
    ctx.say(f"model written to {console.escape(str(output))}: {program.n_cols:,} variables"
            + (f" ({integers:,} binary)" if integers else "") + f", {program.n_rows:,} constraints"
            + (f"; objective constant {fmt.quantity(program.objective_constant)} as column objective_constant = 1"
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
    foresight: Annotated[str, typer.Option("--foresight", help="none (default): each period decided knowing only "
                                           "the events started by then; full: each draw knows its whole future "
                                           "(an optimistic bound).")] = "none",
    time_limit: TimeLimitOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Stress workbook (.xlsx).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Also write the figures as JSON.")] = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Stress-test a committed plan against sampled disruptions from the Risks sheet, on Dask."""
    _run(quiet, verbose, lambda ctx: _stress(ctx, workbook, draws, model, plan, seed, commit_through, workers,
                                             scheduler, chunk_size, output, json_path, verbose, foresight,
                                             time_limit))


MAX_DRAWS = 10_000_000  # beyond it a stress test is days of solving: refused before anything is allocated
MAX_DRAW_TASKS = 100_000  # Dask tasks (draws / --chunk-size): each costs the scheduler memory and time
MAX_DRAW_FIGURES = 250_000_000  # draws x minerals: two 8-byte figures each (shortfall, release), about 4 GB


def _check_draws(draws: int, chunk_size: int, minerals: int | None = None) -> None:
    """Refuse at once a stress test that cannot fit: too many draws, tasks, or figures to keep."""
    if draws > MAX_DRAWS:
        raise ProcureError(f"--draws {draws:,}: at most {MAX_DRAWS:,} draws (each is a solve; percentiles settle "
                           "long before)")
    tasks = -(-draws // chunk_size)
    if tasks > MAX_DRAW_TASKS:
        raise ProcureError(f"--draws {draws:,} in chunks of {chunk_size:,} is {tasks:,} Dask tasks; at most "
                           f"{MAX_DRAW_TASKS:,}: give --chunk-size {-(-draws // MAX_DRAW_TASKS):,} or more")
    if minerals is not None and draws * minerals > MAX_DRAW_FIGURES:
        raise ProcureError(f"--draws {draws:,} x {minerals} minerals is {draws * minerals:,} figures to keep; at most "
                           f"{MAX_DRAW_FIGURES:,} (about 4 GB): give --draws {MAX_DRAW_FIGURES // minerals:,} or fewer")


def _stress(ctx, workbook, draws, model, plan, seed, commit_through, workers, scheduler, chunk_size, output,
            json_path, verbose, foresight="none", time_limit=None) -> int:

    if draws is None:
        raise ProcureError("--draws N is required: how many disruptions to sample (e.g. --draws 10000)")
    _check_draws(draws, chunk_size)
    if workers is not None and scheduler is not None:
        raise ProcureError("give --workers (a local cluster) or --scheduler (an existing one), not both")
    if foresight not in FORESIGHTS:
        raise ProcureError(f"--foresight {foresight}: expected one of {', '.join(FORESIGHTS)}")
    if workbook is None:

        workbook = bundled_sample()
    inputs = _inputs(workbook, model) + [("plan", plan)]
    out_path = output or Path("outputs") / f"{workbook.stem}-stress.xlsx"
    check_paths(inputs, [("stress workbook", out_path), ("JSON", json_path)])
    check_output_path(out_path, inputs, "stress workbook")
    busy = ctx.err.status("preparing", spinner="dots") if (not ctx.quiet and ctx.err.is_terminal) \
        else nullcontext()
    options = SolveOptions(verbose=verbose, time_limit_s=time_limit).started()  # one deadline: preparation and draws
    with busy:
        setup = prepare_stress(workbook, model, plan, commit_through, options)
    _check_draws(draws, chunk_size, len(setup.instance.mineral_keys))
    data = setup.instance.data
    doubts = (plan_scenario_warning(plan, data, model) if plan is not None
              else commit_warning(data, setup.commit_through))
    console.print_problems(ctx, [], list(data.warnings) + doubts)
    with dask_client(workers, scheduler) as client, console.progress(ctx, "draws", draws) as advance:
        results = run_draws(setup.base, draws, seed, client=client, chunk_size=chunk_size,
                            progress=lambda n: [advance() for _ in range(n)], foresight=foresight,
                            deadline=options.deadline)
    result = build_result(setup.instance, setup.base, setup.events, results, seed, setup.commit_through,
                          setup.hashes)
    write_tables(out_path, result.tables, summary=result.summary, charts=stress_charts(foresight),
                 kinds=result.kinds)
    if json_path is not None:
        write_json(result.json, json_path)
    console.stress_summary(ctx, draws, seed, result, out_path, results.failures)
    return EXIT_NOT_SOLVED if result.json["failed_draws"] else EXIT_OK


if __name__ == "__main__":
    main()
