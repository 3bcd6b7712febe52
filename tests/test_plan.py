"""The plan workbook: sheets, charts, formats, atomic writes, text safety, long tables."""

from __future__ import annotations

import os
import zipfile

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from builders import keyed_header
from procure import workbook
from procure.cli import app
from procure.errors import OutputError
from procure.paths import check_output_path
from procure.plan import EXCEL_MAX_ROWS, write_tables
from procure.starter import bundled_imports

runner = CliRunner()


def test_sample_plan_has_every_sheet_and_native_charts(tmp_path):
    plan = tmp_path / "plan.xlsx"
    assert runner.invoke(app, ["solve", str(bundled_imports()), "-o", str(plan), "-q"]).exit_code == 0
    book = openpyxl.load_workbook(plan)
    assert book.sheetnames[:8] == ["Summary", "Allocation", "Minerals", "Countries", "Offers", "Agreements",
                                   "Constraints", "Excluded"]
    minerals = len({r[0] for r in book["Minerals"].iter_rows(min_row=2, values_only=True)})
    # three charts per mineral: purchases by origin, China share against cap, reserve against target
    assert len(book["Charts"]._charts) == 3 * minerals
    with zipfile.ZipFile(plan) as z:
        kinds = " ".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/"))
    assert "<c:barChart>" in kinds and 'grouping val="stacked"' in kinds and "<c:lineChart>" in kinds
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(min_row=2, values_only=True) if r[7] is not None}
    for item in ("Scenario", "Status", "Objective (spend plus penalty terms)", "Spend (USD)",
                 "Shortfall value (USD at reference prices)", "China share of purchases (by value)",
                 "Solver", "Input SHA-256", "Tool version", "Budget used (share of horizon budget)"):
        assert item in summary, item
    assert not any("USD" in label for label in summary if label.startswith(("Objective", "Penalty")))
    keys = {r[7] for r in book["Summary"].iter_rows(min_row=2, values_only=True)}  # read back by key (hidden H)
    assert {"status", "spend", "objective", "input_sha256"} <= keys
    assert book["Allocation"].freeze_panes == "A2"
    assert book["Minerals"]["L2"].number_format == "0.0%"  # china_share
    header = keyed_header(book, "Allocation")
    period = book["Allocation"].cell(row=2, column=header.index("period") + 1)
    assert isinstance(period.value, (int, float)) and period.number_format == "General"  # 2027, never 2,027


def test_plan_path_through_a_link_to_the_input_is_refused(tmp_path):
    source = tmp_path / "in.xlsx"
    source.write_bytes(b"x")
    link = tmp_path / "link.xlsx"
    os.symlink(source, link)
    with pytest.raises(OutputError, match="would overwrite the input workbook"):
        check_output_path(link, [source])
    with pytest.raises(OutputError, match="must end in .xlsx"):
        check_output_path(tmp_path / "plan.csv", [source])


def test_missing_output_folders_are_created_and_previous_plan_survives_a_failure(tmp_path, monkeypatch):
    target = tmp_path / "a" / "b" / "plan.xlsx"
    write_tables(target, {"T": pd.DataFrame({"x": [1.0]})})
    before = target.read_bytes()
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # a normal file, not the temp file's mode

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("procure.plan.fill_sheets", broken)
    with pytest.raises(OutputError, match="No space left"):
        write_tables(target, {"T": pd.DataFrame({"x": [2.0]})})
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == ["plan.xlsx"]  # no temp file left behind


def test_read_only_target_gives_a_clear_message(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(OutputError, match="cannot write in"):
            write_tables(folder / "plan.xlsx", {"T": pd.DataFrame({"x": [1.0]})})
    finally:
        folder.chmod(0o700)


def test_long_table_is_split_never_truncated(tmp_path):
    target = tmp_path / "long.xlsx"
    write_tables(target, {"Allocation": pd.DataFrame({"q": [float(i) for i in range(8)]})}, max_rows=4)
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["Allocation", "Allocation 2", "Allocation 3"]  # 3 data rows per sheet
    values = [r[0] for name in book.sheetnames for r in book[name].iter_rows(min_row=2, values_only=True)]
    assert values == [float(i) for i in range(8)]
    assert EXCEL_MAX_ROWS == 1_048_576 and EXCEL_MAX_ROWS is workbook.EXCEL_MAX_ROWS  # one definition


def test_text_that_looks_like_formulas_stays_text(tmp_path):
    target = tmp_path / "t.xlsx"
    hostile = ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "a\x01b <&>"]
    write_tables(target, {"T": pd.DataFrame({"name": hostile})})
    sheet = openpyxl.load_workbook(target)["T"]
    cells = [sheet.cell(row=i + 2, column=1) for i in range(len(hostile))]
    # the control character is kept as ECMA-376's escape, which Excel decodes (openpyxl does not)
    assert [c.value for c in cells] == hostile[:4] + ["a_x0001_b <&>"]
    assert all(c.data_type == "s" for c in cells)
