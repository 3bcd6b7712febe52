"""The headline figures of a plan, in USD only (FORMULATION.md, "Results, derived").

Money and quantities are never mixed: wherever minerals are added up the
total is in USD, each unit valued at its mineral's ``reference_price``.
Spend is real money (the objective minus its penalty terms); the penalty
terms are reported apart and are never a "cost" a reader could take for money.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from procure.extensive import ExtensiveForm
from procure.instance import Instance
from procure.program import LinearProgram
from procure.stochastic import Fan


@dataclass(frozen=True)
class PlanFigures:
    """What a plan spends and fails to buy, in USD.

    - ``spend_usd``: sum p x + sum F y + sum h r, committed fixed costs included;
    - ``shortfall_value_usd``: sum over m, t of reference_price[m] x s[m,t];
    - ``reserve_gap_value_usd``: sum over m, t of reference_price[m] x d[m,t] (unit-periods below target);
    - ``penalty``: the objective's penalty terms (P s + Q d + relaxation slacks), at the model's penalties;
    - ``objective`` = spend_usd + penalty;
    - ``china_share_by_value``: sum p e x / sum p x over every purchase (None without purchases).
    """

    objective: float
    spend_usd: float
    penalty: float
    shortfall_value_usd: float
    reserve_gap_value_usd: float
    china_share_by_value: float | None


def per_mineral_period(program: LinearProgram, x: np.ndarray, name: str, n_periods: int) -> np.ndarray:
    """A (mineral, period) column block's values as a matrix (minerals in rows)."""
    return x[program.columns[name].slice()].reshape(-1, n_periods)


def plan_figures(inst: Instance, program: LinearProgram, x: np.ndarray) -> PlanFigures:
    """The figures of plan ``x`` of ``program`` (built from ``inst``)."""
    n_t = len(inst.periods)
    objective = program.objective_value(x)
    penalty = program.penalty_value(x)
    price = inst.reference_price_usd[:, None]
    shortfall = per_mineral_period(program, x, "shortfall", n_t)
    gap = per_mineral_period(program, x, "reserve_gap", n_t)
    buy = x[program.columns["x"].slice()]
    value = buy * inst.op_price_usd
    total_value = float(value.sum())
    exposure = float((value * inst.offer_exposure[inst.op_offer]).sum())
    return PlanFigures(
        objective=objective,
        spend_usd=objective - penalty,
        penalty=penalty,
        shortfall_value_usd=float((np.maximum(shortfall, 0.0) * price).sum()),
        reserve_gap_value_usd=float((np.maximum(gap, 0.0) * price).sum()),
        china_share_by_value=exposure / total_value if total_value > 0 else None,
    )


def worst_shortfall_usd(fan: Fan, form: ExtensiveForm, x: np.ndarray) -> float:
    """The largest scenario shortfall value of plan ``x`` (USD at reference prices)."""
    return max(plan_figures(inst, lp, x[cols]).shortfall_value_usd
               for inst, lp, cols in zip(fan.instances, form.scenario_programs, form.col_map))


def expected_figures(fan: Fan, form: ExtensiveForm, x: np.ndarray) -> PlanFigures:
    """The figures of plan ``x`` of the extensive form ``form`` of ``fan``: each the probability-weighted
    expectation of the scenarios' own (spend, shortfall value, reserve-gap value, penalty terms), the
    objective the extensive form's (its risk measure), the China share the expected China-exposed value
    over the expected purchase value. A fan of one scenario: exactly :func:`plan_figures`."""
    if len(fan.instances) == 1:
        return plan_figures(fan.instances[0], form.program, x)
    pi = fan.probabilities
    parts = [plan_figures(inst, lp, x[cols])
             for inst, lp, cols in zip(fan.instances, form.scenario_programs, form.col_map)]
    value = china = 0.0
    for p, inst, lp, cols in zip(pi, fan.instances, form.scenario_programs, form.col_map):
        bought = x[cols][lp.columns["x"].slice()] * inst.op_price_usd
        value += p * float(bought.sum())
        china += p * float((bought * inst.offer_exposure[inst.op_offer]).sum())
    spend = float(sum(p * f.spend_usd for p, f in zip(pi, parts)))
    objective = form.program.objective_value(x)
    return PlanFigures(
        objective=objective,
        spend_usd=spend,
        penalty=objective - spend,
        shortfall_value_usd=float(sum(p * f.shortfall_value_usd for p, f in zip(pi, parts))),
        reserve_gap_value_usd=float(sum(p * f.reserve_gap_value_usd for p, f in zip(pi, parts))),
        china_share_by_value=china / value if value > 0 else None,
    )
