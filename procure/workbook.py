"""Read an input workbook into plain tables: the only module that opens Excel files.

Nothing here interprets a value; :mod:`procure.validate` does. What this module
guarantees: the file is a real .xlsx (decided by its first bytes, not its
name), every sheet comes back as a header row and data rows numbered as Excel
numbers them, and a cell holding an Excel error (``#REF!``) comes back as an
:class:`ExcelError`, never as text or a blank. :func:`read_table` is the one
reader of an input sheet's header and data rows; it refuses the cells that would
silently read as blank (merged, or a formula without a saved result).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import re
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from procure.errors import Collector, InputError, Problem

ZIP_MAGIC = b"PK\x03\x04"
EXCEL_MAX_ROWS = 1_048_576
HEADER_SEARCH_ROWS = 20  # title rows above the header are tolerated, within reason


def column_letter(index: int) -> str:
    """Excel's letters of the 0-based column ``index``: 0 -> A, 25 -> Z, 26 -> AA (bijective base 26)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters

# A zip bomb expands a small file into gigabytes: refuse parts beyond these sizes
# (far above a national plan's largest sheet; see benchmarks/RESULTS.md).
MAX_PART_BYTES = 512 * 1024**2
MAX_TOTAL_BYTES = 1024**3
MAX_RATIO = 200  # uncompressed / compressed, for parts above 1 MB; real sheets compress far less
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, or an encrypted .xlsx


@dataclass(frozen=True)
class ExcelError:
    """A cell whose value is an Excel error such as ``#REF!`` or ``#DIV/0!``."""

    code: str

    def __str__(self) -> str:
        return self.code


@dataclass
class RawSheet:
    """One worksheet as read: every non-blank row, numbered as Excel numbers it.

    ``rows`` holds ``(excel_row, values)`` with ``values`` aligned with column
    positions (0 = column A). Which row is the header is decided by
    :func:`read_table`, given the columns its caller looks for. The other
    fields are what the sheet's XML says beyond values.
    """

    title: str
    rows: list[tuple[int, tuple]] = field(default_factory=list)
    hidden: bool = False
    hidden_rows: list[int] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # ranges such as "A2:B3"
    uncached_formulas: list[str] = field(default_factory=list)  # cells such as "C7"
    formulas: list[str] = field(default_factory=list)


@dataclass
class RawWorkbook:
    """Every sheet of a workbook, by title in workbook order, plus the file's identity.

    ``recalculate_on_open``: the workbook asks Excel to recalculate every
    formula when opened, so the results saved in it may be stale.
    """

    path: Path
    sha256: str
    sheets: dict[str, RawSheet]
    recalculate_on_open: bool = False


@dataclass
class _SheetFacts:
    """What the sheet's XML says that openpyxl's read-only reader does not expose."""

    title: str
    hidden: bool = False
    hidden_rows: list[int] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    uncached_formulas: list[str] = field(default_factory=list)  # cell references
    formulas: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # cell reference -> #REF! etc.
    max_row: int = 0


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


_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.I)
_SHEET_ENTRY = re.compile(r"sheet", re.I)
# Sheet XML is scanned with patterns, not parsed (a parser is too slow for a national plan's sheets). Excel
# writes unprefixed tags (<c>, <v>), but other writers bind the main namespace to a prefix
# (<x:c>, <x:v>): the patterns are built for the prefix the sheet's root element uses, or an
# error cell there would read as blank and a default would silently apply. Building them per
# prefix (not with an optional prefix in every pattern) keeps Excel's files as fast as before.
# Attribute values may be quoted either way.
_ROOT_PREFIX = re.compile(rb"<([A-Za-z_][\w.-]*:)?worksheet\b")
_ROW_NUMBER = re.compile(rb"""\br=["'](\d+)["']""")
_HIDDEN = re.compile(rb"""\bhidden=["'](1|true)["']""")
_CELL_REF = re.compile(rb"""\br=["']([A-Z]+\d+)["']""")
_ERROR_TYPE = re.compile(rb"""\bt=["']e["']""")


@dataclass(frozen=True)
class _Patterns:
    """The tag patterns of one sheet-XML prefix (``b""`` for Excel's unprefixed tags)."""

    row: re.Pattern  # group 1: attributes
    merge: re.Pattern  # group 1: the range
    cell: re.Pattern  # group 1: attributes, 2: content
    value_tag: re.Pattern
    formula_tag: re.Pattern
    empty_value: re.Pattern
    value: re.Pattern  # group 1: the text


