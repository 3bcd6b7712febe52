"""The plan as a document (issue 11 §4, CLI.md "The plan workbook"): print settings, number formats by
column kind, the Summary on one page, the charts' data, axis titles and demand series, the frontier chart."""

from __future__ import annotations

import re
import zipfile

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from builders import keyed_header
from procure import plan
from procure.cli import app
from procure.plan import chart_data, write_frontier, write_tables
from procure.starter import bundled_imports

runner = CliRunner()
TABLE_SHEETS = ("Allocation", "Minerals", "Countries", "Offers", "Agreements", "Constraints", "Excluded")


@pytest.fixture(scope="module")
def sample_plan(tmp_path_factory):
    path = tmp_path_factory.mktemp("document") / "plan.xlsx"
    result = runner.invoke(app, ["solve", str(bundled_imports()), "-o", str(path), "-q"])  # the national plan
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def book(sample_plan):
    return openpyxl.load_workbook(sample_plan)


def _charts_xml(path) -> list[str]:
    with zipfile.ZipFile(path) as package:
        names = sorted((n for n in package.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)),
                       key=lambda n: int(re.search(r"\d+", n).group()))
        return [package.read(n).decode() for n in names]


def _column_format(sheet, letter: str) -> str:
    """The number format of column ``letter``'s style (a <col> element may span several columns)."""
    index = openpyxl.utils.column_index_from_string(letter)
    spans = [d for d in sheet.column_dimensions.values() if d.min is not None and d.min <= index <= d.max]
    return spans[0].number_format if spans else "General"


def _rows(sheet) -> pd.DataFrame:
    values = list(sheet.iter_rows(values_only=True))
    return pd.DataFrame(values[1:], columns=keyed_header(sheet.parent, sheet.title))


def test_every_sheet_prints_landscape_one_page_wide_with_its_header_repeated(book):
    assert book.sheetnames[0] == "Summary"
    for sheet in book.worksheets:
        setup = sheet.page_setup
        assert setup.orientation == "landscape", sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert setup.fitToWidth in (None, 1), sheet.title  # absent means 1 (ECMA-376's default)
        assert "&A" in sheet.oddFooter.left.text and "&P" in sheet.oddFooter.right.text  # sheet and page named
        if sheet.title == "Summary":
            assert setup.fitToHeight in (None, 1)  # one printed page
        else:
            assert setup.fitToHeight == 0, sheet.title  # as many pages tall as it takes
        if sheet.title != "Charts":
            assert sheet.print_title_rows == "$1:$1", sheet.title
    assert book["ChartData"].sheet_state == "hidden"


def test_number_formats_follow_the_column_kind(book):
    expected = {
        ("Allocation", "period"): "General",  # 2027, never 2,027
        ("Allocation", "offer_row"): "General",
        ("Allocation", "quantity"): "#,##0.0##",
        ("Allocation", "price_usd"): "#,##0.00",  # USD per unit: cents kept
        ("Allocation", "cost_usd"): "#,##0",  # money: whole dollars
        ("Allocation", "share_of_mineral"): "0.0%",
        ("Minerals", "period"): "General",
        ("Minerals", "demand"): "#,##0.0##",
        ("Minerals", "days_of_cover"): "#,##0",
        ("Minerals", "china_share"): "0.0%",
        ("Minerals", "china_cap"): "0.0%",
        ("Minerals", "marginal_cost"): "#,##0.00",
        ("Minerals", "spend_usd"): "#,##0",
        ("Countries", "quantity"): "#,##0.0##",
        ("Countries", "share"): "0.0%",
        ("Offers", "capacity_used"): "0.0%",
        ("Agreements", "fixed_cost_usd"): "#,##0",
        ("Constraints", "cost_of_tightening"): "#,##0",
    }
    for (name, column), number_format in expected.items():
        sheet = book[name]
        header = keyed_header(book, name)
        # the column's style (the fast row path gives each data cell its column's format)
        letter = openpyxl.utils.get_column_letter(header.index(column) + 1)
        assert _column_format(sheet, letter) == number_format, (name, column)
        cell = sheet[f"{letter}2"]
        if isinstance(cell.value, (int, float)):
            assert cell.number_format == number_format, (name, column)
    period = book["Allocation"]["F2"]
    assert book["Allocation"]["F1"].value == "Period" and period.value in range(2027, 2032)
    assert period.number_format == "General"
    # every money amount in whole dollars; only per-unit USD rates keep cents
    rates = {"price_usd", "marginal_cost", "reduced_cost"}
    for name in TABLE_SHEETS:
        sheet = book[name]
        for c, key in enumerate(keyed_header(book, name), start=1):
            if "usd" in str(key) and key not in rates:
                letter = openpyxl.utils.get_column_letter(c)
                assert _column_format(sheet, letter) == "#,##0", (name, key)


