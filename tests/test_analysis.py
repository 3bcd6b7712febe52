"""Shadow prices, reduced costs, rule prices and the frontier, on hand-worked cases."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from builders import two_offers
from conftest import objective
from procure.analysis import agreement_values, frontier, parse_caps, price_rules
from procure.cli import app
from procure.report import build_report

runner = CliRunner()



def test_marginal_cost_of_demand_is_the_marginal_suppliers_price(solve_book):
    # A (2/t) has only 5 t; the 6th unit onwards comes from B at 5/t: marginal cost 5.
    out = solve_book(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
                     offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 2, "capacity": 5},
                             {"supplier": "B", "country": "Chile", "mineral": "Ga", "price": 5, "capacity": 100}])
    table = build_report(out, input_name="t").tables["Minerals"]
    assert table.loc[0, "marginal_cost"] == pytest.approx(5.0)


def test_reduced_cost_says_how_much_cheaper_an_unused_offer_must_be(solve_book):
    # B at 5/t is unused while A sells at 2/t with room to spare: B must be 3 cheaper.
    out = solve_book(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
                     offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 2, "capacity": 50},
                             {"supplier": "B", "country": "Chile", "mineral": "Ga", "price": 5, "capacity": 100}])
    offers = build_report(out, input_name="t").tables["Offers"].set_index("supplier")
    assert offers.loc["B", "reduced_cost"] == pytest.approx(3.0)
    assert offers.loc["A", "reduced_cost"] == pytest.approx(0.0)


def test_china_cap_shadow_price_matches_a_small_change(solve_book):
    # cost(a) = 10 a x 1 + 10 (1 - a) x 3 = 30 - 20 a: tightening the cap by one point (0.01) costs 0.2.
    out = solve_book(**two_offers(cap=0.3))
    row = build_report(out, input_name="t").tables["Constraints"].iloc[0]
    assert row["constraint"].startswith("China exposure cap") and bool(row["binding"])
    assert row["cost_of_tightening"] == pytest.approx(0.2)
    tighter = solve_book(**two_offers(cap=0.29))
    assert objective(tighter) - objective(out) == pytest.approx(row["cost_of_tightening"])


def test_budget_shadow_price(solve_book):
    # demand 10 at 5, budget 30, P = 50: one more dollar buys 0.2 t, saving 0.2 x 50 = 10 of penalty
    # for 1 of spend: the objective falls by 9 per dollar.
    out = solve_book(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
                     offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 5, "capacity": 100}],
                     policy={"budget_total": 30})
    row = build_report(out, input_name="t").tables["Constraints"].iloc[0]
    assert row["constraint"].startswith("horizon budget")
    assert row["cost_of_tightening"] == pytest.approx(9.0)


def test_mip_shadow_prices_come_from_the_fixed_lp_and_say_so(solve_book):
    # optional deal 4/t with fixed cost 20 is signed (60 < 100); with y fixed, the marginal unit costs 4.
    out = solve_book(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
                     offers=[{"supplier": "Spot", "country": "Canada", "mineral": "Ga", "price": 10, "capacity": 100},
                             {"supplier": "Deal", "country": "Chile", "mineral": "Ga", "price": 4, "capacity": 100,
                              "agreement": "optional", "fixed_cost": 20}])
    report = build_report(out, input_name="t")
    assert report.item("shadow_prices").startswith("from the LP with agreement decisions fixed")
    assert report.tables["Minerals"].loc[0, "marginal_cost"] == pytest.approx(4.0)


def test_rule_prices_equal_resolve_differences(solve_book):
    # China cap 0.3 and country cap 0.8: 3 x 1 + 7 x 3 = 24.
    # Without the China cap the country cap binds: 8 x 1 + 2 x 3 = 14, so the China cap costs 10.
    # Without the country cap the China cap still binds: 24, so the country cap costs 0.
    out = solve_book(**two_offers(cap=0.3, max_country_share=0.8))
    costs = {c.name: c for c in price_rules(out)}
    assert set(costs) == {"china_cap", "country_caps"}
    assert costs["china_cap"].second.objective == pytest.approx(14.0)
    assert costs["china_cap"].objective == pytest.approx(10.0)
    # nothing is short either way, so the whole difference is spend (with minus without)
    assert costs["china_cap"].spend_usd == pytest.approx(10.0)
    assert costs["china_cap"].shortfall_usd == pytest.approx(0.0)
    without = solve_book(**two_offers(max_country_share=0.8))
    assert costs["china_cap"].second.objective == pytest.approx(objective(without))
    assert costs["country_caps"].objective == pytest.approx(0.0)


def test_a_rule_that_causes_shortfall_is_priced_in_spend_and_shortfall_apart(solve_book):
    # A budget of 12 with China at 1/t capped at 0.3 and Canada at 3/t, 10 t demanded, penalty 30/t.
    # With the budget, China is at most 0.3 of purchases, x_cn = 3/7 x_ca, and x_cn + 3 x_ca = 12:
    #    x_ca = 12 / (3/7 + 3) = 3.5, x_cn = 1.5, bought 5, short 5: spend 12, penalty 150, objective 162.
    # Without it: 3 t China + 7 t Canada = 24 spent, nothing short, objective 24.
    # Reference price: the median of 1 and 3 = 2, so 5 t short is worth $10.
    out = solve_book(**two_offers(cap=0.3, budget_total=12))
    [budget] = [c for c in price_rules(out) if c.name == "budgets"]
    assert budget.first.objective == pytest.approx(162.0)
    assert budget.spend_usd == pytest.approx(12.0 - 24.0)  # the rule saves spend...
    assert budget.shortfall_usd == pytest.approx(10.0)  # ...and leaves 5 t (worth $10) unbought
    assert budget.objective == pytest.approx(162.0 - 24.0)  # what the rule costs


def test_agreement_value_is_unsigned_minus_signed(solve_book):
    # Spot at 10/t, an optional deal at 4/t for a fixed 20, 10 t demanded (penalty 100/t):
    # signed: 20 + 10 x 4 = 60; unsigned: 10 x 10 = 100. Signing saves 40 of objective and of spend.
    out = solve_book(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
                     offers=[{"supplier": "Spot", "country": "Canada", "mineral": "Ga", "price": 10, "capacity": 100},
                             {"supplier": "Deal", "country": "Chile", "mineral": "Ga", "price": 4, "capacity": 100,
                              "agreement": "optional", "fixed_cost": 20}])
    [value] = agreement_values(out)
    assert "Deal" in value.description and "Offers row 3" in value.description
    assert value.first.objective == pytest.approx(100.0) and value.second.objective == pytest.approx(60.0)
    assert value.objective == pytest.approx(40.0) and value.spend_usd == pytest.approx(40.0)
    assert value.shortfall_usd == pytest.approx(0.0)


def test_parse_caps():
    assert parse_caps("0:1:0.25") == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert parse_caps("0.5, 0.1") == [0.1, 0.5]
    for bad in ("0:1:0", "a,b", "0:2:1", ""):
        with pytest.raises(ValueError):
            parse_caps(bad)


def test_frontier_cost_never_rises_as_the_cap_loosens(solve_book):
    from procure.solve import SolveOptions

    out = solve_book(**two_offers())
    points = frontier(out.instance, parse_caps("0:1:0.1"), SolveOptions())
    costs = [p.objective for p in points]
    assert all(b <= a + 1e-9 for a, b in zip(costs, costs[1:]))
    # endpoints by hand: cap 0 -> all Canadian, 30; cap 1 -> all Chinese, 10
    assert costs[0] == pytest.approx(30.0) and costs[-1] == pytest.approx(10.0)
    # at cap 0.3: 3 t x $1 China of $24 spent; the frontier's share is by value (0.3 by quantity)
    assert points[3].china_share == pytest.approx(3 / 24)


def test_frontier_on_the_sample_is_monotone(tmp_path):
    js = tmp_path / "f.json"
    from procure.starter import bundled_imports

    result = runner.invoke(app, ["frontier", str(bundled_imports()), "--caps", "0,0.2,0.5,1", "-o",
                                 str(tmp_path / "f.xlsx"), "--json", str(js), "-q"])
    assert result.exit_code == 0, result.output
    costs = [p["objective"] for p in json.loads(js.read_text())["points"]]
    assert all(b <= a * (1 + 1e-9) for a, b in zip(costs, costs[1:]))


def test_average_esg_shadow_price_matches_a_one_point_change(solve_book):
    # A scores 40 at 1/t, B 90 at 3/t, demand 10. With E: a = 10 (90 - E) / 50, cost = a + 3 (10 - a)
    # = 30 - 2a = 30 - 0.4 (90 - E). E = 60 -> 18; E = 61 -> 18.4: one more point costs 0.4.
    def sheets(target):
        return dict(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
                    offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 1, "capacity": 100,
                             "esg_score": 40},
                            {"supplier": "B", "country": "Chile", "mineral": "Ga", "price": 3, "capacity": 100,
                             "esg_score": 90}],
                    policy={"min_avg_esg": target})

    out = solve_book(**sheets(60))
    row = build_report(out, input_name="t").tables["Constraints"].iloc[0]
    assert row["constraint"].startswith("minimum average ESG") and row["value"] == pytest.approx(60.0)
    assert row["cost_of_tightening"] == pytest.approx(0.4)
    assert objective(solve_book(**sheets(61))) - objective(out) == pytest.approx(0.4)
