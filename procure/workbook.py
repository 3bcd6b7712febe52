"""Read an input workbook into plain tables: the only module that opens Excel files.

Nothing here interprets a value; :mod:`procure.validate` does. What this module
guarantees: the file is a real .xlsx (decided by its first bytes, not its
name), every sheet comes back as a header row and data rows numbered as Excel
numbers them, and a cell holding an Excel error (``#REF!``) comes back as an
:class:`ExcelError`, never as text or a blank.
"""

from __future__ import annotations

import hashlib
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from procure.errors import InputError, Problem

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, or an encrypted .xlsx


@dataclass(frozen=True)
class ExcelError:
    """A cell whose value is an Excel error such as ``#REF!`` or ``#DIV/0!``."""

    code: str

    def __str__(self) -> str:
        return self.code


@dataclass
class RawSheet:
    """One worksheet as read: header texts by column position, data rows by Excel row number.

    ``header_row`` is the Excel row of the headers; ``headers`` maps a 0-based
    column position to the header text as written; ``rows`` holds
    ``(excel_row, values)`` for every row below the header that is not blank,
    ``values`` aligned with column positions.
    """

    title: str
    header_row: int
    headers: dict[int, str]
    rows: list[tuple[int, tuple]] = field(default_factory=list)


@dataclass
class RawWorkbook:
    """Every sheet of a workbook, by title in workbook order, plus the file's identity."""

    path: Path
    sha256: str
    sheets: dict[str, RawSheet]


def normalize_name(text: str) -> str:
    """Sheet and column names match ignoring case, surrounding spaces, and spaces vs underscores."""
    return re.sub(r"[\s_]+", "_", str(text).strip().casefold())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_container(path: Path) -> None:
    """Refuse anything that is not an .xlsx zip, judged by the first bytes, with a message saying what it is."""
    shown = str(path)
    if not path.exists():
        raise InputError([Problem("no such file", file=shown)])
    if path.is_dir():
        raise InputError([Problem("is a folder, expected an .xlsx workbook file", file=shown)])
    if path.name.startswith("~$"):
        raise InputError([Problem(
            "is an Excel lock file (Excel creates it while the workbook is open); "
            f"open '{path.name[2:]}' instead", file=shown)])
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputError([Problem(f"cannot be read: {exc.strerror or exc}", file=shown)]) from exc
    if not head:
        raise InputError([Problem("is empty (0 bytes), expected an .xlsx workbook", file=shown)])
    if head.startswith(OLE2_MAGIC):
        raise InputError([Problem(
            "is a legacy .xls workbook or a password-protected .xlsx; "
            "save it from Excel as an unprotected .xlsx workbook", file=shown)])
    if not head.startswith(ZIP_MAGIC):
        kind = "text or CSV" if all(32 <= b < 127 or b in (9, 10, 13) for b in head) else "not a workbook"
        raise InputError([Problem(
            f"is {kind}, not an .xlsx workbook (whatever its name says); "
            "save it from Excel as .xlsx", file=shown)])
    if not zipfile.is_zipfile(path):
        raise InputError([Problem("is damaged or truncated: not a complete .xlsx (zip) file", file=shown)])


def _cell_value(cell) -> object:
    if cell.data_type == "e":
        return ExcelError(str(cell.value))
    value = cell.value
    if isinstance(value, str):
        return value
    return value


def read_workbook(path: str | Path) -> RawWorkbook:
    """Read every worksheet of ``path`` into :class:`RawSheet` tables.

    The header row is the first row that has any value; data rows are those
    below it with at least one value. Raises :class:`InputError` when the file
    is not a readable .xlsx workbook.
    """
    import openpyxl  # imported here: the command line starts faster for --help

    path = Path(path)
    _check_container(path)
    sha = file_sha256(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about unsupported extensions
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise InputError([Problem(
            f"cannot be opened as an .xlsx workbook ({type(exc).__name__}: {exc})",
            file=str(path))]) from exc
    sheets: dict[str, RawSheet] = {}
    try:
        for worksheet in book.worksheets:
            sheets[worksheet.title] = _read_sheet(worksheet)
    except Exception as exc:
        raise InputError([Problem(
            f"is damaged: a sheet could not be read ({type(exc).__name__}: {exc})",
            file=str(path))]) from exc
    finally:
        book.close()
    return RawWorkbook(path=path, sha256=sha, sheets=sheets)


def _read_sheet(worksheet) -> RawSheet:
    header_row = 0
    headers: dict[int, str] = {}
    rows: list[tuple[int, tuple]] = []
    for excel_row, cells in enumerate(worksheet.iter_rows(), start=1):
        values = tuple(_cell_value(cell) for cell in cells)
        if not any(_has_value(v) for v in values):
            continue
        if not header_row:
            header_row = excel_row
            headers = {i: str(v).strip() for i, v in enumerate(values) if _has_value(v)}
            continue
        rows.append((excel_row, values))
    return RawSheet(title=worksheet.title, header_row=header_row or 1, headers=headers, rows=rows)


def _has_value(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    return True
