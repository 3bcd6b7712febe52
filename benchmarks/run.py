#!/usr/bin/env python
"""Time `procure solve` against the floor, as whole processes.

    python benchmarks/run.py [--sizes small,medium,large] [--runs 3 | --runs small:5,medium:3,large:1]
                             [--procure-cmd "procure solve {wb} -o {out} --json {json} --quiet"]
                             [--floor-args "--option presolve=off"] [--seed 1] [--results PATH] [--keep]

For each size: generates ``benchmarks/data/<size>.xlsx`` if missing, then runs
the floor (``benchmarks/floor.py``) and procure alternately (floor first on
even runs, procure first on odd runs), each under ``/usr/bin/time -v``;
records wall time (measured around the process) and peak RSS ("Maximum
resident set size"); takes medians; checks both objectives agree to 1e-6
relative (procure's from its ``--json`` key ``objective``); writes
``benchmarks/RESULTS.md`` (rewritten after each size, so an interrupted run
keeps the finished sizes; its hand-written end, from the heading "Figures
behind design choices" on, is kept).  ``--keep`` keeps the other sizes'
results from the previous run (``benchmarks/out/results.json``), each section
naming its command.

The procure command is a template: ``{wb}`` the workbook, ``{out}`` the plan
path, ``{json}`` the JSON summary path. An empty ``--procure-cmd ""`` times
the floor alone. If procure is missing or fails, the failure is recorded and
the floor is still reported.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

DEFAULT_PROCURE = "procure solve {wb} -o {out} --json {json} --quiet"
# goals from the issue: time ratio per size, memory ratio everywhere
TIME_GOAL = {"medium": 2.0, "large": 1.5}
MEM_GOAL = 2.5
REL_TOL = 1e-6


# ---------------------------------------------------------------------------
# machine
# ---------------------------------------------------------------------------

def machine() -> dict:
    cpu = "unknown"
    mem = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    try:
        from importlib.metadata import version
        hv = version("highspy")
    except Exception:  # pragma: no cover
        hv = "?"
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem,
            "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "highspy": hv}


# ---------------------------------------------------------------------------
# one timed process
# ---------------------------------------------------------------------------

_RSS = re.compile(r"Maximum resident set size \(kbytes\):\s*(\d+)")
_ELAPSED = re.compile(r"Elapsed \(wall clock\) time .*?:\s*([\d:.]+)")
_EXIT = re.compile(r"Exit status:\s*(\d+)")


def timed(cmd: list[str], timeout: float, env: dict) -> dict:
    """Run cmd under /usr/bin/time -v; wall seconds, peak RSS MiB, exit code, output tails."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True,
                           timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s", "wall": None, "rss_mb": None}
    wall = time.perf_counter() - t0
    err = p.stderr
    rss = _RSS.search(err)
    ext = _EXIT.search(err)
    # /usr/bin/time appends its report to the child's stderr: cut it off
    cut = err.rfind("\tCommand being timed:")
    child_err = err[:cut] if cut >= 0 else err
    code = int(ext.group(1)) if ext else p.returncode
    return {"ok": code == 0, "code": code, "wall": wall,
            "rss_mb": int(rss.group(1)) / 1024 if rss else None,
            "stdout_tail": p.stdout[-2000:], "stderr_tail": child_err[-2000:]}


def compile_procure() -> str:
    """Compile procure's modules to bytecode before timing, as ``pip install`` does for an installed
    package, so every run loads them as the floor loads numpy and highspy: from their ``.pyc``.

    Why: an editable install in an environment with ``PYTHONDONTWRITEBYTECODE=1`` (as some CI images
    and sandboxes set) never caches procure's bytecode and compiles every module in every run, about
    0.35 s at each start on this machine: a cost of the setup, not of procure.
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("procure")
    if spec is None or not spec.submodule_search_locations:
        return "procure not importable here: not compiled"
    package = Path(list(spec.submodule_search_locations)[0])
    ok = compileall.compile_dir(str(package), quiet=1)
    return f"procure's bytecode compiled before timing (`compileall`, {'ok' if ok else 'with errors'})"


def resolve_procure(template: str) -> tuple[list[str] | None, str | None]:
    """The procure command's first word, found on PATH or beside this Python."""
    words = shlex.split(template)
    if not words:
        return None, "no procure command given"
    exe = words[0]
    if os.sep in exe or shutil.which(exe):
        return words, None
    local = Path(sys.executable).parent / exe
    if local.exists():
        return [str(local)] + words[1:], None
    return None, f"`{exe}` not found on PATH nor in {Path(sys.executable).parent}"


def fill(words: list[str], **kw) -> list[str]:
    return [w.format(**kw) for w in words]


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------------------
# one size
# ---------------------------------------------------------------------------

