#!/usr/bin/env python
"""Shrink a procure model on which HiGHS misbehaves to the smallest model that still shows it.

    python benchmarks/highs_minimize.py CASE [--out DIR] [--full-mps DIR] [--budget-s SECONDS] [--start MPS]

CASE is one of

* ``wrong-optimal``: the sample with ``models/china-export-controls.toml``
  (China cap 0.3; 1321 rows, 1523 columns, 8 binary). Unscaled, highspy
  1.16.0 with presolve on reports "Optimal" at 1,075,757,969,893.37 USD; the
  optimum is 154,633,532,387.01 USD (row-scaled HiGHS; CBC agrees to 2e-9).
* ``wrong-infeasible``: the sample with every China cap at 0.5 (the
  ``frontier`` point). Unscaled, HiGHS with presolve off reports
  "Infeasible"; the optimum is 106,310,408,769.15 USD (CBC agrees).

The fixtures in tests/fixtures/highs/ came from one run per case (2 and 6
minutes on a loaded 2-core machine: 15 x 59 and 31 x 49) and two runs each
with ``--start`` on the previous result (under a minute each: 15 x 47 and
26 x 41; the second run removes nothing more). A rerun of wrong-optimal from
scratch wrote the same file byte for byte:

    python benchmarks/highs_minimize.py wrong-optimal --out /tmp/a
    python benchmarks/highs_minimize.py wrong-optimal --start /tmp/a/wrong-optimal.mps --out /tmp/b
    python benchmarks/highs_minimize.py wrong-optimal --start /tmp/b/wrong-optimal.mps

The model is procure's LinearProgram exactly as ``procure.solve._run_highs``
would pass it, but WITHOUT ``procure.solve.row_scale``. The misbehaviour is
judged against one reference plan: the model solved by HiGHS after procure's
row scaling (presolve on and off, the better plan), integers rounded. It
meets every row to 1e-9 (see ``feasible``; it misses by at most 1.2e-10),
far inside HiGHS's own tolerances, and is kept so as columns are fixed. A
claim of "Optimal" above the plan's cost by more than 0.1 % is wrong. A claim
of "Infeasible" is wrong when, besides, the row-scaled model stays feasible
with every inequality tightened a little (``has_margin``): otherwise the
search drifts to models feasible only to the last bit.

Shrinking, greedily while the misbehaviour persists (delta debugging with
halving chunk sizes), carrying the reference plan along:

1. drop rows;
2. fix columns at the plan's value (moving them into the row bounds and the
   objective constant, so the plan stays feasible);
3. drop rows and fix columns again, down to single ones;
4. simplify numbers: costs, bounds, row bounds and coefficients rounded to 1,
   2, 3, 4 or 6 significant digits, the fewest that keep the misbehaviour
   and the plan feasible;
5. drop rows and fix columns once more.

Each accepted step is logged. The smallest model is written as free MPS by
HiGHS's own ``writeModel`` to ``DIR/CASE.mps`` (default tests/fixtures/highs),
then read back and re-checked, so the file itself reproduces. HiGHS runs
with ``random_seed`` 0, so reruns make the same choices.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
WORSE_BY = 1e-3  # a claimed optimum this much (relative) above a checked plan is wrong

CASES = {
    "wrong-optimal": dict(model="models/china-export-controls.toml", cap=None, presolve="on"),
    "wrong-infeasible": dict(model=None, cap=0.5, presolve="off"),
}


@dataclass(frozen=True)
class Model:
    """``min cost x + offset  s.t.  row_lower <= A x <= row_upper,  col_lower <= x <= col_upper``.

    ``integer`` marks the integer columns; costs and offset in USD.
    """

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    a: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    offset: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.a.shape

    def describe(self) -> str:
        return (f"{self.a.shape[0]} rows, {self.a.shape[1]} columns ({int(self.integer.sum())} integer), "
                f"{self.a.nnz} nonzeros")


def from_program(lp) -> Model:
    """The procure LinearProgram as a Model (the same numbers ``_run_highs`` passes, before row scaling)."""
    a = sp.csr_matrix((lp.a_value, lp.a_index, lp.a_start), shape=(lp.n_rows, lp.n_cols))
    return Model(lp.col_cost.astype(float), lp.col_lower.astype(float), lp.col_upper.astype(float),
                 lp.col_integer.astype(bool), a, lp.row_lower.astype(float), lp.row_upper.astype(float),
                 float(lp.objective_constant))


def sample_model(case: str) -> Model:
    """The unscaled procure model of ``case`` built from the bundled sample."""
    from procure import formulation, pipeline
    from procure.instance import build_instance

    spec = CASES[case]
    model = ROOT / spec["model"] if spec["model"] else None
    instance = build_instance(pipeline.load(ROOT / "procure/data/sample.xlsx", model))
    if spec["cap"] is not None:
        instance = replace(instance, china_cap=np.full_like(instance.china_cap, spec["cap"]))
    return from_program(formulation.build(instance))


def power_of_two_row_scale(m: Model) -> np.ndarray:
    """procure.solve.row_scale on this model: per row 2^-round(log2(largest |a|)), the smallest |a| kept >= 2^-20."""
    from procure.solve import row_scale

    a = m.a.tocsr()
    a.sort_indices()
    shim = _ProgramShim(a)
    return row_scale(shim)


@dataclass
class _ProgramShim:
    """Just the CSR arrays ``procure.solve.row_scale`` reads."""

    a: sp.csr_matrix

    @property
    def n_rows(self) -> int:
        return self.a.shape[0]

    @property
    def a_start(self) -> np.ndarray:
        return self.a.indptr

    @property
    def a_value(self) -> np.ndarray:
        return self.a.data


def to_highs(m: Model, presolve: str, scale: np.ndarray | None = None):
    """A highspy.Highs holding ``m`` (rows multiplied by ``scale`` when given), deterministic and silent."""
    import highspy

    s = np.ones(m.shape[0]) if scale is None else scale
    a = sp.diags(s) @ m.a if scale is not None else m.a
    a = sp.csr_matrix(a)
    a.sort_indices()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("presolve", presolve)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = m.shape[1], m.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = m.cost, m.col_lower, m.col_upper
    lp.row_lower_, lp.row_upper_ = m.row_lower * s, m.row_upper * s
    lp.offset_ = m.offset
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = m.shape[1], m.shape[0]
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    if m.integer.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                           for i in m.integer]
    h.passModel(lp)
    return h


@dataclass
class Run:
    status: str  # HiGHS's model status string
    objective: float | None
    x: np.ndarray | None


def run(m: Model, presolve: str, scaled: bool) -> Run:
    h = to_highs(m, presolve, power_of_two_row_scale(m) if scaled else None)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    if info.primal_solution_status == 2:
        return Run(status, float(info.objective_function_value), np.asarray(h.getSolution().col_value))
    return Run(status, None, None)


def violation(m: Model, x: np.ndarray) -> np.ndarray:
    """Per row, how far ``A x`` lies outside its bounds (0 when inside)."""
    activity = m.a @ x
    return np.maximum(np.maximum(m.row_lower - activity, activity - m.row_upper), 0.0)


def tolerance(m: Model, x: np.ndarray) -> np.ndarray:
    """Per row, the miss allowed to a feasible plan: 1e-9 plus rounding error of the row's terms (1e-16 of their sum).

    A hundred times tighter than HiGHS's own primal tolerance (1e-7), so a
    model with such a plan is feasible by HiGHS's definition, not only nearly so.
    """
    return 1e-9 + 1e-16 * (abs(m.a) @ np.abs(x))


def feasible(m: Model, x: np.ndarray) -> bool:
    """``x`` meets every bound and integrality exactly and every row to ``tolerance``."""
    if (x < m.col_lower).any() or (x > m.col_upper).any():
        return False
    if (np.abs(x[m.integer] - np.round(x[m.integer])) > 0).any():
        return False
    return bool((violation(m, x) <= tolerance(m, x)).all())


def settle(m: Model, x: np.ndarray) -> Model:
    """Move the row bounds that ``x`` misses beyond ``tolerance`` onto ``x``'s activity (an equality stays one).

    Only rows that need it: HiGHS's answers on these models change when a
    right-hand side moves by 1e-10, so nothing else is touched.
    """
    activity = m.a @ x
    missed = violation(m, x) > tolerance(m, x)
    if not missed.any():
        return m
    lower, upper = m.row_lower.copy(), m.row_upper.copy()
    equality = missed & (lower == upper)
    low, high = missed & (activity < lower), missed & (activity > upper)
    lower[low] = activity[low]
    upper[high] = activity[high]
    lower[equality], upper[equality] = activity[equality], activity[equality]
    return replace(m, row_lower=lower, row_upper=upper)


def reference(m: Model, strict: bool = True) -> np.ndarray | None:
    """The best plan of the row-scaled model (presolve on and off), integers rounded, clipped to the bounds.

    With ``strict``, only a plan that is ``feasible``.
    """
    best = None
    for presolve in ("on", "off"):
        r = run(m, presolve, scaled=True)
        if r.x is None:
            continue
        x = np.clip(np.where(m.integer, np.round(r.x), r.x), m.col_lower, m.col_upper)
        if strict and not feasible(m, x):
            continue
        if best is None or m.cost @ x < m.cost @ best:
            best = x
    return best


def misbehaves(m: Model, case: str, x: np.ndarray) -> tuple[bool, str]:
    """Whether unscaled HiGHS errs on ``m``, given ``x``, a plan feasible for ``m`` (see ``feasible``).

    wrong-infeasible: HiGHS says "Infeasible". wrong-optimal: HiGHS says
    "Optimal" at an objective above ``x``'s by more than WORSE_BY of both the
    objective and its variable part (the constant grows as columns are fixed).
    """
    assert feasible(m, x), "the reference plan must stay feasible"
    bad = run(m, CASES[case]["presolve"], scaled=False)
    planned = float(m.cost @ x + m.offset)
    detail = f"unscaled: {bad.status} {bad.objective!r}; feasible plan at {planned!r}"
    if case == "wrong-infeasible":
        return bad.status == "Infeasible" and has_margin(m), detail
    if bad.status != "Optimal" or bad.objective is None:
        return False, detail
    excess = bad.objective - planned
    return bool(excess > WORSE_BY * max(abs(planned), abs(float(m.cost @ x)), 1.0)), detail


def has_margin(m: Model) -> bool:
    """Whether the row-scaled model stays feasible with every inequality tightened by 1e-9 of its bound (at least 1e-6).

    Without it the search drifts to models feasible only to the last bit (all
    columns forced by equalities, the budget met with no slack), where
    "Infeasible" is a fair answer.
    """
    margin = np.maximum(1e-9 * np.abs(np.where(np.isfinite(m.row_upper), m.row_upper, 0.0)), 1e-6)
    low_margin = np.maximum(1e-9 * np.abs(np.where(np.isfinite(m.row_lower), m.row_lower, 0.0)), 1e-6)
    inequality = m.row_lower < m.row_upper
    tight = replace(m, row_upper=np.where(inequality, m.row_upper - margin, m.row_upper),
                    row_lower=np.where(inequality, m.row_lower + low_margin, m.row_lower))
    return run(tight, "on", scaled=True).status == "Optimal"


# --- reductions ------------------------------------------------------------------------------------

def drop_rows(m: Model, rows: np.ndarray) -> Model:
    keep = np.setdiff1d(np.arange(m.shape[0]), rows)
    return replace(m, a=m.a[keep], row_lower=m.row_lower[keep], row_upper=m.row_upper[keep])


def fix_columns(m: Model, cols: np.ndarray, x: np.ndarray) -> tuple[Model, np.ndarray]:
    """Substitute x[cols] = x's values: their terms move into the row bounds and the objective constant."""
    keep = np.setdiff1d(np.arange(m.shape[1]), cols)
    moved = m.a[:, cols] @ x[cols]
    fixed = Model(m.cost[keep], m.col_lower[keep], m.col_upper[keep], m.integer[keep], m.a[:, keep].tocsr(),
                  m.row_lower - moved, m.row_upper - moved, m.offset + float(m.cost[cols] @ x[cols]))
    return settle(fixed, x[keep]), x[keep]


