#!/usr/bin/env python
"""Time the plan writer alone on synthetic plan-shaped tables (no solve).

    python benchmarks/writer.py [--rows 300000] [--runs 3] [--other-root DIR]

Each run is a fresh process that builds the tables (seeded, not timed) and times
``procure.plan.write_tables``: wall seconds and CPU seconds (user + sys of the
process and of every child it waited for). With ``--other-root DIR`` (a folder
holding another copy of the ``procure`` package, e.g. the code before a change),
that copy is timed too, runs alternating. Tables: an Allocation of ``--rows``
rows x 12 columns (text, numbers, shares), Constraints of rows/12 x 8, Offers
of rows/50 x 64 (a wide per-period table).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, resource, sys, time
root, rows, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if root:
    sys.path.insert(0, root)
import numpy as np, pandas as pd
import procure.plan
assert not root or procure.plan.__file__.startswith(root), procure.plan.__file__
rng = np.random.default_rng(1)
suppliers = np.array([f"Supplier {i} Ltd & Co" for i in range(1150)], dtype=object)
countries = np.array([f"Country {i}" for i in range(25)], dtype=object)
minerals = np.array([f"Mineral {i}" for i in range(56)], dtype=object)
periods = np.array([f"{2027 + i // 12}-{i % 12 + 1:02d}" for i in range(60)], dtype=object)
allocation = pd.DataFrame({
    "offer_row": rng.integers(2, 19_000, rows), "supplier": suppliers[rng.integers(0, 1150, rows)],
    "country": countries[rng.integers(0, 25, rows)], "processing_country": countries[rng.integers(0, 25, rows)],
    "mineral": minerals[rng.integers(0, 56, rows)], "period": periods[rng.integers(0, 60, rows)],
    "quantity": rng.gamma(2, 500, rows), "unit": "t", "price_usd": rng.uniform(1e3, 1e5, rows).round(2),
    "cost_usd": rng.gamma(2, 1e7, rows), "share_of_mineral": rng.uniform(0, 1, rows),
    "china_exposure": rng.choice([0.0, 1.0, 0.35], rows)})
k = max(rows // 12, 1)
constraints = pd.DataFrame({"constraint": "country_cap", "mineral": minerals[rng.integers(0, 56, k)],
                            "period": periods[rng.integers(0, 60, k)], "country": countries[rng.integers(0, 25, k)],
                            "limit": 0.5, "value": rng.uniform(0, 0.5, k), "binding": rng.uniform(0, 1, k) < 0.1,
                            "shadow_price_usd": rng.normal(0, 10, k)})
w = max(rows // 50, 1)
offers = pd.DataFrame({"offer_row": np.arange(w) + 2, "supplier": suppliers[rng.integers(0, 1150, w)],
                       "mineral": minerals[rng.integers(0, 56, w)], "reduced_cost": rng.normal(0, 5, w),
                       **{str(p): rng.gamma(1, 100, w) for p in periods}})
tables = {"Allocation": allocation, "Constraints": constraints, "Offers": offers}
start_wall, start_cpu = time.perf_counter(), time.process_time()
children = resource.getrusage(resource.RUSAGE_CHILDREN)
procure.plan.write_tables(out, tables)
after = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": time.perf_counter() - start_wall,
                  "cpu": time.process_time() - start_cpu + after.ru_utime - children.ru_utime
                  + after.ru_stime - children.ru_stime}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--other-root", default="")
    args = parser.parse_args()
    (HERE / "out").mkdir(exist_ok=True)
    roots = {"installed": ""} | ({"other": args.other_root} if args.other_root else {})
    figures = {name: [] for name in roots}
    for run in range(args.runs):
        order = list(roots) if run % 2 == 0 else list(reversed(roots))
        for name in order:
            out = HERE / "out" / f"writer-{name}.xlsx"
            result = subprocess.run([sys.executable, "-c", CHILD, roots[name], str(args.rows), str(out)],
                                    capture_output=True, text=True, check=True)
            figure = json.loads(result.stdout)
            figures[name].append(figure)
            print(f"run {run + 1}/{args.runs} {name:9s} wall {figure['wall']:6.2f} s  cpu {figure['cpu']:6.2f} s  "
                  f"{out.stat().st_size / 2**20:.1f} MB", flush=True)
    for name, runs in figures.items():
        print(f"{name:9s} median wall {statistics.median(r['wall'] for r in runs):6.2f} s  "
              f"median cpu {statistics.median(r['cpu'] for r in runs):6.2f} s")


if __name__ == "__main__":
    main()