def bench_size(size: str, runs: int, seed: int, procure_tpl: str, floor_args: list[str],
               timeout: float, env: dict, log) -> dict:
    import generate

    wb = DATA / (f"{size}.xlsx" if seed == 1 else f"{size}-s{seed}.xlsx")
    res = {"size": size, "workbook": str(wb.relative_to(ROOT)), "runs": runs, "seed": seed,
           "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    if not wb.exists():
        log(f"[{size}] generating {wb} ...")
        t0 = time.perf_counter()
        shape = generate.generate(size, wb, seed)
        res["generated_seconds"] = round(time.perf_counter() - t0, 2)
    else:
        shape = generate.read_shape(wb, size, seed)
    res["shape"] = shape
    OUT.mkdir(parents=True, exist_ok=True)
    res["loadavg_before"] = os.getloadavg()

    floor_json = OUT / f"{size}-floor.json"
    floor_cmd = [sys.executable, str(HERE / "floor.py"), str(wb), "--json", str(floor_json), *floor_args]
    res["floor_cmd"] = " ".join(shlex.quote(c) for c in floor_cmd)

    p_words, p_err = (None, "skipped (empty --procure-cmd)") if not procure_tpl.strip() \
        else resolve_procure(procure_tpl)
    p_json = OUT / f"{size}-procure.json"
    p_plan = OUT / f"{size}-plan.xlsx"
    if p_words:
        res["procure_cmd"] = " ".join(shlex.quote(c) for c in
                                      fill(p_words, wb=wb, out=p_plan, json=p_json))
    res["procure_error"] = p_err

    floor_runs, procure_runs = [], []
    floor_obj, procure_obj = [], []
    floor_secs = []
    for i in range(runs):
        order = ("floor", "procure") if i % 2 == 0 else ("procure", "floor")
        for who in order:
            if who == "floor":
                floor_json.unlink(missing_ok=True)
                r = timed(floor_cmd, timeout, env)
                if r["ok"] and floor_json.exists():
                    j = json.loads(floor_json.read_text())
                    r["objective"], r["status"] = j.get("objective"), j.get("status")
                    floor_obj.append(j.get("objective"))
                    floor_secs.append(j.get("seconds", {}))
                    res["floor_size"] = j.get("size")
                elif r["ok"]:
                    r["ok"], r["error"] = False, "no JSON written"
                floor_runs.append(r)
                log(f"[{size}] run {i + 1}/{runs} floor:   " + _fmt_run(r))
            else:
                if not p_words or res["procure_error"]:
                    continue
                p_json.unlink(missing_ok=True)
                r = timed(fill(p_words, wb=wb, out=p_plan, json=p_json), timeout, env)
                if r["ok"]:
                    try:
                        j = json.loads(p_json.read_text())
                        r["objective"], r["status"] = j.get("objective"), j.get("status")
                        procure_obj.append(j.get("objective"))
                    except (OSError, ValueError) as exc:
                        r["ok"], r["error"] = False, f"cannot read --json output: {exc}"
                procure_runs.append(r)
                log(f"[{size}] run {i + 1}/{runs} procure: " + _fmt_run(r))
                if not r["ok"]:
                    res["procure_error"] = (r.get("error") or f"exit code {r.get('code')}") + \
                        (": " + r["stderr_tail"].strip()[-600:] if r.get("stderr_tail", "").strip() else "")
    res["loadavg_after"] = os.getloadavg()

    fok = [r for r in floor_runs if r["ok"]]
    pok = [r for r in procure_runs if r["ok"]]
    res["floor"] = {
        "runs": floor_runs, "ok": len(fok),
        "wall": median(r["wall"] for r in fok), "rss_mb": median(r["rss_mb"] for r in fok),
        "objective": floor_obj[0] if floor_obj else None,
        "seconds": {k: median(s.get(k) for s in floor_secs)
                    for k in ("import", "read", "build", "solve", "total")} if floor_secs else None,
    }
    res["procure"] = {
        "runs": procure_runs, "ok": len(pok),
        "wall": median(r["wall"] for r in pok), "rss_mb": median(r["rss_mb"] for r in pok),
        "objective": procure_obj[0] if procure_obj else None,
    }
    f, p = res["floor"], res["procure"]
    res["time_ratio"] = p["wall"] / f["wall"] if f["wall"] and p["wall"] else None
    res["mem_ratio"] = p["rss_mb"] / f["rss_mb"] if f["rss_mb"] and p["rss_mb"] else None
    if f["objective"] is not None and p["objective"] is not None:
        a, b = float(f["objective"]), float(p["objective"])
        res["rel_diff"] = abs(a - b) / max(abs(a), abs(b), 1.0)
        res["match"] = res["rel_diff"] <= REL_TOL
    else:
        res["rel_diff"], res["match"] = None, None
    # objectives must also agree across runs of the same program
    res["floor_stable"] = len({round(o, 3) for o in floor_obj if o is not None}) <= 1
    res["procure_stable"] = len({round(o, 3) for o in procure_obj if o is not None}) <= 1
    return res


def _fmt_run(r: dict) -> str:
    if not r["ok"]:
        return f"FAILED ({r.get('error') or 'exit ' + str(r.get('code'))})"
    return f"{r['wall']:.2f} s, {r['rss_mb']:.0f} MB, objective {r.get('objective')!r}"


# ---------------------------------------------------------------------------
# RESULTS.md
# ---------------------------------------------------------------------------

def _s(x, fmt="{:.2f}"):
    return "—" if x is None else fmt.format(x)


def _goal(ratio, goal):
    if goal is None:
        return "—"
    if ratio is None:
        return f"≤ {goal:g}x: not measured"
    return f"≤ {goal:g}x: {'met' if ratio <= goal else 'NOT met'}"


def render(results: list[dict], meta: dict) -> str:
    m = meta["machine"]
    L = ["# Benchmark results", "",
         f"- date: {meta['date']}",
         f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, {m['os']}",
         f"- Python {m['python']}, highspy {m['highspy']}",
         f"- command: `{meta['command']}`" + (" (sizes not in this command are kept from earlier runs; "
                                              "each section names its own command)" if meta.get("kept") else ""),
         f"- this command's procure template: `{meta['procure_tpl'] or '(none)'}`; "
         f"floor extra arguments: `{' '.join(meta['floor_args']) or '(none)'}`",
         f"- {meta.get('compiled', 'bytecode: as found')}",
         "",
         "Wall time is measured around each whole process (interpreter start to exit);",
         "peak memory is `/usr/bin/time -v` \"Maximum resident set size\" (MB = 2^20 bytes).",
         "Figures are medians over the runs; floor and procure runs alternate.",
         "Goals (from the issue): procure/floor wall time ≤ 1.5x at large, ≤ 2x at medium;",
         "peak memory ≤ 2.5x.",
         "",
         "## Summary", "",
         "| size | purchase vars | floor s | procure s | time ratio | time goal "
         "| floor MB | procure MB | mem ratio | mem goal | objectives match |",
         "|---|---:|---:|---:|---:|---|---:|---:|---:|---|---|"]
    for r in results:
        f, p = r["floor"], r["procure"]
        match = "—" if r["match"] is None else ("yes" if r["match"] else "**NO**")
        L.append(f"| {r['size']} | {r['shape']['purchase_variables']:,} | {_s(f['wall'])} | "
                 f"{_s(p['wall'])} | {_s(r['time_ratio'], '{:.2f}x')} | "
                 f"{_goal(r['time_ratio'], TIME_GOAL.get(r['size']))} | {_s(f['rss_mb'], '{:.0f}')} | "
                 f"{_s(p['rss_mb'], '{:.0f}')} | {_s(r['mem_ratio'], '{:.2f}x')} | "
                 f"{_goal(r['mem_ratio'], MEM_GOAL)} | {match} |")
    for r in results:
        f, p, sh = r["floor"], r["procure"], r["shape"]
        fs = r.get("floor_size") or {}
        L += ["", f"## {r['size']}", "",
              f"Workbook `{r['workbook']}` (seed {r['seed']}): {sh['minerals']} minerals, "
              f"{sh['suppliers']} suppliers, {sh['countries']} countries, {sh['periods']} periods, "
              f"{sh['offers']:,} offers ({sh['all_period_offers']:,} all-period, "
              f"{sh['single_period_offers']:,} single-period), "
              f"**{sh['purchase_variables']:,} purchase variables**."]
        if fs:
            L.append(f"Floor model: {fs.get('columns', 0):,} columns, {fs.get('rows', 0):,} rows "
                     f"({fs.get('china_rows', 0):,} China-cap, {fs.get('country_rows', 0):,} "
                     f"country-cap), {fs.get('nonzeros', 0):,} nonzeros.")
        la, lb = r["loadavg_before"], r["loadavg_after"]
        L += [f"Measured {r['date']} by `{r['command']}`. Runs: {r['runs']}. "
              f"Load average (1 min) before/after: {la[0]:.2f} / {lb[0]:.2f}.", "",
              "| | floor | procure | procure / floor |", "|---|---:|---:|---:|",
              f"| wall s (median) | {_s(f['wall'])} | {_s(p['wall'])} | {_s(r['time_ratio'], '{:.2f}x')} |",
              f"| peak RSS MB (median) | {_s(f['rss_mb'], '{:.0f}')} | {_s(p['rss_mb'], '{:.0f}')} | "
              f"{_s(r['mem_ratio'], '{:.2f}x')} |",
              f"| objective | {_s(f['objective'], '{:.6f}')} | {_s(p['objective'], '{:.6f}')} | "
              f"rel. diff {_s(r['rel_diff'], '{:.1e}')} |",
              f"| successful runs | {f['ok']}/{len(f['runs'])} | {p['ok']}/{len(p['runs'])} | |"]
        if f["seconds"]:
            s = f["seconds"]
            L += ["", f"Floor inside its process (medians): import {_s(s['import'])} s, "
                      f"read {_s(s['read'])} s, build + pass {_s(s['build'])} s, "
                      f"solve {_s(s['solve'])} s, total {_s(s['total'])} s."]
        L += ["", "Individual runs (wall s / peak MB):",
              "- floor: " + (", ".join(f"{x['wall']:.2f} / {x['rss_mb']:.0f}" if x["ok"] else "failed"
                                      for x in f["runs"]) or "none"),
              "- procure: " + (", ".join(f"{x['wall']:.2f} / {x['rss_mb']:.0f}" if x["ok"] else "failed"
                                        for x in p["runs"]) or "none")]
        if r.get("procure_error"):
            L += ["", f"procure: **not measured** — {r['procure_error'].strip()}"]
        if r.get("match") is False:
            L += ["", f"**Objectives differ** (relative difference {r['rel_diff']:.2e} > {REL_TOL:g})."]
        if not r["floor_stable"] or not r["procure_stable"]:
            L += ["", "Warning: objectives differ between runs of the same program."]
        L += ["", f"Floor command: `{r['floor_cmd']}`"]
        if r.get("procure_cmd"):
            L.append(f"procure command: `{r['procure_cmd']}`")
    return "\n".join(L) + "\n"


HAND_WRITTEN = "## Figures behind design choices"


def hand_written(path: Path) -> str:
    """The hand-written end of RESULTS.md (from :data:`HAND_WRITTEN` on), kept when the file is rewritten."""
    text = path.read_text() if path.exists() else ""
    at = text.find("\n" + HAND_WRITTEN)
    return "" if at < 0 else text[at:]


def parse_runs(spec: str, sizes: list[str]) -> dict:
    if ":" not in spec:
        return {s: int(spec) for s in sizes}
    out = {s: 3 for s in sizes}
    for part in spec.split(","):
        k, _, v = part.partition(":")
        out[k.strip()] = int(v)
    return out


def main(argv=None) -> int:
    import generate

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="small,medium,large")
    ap.add_argument("--runs", default="3", help="runs per program: N, or per size: small:5,medium:3,large:1")
    ap.add_argument("--procure-cmd", default=DEFAULT_PROCURE,
                    help=f"template with {{wb}}, {{out}}, {{json}} (default: {DEFAULT_PROCURE!r}); '' = floor only")
    ap.add_argument("--floor-args", default="", help="extra floor.py arguments, e.g. '--option presolve=off'")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=3600.0, help="per process, seconds")
    ap.add_argument("--results", default=str(HERE / "RESULTS.md"))
    ap.add_argument("--keep", action="store_true",
                    help="keep the results of other sizes from the previous run (benchmarks/out/results.json)")
    args = ap.parse_args(argv)

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    for s in sizes:
        if s not in generate.SIZES:
            ap.error(f"unknown size {s!r} (choose from {', '.join(generate.SIZES)})")
    runs = parse_runs(args.runs, sizes)
    if not Path("/usr/bin/time").exists():
        ap.error("/usr/bin/time is required (apt-get install time)")

    compiled = compile_procure()
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("PYTHONHASHSEED", "0")
    cmd = "python benchmarks/run.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    meta = {"date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(), "command": cmd.strip(), "procure_tpl": args.procure_cmd,
            "floor_args": shlex.split(args.floor_args), "compiled": compiled}

    def log(msg):
        print(msg, flush=True)

    kept = []
    store = OUT / "results.json"
    if args.keep and store.exists():
        kept = [r for r in json.loads(store.read_text())["results"] if r["size"] not in sizes]
        meta["kept"] = [r["size"] for r in kept]
    order = list(generate.SIZES)
    results = []
    kept_text = hand_written(Path(args.results))
    for s in sizes:
        r = bench_size(s, runs[s], args.seed, args.procure_cmd, meta["floor_args"], args.timeout, env, log)
        r["command"] = meta["command"]
        results.append(r)
        allres = sorted(kept + results, key=lambda x: order.index(x["size"]))
        Path(args.results).write_text(render(allres, meta) + kept_text)
        store.write_text(json.dumps({"meta": meta, "results": allres}, indent=1, default=str))
    log(f"wrote {args.results}")
    bad = [r["size"] for r in results if r["floor"]["ok"] == 0 or r.get("match") is False]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
