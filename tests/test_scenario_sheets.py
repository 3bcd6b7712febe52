"""The Scenarios and Shocks sheets and --scenario files: parsed into scenarios, every problem by cell."""

from __future__ import annotations

import pytest

from procure.errors import InputError
from procure.pipeline import load, optimize

MINERALS = [{"mineral": "Ga", "shortfall_penalty": 100, "holding_cost": 0.5}]
DEMAND = [{"mineral": "Ga", "period": 2027, "demand": 0}, {"mineral": "Ga", "period": 2028, "demand": 10}]
OFFERS = [{"supplier": "Sino", "country": "China", "mineral": "Ga", "price": 1, "capacity": 100},
          {"supplier": "Maple", "country": "Canada", "mineral": "Ga", "price": 5, "capacity": 100}]
SCENARIOS = [{"scenario": "calm", "probability": 0.5, "description": "no shock"},
             {"scenario": "ban", "probability": 0.5, "description": "China stops gallium from 2028"}]
SHOCKS = [{"scenario": "ban", "country": "China", "mineral": "Ga", "period_from": 2028, "capacity": 0}]


def sheets(scenarios=SCENARIOS, shocks=SHOCKS, **more):
    extra = {"Scenarios": scenarios}
    if shocks is not None:
        extra["Shocks"] = shocks
    return dict(minerals=MINERALS, demand=DEMAND, offers=OFFERS, extra_sheets=extra, **more)


def test_sheets_make_the_hand_worked_fan(book):
    # As tests/test_stochastic.py's first case: pre-buy 10 in 2027 (shared), RP = 15, WS = 12.5, EEV = 30.
    data = load(book(**sheets()))
    scenarios = data.scenarios
    assert [(s.name, s.probability, s.description) for s in scenarios] == [
        ("calm", 0.5, "no shock"), ("ban", 0.5, "China stops gallium from 2028")]
    m = optimize(data).measures
    assert (m.rp, m.ws, m.eev) == pytest.approx((15.0, 12.5, 30.0), rel=1e-9)


def test_demand_rows_of_the_shocks_sheet(book):
    # surge: 2028 demand 10 x 1.5 + 2 = 17 (only a mineral and period filter).
    shocks = [{"scenario": "ban", "mineral": "Ga", "period_from": 2028, "demand": 1.5, "extra_demand": 2}]
    data = load(book(**sheets(shocks=shocks)))
    scenarios = data.scenarios
    [change] = scenarios[1].demand_changes
    assert (change.factor, change.add, change.minerals, change.period_from) == (1.5, 2.0, ("ga",), 2028)
    assert scenarios[1].shocks == []


def test_every_problem_at_once_by_cell(book):
    scenarios = [{"scenario": "calm", "probability": 0.5}, {"scenario": "Calm", "probability": 0.2},
                 {"scenario": "ban", "probability": "lots"}]
    shocks = [{"scenario": "bam", "country": "China", "capacity": 0},
              {"scenario": "ban", "country": "Chnia", "capacity": 0},
              {"scenario": "ban", "supplier": "Sino", "demand": 2},
              {"scenario": "ban", "extra_demand": 3},
              {"scenario": "ban", "period_from": 2040, "price": 2},
              {"scenario": "ban", "price": -1}]
    with pytest.raises(InputError) as caught:
        load(book(**sheets(scenarios, shocks)))
    found = {(p.sheet, p.row, p.column, p.value): p.message for p in caught.value.problems}
    assert "names must be unique" in found[("Scenarios", 3, "scenario", "Calm")]
    assert "probability from 0 to 1" in found[("Scenarios", 4, "probability", "lots")] or \
        "expected a number" in found[("Scenarios", 4, "probability", "lots")]
    assert "names no scenario" in found[("Shocks", 2, "scenario", "bam")]
    assert "matches no country" in found[("Shocks", 3, "country", "Chnia")]
    assert "mineral and period only" in found[("Shocks", 4, "demand", 2.0)]
    assert "needs a mineral" in found[("Shocks", 5, "extra_demand", 3.0)]
    assert "match no period" in found[("Shocks", 6, "period_from", None)]
    assert "multiplier >= 0" in found[("Shocks", 7, "price", -1)]


def test_probabilities_that_do_not_sum_to_one_show_the_sum(book):
    scenarios = [{"scenario": "calm", "probability": 0.5}, {"scenario": "ban", "probability": 0.3}]
    with pytest.raises(InputError) as caught:
        load(book(**sheets(scenarios)))
    [problem] = caught.value.problems
    assert "sum to 0.8" in problem.message and problem.sheet == "Scenarios"


