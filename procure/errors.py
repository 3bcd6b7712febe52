"""The exceptions procure raises, the one record every input check produces, and its collector.

Every error a user can cause is a :class:`ProcureError`; the command line maps
each to its exit code and prints its message, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in an input file.

    ``row`` is the row number as Excel shows it; ``column`` is the header as
    written in the workbook. ``message`` says what is expected.
    """

    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: object = None
    severity: Literal["error", "warning"] = "error"
    file: str | None = None

    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.sheet:
            parts.append(f"sheet '{self.sheet}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        shown = ""
        if self.value is not None and self.value != "":
            text = repr(self.value) if isinstance(self.value, str) else str(self.value)
            if len(text) > 80:
                text = text[:77] + "..."
            shown = f" value {text}:"
        head = f"{where}:" if where else ""
        return f"{head}{shown} {self.message}".strip()


class Collector:
    """Gathers the problems of one input file (workbook or scenario file) with their location.

    ``file`` is prefixed to each; ``sheet`` is the sheet, or for a scenario file
    the table and key (``[[shock]] #2 capacity``). Blank locations are left out.
    """

    def __init__(self, file: str | None):
        self.file = file
        self.problems: list[Problem] = []

    def error(self, message, sheet=None, row=None, column=None, value=None):
        self.problems.append(Problem(message, sheet or None, row, column, value, "error", self.file))

    def warn(self, message, sheet=None, row=None, column=None, value=None):
        self.problems.append(Problem(message, sheet or None, row, column, value, "warning", self.file))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


class ProcureError(Exception):
    """Something the user can fix; the message says what. Exit code 1 unless a subclass says otherwise."""

    exit_code = 1


class InputError(ProcureError):
    """The workbook or a scenario file has problems, listed in ``problems``; nothing was solved."""

    exit_code = 1

    def __init__(self, problems: list[Problem]):
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = [p for p in problems if p.severity == "warning"]
        count = len(self.problems)
        super().__init__(f"{count} input problem{'s' if count != 1 else ''}; nothing was solved")


class OutputError(ProcureError):
    """The plan could not be written where asked (the input itself, a locked or read-only file, a bad folder)."""

    exit_code = 1


class SolverError(ProcureError):
    """The solver failed or stopped without a plan it could prove; exit code 3."""

    exit_code = 3
