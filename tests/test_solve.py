"""Status is proved, not assumed; every plan is verified; solvers stay quiet, tidy and deterministic."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import openpyxl
import pytest
from typer.testing import CliRunner

import procure.solve as solve_module
from procure import formulation
from procure.cli import app
from procure.instance import build_instance
from procure.pipeline import load
from procure.report import VOLATILE_SUMMARY_ITEMS
from procure.solve import SolveOptions, solve, verify

runner = CliRunner()

SHEETS = dict(
    minerals=[{"mineral": "Ga", "max_china_share": 0.3}],
    demand=[{"mineral": "Ga", "period": 2027, "demand": 10}, {"mineral": "Ga", "period": 2028, "demand": 12}],
    offers=[{"supplier": "Sino", "country": "China", "mineral": "Ga", "price": 1, "capacity": 100},
            {"supplier": "Maple", "country": "Canada", "mineral": "Ga", "price": 3, "capacity": 100},
            {"supplier": "Deal", "country": "Chile", "mineral": "Ga", "price": 2, "capacity": 100,
             "agreement": "optional", "fixed_cost": 5, "min_volume": 1}],
)


def program_of(path):
    return formulation.build(build_instance(load(path)))


def test_verify_names_each_broken_constraint(book):
    lp = program_of(book(**SHEETS))
    result = solve(lp)
    assert result.status == "optimal" and verify(lp, result.x) == []
    broken = result.x.copy()
    broken[lp.columns["x"].start] += 5.0  # buy 5 t more than the balance allows
    problems = verify(lp, broken)
    assert any(p.startswith("row balance[") for p in problems)
    y = lp.columns["y"].start
    fractional = result.x.copy()
    fractional[y] = 0.5
    assert any("is not whole" in p for p in verify(lp, fractional))


def test_a_plan_that_breaks_a_constraint_is_not_accepted(book, monkeypatch):
    lp = program_of(book(**SHEETS))
    honest = solve_module._run_highs

    def lying_solver(program, options, presolve):
        raw = honest(program, options, presolve)
        if raw.values is not None:
            raw.values = raw.values.copy()
            raw.values[program.columns["x"].start] += 100.0
        return raw

    monkeypatch.setattr(solve_module, "_run_highs", lying_solver)
    monkeypatch.setattr(solve_module, "polish", lambda *a, **k: None)
    result = solve(lp)
    assert result.status == "not_solved"
    assert "breaks constraints" in result.message


def test_time_limit_with_an_incumbent_gives_exit_3_and_a_plan_marked_not_optimal(book, tmp_path, monkeypatch):
    # a solver stopped by its time limit with a feasible plan in hand: exit 3, plan written, status not_solved
    honest = solve_module._run_highs

    def stopped(program, options, presolve):
        raw = honest(program, options, presolve)
        return solve_module.RawResult("stopped", "Time limit reached", raw.values, raw.best_bound)

    monkeypatch.setattr(solve_module, "_run_highs", stopped)
    plan, js = tmp_path / "p.xlsx", tmp_path / "p.json"
    result = runner.invoke(app, ["solve", str(book(**SHEETS)), "-o", str(plan), "--json", str(js)])
    assert result.exit_code == 3
    assert "not optimal" in result.output and "Time limit reached" in result.output
    data = json.loads(js.read_text())
    assert data["status"] == "not_solved" and data["objective"] is not None
    summary = {r[0]: r[1] for r in openpyxl.load_workbook(plan)["Summary"].iter_rows(values_only=True)}
    assert summary["Status"] == "not_solved" and "MIP gap" in summary


def test_iteration_limit_without_a_plan_gives_exit_3_and_no_plan(book, tmp_path, monkeypatch):
    monkeypatch.setattr(solve_module, "_run_highs",
                        lambda program, options, presolve: solve_module.RawResult("stopped", "Iteration limit reached"))
    plan = tmp_path / "p.xlsx"
    result = runner.invoke(app, ["solve", str(book(**SHEETS)), "-o", str(plan)])
    assert result.exit_code == 3 and "Iteration limit reached" in result.output
    assert not plan.exists()


def test_zero_time_limit_is_not_optimal(book, tmp_path):
    result = runner.invoke(app, ["solve", str(book(**SHEETS)), "-o", str(tmp_path / "p.xlsx"),
                                 "--time-limit", "0"])
    assert result.exit_code == 3


def test_no_solver_output_on_stdout_unless_verbose(book, tmp_path):
    wb = book(**SHEETS)
    command = [sys.executable, "-m", "procure", "solve", str(wb), "-o", str(tmp_path / "p.xlsx"), "--quiet"]
    quiet = subprocess.run(command, capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stdout == "" and "HiGHS" not in quiet.stderr
    loud = subprocess.run(command[:-1] + ["--verbose"], capture_output=True, text=True)
    assert loud.returncode == 0 and "HiGHS" in loud.stdout


def test_cbc_leaves_no_temporary_files(book, tmp_path, monkeypatch):
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    lp = program_of(book(**SHEETS))
    assert solve(lp, SolveOptions(solver="cbc")).status == "optimal"
    assert list(scratch.iterdir()) == []


def test_highs_and_cbc_agree(book):
    # Ga: cap 0.3 each year. Deal (2/t, fixed 5, min 1/year) beats Canada (3/t) for the 70 %:
    # 2027: 3 x 1 + 7 x 2; 2028: 3.6 x 1 + 8.4 x 2; + 5 = 17 + 20.4 + 5 = 42.4
    lp = program_of(book(**SHEETS))
    highs, cbc = solve(lp), solve(lp, SolveOptions(solver="cbc"))
    assert highs.objective == pytest.approx(42.4, rel=1e-9)
    assert cbc.objective == pytest.approx(highs.objective, rel=1e-9)


def _cells(path):
    book = openpyxl.load_workbook(path)
    cells = {}
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            if sheet.title == "Summary" and len(row) > 7 and row[7] in VOLATILE_SUMMARY_ITEMS:
                continue  # the only cells allowed to differ between runs (CLI.md)
            cells.setdefault(sheet.title, []).append(row)
    return cells


def test_same_inputs_same_plan(tmp_path):
    from procure.starter import bundled_imports

    plans = []
    for run in range(2):
        plan = tmp_path / f"p{run}.xlsx"
        assert runner.invoke(app, ["solve", str(bundled_imports()), "-o", str(plan), "-q"]).exit_code == 0
        plans.append(_cells(plan))
    assert plans[0] == plans[1]


def test_shuffled_rows_and_tied_prices_give_the_same_plan(book, tmp_path):
    # three suppliers at the same price 2 with capacity 4 each, demand 10: the tie must be broken the same
    # way whatever the row order of Offers and Minerals.
    offers = [{"supplier": name, "country": country, "mineral": "Ga", "price": 2, "capacity": 4}
              for name, country in (("A", "Peru"), ("B", "Chile"), ("C", "Canada"))]
    offers.append({"supplier": "D", "country": "Peru", "mineral": "Co", "price": 1, "capacity": 9})
    minerals = [{"mineral": "Ga"}, {"mineral": "Co"}]
    demand = [{"mineral": "Ga", "period": 2027, "demand": 10}, {"mineral": "Co", "period": 2027, "demand": 3}]
    results = []
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]):
        wb = book(minerals=minerals[::1 if order[0] < 2 else -1], demand=demand,
                  offers=[offers[i] for i in order])
        plan = tmp_path / f"p{order[0]}.xlsx"
        assert runner.invoke(app, ["solve", str(wb), "-o", str(plan), "-q"]).exit_code == 0
        rows = openpyxl.load_workbook(plan)["Allocation"].iter_rows(min_row=2, values_only=True)
        results.append(sorted((r[1], r[4], r[5], r[6]) for r in rows))  # supplier, mineral, period, quantity
    assert results[0] == results[1] == results[2]
    assert np.isclose(sum(r[3] for r in results[0] if r[1] == "Ga"), 10.0)


def test_every_solver_call_is_a_named_step_under_one_deadline(book, monkeypatch):
    """--time-limit is the whole command's: each step gets the time left, a step after the deadline is skipped."""
    lp = program_of(book(**SHEETS))  # a MIP: two HiGHS runs, each polished by fixed-agreement LPs
    honest = solve_module._run_highs
    clock = {"now": 1000.0}
    limits = []

    def slow(program, options, presolve):
        limits.append(options.time_limit_s)
        clock["now"] += 4.0  # every solver call takes 4 s of the 10 s allowed
        return honest(program, replace(options, time_limit_s=None), presolve)

    monkeypatch.setattr(solve_module, "_run_highs", slow)
    monkeypatch.setattr(solve_module.time, "time", lambda: clock["now"])
    result = solve(lp, SolveOptions(time_limit_s=10.0))
    names = [s.name for s in result.steps]
    assert names[:2] == ["highs MIP (presolve on)", "polish: LP, agreements fixed (rounded)"]
    assert limits[:3] == [10.0, 6.0, 2.0]  # the time left, not 10 s per call
    ran = [s for s in result.steps if not s.outcome.startswith("skipped")]
    skipped = [s for s in result.steps if s.outcome.startswith("skipped")]
    assert len(ran) == 3 and skipped, names  # the third call ends past the deadline; the rest are skipped
    assert "time limit reached; skipped: " in result.message and skipped[0].name in result.message
    # the first run and its polish finished: the plan is kept and proven
    assert result.status == "optimal" and result.objective == pytest.approx(42.4, rel=1e-9)


