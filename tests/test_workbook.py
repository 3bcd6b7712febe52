"""Hostile and broken files: each ends in exit 1 with a message naming the file and what is expected,
never a traceback, and the input file is left unchanged. The tests build every fixture themselves."""

from __future__ import annotations

import hashlib
import shutil
import zipfile

import openpyxl
import pytest
from typer.testing import CliRunner

from builders import write_workbook
from procure.cli import app

runner = CliRunner()

BASE = dict(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
            offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 2, "capacity": 50}])


def validate(path):
    before = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    result = runner.invoke(app, ["validate", str(path)])
    assert "Traceback" not in result.output
    if before is not None:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the input was modified"
    return result


def rewrite_parts(source, target, change):
    """Copy an .xlsx, passing each part's bytes through ``change(name, data)``."""
    with zipfile.ZipFile(source) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, change(name, data))
    return target


@pytest.fixture
def good(tmp_path):
    return write_workbook(tmp_path / "good.xlsx", **BASE)


def test_good_workbook_is_valid(good):
    assert validate(good).exit_code == 0


def file_with(name: str, content: bytes):
    def make(folder):
        (folder / name).write_bytes(content)
        return folder / name

    return make


@pytest.mark.parametrize("make, expected", [
    (file_with("empty.xlsx", b""), "is empty (0 bytes)"),
    (file_with("data.xlsx", b"mineral,demand\nGa,10\n"), "is text or CSV"),
    (file_with("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504),
     "legacy .xls workbook or a password-protected"),
    (file_with("bin.xlsx", bytes(range(256))), "not an .xlsx workbook"),
    (lambda d: d, "is a folder"),
    (lambda d: d / "missing.xlsx", "no such file"),
])
def test_wrong_containers(tmp_path, make, expected):
    result = validate(make(tmp_path))
    assert result.exit_code == 1
    assert expected in result.output


def test_truncated_file(good, tmp_path):
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[:2000])
    result = validate(cut)
    assert result.exit_code == 1 and "damaged or truncated" in result.output


def test_lock_file(good, tmp_path):
    lock = tmp_path / "~$good.xlsx"
    shutil.copy(good, lock)
    result = validate(lock)
    assert result.exit_code == 1 and "lock file" in result.output and "'good.xlsx'" in result.output


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "docs.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    result = validate(path)
    assert result.exit_code == 1 and "no xl/workbook.xml" in result.output


def test_entity_expansion_is_refused(good, tmp_path):
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    path = rewrite_parts(good, tmp_path / "lol.xlsx",
                         lambda n, d: bomb + d.split(b"?>", 1)[-1] if n == "xl/sharedStrings.xml" or
                         n == "xl/workbook.xml" else d)
    result = validate(path)
    assert result.exit_code == 1 and "DTD or XML entities" in result.output


def test_external_entity_is_refused(good, tmp_path):
    xxe = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    path = rewrite_parts(good, tmp_path / "xxe.xlsx",
                         lambda n, d: xxe + d if n.startswith("xl/worksheets/") else d)
    result = validate(path)
    assert result.exit_code == 1 and "external-entity" in result.output


def test_zip_bomb_is_refused_before_parsing(good, tmp_path):
    path = rewrite_parts(good, tmp_path / "bomb.xlsx",
                         lambda n, d: d + b" " * (300 * 1024 ** 2) if n == "xl/worksheets/sheet1.xml" else d)
    result = validate(path)
    assert result.exit_code == 1 and "zip bomb" in result.output


