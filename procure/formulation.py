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

Constraints, for each mineral m and period t (sums over O(m,t)):

1. balance         r[m,t-1] + sum x + s - r[m,t] = D[m,t]
2. reserve target  r[m,t] + d[m,t] >= G[m,t]
3. China exposure  sum e w x - a[m] total <= 0                   when a[m] < 1
4. country share   sum_{c[o]=c} w x - b[c] total <= 0             per origin country c, b[c] < 1
5. supplier share  sum_{supplier} w x - k total <= 0              per supplier, k < 1
6. ally share      sum ally w x - gamma total >= 0                when gamma > 0
7. average ESG     sum (g - E) x >= 0                             when E is set (by quantity)
8. agreement       x - u y <= 0 and x - l y >= 0                  optional offers
9. horizon budget  sum p x + sum F y + sum h r <= B - sum F(signed)
10. period budget  per t: sum_t p x + sum_m h r[m,t] + sum F y (first period t) <= Bt - F(signed, first t)

With ``elastic`` the rows of families 3-7, 9, 10 (and 1 under ``strict``) get a
nonnegative slack priced at 1000 x the largest shortfall penalty, so the model
is always feasible and each nonzero slack says what would have to give.

Each family is built by one function from the instance's arrays; rows and
columns carry keys (mineral, period, country, supplier, offer index) so results
and duals are mapped back by key, never by parsing names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from procure.instance import Instance

INF = np.inf
SLACK_PENALTY_FACTOR = 1000.0  # x the largest shortfall penalty, per unit of violation
ELASTIC_FAMILIES = ("china_cap", "country_cap", "supplier_cap", "ally_share", "avg_esg",
                    "budget_total", "budget_period")
PENALTY_BLOCKS = ("shortfall", "reserve_gap", "slack")


@dataclass
class Block:
    """A named range of columns or rows, with a key array per member (e.g. mineral and period indices)."""

    name: str
    start: int
    size: int
    keys: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def stop(self) -> int:
        return self.start + self.size

    def slice(self) -> slice:
        return slice(self.start, self.stop)


@dataclass
class LinearProgram:
    """``min c x + constant  s.t.  row_lower <= A x <= row_upper,  col_lower <= x <= col_upper``.

    ``A`` is in compressed sparse row form (``a_start``, ``a_index``, ``a_value``).
    """

    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    col_integer: np.ndarray
    columns: dict[str, Block]
    row_lower: np.ndarray
    row_upper: np.ndarray
    rows: dict[str, Block]
    a_start: np.ndarray
    a_index: np.ndarray
    a_value: np.ndarray
    objective_constant: float
    strict: bool = False
    elastic: bool = False

    @property
    def n_cols(self) -> int:
        return len(self.col_cost)

    @property
    def n_rows(self) -> int:
        return len(self.row_lower)

    @property
    def is_mip(self) -> bool:
        return bool(self.col_integer.any())

    def row_activity(self, x: np.ndarray) -> np.ndarray:
        """A x, computed from the matrix (used to verify a solution independently of the solver)."""
        products = self.a_value * x[self.a_index]
        row_of_term = np.repeat(np.arange(self.n_rows), np.diff(self.a_start))
        return np.bincount(row_of_term, weights=products, minlength=self.n_rows).astype(float)

    def objective_value(self, x: np.ndarray) -> float:
        return float(self.col_cost @ x + self.objective_constant)

    def penalty_value(self, x: np.ndarray) -> float:
        """The penalty terms of the objective (P s, Q d, relaxation slacks), USD."""
        total = 0.0
        for name in PENALTY_BLOCKS:
            block = self.columns.get(name)
            if block is not None:
                total += float(self.col_cost[block.slice()] @ x[block.slice()])
        return total


