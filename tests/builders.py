"""Small workbooks for tests, written with openpyxl exactly as a person would type them."""

from __future__ import annotations

from pathlib import Path

import openpyxl

SHEETS = ("Minerals", "Demand", "Offers", "Countries", "Policy")


def write_workbook(path: Path, *, minerals=None, demand=None, offers=None, countries=None, policy=None,
                   extra_sheets=None) -> Path:
    """Write a workbook; each sheet is a list of dicts (header = the union of keys, in first-seen order).

    ``policy`` may be a dict {key: value}. A sheet passed as None is left out;
    pass [] for a sheet with headers only (give ``{"_headers": [...]}`` as first item).
    """
    book = openpyxl.Workbook()
    book.remove(book.active)
    tables = {"Minerals": minerals, "Demand": demand, "Offers": offers, "Countries": countries}
    if policy is not None:
        tables["Policy"] = [{"key": k, "value": v} for k, v in policy.items()]
    tables.update(extra_sheets or {})
    for title, rows in tables.items():
        if rows is None:
            continue
        sheet = book.create_sheet(title)
        headers: list[str] = []
        for row in rows:
            for key in row.get("_headers", row.keys()):
                if key != "_headers" and key not in headers:
                    headers.append(key)
        sheet.append(headers)
        for row in rows:
            if "_headers" in row:
                continue
            sheet.append([row.get(h) for h in headers])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # typed text that merely starts with '=', not a formula
    book.save(path)
    return path


def two_offers(cap=None, **policy) -> dict:
    """Sheets of the smallest priced choice: China at 1/t and Canada at 3/t for 10 t of Ga in 2027
    (``cap``: Ga's max_china_share; ``policy``: Policy keys)."""
    return dict(minerals=[{"mineral": "Ga", **({"max_china_share": cap} if cap is not None else {})}],
                demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
                offers=[{"supplier": "Sino", "country": "China", "mineral": "Ga", "price": 1, "capacity": 100},
                        {"supplier": "Maple", "country": "Canada", "mineral": "Ga", "price": 3, "capacity": 100}],
                policy=policy or None)


def keyed_header(book, title: str) -> list:
    """The header row of plan sheet ``title`` as procure's keys (its hidden Columns sheet maps the words
    shown back to them), as procure itself reads its plans."""
    header = [c.value for c in book[title][1]]
    if "Columns" not in book.sheetnames:
        return header
    keys = {(r[0], r[1]): r[3] for r in book["Columns"].iter_rows(min_row=2, values_only=True)}
    return [keys.get((title, position), value) for position, value in enumerate(header, start=1)]
