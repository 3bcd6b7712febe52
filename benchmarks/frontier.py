#!/usr/bin/env python
"""Time a warm-started frontier (China caps, or horizon budgets) against cold re-solves and one `procure solve`.

    python benchmarks/frontier.py [--size medium] [--caps 0:1:0.05 | --budgets 2e11:3e11:1.25e10] [--runs 1]

With ``--budgets`` the frontier is ``procure frontier --budgets`` (issue 18's goal: a 9-point budget
frontier of the medium workbook within 3x one ``procure solve`` of it); otherwise the China-cap frontier.

Each run times, as whole processes under the same conditions (alternating order on odd runs):

- ``solve``: ``procure solve WB -o OUT --json J --quiet`` (read, check, build, solve, report, write);
- ``frontier warm``: ``procure frontier WB --caps CAPS -o OUT --json J --quiet`` (the command as
  shipped: one HiGHS model changed in place, each cap re-solved from the previous basis);
- ``frontier cold``: the same command's work with ``frontier(..., warm=False)`` (one build and one
  cold ``solve()`` per cap, as before the warm sweep), run through this script's ``--cold`` mode,
  which does exactly what ``procure frontier`` does (load, instance, frontier, write the workbook and JSON).

It then checks that the warm and cold points agree (status, and objective, spend and shortfall
value to 1e-9 relative) and prints medians and the ratios frontier / solve. The issue's goal:
a 21-point warm frontier of the medium workbook within 3x one ``procure solve`` of it.
The machine is shared: the load average is printed; compare ratios from the same run.

Measured 2026-11-30, ``python benchmarks/frontier.py --runs 2`` (medium, 21 caps 0:1:0.05; 2 cores
shared with other jobs, load average 4.3; highspy 1.16), medians of 2 runs:

    solve            14.59 s    1.00x solve
    frontier warm    26.68 s    1.83x solve
    frontier cold   110.33 s    7.56x solve
    warm / cold       0.24
    warm and cold points agree to 1e-9

An earlier single run at load average 5.9 gave 12.48 s / 34.23 s (2.74x) / 175.70 s (14.08x).
Per point the warm re-solve is dual simplex from the previous basis: about 2,000 iterations
between neighbouring caps below 0.7 (one per binding China row, roughly), none above 0.85,
plus ~0.15 s of HiGHS set-up per run() even with nothing changed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
OUT = HERE / "out"
REL_TOL = 1e-9


def _cold(workbook: Path, caps: str, budgets: str | None, out: Path, json_path: Path) -> None:
    """What ``procure frontier`` does, with every point solved cold."""
    import dataclasses

    import pandas as pd

    from procure.analysis import frontier, parse_caps
    from procure.budgets import budget_frontier, parse_budgets
    from procure.pipeline import load
    from procure.plan import write_budget_frontier, write_frontier, write_json
    from procure.solve import SolveOptions
    from procure.stochastic import prepare

    data = load(workbook)
    fan = prepare(data, data.scenarios)
    if budgets is not None:
        points = budget_frontier(fan, parse_budgets(budgets), SolveOptions().started(), warm=False)
        write_budget_frontier(pd.DataFrame([dataclasses.asdict(p) for p in points]), out, "budgets")
    else:
        points = frontier(fan, parse_caps(caps), SolveOptions().started(), warm=False)
        write_frontier(pd.DataFrame([dataclasses.asdict(p) for p in points]), out, "caps")
    write_json({"scenario": data.policy.scenario, "points": [p.to_json(False) for p in points]}, json_path)


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return seconds


def _compare(warm: Path, cold: Path) -> list[str]:
    problems = []
    warm_points, cold_points = (json.loads(p.read_text())["points"] for p in (warm, cold))
    if len(warm_points) != len(cold_points):
        return [f"{len(warm_points)} warm points against {len(cold_points)} cold"]
    for w, c in zip(warm_points, cold_points):
        if w["status"] != c["status"]:
            problems.append(f"point {w.get('cap', w.get('budget'))}: status {w['status']} warm, {c['status']} cold")
            continue
        for key in ("objective", "spend", "shortfall_usd"):
            a, b = w[key], c[key]
            if (a is None) != (b is None) or (a is not None and abs(a - b) > REL_TOL * max(1.0, abs(b))):
                problems.append(f"point {w.get('cap', w.get('budget'))}: {key} {a} warm, {b} cold")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium")
    parser.add_argument("--caps", default="0:1:0.05")
    parser.add_argument("--budgets", default=None, help="a budget frontier instead (USD: start:stop:step)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cold", nargs=3, metavar=("WORKBOOK", "OUT", "JSON"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold:
        _cold(Path(args.cold[0]), args.caps, args.budgets, Path(args.cold[1]), Path(args.cold[2]))
        return 0
    workbook = DATA / f"{args.size}.xlsx"
    if not workbook.exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--size", args.size, "--seed", str(args.seed)],
                       cwd=ROOT, check=True)
    OUT.mkdir(exist_ok=True)
    procure = str(Path(sys.executable).parent / "procure")
    points = ["--budgets", args.budgets] if args.budgets is not None else ["--caps", args.caps]
    commands = {
        "solve": [procure, "solve", str(workbook), "-o", str(OUT / "sweep-plan.xlsx"),
                  "--json", str(OUT / "sweep-plan.json"), "--quiet"],
        "frontier warm": [procure, "frontier", str(workbook), *points, "-o",
                          str(OUT / "sweep-warm.xlsx"), "--json", str(OUT / "sweep-warm.json"), "--quiet"],
        "frontier cold": [sys.executable, str(Path(__file__).resolve()), *points, "--cold",
                          str(workbook), str(OUT / "sweep-cold.xlsx"), str(OUT / "sweep-cold.json")],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(args.runs):
        order = list(commands) if run % 2 == 0 else list(reversed(commands))
        for name in order:
            times[name].append(_timed(commands[name]))
            print(f"run {run + 1}: {name:<14} {times[name][-1]:7.2f} s", flush=True)
    problems = _compare(OUT / "sweep-warm.json", OUT / "sweep-cold.json")
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"\n{args.size}, {' '.join(points)}, {args.runs} run(s), load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    for name, seconds in median.items():
        print(f"  {name:<14} {seconds:7.2f} s   {seconds / median['solve']:5.2f}x solve")
    print(f"  warm / cold    {median['frontier warm'] / median['frontier cold']:7.2f}")
    print("  warm and cold points agree to 1e-9" if not problems else "  DISAGREE:\n    " + "\n    ".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
