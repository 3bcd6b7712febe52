"""The starter project ``procure init`` writes: the bundled sample workbook and scenario files.

The package carries copies of ``inputs/sample.xlsx`` and ``models/*.toml``
(``procure/data/``); a test keeps them identical to the repository's.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from procure.errors import OutputError


def _data() -> Path:
    return Path(str(resources.files("procure") / "data"))


def bundled_sample() -> Path:
    """The sample workbook shipped inside the package."""
    return _data() / "sample.xlsx"


def bundled_models() -> list[Path]:
    return sorted((_data() / "models").glob("*.toml"))


def write_starter(directory: Path, *, force: bool = False) -> list[Path]:
    """Copy the sample and the scenarios under ``directory``; refuse to overwrite unless ``force``.

    Nothing is written when any target exists and ``force`` is off, so a
    refused init leaves the folder exactly as it was.
    """
    directory = Path(directory)
    plan = [(bundled_sample(), directory / "inputs" / "sample.xlsx")]
    plan += [(model, directory / "models" / model.name) for model in bundled_models()]
    existing = [target for _, target in plan if target.exists()]
    if existing and not force:
        names = ", ".join(str(p) for p in existing[:5]) + (", ..." if len(existing) > 5 else "")
        raise OutputError(f"{len(existing)} file(s) already exist ({names}); nothing was written. "
                          "Use --force to overwrite them")
    written = []
    for source, target in plan:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        except OSError as exc:
            raise OutputError(f"cannot write '{target}': {exc.strerror or exc}") from None
        written.append(target)
    return written
