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
from procure.extensive import ExtensiveForm
from procure.figures import PlanFigures, expected_figures, per_mineral_period, plan_figures, worst_shortfall_usd
from procure.instance import Instance
from procure.outcome import Outcome, build_form
from procure.program import LinearProgram
from procure.solve import Solution, SolveOptions, Status, solve
from procure.stochastic import Fan
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
    def objective(self) -> float | None:
        return self._difference("objective")

    @property
    def reserve_gap_usd(self) -> float | None:
        return self._difference("reserve_gap_value_usd")


def _figures(fan: Fan, form: ExtensiveForm, program: LinearProgram, solution: Solution) -> PlanFigures | None:
    """The plan's figures (expectations over the fan's scenarios), ``program`` the form's program as solved."""
    if solution.status != Status.OPTIMAL:
        return None
    return expected_figures(fan, replace(form, program=program), solution.x)


def _solve_instance(inst: Instance, options: SolveOptions, strict: bool) -> tuple[Solution, LinearProgram]:
    program = formulation.build(inst, strict=strict)
    return solve(program, options, with_duals=False), program


def _solve_fan(fan: Fan, options: SolveOptions, strict: bool) -> tuple[Solution, ExtensiveForm]:
    form = build_form(fan, strict=strict)
    return solve(form.program, options, with_duals=False), form


def price_rules(outcome: Outcome, *, warm: bool = True) -> list[Comparison]:
    """For each active rule, re-solve without it: (with - without) in spend, shortfall value and objective
    (for a plan of several scenarios: expected spend, expected shortfall value and RP).

    With HiGHS and two or more active rules, one warm model of the outcome's
    program (the extensive form: a rule's rows carry its family's name in every
    scenario): each rule is switched off by freeing its rows (bounds -inf..+inf,
    the same feasible set as the model built without them) and on again after.
    ``warm=False`` rebuilds and solves each cold.
    """
    fan, form = outcome.fan, outcome.form
    with_rule = _figures(fan, form, outcome.program, outcome.solution)
    active = [rule for rule in families.rules() if any(rule.active(inst) for inst in fan.instances)]
    model = WarmModel(outcome.program, outcome.options) if warm and supports(outcome.options) and len(active) > 1 \
        else None
    costs = []
    for rule in active:
        if model is None:
            without = fan.changed(rule.without)
            solution, without_form = _solve_fan(without, outcome.options, outcome.strict)
            figures = _figures(without, without_form, without_form.program, solution)
        else:
            rows = _rule_rows(outcome.program, rule)
            lower, upper = model.program.row_lower[rows].copy(), model.program.row_upper[rows].copy()
            model.set_row_bounds(rows, -np.inf, np.inf)
            solution = model.solve(label=f"without {rule.name}")
            model.set_row_bounds(rows, lower, upper)
            figures = _figures(fan, form, outcome.program, solution)
        costs.append(Comparison(rule.name, rule.description, outcome.status, solution.status, with_rule, figures))
    return costs


def _rule_rows(program: LinearProgram, rule: families.Rule) -> np.ndarray:
    """Every row of the families that ``rule`` switches off."""
    blocks = [program.rows[f.name] for f in families.FAMILIES if f.rule is rule and f.name in program.rows]
    return np.concatenate([np.arange(b.start, b.stop) for b in blocks] + [np.zeros(0, dtype=np.int64)])


def agreement_values(outcome: Outcome, *, warm: bool = True) -> list[Comparison]:
    """For each optional agreement, the plan forced unsigned and forced signed, other decisions free.

    The differences are (unsigned - signed): a positive objective difference is what signing saves.
    An agreement is one decision for every scenario (one ``y`` column of the extensive form).
    With HiGHS, one warm model of the outcome's program: only the bounds of one ``y`` column
    change per re-solve, and the outcome's plan starts the re-solve whose decision it already takes.
    ``warm=False`` solves each cold.
    """
    inst, program, fan, form = outcome.instance, outcome.program, outcome.fan, outcome.form
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
            unsigned.status, signed.status, _figures(fan, form, lp0, unsigned), _figures(fan, form, lp1, signed)))
    return values