def test_lying_dimension_is_ignored(good, tmp_path):
    import re

    path = rewrite_parts(good, tmp_path / "dim.xlsx", lambda n, d: re.sub(
        rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>', d) if n.startswith("xl/worksheets/") else d)
    assert validate(path).exit_code == 0


def test_rows_beyond_excel_limit(good, tmp_path):
    row = b'<row r="1048577"><c r="A1048577" t="inlineStr"><is><t>Co</t></is></c></row></sheetData>'
    path = rewrite_parts(good, tmp_path / "long.xlsx",
                         lambda n, d: d.replace(b"</sheetData>", row) if n == "xl/worksheets/sheet1.xml" else d)
    result = validate(path)
    assert result.exit_code == 1 and "beyond Excel's limit" in result.output


def test_cell_structure_problems_all_reported_together(tmp_path):
    path = write_workbook(tmp_path / "cells.xlsx", **BASE)
    book = openpyxl.load_workbook(path)
    offers = book["Offers"]
    offers["D2"] = "=1+1"  # a formula openpyxl saves without a result
    offers.insert_rows(1)
    offers["A1"] = "Offers received in 2026"  # a title row above the header
    demand = book["Demand"]
    demand.append(["Total", None, 10])
    demand.row_dimensions[2].hidden = True
    minerals = book["Minerals"]
    minerals.append(["Co"])
    minerals.append(["Ni"])
    minerals.merge_cells("A3:A4")
    book.create_sheet("Notes").sheet_state = "hidden"
    book.save(path)
    result = validate(path)
    out = result.output
    assert result.exit_code == 1
    assert "merged cells A3:A4" in out
    assert "sheet 'Demand', row 3, column 'mineral': value 'Total': looks like a total row" in out
    assert "sheet 'Offers', row 3, column 'price': cell D3 is a formula without a saved result" in out
    assert "hidden rows (2)" in out
    assert "rows above the header (row 2) are ignored" in out


def test_stale_formula_results_in_a_recalculating_workbook(good, tmp_path):
    # a formula with a saved result, in a workbook flagged fullCalcOnLoad: its result may be stale
    def change(name, data):
        if name == "xl/worksheets/sheet3.xml":
            return data.replace(b'<c r="D2" t="n"><v>2</v></c>', b'<c r="D2"><f>1+1</f><v>2</v></c>')
        if name == "xl/workbook.xml":
            return data.replace(b"</workbook>", b'<calcPr fullCalcOnLoad="1"/></workbook>')
        return data

    path = rewrite_parts(good, tmp_path / "stale.xlsx", change)
    result = validate(path)
    assert result.exit_code == 1 and "flagged to recalculate" in result.output and "(D2)" in result.output


@pytest.mark.parametrize("value, accepted", [
    ("1,200", 1200.0), (" 15 ", 15.0), ("1 200.5", 1200.5), ("2.5e3", 2500.0), ("15%", 0.15),
    ("$12", None), ("100 t", None), ("NaN", None), ("inf", None), ("1,5", None), ("1.200,5", None),
    ("-3", None), ("1e30", None), ("twelve", None), (True, None),
])
def test_numbers_as_people_type_them(tmp_path, value, accepted):
    sheets = {k: [dict(r) for r in v] for k, v in BASE.items()}
    sheets["offers"][0]["capacity"] = value
    result = validate(write_workbook(tmp_path / "n.xlsx", **sheets))
    if accepted is None:
        assert result.exit_code == 1
        assert "sheet 'Offers', row 2, column 'capacity'" in result.output
    else:
        assert result.exit_code == 0, result.output
        from procure.pipeline import load

        assert load(tmp_path / "n.xlsx").offers[0].capacity == pytest.approx(accepted)


def test_excel_error_value(good, tmp_path):
    path = rewrite_parts(good, tmp_path / "err.xlsx", lambda n, d: d.replace(
        b'<c r="D2" t="n"><v>2</v></c>', b'<c r="D2" t="e"><v>#REF!</v></c>') if n == "xl/worksheets/sheet3.xml" else d)
    result = validate(path)
    assert result.exit_code == 1 and "column 'price': value '#REF!': is an Excel error" in result.output


def test_structure_problems(tmp_path):
    path = write_workbook(
        tmp_path / "s.xlsx",
        minerals=[{"mineral": "Ga", "Unit": "t", " unit ": "kg"}, {"mineral": "Ga\u00a0"}, {"mineral": "ＧＡ"}],
        demand=[{"mineral": "Ga", "period": 2027, "demand": 1}, {"mineral": "Ga", "period": "2027-Q1", "demand": 1}],
        offers=[{"supplier": "A\tB", "country": "Canada", "mineral": "Ga", "price": 1, "capacity": 1,
                 "capacty": 3}])
    out = validate(path).output
    assert "duplicate column: 'Unit' appears in columns B and C" in out
    assert "periods mix numbers" in out
    assert "control characters" in out
    assert "unknown column" in out and "'capacty'" in out
    # NFKC folds the full-width 'ＧＡ' and the no-break space: both duplicate 'Ga'
    assert out.count("duplicate mineral") == 2


def test_what_the_spec_allows_is_a_warning_not_an_error(tmp_path):
    # a mineral without offers (all shortfall) and the same supplier offering the same mineral twice
    path = write_workbook(
        tmp_path / "w.xlsx", minerals=[{"mineral": "Ga"}, {"mineral": "Co"}],
        demand=[{"mineral": "Ga", "period": 2027, "demand": 10}, {"mineral": "Co", "period": 2027, "demand": 1}],
        offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 2, "capacity": 5},
                {"supplier": "a", "country": "Canada", "mineral": "Ga", "price": 3, "capacity": 5}])
    result = validate(path)
    assert result.exit_code == 0, result.output
    assert "sheet 'Minerals', row 3, column 'mineral': value 'Co': has no offers" in result.output
    assert "sheet 'Offers', row 3, column 'supplier'" in result.output and "row 2" in result.output
