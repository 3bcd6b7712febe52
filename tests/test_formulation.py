"""One small workbook per constraint family of FORMULATION.md, where that family binds and moves the optimum.

Each test states the hand-worked optimum in a comment and asserts it to 1e-9 relative.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import objective


def close(value, expected):
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-9)


def one_mineral(demand, offers, minerals=None, **extra):
    """Sheets for a single mineral 'Ga' with the given demand rows and offers."""
    minerals = minerals or [{"mineral": "Ga"}]
    demand_rows = [{"mineral": "Ga", "period": p, "demand": d} for p, d in demand]
    offer_rows = [{"mineral": "Ga", **o} for o in offers]
    return dict(minerals=minerals, demand=demand_rows, offers=offer_rows, **extra)


def test_single_offer_costs_price_times_demand(solve_book):
    # 10 t at 7 USD/t = 70
    out = solve_book(**one_mineral([(2027, 10)], [{"supplier": "A", "country": "Canada", "price": 7, "capacity": 50}]))
    assert out.status == "optimal"
    close(objective(out), 70.0)


def test_balance_carries_reserve_when_holding_is_cheaper(solve_book):
    # t1: price 1, t2: price 10; demand 0 then 5; holding 2/t/period.
    # Buy 5 in t1 (5) and hold one period (5 x 2 = 10): 15 < 50 buying in t2.
    out = solve_book(**one_mineral(
        [(2027, 0), (2028, 5)],
        [{"supplier": "A", "country": "Canada", "price": 1, "capacity": 100, "period": 2027},
         {"supplier": "B", "country": "Canada", "price": 10, "capacity": 100, "period": 2028}],
        minerals=[{"mineral": "Ga", "holding_cost": 2}]))
    close(objective(out), 15.0)
    reserve = out.solution.x[out.program.columns["reserve"].slice()]
    np.testing.assert_allclose(reserve, [5.0, 0.0], atol=1e-9)


def test_initial_reserve_covers_part_of_demand(solve_book):
    # R0 = 3, demand 5 at price 4: buy 2 -> 8.
    out = solve_book(**one_mineral([(2027, 5)], [{"supplier": "A", "country": "Canada", "price": 4, "capacity": 9}],
                                   minerals=[{"mineral": "Ga", "initial_reserve": 3}]))
    close(objective(out), 8.0)


def test_reserve_target_with_default_penalty(solve_book):
    # demand 10, target 4, price 2, capacity 12. P = 10 x 2 = 20, Q = P / (1 period + 1) = 10.
    # Buy 12 (24), reserve 2, 2 below target (2 x 10 = 20): 44.
    out = solve_book(minerals=[{"mineral": "Ga"}],
                     demand=[{"mineral": "Ga", "period": 2027, "demand": 10, "reserve_target": 4}],
                     offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 2, "capacity": 12}])
    close(objective(out), 44.0)


def test_reserve_days_sets_target_from_demand(solve_book):
    # reserve_days 73 / 365 days -> target 0.2 x demand 10 = 2; price 3: buy 12 -> 36.
    out = solve_book(**one_mineral([(2027, 10)], [{"supplier": "A", "country": "Canada", "price": 3, "capacity": 50}],
                                   policy={"reserve_days": 73}))
    close(objective(out), 36.0)


def test_shortfall_penalty_default_is_ten_times_highest_price(solve_book):
    # capacity 4 at price 5, demand 10: buy 4 (20) and 6 short at 10 x 5 = 50 each (300): 320.
    out = solve_book(**one_mineral([(2027, 10)], [{"supplier": "A", "country": "Canada", "price": 5, "capacity": 4}]))
    close(objective(out), 320.0)


def test_china_cap_forces_dearer_supply(solve_book):
    # China 1/t, Canada 3/t, demand 10, cap 0.3: 3 x 1 + 7 x 3 = 24.
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "A", "country": "China", "price": 1, "capacity": 100},
         {"supplier": "B", "country": "Canada", "price": 3, "capacity": 100}],
        minerals=[{"mineral": "Ga", "max_china_share": 0.3}]))
    close(objective(out), 24.0)


def test_china_exposure_from_processing_country(solve_book):
    # Mined in Canada but refined in China: exposure 1, so with the policy cap 0.5 half must come
    # from the clean offer at 4: 5 x 1 + 5 x 4 = 25.
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "A", "country": "Canada", "processing_country": "china", "price": 1, "capacity": 100},
         {"supplier": "B", "country": "Chile", "price": 4, "capacity": 100}],
        policy={"max_china_share": 0.5}))
    close(objective(out), 25.0)


def test_explicit_china_share_is_partial_exposure(solve_book):
    # Offer A carries 0.5 exposure per unit; cap 0.2 -> 0.5 a <= 0.2 (a + b): a = 0.4 b... a + b = 10
    # -> a = 4, b = 6: 4 x 1 + 6 x 2 = 16.
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "A", "country": "Canada", "china_share": 0.5, "price": 1, "capacity": 100},
         {"supplier": "B", "country": "Chile", "price": 2, "capacity": 100}],
        policy={"max_china_share": 0.2}))
    close(objective(out), 16.0)


def test_country_cap_from_policy(solve_book):
    # Australia 1, Canada 2, max_country_share 0.6: 6 x 1 + 4 x 2 = 14.
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "A", "country": "Australia", "price": 1, "capacity": 100},
         {"supplier": "B", "country": "Canada", "price": 2, "capacity": 100}],
        policy={"max_country_share": 0.6}))
    close(objective(out), 14.0)


def test_country_cap_from_countries_sheet_overrides_policy(solve_book):
    # Australia's own cap 0.25 (policy default 1): 2.5 x 1 + 7.5 x 2 = 17.5.
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "A", "country": "Australia", "price": 1, "capacity": 100},
         {"supplier": "B", "country": "Canada", "price": 2, "capacity": 100}],
        countries=[{"country": "Australia", "max_share": 0.25}, {"country": "Canada"}]))
    close(objective(out), 17.5)


def test_supplier_cap_counts_all_offers_of_a_supplier(solve_book):
    # Supplier S has two offers (1 and 1.5, spelt 'S' and ' s '), T sells at 4; cap 0.5:
    # S's two offers together at most 5 -> 5 x 1 + 5 x 4 = 25.
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "S", "country": "Canada", "price": 1, "capacity": 100},
         {"supplier": " s ", "country": "Chile", "price": 1.5, "capacity": 100},
         {"supplier": "T", "country": "Peru", "price": 4, "capacity": 100}],
        policy={"max_supplier_share": 0.5}))
    close(objective(out), 25.0)


def test_ally_share_by_quantity(solve_book):
    # ally Australia 5, Brazil 1, min_ally_share 0.4: 4 x 5 + 6 x 1 = 26.
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "A", "country": "Australia", "price": 5, "capacity": 100},
         {"supplier": "B", "country": "Brazil", "price": 1, "capacity": 100}],
        countries=[{"country": "Australia", "ally": "yes"}, {"country": "Brazil", "ally": "no"}],
        policy={"min_ally_share": 0.4}))
    close(objective(out), 26.0)


def test_ally_share_by_value(solve_book):
    # By value: 5a >= 0.4 (5a + b), a + b = 10 -> a = 20/17, b = 150/17; cost 5a + b = 250/17.
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "A", "country": "Australia", "price": 5, "capacity": 100},
         {"supplier": "B", "country": "Brazil", "price": 1, "capacity": 100}],
        countries=[{"country": "Australia", "ally": "y"}, {"country": "Brazil"}],
        policy={"min_ally_share": 0.4, "share_basis": "Value"}))
    close(objective(out), 250 / 17)


def test_ally_through_processing_country(solve_book):
    # Mined in Brazil, processed in ally Canada: counts as ally, so no dearer ally supply is needed: 10 x 1.
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "A", "country": "Australia", "price": 5, "capacity": 100},
         {"supplier": "B", "country": "Brazil", "processing_country": "Canada", "price": 1, "capacity": 100}],
        countries=[{"country": "Australia", "ally": True}, {"country": "Canada", "ally": 1}, {"country": "Brazil"}],
        policy={"min_ally_share": 0.9}))
    close(objective(out), 10.0)


def test_average_esg(solve_book):
    # A scores 40 at 1, B 90 at 3, min_avg_esg 60: -20a + 30b >= 0, a + b = 10 -> a 6, b 4: 18.
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "A", "country": "Canada", "price": 1, "capacity": 100, "esg_score": 40},
         {"supplier": "B", "country": "Chile", "price": 3, "capacity": 100, "esg_score": 90}],
        policy={"min_avg_esg": 60}))
    close(objective(out), 18.0)


def test_min_esg_score_excludes_low_and_unscored_offers(solve_book):
    # A (40) and C (no score) are excluded by min_esg_score 50: 10 x 3 = 30.
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "A", "country": "Canada", "price": 1, "capacity": 100, "esg_score": 40},
         {"supplier": "B", "country": "Chile", "price": 3, "capacity": 100, "esg_score": 90},
         {"supplier": "C", "country": "Peru", "price": 0.5, "capacity": 100}],
        policy={"min_esg_score": 50}))
    close(objective(out), 30.0)
    assert len(out.instance.excluded) == 2


def test_blocked_offer_and_blocked_country_are_excluded(solve_book):
    # A blocked, B processed in blocked Russia: only C at 6 -> 60.
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "A", "country": "Canada", "price": 1, "capacity": 100, "blocked": "yes"},
         {"supplier": "B", "country": "Chile", "processing_country": "Russia", "price": 2, "capacity": 100},
         {"supplier": "C", "country": "Peru", "price": 6, "capacity": 100}],
        countries=[{"country": "Russia", "blocked": "Y"}] + [{"country": c} for c in ("Canada", "Chile", "Peru")]))
    close(objective(out), 60.0)
    reasons = sorted(e.reason for e in out.instance.excluded)
    assert reasons == ["blocked offer", "processed in a blocked country (Russia)"]


def test_optional_agreement_worth_signing(solve_book):
    # spot 10/t; optional 4/t with fixed cost 20: sign, 20 + 10 x 4 = 60 (< 100 spot only).
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "Spot", "country": "Canada", "price": 10, "capacity": 100},
         {"supplier": "Deal", "country": "Australia", "price": 4, "capacity": 100,
          "agreement": "optional", "fixed_cost": 20}]))
    close(objective(out), 60.0)
    assert out.solution.x[out.program.columns["y"].slice()].round().tolist() == [1.0]


def test_optional_agreement_not_worth_signing(solve_book):
    # the same deal with fixed cost 70 and minimum 12 per period: signing costs 70 + 12 x 4 = 118 > 100.
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "Spot", "country": "Canada", "price": 10, "capacity": 100},
         {"supplier": "Deal", "country": "Australia", "price": 4, "capacity": 100,
          "agreement": "optional", "fixed_cost": 70, "min_volume": 12}]))
    close(objective(out), 100.0)
    assert out.solution.x[out.program.columns["y"].slice()].round().tolist() == [0.0]


def test_optional_minimum_applies_in_every_covered_period(solve_book):
    # Deal covers 2027 and 2028 with min 5 each, price 1, fixed 3; demand 2 then 0; spot 2/t.
    # Sign: 3 + 5 + 5 = 13 (surplus goes to reserve at no cost); don't: 2 x 2 = 4. Optimum 4.
    out = solve_book(**one_mineral(
        [(2027, 2), (2028, 0)],
        [{"supplier": "Spot", "country": "Canada", "price": 2, "capacity": 100},
         {"supplier": "Deal", "country": "Chile", "price": 1, "capacity": 100,
          "agreement": "optional", "fixed_cost": 3, "min_volume": 5}]))
    close(objective(out), 4.0)


def test_signed_agreement_minimum_forces_purchase(solve_book):
    # signed: price 5, min 8, fixed 7 (committed, in the objective); spot 1; demand 5.
    # Must buy 8 from the contract (40) + 7 fixed; spot buys 0: 47.
    out = solve_book(**one_mineral(
        [(2027, 5)],
        [{"supplier": "Spot", "country": "Canada", "price": 1, "capacity": 100},
         {"supplier": "Contract", "country": "Chile", "price": 5, "capacity": 20,
          "agreement": "signed", "fixed_cost": 7, "min_volume": 8}]))
    close(objective(out), 47.0)


def test_horizon_budget(solve_book):
    # demand 10 at 5, budget 30: buy 6, 4 short at P = 50: 30 + 200 = 230.
    out = solve_book(**one_mineral([(2027, 10)], [{"supplier": "A", "country": "Canada", "price": 5, "capacity": 100}],
                                   policy={"budget_total": 30}))
    close(objective(out), 230.0)


def test_horizon_budget_counts_committed_fixed_cost(solve_book):
    # signed contract fixed 10 (price 5, no minimum) leaves 20 of a 30 budget: buy 4, 6 short at 50: 10 + 20 + 300.
    out = solve_book(**one_mineral([(2027, 10)], [{"supplier": "A", "country": "Canada", "price": 5, "capacity": 100,
                                                    "agreement": "signed", "fixed_cost": 10}],
                                   policy={"budget_total": 30}))
    close(objective(out), 330.0)


def test_period_budget(solve_book):
    # demand 10 in each of two periods at 5, budget 40 per period: buy 8 each (80), 4 short at 50: 280.
    out = solve_book(**one_mineral([(2027, 10), (2028, 10)],
                                   [{"supplier": "A", "country": "Canada", "price": 5, "capacity": 100}],
                                   policy={"budget_per_period": 40}))
    close(objective(out), 280.0)


def test_period_budget_charges_fixed_cost_to_first_covered_period(solve_book):
    # Deal covers 2028 only: price 1, fixed 35, capacity 100; spot 5; demand 10 each year; Bt = 50.
    # 2027: spot 10 x 5 = 50 (budget full). 2028: sign (35) + 10 x 1 = 45 <= 50. Total 95.
    # (Not signing: 2028 costs 50 -> total 100.)
    out = solve_book(**one_mineral(
        [(2027, 10), (2028, 10)],
        [{"supplier": "Spot", "country": "Canada", "price": 5, "capacity": 100},
         {"supplier": "Deal", "country": "Chile", "price": 1, "capacity": 100, "period": 2028,
          "agreement": "optional", "fixed_cost": 35}],
        policy={"budget_per_period": 50}))
    close(objective(out), 95.0)


def test_text_periods_sort_lexicographically(solve_book):
    # Periods 2027-Q2 and 2027-Q1 (listed out of order). Q1 offer 1/t, Q2 offer 9/t, holding 1:
    # buy Q2's 4 t in Q1 (4 + 4 x 1) and Q1's 3 t: 3 + 8 = 11.
    out = solve_book(**one_mineral(
        [("2027-Q2", 4), ("2027-Q1", 3)],
        [{"supplier": "A", "country": "Canada", "price": 1, "capacity": 100, "period": "2027-Q1"},
         {"supplier": "B", "country": "Canada", "price": 9, "capacity": 100, "period": "2027-Q2"}],
        minerals=[{"mineral": "Ga", "holding_cost": 1}]))
    assert out.instance.periods == ["2027-Q1", "2027-Q2"]
    close(objective(out), 11.0)


def test_value_basis_china_cap(solve_book):
    # by value: China 1/t, Canada 4/t, cap 0.2 by value: a <= 0.2 (a + 4b) -> a = 0.8b/0.8... a = b (0.8/0.8)
    # 0.8 a <= 0.8 b -> a <= b; a + b = 10 -> a = b = 5: 5 + 20 = 25.
    out = solve_book(**one_mineral(
        [(2027, 10)],
        [{"supplier": "A", "country": "China", "price": 1, "capacity": 100},
         {"supplier": "B", "country": "Canada", "price": 4, "capacity": 100}],
        policy={"max_china_share": 0.2, "share_basis": "value"}))
    close(objective(out), 25.0)
