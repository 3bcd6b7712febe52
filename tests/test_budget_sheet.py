"""The Budget sheet (WORKBOOK.md): appropriations by period, FORMULATION.md constraint 10 with Bt[t].

Every solve test works the optimum by hand in a comment and asserts it to 1e-9 relative.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import objective
from procure import formulation
from procure.errors import InputError
from procure.families import BUDGET_RULE
from procure.pipeline import load, optimize
from procure.report import build_report

REL = 1e-9


def one_mineral_book(book, budget_sheet, **policy):
    """Ga, 2027-2029: demand 10 a year, reserve target 20 (Demand column), initial reserve 20, one offer at
    1 USD/t (capacity 100); the Budget sheet as given."""
    return book(minerals=[{"mineral": "Ga", "initial_reserve": 20}],
                demand=[{"mineral": "Ga", "period": p, "demand": 10, "reserve_target": 20}
                        for p in (2027, 2028, 2029)],
                offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 1, "capacity": 100}],
                policy=policy or None, extra_sheets={"Budget": budget_sheet})


def reserve(outcome) -> np.ndarray:
    block = outcome.program.columns["reserve"]
    return outcome.solution.x[block.start:block.start + block.size]


def test_a_period_budget_draws_the_reserve_and_the_next_period_rebuilds_it(book):
    # Budget 5 in 2027 (none in 2028, 2029). P = 10 x 1 = 10, Q = P / (3 periods + 1) = 2.5.
    # 2027: buy 5 (the budget); demand 10 takes 5 from the reserve (r = 15, 5 below target: 5 x 2.5 = 12.5;
    # cheaper than 5 short at 10). 2028: buy 10 + 5 to rebuild (15; a unit below target costs 2.5 a period,
    # buying it 1). 2029: buy 10. Spend 5 + 15 + 10 = 30; objective 30 + 12.5 = 42.5. (Buying 2029's 10 in
    # 2028 costs the same, no holding cost: 2028's reserve is 20 or 30, 2027's and 2029's are sure.)
    outcome = optimize(load(one_mineral_book(book, [{"period": 2027, "budget": 5}])))
    assert objective(outcome) == pytest.approx(42.5, rel=REL)
    np.testing.assert_allclose(reserve(outcome)[[0, 2]], [15.0, 20.0], atol=1e-9)
    report = build_report(outcome, input_name="t")
    assert report.item("spend") == pytest.approx(30.0, rel=REL)
    np.testing.assert_array_equal(outcome.instance.budget_by_period, [5.0, np.nan, np.nan])
    rows = report.tables["Constraints"]
    rows = rows[rows["constraint"] == "per-period budget (10)"]
    assert rows["period"].tolist() == [2027]  # one row for each period with a budget
    assert rows["limit"].tolist() == [5.0]
    assert rows["value"].tolist() == pytest.approx([5.0], rel=REL)
    assert rows["binding"].tolist() == [True]
    # one more USD in 2027 buys a unit (1) that closes a unit of 2027's reserve gap (2.5) and is one unit
    # less to rebuild in 2028 (1): the objective falls by 2.5 per USD
    assert rows["shadow_price"].tolist() == pytest.approx([-2.5], rel=1e-6)


def test_the_budget_sheet_overrides_budget_per_period_for_the_periods_it_lists(book):
    # budget_per_period 12 holds in 2028 and 2029; the sheet gives 2027 5 and 2029 100.
    # 2027 as above (buy 5, r = 15, gap 5: 12.5); 2028: budget 12 buys 10 + 2 (r = 17, gap 3: 7.5);
    # 2029: buy 10 + 3 = 13 (r = 20). Spend 5 + 12 + 13 = 30; objective 30 + 12.5 + 7.5 = 50.
    outcome = optimize(load(one_mineral_book(book, [{"period": 2027, "budget": 5}, {"period": 2029, "budget": 100}],
                                             budget_per_period=12)))
    assert objective(outcome) == pytest.approx(50.0, rel=REL)
    np.testing.assert_array_equal(outcome.instance.budget_by_period, [5.0, 12.0, 100.0])
    block = outcome.program.rows["budget_period"]
    np.testing.assert_array_equal(block.meta["limit"], [5.0, 12.0, 100.0])
    np.testing.assert_array_equal(block.keys["period"], [0, 1, 2])
    # each period's spend against its own budget: 5 / 5, 12 / 12, 13 / 100 (not 13 / 12)
    assert build_report(outcome, input_name="t").item("budget_period_used") == pytest.approx(1.0, rel=REL)


def test_a_budget_of_zero_stops_buying_in_its_period_and_the_rule_is_priced_without_it(book):
    # Budget 0 in 2028: nothing bought in 2028, demand drawn from the reserve (r = 10, gap 10: 25) —
    # cheaper than buying it ahead in 2027 at 1? Yes: 2027 buys 10 + 10 = 20 (r = 30) at 1 each, then
    # 2028 draws 10 to r = 20: no gap. 2029: buy 10. Spend 20 + 0 + 10 = 30 = objective.
    outcome = optimize(load(one_mineral_book(book, [{"period": "2028", "budget": "0"}])))
    assert objective(outcome) == pytest.approx(30.0, rel=REL)
    np.testing.assert_allclose(reserve(outcome), [30.0, 20.0, 20.0], atol=1e-9)
    inst = outcome.instance
    assert BUDGET_RULE.active(inst)  # the sheet alone makes the budget rule active
    without = BUDGET_RULE.without(inst)
    assert not BUDGET_RULE.active(without)
    assert "budget_period" not in formulation.build(without).rows


def problems(path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load(path)
    return [str(p) for p in caught.value.problems if p.severity == "error"]


def test_budget_sheet_errors_are_reported_all_at_once_with_sheet_row_column_and_value(book):
    path = one_mineral_book(book, [{"period": 2030, "budget": 5},
                                   {"period": 2027, "budget": 5},
                                   {"period": 2027, "budget": 6},
                                   {"period": 2028, "budget": -5},
                                   {"period": 2029, "budget": "$7"}])
    got = problems(path)
    name = path.name
    assert got == [
        f"{name}, sheet 'Budget', row 5, column 'budget': value -5.0: expected a number >= 0",
        f"{name}, sheet 'Budget', row 6, column 'budget': value '$7': expected a plain number: write the amount "
        "without a currency sign (USD is implied)",
        f"{name}, sheet 'Budget', row 2, column 'period': value 2030: is not a period of the Demand sheet "
        "(periods: 2027, 2028, 2029)",
        f"{name}, sheet 'Budget', row 4, column 'period': value 2027: period 2027 is listed twice (also in row 3); "
        "give each period one budget",
    ]


def test_budget_sheet_needs_both_columns(book):
    got = problems(one_mineral_book(book, [{"period": 2027}]))
    assert len(got) == 1 and "sheet 'Budget'" in got[0] and "missing required column: budget" in got[0]
