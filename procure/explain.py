"""The "what binds" list (FORMULATION.md, "Results, derived"): one plain sentence per binding rule
and per mineral with shortfall, with the figures that explain it, most costly first.

Each sentence carries the figure it is ranked by: a mineral's shortfall value
at its reference price (USD); a share rule's cost of one point tighter in
objective terms (spend plus penalties, summed over its binding rows); a
budget's effect of 1% less budget on the shortfall and reserve-gap value
(USD at reference prices, re-solved).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from procure import fmt
from procure.families import CHINA_CAP, FAMILIES, Measure

SHORT_TOL = 1e-9  # relative to demand: below this a mineral-period is not short


@dataclass(frozen=True)
class Finding:
    """One sentence of the list and the USD figure it is ranked by."""

    value_usd: float
    sentence: str


def _names(items: list[str], most: int = 3) -> str:
    if len(items) <= most:
        return ", ".join(items)
    return ", ".join(items[:most]) + f" and {len(items) - most} more"


def what_binds(inst, shortfall: np.ndarray, bought: np.ndarray, constraints: pd.DataFrame,
               budget_effects=(), demand: np.ndarray | None = None) -> list[Finding]:
    """Findings, most costly first.

    ``shortfall`` and ``bought`` are (mineral, period) matrices in each mineral's
    unit; ``constraints`` is the plan's Constraints table (limit, binding, cost of tightening);
    ``budget_effects`` (:func:`procure.analysis.budget_effects`) say what 1% more or less of a binding
    budget changes in spend and shortfall value (re-solved), which its sentence reports.
    """
    effects = {effect.family: effect for effect in budget_effects}
    demand = inst.demand if demand is None else demand  # a stochastic plan's: expected over scenarios
    names = inst.data.names
    minerals = [names.mineral(k) for k in inst.mineral_keys]
    by_title = {f.title: f for f in FAMILIES}
    binding = constraints[constraints["binding"].astype(bool)] if len(constraints) else constraints
    findings = [_mineral_finding(inst, m, minerals[m], shortfall, bought, demand, binding, by_title)
                for m in range(len(minerals)) if shortfall[m].sum() > SHORT_TOL * max(demand[m].sum(), 1.0)]
    for title, rows in (binding.groupby("constraint", sort=False) if len(binding) else []):
        family = by_title[title]
        findings.append(_rule_finding(inst, family, rows, effects.get(family.name)))
    return sorted(findings, key=lambda f: -f.value_usd)


def _mineral_finding(inst, m: int, name: str, shortfall, bought, demand_matrix, binding, by_title) -> Finding:
    unit = inst.units[m]
    short_periods = np.flatnonzero(shortfall[m] > SHORT_TOL * np.maximum(demand_matrix[m], 1.0))
    total = float(shortfall[m].sum())
    demand = float(demand_matrix[m].sum())
    value = total * float(inst.reference_price_usd[m])
    head = (f"{name}: {fmt.quantity(total)} {unit} short over {fmt.period_span(list(short_periods), inst.periods)}"
            f" ({fmt.share(total / demand if demand > 0 else np.nan, 0)} of demand, {fmt.usd_compact(value)}"
            f" at reference price)")
    reasons = []
    rows = binding[binding["mineral"] == name] if len(binding) else binding
    for title, family_rows in (rows.groupby("constraint", sort=False) if len(rows) else []):
        family = by_title[title]
        limit = family_rows["limit"].iloc[0]
        shown = fmt.share(limit, 0) if family.measure == Measure.SHARE else fmt.quantity(limit)
        reason = (f"the {family.label} ({shown}) binds in {family_rows["period"].nunique()} of {len(inst.periods)}"
                  f" period{'s' if len(inst.periods) != 1 else ''}")
        if family.name == CHINA_CAP.name:
            reason += f"; non-Chinese capacity is {fmt.quantity(_capacity(inst, m, short_periods, True))} {unit}"
        reasons.append(reason)
    budgets = binding[binding["mineral"] == ""] if len(binding) else binding
    for title in (budgets["constraint"].unique() if len(budgets) else []):
        reasons.append(f"the {by_title[title].label} binds")
    if not reasons:
        capacity = _capacity(inst, m, short_periods, False)
        if bought[m, short_periods].sum() >= capacity * (1 - 1e-6):
            reasons.append(f"every offer is bought to capacity ({fmt.quantity(capacity)} {unit} offered)")
        else:
            reasons.append(f"buying more costs more than its shortfall penalty of "
                           f"{fmt.usd(inst.shortfall_penalty_usd[m])} per {unit}")
    return Finding(value, f"{head}; " + "; ".join(reasons) + ".")


def _capacity(inst, m: int, periods: np.ndarray, non_chinese_only: bool) -> float:
    """Capacity offered for mineral ``m`` in ``periods`` (only offers with China exposure < 1 if asked)."""
    select = (inst.offer_mineral[inst.op_offer] == m) & np.isin(inst.op_period, periods)
    if non_chinese_only:
        select &= inst.offer_exposure[inst.op_offer] < 1
    return float(inst.op_capacity[select].sum())


def _rule_finding(inst, family, rows: pd.DataFrame, effect=None) -> Finding:
    cost = float(rows["cost_of_tightening"].fillna(0.0).sum())
    if family.measure == Measure.BUDGET:
        return _budget_finding(family, rows, cost, effect)
    minerals = list(dict.fromkeys(rows["mineral"].tolist()))
    per_mineral = []
    for name in minerals:
        periods = rows.loc[rows["mineral"] == name, "period"].tolist()
        indices = sorted(inst.periods.index(p) for p in periods if p in inst.periods)
        per_mineral.append(f"{name} ({fmt.period_span(indices, inst.periods)})")
    step = "one point" if family.measure == Measure.SHARE else "one ESG point"
    return Finding(max(cost, 0.0), f"The {family.label} binds for {_names(per_mineral)}: {step} tighter would raise "
                                   f"the objective (spend plus penalty terms) by "
                                   f"{fmt.usd_compact(max(cost, 0.0)).removeprefix('$')}.")


def _change(value: float | None, what: str) -> str:
    """``raise spend by $1.2 million`` / ``leave the shortfall value unchanged``."""
    if value is None:
        return f"leave {what} unknown"
    if abs(value) < 0.5:
        return f"leave {what} unchanged"
    return f"{'raise' if value > 0 else 'lower'} {what} by {fmt.usd_compact(abs(value))}"


def _budget_finding(family, rows: pd.DataFrame, cost: float, effect) -> Finding:
    """A binding budget, in money: what 1% more and 1% less budget change in spend and in shortfall value
    (and in reserve-gap value), re-solved; ranked by the value 1% less would leave unbought."""
    limits = rows["limit"].astype(float).tolist()
    if (rows["period"] == "").all():
        head = f"The {family.label} ({fmt.usd_compact(limits[0])}) binds"
    else:  # each period's own budget (a Budget sheet's appropriations differ by period)
        head = f"The {family.label} binds in " + ", ".join(
            f"{fmt.period(p)} ({fmt.usd_compact(limit)})" for p, limit in zip(rows["period"], limits))
    if effect is None or effect.more.first is None or effect.less.first is None:
        return Finding(0.0, f"{head}: each dollar more would lower the objective (spend plus penalty terms) by "
                            f"{cost:,.2f}.")
    more, less = effect.more, effect.less
    gap_more, gap_less = more.reserve_gap_usd or 0.0, less.reserve_gap_usd or 0.0
    sentence = (f"{head}: 1% more budget would {_change(more.spend_usd, 'spend')} and "
                f"{_change(more.shortfall_usd, 'the shortfall value')}"
                + (f" ({_change(gap_more, 'the reserve-gap value')})" if abs(gap_more) >= 0.5 else "")
                + f"; 1% less would {_change(less.spend_usd, 'spend')} and "
                f"{_change(less.shortfall_usd, 'the shortfall value')}"
                + (f" ({_change(gap_less, 'the reserve-gap value')})" if abs(gap_less) >= 0.5 else "")
                + " (USD; shortfall and reserve-gap value at reference prices).")
    return Finding(max(less.shortfall_usd or 0.0, 0.0) + max(gap_less, 0.0), sentence)
