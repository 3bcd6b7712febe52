"""Where outputs go: their default names, and the checks made before any work starts (no pandas, no Excel writer).

:func:`check_paths` is the one check every command makes, with everything it
reads and everything it will write, before it solves anything: no output may be
an input or another output of the same run (data lost silently otherwise), nor
a folder, nor lie under a file.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from pathlib import Path

from procure.errors import OutputError

DEFAULT_OUTPUT_FOLDER = Path("outputs")
BASE_SCENARIOS = ("", "base")  # scenario names that add nothing to a file name

Labelled = tuple[str, "Path | str | None"]


MAX_STEM = 80  # characters of a name in a file name: file systems take 255 bytes a name, with the rest around it


def safe_stem(text: str) -> str:
    """``text`` as a file-name part: runs of anything but letters, digits, ``.``, ``_``, ``-`` become one ``-``,
    cut to :data:`MAX_STEM` characters (a longer name made a file name the file system refuses).

    ``"China ban / 2027"`` -> ``"China-ban-2027"``; text with nothing usable -> ``"scenario"``.
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:MAX_STEM].strip("-") or "scenario"


def default_output_path(workbook: Path, scenario: str, kind: str = "plan",
                        folder: Path = DEFAULT_OUTPUT_FOLDER) -> Path:
    """``<folder>/<workbook stem>[-<scenario>]-<kind>.xlsx`` (CLI.md); the base scenario adds no part.

    ``kind`` is ``plan`` or ``frontier``; one rule names every output of
    ``solve``, ``frontier`` and ``batch``.
    """
    suffix = "" if scenario in BASE_SCENARIOS else f"-{safe_stem(scenario)}"
    return Path(folder) / f"{Path(workbook).stem}{suffix}-{kind}.xlsx"


@functools.lru_cache(maxsize=64)
def _case_insensitive(folder: str) -> bool:
    """Whether the file system holding ``folder`` matches names ignoring case (macOS and Windows by default).

    Judged without writing anything: the nearest existing ancestor with a cased letter in its name is
    looked up under its name in the other case; the same file under both names means case is ignored.
    """
    path = Path(folder)
    while not path.exists() and path != path.parent:
        path = path.parent
    for candidate in (path, *path.parents):
        name = candidate.name
        if name != name.swapcase():
            try:
                return os.path.samefile(candidate, candidate.with_name(name.swapcase()))
            except OSError:
                return False
    return False


def _identity(path: Path) -> str:
    """The file ``path`` names: absolute, symbolic links resolved where they exist, case-folded where the
    file system ignores case (two names that would open one file have one identity)."""
    resolved = Path(os.path.abspath(path)).resolve()
    text = str(resolved)
    return text.casefold() if _case_insensitive(str(resolved.parent)) else text


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file: by identity, or as one existing file (hard links, odd mounts)."""
    if _identity(a) == _identity(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False


def _labelled(paths: Iterable, default: str) -> list[tuple[str, Path]]:
    """``(label, path)`` pairs from pairs or bare paths (labelled ``default``); None paths left out."""
    pairs = []
    for item in paths:
        label, path = item if isinstance(item, tuple) else (default, item)
        if path is not None:
            pairs.append((label, Path(path)))
    return pairs


def _not_writable_place(path: Path) -> str | None:
    """Why nothing can be written at ``path`` whatever its content: a folder is there, or a file stands
    where one of its folders should be. None when it can be tried."""
    if path.is_dir():
        return "is a folder; give a file name"
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else f"lies under '{parent}', which is a file, not a folder"
    return None


def check_paths(inputs: Iterable[Labelled | Path | str | None], outputs: Iterable[Labelled | Path | str | None]) \
        -> None:
    """Refuse, before any work, a run whose outputs would overwrite something: every path written must
    differ from every path read and from every other path written in the same run, and be a place a file
    can be written (not a folder, not under a file).

    ``inputs`` and ``outputs`` are ``(label, path)`` pairs (``("workbook", wb)``, ``("JSON", js)``) or bare
    paths; None paths are left out. Paths are compared as files: symbolic links resolved, hard links
    recognised, case ignored where the file system ignores it. Every conflict is named in one
    :class:`OutputError`.
    """
    sources = _labelled(inputs, "file")
    targets = _labelled(outputs, "output")
    problems = []
    for label, path in sources + targets:  # a name the file system refuses (too long, a NUL) cannot be compared
        try:
            _identity(path)
            path.exists()
        except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop
            problems.append(f"the {label} path '{path}' cannot be used: {getattr(exc, 'strerror', None) or exc}")
    if problems:
        raise OutputError("; ".join(problems))
    for i, (label, path) in enumerate(targets):
        reason = _not_writable_place(path)
        if reason:
            problems.append(f"the {label} path '{path}' {reason}")
        for source_label, source in sources:
            if _same_file(path, source):
                problems.append(f"the {label} path '{path}' would overwrite the input {source_label}"
                                + ("" if str(source) == str(path) else f" '{source}'")
                                + "; choose another path (inputs are never written)")
        for other_label, other in targets[:i]:
            if _same_file(path, other):
                problems.append(f"the {label} path '{path}' is also the {other_label} path"
                                + ("" if str(other) == str(path) else f" '{other}'")
                                + ": one would overwrite the other; choose distinct paths")
    if problems:
        raise OutputError("; ".join(problems))


def check_output_path(output: Path, inputs: Iterable[Labelled | Path | str | None], label: str = "plan") -> Path:
    """A workbook path (``.xlsx``) that is none of ``inputs`` (bare paths are taken as workbooks) and can
    be written: :func:`check_paths` with this one output, plus the suffix."""
    output = Path(output)
    if output.suffix.casefold() != ".xlsx":
        raise OutputError(f"the {label} path '{output}' must end in .xlsx")
    check_paths(_labelled(inputs, "workbook"), [(label, output)])
    return output


def check_folder(folder: Path, label: str = "project folder") -> Path:
    """A folder to write into: refused when a file stands at ``folder`` or where one of its parents should be."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"the {label} '{folder}' is a file, not a folder; give a folder (it is created if missing)")
    reason = _not_writable_place(folder)
    if reason and not folder.is_dir():
        raise OutputError(f"the {label} '{folder}' {reason}")
    return folder
