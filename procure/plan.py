"""Write the plan workbook: the only module that writes Excel.

Sheets come from :class:`procure.report.Report`. The plan is written to a
temporary file in the target folder and renamed into place, so an interrupted
run never leaves a half-written plan and the previous plan survives a failure.
Text from the input is always written as text (XlsxWriter with formula and URL
conversion off): a supplier named ``=HYPERLINK(...)`` stays that string.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from procure.errors import OutputError
from procure.paths import check_output_path  # noqa: F401  (part of this module's interface)
from procure.report import Report

EXCEL_MAX_ROWS = 1_048_576
SHEET_ORDER = ("Summary", "Allocation", "Minerals", "Countries", "Offers", "Agreements", "Constraints",
               "Relaxations", "Excluded", "RuleCosts")
_USD = re.compile(r"(_usd|usd |cost|price|spend)", re.I)
_SHARE = re.compile(r"(share|_cap$|hhi|_used|capacity_used)", re.I)


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


def write_plan(report: Report, path: Path) -> None:
    """Write every table of ``report`` to ``path`` atomically, with its charts."""
    tables = {name: report.tables[name] for name in SHEET_ORDER[1:] if name in report.tables}
    write_tables(path, tables, summary=report.summary, charts=_plan_charts)


MAX_CHARTED_MINERALS = 100


def _plan_charts(book, tables: dict[str, pd.DataFrame]) -> None:
    """A Charts sheet: per mineral, purchases by origin country (stacked columns), China share
    against its cap, and reserve against target over the periods (native Excel charts)."""
    minerals, countries = tables.get("Minerals"), tables.get("Countries")
    if minerals is None or minerals.empty:
        return
    sheet = book.add_worksheet(_sheet_title("Charts", book.procure_used))
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
            bars = book.add_chart({"type": "column", "subtype": "stacked"})
            for country in country_columns:
                if bought_from.loc[name, country] <= 0:
                    continue  # a country this mineral never buys from: no empty series
                j = list(countries.columns).index(country)
                bars.add_series({"name": ["Countries", 0, j], "categories": ["Countries", c_first, 1, c_last, 1],
                                 "values": ["Countries", c_first, j, c_last, j]})
            bars.set_title({"name": f"Purchases by origin: {name}"})  # fixed text first: a title starting with = would be a formula
            bars.set_y_axis({"num_format": "#,##0"})
            sheet.insert_chart(top, 0, bars, {"x_scale": 0.9, "y_scale": 1.0})
        share = book.add_chart({"type": "line"})
        for key in ("china_share", "china_cap"):
            share.add_series({"name": ["Minerals", 0, col[key]], "categories": ["Minerals", first, col["period"],
                                                                                last, col["period"]],
                              "values": ["Minerals", first, col[key], last, col[key]],
                              "marker": {"type": "circle"}})
        share.set_title({"name": f"China share against cap: {name}"})
        share.set_y_axis({"num_format": "0%", "min": 0})
        sheet.insert_chart(top, 8, share, {"x_scale": 0.9, "y_scale": 1.0})
        reserve = book.add_chart({"type": "line"})
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
    import xlsxwriter

    path = Path(path)
    temp = _atomic_target(path, ".xlsx")
    try:
        book = xlsxwriter.Workbook(str(temp), {
            "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
            "nan_inf_to_errors": False, "constant_memory": False,
        })
        book.procure_used = set()
        book.procure_rows = []
        formats = _Formats(book)
        if summary is not None:
            _write_summary(book, formats, summary)
        for name, table in tables.items():
            _write_table(book, formats, name, table)
        if charts is not None:
            charts(book, tables)
        try:
            book.close()
            _inject_rows(temp, book.procure_rows)
        except OSError as exc:
            raise OutputError(f"cannot write the plan '{path}': {exc.strerror or exc}") from None
        except Exception as exc:  # xlsxwriter wraps OS errors in its own types
            raise OutputError(f"cannot write the plan '{path}': {exc}") from None
        _replace(temp, path)
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


def _write_summary(book, formats: _Formats, items) -> None:
    sheet = book.add_worksheet("Summary")
    book.procure_used.add("summary")
    sheet.write_string(0, 0, "item", formats.header)
    sheet.write_string(0, 1, "value", formats.header)
    for r, (item, value) in enumerate(items, start=1):
        sheet.write_string(r, 0, str(item))
        fmt = formats.share if _SHARE.search(item) else (formats.usd if _USD.search(item) else formats.quantity)
        _write_cell(sheet, r, 1, value, fmt, formats)
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 50)
    sheet.freeze_panes(1, 0)


def _write_table(book, formats: _Formats, name: str, table: pd.DataFrame) -> None:
    """One table; split over several sheets when longer than Excel allows (never truncated).

    xlsxwriter writes the header, widths, frozen pane and filter; the data rows
    are generated by :func:`_rows_xml` after the workbook closes (see
    :func:`_inject_rows`): a national plan has millions of cells, and writing
    them one Python call at a time took a minute.
    """
    capacity = EXCEL_MAX_ROWS - 1
    columns = [str(c) for c in table.columns]
    column_formats = [_value_format(formats, c) for c in columns]
    for start in range(0, max(len(table), 1), capacity):
        chunk = table.iloc[start:start + capacity]
        part = start // capacity
        title = _sheet_title(name if part == 0 else f"{name} {part + 1}", book.procure_used)
        sheet = book.add_worksheet(title)
        for c, header in enumerate(columns):
            sheet.write_string(0, c, header, formats.header)
        sample = chunk.head(200)
        for c, header in enumerate(columns):
            width = max([len(header)] + [len(_shown(v)) for v in sample.iloc[:, c].tolist()])
            # the column's format is registered here, so its style index exists for the generated rows
            sheet.set_column(c, c, min(max(width + 2, 10), 60), column_formats[c])
        sheet.freeze_panes(1, 0)
        if len(columns):
            sheet.autofilter(0, 0, max(len(chunk), 1), len(columns) - 1)
        book.procure_rows.append((len(book.worksheets()), chunk, column_formats))


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value == value else ""
    return str(value) if value is not None else ""


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    text = _XML_ILLEGAL.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _column_letters(n: int) -> list[str]:
    letters = []
    for index in range(n):
        name, index = "", index + 1
        while index:
            index, rest = divmod(index - 1, 26)
            name = chr(65 + rest) + name
        letters.append(name)
    return letters


def _column_cells(values: pd.Series, style: int) -> list[str]:
    """The cell XML of one column; a blank is an empty ``<c/>``. Cells carry no ``r`` reference: in a row
    written cell by cell from column A, position gives the column (ECMA-376 makes ``r`` optional),
    which makes the XML a third smaller. Text is inline and escaped: never a formula."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float)
        codes, uniques = pd.factorize(numbers)  # NaN gets code -1
        if len(uniques) * 2 < len(numbers):  # prices, rows, units repeat: format each value once
            texts = [f'<c s="{style}"><v>{v}</v></c>' if np.isfinite(u) else "<c/>"
                     for v, u in zip(uniques.astype(str).tolist(), uniques.tolist())] + ["<c/>"]
            return [texts[k] for k in codes.tolist()]
        head = f'<c s="{style}"><v>'
        return [head + v + "</v></c>" if ok else "<c/>"
                for v, ok in zip(numbers.astype(str).tolist(), np.isfinite(numbers).tolist())]
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # escape each distinct text once
        codes, uniques = pd.factorize(values, sort=False)
        texts = [f'<c t="inlineStr"><is><t xml:space="preserve">{_xml_text(u)}</t></is></c>' if u else "<c/>"
                 for u in uniques.tolist()]
        return [texts[k] for k in codes.tolist()]
    cells = []
    for value in values.tolist():
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            cells.append("<c/>")
        elif isinstance(value, (bool, np.bool_)):
            cells.append(f'<c t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, (int, float, np.integer, np.floating)):
            cells.append(f'<c s="{style}"><v>{float(value)!r}</v></c>')
        else:
            text = str(value)
            cells.append(f'<c t="inlineStr"><is><t xml:space="preserve">{_xml_text(text)}</t></is></c>'
                         if text else "<c/>")
    return cells


ROWS_PER_BLOCK = 20_000  # rows generated at a time: bounded memory for national-scale sheets


def _rows_xml(table: pd.DataFrame, styles: list[int], first_row: int = 2) -> bytes:
    """``<row>`` elements for the data of ``table`` from Excel row ``first_row``, built column by column."""
    columns = [_column_cells(table.iloc[:, c], styles[c]) for c in range(len(table.columns))]
    return "".join(f'<row r="{r}">{"".join(cells)}</row>'
                   for r, cells in zip(range(first_row, first_row + len(table)), zip(*columns))).encode()


FORK_MIN_CELLS = 200_000  # below this, a helper process costs more than it saves


def _blocks(chunk: pd.DataFrame, styles: list[int]):
    for start in range(0, len(chunk), ROWS_PER_BLOCK):
        yield _rows_xml(chunk.iloc[start:start + ROWS_PER_BLOCK], styles, start + 2)


def _rows_in_child(jobs: dict, folder: Path) -> tuple[int, dict[str, Path]]:
    """Generate the rows of ``jobs`` in a forked process (the machine's second core), one file each.

    Returns the child's pid and where each sheet's rows will be; pid 0 when fork is unavailable.
    The child shares the parent's tables copy-on-write and only writes files, then leaves at once.
    """
    if not hasattr(os, "fork") or not jobs:
        return 0, {}
    files = {name: folder / f".rows-{os.getpid()}-{i}" for i, name in enumerate(jobs)}
    with warnings.catch_warnings():
        # HiGHS has left worker threads behind; the child touches none of them and never returns
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            for name, (chunk, styles) in jobs.items():
                with open(files[name], "wb") as handle:
                    for block in _blocks(chunk, styles):
                        handle.write(block)
        except BaseException:
            code = 1
        os._exit(code)
    return pid, files


def _inject_rows(path: Path, pending) -> None:
    """Put the generated data rows into each sheet of the closed workbook (rewriting the zip once).

    Rows are generated and compressed block by block, so memory stays bounded
    however long the table is; zlib (which releases the GIL) compresses block n
    while block n + 1 is generated. On a large plan the biggest sheet is
    generated here while a forked helper generates the others on the second
    core; if the helper fails, the rows are generated here instead.
    """
    if not any(len(chunk) for _, chunk, _ in pending):
        return
    import zipfile

    data = {f"xl/worksheets/sheet{index}.xml": (chunk, [f.xf_index for f in formats])
            for index, chunk, formats in pending if len(chunk)}
    by_size = sorted(data, key=lambda name: -data[name][0].size)
    others = {name: data[name] for name in by_size[1:]}
    pid, files = (0, {})
    if sum(chunk.size for chunk, _ in others.values()) >= FORK_MIN_CELLS:
        pid, files = _rows_in_child(others, path.parent)
    child_ok = None
    rebuilt = path.with_name(path.name + ".rows")
    try:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED,
                                                              compresslevel=1) as target:
            for item in source.infolist():
                content = source.read(item.filename)
                if item.filename not in data:
                    target.writestr(item, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
                    continue
                chunk, styles = data[item.filename]
                if item.filename in files and child_ok is None:
                    child_ok = os.waitpid(pid, 0)[1] == 0
                if item.filename in files and child_ok:
                    blocks = _file_blocks(files[item.filename])
                else:
                    blocks = _blocks(chunk, styles)
                last = f"{_column_letters(len(chunk.columns))[-1]}{len(chunk) + 1}"
                content = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}"/>'.encode(),
                                 content, count=1)
                head, tail = content.split(b"</sheetData>", 1)
                with target.open(item.filename, "w", force_zip64=True) as stream, \
                        ThreadPoolExecutor(max_workers=1) as compressor:
                    pending_write = compressor.submit(stream.write, head)
                    for block in blocks:
                        pending_write.result()
                        pending_write = compressor.submit(stream.write, block)
                    pending_write.result()
                    stream.write(b"</sheetData>" + tail)
        os.replace(rebuilt, path)
    finally:
        if pid and child_ok is None:
            os.waitpid(pid, 0)
        for file in files.values():
            file.unlink(missing_ok=True)
        rebuilt.unlink(missing_ok=True)


def _file_blocks(path: Path, size: int = 8 << 20):
    with open(path, "rb") as handle:
        while block := handle.read(size):
            yield block


def write_frontier(table: pd.DataFrame, path: Path, title: str) -> None:
    """The frontier sheet and a native line chart of cost against the China cap."""
    import xlsxwriter

    path = Path(path)
    temp = _atomic_target(path, ".xlsx")
    try:
        book = xlsxwriter.Workbook(str(temp), {"strings_to_formulas": False, "strings_to_urls": False})
        book.procure_used = set()
        book.procure_rows = []
        formats = _Formats(book)
        _write_table(book, formats, "Frontier", table)
        n = len(table)
        columns = list(table.columns)
        chart = book.add_chart({"type": "line"})
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
        book.get_worksheet_by_name("Frontier").insert_chart(1, len(columns) + 1, chart)
        try:
            book.close()
            _inject_rows(temp, book.procure_rows)
        except Exception as exc:
            raise OutputError(f"cannot write '{path}': {exc}") from None
        _replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
