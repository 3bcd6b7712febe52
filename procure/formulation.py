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

This module lays out the columns (:mod:`procure.variables`; the purchase totals when a
family that reads them is on) and builds the families in registry order;
rows and columns carry keys (mineral, period, country, supplier, offer index)
so results and duals are mapped back by key, never by parsing names.
"""

from __future__ import annotations

import numpy as np

from procure.data import OfferKind
from procure.families import FAMILIES
from procure.instance import Instance
from procure.program import INF, LinearProgram, ProgramBuilder
from procure.variables import add_variables

SLACK_PENALTY_FACTOR = 1000.0  # x the largest shortfall penalty, per unit of violation
PENALTY_COLUMNS = ("shortfall", "reserve_gap", "slack")  # priced, but not spend


def build(inst: Instance, *, strict: bool = False, elastic: bool = False) -> LinearProgram:
    """The linear program of FORMULATION.md for ``inst``.

    ``strict`` fixes ``s = 0``; ``elastic`` adds the priced slacks of the
    infeasibility report (on constraint 1 too when ``strict``).
    """
    b = ProgramBuilder()
    cols = add_variables(b, inst, strict, purchase_totals=_purchase_totals_needed(inst))
    for family in FAMILIES:
        if family.build is not None:
            family.build(b, inst, cols)
    signed = inst.offer_kind == OfferKind.SIGNED
    constant = float(inst.offer_fixed_cost_usd[signed].sum())
    if elastic:
        _add_slacks(b, inst, [f.name for f in FAMILIES if f.is_elastic(strict)])
    return b.finish(constant, penalty_columns=PENALTY_COLUMNS, strict=strict, elastic=elastic)


def _purchase_totals_needed(inst: Instance) -> bool:
    """Whether a family whose rows read the purchase totals is on (its rule active, or it has no rule)."""
    return any(f.rule is None or f.rule.active(inst) for f in FAMILIES if f.uses_purchase_totals)


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
