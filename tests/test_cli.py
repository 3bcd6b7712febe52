"""The command line through typer.testing: exit codes, messages, files written."""

from __future__ import annotations

import hashlib
import json

import openpyxl
import pytest
from typer.testing import CliRunner

from procure.cli import app

runner = CliRunner()


def simple(**policy):
    """Ga: China 1/t (exposure 1), Canada 3/t; demand 10 in 2027."""
    return dict(
        minerals=[{"mineral": "Gallium"}],
        demand=[{"mineral": "Gallium", "period": 2027, "demand": 10}],
        offers=[{"supplier": "Sino", "country": "China", "mineral": "Gallium", "price": 1, "capacity": 100},
                {"supplier": "Maple", "country": "Canada", "mineral": "Gallium", "price": 3, "capacity": 100}],
        policy=policy or None,
    )


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_solve_writes_plan_and_json(book, tmp_path):
    # cap 0.3: 3 x 1 + 7 x 3 = 24
    wb = book(**simple(max_china_share=0.3))
    before = digest(wb)
    plan, js = tmp_path / "out" / "plan.xlsx", tmp_path / "r.json"
    result = runner.invoke(app, ["solve", str(wb), "-o", str(plan), "--json", str(js)])
    assert result.exit_code == 0, result.output
    assert "optimal" in result.output
    data = json.loads(js.read_text())
    assert data["status"] == "optimal"
    assert data["objective"] == pytest.approx(24.0)
    assert data["spend"] == pytest.approx(24.0)
    # across minerals a share is taken by value (units of different minerals never add up):
    # China 3 t x $1 of $24 spent = 0.125 (by quantity it is the capped 0.3, shown per mineral)
    assert data["china_share"] == pytest.approx(0.125)
    assert data["minerals"]["Gallium"]["marginal_cost"]["2027"] == pytest.approx(2.4)  # 0.3 x 1 + 0.7 x 3
    assert data["input_sha256"] == before
    sheets = openpyxl.load_workbook(plan).sheetnames
    for name in ("Summary", "Allocation", "Minerals", "Countries", "Offers", "Agreements", "Constraints", "Excluded"):
        assert name in sheets
    assert digest(wb) == before  # the input is never written


def test_default_plan_path_under_outputs(book, tmp_path, monkeypatch):
    wb = book(name="plan-in.xlsx", **simple())
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["solve", str(wb), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "outputs" / "plan-in-plan.xlsx").exists()
    assert result.output == ""


def test_plan_path_equal_to_input_is_refused(book):
    wb = book(**simple())
    before = digest(wb)
    result = runner.invoke(app, ["solve", str(wb), "-o", str(wb)])
    assert result.exit_code == 1
    assert "would overwrite the input workbook" in result.output
    assert digest(wb) == before


def test_validate_prints_size_summary(book):
    result = runner.invoke(app, ["validate", str(book(**simple()))])
    assert result.exit_code == 0, result.output
    assert "purchase variables" in result.output and "valid" in result.output


def test_infeasible_signed_minimum_against_china_cap(book, tmp_path):
    # A signed Chinese contract must take 10 t, the China cap is 0.2 and nothing else is offered:
    # China share is 1, so the cap row needs 10 - 0.2 x 10 = 8 t of exposure relaxed: 8 t of the 10 t bought
    # is 80 percentage points of the cap, the constraint's own unit.
    wb = book(minerals=[{"mineral": "Ga", "max_china_share": 0.2}],
              demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
              offers=[{"supplier": "Sino", "country": "China", "mineral": "Ga", "price": 1, "capacity": 20,
                       "agreement": "signed", "min_volume": 10}])
    plan, js = tmp_path / "p.xlsx", tmp_path / "p.json"
    result = runner.invoke(app, ["solve", str(wb), "-o", str(plan), "--json", str(js)])
    assert result.exit_code == 2, result.output
    assert "China exposure cap" in result.output
    data = json.loads(js.read_text())
    assert data["status"] == "infeasible" and data["objective"] is None
    [relax] = data["relaxations"]
    assert relax["constraint"].startswith("China exposure cap")
    assert relax["mineral"] == "Ga" and relax["period"] == 2027
    assert relax["amount"] == pytest.approx(80.0) and relax["unit"] == "percentage points"
    assert "cap (20%) by 80.00 percentage points (8 units of purchases)" in " ".join(result.output.split())
    # every sheet that can be filled is written, from the relaxed plan, and the Summary says so
    book_out = openpyxl.load_workbook(plan)
    assert {"Relaxations", "Minerals", "Allocation"} <= set(book_out.sheetnames)
    summary = {r[0]: r[1] for r in book_out["Summary"].iter_rows(values_only=True)}
    assert "relaxed plan" in summary["Plan shown"]


def test_strict_forbids_shortfall(book, tmp_path):
    # capacity 6 against demand 10: fine with shortfall (exit 0), infeasible under --strict by 4 t.
    wb = book(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
              offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 1, "capacity": 6}])
    assert runner.invoke(app, ["solve", str(wb), "-o", str(tmp_path / "a.xlsx"), "-q"]).exit_code == 0
    js = tmp_path / "s.json"
    result = runner.invoke(app, ["solve", str(wb), "--strict", "-o", str(tmp_path / "b.xlsx"), "--json", str(js)])
    assert result.exit_code == 2
    [relax] = json.loads(js.read_text())["relaxations"]
    assert relax["constraint"].startswith("demand balance") and relax["amount"] == pytest.approx(4.0)
    assert relax["unit"] == "t"  # the mineral's own unit (the default), never "units"


