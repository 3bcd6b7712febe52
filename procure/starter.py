"""The starter project ``procure init`` writes: the two bundled sample workbooks and the scenario files.

The package carries copies of ``inputs/sample.xlsx`` (the reserve program, the
default workbook of ``procure solve`` and ``procure stress``),
``inputs/imports.xlsx`` (the national import plan) and ``models/*.toml`` (the
import plan's scenarios) in ``procure/data/``; a test keeps them identical to
the repository's.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from procure.errors import OutputError
from procure.files import atomic_write


def _data() -> Path:
    return Path(str(resources.files("procure") / "data"))


def bundled_sample() -> Path:
    """The reserve-program sample workbook shipped inside the package (the default workbook)."""
    return _data() / "sample.xlsx"


def bundled_imports() -> Path:
    """The national import plan workbook shipped inside the package."""
    return _data() / "imports.xlsx"


def bundled_models() -> list[Path]:
    """The import plan's scenario files shipped inside the package, sorted by name."""
    return sorted((_data() / "models").glob("*.toml"))


def starter_files(directory: Path) -> list[tuple[Path, Path]]:
    """(bundled file, target under ``directory``) for everything ``procure init`` writes, in order."""
    directory = Path(directory)
    plan = [(bundled_sample(), directory / "inputs" / "sample.xlsx"),
            (bundled_imports(), directory / "inputs" / "imports.xlsx")]
    plan += [(model, directory / "models" / model.name) for model in bundled_models()]
    return plan


def write_starter(directory: Path, *, force: bool = False) -> list[Path]:
    """Copy the samples and the scenarios under ``directory``; refuse to overwrite unless ``force``.

    Nothing is written when any target exists and ``force`` is off, so a
    refused init leaves the folder exactly as it was. Each file is written to a
    temporary name beside its target and renamed into place, so an interrupted
    init never leaves a truncated workbook.
    """
    plan = starter_files(directory)
    existing = [target for _, target in plan if target.exists()]
    if existing and not force:
        names = ", ".join(str(p) for p in existing[:5]) + (", ..." if len(existing) > 5 else "")
        raise OutputError(f"{len(existing)} file(s) already exist ({names}); nothing was written. "
                          "Use --force to overwrite them")
    written = []
    for source, target in plan:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(target) as temporary:
                shutil.copyfile(source, temporary)
        except OSError as exc:
            raise OutputError(f"cannot write '{target}': {exc.strerror or exc}") from None
        written.append(target)
    return written
