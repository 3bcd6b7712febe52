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

With HiGHS each of these is a warm sweep (:mod:`procure.sweep`): the model is
built once and changed in place (the frontier changes the cap coefficients, a
rule's price frees the rule's rows, an agreement's value fixes one ``y``
column), each re-solve starting from the previous basis or incumbent; anything
the warm re-solve does not prove is solved cold. Other solvers re-solve cold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable

import numpy as np

from procure import families, formulation
from procure.errors import SolverError
from procure.figures import PlanFigures, per_mineral_period, plan_figures
from procure.instance import Instance
from procure.pipeline import Outcome
from procure.program import LinearProgram
from procure.solve import Solution, SolveOptions, Status, solve
from procure.sweep import WarmModel, supports


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


def price_rules(outcome: Outcome, *, warm: bool = True) -> list[Comparison]:
    """For each active rule, re-solve without it: (with - without) in spend, shortfall value and objective.

    With HiGHS and two or more active rules, one warm model of the outcome's
    program: each rule is switched off by freeing its rows (bounds -inf..+inf,
    the same feasible set as the model built without them) and on again after.
    ``warm=False`` rebuilds and solves each cold.
    """
    inst = outcome.instance
    with_rule = _figures(inst, outcome.program, outcome.solution)
    active = [rule for rule in families.rules() if rule.active(inst)]
    model = WarmModel(outcome.program, outcome.options) if warm and supports(outcome.options) and len(active) > 1 \
        else None
    costs = []
    for rule in active:
        without = rule.without(inst)
        if model is None:
            solution, program = _solve_instance(without, outcome.options, outcome.strict)
        else:
            rows = _rule_rows(outcome.program, rule)
            lower, upper = model.program.row_lower[rows].copy(), model.program.row_upper[rows].copy()
            model.set_row_bounds(rows, -np.inf, np.inf)
            solution, program = model.solve(label=f"without {rule.name}"), model.program
            model.set_row_bounds(rows, lower, upper)
        costs.append(Comparison(rule.name, rule.description, outcome.status, solution.status, with_rule,
                                _figures(without, program, solution)))
    return costs


def _rule_rows(program: LinearProgram, rule: families.Rule) -> np.ndarray:
    """Every row of the families that ``rule`` switches off."""
    blocks = [program.rows[f.name] for f in families.FAMILIES if f.rule is rule and f.name in program.rows]
    return np.concatenate([np.arange(b.start, b.stop) for b in blocks] + [np.zeros(0, dtype=np.int64)])


def agreement_values(outcome: Outcome, *, warm: bool = True) -> list[Comparison]:
    """For each optional agreement, the plan forced unsigned and forced signed, other decisions free.

    The differences are (unsigned - signed): a positive objective difference is what signing saves.
    With HiGHS, one warm model of the outcome's program: only the bounds of one ``y`` column
    change per re-solve, and the outcome's plan starts the re-solve whose decision it already takes.
    ``warm=False`` solves each cold.
    """
    inst, program = outcome.instance, outcome.program
    y_block = program.columns["y"]
    names = inst.data.names
    model = WarmModel(program, outcome.options) if warm and supports(outcome.options) and y_block.size \
        else None
    base = outcome.solution.x
    values = []
    for local, offer_index in enumerate(y_block.keys["offer"].tolist()):
        column = y_block.start + local
        plans = {}
        for decision in (0.0, 1.0):
            lower, upper = program.col_lower.copy(), program.col_upper.copy()
            lower[column] = upper[column] = decision
            forced = replace(program, col_lower=lower, col_upper=upper)
            if model is None:
                plans[decision] = (solve(forced, outcome.options, with_duals=False), forced)
                continue
            model.set_col_bounds([column], decision, decision)
            start = base if base is not None and round(float(base[column])) == decision else None
            plans[decision] = (model.solve(start, label=f"y[{offer_index}] = {decision:g}"), forced)
            model.set_col_bounds([column], program.col_lower[column], program.col_upper[column])
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
             progress: Callable[[float], None] | None = None, *, warm: bool = True) -> list[FrontierPoint]:
    """One solve per China cap applied to every mineral (overriding per-mineral caps), in the order given.

    With HiGHS, a warm sweep (:class:`ChinaCapSweep`); otherwise, or with ``warm=False``,
    one cold build and solve per cap.
    """
    options, caps = options.started(), list(caps)
    sweep = ChinaCapSweep(inst, options, strict) if warm and supports(options) and caps else None
    points = []
    for cap in caps:
        capped = replace(inst, china_cap=np.full_like(inst.china_cap, cap))
        if sweep is None:
            solution, program = _solve_instance(capped, options, strict)
        else:
            solution, program = sweep.solve(cap), sweep.model.program
        points.append(_point(cap, capped, program, solution))
        if progress is not None:
            progress(cap)
    return points


class ChinaCapSweep:
    """The program of one instance with every mineral's China cap a parameter, in one warm HiGHS model.

    Built once with every cap at 1/2, so every China-exposure row and every
    purchase total exists; cap ``a`` then sets the coefficient of ``total`` in
    each China row to ``-a`` (row ``sum e w x - a total <= 0``). A cap of 1 is
    the row a cold build leaves out: its bounds become -inf..+inf instead (the
    same feasible set; the auxiliary totals stay, defined by their own rows).
    """

    TEMPLATE_CAP = 0.5  # any cap in (0, 1): the rows exist and the total's coefficient is stored

    def __init__(self, inst: Instance, options: SolveOptions, strict: bool):
        template = replace(inst, china_cap=np.full_like(inst.china_cap, self.TEMPLATE_CAP))
        self.model = WarmModel(formulation.build(template, strict=strict), options)
        program = self.model.program
        block = program.rows.get(families.CHINA_CAP.name)
        if block is None or not block.size:
            self.rows = np.zeros(0, dtype=np.int64)
            self.positions = np.zeros(0, dtype=np.int64)
        else:
            self.rows = np.arange(block.start, block.stop)
            total = program.columns["total"]
            term_row = program.row_of_term()
            in_block = (term_row >= block.start) & (term_row < block.stop)
            self.positions = np.flatnonzero(in_block & (program.a_index >= total.start)
                                            & (program.a_index < total.stop))
            if len(self.positions) != block.size:
                raise SolverError("a China row without its purchase-total term (a bug in procure; please report it)")
        self.cap = self.TEMPLATE_CAP

    def solve(self, cap: float) -> Solution:
        """The plan at China cap ``cap`` on every mineral, re-solved from the previous one."""
        if cap != self.cap and len(self.rows):
            if cap >= 1:
                self.model.set_row_bounds(self.rows, -np.inf, np.inf)
            else:
                if self.cap >= 1:
                    self.model.set_row_bounds(self.rows, -np.inf, 0.0)
                self.model.set_coefficients(self.positions, -cap)
        self.cap = cap
        return self.model.solve(label=f"China cap {cap:g}")


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
