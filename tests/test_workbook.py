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
        rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>', d)
        if n.startswith("xl/worksheets/") else d)
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


def test_excel_error_value(good, tmp_path):
    path = rewrite_parts(good, tmp_path / "err.xlsx", lambda n, d: d.replace(
        b'<c r="D2" t="n"><v>2</v></c>', b'<c r="D2" t="e"><v>#REF!</v></c>') if n == "xl/worksheets/sheet3.xml" else d)
    result = validate(path)
    assert result.exit_code == 1 and "column 'price': value '#REF!': is an Excel error" in result.output


# ---------------------------------------------------------------- namespace-prefixed sheet XML

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"


def _prefixed_cell(ref: str, value) -> str:
    """One cell as a non-Excel writer spells it: every tag with the prefix ``x:``."""
    if isinstance(value, tuple):  # ("formula", text): a formula without a saved result
        return f'<x:c r="{ref}"><x:f>{value[1]}</x:f></x:c>'
    if isinstance(value, str) and value.startswith("#"):
        return f'<x:c r="{ref}" t="e"><x:v>{value}</x:v></x:c>'
    if isinstance(value, str):
        return f'<x:c r="{ref}" t="inlineStr"><x:is><x:t>{value}</x:t></x:is></x:c>'
    return f'<x:c r="{ref}"><x:v>{value}</x:v></x:c>'


def write_prefixed_xlsx(path, sheets: dict[str, list[list]]):
    """An .xlsx zip built by hand whose workbook and sheet XML bind the main namespace to ``x:``."""
    names = list(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(names) + 1))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?>'
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" '
                   'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                   f"{overrides}</Types>")
        z.writestr("_rels/.rels",
                   f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE_RELS}">'
                   f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
                   "</Relationships>")
        z.writestr("xl/workbook.xml",
                   f'<?xml version="1.0" encoding="UTF-8"?><x:workbook xmlns:x="{MAIN_NS}" xmlns:r="{REL_NS}">'
                   "<x:sheets>" + "".join(f'<x:sheet name="{n}" sheetId="{i}" r:id="rId{i}"/>'
                                          for i, n in enumerate(names, 1)) + "</x:sheets></x:workbook>")
        z.writestr("xl/_rels/workbook.xml.rels",
                   f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE_RELS}">'
                   + "".join(f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                             for i in range(1, len(names) + 1)) + "</Relationships>")
        for i, rows in enumerate(sheets.values(), 1):
            body = "".join(
                f'<x:row r="{r}"' + (' hidden="1"' if r == 3 else "") + ">"
                + "".join(_prefixed_cell(f"{chr(65 + c)}{r}", v) for c, v in enumerate(row)) + "</x:row>"
                for r, row in enumerate(rows, 1))
            z.writestr(f"xl/worksheets/sheet{i}.xml",
                       f'<?xml version="1.0" encoding="UTF-8"?><x:worksheet xmlns:x="{MAIN_NS}">'
                       f"<x:sheetData>{body}</x:sheetData></x:worksheet>")
    return path


def test_namespace_prefixed_error_cells_and_formulas_are_not_read_as_blank(tmp_path):
    # Read as blank, the #REF! penalty would silently take its default and the formula's price would be
    # "required"; both must be reported as what they are. Row 3 of every sheet is marked hidden.
    path = write_prefixed_xlsx(tmp_path / "prefixed.xlsx", {
        "Minerals": [["mineral", "shortfall_penalty"], ["Ga", "#REF!"]],
        "Demand": [["mineral", "period", "demand"], ["Ga", 2027, 10]],
        "Offers": [["supplier", "country", "mineral", "price", "capacity"], ["A", "Canada", "Ga", 2, 50],
                   ["B", "Chile", "Ga", ("formula", "D2*2"), 50]],
    })
    result = validate(path)
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "sheet 'Minerals', row 2, column 'shortfall_penalty': value '#REF!': is an Excel error" in out
    assert "sheet 'Offers', row 3, column 'price': cell D3 is a formula without a saved result" in out
    assert "sheet 'Offers': has hidden rows (3); they are read all the same" in out


def test_namespace_prefixed_workbook_reads_like_an_excel_one(tmp_path):
    from procure.pipeline import load

    path = write_prefixed_xlsx(tmp_path / "clean.xlsx", {
        "Minerals": [["mineral", "shortfall_penalty"], ["Ga", 40]],
        "Demand": [["mineral", "period", "demand"], ["Ga", 2027, 10]],
        "Offers": [["supplier", "country", "mineral", "price", "capacity"], ["A", "Canada", "Ga", 2, 50]],
    })
    data = load(path)
    assert data.minerals["ga"].shortfall_penalty_usd == 40.0
    assert [(o.supplier, o.price_usd, o.capacity) for o in data.offers] == [("A", 2.0, 50.0)]


def test_a_header_naming_an_unknown_zip_version_is_a_damaged_workbook(book):
    """zipfile raises NotImplementedError ("zip file version 8.4") for such a header: an input problem."""
    import struct
    import zipfile

    from procure.errors import InputError
    from procure.workbook import read_workbook

    path = book(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": 1}],
                offers=[{"supplier": "A", "country": "Peru", "mineral": "Ga", "price": 1, "capacity": 5}])
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/workbook.xml")
    # the central directory entry's "version needed to extract" (offset 6 of its 46-byte header)
    central = data.find(b"PK\x01\x02")
    while True:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46:central + 46 + name_length] == info.filename.encode():
            break
        central = data.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<H", data, central + 6, 84)
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as caught:
        read_workbook(path)
    assert "damaged" in str(caught.value.problems[0])


