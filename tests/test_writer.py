"""The plan writer's data rows (procure.sheet_xml): every dtype read back cell for cell by openpyxl,
python-calamine and (where node is installed) SheetJS; no zip64 headers on ordinary parts; the split
of long tables; only file-system errors become "cannot write"."""

from __future__ import annotations

import json
import math
import re
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from procure import sheet_xml
from procure.cli import app
from procure.errors import OutputError
from procure.plan import write_tables
from procure.sheet_xml import ROWS_PER_BLOCK, EncodedTable, rows_xml
from procure.workbook import column_letter

ROWS = ROWS_PER_BLOCK + 1_500  # more than one generated block
TEXTS = ["<a & b> \"quoted\" 'single'", "control \x01 \x08 \x0b \x1f and \r return", "", "=1+1",
         '=HYPERLINK("http://example.com","click")', "+1+1", "-2", "@SUM(A1)", "literal _x0041_ escape",
         "tab\tand\nnewline", "ünïcødé 中文 🙂", "  spaced  "]
MIXED = [7, 2.5, None, "text", True, float("nan"), np.int64(-3), "", False, float("inf")]


def hostile_table(rows: int = ROWS) -> pd.DataFrame:
    """Every dtype a plan table holds, cycling through the awkward values."""
    rng = np.random.default_rng(7)
    floats = rng.normal(0, 1e6, rows)
    floats[::7] = np.nan
    floats[3::11] = np.inf
    floats[5::13] = -np.inf
    floats[1] = 1e-300
    floats[2] = -1.2345678901234567e300
    floats[4] = 0.1 + 0.2  # a value whose shortest repr has 17 digits
    nullable = pd.array([None if i % 5 == 0 else i for i in range(rows)], dtype="Int64")
    return pd.DataFrame({
        "offer_row": np.arange(rows, dtype=np.int64) * 3 - 7,
        "big_int": np.full(rows, 2**40, dtype=np.int64),
        "quantity": floats,
        "signed": np.arange(rows) % 3 == 0,
        "supplier": [TEXTS[i % len(TEXTS)] for i in range(rows)],
        "mixed": [MIXED[i % len(MIXED)] for i in range(rows)],
        "nullable": nullable,
        "share": np.linspace(0, 1, rows),
    })


def expected_cell(value):
    """What a reader should give back for ``value``: None for a blank cell."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value or None


def expected_rows(table: pd.DataFrame) -> list[list]:
    return [[str(c) for c in table.columns]] + [[expected_cell(v) for v in row]
                                                for row in table.itertuples(index=False, name=None)]


def normalise(rows: list[list]) -> list[list]:
    """Readers' blanks ('' from calamine, None elsewhere) as None; rows padded to the widest."""
    width = max(len(r) for r in rows)
    return [[None if v == "" else v for v in list(r) + [None] * (width - len(r))] for r in rows]


@pytest.fixture(scope="module")
def hostile_plan(tmp_path_factory):
    table = hostile_table()
    path = tmp_path_factory.mktemp("writer") / "hostile.xlsx"
    write_tables(path, {"Allocation": table})
    return path, table


def test_every_dtype_reads_back_cell_for_cell_with_openpyxl(hostile_plan):
    path, table = hostile_plan
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["Allocation"]
    got = [list(row) for row in book["Allocation"].iter_rows(values_only=True)]
    expected = [[as_openpyxl_reads_shared_text(v) for v in row] for row in expected_rows(table)]
    assert normalise(got) == expected


def as_openpyxl_reads_shared_text(value):
    """What openpyxl gives for a shared string: it decodes no ``_xHHHH_`` escape (Excel decodes them
    all; calamine and SheetJS are checked for that) but drops every ``x005F_``, which turns the
    protected literal ``_x005F_x0041_`` back into ``_x0041_``."""
    if not isinstance(value, str):
        return value
    escaped = re.sub("_x[0-9A-Fa-f]{4}_", lambda m: "_x005F" + m.group(0), value)
    escaped = re.sub("[\x00-\x08\x0b-\x1f\ufffe\uffff]", lambda m: f"_x{ord(m.group(0)):04X}_", escaped)
    return escaped.replace("x005F_", "")


def test_every_dtype_reads_back_cell_for_cell_with_calamine(hostile_plan):
    path, table = hostile_plan
    got = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Allocation").to_python()
    assert normalise(got) == expected_rows(table)


