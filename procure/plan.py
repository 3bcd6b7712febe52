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
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from procure.errors import OutputError
from procure.report import Report
from procure.sheet_xml import EXCEL_MAX_ROWS, SheetRows, fill_sheets

SHEET_ORDER = ("Summary", "Allocation", "Minerals", "Countries", "Offers", "Agreements", "Constraints",
               "Relaxations", "Excluded", "RuleCosts")
_USD = re.compile(r"(_usd|usd |cost|price|spend)", re.I)
_SHARE = re.compile(r"(share|_cap$|hhi|_used|capacity_used)", re.I)
_LABEL = re.compile(r"^(period|.*_row)$", re.I)  # numbers that name something: shown as written (2027, not 2,027)


def _atomic_target(path: Path, suffix: str):
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder '{folder}' for '{path.name}': {exc.strerror or exc}") from None
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=suffix, dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write in '{folder}': {exc.strerror or exc}") from None
    os.close(handle)
    return Path(temp_name)


def _replace(temp: Path, path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temp, 0o666 & ~umask)  # a normal file, not mkstemp's private 0600
    try:
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        reason = exc.strerror or str(exc)
        raise OutputError(f"cannot replace '{path}': {reason} (is it open in Excel, or read-only?)") from None


def write_json(data: dict, path: Path) -> None:
    """Write ``data`` as JSON atomically."""
    path = Path(path)
    temp = _atomic_target(path, ".json")
    try:
        temp.write_text(json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n",
                        encoding="utf-8")
        _replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value) if math.isfinite(value) else None
    return str(value)


def write_plan(report: Report, path: Path, max_rows: int = EXCEL_MAX_ROWS) -> None:
    """Write every table of ``report`` to ``path`` atomically, with its charts (``max_rows``: see
    :func:`write_tables`)."""
    tables = {name: report.tables[name] for name in SHEET_ORDER[1:] if name in report.tables}
    write_tables(path, tables, summary=report.summary, charts=_plan_charts, max_rows=max_rows)


@dataclass
class _PlanBook:
    """A workbook being written: the XlsxWriter workbook, its formats, the sheet titles taken
    (case-folded, as Excel compares them) and the data rows still to put in (see :mod:`procure.sheet_xml`)."""

    xlsx: object  # xlsxwriter.Workbook
    formats: _Formats
    max_rows: int = EXCEL_MAX_ROWS
    titles: set[str] = field(default_factory=set)
    rows: list[SheetRows] = field(default_factory=list)


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
    _replace(temp, path)


MAX_CHARTED_MINERALS = 100


