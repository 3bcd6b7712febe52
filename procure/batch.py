"""One plan per scenario, on Dask when more than one worker is asked for, and a comparison of them all
(``procure batch``).

Each scenario is solved in its own process from file paths (nothing unpicklable
crosses a process boundary); a scenario that fails is reported in its row and
does not stop the others. The baseline of the comparison is named by --baseline (default: a scenario named
``baseline``, else the first).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from procure import fmt, pipeline
from procure.cluster import dask_client
from procure.errors import InputError, OutputError, ProcureError
from procure.families import Measure, family_of_title
from procure.files import read_toml
from procure.paths import check_output_path, check_paths, default_output_path
from procure.solve import SolveOptions, Status

FAIL_CONDITIONS = ("shortfall", "infeasible", "not_optimal", "budget", "error")
SHORTFALL_TOL = 1e-6


@dataclass(frozen=True)
class Job:
    workbook: Path
    model: Path | None
    out_dir: Path
    options: SolveOptions
    strict: bool
    plan: Path | None = None  # where the plan goes, checked before any solve (see plan_jobs); None: named here


def scenario_name(model: Path) -> str:
    """The scenario name a model file gives its plan (its ``name =``, else its file stem), read without the
    workbook, so every plan path is known before anything is solved. A file that cannot be read gets its
    stem: its job fails with the reason and writes nothing."""
    model = Path(model)
    try:
        name = read_toml(model, "scenario file").get("name", model.stem)
    except InputError:
        return model.stem
    return name.strip() if isinstance(name, str) and name.strip() else model.stem


def plan_jobs(workbook: Path, models: list[Path], out_dir: Path, options: SolveOptions, strict: bool,
              comparison: list[tuple[str, Path]] = ()) -> list[Job]:
    """One job per model file, each with its plan path (and the JSON beside it), after checking every path
    the batch writes (the plans, their JSON, the ``comparison`` files) against every file it reads and
    against each other: two models sharing a ``name =`` would write one plan, and a model file where a
    plan's JSON goes would be overwritten. Raises :class:`~procure.errors.OutputError` naming each clash."""
    jobs, outputs, named = [], [], {}
    for model in models:
        name = scenario_name(model)
        plan = default_output_path(workbook, name, folder=out_dir)
        if plan in named:  # the usual clash, said in the batch's own words
            raise OutputError(f"{named[plan]} and {model} both name their scenario '{name}', so both plans would "
                              f"be written to '{plan}'; give each model file its own name =")
        named[plan] = model
        jobs.append(Job(workbook, model, out_dir, options, strict, plan))
        outputs += [(f"plan of {model}", plan), (f"JSON of {model}", plan.with_suffix(".json"))]
    check_paths([("workbook", workbook)] + [("model file", m) for m in models], outputs + list(comparison))
    return jobs


def _largest_shortfall(minerals: dict) -> str:
    """The mineral whose shortfall is worth most (USD at its reference price); "" when none is short."""
    short = {name: m.get("shortfall_usd") or 0.0 for name, m in minerals.items()}
    name = max(short, key=short.get, default="")
    return name if name and short[name] > 0 else ""


def run_job(job: Job) -> dict:
    """Solve one scenario and write its plan and JSON; return its comparison row (never raises).

    A workbook with scenarios (Scenarios sheet) gives a stochastic plan per model file."""
    name = job.model.stem if job.model is not None else "base"
    row: dict = {"scenario": name, "model": str(job.model) if job.model else "", "status": "error"}
    try:
        data = pipeline.load(job.workbook, job.model)
        name = data.policy.scenario
        row["scenario"] = name
        plan = job.plan or check_output_path(default_output_path(job.workbook, name, folder=job.out_dir),
                                             [job.workbook] + ([job.model] if job.model else []))
        outcome = pipeline.optimize(data, job.options, strict=job.strict)
        report = pipeline.make_report(outcome, input_name=job.workbook.name)
        if pipeline.write(outcome, report, plan, plan.with_suffix(".json")):
            row["plan"] = str(plan)
        row.update({
            "status": str(outcome.status),
            "spend_usd": report.json.get("spend"),
            "shortfall_usd": report.json.get("shortfall_usd"),
            "objective": report.json.get("objective"),
            "china_share": report.json.get("china_share"),
            "highest_china_share_mineral": report.item("highest_china_share_mineral", ""),
            "largest_shortfall_mineral": _largest_shortfall(report.json.get("minerals", {})),
            "reserve_days_min": report.item("reserve_days_min"),
            "budget_used": report.item("budget_total_used", report.item("budget_period_used")),
            "budget_relaxed": any(family_of_title(r["constraint"]).measure == Measure.BUDGET
                                  for r in report.json.get("relaxations", [])),
            "message": outcome.solution.message,
        })
    except InputError as exc:
        row["message"] = "; ".join(str(p) for p in exc.problems[:5]) + (
            f" (+{len(exc.problems) - 5} more)" if len(exc.problems) > 5 else "")
    except ProcureError as exc:
        row["message"] = str(exc)
    except Exception as exc:  # a bug in one scenario must not stop the batch
        row["message"] = f"internal error: {type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc()
    return row