def test_text_is_never_a_formula_and_numbers_keep_their_column_format(hostile_plan):
    path, table = hostile_plan
    sheet = openpyxl.load_workbook(path)["Allocation"]
    supplier = list(table.columns).index("supplier") + 1
    formula_rows = [i + 2 for i, t in enumerate(table["supplier"][:len(TEXTS)]) if t.startswith("=")]
    assert formula_rows  # the table does hold formula-like text
    for row in formula_rows:
        assert sheet.cell(row=row, column=supplier).data_type == "s"
    with zipfile.ZipFile(path) as package:
        assert b"<f>" not in package.read(sheet_xml.sheet_parts(package)["Allocation"])
    assert sheet["H3"].number_format == "0.0%"  # share
    assert sheet["C3"].number_format == "#,##0.0##"  # quantity (C2 is NaN: a blank cell)


def test_sheet_settings_made_with_xlsxwriter_survive_the_rows_going_in(hostile_plan):
    # landscape, one page wide, header repeated (CLI.md); frozen header; filter over the data
    sheet = openpyxl.load_workbook(hostile_plan[0])["Allocation"]
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0  # absent = 1 (ECMA-376)
    assert sheet.print_title_rows.replace("$", "") == "1:1"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:H{len(hostile_plan[1]) + 1}"


def test_the_dimension_covers_the_data(hostile_plan):
    path, table = hostile_plan
    sheet = openpyxl.load_workbook(path, read_only=True)["Allocation"]
    assert sheet.calculate_dimension() == f"A1:{column_letter(len(table.columns) - 1)}{len(table) + 1}"


def local_header_extra_ids(path: Path) -> dict[str, list[int]]:
    """The ids of the extra fields in each member's *local* header (0x0001 is zip64)."""
    ids = {}
    with zipfile.ZipFile(path) as package, open(path, "rb") as raw:
        for info in package.infolist():
            raw.seek(info.header_offset)
            header = raw.read(30)
            assert header[:4] == b"PK\x03\x04"
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            raw.seek(name_length, 1)
            extra = raw.read(extra_length)
            found, at = [], 0
            while at + 4 <= len(extra):
                field_id, size = struct.unpack("<HH", extra[at:at + 4])
                found.append(field_id)
                at += 4 + size
            ids[info.filename] = found
    return ids


def test_no_zip64_headers_in_an_ordinary_plan(hostile_plan):
    path, _ = hostile_plan
    ids = local_header_extra_ids(path)
    assert "xl/worksheets/sheet1.xml" in ids
    assert all(0x0001 not in found for found in ids.values()), ids


def test_a_part_that_may_pass_the_zip_limit_gets_zip64(tmp_path, monkeypatch):
    # the threshold lowered below this small table's bound: its sheet, and only it, is written with zip64
    monkeypatch.setattr(sheet_xml, "ZIP64_LIMIT_BYTES", 1000)
    path = tmp_path / "zip64.xlsx"
    write_tables(path, {"T": pd.DataFrame({"x": [1.0, 2.0]})})
    ids = local_header_extra_ids(path)
    assert [name for name, found in ids.items() if 0x0001 in found] == ["xl/worksheets/sheet1.xml"]
    assert CalamineWorkbook.from_path(str(path)).get_sheet_by_name("T").to_python() == [["x"], [1.0], [2.0]]


def test_the_size_bound_holds_for_hostile_text():
    table = hostile_table(200)
    table["supplier"] = ["&" * 50, "_x0041_" * 10] * 100  # text whose escaping grows it most
    styles = [0] * len(table.columns)
    assert EncodedTable(table, styles).size_bound() >= len(rows_xml(table, styles))
    blank = pd.DataFrame({"note": [None, float("nan")] * 3, "x": [1.0] * 6})  # a text column with no text
    assert EncodedTable(blank, [0, 0]).size_bound() >= len(rows_xml(blank, [0, 0]))