@functools.lru_cache(maxsize=8)
def _patterns(prefix: bytes) -> _Patterns:
    p = re.escape(prefix)
    return _Patterns(
        row=re.compile(rb"<" + p + rb"row\b([^>]*)>"),
        merge=re.compile(rb"<" + p + rb"""mergeCell\b[^>]*\bref=["']([A-Z]+\d+(?::[A-Z]+\d+)?)["']"""),
        cell=re.compile(rb"<" + p + rb"c\b([^>]*?)(?:/>|>(.*?)</" + p + rb"c>)", re.S),
        value_tag=re.compile(rb"<" + p + rb"v\b"),
        formula_tag=re.compile(rb"<" + p + rb"f\b"),
        empty_value=re.compile(rb"<" + p + rb"v\s*/>|<" + p + rb"v>\s*</" + p + rb"v>"),
        value=re.compile(rb"<" + p + rb"v>([^<]*)</" + p + rb"v>"),
    )


def _inspect_package(path: Path) -> tuple[dict[str, _SheetFacts], bool]:
    """Check the zip before any XML parser sees it; read what openpyxl's reader cannot tell.

    Refuses zip bombs (declared and actual sizes), DTDs and entity declarations
    (entity expansion, external entities: no real workbook has them), and sheets
    beyond Excel's row limit. Returns per-sheet facts by title and whether the
    workbook is flagged to recalculate every formula when opened.
    """
    from defusedxml import ElementTree as SafeTree

    shown = str(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, NotImplementedError) as exc:
        raise InputError([Problem(f"is damaged or truncated: not a complete .xlsx (zip) file ({exc})",
                                  file=shown)]) from None
    with archive:
        members = archive.infolist()
        declared = sum(m.file_size for m in members)
        for member in members:
            too_big = member.file_size > MAX_PART_BYTES or declared > MAX_TOTAL_BYTES
            bomb = member.file_size > 1024**2 and member.file_size > MAX_RATIO * max(member.compress_size, 1)
            if too_big or bomb:
                raise InputError([Problem(
                    f"part '{member.filename}' expands from {member.compress_size:,} to {member.file_size:,} bytes: "
                    "refused as a possible zip bomb", file=shown)])
        names = {m.filename for m in members}
        if "xl/workbook.xml" not in names:
            raise InputError([Problem("is a zip file but not an .xlsx workbook (no xl/workbook.xml); "
                                      "save it from Excel as .xlsx", file=shown)])

        def read(name: str) -> bytes:
            # read in bounded chunks: the actual size, not only the declared one, is checked
            chunks, total = [], 0
            try:
                with archive.open(name) as handle:
                    while chunk := handle.read(1 << 20):
                        total += len(chunk)
                        if total > MAX_PART_BYTES:
                            raise InputError([Problem(f"part '{name}' expands beyond {MAX_PART_BYTES:,} bytes: "
                                                      "refused as a possible zip bomb", file=shown)])
                        chunks.append(chunk)
            # NotImplementedError: zipfile's word for a damaged header naming an unknown zip version or method
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError, NotImplementedError) as exc:
                raise InputError([Problem(f"is damaged: part '{name}' cannot be read ({exc})", file=shown)]) from None
            data = b"".join(chunks)
            if _DTD.search(data[:4096]):
                raise InputError([Problem(
                    f"part '{name}' declares a DTD or XML entities, which no Excel workbook does: "
                    "refused (entity-expansion or external-entity attack)", file=shown)])
            return data

        for name in sorted(names):
            if name.endswith((".xml", ".rels")) and not name.startswith("xl/worksheets/"):
                read(name)
        try:
            book = SafeTree.fromstring(read("xl/workbook.xml"))
            rels = SafeTree.fromstring(read("xl/_rels/workbook.xml.rels"))
        except Exception as exc:  # defusedxml raises its own types for forbidden constructs
            raise InputError([Problem(f"is damaged: its workbook description cannot be parsed ({exc})",
                                      file=shown)]) from None
        targets = {r.get("Id"): r.get("Target", "") for r in rels}
        recalculate = any(el.tag.endswith("calcPr") and el.get("fullCalcOnLoad") in ("1", "true")
                          for el in book.iter())
        facts: dict[str, _SheetFacts] = {}
        for el in book.iter():
            if not el.tag.endswith("}sheet"):
                continue
            title = el.get("name", "")
            rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            target = targets.get(rid, "")
            part = target.lstrip("/") if target.startswith("/") else "xl/" + target
            info = _SheetFacts(title=title, hidden=el.get("state", "visible") != "visible")
            if part in names:
                _scan_sheet(read(part), info)
            facts[title] = info
            if info.max_row > EXCEL_MAX_ROWS:
                raise InputError([Problem(
                    f"has {info.max_row:,} rows, beyond Excel's limit of {EXCEL_MAX_ROWS:,}: not a valid workbook",
                    sheet=title, file=shown)])
    return facts, recalculate


