"""Analysis a planner needs to defend a plan: the price of each rule and the China-cap frontier.

- Price of a rule (FORMULATION.md, "Results, derived"): the optimum with the
  rule and without it; the difference is what the rule costs (USD).
- Frontier: one solve per China cap applied to every mineral; cost must not
  rise as the cap loosens, since each looser cap only enlarges the feasible set.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable

import numpy as np

from procure import families, formulation
from procure.instance import Instance
from procure.pipeline import Outcome
from procure.program import LinearProgram
from procure.solve import Solution, SolveOptions, Status, solve


@dataclass
class RuleCost:
    rule: str
    description: str
    status_without: str
    objective_with_usd: float | None
    objective_without_usd: float | None

    @property
    def cost_usd(self) -> float | None:
        if self.objective_with_usd is None or self.objective_without_usd is None:
            return None
        return self.objective_with_usd - self.objective_without_usd


def _solve_instance(inst: Instance, options: SolveOptions, strict: bool) -> tuple[Solution, LinearProgram]:
    program = formulation.build(inst, strict=strict)
    return solve(program, options, with_duals=False), program


def price_rules(outcome: Outcome) -> list[RuleCost]:
    """For each active rule family, re-solve without it; the objective difference is its price."""
    base = outcome.solution.objective if outcome.status == Status.OPTIMAL else None
    costs = []
    for rule in families.rules():
        if not rule.active(outcome.instance):
            continue
        solution, _ = _solve_instance(rule.without(outcome.instance), outcome.options, outcome.strict)
        costs.append(RuleCost(rule.name, rule.description, solution.status, base,
                              solution.objective if solution.status == Status.OPTIMAL else None))
    return costs


@dataclass
class FrontierPoint:
    cap: float
    status: str
    objective_usd: float | None
    spend_usd: float | None
    shortfall: float | None
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
    if not solution.has_plan:
        return FrontierPoint(cap, solution.status, None, None, None, None, None, None)
    x = solution.x
    buy = x[program.columns["x"].slice()]
    weighted = buy * inst.weights()
    total = weighted.sum()
    n_t = len(inst.periods)
    reserve = x[program.columns["reserve"].slice()].reshape(-1, n_t)
    demand = inst.demand
    with np.errstate(invalid="ignore", divide="ignore"):
        days = np.where(demand[:, -1] > 0, reserve[:, -1] / demand[:, -1] * inst.policy.days_per_period, np.nan)
    has_days = np.isfinite(days).any()
    return FrontierPoint(
        cap=cap, status=solution.status,
        objective_usd=solution.objective,
        spend_usd=solution.objective - program.penalty_value(x),
        shortfall=float(x[program.columns["shortfall"].slice()].sum()),
        china_share=float((weighted * inst.offer_exposure[inst.op_offer]).sum() / total) if total > 0 else None,
        reserve_days_min=float(np.nanmin(days)) if has_days else None,
        reserve_days_mean=float(np.nanmean(days)) if has_days else None,
    )
