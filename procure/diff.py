"""What changed between two plans (``procure diff``): headline figures and the allocations that moved most.

Allocations are matched by supplier, origin country, mineral and period (a
planner's key: offer row numbers may shift between workbook versions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from procure.workbook import read_plan

FIGURES = (("objective_usd", "cost (objective, USD)"), ("spend_usd", "spend (USD)"),
           ("shortfall_total", "shortfall (units)"), ("china_share_overall", "China share"))
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


def diff_plans(plan_a: Path, plan_b: Path, top: int = 20) -> PlanDiff:
    summary_a, allocation_a = read_plan(plan_a)
    summary_b, allocation_b = read_plan(plan_b)
    figures = []
    for key, label in FIGURES:
        a, b = _number(summary_a.get(key)), _number(summary_b.get(key))
        figures.append({"figure": label, "plan_a": a, "plan_b": b, "change": b - a})
    figures = pd.DataFrame(figures)
    moves = _moves(allocation_a, allocation_b, top)
    notes = []
    if summary_a.get("input_sha256") != summary_b.get("input_sha256"):
        notes.append("the plans come from different input workbooks")
    if summary_a.get("scenario") != summary_b.get("scenario"):
        notes.append(f"scenarios differ: {summary_a.get('scenario')} -> {summary_b.get('scenario')}")
    return PlanDiff(figures, moves, (str(summary_a.get("status", "")), str(summary_b.get("status", ""))), notes)


def _grouped(allocation: pd.DataFrame) -> pd.DataFrame:
    if allocation.empty:
        return pd.DataFrame(columns=KEY + ["quantity"]).set_index(KEY)
    frame = allocation[KEY + ["quantity"]].copy()
    frame["period"] = frame["period"].astype(str)
    frame["quantity"] = pd.to_numeric(frame["quantity"], errors="coerce").fillna(0.0)
    return frame.groupby(KEY, sort=True)["quantity"].sum().to_frame()


def _moves(a: pd.DataFrame, b: pd.DataFrame, top: int) -> pd.DataFrame:
    joined = _grouped(a).merge(_grouped(b), how="outer", left_index=True, right_index=True,
                               suffixes=("_a", "_b")).fillna(0.0)
    joined["change"] = joined["quantity_b"] - joined["quantity_a"]
    scale = np.maximum(1.0, np.maximum(joined["quantity_a"].abs(), joined["quantity_b"].abs()))
    moved = joined[joined["change"].abs() > MOVE_TOL * scale].copy()
    moved["size"] = moved["change"].abs()
    moved = moved.sort_values(["size"] + KEY, ascending=[False] + [True] * len(KEY), kind="stable").head(top)
    moved = moved.reset_index().rename(columns={"quantity_a": "before", "quantity_b": "after"})
    return moved[KEY + ["before", "after", "change"]]
