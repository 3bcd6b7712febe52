"""Solve a :class:`~procure.program.LinearProgram`, prove the status, verify the plan.

HiGHS (the default) gets the matrix in one in-process ``passModel`` call: no
text files, no per-variable Python objects. Every other solver (CBC, GLPK, and
whatever else PuLP can run here) goes through PuLP (:mod:`procure.pulp_model`):
the matrix becomes a PuLP model with generated ASCII names (``x_12``,
``balance_3``) and the solver runs in a private temporary folder.
Either way values, duals and reduced
costs are read back by column and row position. A plan is accepted only when
the solver proves it (a time limit or an iteration limit is not optimal), and
every plan is re-checked against every constraint and bound from its own numbers.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from procure.errors import SolverError
from procure.program import LinearProgram, block_of
from procure.pulp_model import solve_with_pulp
from procure.result import RawKind, RawResult, Solution, SolveOptions, Status, Step, quiet_stdout

__all__ = ["SOLVERS", "RawKind", "RawResult", "Solution", "SolveOptions", "Status", "Step", "quiet_stdout", "solve",
           "verify", "row_scale", "pass_model"]

SOLVERS = ("highs", "cbc")  # the two always installed; procure.pulp_model.available_solvers() lists all
_log = logging.getLogger("procure.solve")
FEASIBILITY_TOL = 1e-6  # relative to the row's scale
INTEGRALITY_TOL = 1e-6


def row_scale(lp: LinearProgram) -> np.ndarray:
    """Power-of-two factors that bring each row's largest coefficient near 1.

    A budget row holds prices and fixed costs up to 1e8 against a right side
    near 1e11. HiGHS's MIP checks rows with an absolute tolerance
    (``mip_feasibility_tolerance`` = 1e-6): its LP optimum misses such a row by
    a unit in the last place (3.8e-6 on 1e10), HiGHS discards that optimum, and
    then reports another plan "Optimal" at gap 0 (seven times the optimum on the
    export-controls model) or the model "Infeasible" (the sample at China cap
    0.5). The smallest models that show it are tests/fixtures/highs/*.mps,
    checked by tests/test_highs_regressions.py. Upstream:
    https://github.com/ERGO-Code/HiGHS/issues/3180 (the optimum discarded in
    transformNewIntegerFeasibleSolution, a worse plan reported optimal),
    https://github.com/ERGO-Code/HiGHS/issues/2271 and
    https://github.com/ERGO-Code/HiGHS/issues/1297 (wrong "Infeasible" on badly
    scaled rows), https://github.com/ERGO-Code/HiGHS/issues/1721 (the absolute
    MIP tolerance against coefficients orders of magnitude apart).
    Scaling a row by a power of two changes no solution and loses no bits; the
    row's dual is scaled back by the same factor.
    """
    rows = lp.row_of_term()
    magnitude = np.abs(lp.a_value)
    largest = np.zeros(lp.n_rows)
    np.maximum.at(largest, rows, magnitude)
    smallest = np.full(lp.n_rows, np.inf)
    np.minimum.at(smallest, rows, magnitude)
    exponent = np.round(np.log2(np.where(largest > 0, largest, 1.0)))
    # keep the row's smallest coefficient above 2^-20: HiGHS drops entries below 1e-9, and an
    # agreement row x - 1e9 y scaled by its largest entry would lose x altogether
    floor = np.floor(np.log2(np.where(np.isfinite(smallest) & (smallest > 0), smallest, 1.0))) + 20
    exponent = np.minimum(exponent, floor)
    return np.exp2(-np.clip(exponent, -64, 64))  # never overflow on subnormal or huge coefficients


def pass_model(highs, lp: LinearProgram, scale: np.ndarray) -> None:
    """Hand ``lp`` to ``highs`` (a ``highspy.Highs``) in one call, each row scaled by ``scale`` (see
    :func:`row_scale`).

    The arrays go through highspy's array overload of ``passModel``, which reads the numpy buffers;
    filling a ``HighsLp`` attribute by attribute converts each array element by element (measured
    slower on the 160k benchmark's model; see benchmarks/RESULTS.md).
    """
    import highspy

    if lp.is_mip:
        integrality = np.where(lp.col_integer, int(highspy.HighsVarType.kInteger),
                               int(highspy.HighsVarType.kContinuous)).astype(np.int32)
    else:
        integrality = np.full(lp.n_cols, int(highspy.HighsVarType.kContinuous), dtype=np.int32)
    status = highs.passModel(
        lp.n_cols, lp.n_rows, len(lp.a_value), int(highspy.MatrixFormat.kRowwise), int(highspy.ObjSense.kMinimize),
        float(lp.objective_constant), np.ascontiguousarray(lp.col_cost, dtype=float),
        np.ascontiguousarray(lp.col_lower, dtype=float), np.ascontiguousarray(lp.col_upper, dtype=float),
        lp.row_lower * scale, lp.row_upper * scale, lp.a_start.astype(np.int32),
        lp.a_index.astype(np.int32), lp.a_value * np.repeat(scale, np.diff(lp.a_start)), integrality)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS refused the model (a bug in procure; please report it)")


def highs_model(lp: LinearProgram, scale: np.ndarray, *, verbose: bool = False, **settings):
    """The one place a HiGHS model is set up (solve, the warm sweeps, the stress workers): a
    ``highspy.Highs`` with deterministic settings (``random_seed`` 0, the solver's output only when
    ``verbose``), the given option ``settings``, and ``lp`` passed in one call with rows scaled by
    ``scale``. ``threads`` restarts HiGHS's process-wide scheduler first (it keeps the thread count it
    was started with)."""
    import highspy

    with quiet_stdout(not verbose):
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", bool(verbose))
        highs.setOptionValue("random_seed", 0)
        if "threads" in settings:
            highspy.Highs.resetGlobalScheduler(True)
        for key, value in settings.items():
            highs.setOptionValue(key, value)
        pass_model(highs, lp, scale)
    return highs


def _run_highs(lp: LinearProgram, options: SolveOptions, presolve: str) -> RawResult:
    """Hand the row-scaled matrix to HiGHS in one call and run it; deterministic settings."""
    import highspy

    settings = {"presolve": presolve, "mip_rel_gap": float(options.gap)}
    if options.time_limit_s is not None:
        settings["time_limit"] = float(options.time_limit_s)
    scale = row_scale(lp)
    highs = highs_model(lp, scale, verbose=options.verbose, **settings)
    with quiet_stdout(not options.verbose):
        highs.run()
    status = highs.getModelStatus()
    info = highs.getInfo()
    M = highspy.HighsModelStatus
    detail = highs.modelStatusToString(status)
    has_values = info.primal_solution_status == 2  # kSolutionStatusFeasible
    values = np.asarray(highs.getSolution().col_value) if has_values else None
    bound = info.mip_dual_bound if lp.is_mip and np.isfinite(info.mip_dual_bound) else None
    if status == M.kOptimal:
        solution = highs.getSolution()
        duals = (np.asarray(solution.row_dual) * scale, np.asarray(solution.col_dual)) \
            if not lp.is_mip and solution.dual_valid else (None, None)
        return RawResult(RawKind.OPTIMAL, detail, values, bound, *duals)
    if status == M.kInfeasible or (status in (M.kUnboundedOrInfeasible, M.kUnbounded) and values is None):
        # every cost and every variable is >= 0, so the model cannot be unbounded:
        # "unbounded or infeasible" from presolve means infeasible
        return RawResult(RawKind.INFEASIBLE, detail)
    return RawResult(RawKind.STOPPED, detail, values, bound)


def _run_pulp(lp: LinearProgram, options: SolveOptions) -> RawResult:
    """Solve through PuLP with any solver it can run here (CBC, GLPK, ...): see procure.pulp_model."""

    return solve_with_pulp(lp, options)


class Steps:
    """The solver calls of one :func:`solve`, each a named step under the command's one deadline.

    A step that cannot start before the deadline is skipped and recorded; a
    step that starts gets the time left as its solver time limit. Every step
    is logged (``--verbose`` shows the log) and kept on the Solution.
    """

    def __init__(self, options: SolveOptions):
        self.options = options.started()
        self.log: list[Step] = []

    def run(self, name: str, lp: LinearProgram, solver: str, presolve: str = "on") -> RawResult | None:
        remaining = self.options.remaining_s()
        if remaining is not None and remaining <= 0 and self.log:
            self.record(Step(name, 0.0, "skipped: the time limit was reached before it could start"))
            return None
        options = replace(self.options, solver=solver, time_limit_s=remaining)
        started = time.perf_counter()
        if solver == "highs":
            raw = _run_highs(lp, options, presolve)
        else:
            raw = _run_pulp(lp, options)
        self.record(Step(name, time.perf_counter() - started, f"{raw.kind}: {raw.detail}"))
        return raw

    def record(self, step: Step) -> None:
        self.log.append(step)
        _log.info("step %-48s %8.3f s  %s", step.name, step.seconds, step.outcome)


def solve(lp: LinearProgram, options: SolveOptions = SolveOptions(), *, with_duals: bool = True) -> Solution:
    """Solve ``lp``: the steps below, in this order, each logged and all under one deadline.

    1. ``{solver}``: the model. A MIP given to HiGHS is solved twice, presolve on
       and presolve off, and the better verified plan is kept: on unscaled budget
       rows HiGHS 1.16 reported "Optimal" at seven times the optimum with presolve
       on and "Infeasible" with it off (see :func:`row_scale` for the upstream
       issues); row scaling cures both, the second run is kept as a guard.
    2. ``polish``: for a MIP plan, the LP with every agreement decision fixed (two ways,
       see :func:`polish`), for an exact plan and the shadow prices of FORMULATION.md.
    3. ``verify``: every plan is re-checked against every bound and row (no solver call).
    4. ``probe`` and ``fallback``: a MIP reported infeasible is re-checked with no
       optional agreement signed; if that LP is feasible the report was wrong, and
       the other solver solves the model.
    """
    steps = Steps(options)
    started = time.perf_counter()
    solver = steps.options.solver
    if lp.is_mip and solver == "highs":
        runs = [_solve_once(lp, steps, solver, with_duals, presolve) for presolve in ("on", "off")]
        runs = [r for r in runs if r is not None]
        with_plans = [r for r in runs if r.x is not None and not r.violations]
        if with_plans:
            result = min(with_plans, key=lambda r: (r.status != Status.OPTIMAL, r.objective))
            objectives = [r.objective for r in with_plans]
            if max(objectives) - min(objectives) > max(options.gap, 1e-9) * max(abs(min(objectives)), 1.0):
                result.add_message("HiGHS with presolve on and off disagreed (objectives "
                                   + ", ".join(f"{o:,.2f}" for o in objectives) + "); the better verified plan is kept")
        else:
            result = runs[0]
    else:
        result = _solve_once(lp, steps, solver, with_duals)
    if lp.is_mip and result.status == Status.INFEASIBLE and _feasible_unsigned(lp, steps, solver):
        other = "cbc" if solver == "highs" else "highs"
        second = _solve_once(lp, steps, other, with_duals, step=f"fallback: {other}")
        if second is not None:
            second.add_message(f"{solver} wrongly reported the model infeasible; solved with {other}")
            result = second
    skipped = [s.name for s in steps.log if s.outcome.startswith("skipped")]
    if skipped:
        result.add_message("time limit reached; skipped: " + ", ".join(skipped))
    result.steps = steps.log
    result.seconds = time.perf_counter() - started
    return result


def _feasible_unsigned(lp: LinearProgram, steps: Steps, solver: str) -> bool:
    """Whether the LP with every integer variable at 0 (no optional agreement signed) has a plan."""
    unsigned = _with_integers_fixed(lp, np.zeros(int(lp.col_integer.sum())))
    raw = steps.run("probe: LP with no optional agreement signed", unsigned, solver)
    return raw is not None and raw.kind == RawKind.OPTIMAL


def _with_integers_fixed(lp: LinearProgram, values: np.ndarray) -> LinearProgram:
    """The LP with every integer column fixed at ``values`` (in column order)."""
    lower, upper = lp.col_lower.copy(), lp.col_upper.copy()
    lower[lp.col_integer] = values
    upper[lp.col_integer] = values
    return replace(lp, col_lower=lower, col_upper=upper, col_integer=np.zeros(lp.n_cols, dtype=bool))


def _solve_once(lp: LinearProgram, steps: Steps, solver: str, with_duals: bool, presolve: str = "on",
                step: str | None = None) -> Solution | None:
    """One solver run judged: proven optimal, infeasible or not solved; a MIP plan polished; every plan verified.

    None when the step was skipped for the deadline."""
    kind = "MIP" if lp.is_mip else "LP"
    name = step or f"{solver} {kind}" + (f" (presolve {presolve})" if lp.is_mip and solver == "highs" else "")
    raw = steps.run(name, lp, solver, presolve)
    if raw is None:
        return None
    values = raw.values
    gap_ok = raw.kind == RawKind.GAP_LIMIT and _within_gap(lp, values, raw.best_bound, steps.options)
    if (raw.kind == RawKind.OPTIMAL or gap_ok) and values is not None:
        result = Solution(Status.OPTIMAL, solver, 0.0, x=values, objective=lp.objective_value(values),
                          best_bound=raw.best_bound, gap=relative_gap(lp, values, raw.best_bound))
        if with_duals and raw.row_dual is not None:
            result.row_dual, result.col_dual = raw.row_dual, raw.col_dual
    elif raw.kind == RawKind.INFEASIBLE:
        result = Solution(Status.INFEASIBLE, solver, 0.0, message=f"the model is infeasible ({raw.detail})")
    else:
        result = Solution(Status.NOT_SOLVED, solver, 0.0, x=values,
                          objective=lp.objective_value(values) if values is not None else None,
                          best_bound=raw.best_bound,
                          gap=relative_gap(lp, values, raw.best_bound) if values is not None else None,
                          message=f"the solver stopped without proving optimality ({raw.detail})")
    if result.x is not None and lp.is_mip:
        polish(lp, result, steps, solver, with_duals)
    if result.x is not None:
        result.violations = verify(lp, result.x)
        if result.violations:
            result.status = Status.NOT_SOLVED
            result.message = ("the solver's plan breaks constraints beyond tolerance: "
                              + "; ".join(result.violations[:5]))
    return result


def _within_gap(lp: LinearProgram, x: np.ndarray, best_bound: float | None, options: SolveOptions) -> bool:
    """A MIP stopped at its gap limit is proven within ``--gap`` when its bound says so."""
    gap = relative_gap(lp, x, best_bound)
    return lp.is_mip and gap is not None and gap <= options.gap * (1 + 1e-9) + 1e-12


def relative_gap(lp: LinearProgram, x: np.ndarray, best_bound: float | None) -> float | None:
    if not lp.is_mip:
        return 0.0
    if best_bound is None:
        return None
    objective = lp.objective_value(x)
    return abs(objective - best_bound) / max(abs(objective), 1e-9)


def polish(lp: LinearProgram, result: Solution, steps: Steps, solver: str, with_duals: bool) -> None:
    """Fix every integer variable and re-solve the LP; keep the better of two ways of fixing them.

    The MIP's incumbent carries integrality noise: with a capacity of 1e8, a y of
    1e-7 counts as 0 within tolerance yet lets 10 units through without paying
    the fixed cost. Fixing y by rounding forbids those purchases; fixing y = 1
    wherever the offer bought something pays for them. Both are feasible
    decisions; the LP with the better one gives the exact plan, and its duals
    are the shadow prices FORMULATION.md asks for ("from the LP with y fixed").
    """
    rounded = np.round(result.x[lp.col_integer])
    candidates = {"rounded": rounded}
    used = _agreements_with_purchases(lp, result.x)
    if used is not None and (np.maximum(rounded, used) != rounded).any():
        candidates["signed where bought"] = np.maximum(rounded, used)
    best = None
    for label, values in candidates.items():
        fixed = _with_integers_fixed(lp, values)
        raw = steps.run(f"polish: LP, agreements fixed ({label})", fixed, solver)
        if raw is None or raw.kind != RawKind.OPTIMAL or raw.values is None:
            continue
        objective = fixed.objective_value(raw.values)
        if best is None or objective < best[0]:
            best = (objective, raw)
    if best is None:
        return  # keep the incumbent; verify() judges it
    raw = best[1]
    result.x = raw.values
    result.objective = lp.objective_value(raw.values)
    result.gap = relative_gap(lp, result.x, result.best_bound)
    if with_duals and raw.row_dual is not None:
        result.row_dual = raw.row_dual
        result.col_dual = raw.col_dual
        result.duals_from_fixed_lp = True


def _agreements_with_purchases(lp: LinearProgram, x: np.ndarray) -> np.ndarray | None:
    """Per integer column (an optional agreement's y): 1 where the incumbent bought from that offer."""
    if "y" not in lp.columns or "x" not in lp.columns:
        return None
    y_block, x_block = lp.columns["y"], lp.columns["x"]
    if y_block.start != int(np.flatnonzero(lp.col_integer)[0]) or lp.col_integer.sum() != y_block.size:
        return None  # integer columns other than y: no such model today
    buying = np.unique(x_block.keys["offer"][x[x_block.slice()] > 1e-9])
    return np.isin(y_block.keys["offer"], buying).astype(float)


def verify(lp: LinearProgram, x: np.ndarray) -> list[str]:
    """Every bound, row and integrality the plan ``x`` breaks beyond tolerance, described by family and position."""
    problems = []
    scale = np.maximum(1.0, np.abs(x))
    low = np.flatnonzero(x < lp.col_lower - FEASIBILITY_TOL * scale)
    high = np.flatnonzero(x > lp.col_upper + FEASIBILITY_TOL * scale)
    for j in np.concatenate([low, high])[:10]:
        problems.append(f"column {_describe(lp.columns, j)} = {x[j]:.9g} outside "
                        f"[{lp.col_lower[j]:.9g}, {lp.col_upper[j]:.9g}]")
    integer = np.flatnonzero(lp.col_integer)
    fractional = integer[np.abs(x[integer] - np.round(x[integer])) > INTEGRALITY_TOL]
    for j in fractional[:10]:
        problems.append(f"column {_describe(lp.columns, j)} = {x[j]:.9g} is not whole")
    activity = lp.row_activity(x)
    row_scale = np.maximum(1.0, np.bincount(
        lp.row_of_term(),
        weights=np.abs(lp.a_value * x[lp.a_index]), minlength=lp.n_rows))
    row_scale = np.maximum(row_scale, np.abs(np.where(np.isfinite(lp.row_upper), lp.row_upper, 0)))
    bad = np.flatnonzero((activity < lp.row_lower - FEASIBILITY_TOL * row_scale)
                         | (activity > lp.row_upper + FEASIBILITY_TOL * row_scale))
    for i in bad[:10]:
        problems.append(f"row {_describe(lp.rows, i)}: {activity[i]:.9g} outside "
                        f"[{lp.row_lower[i]:.9g}, {lp.row_upper[i]:.9g}]")
    return problems


def _describe(blocks, index: int) -> str:
    block, local = block_of(blocks, index)
    if block is None:
        return str(index)
    keys = ", ".join(f"{k}={v[local]}" for k, v in block.keys.items())
    return f"{block.name}[{keys}]"