def test_every_sheet_with_a_quantity_has_a_unit_column(book):
    for name in ("Allocation", "Minerals", "Countries", "Offers", "Agreements", "Constraints"):
        header = keyed_header(book, name)
        assert "unit" in header, name
    countries = _rows(book["Countries"])
    assert list(countries.columns) == ["mineral", "period", "country", "unit", "quantity", "share"]  # long table
    units = dict(zip(_rows(book["Minerals"])["mineral"], _rows(book["Minerals"])["unit"]))
    assert (countries["unit"] == countries["mineral"].map(units)).all()


def test_summary_values_are_formatted_by_their_label_on_one_wide_page(book):
    sheet = book["Summary"]
    # the items (a key in the hidden column H), then the spend-by-period table below them
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2) if row[7].value is not None}
    assert cells["Spend (USD)"].number_format == "#,##0"
    assert cells["Shortfall value (USD at reference prices)"].number_format == "#,##0"
    assert cells["Budget used (share of horizon budget)"].number_format == "0.0%"
    assert cells["China share of purchases (by value)"].number_format == "0.0%"
    assert cells["Reserve cover at the end, lowest mineral (days)"].number_format == "#,##0"
    assert cells["Solve time (s)"].number_format == "0.00"
    binds = [cell for label, cell in cells.items() if label.startswith("What binds")]
    assert binds and all(c.alignment.wrap_text and c.alignment.horizontal == "left" for c in binds)
    for cell in binds:  # a sentence longer than one line of the column gets a taller row
        if len(cell.value) > 110:
            assert sheet.row_dimensions[cell.row].height >= 30
    assert cells["Input SHA-256"].data_type == "s"
    longest_label = max(len(label) for label in cells)
    assert sheet.column_dimensions["A"].width >= longest_label
    # a sentence spans columns B-G (the width of the page: B, then C-G as one column group)
    group = sheet.column_dimensions["C"]
    assert sheet.column_dimensions["B"].width + group.width * (group.max - group.min + 1) >= 100
    spans = {(r.min_col, r.max_col) for r in sheet.merged_cells.ranges}
    assert spans == {(2, 7)}


def test_purchase_charts_stack_origins_with_demand_as_a_line_and_units_on_the_axes(sample_plan, book):
    charts = _charts_xml(sample_plan)
    minerals = _rows(book["Minerals"])
    names = list(dict.fromkeys(minerals["mineral"]))
    units = dict(zip(minerals["mineral"], minerals["unit"]))
    assert len(charts) == 3 * len(names)
    for i, name in enumerate(names):
        bars, share, reserve = charts[3 * i:3 * i + 3]
        assert f"Purchases by origin against demand: {name}" in bars
        assert 'grouping val="stacked"' in bars and "<c:lineChart>" in bars  # demand drawn over the bars
        line = bars[bars.index("<c:lineChart>"):]
        assert "ChartData!$D$1" in line  # the demand series is ChartData's demand column
        assert re.search(r"ChartData!\$E\$\d+:\$E\$\d+", bars[:bars.index("<c:lineChart>")])  # shortfall stacked
        assert "<c:v>shortfall (demand not met)</c:v>" in bars
        assert f"<a:t>Quantity ({units[name]})</a:t>" in bars and "<a:t>Period</a:t>" in bars
        assert "<a:t>China share of purchases (%)</a:t>" in share
        assert '<c:max val="1"/>' in share and '<c:min val="0"/>' in share  # a 0-100% axis
        assert f"<a:t>Reserve ({units[name]})</a:t>" in reserve
    header = [c.value for c in book["ChartData"][1]]
    assert header[:5] == ["mineral", "period", "unit", "demand", "shortfall"]


