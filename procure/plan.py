"""Write the plan workbook: the only module that writes Excel.

Sheets come from :class:`procure.report.Report`. The plan is written to a
temporary file in the target folder and renamed into place, so an interrupted
run never leaves a half-written plan and the previous plan survives a failure.
Text from the input is always written as text (XlsxWriter with formula and URL
conversion off, and inline strings in :mod:`procure.sheet_xml`): a supplier
named ``=HYPERLINK(...)`` stays that string.

XlsxWriter writes the workbook (Summary, each table sheet's header, column
formats, frozen pane and filter, the charts); :mod:`procure.sheet_xml` then
puts the data rows of the table sheets into the closed file, which is much
faster for national-scale plans. Only errors of the file system (OSError and
XlsxWriter's file errors) become "cannot write the plan"; anything else is a
bug and propagates.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from procure.errors import OutputError
from procure.files import atomic_write, move_into_place, temp_file_beside
from procure.items import Item, Kind
from procure.report import EXPECTED, SHEET_ORDER, Report, column_header, column_kind
from procure.sheet_xml import EXCEL_MAX_ROWS, SheetRows, fill_sheets

USD_FORMAT = "#,##0"  # money in whole dollars (CLI.md)
USD_RATE_FORMAT = "#,##0.00"  # USD per unit of a mineral (prices, marginal costs): cents matter per kg
SHARE_FORMAT = "0.0%"
WHOLE_FORMAT = "#,##0"
QUANTITY_FORMAT = "#,##0.0##"  # at least one decimal: "#,##0.###" shows 1,200 as "1,200." with a bare point
_USD = re.compile(r"(usd|cost|price|spend)", re.I)
_USD_RATE = re.compile(r"(price_usd|^marginal_cost$|^reduced_cost$|^shadow_price$|_dual_usd$)", re.I)
_SHARE = re.compile(r"(share|^cap$|_cap$|hhi|_used|capacity_used|^probability$)", re.I)
_DAYS = re.compile(r"days", re.I)
_PERIOD_LABEL = re.compile(r"(\bthrough\b|\bperiod\b|\byear\b)", re.I)  # a Summary value that is a period
# numbers that name something: shown as written (2027, not 2,027)
_LABEL = re.compile(r"^(period|first_shock_period|.*_row)$", re.I)


def write_json(data: dict, path: Path) -> None:
    """Write ``data`` as JSON atomically."""
    with atomic_write(Path(path), ".json") as temp:
        temp.write_text(json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n",
                        encoding="utf-8")


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value) if math.isfinite(value) else None
    return str(value)


def write_plan(report: Report, path: Path, max_rows: int = EXCEL_MAX_ROWS) -> None:
    """Write every table of ``report`` to ``path`` atomically, each column formatted by its kind, with
    the charts (``max_rows``: see :func:`write_tables`). A table the writer has no sheet for is refused
    (a bug in procure, not a table to lose silently)."""
    unknown = [name for name in report.tables if name not in SHEET_ORDER]
    if unknown:
        raise ValueError(f"the plan writer has no sheet for table(s) {', '.join(unknown)} "
                         "(add it to procure.report.SHEET_ORDER)")
    tables, kinds = {}, {}
    for name in SHEET_ORDER[1:]:
        if name not in report.tables:
            continue
        kinds[name] = report.kinds(name)
        table = report.tables[name]
        flags = [c for c, kind in kinds[name].items() if kind == Kind.FLAG]
        if flags:  # written as words, as a planner reads them
            table = table.assign(**{c: np.where(table[c].astype(bool), "yes", "no") for c in flags})
        tables[name] = table
    kinds["Summary"] = {str(c): column_kind(str(c)) for t in report.summary_tables.values() for c in t.columns}
    headers = {name: {str(c): column_header(str(c)) for c in table.columns} for name, table in tables.items()}
    write_tables(path, tables, summary=report.summary, charts=_plan_charts, max_rows=max_rows, kinds=kinds,
                 summary_tables=report.summary_tables, headers=headers)


COLUMN_KEYS = "Columns"  # the hidden sheet that maps each table's headers back to the keys procure reads


def _write_column_keys(book: _PlanBook, tables: dict[str, pd.DataFrame], headers: dict[str, dict[str, str]]) -> None:
    """A hidden sheet: per table sheet and column position, the header shown and the key it stands for, so
    procure reads its own plans back (diff, stress --plan) by keys, never by display text."""
    sheet = book.xlsx.add_worksheet(_sheet_title(COLUMN_KEYS, book.titles))
    for c, title in enumerate(("sheet", "column", "header", "key")):
        sheet.write_string(0, c, title, book.formats.header)
    r = 0
    for name, table in tables.items():
        for position, key in enumerate(table.columns, start=1):
            r += 1
            sheet.write_string(r, 0, name, book.formats.text)
            sheet.write_number(r, 1, position)
            sheet.write_string(r, 2, headers.get(name, {}).get(str(key), str(key)), book.formats.text)
            sheet.write_string(r, 3, str(key), book.formats.text)
    _print_setup(sheet)
    sheet.hide()


@dataclass
class _PlanBook:
    """A workbook being written: the XlsxWriter workbook, its formats, the sheet titles taken
    (case-folded, as Excel compares them) and the data rows still to put in (see :mod:`procure.sheet_xml`)."""

    xlsx: object  # xlsxwriter.Workbook
    formats: _Formats
    max_rows: int = EXCEL_MAX_ROWS
    titles: set[str] = field(default_factory=set)
    rows: list[SheetRows] = field(default_factory=list)
    chart_texts: object = None  # the hidden ChartText worksheet, made when a chart text needs a cell
    chart_text_count: int = 0


CHART_TEXT = "ChartText"


def chart_text(book: _PlanBook, text: str) -> str | list:
    """``text`` as a chart title, axis title or series name that the chart shows as written.

    XlsxWriter reads a name that looks like a reference (``Evil!A1``, ``+cmd|' /C calc'!A0``, and a title
    ending in one) as a formula, so text from the input could become one. Text holding ``!`` or starting
    with ``=`` is therefore written as a text cell of the hidden ChartText sheet, and the chart refers to
    that cell (its cached value is the text itself); other text is given to the chart as a literal string.
    """
    text = str(text)
    if "!" not in text and not text.startswith("="):
        return text
    if book.chart_texts is None:
        book.chart_texts = book.xlsx.add_worksheet(_sheet_title(CHART_TEXT, book.titles))
        book.chart_texts.hide()
        book.chart_texts.set_column(0, 0, 60)
    row = book.chart_text_count
    book.chart_texts.write_string(row, 0, text, book.formats.text)
    book.chart_text_count += 1
    return [book.chart_texts.name, row, 0]


def _file_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean the file could not be written (not a bug): the OS's and XlsxWriter's own
    (it wraps a failed create in FileCreateError, a zip too big in FileSizeError)."""
    from xlsxwriter.exceptions import XlsxFileError

    return (OSError, XlsxFileError)