def test_without_a_time_limit_nothing_is_skipped(book):
    result = solve(program_of(book(**SHEETS)))
    assert [s.name for s in result.steps] == [
        "highs MIP (presolve on)", "polish: LP, agreements fixed (rounded)",
        "highs MIP (presolve off)", "polish: LP, agreements fixed (rounded)"]
    assert all(not s.outcome.startswith("skipped") for s in result.steps)


def test_verbose_logs_each_step(book, tmp_path):
    command = [sys.executable, "-m", "procure", "solve", str(book(**SHEETS)), "-o", str(tmp_path / "p.xlsx"),
               "--verbose"]
    run = subprocess.run(command, capture_output=True, text=True)
    assert run.returncode == 0
    assert "procure.solve: step highs MIP (presolve on)" in run.stderr
    assert "polish: LP, agreements fixed (rounded)" in run.stderr


@pytest.mark.xfail(strict=True, reason="known limitation: HiGHS 1.16 misses the signed optimum when an "
                   "agreement's minimum volume is 1e12 (presolve on: 'Solve error'; off: y = 0 'optimal')")
def test_an_agreement_of_1e12_units_is_signed_when_it_is_free(book):
    """Found by the property tests. An optional agreement (fixed cost 0, price 0) must take 1e12 units in
    2026; 1 unit is demanded in 2027; holding is free. Signing it and keeping the surplus costs 0, the
    optimum. Otherwise 0.01 comes free from spot and 0.99 at 1/unit: 0.99. HiGHS returns a plan without
    the agreement (0.98 with rounding slack), which verifies as feasible but is not least cost. Column
    scaling (an agreement's x in units of its minimum volume) would be the fix; kept here so that the
    day it passes, strict xfail says so."""
    wb = book(minerals=[{"mineral": "Gallium"}],
              demand=[{"mineral": "Gallium", "period": 2026, "demand": 0},
                      {"mineral": "Gallium", "period": 2027, "demand": 1}],
              offers=[{"supplier": "Acme", "country": "China", "mineral": "Gallium", "price": 0,
                       "capacity": 1e12, "period": 2026, "china_share": 0, "agreement": "optional",
                       "min_volume": 1e12, "fixed_cost": 0},
                      {"supplier": "Acme", "country": "China", "mineral": "Gallium", "price": 0, "capacity": 0.01,
                       "china_share": 0},
                      {"supplier": "Acme", "country": "China", "mineral": "Gallium", "price": 1,
                       "capacity": 1e6, "period": 2027}])
    result = solve(program_of(wb))
    assert result.status == "optimal" and result.objective == pytest.approx(0.0, abs=1e-6)