# ---------------------------------------------------------------- cells that read blank but are not

def _blank_reading_book(tmp_path):
    """A stochastic workbook with a Risks sheet whose Shocks and Risks cells read blank but are not:
    merged filter cells (a blank filter means "any") and a formula openpyxl saves without a result."""
    path = write_workbook(
        tmp_path / "blank_reads.xlsx",
        minerals=[{"mineral": "Ga"}, {"mineral": "Co"}],
        demand=[{"mineral": "Ga", "period": 2027, "demand": 10}, {"mineral": "Co", "period": 2027, "demand": 5}],
        offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 2, "capacity": 50},
                {"supplier": "B", "country": "Congo", "mineral": "Co", "price": 3, "capacity": 50}],
        extra_sheets={
            "Scenarios": [{"scenario": "calm", "probability": 0.5}, {"scenario": "ban", "probability": 0.5}],
            "Shocks": [{"scenario": "ban", "mineral": "Ga", "capacity": 0, "price": 1},
                       {"scenario": "ban", "mineral": "Ga", "capacity": 1, "price": 2}],
            "Risks": [{"event": "Ga ban", "probability": 0.1, "mineral": "Ga"},
                      {"event": "Ga strike", "probability": 0.2, "mineral": "Ga"}],
        })
    book = openpyxl.load_workbook(path)
    book["Shocks"].merge_cells("B2:B3")  # row 3's mineral reads blank: every mineral's price doubled
    book["Risks"].merge_cells("C2:C3")
    book["Risks"]["B3"] = "=0.1*2"  # a formula without a saved result: the probability reads blank
    book.save(path)
    return path


def test_merged_cells_and_uncached_formulas_of_every_input_sheet_are_refused_together(tmp_path):
    result = validate(_blank_reading_book(tmp_path))
    out = " ".join(result.output.split())
    assert result.exit_code == 1, out
    assert "sheet 'Shocks', row 2, column 'mineral': value 'Ga': merged cells B2:B3 in the data" in out
    assert "sheet 'Risks', row 2, column 'mineral': value 'Ga': merged cells C2:C3 in the data" in out
    assert ("sheet 'Risks', row 3, column 'probability': cell B3 is a formula without a saved result"
            in out)
    assert "row 3, column 'probability': is blank" not in out  # refused once, not reported blank as well


def test_read_table_names_sheet_row_column_and_value_of_refused_cells():
    from procure.errors import Collector
    from procure.workbook import RawSheet, read_table

    sheet = RawSheet("Shocks", rows=[(1, ("Shocks of 2027",)), (2, ("scenario", "mineral", "price", "note")),
                                     (3, ("ban", "Ga", 2, "x")), (4, ("ban", None, None, None)),
                                     (5, ("ban", "Co", None, None))],
                     merged=["A1:D1",  # a title above the header: no data cell
                             "B3:B4",  # row 4's mineral reads blank
                             "C5:D5",  # only the ignored 'note' column is covered besides the value's own cell
                             "D3:D4"],  # an ignored column
                     uncached_formulas=["C5", "D4"])
    out = Collector("book.xlsx")
    table = read_table(sheet, ["scenario"], ["scenario", "mineral", "price"], out)
    assert (table.header_row, [row for row, _ in table.rows]) == (2, [3, 4, 5])
    assert [(p.sheet, p.row, p.column, p.value) for p in out.errors] == [
        ("Shocks", 3, "mineral", "Ga"), ("Shocks", 5, "price", None)]
    assert "merged cells B3:B4" in out.errors[0].message and "cell C5 is a formula" in out.errors[1].message
    assert table.is_refused(4, 1) and table.is_refused(5, 2)
    assert not table.is_refused(3, 1) and not table.is_refused(4, 3) and not table.is_refused(4, None)


def test_no_header_row_is_one_problem_naming_the_columns():
    from procure.errors import Collector
    from procure.workbook import HEADER_SEARCH_ROWS, RawSheet, read_table

    sheet = RawSheet("Risks", rows=[(r, (f"note {r}",)) for r in range(1, HEADER_SEARCH_ROWS + 1)]
                     + [(HEADER_SEARCH_ROWS + 1, ("event", "probability"))])
    out = Collector("book.xlsx")
    assert read_table(sheet, ["event", "probability"], ["event", "probability", "duration"], out) is None
    [problem] = out.errors
    assert problem.sheet == "Risks" and problem.message == (
        f"has no header row naming event, probability in its first {HEADER_SEARCH_ROWS} non-blank rows "
        "(expected columns: event, probability, duration)")
    fallback = read_table(sheet, ["event"], ["event"], Collector(None), first_row_if_none=True)
    assert (fallback.header_row, fallback.found) == (1, False)


def test_read_plan_sheet_rows_and_safe_open(tmp_path):
    from procure.errors import InputError
    from procure.workbook import read_plan_sheet

    plan = tmp_path / "plan.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Agreements"
    for row in (["offer", "signed"], ["A, row 2", "yes"], [None, None], ["B, row 3", "no"]):
        sheet.append(row)
    book.save(plan)
    assert read_plan_sheet(plan, "Agreements") == (["offer", "signed"], [(2, ("A, row 2", "yes")),
                                                                          (4, ("B, row 3", "no"))])
    assert read_plan_sheet(plan, "Allocation") is None
    text = tmp_path / "plan.csv.xlsx"
    text.write_text("offer,signed\n")
    with pytest.raises(InputError) as caught:
        read_plan_sheet(text, "Agreements")
    assert "is text or CSV" in str(caught.value.problems[0])