def run_batch(jobs: list[Job], workers: int | None = 1, progress: Callable[[dict], None] | None = None,
              scheduler: str | None = None) -> list[dict]:
    """Run every job; rows come back in the jobs' order.

    One worker and no scheduler: here, one after the other. Otherwise on Dask
    (procure.cluster, the engine ``procure stress`` uses): a local cluster of
    ``workers`` processes, or the cluster at ``scheduler``. A job whose worker
    dies is retried once on another; if it fails again its row says so.
    """
    rows: list[dict | None] = [None] * len(jobs)
    if scheduler is None and (workers or 1) <= 1:
        for i, job in enumerate(jobs):
            rows[i] = run_job(job)
            if progress:
                progress(rows[i])
        return rows  # type: ignore[return-value]
    from distributed import as_completed  # dask is imported only when a cluster is asked for

    with dask_client(None if scheduler else min(workers or 1, max(len(jobs), 1)), scheduler) as client:
        futures = [client.submit(run_job, job, key=f"procure-batch-{i}-{job.workbook.name}", retries=1, pure=False)
                   for i, job in enumerate(jobs)]
        index = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures, loop=client.loop):
            i = index[future.key]
            try:
                rows[i] = future.result()
            except Exception as exc:  # the worker process itself died, twice
                rows[i] = {"scenario": str(jobs[i].model or "base"), "status": "error",
                           "message": f"worker failed: {type(exc).__name__}: {exc}"}
            if progress:
                progress(rows[i])
    return rows  # type: ignore[return-value]


def baseline_index(rows: list[dict], baseline: str | None) -> int:
    """The comparison's baseline: the scenario named ``baseline``; by default one named ``baseline``
    if present, else the first given. An unknown name is an error listing the names."""
    names = [str(r.get("scenario")) for r in rows]
    if baseline is None:
        return names.index("baseline") if "baseline" in names else 0
    if baseline not in names:
        raise ProcureError(f"--baseline '{baseline}': no such scenario; the scenarios are: {', '.join(names)}")
    return names.index(baseline)


def compare(rows: list[dict], baseline: str | None = None) -> tuple[list[dict], str]:
    """Add each figure's difference against the baseline to every row; returns the rows and the baseline's name."""
    if not rows:
        return rows, ""
    base = rows[baseline_index(rows, baseline)]
    for row in rows:
        for key in ("spend_usd", "shortfall_usd", "objective", "china_share"):
            value, reference = row.get(key), base.get(key)
            row[f"{key}_vs_baseline"] = (value - reference) if value is not None and reference is not None \
                else None
    return rows, str(base.get("scenario"))


def failures(rows: list[dict], conditions: list[str]) -> list[str]:
    """Which ``--fail-on`` conditions the rows meet, each as a sentence naming the scenario."""
    met = []
    for row in rows:
        name = row.get("scenario")
        status = row.get("status")
        if "error" in conditions and status == "error":
            met.append(f"{name}: error ({row.get('message', '')})")
        if "infeasible" in conditions and status == Status.INFEASIBLE:
            met.append(f"{name}: infeasible")
        if "not_optimal" in conditions and status in (Status.NOT_SOLVED, "error"):
            met.append(f"{name}: not optimal ({status})")
        if "shortfall" in conditions and (row.get("shortfall_usd") or 0) > SHORTFALL_TOL:
            met.append(f"{name}: shortfall worth {fmt.usd(row['shortfall_usd'])} at reference prices")
        if "budget" in conditions and ((row.get("budget_used") or 0) >= 1 - 1e-9 or row.get("budget_relaxed")):
            met.append(f"{name}: budget exhausted or exceeded")
    return met
