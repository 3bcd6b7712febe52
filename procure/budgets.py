"""What the program buys at each horizon budget (CLI.md, ``procure frontier --budgets``).

One solve per horizon budget ``B`` (Policy ``budget_total``, FORMULATION.md
constraint 9), the plan re-solved whole (for a stochastic plan, its extensive
form). With HiGHS the sweep is warm: the program is built once with a budget
row, and each point only moves that row's upper bound to ``B - committed``
(the fixed costs of agreements already signed) and re-solves from the last
basis. Each point reports money only: spend, shortfall value and reserve-gap
value (USD at reference prices), for a stochastic plan as expectations and the
worst scenario's shortfall value, and what the last step of budget bought:
``marginal = (shortfall value at the previous budget - shortfall value here) /
(this budget - the previous one)``, USD of shortfall value saved per USD of
budget.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable

import numpy as np

from procure.extensive import ExtensiveForm
from procure.families import BUDGET_TOTAL
from procure.figures import expected_figures, worst_shortfall_usd
from procure.outcome import build_form
from procure.result import Solution, SolveOptions
from procure.solve import solve
from procure.stochastic import Fan
from procure.sweep import WarmModel, supports

MAX_POINTS = 1000  # a frontier of more points is refused before anything is solved


@dataclass
class BudgetPoint:
    """One point of the budget frontier: money in USD, the objective (spend plus penalties) apart."""

    budget: float
    status: str
    spend_usd: float | None = None
    shortfall_value_usd: float | None = None
    reserve_gap_value_usd: float | None = None
    objective: float | None = None
    china_share: float | None = None
    worst_shortfall_usd: float | None = None  # the largest scenario shortfall value (stochastic plans)
    marginal: float | None = None  # shortfall value saved per extra USD of budget since the previous point

    def to_json(self, stochastic: bool) -> dict:
        """CLI.md's keys (``objective`` never named USD)."""
        doc = {"budget": self.budget, "status": self.status, "spend": self.spend_usd,
               "shortfall_usd": self.shortfall_value_usd, "reserve_gap_usd": self.reserve_gap_value_usd,
               "objective": self.objective, "china_share": self.china_share, "marginal": self.marginal}
        if stochastic:
            doc["worst_shortfall_usd"] = self.worst_shortfall_usd
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in doc.items()}


def parse_budgets(text: str) -> list[float]:
    """``6e9:18e9:1e9`` (start:stop:step, inclusive) or a list ``8e9,12e9,15e9``; USD, each >= 0."""
    text = text.strip()
    shown = f"--budgets '{text}'"
    try:
        if ":" in text:
            start, stop, step = (float(p) for p in text.split(":"))
            if not all(np.isfinite([start, stop, step])):
                raise ValueError("every figure must be a finite number of USD")
            if step <= 0:
                raise ValueError("the step must be > 0")
            if start > stop:
                raise ValueError("the start must not exceed the stop")
            count = int(np.floor((stop - start) / step + 1e-9)) + 1
            if count > MAX_POINTS:
                raise ValueError(f"that is {count:,} points; at most {MAX_POINTS:,}")
            budgets = [start + i * step for i in range(count)]
        else:
            budgets = [float(p) for p in text.split(",") if p.strip()]
    except ValueError as exc:
        raise ValueError(f"{shown}: expected start:stop:step in USD (e.g. 6e9:18e9:1e9) or a list "
                         f"(8e9,12e9,15e9): {exc}") from None
    if not budgets or any(not (np.isfinite(b) and b >= 0) for b in budgets):
        raise ValueError(f"{shown}: expected budgets in USD, each 0 or more")
    if len(budgets) > MAX_POINTS:
        raise ValueError(f"{shown}: {len(budgets):,} points; at most {MAX_POINTS:,}")
    return sorted(set(budgets))


def _with_budget(fan: Fan, budget: float) -> Fan:
    """``fan`` with every scenario's horizon budget set to ``budget`` (USD)."""
    return fan.changed(lambda inst: replace(inst, policy=replace(inst.policy, budget_total=budget)))


def budget_frontier(fan: Fan, budgets: Iterable[float], options: SolveOptions, strict: bool = False,
                    progress: Callable[[float], None] | None = None, *, warm: bool = True) -> list[BudgetPoint]:
    """One solve per horizon budget, in increasing order (see the module docstring)."""
    options, budgets = options.started(), sorted(budgets)
    if not budgets:
        return []
    template = _with_budget(fan, budgets[0])
    form = build_form(template, strict=strict)
    block = form.program.rows.get(BUDGET_TOTAL.name)
    rows = np.arange(block.start, block.stop) if block is not None else np.zeros(0, dtype=np.int64)
    committed = block.meta["committed"].astype(float) if block is not None else np.zeros(0)
    model = WarmModel(form.program, options) if warm and supports(options) and len(rows) else None
    points: list[BudgetPoint] = []
    for budget in budgets:
        if model is not None:
            model.set_row_bounds(rows, model.program.row_lower[rows], budget - committed)
            solution, point_form, point_fan = model.solve(label=f"budget {budget:,.0f}"), \
                replace(form, program=model.program), _with_budget(fan, budget)
        else:
            point_fan = _with_budget(fan, budget)
            point_form = build_form(point_fan, strict=strict)
            solution = solve(point_form.program, options, with_duals=False)
        points.append(_point(budget, point_fan, point_form, solution, points[-1] if points else None))
        if progress is not None:
            progress(budget)
    return points


def _point(budget: float, fan: Fan, form: ExtensiveForm, solution: Solution,
           previous: BudgetPoint | None) -> BudgetPoint:
    if not solution.has_plan:
        return BudgetPoint(budget, str(solution.status))
    figures = expected_figures(fan, form, solution.x)
    worst = worst_shortfall_usd(fan, form, solution.x)
    marginal = None
    if previous is not None and previous.shortfall_value_usd is not None and budget > previous.budget:
        marginal = (previous.shortfall_value_usd - figures.shortfall_value_usd) / (budget - previous.budget)
    return BudgetPoint(budget, str(solution.status), figures.spend_usd, figures.shortfall_value_usd,
                       figures.reserve_gap_value_usd, figures.objective, figures.china_share_by_value,
                       worst if len(fan.instances) > 1 else None, marginal)