class _Builder:
    """Accumulates column and row blocks; rows as (row, column, value) triplets until ``finish``."""

    def __init__(self):
        self.cols: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.columns: dict[str, Block] = {}
        self.n_cols = 0
        self.rows: dict[str, Block] = {}
        self.row_bounds: list[tuple[np.ndarray, np.ndarray]] = []
        self.triplets: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.n_rows = 0

    def add_columns(self, name, size, lower, upper, cost, integer=False, **keys) -> Block:
        block = Block(name, self.n_cols, size, {k: np.asarray(v) for k, v in keys.items()})
        self.cols.append((np.broadcast_to(np.asarray(lower, float), size).copy(),
                          np.broadcast_to(np.asarray(upper, float), size).copy(),
                          np.broadcast_to(np.asarray(cost, float), size).copy(),
                          np.full(size, integer, dtype=bool)))
        self.columns[name] = block
        self.n_cols += size
        return block

    def add_rows(self, name, size, lower, upper, terms, **keys) -> Block:
        """``terms``: a list of (local_row, global_column, value) arrays; zeros are dropped."""
        block = Block(name, self.n_rows, size, {k: np.asarray(v) for k, v in keys.items()})
        self.row_bounds.append((np.broadcast_to(np.asarray(lower, float), size).copy(),
                                np.broadcast_to(np.asarray(upper, float), size).copy()))
        for local_row, column, value in terms:
            local_row = np.asarray(local_row, dtype=np.int64)
            value = np.broadcast_to(np.asarray(value, float), local_row.shape)
            keep = value != 0
            self.triplets.append((local_row[keep] + self.n_rows,
                                  np.broadcast_to(np.asarray(column, np.int64), local_row.shape)[keep],
                                  value[keep]))
        self.rows[name] = block
        self.n_rows += size
        return block

    def finish(self, constant: float, strict: bool, elastic: bool) -> LinearProgram:
        lower, upper, cost, integer = (np.concatenate(parts) if parts else np.zeros(0)
                                       for parts in zip(*self.cols)) if self.cols else [np.zeros(0)] * 4
        row_lower = np.concatenate([b[0] for b in self.row_bounds]) if self.row_bounds else np.zeros(0)
        row_upper = np.concatenate([b[1] for b in self.row_bounds]) if self.row_bounds else np.zeros(0)
        if self.triplets:
            r = np.concatenate([t[0] for t in self.triplets])
            c = np.concatenate([t[1] for t in self.triplets])
            v = np.concatenate([t[2] for t in self.triplets])
        else:
            r = c = np.zeros(0, dtype=np.int64)
            v = np.zeros(0)
        # CSR by a stable sort on the row alone: each family writes a (row, column) pair at most once
        order = np.argsort(r, kind="stable")
        r, c, v = r[order], c[order], v[order]
        start = np.zeros(self.n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=self.n_rows), out=start[1:])
        return LinearProgram(
            col_cost=cost, col_lower=lower, col_upper=upper, col_integer=integer.astype(bool),
            columns=self.columns, row_lower=row_lower, row_upper=row_upper, rows=self.rows,
            a_start=start, a_index=c.astype(np.int32), a_value=v, objective_constant=constant,
            strict=strict, elastic=elastic,
        )


def build(inst: Instance, *, strict: bool = False, elastic: bool = False) -> LinearProgram:
    """The linear program of FORMULATION.md for ``inst``.

    ``strict`` fixes ``s = 0``; ``elastic`` adds the priced slacks of the
    infeasibility report (on constraint 1 too when ``strict``).
    """
    b = _Builder()
    cols = _add_variables(b, inst, strict)
    add_balance(b, inst, cols)
    add_reserve_target(b, inst, cols)
    add_purchase_totals(b, inst, cols)
    add_china_cap(b, inst, cols)
    add_country_caps(b, inst, cols)
    add_supplier_caps(b, inst, cols)
    add_ally_share(b, inst, cols)
    add_avg_esg(b, inst, cols)
    add_agreements(b, inst, cols)
    add_budget_total(b, inst, cols)
    add_budget_period(b, inst, cols)
    signed = inst.offer_kind == "signed"
    constant = float(inst.offer_fixed_cost_usd[signed].sum())
    if elastic:
        families = ELASTIC_FAMILIES + (("balance",) if strict else ())
        _add_slacks(b, inst, families)
    return b.finish(constant, strict, elastic)


@dataclass
class _Columns:
    x: Block
    y: Block
    shortfall: Block
    reserve: Block
    reserve_gap: Block
    total: Block | None
    optional_offers: np.ndarray  # offer index of each y
    y_of_offer: np.ndarray  # y position of each offer, -1 for spot and signed
    total_of_mt: np.ndarray  # (m, t) -> total column position in block, -1 when none


def _mt_index(inst: Instance) -> np.ndarray:
    """(m, t) flat index of each offer-period."""
    return inst.offer_mineral[inst.op_offer] * len(inst.periods) + inst.op_period


def _share_families_active(inst: Instance) -> bool:
    p = inst.policy
    return bool((inst.china_cap < 1).any() or (inst.country_cap < 1).any()
                or p.max_supplier_share < 1 or p.min_ally_share > 0)