def test_shocks_without_scenarios_is_an_error(book):
    with pytest.raises(InputError) as caught:
        load(book(minerals=MINERALS, demand=DEMAND, offers=OFFERS, extra_sheets={"Shocks": SHOCKS}))
    assert "needs a Scenarios sheet" in str(caught.value.problems[0])


def test_scenario_files_join_the_sheet(book, tmp_path):
    # Three scenarios: calm 0.5 (sheet), ban 0.3 (sheet), surge 0.2 (file: Maple price x 2).
    scenarios = [{"scenario": "calm", "probability": 0.5}, {"scenario": "ban", "probability": 0.3}]
    surge = tmp_path / "surge.toml"
    surge.write_text('probability = 0.2\ndescription = "dearer"\n[[shock]]\nsupplier = "Maple"\nprice = 2\n')
    data = load(book(**sheets(scenarios)), scenario_files=[surge])
    fan = data.scenarios
    assert [(s.name, s.probability) for s in fan] == [("calm", 0.5), ("ban", 0.3), ("surge", 0.2)]
    assert fan[2].shocks[0].price_factor == 2.0 and fan[2].description == "dearer"


def test_scenario_file_rules_are_refused(book, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[policy]\nmax_china_share = 0.1\n[minerals.Ga]\nholding_cost = 1\n')
    with pytest.raises(InputError) as caught:
        load(book(**sheets()), scenario_files=[bad])
    text = [str(p) for p in caught.value.problems]
    assert any("[policy]" in t and "--model" in t for t in text)
    assert any("[minerals.X]" in t for t in text)
    assert any("probability" in t and "required" in t for t in text)
    assert all(p.file == str(bad) for p in caught.value.problems if "sum to" not in p.message)


def test_policy_keys_of_stochastic_plans_are_checked(book):
    from procure.pipeline import load
    with pytest.raises(InputError) as caught:
        load(book(minerals=MINERALS, demand=DEMAND, offers=OFFERS,
                  policy={"risk": "gamble", "risk_level": 1, "risk_weight": 2}))
    found = {p.value: p.message for p in caught.value.problems}
    assert "expected, worst, cvar" in found["gamble"]
    assert "both excluded" in found[1]
    assert "from 0 to 1" in found[2]
    data = load(book(minerals=MINERALS, demand=DEMAND, offers=OFFERS,
                     policy={"risk": "CVaR", "risk_level": 0.95, "risk_weight": 0.5, "commit_through": 2027}))
    p = data.policy
    assert (p.risk, p.risk_level, p.risk_weight, p.commit_through) == ("cvar", 0.95, 0.5, 2027)


def test_cli_writes_the_stochastic_plan(book, tmp_path):
    # The sheet fan (calm/ban 0.5 each) plus nothing else: RP 15, WS 12.5, EEV 30 (hand-worked in
    # tests/test_stochastic.py); the plan holds the stochastic sheets and the JSON the measures.
    import json

    import openpyxl
    from typer.testing import CliRunner

    from procure.cli import app
    plan, js = tmp_path / "plan.xlsx", tmp_path / "plan.json"
    result = CliRunner().invoke(app, ["solve", str(book(**sheets())), "-o", str(plan), "--json", str(js), "-q"])
    assert result.exit_code == 0, result.output
    titles = openpyxl.load_workbook(plan, read_only=True).sheetnames
    assert {"Summary", "Allocation", "Scenarios", "Recourse", "Reserve"} <= set(titles)
    doc = json.loads(js.read_text())
    assert doc["objective"] == pytest.approx(15.0, rel=1e-9)
    st = doc["stochastic"]
    assert (st["RP"], st["WS"], st["EEV"], st["EVPI"], st["VSS"]) == pytest.approx((15, 12.5, 30, 2.5, 15), rel=1e-9)
    assert set(st["scenarios"]) == {"calm", "ban"}


def test_cli_scenario_option(book, tmp_path):
    # Two --scenario files and no sheets: the same fan as above.
    import json

    from typer.testing import CliRunner

    from procure.cli import app
    calm, ban = tmp_path / "calm.toml", tmp_path / "ban.toml"
    calm.write_text("probability = 0.5\n")
    ban.write_text('probability = 0.5\n[[shock]]\ncountry = "China"\nperiod_from = 2028\ncapacity = 0\n')
    path = book(minerals=MINERALS, demand=DEMAND, offers=OFFERS)
    js = tmp_path / "out.json"
    result = CliRunner().invoke(app, ["solve", str(path), "-o", str(tmp_path / "p.xlsx"), "--json", str(js), "-q",
                                      "--scenario", str(calm), "--scenario", str(ban)])
    assert result.exit_code == 0, result.output
    assert json.loads(js.read_text())["stochastic"]["RP"] == pytest.approx(15.0, rel=1e-9)