def _new_book(temp: Path, max_rows: int) -> _PlanBook:
    import xlsxwriter

    xlsx = xlsxwriter.Workbook(str(temp), {
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        "nan_inf_to_errors": False, "constant_memory": False,
        # the parts are small (the long tables' rows are added by sheet_xml): build them in memory, not as
        # one temporary file each
        "in_memory": True,
    })
    return _PlanBook(xlsx=xlsx, formats=_Formats(xlsx), max_rows=max_rows)


def _close(book: _PlanBook, temp: Path, path: Path) -> None:
    """Close the XlsxWriter workbook, put in the data rows, and move the file into place."""
    try:
        book.xlsx.close()
        fill_sheets(temp, book.rows)
    except _file_errors() as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise OutputError(f"cannot write the plan '{path}': {reason}") from None
    move_into_place(temp, path)


MAX_CHARTED_MINERALS = 100
CHART_DATA = "ChartData"
MAX_ORIGINS_CHARTED = 6  # origin countries a purchase chart shows by name; the others as one series
OTHER_ORIGINS = "bought from other origins"  # per mineral: the origins beyond its MAX_ORIGINS_CHARTED largest
CHART_BLOCK_ROWS = 16  # rows per mineral's row of charts (a chart is 15 rows of 20 px tall)
CHARTS_PER_PAGE = 3  # minerals per printed page of the Charts sheet (a page break after every third)
_CHART_SERIES = ("demand", "shortfall", "reserve_end", "reserve_target", "china_share", "china_cap")


