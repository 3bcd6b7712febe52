#!/usr/bin/env python
"""Benchmark of a stochastic plan: the 160k-variable workbook with 20 shock scenarios.

    python benchmarks/stochastic.py [--size medium] [--scenarios 20] [--seed 1] [--measures] [--json FILE]

Stages are timed in one run: read + check the workbook and the ``--scenario``
files, scenario instances, the extensive form, the HiGHS solve (procure's
``solve``: passModel, run, verification), the Scenarios/Recourse/Reserve tables,
and (``--measures``) WS and EEV. The end-to-end time of the plan (everything
but the measures) is compared with the solve stage measured in the same run.

Memory: the extensive form is saved, and a second process hands it to HiGHS
with nothing else (numpy + highspy, the way procure passes it); its peak RSS
and solve time are "HiGHS's own". Peak RSS of this process is compared with it.

Scenarios (drawn from ``--seed``): ``calm`` and 19 shocks, each starting in
a month between 2027-07 and 2030-12 (so earlier months are shared decision
nodes): China's capacity of a few minerals cut, price spikes, or demand surges.
They are written as ``--scenario`` TOML files, so the run goes through the same
loader as ``procure solve --scenario``.

Results: benchmarks/RESULTS.md ("Figures behind design choices").
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: per address space, so a child started with exec does
    not inherit the parent's figure, as getrusage's ru_maxrss does on Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_scenarios(folder: Path, minerals: list[str], periods: list[str], count: int, seed: int) -> list[Path]:
    """``count`` scenario files with probabilities summing to 1: calm (0.3) and count-1 shocks."""
    rng = np.random.default_rng(seed)
    paths = []
    weights = rng.uniform(0.5, 1.5, count - 1)
    shares = 0.7 * weights / weights.sum()
    start_choices = [p for p in periods if "2027-07" <= p <= "2030-12"]
    for k in range(count):
        path = folder / f"s{k:02d}.toml"
        if k == 0:
            text = 'name = "calm"\nprobability = 0.3\ndescription = "no shock"\n'
        else:
            start = str(rng.choice(start_choices))
            hit = [str(m) for m in rng.choice(minerals, size=int(rng.integers(1, 4)), replace=False)]
            kind = ("china-cut", "price-spike", "demand-surge")[k % 3]
            text = f'name = "{kind}-{k:02d}"\nprobability = {float(shares[k - 1])!r}\n'
            text += f'description = "{kind} of {", ".join(hit)} from {start}"\n'
            listed = "[" + ", ".join(f'"{m}"' for m in hit) + "]"
            if kind == "china-cut":
                text += (f'[[shock]]\ncountry = "China"\nmineral = {listed}\nperiod_from = "{start}"\n'
                         f'capacity = {rng.uniform(0.0, 0.4):.3f}\n')
            elif kind == "price-spike":
                text += f'[[shock]]\nmineral = {listed}\nperiod_from = "{start}"\nprice = {rng.uniform(1.5, 3):.3f}\n'
            else:
                text += (f'[[demand]]\nmineral = {listed}\nperiod_from = "{start}"\n'
                         f'factor = {rng.uniform(1.2, 1.6):.3f}\n')
        path.write_text(text)
        paths.append(path)
    # probabilities as written must sum to 1 within 1e-6: put the rounding on calm
    return paths


FLOOR = r"""
import json, sys, time
import numpy as np, highspy
started = time.perf_counter()
m = np.load(sys.argv[1])
h = highspy.Highs(); h.setOptionValue("output_flag", False); h.setOptionValue("random_seed", 0)
lp = highspy.HighsLp()
lp.num_col_ = len(m["col_cost"]); lp.num_row_ = len(m["row_lower"])
lp.col_cost_ = m["col_cost"]; lp.col_lower_ = m["col_lower"]; lp.col_upper_ = m["col_upper"]
lp.row_lower_ = m["row_lower"]; lp.row_upper_ = m["row_upper"]; lp.offset_ = float(m["offset"])
lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
lp.a_matrix_.num_col_ = lp.num_col_; lp.a_matrix_.num_row_ = lp.num_row_
lp.a_matrix_.start_ = m["a_start"]; lp.a_matrix_.index_ = m["a_index"]; lp.a_matrix_.value_ = m["a_value"]
loaded = time.perf_counter()
h.passModel(lp); h.run()
done = time.perf_counter()
print(json.dumps({"status": h.modelStatusToString(h.getModelStatus()),
                  "objective": h.getInfo().objective_function_value,
                  "load_s": loaded - started, "solve_s": done - loaded,
                  "peak_mb": next(int(l.split()[1]) for l in open("/proc/self/status")
                                  if l.startswith("VmHWM:")) / 1024.0}))
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="medium")
    ap.add_argument("--scenarios", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--measures", action="store_true", help="also time WS and EEV (20 + 2 more solves)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)

    workbook = HERE / "data" / f"{args.size}.xlsx"
    if not workbook.exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--size", args.size], check=True)

    from procure import outcome as outcomes, stochastic
    from procure.pipeline import load
    from procure.report import build_report
    from procure.solve import SolveOptions, row_scale, solve

    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="procure-stoch-") as tmp:
        folder = Path(tmp)
        probe = load(workbook)
        minerals = [probe.names.mineral(k) for k in probe.minerals]
        periods = [str(p) for p in probe.periods]
        del probe
        files = write_scenarios(folder, minerals, periods, args.scenarios, args.seed)

        started = time.perf_counter()
        data = load(workbook, scenario_files=files)
        scenarios = data.scenarios
        timings["read_check_s"] = time.perf_counter() - started
        mark = time.perf_counter()
        fan = stochastic.prepare(data, scenarios)
        timings["scenario_instances_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        risk, alpha, lam, commit = stochastic.risk_settings(data.policy)
        form = outcomes.build_form(fan)
        timings["extensive_form_s"] = time.perf_counter() - mark
        options = SolveOptions()
        mark = time.perf_counter()
        solution = solve(form.program, options)
        timings["solve_s"] = time.perf_counter() - mark
        outcome = outcomes.Outcome(data, fan, form, solution, options, risk, alpha, lam, commit)
        mark = time.perf_counter()
        build_report(outcome, input_name=workbook.name)
        timings["report_s"] = time.perf_counter() - mark
        end_to_end = time.perf_counter() - started
        peak_plan = peak_rss_mb()
        if args.measures:
            mark = time.perf_counter()
            outcome.measures = outcomes.measures(outcome)
            timings["measures_s"] = time.perf_counter() - mark

        lp = form.program
        scale = row_scale(lp)
        saved = folder / "extensive.npz"
        np.savez(saved, col_cost=lp.col_cost, col_lower=lp.col_lower, col_upper=lp.col_upper,
                 row_lower=lp.row_lower * scale, row_upper=lp.row_upper * scale, offset=lp.objective_constant,
                 a_start=lp.a_start.astype(np.int32), a_index=lp.a_index,
                 a_value=lp.a_value * np.repeat(scale, np.diff(lp.a_start)))
        run = subprocess.run([sys.executable, "-c", FLOOR, str(saved)], check=True, capture_output=True, text=True)
        floor = json.loads(run.stdout.strip().splitlines()[-1])  # HiGHS prints a banner first

    stats = form.stats
    result = {
        "size": args.size, "scenarios": args.scenarios, "seed": args.seed, "status": solution.status,
        "objective": solution.objective, "floor_objective": floor["objective"],
        "model": {k: stats[k] for k in ("columns_before_sharing", "columns", "rows_before_sharing", "rows",
                                        "nonzeros_before_sharing", "nonzeros", "nodes")},
        "timings_s": timings, "extensive_form_split_s": form.stats["timings"], "end_to_end_s": end_to_end,
        "end_to_end_over_solve": end_to_end / timings["solve_s"],
        "highs_alone": floor,
        "end_to_end_over_highs_alone_solve": end_to_end / floor["solve_s"],
        "peak_mb": peak_plan, "peak_over_highs_alone": peak_plan / floor["peak_mb"],
    }
    if outcome.measures is not None:
        m = outcome.measures
        result["measures"] = {"rp": m.rp, "ws": m.ws, "eev": m.eev, "evpi": m.evpi, "vss": m.vss,
                              "eev_reason": m.eev_reason}
    text = json.dumps(result, indent=2, default=float)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0 if solution.status == "optimal" else 1


if __name__ == "__main__":
    sys.exit(main())