def test_long_table_splits_into_numbered_sheets_at_the_row_limit(tmp_path):
    target = tmp_path / "long.xlsx"
    table = pd.DataFrame({"q": [float(i) for i in range(8)], "name": [f"s{i}" for i in range(8)]})
    write_tables(target, {"Allocation": table}, max_rows=4)  # 3 data rows a sheet below the header
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["Allocation", "Allocation 2", "Allocation 3"]
    for name in book.sheetnames:
        assert [c.value for c in book[name][1]] == ["q", "name"]
        assert book[name].auto_filter.ref is not None
    values = [r for name in book.sheetnames for r in book[name].iter_rows(min_row=2, values_only=True)]
    assert values == [(float(i), f"s{i}") for i in range(8)]
    calamine = CalamineWorkbook.from_path(str(target))
    assert [len(calamine.get_sheet_by_name(n).to_python()) for n in book.sheetnames] == [4, 4, 3]


def test_a_file_system_error_is_a_clear_message_and_the_old_plan_survives(tmp_path, monkeypatch):
    target = tmp_path / "plan.xlsx"
    write_tables(target, {"T": pd.DataFrame({"x": [1.0]})})
    before = target.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("procure.plan.fill_sheets", full_disk)
    with pytest.raises(OutputError, match="No space left on device"):
        write_tables(target, {"T": pd.DataFrame({"x": [2.0]})})
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["plan.xlsx"]


def test_a_bug_in_the_writer_is_not_disguised_as_a_write_error(tmp_path, monkeypatch):
    def bug(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr("procure.plan.fill_sheets", bug)
    with pytest.raises(KeyError):
        write_tables(tmp_path / "plan.xlsx", {"T": pd.DataFrame({"x": [1.0]})})
    assert list(tmp_path.iterdir()) == []  # the temporary file is removed all the same
    result = CliRunner().invoke(app, ["solve", "-o", str(tmp_path / "cli.xlsx")])
    assert result.exit_code != 0
    assert "internal error: KeyError" in result.output
    assert "cannot write" not in result.output


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702, 16383)] == \
        ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA", "XFD"]


# --- SheetJS ----------------------------------------------------------------------------------------

SHEETJS = "xlsx@0.18.5"
SHEETJS_READ = """
const XLSX = require(process.argv[2]);
const book = XLSX.readFile(process.argv[3]);
const out = {};
for (const name of book.SheetNames) {
  out[name] = XLSX.utils.sheet_to_json(book.Sheets[name], {header: 1, raw: true, defval: null, blankrows: true});
}
process.stdout.write(JSON.stringify(out));
"""


@pytest.fixture(scope="session")
def sheetjs(tmp_path_factory):
    """The path of SheetJS 0.18.5 installed from npm into a temporary folder; skip without node/npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node or npm is not installed")
    folder = tmp_path_factory.mktemp("sheetjs")
    try:
        subprocess.run([npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", SHEETJS],
                       check=True, capture_output=True, timeout=180)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"cannot install {SHEETJS} from npm: {exc}")
    script = folder / "read.js"
    script.write_text(SHEETJS_READ)
    return node, script, folder / "node_modules" / "xlsx"


def sheetjs_read(sheetjs, path: Path) -> dict:
    node, script, module = sheetjs
    result = subprocess.run([node, str(script), str(module), str(path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.network  # the sheetjs fixture installs SheetJS from npm
def test_sheetjs_reads_the_plan_cell_for_cell(sheetjs, tmp_path):
    table = hostile_table(300)
    path = tmp_path / "plan.xlsx"
    write_tables(path, {"Allocation": table}, summary=[("status", "optimal"), ("objective", 12.5)])
    sheets = sheetjs_read(sheetjs, path)
    assert list(sheets) == ["Summary", "Allocation"]
    assert sheets["Summary"] == [["item", "value"], ["status", "optimal"], ["objective", 12.5]]
    assert normalise(sheets["Allocation"]) == expected_rows(table)  # SheetJS decodes _xHHHH_ as Excel does


@pytest.mark.network  # the sheetjs fixture installs SheetJS from npm
def test_sheetjs_reads_the_sample_plan(sheetjs, tmp_path):
    from procure.starter import bundled_imports

    plan = tmp_path / "imports.xlsx"  # the national import plan: a deterministic plan with every table
    assert CliRunner().invoke(app, ["solve", str(bundled_imports()), "-o", str(plan), "-q"]).exit_code == 0
    sheets = sheetjs_read(sheetjs, plan)
    book = openpyxl.load_workbook(plan, read_only=True)
    assert list(sheets)[:len(book.sheetnames)] == book.sheetnames
    for name in ("Allocation", "Minerals", "Offers"):
        expected = [list(r) for r in book[name].iter_rows(values_only=True)]
        assert normalise(sheets[name]) == normalise(expected), name