def chart_data(minerals: pd.DataFrame, countries: pd.DataFrame | None, limit: int = MAX_CHARTED_MINERALS) \
        -> pd.DataFrame:
    """The hidden ChartData sheet: one row per mineral and period (the Minerals sheet's order) for the
    first ``limit`` minerals, with the unit, the Minerals figures the charts plot, one column per origin
    country holding the quantity bought from it (in the mineral's unit; 0 when none) and
    OTHER_ORIGINS: per mineral, the purchases from origins beyond its largest (see :func:`_top_origins`).

    The Countries sheet is a long table (CLI.md); this pivot exists only for the stacked purchase bars.
    Countries are ordered by name (case-folded), so the same plan gives the same columns.
    """
    names = list(dict.fromkeys(minerals["mineral"].tolist()))[:limit]
    data = minerals.loc[minerals["mineral"].isin(names), ["mineral", "period", "unit", *_CHART_SERIES]]
    data = data.reset_index(drop=True)
    if countries is None or countries.empty:
        return data
    bought = countries[countries["mineral"].isin(names)]
    pivot = bought.pivot_table(index=["mineral", "period"], columns="country", values="quantity", aggfunc="sum",
                               fill_value=0.0, sort=False)
    order = sorted(pivot.columns, key=lambda c: (str(c).casefold(), str(c)))
    pivot = pivot[order].rename(columns=lambda c: f"bought from {c}")
    keys = pd.MultiIndex.from_frame(data[["mineral", "period"]])
    by_country = pivot.reindex(keys, fill_value=0.0).reset_index(drop=True).astype(float)
    other = np.zeros(len(data))
    for rows in data.groupby("mineral", sort=False).indices.values():
        block = by_country.iloc[rows]
        shown = set(_top_origins(block))  # once per mineral, not once per column
        rest = [c for c in by_country.columns if c not in shown]
        other[rows] = block[rest].sum(axis=1).to_numpy()
    by_country[OTHER_ORIGINS] = other
    return pd.concat([data, by_country], axis=1)


def _top_origins(block: pd.DataFrame) -> list[str]:
    """The ``bought from`` columns a mineral's purchase chart shows: its MAX_ORIGINS_CHARTED largest
    origins over the horizon (ties by name), in column order; the rest are summed as OTHER_ORIGINS."""
    names = [c for c in block.columns if c.startswith("bought from ") and c != OTHER_ORIGINS]
    totals = [(name, total) for name, total in zip(names, block[names].to_numpy(dtype=float).sum(axis=0).tolist())
              if total > 0]
    ranked = {name for name, _ in sorted(totals, key=lambda item: (-item[1], item[0]))[:MAX_ORIGINS_CHARTED]}
    return [name for name, _ in totals if name in ranked]


