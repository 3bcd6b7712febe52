r"""The column layout of the program (FORMULATION.md "Variables"): which block holds which variable.

The family builders of :mod:`procure.families` take a :class:`Columns` and add
their rows over it; :mod:`procure.formulation` lays the columns out with
:func:`add_variables` before building the families. This module knows no
family: whether the auxiliary purchase totals are laid out is the caller's
decision (the registry's, through :mod:`procure.formulation`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from procure.data import OfferKind
from procure.instance import Instance
from procure.program import INF, Block, ProgramBuilder


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


def mt_index(inst: Instance) -> np.ndarray:
    """(m, t) flat index of each offer-period."""
    return inst.offer_mineral[inst.op_offer] * len(inst.periods) + inst.op_period


def add_variables(b: ProgramBuilder, inst: Instance, strict: bool, *, purchase_totals: bool) -> Columns:
    """x, y, s, r, d (FORMULATION.md "Variables"), and with ``purchase_totals`` the auxiliary
    purchase total of each (m, t) with an offer (the denominator of the share rows)."""
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
    if purchase_totals and inst.n_offer_periods:
        used = np.unique(mt_index(inst))
        total = b.add_columns("total", len(used), 0.0, INF, 0.0,
                              mineral=used // n_t, period=used % n_t)
        total_of_mt[used] = np.arange(len(used))
    return Columns(x, y, shortfall, reserve, reserve_gap, total, optional, y_of_offer, total_of_mt)
