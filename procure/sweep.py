"""Warm-started sweeps: one HiGHS model kept in memory, changed in place and re-solved.

A sweep solves many programs that differ from one another in a few numbers:
the China-cap frontier changes the coefficient ``-cap`` of the ``total``
column in each China-exposure row; the price of a rule frees the rule's rows
(bounds -inf..+inf, the same feasible set as the rebuilt model without them);
the value of an agreement fixes the bounds of one ``y`` column. Rebuilding and
re-passing the model for each costs a cold solve each time; changing it in
place lets HiGHS start an LP from the previous optimal basis (dual simplex)
and a MIP from the previous incumbent (``setSolution``).

Every warm result is held to the rules of :func:`procure.solve.solve`:

- rows are scaled by the same power-of-two factors (:func:`procure.solve.row_scale`,
  computed once from the program the model starts from and then kept fixed: a
  changed coefficient is multiplied by its row's factor; any power of two is
  exact, so a fixed factor changes no solution);
- every plan is re-checked by :func:`procure.solve.verify` against the program
  as changed (this module keeps a copy of the program's arrays in step with HiGHS);
- a MIP plan is polished by the fixed-agreement LP as ``solve()`` does;
- whatever is not proven optimal and verified (infeasible, stopped, a time
  limit, a violation) is solved again cold by :func:`procure.solve.solve`, so
  a warm sweep can only be faster, never less sure, than cold solves.

HiGHS only: any other solver goes through the cold path (see :func:`supports`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from procure.program import INF, LinearProgram
from procure.solve import (
    Solution,
    SolveOptions,
    Status,
    Step,
    Steps,
    highs_model,
    polish,
    quiet_stdout,
    relative_gap,
    row_scale,
    solve,
    verify,
)

_log = logging.getLogger("procure.sweep")


def supports(options: SolveOptions) -> bool:
    """Whether a warm sweep can run with these options (HiGHS in-process; other solvers re-solve cold)."""
    return options.solver == "highs"


class WarmModel:
    """A program held in one HiGHS instance, changed in place and re-solved from its last basis or incumbent.

    ``program`` is the current program (its arrays are copies, changed with the
    model, so :func:`procure.solve.verify` checks each plan against what was solved).
    The row scale factors are fixed at construction (see the module docstring).
    """

    def __init__(self, program: LinearProgram, options: SolveOptions):
        import highspy

        self._highspy = highspy
        self.options = options.started()
        self.program = replace(program, a_value=program.a_value.copy(), row_lower=program.row_lower.copy(),
                               row_upper=program.row_upper.copy(), col_lower=program.col_lower.copy(),
                               col_upper=program.col_upper.copy())
        self.scale = row_scale(program)
        self._row_of_term = program.row_of_term()
        self._incumbent: np.ndarray | None = None
        self.highs = highs_model(self.program, self.scale, verbose=self.options.verbose,
                                 mip_rel_gap=float(self.options.gap))

    # ------------------------------------------------------------ changes

    def set_coefficients(self, positions: np.ndarray, values: np.ndarray) -> None:
        """Set stored coefficients (by CSR position) to ``values``, in the program's units (0 removes it in HiGHS)."""
        values = np.broadcast_to(np.asarray(values, float), positions.shape)
        rows = self._row_of_term[positions]
        columns = self.program.a_index[positions]
        self.program.a_value[positions] = values
        for row, col, value in zip(rows.tolist(), columns.tolist(), (values * self.scale[rows]).tolist()):
            self.highs.changeCoeff(int(row), int(col), float(value))

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Row bounds in the program's units (-inf/+inf free the row: the same as a row not built)."""
        rows = np.asarray(rows, dtype=np.int32)
        if not len(rows):
            return
        lower = np.broadcast_to(np.asarray(lower, float), rows.shape).copy()
        upper = np.broadcast_to(np.asarray(upper, float), rows.shape).copy()
        self.program.row_lower[rows], self.program.row_upper[rows] = lower, upper
        scale = self.scale[rows]
        with np.errstate(invalid="ignore"):
            self.highs.changeRowsBounds(len(rows), rows, lower * scale, upper * scale)

    def set_col_bounds(self, columns: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        columns = np.asarray(columns, dtype=np.int32)
        lower = np.broadcast_to(np.asarray(lower, float), columns.shape).copy()
        upper = np.broadcast_to(np.asarray(upper, float), columns.shape).copy()
        self.program.col_lower[columns], self.program.col_upper[columns] = lower, upper
        self.highs.changeColsBounds(len(columns), columns, lower, upper)

    # ------------------------------------------------------------ solving

    def solve(self, start: np.ndarray | None = None, label: str = "warm") -> Solution:
        """Re-solve the program as changed: proven optimal and verified, or else solved cold by ``solve()``.

        An LP starts from the last basis HiGHS holds. A MIP starts from ``start``
        when given, else from the last incumbent when it fits the current bounds
        (HiGHS checks it against the rows and drops it if it does not fit);
        its plan is then polished by the fixed-agreement LP, as ``solve()`` does.
        """
        started = time.perf_counter()
        steps = Steps(self.options)
        lp = self.program
        result = self._run(steps, label, start)
        if result is not None and result.x is not None and lp.is_mip:
            polish(lp, result, steps, "highs", False)
        if result is not None and result.x is not None:
            result.violations = verify(lp, result.x)
        if result is None or result.status != Status.OPTIMAL or result.violations:
            why = "skipped" if result is None else (result.message or result.status)
            _log.info("%s: not proven by the warm re-solve (%s); solving cold", label, why)
            result = solve(lp, self.options, with_duals=False)
            result.add_message("warm re-solve not proven; solved cold")
            result.steps = steps.log + result.steps
        else:
            result.steps = steps.log
            if lp.is_mip:
                self._incumbent = result.x
        result.seconds = time.perf_counter() - started
        return result

    def _run(self, steps: Steps, label: str, start: np.ndarray | None) -> Solution | None:
        highspy = self._highspy
        lp = self.program
        remaining = self.options.remaining_s()
        if remaining is not None and remaining <= 0:
            steps.record(Step(label, 0.0, "skipped: the time limit was reached before it could start"))
            return None
        highs = self.highs
        began = time.perf_counter()
        with quiet_stdout(not self.options.verbose):
            # HiGHS's time_limit counts from the first run() of this instance: add the time already spent
            highs.setOptionValue("time_limit", float(highs.getRunTime() + remaining) if remaining is not None
                                 else INF)
            if lp.is_mip:
                start = start if start is not None else self._incumbent
                if start is not None:
                    solution = highspy.HighsSolution()
                    solution.col_value = np.clip(start, lp.col_lower, lp.col_upper).tolist()
                    solution.value_valid = True
                    highs.setSolution(solution)
            highs.run()
        status = highs.getModelStatus()
        detail = highs.modelStatusToString(status)
        info = highs.getInfo()
        steps.record(Step(label, time.perf_counter() - began, f"{detail}, {info.simplex_iteration_count} "
                                                               "simplex iterations"))
        has_values = info.primal_solution_status == 2  # kSolutionStatusFeasible
        if not has_values:
            return Solution(Status.NOT_SOLVED, "highs", 0.0, message=detail)
        x = np.asarray(highs.getSolution().col_value)
        bound = info.mip_dual_bound if lp.is_mip and np.isfinite(info.mip_dual_bound) else None
        optimal = status == highspy.HighsModelStatus.kOptimal  # a MIP within mip_rel_gap reports optimal
        return Solution(Status.OPTIMAL if optimal else Status.NOT_SOLVED, "highs", 0.0, x=x,
                        objective=lp.objective_value(x), best_bound=bound, gap=relative_gap(lp, x, bound),
                        message="" if optimal else detail)
