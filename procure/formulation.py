r"""THE model of FORMULATION.md, built as a linear program in matrix form.

Variables (all quantities in the mineral's unit):

- ``x[o,t]``  bought from offer o in period t, ``0 <= x <= u[o,t]``; for spot and
  signed offers (y fixed at 1) constraint 8 is the bound ``l[o,t] <= x <= u[o,t]``;
- ``y[o]``    binary, optional agreements only: signed or not;
- ``s[m,t]``  unmet demand, ``0 <= s <= D[m,t]`` (``s = 0`` with ``strict``);
- ``r[m,t]``  reserve at the end of t, ``>= 0``; ``r[m,t0] = R0[m]`` is data;
- ``d[m,t]``  reserve below target, ``>= 0``;
- ``total[m,t] = sum_o w[o,t] x[o,t]``, an auxiliary purchase total for the share
  rows (3-6), so each share row holds only its own offers plus ``total``
  instead of every offer of (m, t): the same feasible set, far fewer nonzeros.

Objective (USD)::

    min  sum p x + sum F y + sum h r + sum P s + sum Q d  (+ sum F of signed offers, a constant)

Constraints: the families 1-10 of FORMULATION.md, each an entry of the registry in
:mod:`procure.families` (its docstring lists their rows) with the function that builds it.

With ``elastic`` the rows of families 3-7, 9, 10 (and 1 under ``strict``) get a
nonnegative slack priced at 1000 x the largest shortfall penalty, so the model
is always feasible and each nonzero slack says what would have to give.

This module lays out the columns and builds the families in registry order;
rows and columns carry keys (mineral, period, country, supplier, offer index)
so results and duals are mapped back by key, never by parsing names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from procure.data import OfferKind
from procure.families import FAMILIES, mt_index
from procure.instance import Instance
from procure.program import INF, Block, LinearProgram, ProgramBuilder

SLACK_PENALTY_FACTOR = 1000.0  # x the largest shortfall penalty, per unit of violation
PENALTY_COLUMNS = ("shortfall", "reserve_gap", "slack")  # priced, but not spend


def build(inst: Instance, *, strict: bool = False, elastic: bool = False) -> LinearProgram:
    """The linear program of FORMULATION.md for ``inst``.

    ``strict`` fixes ``s = 0``; ``elastic`` adds the priced slacks of the
    infeasibility report (on constraint 1 too when ``strict``).
    """
    b = ProgramBuilder()
    cols = add_variables(b, inst, strict)
    for family in FAMILIES:
        if family.build is not None:
            family.build(b, inst, cols)
    signed = inst.offer_kind == OfferKind.SIGNED
    constant = float(inst.offer_fixed_cost_usd[signed].sum())
    if elastic:
        _add_slacks(b, inst, [f.name for f in FAMILIES if f.is_elastic(strict)])
    return b.finish(constant, penalty_columns=PENALTY_COLUMNS, strict=strict, elastic=elastic)


@dataclass
class Columns:
    """The column blocks of the program, and the index maps the family builders need."""

    x: Block
    y: Block
    shortfall: Block
    reserve: Block
    reserve_gap: Block
    total: Block | None
    optional_offers: np.ndarray  # offer index of each y
    y_of_offer: np.ndarray  # y position of each offer, -1 for spot and signed
    total_of_mt: np.ndarray  # (m, t) -> total column position in block, -1 when none

    def y_column(self, offers: np.ndarray) -> np.ndarray:
        """Global column of the agreement decision y of each (optional) offer."""
        return self.y.start + self.y_of_offer[offers]


def _share_families_active(inst: Instance) -> bool:
    p = inst.policy
    return bool((inst.china_cap < 1).any() or (inst.country_cap < 1).any()
                or p.max_supplier_share < 1 or p.min_ally_share > 0)


def add_variables(b: ProgramBuilder, inst: Instance, strict: bool) -> Columns:
    """x, y, s, r, d (FORMULATION.md "Variables") and the auxiliary purchase totals of the share rows."""
    n_m, n_t = len(inst.mineral_keys), len(inst.periods)
    kind_of_op = inst.offer_kind[inst.op_offer]
    fixed_y = kind_of_op != OfferKind.OPTIONAL
    x = b.add_columns(
        "x", inst.n_offer_periods,
        lower=np.where(fixed_y, inst.op_min_volume, 0.0), upper=inst.op_capacity,
        cost=inst.op_price_usd, offer=inst.op_offer, period=inst.op_period)
    optional = np.flatnonzero(inst.offer_kind == OfferKind.OPTIONAL)
    y = b.add_columns("y", len(optional), 0.0, 1.0, inst.offer_fixed_cost_usd[optional],
                      integer=True, offer=optional)
    y_of_offer = np.full(len(inst.offers), -1, dtype=np.int64)
    y_of_offer[optional] = np.arange(len(optional))
    m_grid, t_grid = np.divmod(np.arange(n_m * n_t), n_t)
    demand = inst.demand.ravel()
    shortfall = b.add_columns("shortfall", n_m * n_t, 0.0, 0.0 if strict else demand,
                              np.repeat(inst.shortfall_penalty_usd, n_t), mineral=m_grid, period=t_grid)
    reserve = b.add_columns("reserve", n_m * n_t, 0.0, INF, np.repeat(inst.holding_cost_usd, n_t),
                            mineral=m_grid, period=t_grid)
    reserve_gap = b.add_columns("reserve_gap", n_m * n_t, 0.0, INF,
                                np.repeat(inst.reserve_penalty_usd, n_t), mineral=m_grid, period=t_grid)
    total = None
    total_of_mt = np.full(n_m * n_t, -1, dtype=np.int64)
    if _share_families_active(inst) and inst.n_offer_periods:
        used = np.unique(mt_index(inst))
        total = b.add_columns("total", len(used), 0.0, INF, 0.0,
                              mineral=used // n_t, period=used % n_t)
        total_of_mt[used] = np.arange(len(used))
    return Columns(x, y, shortfall, reserve, reserve_gap, total, optional, y_of_offer, total_of_mt)


def _add_slacks(b: ProgramBuilder, inst: Instance, families: list[str]) -> None:
    """One priced slack per row of each elastic family: it loosens the row in its own direction."""
    price = SLACK_PENALTY_FACTOR * float(inst.shortfall_penalty_usd.max(initial=1.0))
    rows, signs = [], []
    for name in families:
        block = b.rows.get(name)
        if block is None or not block.size:
            continue
        lower, _ = b.row_bounds[name]
        # <= rows: subtract the slack; >= and = rows: add it (balance: it supplies what is missing)
        signs.append(np.where(np.isinf(lower), -1.0, 1.0))
        rows.append(np.arange(block.start, block.stop))
    if not rows:
        return
    rows = np.concatenate(rows)
    slack = b.add_columns("slack", len(rows), 0.0, INF, price, row=rows)
    b.add_terms(rows, slack.start + np.arange(len(rows)), np.concatenate(signs))
