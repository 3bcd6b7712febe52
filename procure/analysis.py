"""Analysis a planner needs to defend a plan: the price of each rule, the value of each agreement,
and the China-cap frontier (FORMULATION.md, "Results, derived").

- Price of a rule: the plan with the rule and without it, as three differences
  "with minus without": spend, shortfall value and objective (USD). A positive
  objective difference is what the rule costs.
- Value of an optional agreement: the plan with it forced signed (y = 1) and forced
  unsigned (y = 0), every other decision free, as "unsigned minus signed"
  differences: positive means signing saves that much.
- Frontier: one solve per China cap applied to every mineral; the objective must
  not rise as the cap loosens, since each looser cap only enlarges the feasible set.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable

import numpy as np

from procure import families, formulation
from procure.figures import PlanFigures, per_mineral_period, plan_figures
from procure.instance import Instance
from procure.pipeline import Outcome
from procure.program import LinearProgram
from procure.solve import Solution, SolveOptions, Status, solve


@dataclass(frozen=True)
class Comparison:
    """Two plans of one question (with and without a rule; an agreement unsigned and signed).

    Each difference is ``first - second`` in USD, None when either plan is missing.
    """

    name: str
    description: str
    first_status: str
    second_status: str
    first: PlanFigures | None
    second: PlanFigures | None

    def _difference(self, field: str) -> float | None:
        if self.first is None or self.second is None:
            return None
        return getattr(self.first, field) - getattr(self.second, field)

    @property
    def spend_usd(self) -> float | None:
        return self._difference("spend_usd")

    @property
    def shortfall_usd(self) -> float | None:
        return self._difference("shortfall_value_usd")

    @property
    def objective_usd(self) -> float | None:
        return self._difference("objective_usd")


def _figures(inst: Instance, program: LinearProgram, solution: Solution) -> PlanFigures | None:
    return plan_figures(inst, program, solution.x) if solution.status == Status.OPTIMAL else None


def _solve_instance(inst: Instance, options: SolveOptions, strict: bool) -> tuple[Solution, LinearProgram]:
    program = formulation.build(inst, strict=strict)
    return solve(program, options, with_duals=False), program


def price_rules(outcome: Outcome) -> list[Comparison]:
    """For each active rule, re-solve without it: (with - without) in spend, shortfall value and objective."""
    inst = outcome.instance
    with_rule = _figures(inst, outcome.program, outcome.solution)
    costs = []
    for rule in families.rules():
        if not rule.active(inst):
            continue
        without = rule.without(inst)
        solution, program = _solve_instance(without, outcome.options, outcome.strict)
        costs.append(Comparison(rule.name, rule.description, outcome.status, solution.status, with_rule,
                                _figures(without, program, solution)))
    return costs


def agreement_values(outcome: Outcome) -> list[Comparison]:
    """For each optional agreement, the plan forced unsigned and forced signed, other decisions free.

    The differences are (unsigned - signed): a positive objective difference is what signing saves.
    """
    inst, program = outcome.instance, outcome.program
    y_block = program.columns["y"]
    names = inst.data.names
    values = []
    for local, offer_index in enumerate(y_block.keys["offer"].tolist()):
        column = y_block.start + local
        plans = {}
        for decision in (0.0, 1.0):
            lower, upper = program.col_lower.copy(), program.col_upper.copy()
            lower[column] = upper[column] = decision
            forced = replace(program, col_lower=lower, col_upper=upper)
            plans[decision] = (solve(forced, outcome.options, with_duals=False), forced)
        offer = inst.offers[offer_index]
        (unsigned, lp0), (signed, lp1) = plans[0.0], plans[1.0]
        values.append(Comparison(
            f"row {offer.row}", f"{offer.supplier} ({names.country(offer.country_key)}), "
                                f"{names.mineral(offer.mineral_key)}, Offers row {offer.row}",
            unsigned.status, signed.status, _figures(inst, lp0, unsigned), _figures(inst, lp1, signed)))
    return values


@dataclass
class FrontierPoint:
    cap: float
    status: str
    spend_usd: float | None
    shortfall_value_usd: float | None
    objective_usd: float | None
    china_share: float | None
    reserve_days_min: float | None
    reserve_days_mean: float | None


def parse_caps(text: str) -> list[float]:
    """``0:1:0.05`` (start:stop:step, inclusive) or a list ``0,0.1,0.25``; each within 0..1."""
    text = text.strip()
    try:
        if ":" in text:
            start, stop, step = (float(p) for p in text.split(":"))
            if step <= 0:
                raise ValueError("the step must be > 0")
            count = int(np.floor((stop - start) / step + 1e-9)) + 1
            caps = [round(start + i * step, 12) for i in range(max(count, 0))]
        else:
            caps = [float(p) for p in text.split(",") if p.strip()]
    except ValueError as exc:
        raise ValueError(f"--caps '{text}': expected start:stop:step (e.g. 0:1:0.05) or a list (0,0.1,0.5): {exc}") \
            from None
    if not caps or any(not 0 <= c <= 1 for c in caps):
        raise ValueError(f"--caps '{text}': expected caps from 0 to 1")
    return sorted(set(caps))


def frontier(inst: Instance, caps: Iterable[float], options: SolveOptions, strict: bool = False,
             progress: Callable[[float], None] | None = None) -> list[FrontierPoint]:
    """One solve per China cap applied to every mineral (overriding per-mineral caps)."""
    points = []
    for cap in caps:
        capped = replace(inst, china_cap=np.full_like(inst.china_cap, cap))
        solution, program = _solve_instance(capped, options, strict)
        points.append(_point(cap, capped, program, solution))
        if progress is not None:
            progress(cap)
    return points


def _point(cap: float, inst: Instance, program, solution: Solution) -> FrontierPoint:
    """One frontier point: USD figures, the China share of all purchases by value, and days of cover."""
    if not solution.has_plan:
        return FrontierPoint(cap, solution.status, None, None, None, None, None, None)
    figures = plan_figures(inst, program, solution.x)
    reserve = per_mineral_period(program, solution.x, "reserve", len(inst.periods))
    demand = inst.demand
    with np.errstate(invalid="ignore", divide="ignore"):
        days = np.where(demand[:, -1] > 0, reserve[:, -1] / demand[:, -1] * inst.policy.days_per_period, np.nan)
    has_days = np.isfinite(days).any()
    return FrontierPoint(
        cap=cap, status=solution.status,
        spend_usd=figures.spend_usd,
        shortfall_value_usd=figures.shortfall_value_usd,
        objective_usd=figures.objective_usd,
        china_share=figures.china_share_by_value,
        reserve_days_min=float(np.nanmin(days)) if has_days else None,
        reserve_days_mean=float(np.nanmean(days)) if has_days else None,
    )
