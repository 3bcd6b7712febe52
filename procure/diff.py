"""What changed between two plans (``procure diff``): headline figures and the allocations that moved most.

Allocations are matched by supplier, origin country, mineral and period (a
planner's key: offer row numbers may shift between workbook versions). Moves
are ranked by value (the change in quantity at the allocation's price, USD),
never by quantity: quantities of different minerals do not compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from procure import fmt
from procure.errors import InputError, Problem
from procure.workbook import read_plan, read_plan_summary

# Summary items compared, by the key procure writes beside each (procure.report.summary_items), and the
# words shown for each; a plan of several scenarios gives expectations
FIGURES = {"spend": "Spend (USD)", "shortfall_usd": "Shortfall value (USD at reference prices)",
           "objective": "Objective (spend plus penalty terms)", "china_share": "China share of purchases (by value)"}
KEY = ["supplier", "country", "mineral", "period"]
MOVE_TOL = 1e-9


@dataclass
class PlanDiff:
    figures: pd.DataFrame
    moves: pd.DataFrame
    statuses: tuple[str, str] = ("", "")
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.moves.empty and bool((self.figures["change"].fillna(0).abs() <= MOVE_TOL).all())

    def to_json(self) -> dict:
        def clean(records):
            return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                    for r in records]

        return {"status_a": self.statuses[0], "status_b": self.statuses[1],
                "figures": clean(self.figures.to_dict("records")), "moves": clean(self.moves.to_dict("records")),
                "notes": self.notes}


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


PLAN_KEYS = ("status", "input_sha256")  # Summary keys every plan procure writes holds (a stress workbook has none)


def _require_plan(summary: dict, path: Path) -> None:
    """Refuse a workbook that is not a plan (a stress or frontier workbook, a plan from before Summary
    keys): compared, every figure would read '-' and the answer would say nothing."""
    missing = [key for key in PLAN_KEYS if key not in summary]
    if missing:
        raise InputError([Problem("is not a plan written by procure solve (its Summary has no "
                                  + " or ".join(missing) + " key: a stress or frontier workbook, or another file); "
                                  "give two plan workbooks", file=str(path))])


def plan_summary(path: Path) -> dict:
    """A plan's Summary as {key: value} (the keys procure writes beside each item), read without its other
    sheets; :class:`InputError` naming the file when it is not a plan."""
    summary = read_plan_summary(path) or {}
    _require_plan(summary, Path(path))
    return summary


def _read(path: Path, problems: list[Problem]):
    """A plan's Summary and Allocation, or ({}, None) with its problems added to ``problems``."""
    try:
        summary, allocation = read_plan(path)
        _require_plan(summary, Path(path))
    except InputError as exc:
        problems += exc.problems
        return {}, None
    return summary, allocation


def diff_plans(plan_a: Path, plan_b: Path, top: int = 20) -> PlanDiff:
    problems: list[Problem] = []  # both files checked before either is refused: every problem at once
    summary_a, allocation_a = _read(plan_a, problems)
    summary_b, allocation_b = _read(plan_b, problems)
    if problems:
        raise InputError(problems)
    figures = []
    for key, label in FIGURES.items():
        a, b = _number(summary_a.get(key)), _number(summary_b.get(key))
        figures.append({"figure": label, "key": key, "plan_a": a, "plan_b": b, "change": b - a})
    figures = pd.DataFrame(figures)
    moves = _moves(allocation_a, allocation_b, top)
    notes = []
    if summary_a.get("input_sha256") != summary_b.get("input_sha256"):
        notes.append("the plans come from different input workbooks")
    if summary_a.get("scenario") != summary_b.get("scenario"):
        notes.append(f"scenarios differ: {summary_a.get('scenario')} -> {summary_b.get('scenario')}")
    for name, summary in (("A", summary_a), ("B", summary_b)):
        if summary.get("scenarios") is not None:
            notes.append(f"plan {name} is a stochastic plan of {summary.get('scenarios')} scenarios: its figures are "
                         "expectations and its purchases are weighted by their decision node's probability")
    return PlanDiff(figures, moves, (str(summary_a.get("status", "")), str(summary_b.get("status", ""))), notes)


def _grouped(allocation: pd.DataFrame) -> pd.DataFrame:
    """Quantity and value (USD) bought per key; periods as written."""
    if allocation.empty:
        return pd.DataFrame(columns=KEY + ["unit", "quantity", "price_usd"]).set_index(KEY)
    frame = allocation[KEY].copy()
    frame["period"] = frame["period"].map(fmt.period)
    frame["unit"] = allocation["unit"].astype(str) if "unit" in allocation else ""
    # a stochastic plan's Allocation holds one row per decision node: weighted by its probability
    weight = (pd.to_numeric(allocation["probability"], errors="coerce").fillna(0.0)
              if "probability" in allocation else 1.0)
    frame["quantity"] = pd.to_numeric(allocation["quantity"], errors="coerce").fillna(0.0) * weight
    cost = allocation["cost_usd"] if "cost_usd" in allocation else pd.Series(0.0, index=allocation.index)
    frame["cost"] = pd.to_numeric(cost, errors="coerce").fillna(0.0) * weight
    grouped = frame.groupby(KEY, sort=True).agg(unit=("unit", "first"), quantity=("quantity", "sum"),
                                                cost=("cost", "sum"))
    grouped["price_usd"] = grouped["cost"] / grouped["quantity"].where(grouped["quantity"] != 0)
    return grouped[["unit", "quantity", "price_usd"]]


def _moves(a: pd.DataFrame, b: pd.DataFrame, top: int) -> pd.DataFrame:
    """The ``top`` allocations whose value changed most: (after - before) x price, USD."""
    joined = _grouped(a).merge(_grouped(b), how="outer", left_index=True, right_index=True, suffixes=("_a", "_b"))
    joined["unit"] = joined["unit_a"].fillna(joined["unit_b"])
    joined[["quantity_a", "quantity_b"]] = joined[["quantity_a", "quantity_b"]].fillna(0.0)
    price = joined["price_usd_b"].fillna(joined["price_usd_a"]).fillna(0.0)
    joined["change"] = joined["quantity_b"] - joined["quantity_a"]
    joined["value_change_usd"] = joined["change"] * price
    scale = np.maximum(1.0, np.maximum(joined["quantity_a"].abs(), joined["quantity_b"].abs()))
    moved = joined[joined["change"].abs() > MOVE_TOL * scale].copy()
    moved["size"] = moved["value_change_usd"].abs()
    moved = moved.sort_values(["size"] + KEY, ascending=[False] + [True] * len(KEY), kind="stable").head(top)
    moved = moved.reset_index().rename(columns={"quantity_a": "before", "quantity_b": "after"})
    return moved[KEY + ["unit", "before", "after", "change", "value_change_usd"]]
