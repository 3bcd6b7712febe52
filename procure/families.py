r"""The constraint families of FORMULATION.md: one registry entry and one builder function each.

Everything that depends on which family a row belongs to is read from
:data:`FAMILIES`: :mod:`procure.formulation` builds the rows in registry order,
lays out the purchase totals when a family that reads them is on and gives the
elastic rows a slack; :mod:`procure.report` labels rows, states relaxations and
prices tightening; :mod:`procure.analysis` switches rules off to price them;
:mod:`procure.stress` reads which rows hold prices and which are redundant once
the agreements are fixed; :mod:`procure.explain` reads labels and measures. A
layer that needs one family for its role reads the entry's module constant
(:data:`BALANCE`, :data:`CHINA_CAP`, :data:`WORST_COST`, :data:`CVAR_EXCESS`).
No other module spells a family name (``tests/test_families.py`` checks it,
and allow-lists the few places still to be fixed).

Adding a family: write its builder here (rows from the instance's arrays,
keys that identify each row, non-key data in ``meta``) and add a
:class:`Family` entry to :data:`FAMILIES`, with keyword arguments and the
traits that hold for its rows. Nothing else changes.

Rows, for each mineral m and period t (sums over O(m,t)); ``total[m,t] = sum w x``
is the auxiliary purchase total of :func:`build_purchase_total`:

1. balance         r[m,t-1] + sum x + s - r[m,t] = D[m,t]
2. reserve target  r[m,t] + d[m,t] >= G[m,t]
3. China exposure  sum e w x - a[m] total <= 0                   when a[m] < 1
4. country share   sum_{c[o]=c} w x - b[c] total <= 0             per origin country c, b[c] < 1
5. supplier share  sum_{supplier} w x - k total <= 0              per supplier, k < 1
6. ally share      sum ally w x - gamma total >= 0                when gamma > 0
7. average ESG     sum (g - E) x >= 0                             when E is set (by quantity)
8. agreement       x - u y <= 0 and x - l y >= 0                  optional offers
9. horizon budget  sum p x + sum F y + sum h r <= B - sum F(signed)
10. period budget  per t with Bt[t]: sum_t p x + sum_m h r[m,t] + sum F y (first period t) <= Bt[t] - F(signed, first t)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Callable

import numpy as np

from procure.data import OfferKind
from procure.instance import Instance
from procure.program import INF, ProgramBuilder
from procure.variables import Columns, mt_index


class Sense(StrEnum):
    LE = "<="
    GE = ">="
    EQ = "="


class Elastic(StrEnum):
    """When a family's rows get a priced slack in the elastic re-solve (FORMULATION.md, "Feasibility")."""

    NEVER = "never"
    ALWAYS = "always"
    STRICT = "strict"  # only under --strict (demand must be met in full)


class Measure(StrEnum):
    """How a family's rows are read in the Constraints table: the value shown and the cost of tightening.

    - SHARE: value = share of purchases reached; tightening by one point of cap (0.01)
      costs dual x purchase total x 0.01 (sign so that a tighter rule costs more);
    - ESG_AVERAGE: value = average score reached; one point of score costs dual x units bought;
    - BUDGET: value = spend including committed fixed costs; one USD less budget costs -dual.
    """

    SHARE = "share"
    ESG_AVERAGE = "esg_average"
    BUDGET = "budget"


@dataclass(frozen=True)
class Rule:
    """A policy rule that can be switched off to price it (FORMULATION.md, "Price of each rule").

    ``active`` says whether it constrains the instance; ``without`` returns the
    instance with the rule switched off. Several families may share one rule
    (both budgets are priced together).
    """

    name: str
    description: str
    active: Callable[[Instance], bool]
    without: Callable[[Instance], Instance]


def _policy_without(inst: Instance, **changes) -> Instance:
    return replace(inst, policy=replace(inst.policy, **changes))


CHINA_CAP_RULE = Rule("china_cap", "China exposure caps (3)", lambda i: bool((i.china_cap < 1).any()),
                      lambda i: replace(i, china_cap=np.ones_like(i.china_cap)))
COUNTRY_CAP_RULE = Rule("country_caps", "country share caps (4)", lambda i: bool((i.country_cap < 1).any()),
                        lambda i: replace(i, country_cap=np.ones_like(i.country_cap)))