def _scan_sheet(xml: bytes, info: _SheetFacts) -> None:
    root = _ROOT_PREFIX.search(xml, 0, 4096)
    prefix = (root.group(1) or b"") if root else b""
    tags = _patterns(prefix)
    for match in tags.row.finditer(xml):
        attributes = match.group(1)
        number = _ROW_NUMBER.search(attributes)
        if number:
            row = int(number.group(1))
            info.max_row = max(info.max_row, row)
            if _HIDDEN.search(attributes):
                info.hidden_rows.append(row)
    info.merged = [m.decode() for m in tags.merge.findall(xml)]
    # substring tests first: most sheets have neither error cells nor formulas, and `in` is far faster
    if (b't="e"' in xml or b"t='e'" in xml) and _ERROR_TYPE.search(xml):
        for match in tags.cell.finditer(xml):
            attributes = match.group(1)
            ref = _CELL_REF.search(attributes)
            if ref and _ERROR_TYPE.search(attributes):
                value = tags.value.search(match.group(2) or b"")
                info.errors[ref.group(1).decode()] = value.group(1).decode() if value else "#ERROR"
    if b"<" + prefix + b"f" in xml and tags.formula_tag.search(xml):
        for match in tags.cell.finditer(xml):
            body = match.group(2) or b""
            if not tags.formula_tag.search(body):
                continue
            ref = _CELL_REF.search(match.group(1))
            if not ref:
                continue
            info.formulas.append(ref.group(1).decode())
            if not tags.value_tag.search(body) or tags.empty_value.search(body):
                info.uncached_formulas.append(ref.group(1).decode())


def read_workbook(path: str | Path) -> RawWorkbook:
    """Read every worksheet of ``path`` into :class:`RawSheet` tables.

    Values come from python-calamine (a Rust reader, several times faster than
    openpyxl); what it flattens (an error cell reads as blank) comes from the
    package scan, which runs first and also guards the parser.
    Raises :class:`InputError` when the file is not a readable, safe .xlsx workbook.
    """
    import python_calamine

    path = Path(path)
    _check_container(path)
    facts, recalculate = _inspect_package(path)
    sha = file_sha256(path)
    sheets: dict[str, RawSheet] = {}
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        for title in book.sheet_names:
            grid = book.get_sheet_by_name(title).to_python(skip_empty_area=False)
            info = facts.get(title, _SheetFacts(title=title))
            sheets[title] = _sheet_from_grid(title, grid, info)
    except InputError:
        raise
    except Exception as exc:  # the reader raises its own types for damaged parts
        raise InputError([Problem(
            f"is damaged: a sheet could not be read ({type(exc).__name__}: {exc})", file=str(path))]) from None
    return RawWorkbook(path=path, sha256=sha, sheets=sheets, recalculate_on_open=recalculate)


def _cell_position(ref: str) -> tuple[int, int]:
    """'C7' -> (row 7, column index 2)."""
    letters = ref.rstrip("0123456789")
    column = 0
    for ch in letters:
        column = column * 26 + ord(ch) - 64
    return int(ref[len(letters):]), column - 1


def _sheet_from_grid(title: str, grid: list[list], info: "_SheetFacts") -> RawSheet:
    """Non-blank rows of a grid read from A1, with error cells put back as :class:`ExcelError`."""
    errors: dict[int, dict[int, ExcelError]] = {}
    for ref, code in info.errors.items():
        row, column = _cell_position(ref)
        errors.setdefault(row, {})[column] = ExcelError(code)
    rows: list[tuple[int, tuple]] = []
    for excel_row, values in enumerate(grid, start=1):
        cells = [None if v == "" else v for v in values]
        for column, error in errors.get(excel_row, {}).items():
            if column >= len(cells):
                cells.extend([None] * (column + 1 - len(cells)))
            cells[column] = error
        if any(_has_value(v) for v in cells):
            rows.append((excel_row, tuple(cells)))
    return RawSheet(title=title, rows=rows, hidden=info.hidden, hidden_rows=info.hidden_rows,
                    merged=info.merged, uncached_formulas=info.uncached_formulas, formulas=info.formulas)


