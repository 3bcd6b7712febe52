"""Where outputs go: their default names, and the checks made before any work starts (no pandas, no Excel writer)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from procure.errors import OutputError

DEFAULT_OUTPUT_FOLDER = Path("outputs")
BASE_SCENARIOS = ("", "base")  # scenario names that add nothing to a file name


def safe_stem(text: str) -> str:
    """``text`` as a file-name part: runs of anything but letters, digits, ``.``, ``_``, ``-`` become one ``-``.

    ``"China ban / 2027"`` -> ``"China-ban-2027"``; text with nothing usable -> ``"scenario"``.
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "scenario"


def default_output_path(workbook: Path, scenario: str, kind: str = "plan",
                        folder: Path = DEFAULT_OUTPUT_FOLDER) -> Path:
    """``<folder>/<workbook stem>[-<scenario>]-<kind>.xlsx`` (CLI.md); the base scenario adds no part.

    ``kind`` is ``plan`` or ``frontier``; one rule names every output of
    ``solve``, ``frontier`` and ``batch``.
    """
    suffix = "" if scenario in BASE_SCENARIOS else f"-{safe_stem(scenario)}"
    return Path(folder) / f"{Path(workbook).stem}{suffix}-{kind}.xlsx"


def check_output_path(output: Path, inputs: list[Path]) -> Path:
    """Refuse to write a plan over an input (also through a link or a different case of the same name)."""
    output = Path(output)
    target = output.resolve()
    for source in inputs:
        source_resolved = Path(source).resolve()
        same = target == source_resolved
        if not same and output.exists():
            try:
                same = os.path.samefile(output, source)
            except OSError:
                same = False
        if not same and str(target).casefold() == str(source_resolved).casefold() and output.exists():
            same = True
        if same:
            raise OutputError(f"the plan path '{output}' is the input workbook; "
                              "choose another path with -o (the input is never written)")
    if output.suffix.casefold() != ".xlsx":
        raise OutputError(f"the plan path '{output}' must end in .xlsx")
    if output.exists() and output.is_dir():
        raise OutputError(f"the plan path '{output}' is a folder; give a file name ending in .xlsx")
    return output


def check_json_path(path: Path, inputs: list[Path], outputs: list[Path] = ()) -> Path:
    """Refuse a JSON path that is one of the inputs, or another path the same command writes."""
    resolved = Path(path).resolve()
    if any(resolved == Path(p).resolve() for p in inputs):
        raise OutputError(f"the JSON path '{path}' is an input file; choose another path")
    if any(resolved == Path(p).resolve() for p in outputs):
        raise OutputError(f"the JSON path '{path}' is also where this command writes its workbook; "
                          "choose another path")
    return Path(path)