def _plan_charts(book: _PlanBook, tables: dict[str, pd.DataFrame]) -> None:
    """A Charts sheet: per mineral, purchases by origin country (stacked columns, with the shortfall stacked
    on top and demand as a line, in the mineral's unit), China share against its cap (0-100%), and reserve
    against target (in the unit), over the periods. Native Excel charts whose series come from the hidden
    ChartData sheet (see :func:`chart_data`)."""
    minerals, countries = tables.get("Minerals"), tables.get("Countries")
    if minerals is not None and "scenario" in minerals.columns:  # a plan of several scenarios: the expectation
        minerals = minerals[minerals["scenario"] == EXPECTED].drop(columns="scenario")
        if countries is not None:
            countries = countries[countries["scenario"] == EXPECTED].drop(columns="scenario")
    if minerals is None or minerals.empty:
        return
    data = chart_data(minerals, countries)
    sheet = book.xlsx.add_worksheet(_sheet_title("Charts", book.titles))
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.set_footer("&L&A&RPage &P of &N")
    sheet.write_string(0, 0, "Per mineral: purchases by origin country against demand, China share against its "
                             "cap, reserve against target. Figures: the Minerals and Countries sheets.")
    data_title = _write_chart_table(book, data)
    columns = list(data.columns)
    col = {name: columns.index(name) for name in columns}
    rows_of = data.groupby("mineral", sort=False).indices
    sheet.set_h_pagebreaks([1 + k * CHART_BLOCK_ROWS for k in range(CHARTS_PER_PAGE, len(rows_of),
                                                                      CHARTS_PER_PAGE)])
    title_font = {"size": 11, "bold": True}
    for i, (name, rows) in enumerate(rows_of.items()):
        top = 2 + i * CHART_BLOCK_ROWS
        first, last = int(rows[0]) + 1, int(rows[-1]) + 1
        unit = str(data["unit"].iloc[int(rows[0])])
        periods = [data_title, first, col["period"], last, col["period"]]

        def series(key, **style):
            return {"name": [data_title, 0, col[key]], "categories": periods,
                    "values": [data_title, first, col[key], last, col[key]], **style}

        bars = book.xlsx.add_chart({"type": "column", "subtype": "stacked"})
        for country in _top_origins(data.iloc[rows]):  # a country this mineral never buys from: no series
            bars.add_series({**series(country), "name": chart_text(book, country.removeprefix("bought from "))})
        if OTHER_ORIGINS in col and data[OTHER_ORIGINS].iloc[rows].sum() > 0:
            bars.add_series({**series(OTHER_ORIGINS), "name": "other origins", "fill": {"color": "#A6A6A6"}})
        bars.add_series({**series("shortfall"), "name": "shortfall (demand not met)",
                         "pattern": {"pattern": "wide_upward_diagonal", "fg_color": "#C00000",
                                     "bg_color": "#FFFFFF"}, "border": {"color": "#C00000"}})
        demand = book.xlsx.add_chart({"type": "line"})
        demand.add_series({**series("demand"), "line": {"color": "#000000", "width": 2},
                           "marker": {"type": "diamond", "fill": {"color": "#000000"}}})
        bars.combine(demand)
        # names and units come from the input: chart_text keeps them text, never a formula
        bars.set_title({"name": chart_text(book, f"Purchases by origin against demand: {name}"),
                        "name_font": title_font})
        bars.set_x_axis({"name": "Period"})
        bars.set_y_axis({"name": chart_text(book, f"Quantity ({unit})"), "num_format": "#,##0", "min": 0})
        bars.set_legend({"position": "right"})  # one entry a line: many origins do not squeeze the plot
        sheet.insert_chart(top, 0, bars, {"x_scale": 1.4, "y_scale": 1.0})  # room for the legend

        share = book.xlsx.add_chart({"type": "line"})
        share.add_series({**series("china_share"), "name": "China share of purchases", "marker": {"type": "circle"}})
        share.add_series({**series("china_cap"), "name": "China cap", "line": {"dash_type": "dash"}})
        share.set_title({"name": chart_text(book, f"China share against cap: {name}"), "name_font": title_font})
        share.set_x_axis({"name": "Period"})
        share.set_y_axis({"name": "China share of purchases (%)", "num_format": "0%", "min": 0, "max": 1})
        share.set_legend({"position": "bottom"})
        sheet.insert_chart(top, 11, share, {"x_scale": 0.9, "y_scale": 1.0})

        reserve = book.xlsx.add_chart({"type": "line"})
        reserve.add_series({**series("reserve_end"), "name": "reserve at period end", "marker": {"type": "circle"}})
        reserve.add_series({**series("reserve_target"), "name": "reserve target", "line": {"dash_type": "dash"}})
        reserve.set_title({"name": chart_text(book, f"Reserve against target: {name}"), "name_font": title_font})
        reserve.set_x_axis({"name": "Period"})
        reserve.set_y_axis({"name": chart_text(book, f"Reserve ({unit})"), "num_format": "#,##0", "min": 0})
        reserve.set_legend({"position": "bottom"})
        sheet.insert_chart(top, 18, reserve, {"x_scale": 0.9, "y_scale": 1.0})


def _write_chart_table(book: _PlanBook, data: pd.DataFrame) -> str:
    """The hidden sheet the charts read (one sheet: at most MAX_CHARTED_MINERALS x periods rows)."""
    title = _sheet_title(CHART_DATA, book.titles)
    sheet = book.xlsx.add_worksheet(title)
    _write_header(book, sheet, data)
    sheet.hide()
    book.rows.append(SheetRows(sheet_name=title, table=data))
    return title


def write_tables(path: Path, tables: dict[str, pd.DataFrame], summary=None, charts=None,
                 max_rows: int = EXCEL_MAX_ROWS, kinds: dict[str, dict[str, Kind]] | None = None,
                 summary_tables: dict[str, pd.DataFrame] | None = None,
                 headers: dict[str, dict[str, str]] | None = None) -> None:
    """A workbook of ``tables`` (one sheet each), after an item/value Summary if given.

    ``kinds``: per table, each column's :class:`~procure.items.Kind` (how it is formatted); a table
    without them is formatted from its column names.

    A table longer than ``max_rows - 1`` data rows (Excel's sheet limit, the header row aside) goes on
    as many sheets as it needs, ``Allocation``, ``Allocation 2``, ...: never truncated.
    """
    path = Path(path)
    temp = temp_file_beside(path, ".xlsx")
    try:
        book = _new_book(temp, max_rows)
        if summary is not None:
            _write_summary(book, summary, summary_tables, (kinds or {}).get("Summary"))
        for name, table in tables.items():
            _write_table(book, name, table, (kinds or {}).get(name), (headers or {}).get(name))
        if headers:
            _write_column_keys(book, tables, headers)
        if charts is not None:
            charts(book, tables)
        _close(book, temp, path)
    finally:
        temp.unlink(missing_ok=True)


