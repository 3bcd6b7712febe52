#!/usr/bin/env python
"""The floor of ``procure stress``: a bare loop that changes bounds and costs and re-solves one HiGHS model.

    python benchmarks/stress_floor.py WORKBOOK [--draws N] [--seed K] [--json OUT]

WORKBOOK needs a Risks sheet (``benchmarks/add_risks.py`` adds one to a copy).
The same recourse LP as ``procure stress`` (procure.stress.build_base) is passed
to HiGHS once, with the same settings (one thread, presolve off); every draw's
data (x bounds and costs, balance right-hand sides, shortfall bounds) is
computed BEFORE the clock starts, so the timed loop is only: set every x bound
and cost, every balance row and shortfall bound, run, read the column values.
No diffing, no sampling, no statistics, no Dask. Price-proportional matrix
coefficients (budget rows) are left at their base values, which only makes the
floor cheaper. The goal: a ``procure stress`` worker keeps at least 80% of
this throughput (benchmarks/stress.py compares them).
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


def draw_data(base, draws: int, seed: int):
    """Per draw: x lower, x upper, x cost, balance rhs (scaled), shortfall upper; as the stress run sets them."""
    n_m, n_t = base.n_minerals, base.n_periods
    out = []
    committed = ~np.isnan(base.committed_x)
    for i in range(draws):
        in_progress, _ = stress.sample_events(base.masks, n_t, seed, i)
        shock = stress.shocked_data(base, in_progress)
        upper = np.where(base.x_allowed, base.op_capacity * shock.capacity_factor, 0.0)
        lower = np.minimum(base.op_min_volume, upper)
        fixed = np.minimum(np.where(committed, base.committed_x, 0.0), upper)
        demand = (base.demand + shock.extra_demand).ravel()
        rhs = demand - np.where(np.arange(n_m * n_t) % n_t == 0, np.repeat(base.initial_reserve, n_t), 0.0)
        rows = base.balance_start + np.arange(n_m * n_t)
        out.append((np.where(committed, fixed, lower), np.where(committed, fixed, upper),
                    base.op_price_usd * shock.price_factor, rhs * base.row_scale[rows], demand))
    return out


def floor(base, data) -> tuple[float, int]:
    """Seconds for the bare loop over ``data``, and how many draws ended optimal (see :func:`floor_cpu`)."""
    seconds, _, optimal = floor_cpu(base, data)
    return seconds, optimal


def floor_cpu(base, data) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of this process, and optimal draws, for the bare loop over ``data``."""
    model = stress._Recourse(base)  # the same model and settings; only its HiGHS object is used
    highs = model.highs
    n_k, n_mt = len(base.op_capacity), base.n_minerals * base.n_periods
    x_cols = (base.x_start + np.arange(n_k)).astype(np.int32)
    rows = (base.balance_start + np.arange(n_mt)).astype(np.int32)
    s_cols = (base.shortfall_start + np.arange(n_mt)).astype(np.int32)
    zeros = np.zeros(n_mt)
    optimal = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for lower, upper, cost, rhs, demand in data:
        highs.changeColsBounds(n_k, x_cols, lower, upper)
        highs.changeColsCost(n_k, x_cols, cost)
        highs.changeRowsBounds(n_mt, rows, rhs, rhs)
        highs.changeColsBounds(n_mt, s_cols, zeros, demand)
        highs.run()
        np.asarray(highs.getSolution().col_value)
        optimal += highs.getModelStatus() == model.highspy.HighsModelStatus.kOptimal
    return time.perf_counter() - started, time.process_time() - cpu_started, optimal


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbook", type=Path)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    setup = stress.prepare(args.workbook)
    data = draw_data(setup.base, args.draws, args.seed)
    seconds, cpu_seconds, optimal = floor_cpu(setup.base, data)
    result = {"workbook": str(args.workbook), "draws": args.draws, "seconds": seconds,
              "draws_per_second": args.draws / seconds, "cpu_seconds": cpu_seconds,
              "draws_per_cpu_second": args.draws / cpu_seconds, "optimal": optimal}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
