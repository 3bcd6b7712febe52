"""The tool's version, as installed (``procure --version``, the Summary's "Tool version")."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version


@cache
def tool_version() -> str:
    """``procure X.Y.Z``; ``0+unknown`` from a source tree that was not installed."""
    try:
        return f"procure {version('procure')}"
    except PackageNotFoundError:
        return "procure 0+unknown"
