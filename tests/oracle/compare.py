"""Cross-check procure against the independent reference on random workbooks.

    python tests/oracle/compare.py --n 200 [--seed0 0] \
        [--cmd "procure solve {wb} -o {out} --json {json} --quiet {model}"]
    python tests/oracle/compare.py --stochastic --n 100 \
        [--cmd "procure solve {wb} -o {out} --json {json} --quiet {scenarios}"]

For each seed it writes a random valid workbook (random_workbooks.py) and
sometimes a --model file beside it (passed through {model} as ``--model
FILE``; a command without {model} is compared without it), solves it with the
reference (reference.py), runs the command on it, reads the JSON
the command wrote (keys ``status`` and ``objective``) and reports every
mismatch: a different status, an objective differing by more than --rtol
(relative, with a floor of 1 on the scale), an exit code that does not go
with the status (0 = optimal, 2 = infeasible), or a run that wrote no JSON.
Mismatched workbooks (and the command's output) are kept for inspection.

With --stochastic the workbooks are random stochastic ones
(random_stochastic_workbook: Scenarios/Shocks sheets and maybe scenario files,
passed through {scenarios} as ``--scenario FILE ...``), and the JSON's
``stochastic`` object is compared too: RP (also as ``objective``), WS, EVPI
and every scenario's probability must match (mismatches); EEV, VSS (including
whether they are null), each scenario's spend and shortfall_usd, and the
expected spend and shortfall_usd can legitimately differ when the RP or the EV
problem has several optima, so their differences are listed as notes and fail
the run only with --notes-fail.

Exit status: 0 all matched, 1 some mismatch, 2 the command could not be run.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from random_workbooks import random_stochastic_workbook, random_workbook  # noqa: E402
from reference import solve_reference  # noqa: E402

DEFAULT_CMD = "procure solve {wb} -o {out} --json {json} --quiet {model}"
DEFAULT_STOCHASTIC_CMD = "procure solve {wb} -o {out} --json {json} --quiet {scenarios}"
EXPECTED_EXIT = {"optimal": 0, "infeasible": 2}


def resolve_command(argv: list[str]) -> list[str] | None:
    """argv with its program found on PATH or beside this Python; None if absent."""
    program = argv[0]
    if Path(program).is_file():
        return argv
    found = shutil.which(program)
    if found is None:
        beside = Path(sys.executable).parent / program
        if beside.is_file():
            found = str(beside)
    if found is None:
        return None
    return [found] + argv[1:]


def close(a: float, b: float, rtol: float) -> bool:
    return abs(a - b) <= rtol * max(1.0, abs(a), abs(b))


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _number(value) -> float | None:
    """A finite JSON number as float; None for null or anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def compare_stochastic(ref: dict, got: dict, rtol: float) -> tuple[list[str], list[str]]:
    """Differences between the reference's stochastic result and a JSON.

    Returns (mismatches, notes): mismatches are figures the spec fixes
    uniquely (RP, WS, EVPI, probabilities, the scenario names); notes are
    figures that may differ between optimal solutions (EEV, VSS, per-scenario
    spend and shortfall value, the expected spend and shortfall value).
    """
    mismatches: list[str] = []
    notes: list[str] = []
    st = got.get("stochastic")
    if not isinstance(st, dict):
        return ["no 'stochastic' object in the JSON"], notes
    want = ref["stochastic"]

    def check(label: str, expected, found, into: list[str]) -> None:
        value = _number(found)
        if expected is None:
            if found is not None:
                into.append(f"{label} {fmt(found)} != reference null")
        elif value is None or not close(value, expected, rtol):
            into.append(f"{label} {fmt(found)} != reference {fmt(expected)}")

    for name in ("RP", "WS", "EVPI"):
        check(name, want[name], st.get(name), mismatches)
    for name in ("EEV", "VSS"):
        check(name, want[name], st.get(name), notes)
    if want["EEV"] is None and _number(st.get("EEV")) is None and st.get("EEV") is not None:
        notes.append(f"EEV {st.get('EEV')!r}: expected JSON null")
    check("spend (expected)", ref["spend"], got.get("spend"), notes)
    check("shortfall_usd (expected)", ref["shortfall_usd"], got.get("shortfall_usd"), notes)

    scen = st.get("scenarios")
    if not isinstance(scen, dict):
        mismatches.append("no 'scenarios' object in 'stochastic'")
        return mismatches, notes
    if set(scen) != set(want["scenarios"]):
        mismatches.append(f"scenarios {sorted(scen)} != reference {sorted(want['scenarios'])}")
    for name, w in want["scenarios"].items():
        g = scen.get(name)
        if not isinstance(g, dict):
            continue
        check(f"{name}: probability", w["probability"], g.get("probability"), mismatches)
        check(f"{name}: spend", w["spend"], g.get("spend"), notes)
        check(f"{name}: shortfall_usd", w["shortfall_usd"], g.get("shortfall_usd"), notes)
    return mismatches, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of random workbooks")
    parser.add_argument("--seed0", type=int, default=0, help="first seed")
    parser.add_argument(
        "--cmd",
        default=None,
        help="command to check; {wb}, {out} and {json} are replaced by paths, {model} by the "
        "random --model file as a --model option (or nothing), {scenarios} "
        f"by the scenario files as --scenario options (default: {DEFAULT_CMD!r}, with "
        f"--stochastic {DEFAULT_STOCHASTIC_CMD!r})",
    )
    parser.add_argument("--stochastic", action="store_true", help="random stochastic workbooks (STOCKPILE.md)")
    parser.add_argument(
        "--notes-fail", action="store_true", help="with --stochastic: count notes (EEV, VSS, ...) as mismatches"
    )
    parser.add_argument("--rtol", type=float, default=1e-6, help="relative objective tolerance")
    parser.add_argument("--strict", action="store_true", help="solve with s = 0 (append --strict to --cmd yourself)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per command run")
    parser.add_argument("--keep", type=Path, default=None,
                        help="directory for kept workbooks (default: a new temp dir)")
    parser.add_argument("--keep-all", action="store_true", help="keep every workbook, not only mismatches")
    args = parser.parse_args(argv)
    if args.cmd is None:
        args.cmd = DEFAULT_STOCHASTIC_CMD if args.stochastic else DEFAULT_CMD

    keep = args.keep or Path(tempfile.mkdtemp(prefix="procure-oracle-"))
    keep.mkdir(parents=True, exist_ok=True)

    program = resolve_command(shlex.split(args.cmd.format(wb="WB", out="OUT", json="JSON", scenarios="", model="")))
    if program is None:
        print(
            f"compare: command not found: {shlex.split(args.cmd)[0]!r} "
            "(is procure installed in this environment?); running the reference only",
            file=sys.stderr,
        )

    mismatches: list[str] = []
    noted: list[str] = []
    command_broken = False
    failures_in_a_row = 0
    ref_time = cmd_time = 0.0
    counts = {"optimal": 0, "infeasible": 0}
    done = 0

    for seed in range(args.seed0, args.seed0 + args.n):
        work = keep / f"seed-{seed}"
        work.mkdir(exist_ok=True)
        wb = work / f"random-{seed}.xlsx"
        out = work / f"random-{seed}-plan.xlsx"
        js = work / f"random-{seed}.json"
        model_file = None
        if args.stochastic:
            scenario_files = random_stochastic_workbook(seed, wb)
        else:
            model_file = random_workbook(seed, wb)["model_file"]
            scenario_files = []
        if "{model}" not in args.cmd:
            model_file = None  # a command that takes no --model is compared on the workbook alone

        t0 = time.perf_counter()
        ref = solve_reference(wb, strict=args.strict, model_file=model_file, scenario_files=scenario_files)
        ref_time += time.perf_counter() - t0
        counts[ref["status"]] += 1
        done += 1

        if program is None or command_broken:
            shutil.rmtree(work, ignore_errors=True)
            continue

        scenario_options = " ".join(f"--scenario {shlex.quote(str(f))}" for f in scenario_files)
        cmd = args.cmd.format(
            wb=shlex.quote(str(wb)), out=shlex.quote(str(out)), json=shlex.quote(str(js)), scenarios=scenario_options,
            model=f"--model {shlex.quote(str(model_file))}" if model_file is not None else "",
        )
        cmd_argv = resolve_command(shlex.split(cmd))
        problem = None
        seed_notes: list[str] = []
        got = {}
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd_argv, capture_output=True, text=True, timeout=args.timeout)
            code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            code, stdout, stderr = None, exc.stdout or "", exc.stderr or ""
            stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
            stderr = stderr.decode() if isinstance(stderr, bytes) else stderr
            problem = f"timed out after {args.timeout:g} s"
        cmd_time += time.perf_counter() - t0

        if problem is None:
            try:
                got = json.loads(js.read_text())
            except (OSError, ValueError) as exc:
                problem = f"no readable JSON (exit code {code}): {exc.__class__.__name__}"
        if problem is None:
            failures_in_a_row = 0
            status, objective = got.get("status"), got.get("objective")
            if status != ref["status"]:
                problem = f"status {status!r} != reference {ref['status']!r}"
            elif status == "optimal" and (
                not isinstance(objective, (int, float))
                or not math.isfinite(objective)
                or not close(float(objective), ref["objective"], args.rtol)
            ):
                problem = "objective differs"
            elif code != EXPECTED_EXIT.get(status):
                problem = f"exit code {code} with status {status!r}"
            elif args.stochastic and status == "optimal":
                hard, notes = compare_stochastic(ref, got, args.rtol)
                if args.notes_fail:
                    hard, notes = hard + notes, []
                if hard:
                    problem = "; ".join(hard)
                seed_notes = notes
                for note in notes:
                    noted.append(f"seed {seed}: {note}; workbook {wb}")
                    print(f"NOTE seed {seed}: {note}", flush=True)
        else:
            failures_in_a_row += 1

        if problem is None and not seed_notes:
            if not args.keep_all:
                shutil.rmtree(work, ignore_errors=True)
            continue

        (work / "command.log").write_text(
            f"$ {cmd}\nexit code: {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n"
        )
        if seed_notes:
            (work / "notes.log").write_text("\n".join(seed_notes) + "\n")
        if problem is None:
            continue  # notes only: kept, not a mismatch
        line = (
            f"seed {seed}: {problem}; reference {ref['status']} {fmt(ref['objective'])}, "
            f"command {got.get('status', '-')} {fmt(got.get('objective', '-'))}; "
            f"workbook {wb}"
        )
        mismatches.append(line)
        print("MISMATCH " + line, flush=True)
        if failures_in_a_row >= 3 and len(mismatches) == failures_in_a_row:
            # the first runs all failed alike: the command does not work at all
            command_broken = True
            print(
                "compare: the command failed on the first 3 workbooks; it does not seem "
                f"to work (see {work / 'command.log'}); running the reference only",
                file=sys.stderr,
            )

    print(
        f"\n{done} workbooks (seeds {args.seed0}..{args.seed0 + args.n - 1}): reference "
        f"{counts['optimal']} optimal, {counts['infeasible']} infeasible, "
        f"{ref_time:.2f} s of reference solves"
    )
    if program is None or command_broken:
        print("command not compared (not found or not working)")
        if program is None and args.keep is None:
            shutil.rmtree(keep, ignore_errors=True)
        return 2
    notes_text = f", {len(noted)} note(s)" if args.stochastic else ""
    print(f"command: {cmd_time:.2f} s; {len(mismatches)} mismatch(es){notes_text}")
    if noted:
        print(f"notes (figures that may differ between optimal solutions), kept under {keep}:")
        for line in noted:
            print("  " + line)
    if mismatches:
        print(f"kept for inspection under {keep}")
        for line in mismatches:
            print("  " + line)
        return 1
    if not args.keep_all and args.keep is None and not noted:
        shutil.rmtree(keep, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
