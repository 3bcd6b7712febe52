"""The report: typed Summary items read by key, typed table columns, expected rows of a stochastic plan,
and the writer refusing a table it has no sheet for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from procure.data import Shock, StochasticScenario
from procure.items import Kind
from procure.pipeline import load, optimize
from procure.plan import write_plan
from procure.report import EXPECTED, SHEET_ORDER, build_report, column_kind, expected_rows

BAN_2028 = Shock(capacity_factor=0.0, countries=("china",), period_from=2028)


def _book(book):
    # one mineral, demand 0 in 2027 and 10 in 2028; China at 1 USD/t, Canada at 5 USD/t
    return book(minerals=[{"mineral": "Ga", "shortfall_penalty": 100, "holding_cost": 0.5}],
                demand=[{"mineral": "Ga", "period": 2027, "demand": 0},
                        {"mineral": "Ga", "period": 2028, "demand": 10}],
                offers=[{"supplier": "Sino", "country": "China", "mineral": "Ga", "price": 1, "capacity": 100},
                        {"supplier": "Maple", "country": "Canada", "mineral": "Ga", "price": 5, "capacity": 100}])


@pytest.fixture
def reports(book):
    data = load(_book(book))
    plain = build_report(optimize(data), input_name="t")
    fan = [StochasticScenario("calm", 0.5), StochasticScenario("ban", 0.5, shocks=[BAN_2028])]
    several = build_report(optimize(data, scenarios=fan), input_name="t")
    return plain, several


def test_every_table_has_a_sheet_and_every_column_a_kind(reports):
    for report in reports:
        for name in report.tables:
            assert name in SHEET_ORDER
            kinds = report.kinds(name)  # raises KeyError on a column the report does not declare
            assert set(kinds) == set(report.tables[name].columns)


def test_summary_items_have_unique_keys_and_objectives_are_never_money(reports):
    for report in reports:
        keys = [item.key for item in report.summary]
        assert len(keys) == len(set(keys))
        for item in report.summary:
            if item.kind == Kind.OBJECTIVE:
                assert "USD" not in item.label, item.label
            if item.kind == Kind.MONEY:
                assert "USD" in item.label, item.label


def test_the_stochastic_plan_reads_by_key(reports):
    # calm/ban at 0.5 each: 10 t of Sino bought in 2027 (1 USD/t) and held through 2027 (0.5 USD/t) in
    # both scenarios (2027 is one node): spend 15 in each, expected 15; no shortfall.
    _, several = reports
    assert several.item("spend") == pytest.approx(15.0)
    assert several.item("shortfall_usd") == pytest.approx(0.0)
    assert several.item("scenarios") == 2
    assert several.item("no such key", "absent") == "absent"


def test_expected_rows_weigh_quantities_and_average_prices():
    # scenario a (0.25): 4 t at 2 USD/t; scenario b (0.75): no such row (0 t; no price).
    # expected quantity 0.25 x 4 = 1; the price is the mean where there is one: 2; binding if in any.
    a = pd.DataFrame({"mineral": ["Ga"], "period": [2027], "unit": ["t"], "quantity": [4.0], "price_usd": [2.0],
                      "binding": [True]})
    b = pd.DataFrame({"mineral": ["Ge"], "period": [2027], "unit": ["t"], "quantity": [8.0], "price_usd": [3.0],
                      "binding": [False]})
    rows = expected_rows([a, b], np.array([0.25, 0.75]), ["mineral", "period", "unit"]).set_index("mineral")
    assert rows.loc["Ga", "quantity"] == pytest.approx(1.0) and rows.loc["Ge", "quantity"] == pytest.approx(6.0)
    assert rows.loc["Ga", "price_usd"] == pytest.approx(2.0) and rows.loc["Ge", "price_usd"] == pytest.approx(3.0)
    assert bool(rows.loc["Ga", "binding"]) and not bool(rows.loc["Ge", "binding"])


def test_the_stochastic_minerals_sheet_opens_with_the_expected_rows(reports):
    _, several = reports
    minerals = several.tables["Minerals"]
    assert list(minerals["scenario"].iloc[:2]) == [EXPECTED, EXPECTED]
    assert set(minerals["scenario"]) == {EXPECTED, "calm", "ban"}


def test_the_writer_refuses_a_table_it_has_no_sheet_for(reports, tmp_path):
    plain, _ = reports
    plain.tables["Mystery"] = pd.DataFrame({"quantity": [1.0]})
    with pytest.raises(ValueError, match="Mystery"):
        write_plan(plain, tmp_path / "p.xlsx")
    assert not (tmp_path / "p.xlsx").exists()


def test_an_undeclared_column_has_no_kind():
    assert column_kind("bought 2027") == Kind.QUANTITY
    with pytest.raises(KeyError):
        column_kind("an_undeclared_column")


def test_plan_headers_are_words_with_units_and_read_back_as_keys(reports, tmp_path):
    from procure.workbook import read_plan, read_plan_sheet

    _, several = reports
    path = tmp_path / "p.xlsx"
    write_plan(several, path)
    import openpyxl
    book = openpyxl.load_workbook(path, read_only=True)
    for name in several.tables:
        header = [c.value for c in next(book[name].iter_rows(max_row=1))]
        assert not any("_" in str(h) for h in header), (name, header)  # words, never snake_case
    book.close()
    header, rows = read_plan_sheet(path, "Agreements") or ([], [])
    assert header == list(several.tables["Agreements"].columns)  # procure reads its keys back
    summary, allocation = read_plan(path)
    assert {"supplier", "quantity", "probability"} <= set(allocation.columns)
    assert summary["spend"] == pytest.approx(15.0)
