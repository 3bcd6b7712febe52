#!/usr/bin/env python
"""The floor of ``procure stress``: a bare loop of the same period-by-period solves on one HiGHS model.

    python benchmarks/stress_floor.py WORKBOOK [--draws N] [--seed K] [--foresight none|full] [--json OUT]

WORKBOOK needs a Risks sheet (the bundled sample, ``procure/data/sample.xlsx``, has one;
``benchmarks/add_risks.py`` adds one to a copy of another). The same recourse LP as
``procure stress`` (procure.stress.build_base) is passed to HiGHS once, with the same settings
(one thread, presolve off). The solves are those ``procure stress`` makes when it reuses nothing
(``run_draws(..., reuse=False)``): with ``--foresight none``, per draw one solve for its first
period and one for each later period in which an event starts, each knowing the events started
so far, with the purchases and shortfall of the periods before fixed at the previous solve's values
and started from the basis that solve ended with (the first from the basis of the program without
events); with ``full``, one solve per draw from that basis. Every solve's data (x bounds and costs,
balance right-hand sides, shortfall bounds, reserve targets) is computed BEFORE the clock starts,
so the timed loop is only: fix the earlier periods' columns at the previous values (a numpy
``where``), set every x bound and cost, every balance row, shortfall bound and reserve-target row,
change the price coefficients that differ, set the basis, run, read the column values and the
basis. No diffing, no sampling, no reuse, no statistics, no Dask. The price-proportional matrix
coefficients (budget rows, value shares) are changed where they differ from the previous solve's,
one ``changeCoeff`` each, from a list made before the clock: the loop solves the same LPs as
``procure stress``, in the same order (an earlier floor left them at their base values: a cheaper
loop, but of other LPs). The goal: a ``procure stress`` worker keeps at least 80% of this
throughput (benchmarks/stress.py compares them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from procure import stress  # noqa: E402


def solve_plan(base, started: np.ndarray, foresight: str) -> list[tuple[int, np.ndarray]]:
    """The solves of a draw: (first period not fixed, the events known: started up to that period)."""
    if foresight == "full":
        return [(0, started)]
    steps = []
    for t in range(base.n_periods):
        if t == 0 or started[:, t].any():
            known = np.zeros_like(started)
            known[:, :t + 1] = started[:, :t + 1]
            steps.append((t, known))
    return steps


def draw_data(base, draws: int, seed: int, foresight: str = "none"):
    """Per draw, its solves: (first free period, x lower, x upper, x cost, balance rhs (scaled), shortfall
    upper, reserve-target lower (scaled)), as the stress run sets them before fixing earlier periods."""
    n_m, n_t = base.n_minerals, base.n_periods
    committed = ~np.isnan(base.committed_x)
    target_rows = base.target_start + np.arange(n_m * n_t)
    rows = base.balance_start + np.arange(n_m * n_t)
    # the price coefficients of each x column (rows that hold prices: budgets, value shares)
    coefficients: dict[int, list[tuple[int, int, float]]] = {}
    for entry, k, row in zip(base.price_entries.tolist(), base.price_entry_column.tolist(),
                             base.price_entry_row.tolist()):
        coefficients.setdefault(k, []).append((row, k + base.x_start, float(base.a_value[entry])))
    held = np.ones(len(base.op_capacity))  # the price factors the model holds, solve after solve
    out = []
    _, started = stress.sample_chunk(base.masks, n_t, seed, 0, draws)
    for i in range(draws):
        solves = []
        for t, known in solve_plan(base, started[i], foresight):
            shock = stress.shocked_data(base, stress.in_progress_of(known, base.masks.duration_periods))
            upper = np.where(base.x_allowed, base.op_capacity * shock.capacity_factor, 0.0)
            lower = np.minimum(base.op_min_volume, upper)
            fixed = np.minimum(np.where(committed, base.committed_x, 0.0), upper)
            demand = (base.demand + shock.extra_demand).ravel()
            rhs = demand - np.where(np.arange(n_m * n_t) % n_t == 0, np.repeat(base.initial_reserve, n_t), 0.0)
            # the coefficient changes from the previous solve's LP to this one's, in the loop's order
            changes = [(row, column, value * float(shock.price_factor[k]))
                       for k in np.flatnonzero(shock.price_factor != held).tolist()
                       for row, column, value in coefficients.get(k, ())]
            held = shock.price_factor
            solves.append((t, np.where(committed, fixed, lower), np.where(committed, fixed, upper),
                           base.op_price_usd * shock.price_factor, rhs * base.row_scale[rows], demand,
                           shock.reserve_target.ravel() * base.row_scale[target_rows], changes))
        out.append(solves)
    return out


def floor(base, data) -> tuple[float, int]:
    """Seconds for the bare loop over ``data``, and how many solves ended optimal (see :func:`floor_cpu`)."""
    seconds, _, optimal = floor_cpu(base, data)
    return seconds, optimal


def floor_cpu(base, data) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of this process, and optimal solves, for the bare loop over ``data``."""
    model = stress._Recourse(base)  # the same model and settings; only its HiGHS object and start basis are used
    highs, ok = model.highs, model.highspy.HighsModelStatus.kOptimal
    n_k, n_mt = len(base.op_capacity), base.n_minerals * base.n_periods
    x_cols = (base.x_start + np.arange(n_k)).astype(np.int32)
    rows = (base.balance_start + np.arange(n_mt)).astype(np.int32)
    target_rows = (base.target_start + np.arange(n_mt)).astype(np.int32)
    s_cols = (base.shortfall_start + np.arange(n_mt)).astype(np.int32)
    x_past = [base.op_period < t for t in range(base.n_periods)]
    s_past = [np.arange(n_mt) % base.n_periods < t for t in range(base.n_periods)]
    x_slice = slice(base.x_start, base.x_start + n_k)
    s_slice = slice(base.shortfall_start, base.shortfall_start + n_mt)
    zeros, infinite = np.zeros(n_mt), np.full(n_mt, np.inf)
    optimal = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for solves in data:
        values, basis = None, model.start_basis
        for t, lower, upper, cost, rhs, demand, target, changes in solves:
            s_lower, s_upper = zeros, demand
            if t > 0:
                lower = np.where(x_past[t], values[x_slice], lower)
                upper = np.where(x_past[t], values[x_slice], upper)
                s_lower = np.where(s_past[t], values[s_slice], zeros)
                s_upper = np.where(s_past[t], values[s_slice], demand)
            highs.changeColsBounds(n_k, x_cols, lower, upper)
            highs.changeColsCost(n_k, x_cols, cost)
            highs.changeRowsBounds(n_mt, rows, rhs, rhs)
            highs.changeColsBounds(n_mt, s_cols, s_lower, s_upper)
            highs.changeRowsBounds(n_mt, target_rows, target, infinite)
            for row, column, value in changes:
                highs.changeCoeff(row, column, value)
            highs.setBasis(basis)
            highs.run()
            values = np.fromiter(highs.getSolution().col_value, float)
            basis = highs.getBasis()
            optimal += highs.getModelStatus() == ok
    return time.perf_counter() - started, time.process_time() - cpu_started, optimal


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbook", type=Path)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--foresight", choices=stress.FORESIGHTS, default="none")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    setup = stress.prepare(args.workbook)
    data = draw_data(setup.base, args.draws, args.seed, args.foresight)
    seconds, cpu_seconds, optimal = floor_cpu(setup.base, data)
    solves = sum(len(d) for d in data)
    result = {"workbook": str(args.workbook), "draws": args.draws, "foresight": args.foresight, "solves": solves,
              "seconds": seconds, "draws_per_second": args.draws / seconds, "cpu_seconds": cpu_seconds,
              "draws_per_cpu_second": args.draws / cpu_seconds, "optimal_solves": optimal}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
