#!/usr/bin/env python
"""Does ending the CLI with ``os._exit``, or importing the writer in a background thread while HiGHS
solves, pay for itself? (issue 9: keep either only if it saves more than 10% at 1.1M variables.)

    python benchmarks/endings.py [--size large] [--runs 3] [--before-cmd "PATH/TO/old-procure"]

Runs ``procure solve WB -o OUT --json JSON --quiet`` as whole processes, variants interleaved
(run 1: a b c d, run 2: b c d a, ...), and reports per variant the median wall seconds and the median
CPU seconds (user + sys of the process and every child it waited for, from ``getrusage``):

- ``plain``: the installed procure as it is (``procure.cli.main``);
- ``os_exit``: the same, ended with ``os._exit`` after flushing (no interpreter teardown);
- ``preload``: the same, with ``procure.report`` and ``procure.plan`` imported in a daemon thread
  started before the command runs (what ``cli._preload`` did at the start of ``solve``);
- ``before``: ``--before-cmd``, e.g. a copy of the code before the change, if given.

CPU seconds are the steadier figure on a shared machine; wall seconds are what a user waits for.
The workbook is ``benchmarks/data/<size>.xlsx`` (``generate.py --size <size>`` makes it).
"""
from __future__ import annotations

import argparse
import json
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

PLAIN = "from procure.cli import main; main()"
OS_EXIT = """
import os, sys
from procure.cli import app
try:
    app()
    code = 0
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
sys.stdout.flush(); sys.stderr.flush()
os._exit(code)
"""
PRELOAD = """
import importlib, threading
threading.Thread(target=lambda: [importlib.import_module(m) for m in ("procure.report", "procure.plan")],
                 daemon=True).start()
from procure.cli import main; main()
"""


def one_run(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + sys, children included) of one process; it must exit 0."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{shlex.join(command)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before-cmd", default="", help="an older procure executable to compare with")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    workbook = HERE / "data" / f"{args.size}.xlsx"
    if not workbook.exists():
        raise SystemExit(f"{workbook} is missing: run benchmarks/generate.py --size {args.size}")
    OUT.mkdir(exist_ok=True)
    variants = {"plain": [sys.executable, "-c", PLAIN], "os_exit": [sys.executable, "-c", OS_EXIT],
                "preload": [sys.executable, "-c", PRELOAD]}
    if args.before_cmd:
        variants["before"] = shlex.split(args.before_cmd)
    names = list(variants)
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for run in range(args.runs):
        for name in names[run % len(names):] + names[:run % len(names)]:
            plan, out_json = OUT / f"endings-{name}.xlsx", OUT / f"endings-{name}.json"
            solve = ["solve", str(workbook), "-o", str(plan), "--json", str(out_json), "--quiet"]
            wall, cpu = one_run(variants[name] + solve)
            figures[name].append((wall, cpu))
            print(f"run {run + 1}/{args.runs} {name:8s} wall {wall:7.2f} s  cpu {cpu:7.2f} s", flush=True)
    print(f"\n{args.size}, {args.runs} runs each, medians:")
    summary = {}
    base = statistics.median(c for _, c in figures["plain"]), statistics.median(w for w, _ in figures["plain"])
    for name in names:
        wall = statistics.median(w for w, _ in figures[name])
        cpu = statistics.median(c for _, c in figures[name])
        summary[name] = {"wall_s": wall, "cpu_s": cpu, "runs": figures[name]}
        print(f"  {name:8s} wall {wall:7.2f} s ({wall / base[1] - 1:+.1%} vs plain)   "
              f"cpu {cpu:7.2f} s ({cpu / base[0] - 1:+.1%} vs plain)")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
