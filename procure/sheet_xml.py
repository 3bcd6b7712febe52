"""The data rows of long sheets, generated as sheet XML: the plan writer's fast path.

Why: a national plan has millions of cells. XlsxWriter writes them one Python
call at a time; even in its ``constant_memory`` mode with ``write_row`` it was
measured several times slower than this module (issue 9; see benchmarks/RESULTS.md),
so the data rows are generated here, a column at a time, and the rest of the
workbook (Summary, formats, header rows, frozen panes, filters, charts) stays
with XlsxWriter.

How the two meet, using only what ECMA-376 Part 1 documents (no XlsxWriter internals):

1. :mod:`procure.plan` lets XlsxWriter write each table sheet as a *template*:
   the header row, each column's width and number format (``set_column``), the
   frozen pane and the autofilter: everything but the data rows.
2. After XlsxWriter has closed the file, :func:`fill_sheets` copies the package
   into a new zip and writes each template sheet as a complete new part: the
   template's elements in their order, with ``<dimension>`` widened to the data
   and ``<sheetData>`` holding the template's header row and then the data rows.
   - The part of a sheet is found from ``xl/workbook.xml`` (``<sheet name r:id>``)
     and ``xl/_rels/workbook.xml.rels`` (the relationship's ``Target``).
   - A data cell's style is its column's ``<col style>`` in the template (the
     index into ``cellXfs`` of ``xl/styles.xml`` that XlsxWriter gave the
     column's format), so the cell shows the column's number format.
3. Parts are written with zip64 headers only when they may pass 4 GiB
   (:meth:`EncodedTable.size_bound`): readers such as SheetJS refuse zip64 local headers
   on ordinary parts.

4. Text goes into the workbook's shared string table (the part the workbook's
   relationship of type ``sharedStrings`` names; XlsxWriter's, holding the
   headers): each distinct text once, after the template's own strings, and a
   cell refers to it by position (``t="s"``). A national plan repeats a few
   thousand names over millions of cells: the 160k benchmark plan's sheets were
   measured markedly smaller (benchmarks/RESULTS.md), and there is that much less to compress. Text in a
   column of mixed values, or in a template without such a part, is written inline in
   the cell (``t="inlineStr"``).

Cell values: numbers as ``<v>`` (shortest repr), NaN and infinities blank,
booleans ``t="b"``, text a shared or inline string (never a formula: ``=1+1``
stays that text) with XML metacharacters escaped and characters XML cannot hold
(controls except tab and newline) written as ECMA-376's ``_xHHHH_`` escape, as
XlsxWriter and Excel do; a literal ``_xHHHH_`` in the text is protected as
``_x005F_xHHHH_``. Empty text is a blank cell. Cells carry no ``r`` reference: in
a row written cell by cell from column A, position gives the column (``r`` is
optional), which makes the XML a third smaller.
"""

from __future__ import annotations

import math
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from procure.workbook import EXCEL_MAX_ROWS, column_letter  # noqa: F401  (the one definition; re-exported for the writer)

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHARED_STRINGS_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
# prefixes for the namespaces a worksheet part may use (ECMA-376 and Excel's extensions)
_PREFIXES = {
    MAIN_NS: "",
    DOC_REL_NS: "r",
    "http://schemas.openxmlformats.org/markup-compatibility/2006": "mc",
    "http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac": "x14ac",
    "http://schemas.microsoft.com/office/spreadsheetml/2014/revision": "xr",
    "http://www.w3.org/XML/1998/namespace": "xml",
}
ROWS_PER_BLOCK = 20_000  # rows generated (and compressed) at a time: bounded memory for long sheets
ZIP64_LIMIT_BYTES = zipfile.ZIP64_LIMIT  # 2**31 - 1: zipfile's threshold for needing zip64 sizes
COMPRESS_LEVEL = 1  # zlib level: sheets of numbers compress well already at 1, and 1 is several times faster


@dataclass(frozen=True)
class SheetRows:
    """The data rows of one sheet: ``table`` goes below the sheet's header, from Excel row 2."""

    sheet_name: str
    table: pd.DataFrame


# --- cell text -------------------------------------------------------------------------------------

_NOT_IN_XML = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")  # tab (09) and newline (0a) are kept as they are
_LOOKS_ESCAPED = re.compile("_x[0-9A-Fa-f]{4}_")