def test_chart_data_pivots_the_long_countries_table_per_mineral_and_period(book):
    """The hidden pivot holds, per mineral and period, exactly the long table's quantities; a chart's
    series (its largest origins and the rest as one) add up to the same purchases."""
    data = _rows(book["ChartData"])
    countries = _rows(book["Countries"])
    bought = countries.groupby(["mineral", "period"])["quantity"].sum()
    expected = [bought.get((m, p), 0.0) for m, p in zip(data["mineral"], data["period"])]
    origins = [c for c in data.columns if c.startswith("bought from ") and c != plan.OTHER_ORIGINS]
    assert data[origins].fillna(0.0).sum(axis=1).tolist() == pytest.approx(expected, rel=1e-9, abs=1e-9)
    charted = []
    for rows in data.groupby("mineral", sort=False).indices.values():
        block = data.iloc[rows].fillna(0.0)
        charted += (block[plan._top_origins(block)].sum(axis=1) + block[plan.OTHER_ORIGINS]).tolist()
    assert charted == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_chart_data_by_hand_top_origins_and_the_rest(monkeypatch):
    minerals = pd.DataFrame({
        "mineral": ["Gallium", "Gallium", "Nickel"], "period": [2027, 2028, 2027], "unit": ["kg", "kg", "t"],
        "demand": [10.0, 12.0, 5.0], "shortfall": [1.0, 0.0, 0.0], "reserve_end": [0.0, 0.0, 1.0],
        "reserve_target": [0.0, 0.0, 1.0], "china_share": [0.5, 0.25, 0.0], "china_cap": [0.5, 0.5, float("nan")],
    })
    countries = pd.DataFrame({
        "mineral": ["Gallium", "Gallium", "Gallium", "Gallium", "Nickel"],
        "period": [2027, 2027, 2028, 2028, 2027],
        "country": ["China", "Japan", "China", "Germany", "Canada"], "unit": ["kg"] * 4 + ["t"],
        "quantity": [4.5, 4.5, 3.0, 9.0, 6.0], "share": [0.5, 0.5, 0.25, 0.75, 1.0],
    })
    monkeypatch.setattr(plan, "MAX_ORIGINS_CHARTED", 1)
    data = chart_data(minerals, countries)
    assert list(data.columns)[9:] == ["bought from Canada", "bought from China", "bought from Germany",
                                      "bought from Japan", plan.OTHER_ORIGINS]
    # Gallium: China 4.5 + 3 = 7.5, Germany 9, Japan 4.5 over the horizon -> Germany charted, the rest
    # (China and Japan) as other origins: 2027: 4.5 + 4.5 = 9; 2028: 3. Nickel: only Canada -> nothing else.
    assert data["bought from Germany"].tolist() == [0.0, 9.0, 0.0]
    assert data["bought from China"].tolist() == [4.5, 3.0, 0.0]
    assert data[plan.OTHER_ORIGINS].tolist() == [9.0, 3.0, 0.0]
    assert plan._top_origins(data.iloc[[0, 1]]) == ["bought from Germany"]
    assert plan._top_origins(data.iloc[[2]]) == ["bought from Canada"]


def test_a_country_named_like_a_formula_is_not_a_formula_in_a_chart(tmp_path):
    minerals = pd.DataFrame({
        "mineral": ["Gallium"], "period": [2027], "unit": ["kg"], "demand": [10.0], "shortfall": [0.0],
        "reserve_end": [0.0], "reserve_target": [0.0], "china_share": [0.0], "china_cap": [0.5]})
    countries = pd.DataFrame({"mineral": ["Gallium"], "period": [2027], "country": ["=1+1"], "unit": ["kg"],
                              "quantity": [10.0], "share": [1.0]})
    target = tmp_path / "p.xlsx"
    write_tables(target, {"Minerals": minerals, "Countries": countries}, charts=plan._plan_charts)
    bars = _charts_xml(target)[0]
    assert "<c:f>ChartText!$A$1</c:f>" in bars  # the series is named by a text cell holding "=1+1"
    assert "<c:v>=1+1</c:v>" in bars  # shown as written
    cell = openpyxl.load_workbook(target)["ChartText"]["A1"]
    assert (cell.value, cell.data_type) == ("=1+1", "s")