def _plan_charts(book: _PlanBook, tables: dict[str, pd.DataFrame]) -> None:
    """A Charts sheet: per mineral, purchases by origin country (stacked columns), China share
    against its cap, and reserve against target over the periods (native Excel charts)."""
    minerals, countries = tables.get("Minerals"), tables.get("Countries")
    if minerals is None or minerals.empty:
        return
    sheet = book.xlsx.add_worksheet(_sheet_title("Charts", book.titles))
    sheet.write_string(0, 0, "Charts per mineral: purchases by origin country, China share against its cap, "
                             "reserve against target. Data: the Countries and Minerals sheets.")
    columns = list(minerals.columns)
    col = {name: columns.index(name) for name in ("period", "china_share", "china_cap", "reserve_end",
                                                  "reserve_target")}
    names = list(dict.fromkeys(minerals["mineral"].tolist()))[:MAX_CHARTED_MINERALS]
    rows_of = minerals.groupby("mineral", sort=False).indices
    country_rows = countries.groupby("mineral", sort=False).indices if countries is not None and len(countries) \
        else {}
    country_columns = [c for c in (countries.columns if countries is not None else [])
                       if c not in ("mineral", "period") and not str(c).endswith(" share")]
    bought_from = countries.groupby("mineral", sort=False)[country_columns].sum() if country_columns else None
    for i, name in enumerate(names):
        top = 2 + i * 16
        first, last = int(rows_of[name][0]) + 1, int(rows_of[name][-1]) + 1
        if name in country_rows:
            c_first, c_last = int(country_rows[name][0]) + 1, int(country_rows[name][-1]) + 1
            bars = book.xlsx.add_chart({"type": "column", "subtype": "stacked"})
            for country in country_columns:
                if bought_from.loc[name, country] <= 0:
                    continue  # a country this mineral never buys from: no empty series
                j = list(countries.columns).index(country)
                bars.add_series({"name": ["Countries", 0, j], "categories": ["Countries", c_first, 1, c_last, 1],
                                 "values": ["Countries", c_first, j, c_last, j]})
            bars.set_title({"name": f"Purchases by origin: {name}"})  # fixed text first: a title starting with = would be a formula
            bars.set_y_axis({"num_format": "#,##0"})
            sheet.insert_chart(top, 0, bars, {"x_scale": 0.9, "y_scale": 1.0})
        share = book.xlsx.add_chart({"type": "line"})
        for key in ("china_share", "china_cap"):
            share.add_series({"name": ["Minerals", 0, col[key]], "categories": ["Minerals", first, col["period"],
                                                                                last, col["period"]],
                              "values": ["Minerals", first, col[key], last, col[key]],
                              "marker": {"type": "circle"}})
        share.set_title({"name": f"China share against cap: {name}"})
        share.set_y_axis({"num_format": "0%", "min": 0})
        sheet.insert_chart(top, 8, share, {"x_scale": 0.9, "y_scale": 1.0})
        reserve = book.xlsx.add_chart({"type": "line"})
        for key in ("reserve_end", "reserve_target"):
            reserve.add_series({"name": ["Minerals", 0, col[key]],
                                "categories": ["Minerals", first, col["period"], last, col["period"]],
                                "values": ["Minerals", first, col[key], last, col[key]],
                                "marker": {"type": "circle"}})
        reserve.set_title({"name": f"Reserve against target: {name}"})
        reserve.set_y_axis({"num_format": "#,##0"})
        sheet.insert_chart(top, 16, reserve, {"x_scale": 0.9, "y_scale": 1.0})


def write_tables(path: Path, tables: dict[str, pd.DataFrame], summary=None, charts=None) -> None:
    """A workbook of ``tables`` (one sheet each, split when too long), after an item/value Summary if given."""


def write_tables(path: Path, tables: dict[str, pd.DataFrame], summary=None, charts=None,
                 max_rows: int = EXCEL_MAX_ROWS) -> None:
    """A workbook of ``tables`` (one sheet each), after an item/value Summary if given.

    A table longer than ``max_rows - 1`` data rows (Excel's sheet limit, the header row aside) goes on
    as many sheets as it needs, ``Allocation``, ``Allocation 2``, ...: never truncated.
    """
    path = Path(path)
    temp = _atomic_target(path, ".xlsx")
    try:
        book = _new_book(temp, max_rows)
        if summary is not None:
            _write_summary(book, summary)
        for name, table in tables.items():
            _write_table(book, name, table)
        if charts is not None:
            charts(book, tables)
        _close(book, temp, path)
    finally:
        temp.unlink(missing_ok=True)


class _Formats:
    def __init__(self, book):
        self.header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                       "valign": "top"})
        self.usd = book.add_format({"num_format": "#,##0.00"})
        self.share = book.add_format({"num_format": "0.00%"})
        self.quantity = book.add_format({"num_format": "#,##0.###"})
        self.text = book.add_format({})


def _value_format(formats: _Formats, column: str):
    if _LABEL.search(column):
        return formats.text
    if _SHARE.search(column):
        return formats.share
    if _USD.search(column):
        return formats.usd
    return formats.quantity


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