def _add_variables(b: _Builder, inst: Instance, strict: bool) -> _Columns:
    n_m, n_t = len(inst.mineral_keys), len(inst.periods)
    kind_of_op = inst.offer_kind[inst.op_offer]
    fixed_y = kind_of_op != "optional"
    x = b.add_columns(
        "x", inst.n_offer_periods,
        lower=np.where(fixed_y, inst.op_min_volume, 0.0), upper=inst.op_capacity,
        cost=inst.op_price_usd, offer=inst.op_offer, period=inst.op_period)
    optional = np.flatnonzero(inst.offer_kind == "optional")
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
        used = np.unique(_mt_index(inst))
        total = b.add_columns("total", len(used), 0.0, INF, 0.0,
                              mineral=used // n_t, period=used % n_t)
        total_of_mt[used] = np.arange(len(used))
    return _Columns(x, y, shortfall, reserve, reserve_gap, total, optional, y_of_offer, total_of_mt)


def add_balance(b: _Builder, inst: Instance, cols: _Columns) -> None:
    """1. r[m,t-1] + sum x + s - r[m,t] = D[m,t], with r[m,t0] = R0 moved to the right side."""
    n_m, n_t = len(inst.mineral_keys), len(inst.periods)
    mt = np.arange(n_m * n_t)
    rhs = inst.demand.copy()
    rhs[:, 0] -= inst.initial_reserve
    previous = mt[(mt % n_t) > 0]
    b.add_rows("balance", n_m * n_t, rhs.ravel(), rhs.ravel(), [
        (_mt_index(inst), cols.x.start + np.arange(cols.x.size), 1.0),
        (mt, cols.shortfall.start + mt, 1.0),
        (mt, cols.reserve.start + mt, -1.0),
        (previous, cols.reserve.start + previous - 1, 1.0),
    ], mineral=mt // n_t, period=mt % n_t)


def add_reserve_target(b: _Builder, inst: Instance, cols: _Columns) -> None:
    """2. r[m,t] + d[m,t] >= G[m,t]."""
    n = len(inst.mineral_keys) * len(inst.periods)
    mt = np.arange(n)
    b.add_rows("reserve_target", n, inst.reserve_target.ravel(), INF, [
        (mt, cols.reserve.start + mt, 1.0),
        (mt, cols.reserve_gap.start + mt, 1.0),
    ], mineral=mt // len(inst.periods), period=mt % len(inst.periods))


def add_purchase_totals(b: _Builder, inst: Instance, cols: _Columns) -> None:
    """total[m,t] = sum w x over O(m,t): the denominator of every share row."""
    if cols.total is None:
        return
    rows = cols.total_of_mt[_mt_index(inst)]
    k = np.arange(cols.total.size)
    b.add_rows("purchase_total", cols.total.size, 0.0, 0.0, [
        (rows, cols.x.start + np.arange(cols.x.size), inst.weights()),
        (k, cols.total.start + k, -1.0),
    ], mineral=cols.total.keys["mineral"], period=cols.total.keys["period"])


def _share_rows(b, inst, cols, name, group_keys: dict[str, np.ndarray], select: np.ndarray,
                numerator: np.ndarray, cap: np.ndarray, sense: str) -> None:
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
    mt = _mt_index(inst)[k][first]
    lower, upper = (-INF, 0.0) if sense == "<=" else (0.0, INF)
    b.add_rows(name, n_rows, lower, upper, [
        (local_row, cols.x.start + k, numerator[k]),
        (np.arange(n_rows), cols.total.start + cols.total_of_mt[mt], -cap[k][first]),
    ], **{key: groups[i] for i, key in enumerate(group_keys)}, limit=cap[k][first])


def add_china_cap(b: _Builder, inst: Instance, cols: _Columns) -> None:
    """3. sum e w x <= a[m] total, for minerals with a[m] < 1."""
    cap = inst.china_cap[inst.offer_mineral[inst.op_offer]]
    _share_rows(b, inst, cols, "china_cap",
                {"mineral": inst.offer_mineral[inst.op_offer], "period": inst.op_period},
                cap < 1, inst.offer_exposure[inst.op_offer] * inst.weights(), cap, "<=")


def add_country_caps(b: _Builder, inst: Instance, cols: _Columns) -> None:
    """4. sum over origin country c of w x <= b[c] total, for each c with b[c] < 1 offering in (m, t)."""
    country = inst.offer_country[inst.op_offer]
    cap = inst.country_cap[country] if len(country) else np.zeros(0)
    _share_rows(b, inst, cols, "country_cap",
                {"mineral": inst.offer_mineral[inst.op_offer], "period": inst.op_period, "country": country},
                cap < 1, inst.weights(), cap, "<=")


def add_supplier_caps(b: _Builder, inst: Instance, cols: _Columns) -> None:
    """5. sum over a supplier's offers of w x <= k total, for each supplier offering in (m, t), when k < 1."""
    k_cap = inst.policy.max_supplier_share
    if k_cap >= 1:
        return
    supplier = inst.offer_supplier[inst.op_offer]
    _share_rows(b, inst, cols, "supplier_cap",
                {"mineral": inst.offer_mineral[inst.op_offer], "period": inst.op_period, "supplier": supplier},
                np.ones(inst.n_offer_periods, dtype=bool), inst.weights(),
                np.full(inst.n_offer_periods, k_cap), "<=")


def add_ally_share(b: _Builder, inst: Instance, cols: _Columns) -> None:
    """6. sum ally w x >= gamma total, when gamma > 0."""
    gamma = inst.policy.min_ally_share
    if gamma <= 0:
        return
    _share_rows(b, inst, cols, "ally_share",
                {"mineral": inst.offer_mineral[inst.op_offer], "period": inst.op_period},
                np.ones(inst.n_offer_periods, dtype=bool),
                inst.offer_ally[inst.op_offer] * inst.weights(),
                np.full(inst.n_offer_periods, gamma), ">=")


def add_avg_esg(b: _Builder, inst: Instance, cols: _Columns) -> None:
    """7. sum (g - E) x >= 0 over O(m,t), when E is set (always by quantity; unscored offers count as 0)."""
    target = inst.policy.min_avg_esg
    if target is None or not inst.n_offer_periods:
        return
    mt = _mt_index(inst)
    used, local_row = np.unique(mt, return_inverse=True)
    b.add_rows("avg_esg", len(used), 0.0, INF, [
        (local_row, cols.x.start + np.arange(cols.x.size), inst.offer_esg[inst.op_offer] - target),
    ], mineral=used // len(inst.periods), period=used % len(inst.periods), limit=np.full(len(used), target))


def add_agreements(b: _Builder, inst: Instance, cols: _Columns) -> None:
    """8. for optional offers: x - u y <= 0 and x - l y >= 0 (spot and signed: bounds on x)."""
    k = np.flatnonzero(inst.offer_kind[inst.op_offer] == "optional")
    if not len(k):
        return
    y_col = cols.y.start + cols.y_of_offer[inst.op_offer[k]]
    n = len(k)
    rows = np.arange(n)
    b.add_rows("agreement_max", n, -INF, 0.0, [
        (rows, cols.x.start + k, 1.0), (rows, y_col, -inst.op_capacity[k]),
    ], offer=inst.op_offer[k], period=inst.op_period[k])
    with_min = inst.op_min_volume[k] > 0
    km = k[with_min]
    if len(km):
        rows = np.arange(len(km))
        b.add_rows("agreement_min", len(km), 0.0, INF, [
            (rows, cols.x.start + km, 1.0), (rows, y_col[with_min], -inst.op_min_volume[km]),
        ], offer=inst.op_offer[km], period=inst.op_period[km])


def _spend_terms(inst: Instance, cols: _Columns, period: int | None):
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


def add_budget_total(b: _Builder, inst: Instance, cols: _Columns) -> None:
    """9. objective without penalties <= B: sum p x + sum F y + sum h r <= B - sum F(signed)."""
    budget = inst.policy.budget_total
    if budget is None:
        return
    committed = float(inst.offer_fixed_cost_usd[inst.offer_kind == "signed"].sum())
    columns, values = _spend_terms(inst, cols, None)
    b.add_rows("budget_total", 1, -INF, budget - committed,
               [(np.zeros(len(columns), dtype=np.int64), columns, values)],
               limit=np.array([budget]), committed=np.array([committed]))


def add_budget_period(b: _Builder, inst: Instance, cols: _Columns) -> None:
    """10. per t: sum_t p x + sum_m h r[m,t] + F y of agreements first covering t <= Bt - signed F first covering t."""
    budget = inst.policy.budget_per_period
    if budget is None:
        return
    n_t = len(inst.periods)
    signed = inst.offer_kind == "signed"
    committed = np.bincount(inst.offer_first_period[signed], weights=inst.offer_fixed_cost_usd[signed],
                            minlength=n_t).astype(float)[:n_t]
    terms = []
    for t in range(n_t):
        columns, values = _spend_terms(inst, cols, t)
        terms.append((np.full(len(columns), t, dtype=np.int64), columns, values))
    b.add_rows("budget_period", n_t, -INF, budget - committed, terms,
               period=np.arange(n_t), limit=np.full(n_t, budget), committed=committed)


def _add_slacks(b: _Builder, inst: Instance, families) -> None:
    """One priced slack per row of each elastic family: it loosens the row in its own direction."""
    price = SLACK_PENALTY_FACTOR * float(inst.shortfall_penalty_usd.max(initial=1.0))
    rows, signs = [], []
    for name in families:
        block = b.rows.get(name)
        if block is None or not block.size:
            continue
        lower, upper = b.row_bounds[list(b.rows).index(name)]
        r = np.arange(block.start, block.stop)
        # <= rows: subtract the slack; >= and = rows: add it (balance: it supplies what is missing)
        signs.append(np.where(np.isinf(lower), -1.0, 1.0))
        rows.append(r)
    if not rows:
        return
    rows = np.concatenate(rows)
    signs = np.concatenate(signs)
    slack = b.add_columns("slack", len(rows), 0.0, INF, price, row=rows)
    b.triplets.append((rows, slack.start + np.arange(len(rows)), signs))