class _Formats:
    """The cell formats of the plan (CLI.md: money in whole dollars, shares as percentages, periods as
    written, quantities with thousands separators)."""

    def __init__(self, book):
        self.header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                       "valign": "top"})
        self.usd = book.add_format({"num_format": USD_FORMAT})
        self.usd_rate = book.add_format({"num_format": USD_RATE_FORMAT})
        self.share = book.add_format({"num_format": SHARE_FORMAT})
        self.days = book.add_format({"num_format": WHOLE_FORMAT})
        self.quantity = book.add_format({"num_format": QUANTITY_FORMAT})
        self.text = book.add_format({})
        # the Summary's value column: left-aligned beside its label, text wrapped in the wide column
        summary = {"align": "left", "valign": "top"}
        self.summary_label = book.add_format({"valign": "top", "text_wrap": True})
        self.summary_text = book.add_format({**summary, "text_wrap": True})
        self.summary = {kind: book.add_format({**summary, "num_format": number_format}) for kind, number_format in (
            ("usd", USD_FORMAT), ("share", SHARE_FORMAT), ("whole", WHOLE_FORMAT), ("seconds", "0.00"),
            ("gap", "0.00%"), ("number", QUANTITY_FORMAT), ("period", "General"))}


def guessed_kind(column: str) -> str:
    """How a table column is shown, from its name: ``label`` (periods, row numbers: General, 2027 not
    2,027), ``share`` (percentage), ``usd_rate`` (USD per unit: cents kept), ``usd`` (whole dollars),
    ``days`` (whole days) or ``quantity``."""
    if _LABEL.search(column):
        return "label"
    if _SHARE.search(column):
        return "share"
    if _USD_RATE.search(column):
        return "usd_rate"
    if _USD.search(column):
        return "usd"
    if _DAYS.search(column):
        return "days"
    return "quantity"


_KIND_FORMAT = {Kind.MONEY: "usd", Kind.OBJECTIVE: "usd", Kind.RATE: "usd_rate", Kind.QUANTITY: "quantity",
                Kind.SHARE: "share", Kind.DAYS: "days", Kind.COUNT: "days", Kind.SECONDS: "quantity",
                Kind.NUMBER: "quantity", Kind.PERIOD: "label", Kind.TEXT: "label", Kind.FLAG: "label",
                Kind.FACTOR: "label"}
_KIND_SUMMARY = {Kind.MONEY: "usd", Kind.OBJECTIVE: "usd", Kind.RATE: "number", Kind.QUANTITY: "number",
                 Kind.SHARE: "share", Kind.DAYS: "whole", Kind.COUNT: "whole", Kind.SECONDS: "seconds",
                 Kind.NUMBER: "number", Kind.PERIOD: "period", Kind.TEXT: "text", Kind.FLAG: "text",
                 Kind.FACTOR: "period"}


def _value_format(formats: _Formats, column: str, kind: Kind | None = None):
    shown = _KIND_FORMAT[kind] if kind is not None else guessed_kind(column)
    return formats.text if shown == "label" else getattr(formats, shown)


def summary_kind(label: str, value) -> str:
    """How a Summary value is shown, from its label: ``(USD`` whole dollars, a share or budget use a
    percentage, ``(days)`` whole days, ``(s)`` seconds, the MIP gap a percentage, a period as written
    (General), text wrapped."""
    if isinstance(value, str) or value is None:
        return "text"
    if "(USD" in label:
        return "usd"
    if "share" in label.casefold() or label.startswith("Budget used"):
        return "share"
    if "gap" in label.casefold():
        return "gap"
    if _PERIOD_LABEL.search(label):
        return "period"  # "Purchases committed through": 2027, never 2,027
    if label.endswith("(s)"):
        return "seconds"
    if "(days)" in label or isinstance(value, (int, np.integer)):
        return "whole"
    return "number"


def _write_cell(sheet, row: int, col: int, value, number_format, formats: _Formats) -> None:
    if value is None:
        return
    if isinstance(value, (bool, np.bool_)):
        sheet.write_boolean(row, col, bool(value))
    elif isinstance(value, (int, float, np.integer, np.floating)):
        if isinstance(value, (float, np.floating)) and not math.isfinite(value):
            return  # blank: no value (a share with no purchases, a cover with no demand)
        sheet.write_number(row, col, float(value), number_format)
    else:
        text = str(value)
        if text:
            sheet.write_string(row, col, text, formats.text)


def _sheet_title(name: str, used: set[str]) -> str:
    """An Excel-safe, unique sheet title (31 characters, no []:*?/\\)."""
    title = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'")[:31] or "Sheet"
    base, n = title, 2
    while title.casefold() in used:
        suffix = f" ({n})"
        title = base[:31 - len(suffix)] + suffix
        n += 1
    used.add(title.casefold())
    return title