def _write_summary(book: _PlanBook, items) -> None:
    formats = book.formats
    sheet = book.xlsx.add_worksheet("Summary")
    book.titles.add("summary")
    sheet.write_string(0, 0, "item", formats.header)
    sheet.write_string(0, 1, "value", formats.header)
    for r, (item, value) in enumerate(items, start=1):
        sheet.write_string(r, 0, str(item))
        fmt = formats.share if _SHARE.search(item) else (formats.usd if _USD.search(item) else formats.quantity)
        _write_cell(sheet, r, 1, value, fmt, formats)
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 50)
    sheet.freeze_panes(1, 0)
    _print_setup(sheet)


def _print_setup(sheet) -> None:
    """Landscape pages, one page wide (any number tall), the header row repeated on each (CLI.md)."""
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)


def _write_table(book: _PlanBook, name: str, table: pd.DataFrame) -> None:
    """One table; split over several sheets when longer than ``book.max_rows`` allows (never truncated).

    XlsxWriter writes the header, each column's width and format, the frozen pane and the filter;
    the data rows are queued for :func:`procure.sheet_xml.fill_sheets`, which gives each cell its
    column's format.
    """
    formats = book.formats
    capacity = book.max_rows - 1
    if capacity < 1:
        raise ValueError(f"max_rows must leave room for a data row below the header, not {book.max_rows}")
    columns = [str(c) for c in table.columns]
    column_formats = [_value_format(formats, c) for c in columns]
    for start in range(0, max(len(table), 1), capacity):
        chunk = table.iloc[start:start + capacity]
        part = start // capacity
        title = _sheet_title(name if part == 0 else f"{name} {part + 1}", book.titles)
        sheet = book.xlsx.add_worksheet(title)
        for c, header in enumerate(columns):
            sheet.write_string(0, c, header, formats.header)
        sample = chunk.head(200)
        for c, header in enumerate(columns):
            width = max([len(header)] + [len(_shown(v)) for v in sample.iloc[:, c].tolist()])
            sheet.set_column(c, c, min(max(width + 2, 10), 60), column_formats[c])
        sheet.freeze_panes(1, 0)
        _print_setup(sheet)
        if len(columns):
            sheet.autofilter(0, 0, max(len(chunk), 1), len(columns) - 1)
        book.rows.append(SheetRows(sheet_name=title, table=chunk))


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value == value else ""
    return str(value) if value is not None else ""


def write_frontier(table: pd.DataFrame, path: Path, title: str) -> None:
    """The frontier sheet and a native line chart of cost against the China cap."""
    path = Path(path)
    temp = _atomic_target(path, ".xlsx")
    try:
        book = _new_book(temp, EXCEL_MAX_ROWS)
        _write_table(book, "Frontier", table)
        n = len(table)
        columns = list(table.columns)
        chart = book.xlsx.add_chart({"type": "line"})
        for name, axis in (("objective_usd", False), ("spend_usd", False)):
            c = columns.index(name)
            chart.add_series({"name": ["Frontier", 0, c], "categories": ["Frontier", 1, 0, n, 0],
                              "values": ["Frontier", 1, c, n, c], "marker": {"type": "circle"},
                              "y2_axis": axis})
        share = columns.index("china_share")
        chart.add_series({"name": ["Frontier", 0, share], "categories": ["Frontier", 1, 0, n, 0],
                          "values": ["Frontier", 1, share, n, share], "y2_axis": True,
                          "line": {"dash_type": "dash"}})
        chart.set_title({"name": title})
        chart.set_x_axis({"name": "China exposure cap (every mineral)", "num_format": "0%"})
        chart.set_y_axis({"name": "USD", "num_format": "#,##0"})
        chart.set_y2_axis({"name": "realised China share", "num_format": "0%"})
        chart.set_size({"width": 900, "height": 480})
        book.xlsx.get_worksheet_by_name("Frontier").insert_chart(1, len(columns) + 1, chart)
        _close(book, temp, path)
    finally:
        temp.unlink(missing_ok=True)