def xml_text(text: str) -> str:
    """``text`` as the content of an XML element holding an Excel string (see the module docstring)."""
    text = _LOOKS_ESCAPED.sub(lambda m: "_x005F" + m.group(0), text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _NOT_IN_XML.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def _string_item(text: str) -> str:
    """A non-empty text as the ``<t>`` element of a string item (inline or shared)."""
    # xml:space="preserve" only on text with whitespace at an edge, where a reader may trim it (XlsxWriter
    # writes its strings the same way)
    space = ' xml:space="preserve"' if text[0] in _EDGE_SPACE or text[-1] in _EDGE_SPACE else ""
    return f"<t{space}>{xml_text(text)}</t>"


def _text_cell(text: str) -> str:
    return f'<c t="inlineStr"><is>{_string_item(text)}</is></c>' if text else "<c/>"


class SharedStrings:
    """The workbook's shared string table being extended: the template's items first, unchanged, then
    each distinct text of the data rows once. ``count`` is the number of cells that refer to it."""

    def __init__(self, part: bytes):
        root = ET.fromstring(part)
        self._template_items = [element_xml(item) for item in root.iter(f"{{{MAIN_NS}}}si")]
        self.count = int(root.get("count", len(self._template_items)))
        self._position: dict[str, int] = {}
        self._added: list[str] = []

    def cells(self, texts: list[str]) -> list[str]:
        """The cell referring to each of ``texts`` (distinct), adding the new ones; empty text is a blank."""
        cells = []
        for text in texts:
            if not text:
                cells.append("<c/>")
                continue
            position = self._position.get(text)
            if position is None:
                position = self._position[text] = len(self._template_items) + len(self._added)
                self._added.append(text)
            cells.append(f'<c t="s"><v>{position}</v></c>')
        return cells

    def xml(self) -> bytes:
        items = len(self._template_items) + len(self._added)
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN_NS}" '
                f'count="{self.count}" uniqueCount="{items}">' + "".join(self._template_items)
                + "".join(f"<si>{_string_item(text)}</si>" for text in self._added) + "</sst>").encode()


_EDGE_SPACE = frozenset(" \t\n\r")
_ROW_TAGS_BYTES = len('</row><row r="1048576">')  # the tags around a row, at their widest
_NUMBER_CELL_BYTES = len('<c s="65535"><v></v></c>') + 24  # a float's repr is at most 24 characters


def _number_cells(numbers: np.ndarray, style: int) -> list[str]:
    head = f'<c s="{style}"><v>'
    return [head + repr(v) + "</v></c>" if math.isfinite(v) else "<c/>" for v in numbers.tolist()]