SUMMARY_LABEL_WIDTH = 58  # characters: the longest label of report.summary_items fits on one line
_LINE_HEIGHT_PT = 15.0  # Calibri 11's row height in points


SUMMARY_NUMBER_WIDTH = 20  # characters: column B, the value of a numeric item
SUMMARY_TABLE_WIDTH = 16  # characters: columns C-G, a small table's columns (and a sentence's overflow)
SUMMARY_TEXT_COLUMNS = 6  # a text value spans columns B-G
SUMMARY_KEY_COLUMN = 7  # column H, hidden: the keys procure reads its plans back by


def _write_summary(book: _PlanBook, items, tables: dict[str, pd.DataFrame] | None = None,
                   kinds: dict[str, Kind] | None = None) -> None:
    """Item/value rows, each value formatted by its kind (by its label when untyped), then the small
    ``tables`` (title in column A, the table in B-G): printed on one landscape page (CLI.md).

    A text value spans columns B-G, so a sentence has the width of the page. Wrapped rows are given their
    height here (lines x 15 pt, from the text's length against that width), since a reader does not always
    re-measure rows when it opens the file. The keys (:class:`procure.items.Item`) go in a hidden column.
    """
    formats = book.formats
    sheet = book.xlsx.add_worksheet("Summary")
    book.titles.add("summary")
    sheet.write_string(0, 0, "item", formats.header)
    sheet.write_string(0, 1, "value", formats.header)
    text_width = SUMMARY_NUMBER_WIDTH + (SUMMARY_TEXT_COLUMNS - 1) * SUMMARY_TABLE_WIDTH
    typed = any(isinstance(entry, Item) for entry in items)
    for r, entry in enumerate(items, start=1):
        label, value = (entry.label, entry.value) if isinstance(entry, Item) else entry
        label = str(label)
        sheet.write_string(r, 0, label, formats.summary_label)
        if isinstance(entry, Item):
            kind = "text" if isinstance(value, str) or value is None else _KIND_SUMMARY[entry.kind]
            sheet.write_string(r, SUMMARY_KEY_COLUMN, entry.key, formats.text)
        else:
            kind = summary_kind(label, value)
        if kind == "text":
            text = "" if value is None else str(value)
            if len(text) > SUMMARY_NUMBER_WIDTH:  # a sentence: across the page's width
                sheet.merge_range(r, 1, r, SUMMARY_TEXT_COLUMNS, "", formats.summary_text)
            if text:
                sheet.write_string(r, 1, text, formats.summary_text)
            lines = max(_wrapped_lines(text, text_width), _wrapped_lines(label, SUMMARY_LABEL_WIDTH))
            if lines > 1:
                sheet.set_row(r, _LINE_HEIGHT_PT * lines)
        else:
            _write_cell(sheet, r, 1, value, formats.summary[kind], formats)
    last = len(items)
    for title, table in (tables or {}).items():
        last += 2
        sheet.write_string(last, 0, title, formats.header)
        for c, column in enumerate(table.columns[:SUMMARY_TEXT_COLUMNS]):
            sheet.write_string(last, 1 + c, column_header(str(column)), formats.header)
        sheet.set_row(last, 2 * _LINE_HEIGHT_PT)  # headers wrap to two lines in the narrow columns
        for row in table.itertuples(index=False):
            last += 1
            for c, (column, value) in enumerate(zip(table.columns[:SUMMARY_TEXT_COLUMNS], row)):
                kind = (kinds or {}).get(str(column))
                number_format = formats.text if kind is None else _value_format(formats, str(column), kind)
                _write_cell(sheet, last, 1 + c, value, number_format, formats)
    labels = [len(str(e.label if isinstance(e, Item) else e[0])) for e in items]
    sheet.set_column(0, 0, max([SUMMARY_LABEL_WIDTH] + labels))
    sheet.set_column(1, 1, SUMMARY_NUMBER_WIDTH)  # (a small table's headers: report.column_header)
    sheet.set_column(2, SUMMARY_TEXT_COLUMNS, SUMMARY_TABLE_WIDTH)
    if typed:
        sheet.write_string(0, SUMMARY_KEY_COLUMN, "key", formats.header)
        sheet.set_column(SUMMARY_KEY_COLUMN, SUMMARY_KEY_COLUMN, 30, None, {"hidden": True})
    sheet.print_area(0, 0, last, SUMMARY_TEXT_COLUMNS)
    sheet.freeze_panes(1, 0)
    _print_setup(sheet)
    sheet.fit_to_pages(1, 1)  # the Summary is one printed page


