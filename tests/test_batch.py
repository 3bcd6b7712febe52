"""procure batch: one plan per scenario, the comparison, --fail-on, and the plans' names."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from builders import two_offers
from procure.cli import app

runner = CliRunner()



def test_batch_with_a_failing_scenario_still_writes_the_others(book, tmp_path):
    wb = book(**two_offers())
    good = tmp_path / "capped.toml"
    good.write_text('[policy]\nmax_china_share = 0.3\n')
    broken = tmp_path / "broken.toml"
    broken.write_text('[policy]\nmax_china_shar = 0.3\n')
    out = tmp_path / "runs"
    result = runner.invoke(app, ["batch", str(wb), str(good), str(broken), "-o", str(out), "--workers", "2",
                                 "--fail-on", "error", "-q"])
    assert result.exit_code == 4, result.output
    assert "unknown policy key" in result.output
    comparison = json.loads((out / f"{wb.stem}-comparison.json").read_text())
    rows = {r["scenario"]: r for r in comparison["scenarios"]}
    assert rows["capped"]["status"] == "optimal" and rows["capped"]["objective"] == pytest.approx(24.0)
    assert rows["broken"]["status"] == "error"
    assert (out / f"{wb.stem}-capped-plan.xlsx").exists()
    assert (out / f"{wb.stem}-comparison.xlsx").exists()


def test_batch_fail_on_shortfall_and_baseline_difference(book, tmp_path):
    wb = book(**two_offers())
    base, cut = tmp_path / "base.toml", tmp_path / "cut.toml"
    base.write_text('name = "base-case"\n')
    cut.write_text('[[shock]]\ncountry = "Canada"\ncapacity = 0.05\n[[shock]]\ncountry = "China"\ncapacity = 0\n')
    out = tmp_path / "runs"
    clean = runner.invoke(app, ["batch", str(wb), str(base), "-o", str(out), "--fail-on", "shortfall", "-q"])
    assert clean.exit_code == 0, clean.output
    gated = runner.invoke(app, ["batch", str(wb), str(base), str(cut), "-o", str(out), "--fail-on", "shortfall",
                                "-q"])
    # cut's 5 t short are worth 5 x 2 = $10 at the reference price (the median of the prices 1 and 3)
    assert gated.exit_code == 4 and "cut: shortfall worth $10 at reference prices" in gated.output
    comparison = json.loads((out / f"{wb.stem}-comparison.json").read_text())
    rows = comparison["scenarios"]
    assert comparison["baseline"] == "base-case"  # no scenario named "baseline": the first given
    # base 10 x 1 = 10; cut: 5 t from Canada at 3 (15) + 5 t short at 30 (150) = 165
    assert rows[1]["objective_vs_baseline"] == pytest.approx(155.0)
    assert rows[1]["spend_usd_vs_baseline"] == pytest.approx(5.0)  # spend 15 against 10: money apart from penalty
    assert rows[1]["shortfall_usd_vs_baseline"] == pytest.approx(10.0)
    # an explicit --baseline turns the differences around; a named "baseline" scenario is the default
    named = runner.invoke(app, ["batch", str(wb), str(base), str(cut), "-o", str(out), "--baseline", "cut", "-q"])
    assert named.exit_code == 0, named.output
    rows = json.loads((out / f"{wb.stem}-comparison.json").read_text())["scenarios"]
    assert rows[0]["spend_usd_vs_baseline"] == pytest.approx(-5.0)
    unknown = runner.invoke(app, ["batch", str(wb), str(base), "-o", str(out), "--baseline", "nope", "-q"])
    assert unknown.exit_code == 1 and "--baseline 'nope': no such scenario" in unknown.output
    renamed = tmp_path / "baseline.toml"
    renamed.write_text('name = "baseline"\n')
    default = runner.invoke(app, ["batch", str(wb), str(cut), str(renamed), "-o", str(out), "-q"])
    assert default.exit_code == 0
    assert json.loads((out / f"{wb.stem}-comparison.json").read_text())["baseline"] == "baseline"


def test_batch_names_plans_as_solve_does(book, tmp_path):
    # one rule (procure.paths.default_output_path) for solve, frontier and batch: a scenario named
    # "China ban / 2027" becomes the file-name part "China-ban-2027"; the base scenario adds nothing
    wb = book(name="plan-in.xlsx", **two_offers())
    ban, base = tmp_path / "ban.toml", tmp_path / "b.toml"
    ban.write_text('name = "China ban / 2027"\n[[shock]]\ncountry = "China"\ncapacity = 0\n')
    base.write_text('name = "base"\n')
    out = tmp_path / "runs"
    result = runner.invoke(app, ["batch", str(wb), str(base), str(ban), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("*-plan.xlsx")) == ["plan-in-China-ban-2027-plan.xlsx",
                                                               "plan-in-plan.xlsx"]