SUPPLIER_CAP_RULE = Rule("supplier_cap", "supplier share cap (5)", lambda i: i.policy.max_supplier_share < 1,
                         lambda i: _policy_without(i, max_supplier_share=1.0))
ALLY_SHARE_RULE = Rule("ally_share", "minimum ally share (6)", lambda i: i.policy.min_ally_share > 0,
                       lambda i: _policy_without(i, min_ally_share=0.0))
ESG_AVERAGE_RULE = Rule("esg_average", "minimum average ESG score (7)", lambda i: i.policy.min_avg_esg is not None,
                        lambda i: _policy_without(i, min_avg_esg=None))
BUDGET_RULE = Rule("budgets", "budgets (9, 10)",
                   lambda i: i.policy.budget_total is not None or bool(np.isfinite(i.budget_by_period).any()),
                   lambda i: replace(_policy_without(i, budget_total=None, budget_per_period=None),
                                     budget_by_period=np.full(len(i.periods), np.nan)))


@dataclass(frozen=True, kw_only=True)
class Family:
    """One constraint family: a named row block of the program. Entries are written with keyword arguments.

    - ``number``, ``spec_name``: its number and name in FORMULATION.md (None for
      auxiliary rows the specification does not number);
    - ``label``: its name for people, in tables and messages;
    - ``sense``: the direction of its rows; ``elastic``: when it gets a slack;
    - ``limit_unit``: the unit of its limit, as the Constraints table shows it;
    - ``relaxation``: the sentence a nonzero slack prints, a format string over
      ``where`` (mineral and period), ``amount`` (the relaxation in ``relaxation_unit``:
      percentage points of a share, ESG points, USD, or the mineral's ``unit``), ``slack``
      (the raw slack), ``limit``, ``basis`` (units or USD of the share basis), ``mineral``,
      ``period``, ``country``, ``supplier``;
      ``relaxation_unit`` likewise;
    - ``rule``: how the rule is switched off for its price; ``measure``: how its
      rows are read and its tightening priced in the Constraints table;
    - ``build``: the function that adds its rows (None: built elsewhere, e.g. by the
      stochastic layer).

    Traits (all False unless the entry says otherwise), read by the layers that
    depend on what a family's rows hold:

    - ``uses_purchase_totals``: its rows are shares of the auxiliary purchase total
      ``total[m,t]`` (they hold a ``total`` column). :mod:`procure.formulation` lays
      out the ``total`` columns (and so builds the ``purchase_total`` rows that define
      them) only when a family with this trait is on: its rule is active, or it has
      no rule. The ``purchase_total`` family itself defines the totals and has not the trait;
    - ``holds_prices``: its x coefficients are offer prices (spend), so they change
      whenever prices change (the budgets); :mod:`procure.stress` scales them by a
      draw's price shocks;
    - ``holds_value_shares``: its x coefficients are the share weights ``w``, which are
      purchase values (price x quantity) when ``share_basis`` is value, so they change
      with prices then (the purchase totals and the share caps); :mod:`procure.stress`
      scales them by a draw's price shocks under that basis only;
    - ``redundant_once_agreements_fixed``: its rows only tie x to the agreement decision
      y (``x - u y <= 0``, ``x - l y >= 0``), so once every y is fixed they say no more
      than x's bounds; :mod:`procure.stress` frees them and lets x's bounds carry them.

    The family whose role another layer needs by name (the demand balance, the China
    cap, the stochastic rows) is a module constant next to its entry (:data:`BALANCE`,
    :data:`CHINA_CAP`, ...): read its ``name`` there, never spell it.
    """

    name: str
    number: int | None
    spec_name: str | None
    label: str
    sense: Sense
    elastic: Elastic = Elastic.NEVER
    limit_unit: str = ""
    relaxation: str = ""
    relaxation_unit: str = ""
    rule: Rule | None = None
    measure: Measure | None = None
    build: Callable[[ProgramBuilder, Instance, Columns], None] | None = None
    uses_purchase_totals: bool = False
    holds_prices: bool = False
    holds_value_shares: bool = False
    redundant_once_agreements_fixed: bool = False

    @property
    def title(self) -> str:
        """``label (number)``, as tables show it."""
        return f"{self.label} ({self.number})" if self.number is not None else self.label

    def is_elastic(self, strict: bool) -> bool:
        return self.elastic == Elastic.ALWAYS or (strict and self.elastic == Elastic.STRICT)


