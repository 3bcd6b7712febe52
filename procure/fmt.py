"""How figures are written for people (terminal, sentences): money, quantities, shares, periods.

CLI.md: no scientific notation; thousands separators on quantities and
money, never on periods; money in whole dollars (compact in sentences).
"""

from __future__ import annotations

import math


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def usd(value) -> str:
    """Whole dollars with separators: ``$1,234,567``; ``-`` when missing."""
    if _missing(value):
        return "-"
    value = float(value)
    text = f"${abs(value):,.0f}"
    return f"-{text}" if value < 0 and text != "$0" else text


def usd_compact(value) -> str:
    """``$1.23 billion``, ``$45.6 million``, ``$12,345`` (for sentences)."""
    if _missing(value):
        return "-"
    value = float(value)
    sign = "-" if value < 0 else ""
    size = abs(value)
    if size >= 1e9:
        return f"{sign}${size / 1e9:,.3g} billion"
    if size >= 1e6:
        return f"{sign}${size / 1e6:,.3g} million"
    return f"{sign}${size:,.0f}"


def quantity(value) -> str:
    """A quantity in its mineral's unit: ``104,213``, ``12.5``, ``0.004``; never scientific."""
    if _missing(value):
        return "-"
    value = float(value)
    if value == 0:
        return "0"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    decimals = min(12, 2 - int(math.floor(math.log10(size))))  # three significant digits
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def share(value, digits: int = 1) -> str:
    """``30.0%``; ``-`` when missing."""
    return "-" if _missing(value) else f"{float(value):.{digits}%}"


def period(value) -> str:
    """A period as written: ``2027`` (never ``2,027`` or ``2027.0``), ``2027-Q1``."""
    if _missing(value):
        return "-"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def period_span(indices: list[int], periods: list) -> str:
    """The periods at ``indices`` (ascending) of ``periods``: ``2027-2031`` for a consecutive run,
    ``2027, 2029`` otherwise (``2027-Q1 to 2027-Q4`` when labels hold a dash)."""
    texts = [period(periods[i]) for i in indices]
    if len(texts) > 2 and list(indices) == list(range(indices[0], indices[-1] + 1)):
        joiner = " to " if any("-" in t for t in texts) else "-"
        return f"{texts[0]}{joiner}{texts[-1]}"
    return ", ".join(texts)
