"""Files in and out, with no knowledge of what they hold: atomic writes and the TOML reader.

A file procure writes appears whole or not at all: it is written to a temporary
file beside its target and renamed over it (``os.replace``, atomic on one file
system), so a failure or an interruption leaves the previous file as it was.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from procure.errors import InputError, OutputError, Problem


def temp_file_beside(path: Path, suffix: str | None = None) -> Path:
    """Create (empty) and return a temporary file in ``path``'s folder, creating the folder if need be.

    ``suffix`` defaults to ``path``'s own. Raises :class:`OutputError` when the folder cannot be created or written.
    """
    path = Path(path)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder '{folder}' for '{path.name}': {exc.strerror or exc}") from None
    suffix = path.suffix if suffix is None else suffix
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=suffix, dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write in '{folder}': {exc.strerror or exc}") from None
    os.close(handle)
    return Path(temp_name)


def move_into_place(temp: Path, path: Path) -> None:
    """Rename ``temp`` over ``path``, first giving it a new file's mode (0o644 under the usual umask 022,
    not mkstemp's private 0o600); ``temp`` is removed if the rename fails, with an :class:`OutputError`."""
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        reason = exc.strerror or str(exc)
        raise OutputError(f"cannot replace '{path}': {reason} (is it open in Excel, or read-only?)") from None


@contextmanager
def atomic_write(path: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; on success it replaces ``path``, on failure it is removed.

    ``suffix``: the temporary file's (``path``'s own by default), for writers that go by it.
    """
    path = Path(path)
    temp = temp_file_beside(path, suffix)
    try:
        yield temp
        move_into_place(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def read_toml(path: Path, kind: str = "TOML file") -> dict:
    """The TOML document of ``path``; :class:`InputError` naming the file when it is missing, unreadable,
    not UTF-8, not valid TOML or nested too deeply. ``kind`` names the file in messages ("no such scenario file")."""
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(f"no such {kind}", file=shown)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(f"cannot be read as UTF-8 text: {exc}", file=shown)]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(f"is not valid TOML: {exc}", file=shown)]) from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise InputError([Problem(f"is nested too deeply (arrays or inline tables inside one another); "
                                  f"expected a {kind} of a few levels", file=shown)]) from None