@dataclass
class FrontierPoint:
    """One point of the China-cap frontier: money in USD (shortfall and reserve-gap value at reference
    prices), the objective (spend plus penalties) apart, days of cover at the end."""

    cap: float
    status: str
    spend_usd: float | None
    shortfall_value_usd: float | None
    objective: float | None
    china_share: float | None
    reserve_days_min: float | None
    reserve_days_mean: float | None
    reserve_gap_value_usd: float | None = None
    worst_shortfall_usd: float | None = None  # the largest scenario shortfall value (stochastic plans)

    def to_json(self, stochastic: bool) -> dict:
        """CLI.md's keys (``objective`` never named USD)."""
        doc = {"cap": self.cap, "status": str(self.status), "spend": self.spend_usd,
               "shortfall_usd": self.shortfall_value_usd, "reserve_gap_usd": self.reserve_gap_value_usd,
               "objective": self.objective, "china_share": self.china_share,
               "reserve_days_min": self.reserve_days_min, "reserve_days_mean": self.reserve_days_mean}
        if stochastic:
            doc["worst_shortfall_usd"] = self.worst_shortfall_usd
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in doc.items()}


MAX_CAPS = 10_000  # frontier points: one solve each; more is hours of solving, or memory a list of caps cannot get


def parse_caps(text: str) -> list[float]:
    """``0:1:0.05`` (start:stop:step, inclusive) or a list ``0,0.1,0.25``; each within 0..1, at most
    :data:`MAX_CAPS` of them (counted before any list is made). Raises ValueError saying what is expected."""
    text = text.strip()
    expected = "expected start:stop:step (e.g. 0:1:0.05) or a list (0,0.1,0.5)"
    try:
        if ":" in text:
            start, stop, step = (float(p) for p in text.split(":"))
        else:
            caps = [float(p) for p in text.split(",") if p.strip()]
    except ValueError as exc:
        raise ValueError(f"--caps '{text}': {expected}: {exc}") from None
    if ":" in text:
        if not all(np.isfinite(v) for v in (start, stop, step)):
            raise ValueError(f"--caps '{text}': start, stop and step must be numbers (not inf or nan)")
        if step <= 0:
            raise ValueError(f"--caps '{text}': the step must be > 0")
        if start > stop:
            raise ValueError(f"--caps '{text}': start must not exceed stop (start:stop:step, e.g. 0:1:0.05)")
        count = float(np.floor((stop - start) / step + 1e-9)) + 1  # counted, no list made yet (may be inf)
        if count > MAX_CAPS:
            shown = f"{count:,.0f}" if np.isfinite(count) else "more than 1e308"
            raise ValueError(f"--caps '{text}': {shown} caps; at most {MAX_CAPS:,} (one solve each): "
                             "use a larger step")
        count = int(count)
        caps = [round(start + i * step, 12) for i in range(count)]
    if not caps:
        raise ValueError(f"--caps '{text}': {expected}")
    if any(not 0 <= c <= 1 for c in caps):  # nan fails too
        raise ValueError(f"--caps '{text}': every cap must be a share from 0 to 1")
    if len(caps) > MAX_CAPS:
        raise ValueError(f"--caps '{text}': {len(caps):,} caps; at most {MAX_CAPS:,} (one solve each)")
    return sorted(set(caps))


def frontier(fan: Fan | Instance, caps: Iterable[float], options: SolveOptions, strict: bool = False,
             progress: Callable[[float], None] | None = None, *, warm: bool = True) -> list[FrontierPoint]:
    """One solve per China cap applied to every mineral (overriding per-mineral caps), in the order given.

    A plan of several scenarios is re-solved whole (its extensive form) at each cap, cold. A plan of
    one scenario with HiGHS is a warm sweep (:class:`ChinaCapSweep`); otherwise, or with
    ``warm=False``, one cold build and solve per cap.
    """
    options, caps = options.started(), list(caps)
    if isinstance(fan, Instance):
        inst, several = fan, False
    else:
        inst, several = fan.instances[0], len(fan.instances) > 1
    sweep = ChinaCapSweep(inst, options, strict) if not several and warm and supports(options) and caps else None
    points = []
    for cap in caps:
        def capped(i: Instance, cap: float = cap) -> Instance:
            return replace(i, china_cap=np.full_like(i.china_cap, cap))

        if several:
            capped_fan = fan.changed(capped)
            solution, form = _solve_fan(capped_fan, options, strict)
            points.append(_fan_point(cap, capped_fan, form, solution))
        else:
            if sweep is None:
                solution, program = _solve_instance(capped(inst), options, strict)
            else:
                solution, program = sweep.solve(cap), sweep.model.program
            points.append(_point(cap, capped(inst), program, solution))
        if progress is not None:
            progress(cap)
    return points