# ---------------------------------------------------------------- builders


def build_balance(b: ProgramBuilder, inst: Instance, cols: Columns) -> None:
    """1. r[m,t-1] + sum x + s - r[m,t] = D[m,t], with r[m,t0] = R0 moved to the right side."""
    n_m, n_t = len(inst.mineral_keys), len(inst.periods)
    mt = np.arange(n_m * n_t)
    rhs = inst.demand.copy()
    rhs[:, 0] -= inst.initial_reserve
    previous = mt[(mt % n_t) > 0]
    b.add_rows("balance", n_m * n_t, rhs.ravel(), rhs.ravel(), [
        (mt_index(inst), cols.x.start + np.arange(cols.x.size), 1.0),
        (mt, cols.shortfall.start + mt, 1.0),
        (mt, cols.reserve.start + mt, -1.0),
        (previous, cols.reserve.start + previous - 1, 1.0),
    ], mineral=mt // n_t, period=mt % n_t)


def build_reserve_target(b: ProgramBuilder, inst: Instance, cols: Columns) -> None:
    """2. r[m,t] + d[m,t] >= G[m,t]."""
    n = len(inst.mineral_keys) * len(inst.periods)
    mt = np.arange(n)
    b.add_rows("reserve_target", n, inst.reserve_target.ravel(), INF, [
        (mt, cols.reserve.start + mt, 1.0),
        (mt, cols.reserve_gap.start + mt, 1.0),
    ], mineral=mt // len(inst.periods), period=mt % len(inst.periods))


def build_purchase_total(b: ProgramBuilder, inst: Instance, cols: Columns) -> None:
    """total[m,t] = sum w x over O(m,t): the denominator of every share row (3-6)."""
    if cols.total is None:
        return
    rows = cols.total_of_mt[mt_index(inst)]
    k = np.arange(cols.total.size)
    b.add_rows("purchase_total", cols.total.size, 0.0, 0.0, [
        (rows, cols.x.start + np.arange(cols.x.size), inst.weights()),
        (k, cols.total.start + k, -1.0),
    ], mineral=cols.total.keys["mineral"], period=cols.total.keys["period"])


def _share_rows(b, inst, cols, name, group_keys: dict[str, np.ndarray], select: np.ndarray,
                numerator: np.ndarray, cap: np.ndarray, sense: Sense) -> None:
    """Rows ``sum_{k in group} numerator[k] x[k] - cap[group] total[m,t]  (<= or >=)  0``.

    ``group_keys`` are per offer-period arrays whose distinct combinations
    (among ``select``) are the rows; ``cap`` is per offer-period, constant within a group.
    """
    k = np.flatnonzero(select)
    if not len(k):
        return
    # one int64 key per offer-period (mixed radix over the group keys): a 1-D unique is fast
    combined = np.zeros(len(k), dtype=np.int64)
    for values in group_keys.values():
        part = values[k].astype(np.int64)
        combined = combined * (int(part.max()) + 1) + part
    _, first, local_row = np.unique(combined, return_index=True, return_inverse=True)
    local_row = local_row.ravel()
    n_rows = len(first)
    groups = np.stack([v[k][first] for v in group_keys.values()])
    mt = mt_index(inst)[k][first]
    lower, upper = (-INF, 0.0) if sense == Sense.LE else (0.0, INF)
    b.add_rows(name, n_rows, lower, upper, [
        (local_row, cols.x.start + k, numerator[k]),
        (np.arange(n_rows), cols.total.start + cols.total_of_mt[mt], -cap[k][first]),
    ], meta={"limit": cap[k][first]}, **{key: groups[i] for i, key in enumerate(group_keys)})


def build_china_cap(b: ProgramBuilder, inst: Instance, cols: Columns) -> None:
    """3. sum e w x <= a[m] total, for minerals with a[m] < 1."""
    cap = inst.china_cap[inst.offer_mineral[inst.op_offer]]
    _share_rows(b, inst, cols, "china_cap",
                {"mineral": inst.offer_mineral[inst.op_offer], "period": inst.op_period},
                cap < 1, inst.offer_exposure[inst.op_offer] * inst.weights(), cap, Sense.LE)


def build_country_cap(b: ProgramBuilder, inst: Instance, cols: Columns) -> None:
    """4. sum over origin country c of w x <= b[c] total, for each c with b[c] < 1 offering in (m, t)."""
    country = inst.offer_country[inst.op_offer]
    cap = inst.country_cap[country] if len(country) else np.zeros(0)
    _share_rows(b, inst, cols, "country_cap",
                {"mineral": inst.offer_mineral[inst.op_offer], "period": inst.op_period, "country": country},
                cap < 1, inst.weights(), cap, Sense.LE)


def build_supplier_cap(b: ProgramBuilder, inst: Instance, cols: Columns) -> None:
    """5. sum over a supplier's offers of w x <= k total, for each supplier offering in (m, t), when k < 1."""
    k_cap = inst.policy.max_supplier_share
    if k_cap >= 1:
        return
    supplier = inst.offer_supplier[inst.op_offer]
    _share_rows(b, inst, cols, "supplier_cap",
                {"mineral": inst.offer_mineral[inst.op_offer], "period": inst.op_period, "supplier": supplier},
                np.ones(inst.n_offer_periods, dtype=bool), inst.weights(),
                np.full(inst.n_offer_periods, k_cap), Sense.LE)


def build_ally_share(b: ProgramBuilder, inst: Instance, cols: Columns) -> None:
    """6. sum ally w x >= gamma total, when gamma > 0."""
    gamma = inst.policy.min_ally_share
    if gamma <= 0:
        return
    _share_rows(b, inst, cols, "ally_share",
                {"mineral": inst.offer_mineral[inst.op_offer], "period": inst.op_period},
                np.ones(inst.n_offer_periods, dtype=bool),
                inst.offer_ally[inst.op_offer] * inst.weights(),
                np.full(inst.n_offer_periods, gamma), Sense.GE)


def build_avg_esg(b: ProgramBuilder, inst: Instance, cols: Columns) -> None:
    """7. sum (g - E) x >= 0 over O(m,t), when E is set (always by quantity; unscored offers count as 0)."""
    target = inst.policy.min_avg_esg
    if target is None or not inst.n_offer_periods:
        return
    used, local_row = np.unique(mt_index(inst), return_inverse=True)
    b.add_rows("avg_esg", len(used), 0.0, INF, [
        (local_row, cols.x.start + np.arange(cols.x.size), inst.offer_esg[inst.op_offer] - target),
    ], meta={"limit": np.full(len(used), target)},
        mineral=used // len(inst.periods), period=used % len(inst.periods))


def _optional_offer_periods(inst: Instance) -> np.ndarray:
    return np.flatnonzero(inst.offer_kind[inst.op_offer] == OfferKind.OPTIONAL)


def build_agreement_max(b: ProgramBuilder, inst: Instance, cols: Columns) -> None:
    """8 (upper). x - u y <= 0 for optional offers (spot and signed: the bound x <= u)."""
    k = _optional_offer_periods(inst)
    if not len(k):
        return
    rows = np.arange(len(k))
    b.add_rows("agreement_max", len(k), -INF, 0.0, [
        (rows, cols.x.start + k, 1.0), (rows, cols.y_column(inst.op_offer[k]), -inst.op_capacity[k]),
    ], offer=inst.op_offer[k], period=inst.op_period[k])


def build_agreement_min(b: ProgramBuilder, inst: Instance, cols: Columns) -> None:
    """8 (lower). x - l y >= 0 for optional offers with a minimum (spot and signed: the bound x >= l)."""
    k = _optional_offer_periods(inst)
    k = k[inst.op_min_volume[k] > 0]
    if not len(k):
        return
    rows = np.arange(len(k))
    b.add_rows("agreement_min", len(k), 0.0, INF, [
        (rows, cols.x.start + k, 1.0), (rows, cols.y_column(inst.op_offer[k]), -inst.op_min_volume[k]),
    ], offer=inst.op_offer[k], period=inst.op_period[k])


def spend_terms(inst: Instance, cols: Columns, period: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(columns, coefficients) of spend: p x + F y (optional) + h r, in one period or all."""
    x_sel = np.arange(cols.x.size) if period is None else np.flatnonzero(inst.op_period == period)
    y_sel = np.arange(cols.y.size)
    if period is not None:
        y_sel = y_sel[inst.offer_first_period[cols.optional_offers] == period]
    n_t = len(inst.periods)
    mt = np.arange(len(inst.mineral_keys) * n_t)
    r_sel = mt if period is None else mt[mt % n_t == period]
    columns = np.concatenate([cols.x.start + x_sel, cols.y.start + y_sel, cols.reserve.start + r_sel])
    values = np.concatenate([inst.op_price_usd[x_sel],
                             inst.offer_fixed_cost_usd[cols.optional_offers[y_sel]],
                             inst.holding_cost_usd[r_sel // n_t]])
    return columns, values


def build_budget_total(b: ProgramBuilder, inst: Instance, cols: Columns) -> None:
    """9. objective without penalties <= B: sum p x + sum F y + sum h r <= B - sum F(signed)."""
    budget = inst.policy.budget_total
    if budget is None:
        return
    committed = float(inst.offer_fixed_cost_usd[inst.offer_kind == OfferKind.SIGNED].sum())
    columns, values = spend_terms(inst, cols, None)
    b.add_rows("budget_total", 1, -INF, budget - committed,
               [(np.zeros(len(columns), dtype=np.int64), columns, values)],
               meta={"limit": np.array([budget]), "committed": np.array([committed])})


def build_budget_period(b: ProgramBuilder, inst: Instance, cols: Columns) -> None:
    """10. for each t with Bt[t] set (USD; the Budget sheet, else budget_per_period):
    sum_t p x + sum_m h r[m,t] + F y of agreements first covering t <= Bt[t] - signed F first covering t.

    One row per such period, keyed by ``period``; ``meta`` holds each row's ``limit`` Bt[t]
    and ``committed`` (USD of signed fixed costs first covering t, moved to the right side).
    """
    n_t = len(inst.periods)
    periods = np.flatnonzero(np.isfinite(inst.budget_by_period))
    if not len(periods):
        return
    signed = inst.offer_kind == OfferKind.SIGNED
    committed = np.bincount(inst.offer_first_period[signed], weights=inst.offer_fixed_cost_usd[signed],
                            minlength=n_t).astype(float)[:n_t][periods]
    limit = inst.budget_by_period[periods]
    terms = []
    for row, t in enumerate(periods.tolist()):
        columns, values = spend_terms(inst, cols, t)
        terms.append((np.full(len(columns), row, dtype=np.int64), columns, values))
    b.add_rows("budget_period", len(periods), -INF, limit - committed, terms,
               meta={"limit": limit, "committed": committed}, period=periods)


# ---------------------------------------------------------------- the registry

_SHARE_LIMIT = "share of purchases ({basis})"
_CAP_EXCEEDED = ("{where}: {subject} exceed their cap ({limit:.0%}) by {amount:,.2f} percentage points "
                 "({slack:,.6g} {basis} of purchases)")
_POINTS = "percentage points"

BALANCE = Family(
    name="balance", number=1, spec_name="Balance", label="demand balance", sense=Sense.EQ,
    elastic=Elastic.STRICT, limit_unit="units",
    relaxation="{where}: {amount:,.6g} {unit} of demand cannot be met (strict mode forbids shortfall)",
    relaxation_unit="{unit}", build=build_balance)
CHINA_CAP = Family(
    name="china_cap", number=3, spec_name="China exposure", label="China exposure cap", sense=Sense.LE,
    elastic=Elastic.ALWAYS, limit_unit=_SHARE_LIMIT,
    relaxation=_CAP_EXCEEDED.replace("{subject}", "China exposure"), relaxation_unit=_POINTS,
    rule=CHINA_CAP_RULE, measure=Measure.SHARE, build=build_china_cap,
    uses_purchase_totals=True, holds_value_shares=True)
# Stochastic plans (STOCKPILE.md "Model"), built with the extensive form by procure.stochastic:
# cost[s] - z <= 0 (risk = worst) and cost[s] - eta - u[s] <= 0 (risk = cvar), one row per scenario.
WORST_COST = Family(name="worst_cost", number=None, spec_name=None, label="worst-case cost epigraph",
                    sense=Sense.LE, limit_unit="USD")
CVAR_EXCESS = Family(name="cvar_excess", number=None, spec_name=None, label="CVaR excess cost",
                     sense=Sense.LE, limit_unit="USD")

FAMILIES: tuple[Family, ...] = (
    BALANCE,
    Family(name="reserve_target", number=2, spec_name="Reserve target", label="reserve target", sense=Sense.GE,
           limit_unit="units", build=build_reserve_target),
    Family(name="purchase_total", number=None, spec_name=None, label="purchase total (auxiliary)",
           sense=Sense.EQ, build=build_purchase_total, holds_value_shares=True),
    CHINA_CAP,
    Family(name="country_cap", number=4, spec_name="Country share", label="country share cap", sense=Sense.LE,
           elastic=Elastic.ALWAYS, limit_unit=_SHARE_LIMIT,
           relaxation=_CAP_EXCEEDED.replace("{subject}", "purchases from {country}"), relaxation_unit=_POINTS,
           rule=COUNTRY_CAP_RULE, measure=Measure.SHARE, build=build_country_cap,
           uses_purchase_totals=True, holds_value_shares=True),
    Family(name="supplier_cap", number=5, spec_name="Supplier share", label="supplier share cap", sense=Sense.LE,
           elastic=Elastic.ALWAYS, limit_unit=_SHARE_LIMIT,
           relaxation=_CAP_EXCEEDED.replace("{subject}", "purchases from {supplier}"), relaxation_unit=_POINTS,
           rule=SUPPLIER_CAP_RULE, measure=Measure.SHARE, build=build_supplier_cap,
           uses_purchase_totals=True, holds_value_shares=True),
    Family(name="ally_share", number=6, spec_name="Ally share", label="minimum ally share", sense=Sense.GE,
           elastic=Elastic.ALWAYS, limit_unit=_SHARE_LIMIT,
           relaxation="{where}: ally purchases fall short of the minimum ({limit:.0%}) by {amount:,.2f} "
                      "percentage points ({slack:,.6g} {basis} of purchases)",
           relaxation_unit=_POINTS, rule=ALLY_SHARE_RULE, measure=Measure.SHARE, build=build_ally_share,
           uses_purchase_totals=True, holds_value_shares=True),
    Family(name="avg_esg", number=7, spec_name="Average ESG", label="minimum average ESG", sense=Sense.GE,
           elastic=Elastic.ALWAYS, limit_unit="ESG score (0-100)",
           relaxation="{where}: the average ESG score falls short of {limit:g} by {amount:,.2f} points",
           relaxation_unit="ESG points", rule=ESG_AVERAGE_RULE, measure=Measure.ESG_AVERAGE, build=build_avg_esg),
    Family(name="agreement_max", number=8, spec_name="Agreement", label="agreement capacity", sense=Sense.LE,
           limit_unit="units", build=build_agreement_max, redundant_once_agreements_fixed=True),
    Family(name="agreement_min", number=8, spec_name="Agreement", label="agreement minimum volume",
           sense=Sense.GE, limit_unit="units", build=build_agreement_min, redundant_once_agreements_fixed=True),
    Family(name="budget_total", number=9, spec_name="Horizon", label="horizon budget", sense=Sense.LE,
           elastic=Elastic.ALWAYS, limit_unit="USD",
           relaxation="the horizon budget would have to rise by {amount:,.0f} USD", relaxation_unit="USD",
           rule=BUDGET_RULE, measure=Measure.BUDGET, build=build_budget_total, holds_prices=True),
    Family(name="budget_period", number=10, spec_name="Per period", label="per-period budget", sense=Sense.LE,
           elastic=Elastic.ALWAYS, limit_unit="USD",
           relaxation="the budget of period {period} would have to rise by {amount:,.0f} USD",
           relaxation_unit="USD", rule=BUDGET_RULE, measure=Measure.BUDGET, build=build_budget_period,
           holds_prices=True),
    WORST_COST,
    CVAR_EXCESS,
)

BUDGET_TOTAL = next(f for f in FAMILIES if f.number == 9)  # the horizon budget (frontier --budgets moves it)


def family_of(name: str) -> Family | None:
    """The entry of :data:`FAMILIES` named ``name`` (a row block's name)."""
    return next((f for f in FAMILIES if f.name == name), None)


def family_of_title(title: str) -> Family | None:
    """The family a table's ``constraint`` column names (its :attr:`Family.title`)."""
    return next((f for f in FAMILIES if f.title == title), None)


def rules() -> list[Rule]:
    """Each rule once, in registry order."""
    seen: dict[str, Rule] = {}
    for family in FAMILIES:
        if family.rule is not None:
            seen.setdefault(family.rule.name, family.rule)
    return list(seen.values())
