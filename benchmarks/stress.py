#!/usr/bin/env python
"""Speed of ``procure stress`` against its goals (issues 12 and 20), on a workbook with a Risks sheet.

    python benchmarks/stress.py [WORKBOOK] [--draws 10000] [--workers 1,2] [--chunk-size 250]
                                [--foresight none|full] [--floor-draws 1000] [--seed 7] [--no-cli]
                                [--no-reuse-runs] [--json OUT]

WORKBOOK defaults to the bundled sample (``procure/data/sample.xlsx``, which has a Risks sheet).
Goals on a 2-core machine (issue 20): the whole command (``procure stress WORKBOOK --draws 10000
--workers 2``, foresight none, cluster start and workbook written included) within 60 s; each
worker's throughput at least 80% of the bare loop of ``benchmarks/stress_floor.py`` (one process,
the same period-by-period solves of the same LP, every solve's data computed before the clock).

Measured here: the floor (draws/s) on the first ``--floor-draws`` draws; for each worker count,
``run_draws`` on a fresh LocalCluster (cluster start not timed; the base program's scatter and each
worker's model build are) as procure runs it (a worker reuses the answer of a solve whose knowledge
repeats), and unless ``--no-reuse-runs`` also with ``reuse=False`` (every solve made, as the floor
makes them: the like-for-like comparison); each with the CPU time the workers used (so a machine
shared with other jobs shows as fewer cores obtained, not as slower code); and the CLI end to end
in a subprocess. The floor is timed before the first run and after each, and the median is used.
The workbook is only read.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from procure import cluster, stress  # noqa: E402
from procure.starter import bundled_sample  # noqa: E402
from stress_floor import draw_data, floor_cpu  # noqa: E402


def _cpu_seconds() -> float:
    """CPU time (user + system) of the calling process: run on each worker, it shows how much of the
    machine the workers actually got (on a shared machine, less than a core each)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbook", type=Path, nargs="?", default=bundled_sample())
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--chunk-size", type=int, default=stress.DEFAULT_CHUNK)
    parser.add_argument("--foresight", choices=stress.FORESIGHTS, default="none")
    parser.add_argument("--floor-draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end command")
    parser.add_argument("--no-reuse-runs", action="store_true", help="skip the runs that reuse no solve")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    setup = stress.prepare(args.workbook)
    base = setup.base
    floor_data = draw_data(base, args.floor_draws, args.seed, args.foresight)
    # the floor is timed before the first run and after each (the median is used):
    # on a shared machine its speed drifts, and the ratios should compare like with like
    floor_samples = [floor_cpu(base, floor_data)]
    result = {"workbook": str(args.workbook), "draws": args.draws, "chunk_size": args.chunk_size,
              "foresight": args.foresight, "floor_solves": sum(len(d) for d in floor_data),
              "cpu_count": os.cpu_count(), "load_average_start": os.getloadavg(), "runs": {}}
    worker_counts = [int(w) for w in args.workers.split(",")]
    variants = [(w, reuse) for w in worker_counts for reuse in ((True,) if args.no_reuse_runs else (True, False))]
    measured = {}
    for workers, reuse in variants:
        client = cluster.local_client(workers)
        try:
            before = client.run(_cpu_seconds)
            started = time.perf_counter()
            draws = stress.run_draws(base, args.draws, args.seed, client=client, chunk_size=args.chunk_size,
                                     foresight=args.foresight, reuse=reuse)
            seconds = time.perf_counter() - started
            after = client.run(_cpu_seconds)
            worker_cpu = sum(after[k] - before[k] for k in after)
        finally:
            local = client.cluster
            client.close()
            local.close()
        floor_samples.append(floor_cpu(base, floor_data))
        measured[workers, reuse] = (seconds, draws, worker_cpu)
    floor_rate = args.floor_draws / statistics.median(f[0] for f in floor_samples)
    floor_cpu_rate = args.floor_draws / statistics.median(f[1] for f in floor_samples)
    result["floor_draws_per_second"], result["floor_draws_per_cpu_second"] = floor_rate, floor_cpu_rate
    result["floor_draws_per_second_each"] = [args.floor_draws / f[0] for f in floor_samples]
    print(f"floor (foresight {args.foresight}): {floor_rate:.1f} draws/s, {floor_cpu_rate:.1f} draws per CPU-second "
          f"({args.floor_draws} draws, {result['floor_solves']} solves, one process, bare loop; median of "
          f"{len(floor_samples)} timings: {', '.join(f'{r:.0f}' for r in result['floor_draws_per_second_each'])} "
          "draws/s)")
    for (workers, reuse), (seconds, draws, worker_cpu) in measured.items():
        rate = args.draws / seconds
        run = {"workers": workers, "reuse": reuse, "seconds": seconds, "draws_per_second": rate,
               "per_worker_vs_floor": rate / workers / floor_rate,
               "failed": len(draws.failures), "worker_cpu_seconds": worker_cpu,
               "cores_obtained": worker_cpu / seconds, "draws_per_worker_cpu_second": args.draws / worker_cpu,
               "per_cpu_second_vs_floor": args.draws / worker_cpu / floor_cpu_rate}
        result["runs"][f"{workers}{'' if reuse else '-no-reuse'}"] = run
        print(f"{workers} worker(s), {'reusing repeated solves' if reuse else 'every solve made'}: {seconds:.1f} s, "
              f"{rate:.1f} draws/s, per worker {run['per_worker_vs_floor']:.0%} of the floor, {run['failed']} failed; "
              f"the workers got {run['cores_obtained']:.2f} cores, {run['draws_per_worker_cpu_second']:.1f} draws "
              f"per CPU-second ({run['per_cpu_second_vs_floor']:.0%} of the floor's)")
    runs = result["runs"]
    if "1" in runs and "2" in runs:
        result["speedup_2_vs_1"] = runs["1"]["seconds"] / runs["2"]["seconds"]
        print(f"2 workers vs 1: {result['speedup_2_vs_1']:.2f}x")
    if not args.no_cli:
        with tempfile.TemporaryDirectory() as folder:
            command = [sys.executable, "-m", "procure", "stress", str(args.workbook), "--draws", str(args.draws),
                       "--seed", str(args.seed), "--workers", "2", "--foresight", args.foresight, "-q",
                       "-o", str(Path(folder) / "stress.xlsx"), "--json", str(Path(folder) / "stress.json")]
            started = time.perf_counter()
            completed = subprocess.run(command, capture_output=True, text=True)
            result["cli_seconds"] = time.perf_counter() - started
            result["cli_exit_code"] = completed.returncode
        print(f"procure stress --draws {args.draws} --workers 2 --foresight {args.foresight}: "
              f"{result['cli_seconds']:.1f} s wall "
              f"(exit {completed.returncode}; goal <= 60 s)")
        if completed.returncode:
            print(completed.stderr[-2000:])
    result["load_average_end"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