def _fan_point(cap: float, fan: Fan, form: ExtensiveForm, solution: Solution) -> FrontierPoint:
    """A frontier point of a plan of several scenarios: expected figures; days of cover of the
    expected reserve at the end against the expected last-period demand."""
    if not solution.has_plan:
        return FrontierPoint(cap, solution.status, None, None, None, None, None, None)
    figures = expected_figures(fan, form, solution.x)
    pi = fan.probabilities
    n_t = len(fan.base.periods)
    reserve = sum(p * per_mineral_period(lp, solution.x[cols], "reserve", n_t)
                  for p, lp, cols in zip(pi, form.scenario_programs, form.col_map))
    demand = sum(p * inst.demand for p, inst in zip(pi, fan.instances))
    with np.errstate(invalid="ignore", divide="ignore"):
        days = np.where(demand[:, -1] > 0, reserve[:, -1] / demand[:, -1] * fan.base.policy.days_per_period, np.nan)
    has_days = np.isfinite(days).any()
    worst = worst_shortfall_usd(fan, form, solution.x)
    return FrontierPoint(cap=cap, status=solution.status, spend_usd=figures.spend_usd,
                         shortfall_value_usd=figures.shortfall_value_usd, objective=figures.objective,
                         china_share=figures.china_share_by_value,
                         reserve_days_min=float(np.nanmin(days)) if has_days else None,
                         reserve_days_mean=float(np.nanmean(days)) if has_days else None,
                         reserve_gap_value_usd=figures.reserve_gap_value_usd, worst_shortfall_usd=worst)


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
        objective=figures.objective,
        china_share=figures.china_share_by_value,
        reserve_days_min=float(np.nanmin(days)) if has_days else None,
        reserve_days_mean=float(np.nanmean(days)) if has_days else None,
        reserve_gap_value_usd=figures.reserve_gap_value_usd,
    )



@dataclass(frozen=True)
class BudgetEffect:
    """What 1% more and 1% less of one budget family's limits change (FORMULATION.md, results: "what binds"),
    each a :class:`Comparison` of the re-solved plan against the plan: ``more.spend_usd`` is the change in
    spend (USD) with 1% more budget, ``less.shortfall_usd`` the change in shortfall value with 1% less."""

    family: str
    more: Comparison
    less: Comparison


def budget_effects(outcome: Outcome, *, step: float = 0.01, warm: bool = True) -> list[BudgetEffect]:
    """For each budget family with a binding row, the plan re-solved with every row of the family's limit
    ``step`` (1%) higher and lower: row upper bounds ``B - committed`` move by ``step x B``. With HiGHS one
    warm model re-solves both from the plan's basis; other solvers re-solve cold."""
    program, fan, form = outcome.program, outcome.fan, outcome.form
    if not outcome.solution.has_plan:
        return []
    activity = program.row_activity(outcome.solution.x)
    binding = []
    for family in families.FAMILIES:
        block = program.rows.get(family.name)
        if family.measure != families.Measure.BUDGET or block is None or not block.size:
            continue
        limit = block.meta["limit"].astype(float)
        value = activity[block.slice()] + block.meta["committed"]
        if (value >= limit - 1e-6 * np.maximum(1.0, np.abs(limit))).any():
            binding.append((family, np.arange(block.start, block.stop), limit))
    if not binding:
        return []
    base = _figures(fan, form, program, outcome.solution)
    model = WarmModel(program, outcome.options) if warm and supports(outcome.options) else None
    effects = []
    for family, rows, limit in binding:
        upper = program.row_upper[rows].copy()
        compared = {}
        for sign in (1.0, -1.0):
            changed = upper + sign * step * limit
            if model is None:
                row_upper = program.row_upper.copy()
                row_upper[rows] = changed
                solved_program = replace(program, row_upper=row_upper)
                solution = solve(solved_program, outcome.options, with_duals=False)
            else:
                model.set_row_bounds(rows, program.row_lower[rows], changed)
                solution = model.solve(label=f"{family.name} {'+' if sign > 0 else '-'}{step:.0%}")
                solved_program = model.program
                model.set_row_bounds(rows, program.row_lower[rows], upper)
            compared[sign] = Comparison(family.name, family.label, str(solution.status), str(outcome.status),
                                        _figures(fan, form, solved_program, solution), base)
        effects.append(BudgetEffect(family.name, compared[1.0], compared[-1.0]))
    return effects