def _has_value(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    return True


@dataclass
class Table:
    """An input sheet read as a table: its header row and the data rows below it.

    ``rows`` holds ``(excel_row, values)`` as :class:`RawSheet` does. ``found`` is
    False when no row named every required column and the first row was taken as
    the header. Cells :func:`read_table` refused read as blank; :meth:`is_refused`
    tells them apart from cells left blank, which are already reported.
    """

    title: str
    header_row: int
    header: tuple
    rows: list[tuple[int, tuple]]
    found: bool = True
    refused: set[tuple[int, int]] = field(default_factory=set)  # (excel_row, 0-based column index)

    def is_refused(self, row: int, index: int | None) -> bool:
        """Whether the cell at Excel ``row`` and 0-based column ``index`` was refused (and reported)."""
        return index is not None and (row, index) in self.refused


def read_table(sheet: RawSheet, required: Iterable[str], columns: Iterable[str], out: Collector, *,
               first_row_if_none: bool = False) -> Table | None:
    """The header and data rows of an input sheet, with every cell that would silently read as blank reported.

    The header is the first of the sheet's first :data:`HEADER_SEARCH_ROWS` non-blank
    rows naming every ``required`` column (names compared by :func:`normalize_name`).
    Without one, "has no header row naming ..." is reported to ``out`` and None
    returned; with ``first_row_if_none`` the first row is taken as the header
    instead (the caller then reports the missing columns). Refused, each with sheet,
    row, column and value: a data cell of one of ``columns`` inside a merged range
    (it reads blank, and a blank filter means "any") and a formula without a saved
    result (a file written by a program that does not calculate).
    """
    required, columns = tuple(required), tuple(columns)
    position = next((i for i, (_, values) in enumerate(sheet.rows[:HEADER_SEARCH_ROWS])
                     if set(required) <= {normalize_name(v) for v in values if isinstance(v, str)}), None)
    found = position is not None
    if not found:
        if not (first_row_if_none and sheet.rows):
            out.error(f"has no header row naming {', '.join(required)} in its first {HEADER_SEARCH_ROWS} "
                      f"non-blank rows (expected columns: {', '.join(columns)})", sheet.title)
            return None
        position = 0
    header_row, header = sheet.rows[position]
    table = Table(sheet.title, header_row, header, sheet.rows[position + 1:], found)
    _refuse_blank_reads(sheet, table, {normalize_name(c) for c in columns}, out)
    return table


def _refuse_blank_reads(sheet: RawSheet, table: Table, wanted: set[str], out: Collector) -> None:
    """Report, and mark refused, the data cells of the ``wanted`` columns that read blank but are not."""
    if not sheet.merged and not sheet.uncached_formulas:
        return
    labels = {index: str(value).strip() for index, value in enumerate(table.header)
              if _has_value(value) and normalize_name(str(value)) in wanted}
    values_of = dict(sheet.rows)
    data_rows = [row for row, _ in table.rows]  # ascending: the only rows a caller reads

    def value(row: int, index: int):
        values = values_of.get(row, ())
        return values[index] if index < len(values) else None

    for ref in sheet.merged:
        first, _, last = ref.partition(":")
        top, left = _cell_position(first)
        bottom, right = _cell_position(last or first)
        used = [index for index in sorted(labels) if left <= index <= right]
        start = max(top, table.header_row + 1)
        if not used or start > bottom or (start == bottom == top and used == [left]):
            continue  # no cell of a column read, below the header, other than the one holding the value
        out.error(f"merged cells {ref} in the data: unmerge them and give every row its own values",
                  table.title, start, labels[used[0]], value(top, left))
        # merged ranges do not overlap: this is bounded by the cells the sheet holds
        for row in data_rows[bisect.bisect_left(data_rows, start):bisect.bisect_right(data_rows, bottom)]:
            table.refused.update((row, index) for index in used if (row, index) != (top, left))
    for ref in sheet.uncached_formulas:
        row, index = _cell_position(ref)
        if row <= table.header_row or index not in labels or _has_value(value(row, index)):
            continue
        out.error(f"cell {ref} is a formula without a saved result (the file was written by a program that does "
                  "not calculate); open and save it in Excel, or type the value", table.title, row, labels[index])
        table.refused.add((row, index))


def _open_plan_book(path: Path):
    """The openpyxl workbook of a plan file, after the checks every file read here gets."""
    _check_container(path)
    _inspect_package(path)
    try:
        # openpyxl only reads plans back (stress --plan, diff); inputs are read with calamine, so the
        # commands that never read a plan do not pay for importing it at start-up (benchmarks/RESULTS.md)
        import openpyxl

        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError([Problem(f"cannot be opened as a plan workbook ({type(exc).__name__}: {exc})",
                                  file=str(path))]) from None


COLUMN_KEYS = "Columns"  # a plan's hidden sheet: (sheet, column, header, key) per table column


def _column_keys(book) -> dict[str, dict[int, str]]:
    """Per table sheet, the key of each column position (1-based), from the plan's hidden Columns sheet;
    {} for a plan without one (its headers are the keys)."""
    if COLUMN_KEYS not in book.sheetnames:
        return {}
    keys: dict[str, dict[int, str]] = {}
    for row in list(book[COLUMN_KEYS].iter_rows(min_row=2, values_only=True)):
        if row and len(row) >= 4 and row[0] is not None and row[1] is not None and row[3] is not None:
            keys.setdefault(str(row[0]), {})[int(row[1])] = str(row[3])
    return keys


def _keyed_header(header: tuple, keys: dict[int, str] | None) -> list:
    """A table sheet's header row with each column's key in place of its words, where the plan says it."""
    return [keys.get(position, value) if keys else value for position, value in enumerate(header, start=1)]


def _table_of(title: str) -> str:
    """The table a sheet holds: ``Allocation 2`` (a continuation sheet) holds ``Allocation``."""
    return re.sub(r" \d+$", "", title)


def read_plan_sheet(path: str | Path, title: str) -> tuple[list, list[tuple[int, tuple]]] | None:
    """``(header, [(excel_row, values)])`` of sheet ``title`` of a plan workbook, blank rows left out;
    None when the plan has no such sheet. Raises :class:`InputError` when the file is not a safe, readable .xlsx."""
    path = Path(path)
    book = _open_plan_book(path)
    try:
        if title not in book.sheetnames:
            return None
        rows = list(book[title].iter_rows(values_only=True))
        keys = _column_keys(book).get(_table_of(title))
    finally:
        book.close()
    if not rows:
        return [], []
    return _keyed_header(rows[0], keys), [(i + 2, r) for i, r in enumerate(rows[1:]) if any(v is not None for v in r)]


def summary_items(rows) -> dict:
    """A plan's Summary rows as {key: value}: by the key procure writes beside each item (its hidden "key"
    column), else by the item's label; the items end where their keys do (a table follows them)."""
    rows = iter(rows)
    header = [str(v).strip().casefold() if v is not None else "" for v in next(rows, ())]
    key_column = header.index("key") if "key" in header else None
    summary = {}
    for row in rows:
        if not row or row[0] is None:
            continue
        key = row[key_column] if key_column is not None and len(row) > key_column else None
        if key_column is not None and key is None:
            break
        summary[str(key if key is not None else row[0])] = row[1] if len(row) > 1 else None
    return summary


def read_plan_summary(path: str | Path) -> dict | None:
    """A plan's Summary as :func:`summary_items` reads it, without its other sheets; None without one."""
    path = Path(path)
    book = _open_plan_book(path)
    try:
        if "Summary" not in book.sheetnames:
            return None
        return summary_items(book["Summary"].iter_rows(values_only=True))
    finally:
        book.close()


def read_plan(path: str | Path):
    """A plan workbook written by procure: its Summary as {item: value} and its Allocation as a DataFrame."""
    import pandas as pd

    path = Path(path)
    book = _open_plan_book(path)
    try:
        if "Summary" not in book.sheetnames:
            raise InputError([Problem("is not a procure plan (no Summary sheet)", file=str(path))])
        summary = summary_items(book["Summary"].iter_rows(values_only=True))
        frames = []
        keys = _column_keys(book).get("Allocation")
        for title in book.sheetnames:  # Allocation, and its continuation sheets when split
            if title == "Allocation" or re.fullmatch(r"Allocation \d+", title):
                rows = list(book[title].iter_rows(values_only=True))
                if rows:
                    frames.append(pd.DataFrame(rows[1:], columns=_keyed_header(rows[0], keys)))
    finally:
        book.close()
    allocation = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["supplier", "country", "mineral", "period", "quantity"])
    return summary, allocation
