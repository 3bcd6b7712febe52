"""What the program buys at each budget (frontier --budgets), what a binding budget's sentence says in money,
and spend split into acquisitions, fees and holding. Every figure below is worked by hand in a comment."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from procure.budgets import budget_frontier, parse_budgets
from procure.cli import app
from procure.data import Shock, StochasticScenario
from procure.pipeline import load, make_report, optimize
from procure.solve import SolveOptions
from procure.stochastic import prepare

runner = CliRunner()
REL = 1e-9


def _one_mineral(book, **policy):
    # one mineral, one period, demand 10 t; one offer at 1 USD/t (capacity 100); shortfall penalty 10 USD/t;
    # the reference price is the median offer price: 1 USD/t
    return book(minerals=[{"mineral": "Ga", "shortfall_penalty": 10}],
                demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
                offers=[{"supplier": "A", "country": "Chile", "mineral": "Ga", "price": 1, "capacity": 100}],
                policy=policy or None)


@pytest.mark.parametrize("warm", [True, False])
def test_each_budget_buys_what_it_can(book, warm):
    # budget 4: buy 4, 6 t short (6 USD at reference price); 8: buy 8, 2 short; 12: buy 10, none short.
    # marginal: (6 - 2) / (8 - 4) = 1 USD of shortfall value saved per USD; (2 - 0) / (12 - 8) = 0.5.
    data = load(_one_mineral(book))
    points = budget_frontier(prepare(data, []), [12, 4, 8], SolveOptions(), warm=warm)
    assert [p.budget for p in points] == [4, 8, 12]
    assert [p.spend_usd for p in points] == pytest.approx([4, 8, 10], rel=REL)
    assert [p.shortfall_value_usd for p in points] == pytest.approx([6, 2, 0], rel=REL, abs=1e-9)
    assert points[0].marginal is None
    assert [p.marginal for p in points[1:]] == pytest.approx([1.0, 0.5], rel=REL)
    assert [p.objective for p in points] == pytest.approx([4 + 60, 8 + 20, 10], rel=REL)


def test_a_stochastic_budget_frontier_reports_the_worst_scenario(book):
    # calm (0.5) as above; "dear" (0.5) doubles the price: with budget 8, calm buys 8 (2 short), dear buys
    # 4 (6 short): expected shortfall value 4, worst 6; the objective the expectation of both
    data = load(_one_mineral(book))
    fan = prepare(data, [StochasticScenario("calm", 0.5), StochasticScenario("dear", 0.5,
                                                                        shocks=[Shock(price_factor=2.0)])])
    (point,) = budget_frontier(fan, [8], SolveOptions())
    assert point.shortfall_value_usd == pytest.approx(4.0, rel=REL)
    assert point.worst_shortfall_usd == pytest.approx(6.0, rel=REL)
    assert point.spend_usd == pytest.approx(8.0, rel=REL)


def test_the_budget_frontier_command_writes_points_and_a_chart(book, tmp_path):
    path = _one_mineral(book)
    out, js = tmp_path / "f.xlsx", tmp_path / "f.json"
    result = runner.invoke(app, ["frontier", str(path), "--budgets", "4:12:4", "-o", str(out), "--json", str(js)])
    assert result.exit_code == 0, result.output
    points = json.loads(js.read_text())["points"]
    assert [p["budget"] for p in points] == [4, 8, 12]
    assert [p["shortfall_usd"] for p in points] == pytest.approx([6, 2, 0], abs=1e-9)
    assert all("objective" in p and not any(k.startswith("objective_") for k in p) for p in points)
    import zipfile
    with zipfile.ZipFile(out) as z:
        assert any(n.startswith("xl/charts/") for n in z.namelist())


@pytest.mark.parametrize("text, why", [("8:4:1", "start must not exceed"), ("0:1e12:1", "at most"),
                                       ("-1,4", "0 or more"), ("a:b:c", "expected start:stop:step")])
def test_bad_budgets_are_refused_before_solving(text, why):
    with pytest.raises(ValueError, match=why):
        parse_budgets(text)


def test_a_binding_budget_says_what_one_percent_buys_in_money(book):
    # demand 1,000 t at 100 USD/t, penalty 1,000 USD/t, horizon budget 80,000 USD: 800 t bought, 200 short.
    # 1% more (80,800): 8 t more bought -> spend +800 USD, shortfall value -800 USD (8 t at 100 USD/t);
    # 1% less: spend -800, shortfall value +800.
    path = book(minerals=[{"mineral": "Ga", "shortfall_penalty": 1000}],
                demand=[{"mineral": "Ga", "period": 2027, "demand": 1000}],
                offers=[{"supplier": "A", "country": "Chile", "mineral": "Ga", "price": 100, "capacity": 5000}],
                policy={"budget_total": 80000})
    report = make_report(optimize(load(path)), input_name="t")
    sentence = next(f.sentence for f in report.findings if f.sentence.startswith("The horizon budget"))
    assert "1% more budget would raise spend by $800 and lower the shortfall value by $800" in sentence
    assert "1% less would lower spend by $800 and raise the shortfall value by $800" in sentence
    assert "objective" not in sentence


def test_spend_is_split_into_acquisitions_fees_and_holding(book):
    # 2027: buy 10 t at 1 USD/t for the 2028 demand (the only offer covers 2027 only) and hold it a period
    # at 0.5 USD/t; an optional agreement's fixed cost 3 USD is paid in its first period (2027) when signed.
    # Signing is the only way to buy: acquisitions 10, fees 3, holding 5 (2027's closing reserve 10 t).
    path = book(minerals=[{"mineral": "Ga", "shortfall_penalty": 100, "holding_cost": 0.5}],
                demand=[{"mineral": "Ga", "period": 2027, "demand": 0},
                        {"mineral": "Ga", "period": 2028, "demand": 10}],
                offers=[{"supplier": "A", "country": "Chile", "mineral": "Ga", "price": 1, "capacity": 100,
                         "period": 2027, "agreement": "optional", "fixed_cost": 3}])
    report = make_report(optimize(load(path)), input_name="t")
    assert report.json["spend_split"] == pytest.approx({"acquisitions": 10.0, "fees": 3.0, "holding": 5.0})
    assert report.json["spend_by_period"]["2027"] == pytest.approx(
        {"acquisitions": 10.0, "fees": 3.0, "holding": 5.0, "total": 18.0})
    table = report.summary_tables["Spend by period (USD)"].set_index("period")
    assert table.loc["total", "spend_usd"] == pytest.approx(18.0)
    assert report.item("spend") == pytest.approx(18.0)