def _wrapped_lines(text: str, width: int) -> int:
    """Lines ``text`` takes when wrapped in a column ``width`` characters wide. Column width counts the
    digit "0"; ordinary text averages narrower in Calibri 11 (measured on LibreOffice's rendering of a plan;
    see benchmarks/RESULTS.md); 1.1 characters a width unit stays below that, leaving room for word breaks."""
    usable = max(int(width * 1.1), 1)
    return sum(max(1, math.ceil(len(line) / usable)) for line in text.split("\n")) if text else 1


def _print_setup(sheet) -> None:
    """Landscape pages, one page wide (any number tall), the header row repeated on each (CLI.md); the
    footer names the sheet and the page, so a printed page can be placed."""
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    sheet.set_footer("&L&A&RPage &P of &N")


def _write_header(book: _PlanBook, sheet, table: pd.DataFrame, kinds: dict | None = None,
                  headers: dict | None = None) -> None:
    """A table sheet's template: header row (``headers``: each column's words, else its key), each column's
    width and format (by its kind), frozen pane, print setup."""
    formats = book.formats
    columns = [str(c) for c in table.columns]
    sample = table.head(200)
    for c, key in enumerate(columns):
        shown = (headers or {}).get(key, key)
        sheet.write_string(0, c, shown, formats.header)
        width = max([min(len(shown), 24)] + [len(_shown(v)) for v in sample.iloc[:, c].tolist()])
        is_text = pd.api.types.infer_dtype(sample.iloc[:, c], skipna=True) in ("string", "empty")
        sheet.set_column(c, c, min(max(width + 2, 10), 60),
                         formats.text if is_text else _value_format(formats, key, (kinds or {}).get(key)))
    sheet.freeze_panes(1, 0)
    _print_setup(sheet)


def _write_table(book: _PlanBook, name: str, table: pd.DataFrame, kinds: dict | None = None,
                 headers: dict | None = None) -> None:
    """One table; split over several sheets when longer than ``book.max_rows`` allows (never truncated).

    XlsxWriter writes the header, each column's width and format, the frozen pane and the filter;
    the data rows are queued for :func:`procure.sheet_xml.fill_sheets`, which gives each cell its
    column's format.
    """
    capacity = book.max_rows - 1
    if capacity < 1:
        raise ValueError(f"max_rows must leave room for a data row below the header, not {book.max_rows}")
    columns = [str(c) for c in table.columns]
    for start in range(0, max(len(table), 1), capacity):
        chunk = table.iloc[start:start + capacity]
        part = start // capacity
        title = _sheet_title(name if part == 0 else f"{name} {part + 1}", book.titles)
        sheet = book.xlsx.add_worksheet(title)
        _write_header(book, sheet, chunk, kinds, headers)
        if len(columns):
            sheet.autofilter(0, 0, max(len(chunk), 1), len(columns) - 1)
        book.rows.append(SheetRows(sheet_name=title, table=chunk))


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value == value else ""
    return str(value) if value is not None else ""


FRONTIER = "Frontier"


FRONTIER_KINDS = {
    "cap": Kind.SHARE, "status": Kind.TEXT, "spend_usd": Kind.MONEY, "shortfall_value_usd": Kind.MONEY,
    "objective": Kind.OBJECTIVE, "china_share": Kind.SHARE, "reserve_days_min": Kind.DAYS,
    "reserve_days_mean": Kind.DAYS, "reserve_gap_value_usd": Kind.MONEY, "worst_shortfall_usd": Kind.MONEY}
FRONTIER_HEADERS = {
    "cap": "China cap on every mineral", "status": "Status", "spend_usd": "Spend (USD)",
    "shortfall_value_usd": "Shortfall value (USD at reference price)", "objective": "Objective (spend plus penalties)",
    "china_share": "China share (by value)", "reserve_days_min": "Reserve cover at end, lowest mineral (days)",
    "reserve_days_mean": "Reserve cover at end, mean over minerals (days)",
    "reserve_gap_value_usd": "Reserve gap value (USD at reference price)",
    "worst_shortfall_usd": "Shortfall value, worst scenario (USD at reference price)"}