def test_budget_against_committed_fixed_cost_is_infeasible(book, tmp_path):
    # a signed contract's fixed cost 50 alone exceeds the horizon budget 30: relax the budget by 20.
    wb = book(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": 0}],
              offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 1, "capacity": 6,
                       "agreement": "signed", "fixed_cost": 50}],
              policy={"budget_total": 30})
    js = tmp_path / "s.json"
    result = runner.invoke(app, ["solve", str(wb), "-o", str(tmp_path / "b.xlsx"), "--json", str(js)])
    assert result.exit_code == 2
    [relax] = json.loads(js.read_text())["relaxations"]
    assert relax["constraint"].startswith("horizon budget") and relax["amount"] == pytest.approx(20.0)


def test_cbc_reaches_the_same_optimum(book, tmp_path):
    # the agreement case: sign the deal, 20 + 10 x 4 = 60
    wb = book(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
              offers=[{"supplier": "Spot", "country": "Canada", "mineral": "Ga", "price": 10, "capacity": 100},
                      {"supplier": "Deal", "country": "Chile", "mineral": "Ga", "price": 4, "capacity": 100,
                       "agreement": "optional", "fixed_cost": 20}])
    for solver in ("highs", "cbc"):
        js = tmp_path / f"{solver}.json"
        result = runner.invoke(app, ["solve", str(wb), "--solver", solver, "-o", str(tmp_path / f"{solver}.xlsx"),
                                     "--json", str(js), "-q"])
        assert result.exit_code == 0, result.output
        assert json.loads(js.read_text())["objective"] == pytest.approx(60.0)


def test_unknown_solver(book):
    result = runner.invoke(app, ["solve", str(book(**simple())), "--solver", "gurobi"])
    assert result.exit_code == 1 and "unknown solver" in result.output


def test_formula_text_stays_text_in_the_plan(book, tmp_path):
    sheets = simple()
    sheets["offers"][0]["supplier"] = '=HYPERLINK("http://example.com","click")'
    plan = tmp_path / "p.xlsx"
    assert runner.invoke(app, ["solve", str(book(**sheets)), "-o", str(plan), "-q"]).exit_code == 0
    sheet = openpyxl.load_workbook(plan)["Allocation"]
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert cells and all(c.data_type == "s" for c in cells)


def test_missing_workbook_path(tmp_path):
    result = runner.invoke(app, ["solve", str(tmp_path / "nope.xlsx")])
    assert result.exit_code == 1 and "no such file" in result.output


def test_version():
    import procure

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"procure {procure.__version__}"


def test_a_bug_is_an_internal_error_with_its_own_exit_code(book, tmp_path, monkeypatch):
    """A bug is not the user's input problem: exit 5, a plain message, the traceback only with --verbose."""
    import procure.pipeline

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(procure.pipeline, "optimize", broken)
    wb = book(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": 1}],
              offers=[{"supplier": "A", "country": "Peru", "mineral": "Ga", "price": 1, "capacity": 5}])
    quiet = runner.invoke(app, ["solve", str(wb), "-o", str(tmp_path / "p.xlsx")])
    assert quiet.exit_code == 5
    assert "internal error" in quiet.output and "ZeroDivisionError: a bug" in quiet.output
    assert "Traceback" not in quiet.output
    loud = runner.invoke(app, ["solve", str(wb), "-o", str(tmp_path / "p.xlsx"), "--verbose"])
    assert loud.exit_code == 5 and "Traceback" in loud.output


def test_a_usage_error_is_an_input_problem_exit_1(tmp_path):
    """CLI.md: an unknown option or a missing argument exits 1, never 2 (2 means infeasible)."""
    import subprocess
    import sys

    unknown = subprocess.run([sys.executable, "-m", "procure", "solve", "--no-such-option"],
                             capture_output=True, text=True)
    assert unknown.returncode == 1 and "No such option" in unknown.stderr
    missing = subprocess.run([sys.executable, "-m", "procure", "diff"], capture_output=True, text=True)
    assert missing.returncode == 1 and "Missing argument" in missing.stderr
    version = subprocess.run([sys.executable, "-m", "procure", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("procure ")


def test_validate_checks_the_scenario_and_risk_sheets(book):
    """procure validate reads what solve and stress will: a Shocks row naming an unknown scenario and a
    Risks row with an impossible probability are reported at once, with sheet, row and column."""
    wb = book(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": 1}],
              offers=[{"supplier": "A", "country": "Peru", "mineral": "Ga", "price": 1, "capacity": 5}],
              extra_sheets={"Scenarios": [{"scenario": "calm", "probability": 1}],
                            "Shocks": [{"scenario": "stormy", "mineral": "Ga", "capacity": 0.5}],
                            "Risks": [{"event": "strike", "probability": 1.5, "mineral": "Ga"}]})
    result = runner.invoke(app, ["validate", str(wb)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "sheet 'Shocks', row 2" in text and "stormy" in text
    assert "sheet 'Risks', row 2, column 'probability'" in text


def test_validate_and_frontier_default_to_the_bundled_sample_as_solve_does(tmp_path):
    # the reserve program: eight minerals over 2027-2031; at a 100% cap the frontier's one point is the plan
    checked = runner.invoke(app, ["validate"])
    assert checked.exit_code == 0 and "sample.xlsx: valid" in checked.output and "8" in checked.output
    js = tmp_path / "f.json"
    swept = runner.invoke(app, ["frontier", "--caps", "1", "-o", str(tmp_path / "f.xlsx"), "--json", str(js), "-q"])
    assert swept.exit_code == 0, swept.output
    (point,) = json.loads(js.read_text())["points"]
    assert point["status"] == "optimal" and point["cap"] == 1
