"""Typed results: what kind of figure a Summary item or a table column holds.

The report gives every Summary item a key (what scripts and commands read back)
and a kind, and every table column a kind; the plan writer formats by kind and
the terminal renders by kind. Nothing reads a display label back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a figure is shown (CLI.md: money in whole dollars, shares as percentages, periods as written)."""

    MONEY = "money"  # USD, real money or units valued at reference prices: whole dollars
    OBJECTIVE = "objective"  # objective terms (spend plus penalties), never labelled USD: whole numbers
    RATE = "rate"  # USD per unit of a mineral, or per unit of a rule (prices, duals): cents kept
    QUANTITY = "quantity"  # units of one mineral
    SHARE = "share"  # 0..1, shown as a percentage
    DAYS = "days"  # whole days
    COUNT = "count"  # whole numbers (rows, offers, scenarios)
    SECONDS = "seconds"
    PERIOD = "period"  # a period or an Excel row number: as written (2027, never 2,027)
    TEXT = "text"
    FLAG = "flag"  # a yes/no fact (written as yes or no)
    NUMBER = "number"  # any other number (a limit in its own unit, an ESG score)
    FACTOR = "factor"  # a multiplier or probability typed in an input, shown as written (1.3426, never 1.343)


@dataclass(frozen=True)
class Item:
    """One Summary line: ``key`` for machines (JSON, batch, diff), ``label`` in words with its unit."""

    key: str
    label: str
    value: object
    kind: Kind = Kind.TEXT