def test_frontier_chart_plots_spend_and_shortfall_value_against_the_cap_with_china_share_on_the_right(tmp_path):
    table = pd.DataFrame({
        "cap": [0.1, 0.3, 1.0], "status": ["optimal"] * 3, "spend_usd": [90.0, 80.0, 70.0],
        "shortfall_value_usd": [20.0, 5.0, 0.0], "objective": [110.0, 85.0, 70.0],
        "china_share": [0.1, 0.3, 0.45], "reserve_days_min": [10.0, 20.0, 30.0],
        "reserve_days_mean": [15.0, 25.0, 35.0]})
    target = tmp_path / "frontier.xlsx"
    write_frontier(table, target, "China-cap frontier: base")
    (chart,) = _charts_xml(target)
    for column in ("$C$2:$C$4", "$D$2:$D$4", "$F$2:$F$4"):  # spend, shortfall value, China share
        assert f"Frontier!{column}" in chart
    assert "Frontier!$E$2" not in chart  # the objective is not plotted: spend and shortfall value are apart
    assert chart.count("<c:valAx>") == 2 and '<c:max val="1"/>' in chart  # China share on a 0-100% axis
    for title in ("USD", "China share of purchases (%)", "China exposure cap on every mineral (share of purchases)"):
        assert f"<a:t>{title}</a:t>" in chart
    sheet = openpyxl.load_workbook(target)["Frontier"]
    formats = {c.value: _column_format(sheet, c.column_letter) for c in sheet[1]}  # headers in words
    assert formats["China cap on every mineral"] == "0.0%" and formats["China share (by value)"] == "0.0%"
    assert formats["Spend (USD)"] == "#,##0" and formats["Reserve cover at end, lowest mineral (days)"] == "#,##0"
    assert sheet.page_setup.orientation == "landscape" and sheet.print_title_rows == "$1:$1"


def test_formats_of_other_tables_come_from_their_column_names(tmp_path):
    """Stochastic and batch tables go through the same writer: names decide the format."""
    table = pd.DataFrame({"scenario": ["shock"], "probability": [0.25], "first_shock_period": [2029],
                          "price_usd_mean": [3.25], "spend_usd": [1.0e9],
                          "balance_dual_usd": [12.345], "shortfall_worst_usd": [1234567.8],
                          "min_volume_per_period": [1500.0], "reserve_days_mean": [45.5]})
    target = tmp_path / "t.xlsx"
    write_tables(target, {"Scenarios": table})
    sheet = openpyxl.load_workbook(target)["Scenarios"]
    formats = {c.value: _column_format(sheet, c.column_letter) for c in sheet[1]}
    assert formats == {"scenario": "General", "probability": "0.0%", "first_shock_period": "General",
                       "price_usd_mean": "#,##0.00", "spend_usd": "#,##0",
                       "balance_dual_usd": "#,##0.00", "shortfall_worst_usd": "#,##0",
                       "min_volume_per_period": "#,##0.0##", "reserve_days_mean": "#,##0"}


def test_summary_periods_are_shown_as_written_and_money_in_whole_dollars(tmp_path):
    items = [("Purchases committed through", 2027), ("Spend, expected over scenarios (USD)", 1234567.89),
             ("Budget used, highest period (share)", 0.5),
             ("Reserve below target (USD at reference prices, per period)", 10.0), ("Rows", 1206),
             ("Solve time (s)", 3.49)]
    target = tmp_path / "s.xlsx"
    write_tables(target, {}, summary=items)
    cells = {row[0].value: row[1] for row in openpyxl.load_workbook(target)["Summary"].iter_rows(min_row=2)}
    assert cells["Purchases committed through"].number_format == "General"  # 2027, never 2,027
    assert cells["Spend, expected over scenarios (USD)"].number_format == "#,##0"
    assert cells["Budget used, highest period (share)"].number_format == "0.0%"
    assert cells["Reserve below target (USD at reference prices, per period)"].number_format == "#,##0"
    assert cells["Rows"].number_format == "#,##0"
    assert cells["Solve time (s)"].number_format == "0.00"