def drop_empty(m: Model, x: np.ndarray) -> tuple[Model, np.ndarray]:
    """Rows with no entries go; columns with no entries are fixed at ``x``."""
    col_count = np.diff(m.a.tocsc().indptr)
    if (col_count == 0).any():
        m, x = fix_columns(m, np.flatnonzero(col_count == 0), x)
    row_count = np.diff(m.a.indptr)
    return (drop_rows(m, np.flatnonzero(row_count == 0)) if (row_count == 0).any() else m), x


def round_sig(values: np.ndarray, digits: int) -> np.ndarray:
    finite = np.isfinite(values) & (values != 0)
    out = values.copy()
    exponent = np.floor(np.log10(np.abs(values[finite])))
    factor = 10.0 ** (digits - 1 - exponent)
    out[finite] = np.round(values[finite] * factor) / factor
    return out


class Shrinker:
    """Greedy delta debugging; ``x`` (a plan feasible for the current model) is carried along."""

    def __init__(self, case: str, budget_s: float):
        self.case = case
        self.deadline = time.monotonic() + budget_s
        self.tests = 0

    def holds(self, m: Model, x: np.ndarray) -> bool:
        self.tests += 1
        return feasible(m, x) and misbehaves(m, self.case, x)[0]

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def ddmin(self, m: Model, x: np.ndarray, kind: str) -> tuple[Model, np.ndarray]:
        """Remove chunks of rows (kind 'rows') or fix chunks of columns ('cols'), halving the chunk size."""
        def count():
            return m.shape[0] if kind == "rows" else m.shape[1]

        chunk = max(count() // 2, 1)
        while chunk >= 1 and not self.out_of_time():
            start = 0
            while start < count() and not self.out_of_time():
                idx = np.arange(start, min(start + chunk, count()))
                if kind == "rows":
                    trial, x_trial = drop_empty(drop_rows(m, idx), x)
                else:
                    trial, x_trial = drop_empty(*fix_columns(m, idx, x))
                if self.holds(trial, x_trial):
                    m, x = trial, x_trial
                    log(f"  {kind}: removed {len(idx)} at {start} -> {m.describe()}")
                else:
                    start += chunk
            chunk //= 2
        return m, x

    def simplify(self, m: Model, x: np.ndarray) -> tuple[Model, np.ndarray]:
        """Round numbers to as few significant digits as keep the misbehaviour and the plan feasible.

        Whole arrays first, then one entry at a time; a row's two bounds are
        rounded together, so an equality stays an equality.
        """
        for digits in (1, 2, 3, 4, 6):
            for field in ("cost", "col_upper", "rows", "data"):
                trial = self._rounded(m, field, None, digits)
                if trial is not None and self.holds(trial, x):
                    m = trial
                    log(f"  simplify: every {field} to {digits} digits")
        for field in ("cost", "col_upper", "rows", "data"):
            size = {"data": len(m.a.data), "rows": m.shape[0]}.get(field) or len(getattr(m, field))
            for i in range(size):
                if self.out_of_time():
                    return m, x
                for digits in (1, 2, 3, 4, 6):
                    trial = self._rounded(m, field, i, digits)
                    if trial is not None and self.holds(trial, x):
                        m = trial
                        break
        log("  simplify: entries rounded one at a time")
        return m, x

    @staticmethod
    def _rounded(m: Model, field: str, index: int | None, digits: int) -> Model | None:
        def rounded(values):
            new = values.copy()
            if index is None:
                return round_sig(values, digits)
            new[index] = round_sig(values[index:index + 1], digits)[0]
            return new

        if field == "rows":
            lower, upper = rounded(m.row_lower), rounded(m.row_upper)
            if np.array_equal(lower, m.row_lower) and np.array_equal(upper, m.row_upper):
                return None
            return replace(m, row_lower=lower, row_upper=upper)
        values = m.a.data if field == "data" else getattr(m, field)
        new = rounded(values)
        if np.array_equal(new, values):
            return None
        if field == "data":
            a = m.a.copy()
            a.data = new
            return replace(m, a=a)
        return replace(m, **{field: new})


def write_mps(m: Model, path: Path) -> None:
    """The model as free MPS written by HiGHS itself."""
    h = to_highs(m, "on")
    path.parent.mkdir(parents=True, exist_ok=True)
    h.writeModel(str(path))


def read_mps(path: Path) -> Model:
    """A Model from an MPS file, read by HiGHS."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(path))
    lp = h.getLp()
    a = lp.a_matrix_
    csc = sp.csc_matrix((np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_)),
                        shape=(lp.num_row_, lp.num_col_))
    integer = np.zeros(lp.num_col_, dtype=bool)
    if len(lp.integrality_):
        integer = np.array([v == highspy.HighsVarType.kInteger for v in lp.integrality_])
    return Model(np.asarray(lp.col_cost_), np.asarray(lp.col_lower_), np.asarray(lp.col_upper_), integer,
                 csc.tocsr(), np.asarray(lp.row_lower_), np.asarray(lp.row_upper_), float(lp.offset_))


def report(m: Model, label: str) -> None:
    """Every run: presolve on/off x unscaled / procure row scale."""
    log(f"{label}: {m.describe()}")
    for scaled in (False, True):
        for presolve in ("on", "off"):
            r = run(m, presolve, scaled)
            log(f"  {'row-scaled' if scaled else 'unscaled  '} presolve={presolve:3}: {r.status:12} "
                f"objective {r.objective!r}")


def log(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--out", type=Path, default=ROOT / "tests/fixtures/highs")
    parser.add_argument("--full-mps", type=Path, default=None,
                        help="also write the unscaled full model here (CASE-full.mps)")
    parser.add_argument("--budget-s", type=float, default=1200.0, help="stop shrinking after this long")
    parser.add_argument("--start", type=Path, default=None,
                        help="shrink this MPS model (e.g. an earlier result) instead of the sample's")
    args = parser.parse_args(argv)

    from importlib.metadata import version

    log(f"highspy {version('highspy')}; case {args.case}")
    m = read_mps(args.start) if args.start is not None else sample_model(args.case)
    if args.full_mps is not None:
        full = args.full_mps / f"{args.case}-full.mps"
        write_mps(m, full)
        m = read_mps(full)  # work from the file, so the file reproduces
        log(f"wrote {full}")
    report(m, "full model")
    x = reference(m)
    if x is None:
        # the plan sits on a row whose right side is so large that rounding alone misses it
        # (a shrunk model whose optimum is on the budget row): move that bound onto the plan
        x = reference(m, strict=False)
        if x is None:
            log("the row-scaled model has no plan; nothing to compare against")
            return 1
        log(f"reference plan misses rows by up to {violation(m, x).max():.3g}; those bounds moved onto it")
        m = settle(m, x)
    log(f"reference plan misses rows by at most {violation(m, x).max():.3g} (allowed: 1e-9)")
    wrong, detail = misbehaves(m, args.case, x)
    log(detail)
    if not wrong:
        log("the full model does not misbehave with this HiGHS; nothing to shrink")
        return 1

    shrinker = Shrinker(args.case, args.budget_s)
    started = time.monotonic()
    for kind in ("rows", "cols", "rows", "cols"):
        m, x = shrinker.ddmin(m, x, kind)
        log(f"after {kind}: {m.describe()}  ({shrinker.tests} tests, {time.monotonic() - started:.0f} s)")
    m, x = shrinker.simplify(m, x)
    m, x = shrinker.ddmin(m, x, "rows")
    m, x = shrinker.ddmin(m, x, "cols")
    log(f"smallest: {m.describe()}  ({shrinker.tests} tests, {time.monotonic() - started:.0f} s)")

    path = args.out / f"{args.case}.mps"
    write_mps(m, path)
    again = read_mps(path)
    report(again, f"read back from {path}")
    log(f"the plan carried along is {'still' if feasible(again, x) else 'NOT'} feasible after the MPS round trip")
    np.save(args.out / f"{args.case}-plan.npy", x)
    wrong, detail = misbehaves(again, args.case, x) if feasible(again, x) else (False, "")
    log(detail)
    log("the file reproduces the misbehaviour" if wrong else "WARNING: the file does not reproduce it")
    return 0 if wrong else 1


if __name__ == "__main__":
    sys.exit(main())