def _mixed_cells(values: list, style: int) -> list[str]:
    """Cells of an object column holding anything (numbers, booleans, text, blanks), one by one."""
    cells = []
    for value in values:
        if value is None or (isinstance(value, float) and not math.isfinite(value)) or value is pd.NA:
            cells.append("<c/>")
        elif isinstance(value, (bool, np.bool_)):
            cells.append(f'<c t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, (int, float, np.integer, np.floating)):
            number = float(value)
            cells.append(f'<c s="{style}"><v>{number!r}</v></c>' if math.isfinite(number) else "<c/>")
        else:
            cells.append(_text_cell(str(value)))
    return cells


@dataclass(frozen=True)
class _Column:
    """One column ready to write. Either a dictionary (``cells[codes[i]]`` is row i's cell XML: numbers
    and names that repeat are formatted and escaped once; a column of mixed values has one cell per row)
    or, for numbers that hardly repeat, the raw ``numbers`` formatted block by block (so a long column's
    XML is never held whole)."""

    style: int
    cells: np.ndarray | None = None  # object array of cell XML
    codes: np.ndarray | None = None  # per row, an index into cells
    numbers: np.ndarray | None = None  # float, when not a dictionary

    def block(self, start: int, stop: int) -> np.ndarray | list[str]:
        if self.cells is not None:
            return self.cells[self.codes[start:stop]]
        return _number_cells(self.numbers[start:stop], self.style)

    def widest_cell_bytes(self) -> int:
        if self.cells is None:
            return _NUMBER_CELL_BYTES
        cells = self.cells.tolist()
        if all(map(str.isascii, cells)):  # one byte a character (the usual case: checked without encoding)
            return max(map(len, cells), default=0)
        return max((len(cell.encode()) for cell in cells), default=0)


def _column(values: pd.Series, style: int, strings: SharedStrings | None = None) -> _Column:
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        codes, uniques = pd.factorize(numbers)  # NaN gets code -1, which picks the blank at the end
        if len(uniques) * 2 >= len(numbers):  # mostly distinct: a dictionary would cost more than it saves
            return _Column(style, numbers=numbers)
        return _Column(style, cells=np.array(_number_cells(uniques, style) + ["<c/>"], dtype=object), codes=codes)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        # factorized as plain objects: half the time of pandas' string array path; blanks get code -1
        codes, uniques = pd.factorize(values.to_numpy(dtype=object), sort=False)
        texts = uniques.tolist()
        if strings is None:
            cells = [_text_cell(text) for text in texts]
        else:
            cells = strings.cells(texts)
            referring = np.bincount(codes[codes >= 0], minlength=len(texts))
            strings.count += int(referring[[i for i, text in enumerate(texts) if text]].sum())
        return _Column(style, cells=np.array(cells + ["<c/>"], dtype=object), codes=codes)
    cells = _mixed_cells(values.tolist(), style)  # formatted once: for the size bound and for the rows
    return _Column(style, cells=np.array(cells, dtype=object), codes=np.arange(len(cells)))


class EncodedTable:
    """A table's rows as sheet XML, made block by block: each column is looked at once (see
    :class:`_Column`), so a part's size is bounded before its first byte is written."""

    def __init__(self, table: pd.DataFrame, styles: Sequence[int], strings: SharedStrings | None = None):
        self.rows = len(table)
        self.columns = [_column(table.iloc[:, c], styles[c], strings) for c in range(len(table.columns))]

    def size_bound(self) -> int:
        """An upper bound, in bytes, of the XML of all the rows: per row its tags and, per column, the
        widest cell the column holds."""
        return 1024 + self.rows * (_ROW_TAGS_BYTES + sum(c.widest_cell_bytes() for c in self.columns))

    def xml(self, start: int, stop: int, first_row: int) -> bytes:
        """``<row>`` elements of rows ``start:stop``, the first of them Excel row ``first_row``.

        The cells go into a rows x (1 + columns) object array whose first column holds each row's
        opening tag (with the previous row's closing tag before it), so one ``str.join`` over the
        flattened array writes the block: no Python-level work per row or per cell.
        """
        count = min(stop, self.rows) - start
        if count <= 0:
            return b""
        grid = np.empty((count, len(self.columns) + 1), dtype=object)
        grid[:, 0] = [f'</row><row r="{r}">' for r in range(first_row, first_row + count)]
        grid[0, 0] = f'<row r="{first_row}">'
        for c, column in enumerate(self.columns):
            grid[:, c + 1] = column.block(start, start + count)
        return ("".join(grid.ravel().tolist()) + "</row>").encode()


def rows_xml(table: pd.DataFrame, styles: Sequence[int], first_row: int = 2) -> bytes:
    """``<row>`` elements for all of ``table`` from Excel row ``first_row``."""
    return EncodedTable(table, styles).xml(0, len(table), first_row)


# --- the package --------------------------------------------------------------------------------------

def _part_name(target: str) -> str:
    """A relationship target of the workbook part as a part name in the package."""
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


def _workbook_relations(package: zipfile.ZipFile) -> list[ET.Element]:
    relations = ET.fromstring(package.read("xl/_rels/workbook.xml.rels"))
    return list(relations.iter(f"{{{PACKAGE_REL_NS}}}Relationship"))


def sheet_parts(package: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part's name in ``package`` (from the workbook part and its relationships)."""
    workbook = ET.fromstring(package.read("xl/workbook.xml"))
    targets = {rel.get("Id"): rel.get("Target") for rel in _workbook_relations(package)}
    return {sheet.get("name"): _part_name(targets[sheet.get(f"{{{DOC_REL_NS}}}id")])
            for sheet in workbook.iter(f"{{{MAIN_NS}}}sheet")}


def shared_strings_part(package: zipfile.ZipFile) -> str | None:
    """The name of the workbook's shared string table part, if it has one."""
    for rel in _workbook_relations(package):
        if rel.get("Type") == SHARED_STRINGS_TYPE:
            return _part_name(rel.get("Target"))
    return None


def _name(tag: str) -> str:
    if tag.startswith("{"):
        namespace, local = tag[1:].split("}", 1)
        prefix = _PREFIXES[namespace]  # a KeyError here is a namespace this module has not met: a bug to fix
        return f"{prefix}:{local}" if prefix else local
    return tag


def _attribute(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;"))


def _text(value: str | None) -> str:
    return "" if not value else value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def element_xml(element: ET.Element) -> str:
    """An element of a parsed part written back, with the prefixes of :data:`_PREFIXES`."""
    name = _name(element.tag)
    attributes = "".join(f' {_name(key)}="{_attribute(value)}"' for key, value in element.attrib.items())
    inner = _text(element.text) + "".join(element_xml(child) for child in element)
    body = f"<{name}{attributes}/>" if not inner else f"<{name}{attributes}>{inner}</{name}>"
    return body + _text(element.tail)


def column_styles(template: bytes, columns: int) -> list[int]:
    """Each column's style (its ``<col style>`` in the template sheet; 0 where none is set)."""
    styles = [0] * columns
    for col in ET.fromstring(template).iter(f"{{{MAIN_NS}}}col"):
        for index in range(int(col.get("min")) - 1, min(int(col.get("max")), columns)):
            styles[index] = int(col.get("style", 0))
    return styles


def _worksheet_parts(template: bytes, rows: SheetRows, encoded: EncodedTable, rows_per_block: int) \
        -> Iterator[bytes]:
    """The complete worksheet part: the template's elements, its dimension widened to the data, its
    sheetData followed by the generated rows."""
    root = ET.fromstring(template)
    columns = len(rows.table.columns)
    namespaces = " ".join(f'xmlns{":" + p if p else ""}="{ns}"' for ns, p in _PREFIXES.items() if p != "xml")
    own = "".join(f' {_name(k)}="{_attribute(v)}"' for k, v in root.attrib.items())
    yield f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {namespaces}{own}>'.encode()
    for child in root:
        if child.tag == f"{{{MAIN_NS}}}dimension":
            child.set("ref", f"A1:{column_letter(max(columns, 1) - 1)}{len(rows.table) + 1}")
        if child.tag != f"{{{MAIN_NS}}}sheetData":
            yield element_xml(child).encode()
            continue
        yield b"<sheetData>" + "".join(element_xml(row) for row in child).encode()
        for start in range(0, encoded.rows, rows_per_block):
            yield encoded.xml(start, start + rows_per_block, start + 2)
        yield b"</sheetData>" + _text(child.tail).encode()
    yield b"</worksheet>"


def fill_sheets(path: Path, sheets: Sequence[SheetRows], rows_per_block: int = ROWS_PER_BLOCK) -> None:
    """Put the rows of ``sheets`` into the closed workbook at ``path`` (rewritten once, beside it, then
    renamed over it). The rows are generated and compressed block by block, so memory stays bounded
    however long the table.

    One thread does it all: compressing block n in a second thread while block n + 1 was built was
    measured slower (the 160k benchmark's plan; see benchmarks/RESULTS.md), the two threads trading
    the GIL more than they overlapped.

    Raises OSError when the file cannot be read or written; anything else is a bug.
    """
    wanted = {s.sheet_name: s for s in sheets if len(s.table) and len(s.table.columns)}
    if not wanted:
        return
    path = Path(path)
    rebuilt = path.with_name(path.name + ".rows")
    try:
        with zipfile.ZipFile(path) as source, \
                zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as target:
            by_part = {part: wanted[name] for name, part in sheet_parts(source).items() if name in wanted}
            missing = set(wanted) - {s.sheet_name for s in by_part.values()}
            if missing:
                raise ValueError(f"no sheet named {sorted(missing)} in the workbook being filled")
            strings_part = shared_strings_part(source)
            strings = SharedStrings(source.read(strings_part)) if strings_part else None
            # every table is encoded before any part is written: the string table must be complete when written
            encoded_of = {part: EncodedTable(rows.table, column_styles(source.read(part), len(rows.table.columns)),
                                             strings)
                          for part, rows in by_part.items()}
            for item in source.infolist():
                content = source.read(item.filename)
                if item.filename == strings_part:
                    content = strings.xml()
                if item.filename not in by_part:
                    target.writestr(item, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
                    continue
                rows = by_part[item.filename]
                encoded = encoded_of[item.filename]
                info = zipfile.ZipInfo(item.filename, date_time=item.date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                info._compresslevel = COMPRESS_LEVEL  # public as ``compress_level`` from Python 3.13
                huge = encoded.size_bound() + len(content) > ZIP64_LIMIT_BYTES
                with target.open(info, "w", force_zip64=huge) as stream:
                    for block in _worksheet_parts(content, rows, encoded, rows_per_block):
                        stream.write(block)
        rebuilt.replace(path)
    finally:
        rebuilt.unlink(missing_ok=True)