def _write_sweep(path: Path, sheet_name: str, table: pd.DataFrame, kinds: dict, headers: dict, x: str,
                 series, title: str, axes: dict, anchor) -> None:
    """A frontier workbook: the points' table and one native line chart of ``series`` ((column, name,
    style), a column missing or blank left out) against column ``x``; ``axes`` the chart's axis settings
    (``x_axis``, ``y_axis``, ``y2_axis``); ``anchor(table)`` the (row, column) the chart goes at. Written
    atomically, as the plan."""
    path = Path(path)
    temp = temp_file_beside(path, ".xlsx")
    try:
        book = _new_book(temp, EXCEL_MAX_ROWS)
        _write_table(book, sheet_name, table, kinds, headers)
        n = len(table)
        columns = list(table.columns)
        categories = [sheet_name, 1, columns.index(x), n, columns.index(x)]
        chart = book.xlsx.add_chart({"type": "line"})
        for name, label, style in series:
            if name not in columns or table[name].isna().all():
                continue
            c = columns.index(name)
            chart.add_series({"name": label, "categories": categories, "values": [sheet_name, 1, c, n, c], **style})
        chart.set_title({"name": chart_text(book, title)})  # the title holds the scenario's name
        for axis, settings in axes.items():
            getattr(chart, f"set_{axis}")(settings)
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 900, "height": 480})
        book.xlsx.get_worksheet_by_name(sheet_name).insert_chart(*anchor(table), chart)
        _close(book, temp, path)
    finally:
        temp.unlink(missing_ok=True)


def write_frontier(table: pd.DataFrame, path: Path, title: str) -> None:
    """The frontier sheet (one row per cap: :class:`procure.analysis.FrontierPoint`) and a native line
    chart against the cap: spend and shortfall value (USD) on the left axis, the realised China share
    (0-100%) on the right."""
    _write_sweep(path, FRONTIER, table, FRONTIER_KINDS, FRONTIER_HEADERS, "cap", (
        ("spend_usd", "spend (USD)", {"marker": {"type": "circle"}}),
        ("shortfall_value_usd", "shortfall value (USD at reference prices)",
         {"marker": {"type": "square"}, "line": {"color": "#C00000"}}),
        ("china_share", "China share of purchases (right axis)",
         {"y2_axis": True, "line": {"dash_type": "dash"}, "marker": {"type": "triangle"}})), title, {
        "x_axis": {"name": "China exposure cap on every mineral (share of purchases)", "num_format": "0%"},
        "y_axis": {"name": "USD", "num_format": "#,##0", "min": 0},
        "y2_axis": {"name": "China share of purchases (%)", "num_format": "0%", "min": 0, "max": 1}},
        lambda t: (1, len(t.columns) + 1))


BUDGET_FRONTIER = "Budget frontier"
BUDGET_FRONTIER_KINDS = {
    "budget": Kind.MONEY, "status": Kind.TEXT, "spend_usd": Kind.MONEY, "shortfall_value_usd": Kind.MONEY,
    "reserve_gap_value_usd": Kind.MONEY, "objective": Kind.OBJECTIVE, "china_share": Kind.SHARE,
    "worst_shortfall_usd": Kind.MONEY, "marginal": Kind.RATE}
BUDGET_FRONTIER_HEADERS = {
    "budget": "Horizon budget (USD)", "status": "Status", "spend_usd": "Spend (USD)",
    "shortfall_value_usd": "Shortfall value (USD at reference price)",
    "reserve_gap_value_usd": "Reserve gap value (USD at reference price)",
    "objective": "Objective (spend plus penalties)", "china_share": "China share (by value)",
    "worst_shortfall_usd": "Shortfall value, worst scenario (USD at reference price)",
    "marginal": "Shortfall value saved per extra USD of budget"}


def write_budget_frontier(table: pd.DataFrame, path: Path, title: str) -> None:
    """What the program buys at each horizon budget (one row per budget: :class:`procure.budgets.BudgetPoint`)
    and a native line chart against the budget: shortfall value, the worst scenario's shortfall value
    (stochastic plans) and the reserve-gap value, USD at reference prices, with spend for reference."""
    _write_sweep(path, BUDGET_FRONTIER, table, BUDGET_FRONTIER_KINDS, BUDGET_FRONTIER_HEADERS, "budget", (
        ("shortfall_value_usd", "shortfall value, expected", {"marker": {"type": "square"},
                                                              "line": {"color": "#C00000"}}),
        ("worst_shortfall_usd", "shortfall value, worst scenario",
         {"marker": {"type": "diamond"}, "line": {"color": "#C00000", "dash_type": "dash"}}),
        ("reserve_gap_value_usd", "reserve below target", {"marker": {"type": "triangle"}}),
        ("spend_usd", "spend", {"marker": {"type": "circle"}, "line": {"color": "#808080"}})), title, {
        "x_axis": {"name": "Horizon budget (USD)", "num_format": '#,##0,,,"B"'},
        "y_axis": {"name": "USD (shortfall and reserve gap at reference prices)", "num_format": '#,##0,,"M"',
                   "min": 0}},
        lambda t: (len(t) + 3, 0))
