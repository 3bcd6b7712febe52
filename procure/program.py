"""The linear program as arrays: named column and row blocks over one sparse matrix.

This module knows nothing of minerals or offers; :mod:`procure.formulation`
and :mod:`procure.families` fill it, :mod:`procure.solve` hands it to a
solver, and results are mapped back through the blocks' key arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

INF = np.inf


@dataclass
class Block:
    """A named range of columns or rows.

    ``keys`` identify each member (mineral, period, country, supplier, offer
    indices: what results and duals are mapped back by); ``meta`` carries row
    data that is not a key (a share row's ``limit``, a budget row's
    ``committed`` spend), so keys stay keys.
    """

    name: str
    start: int
    size: int
    keys: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def stop(self) -> int:
        return self.start + self.size

    def slice(self) -> slice:
        return slice(self.start, self.stop)


def block_of(blocks: dict[str, Block], index: int) -> tuple[Block | None, int]:
    """The block holding global position ``index`` and the position within it."""
    for block in blocks.values():
        if block.start <= index < block.stop:
            return block, index - block.start
    return None, -1


@dataclass
class LinearProgram:
    """``min c x + constant  s.t.  row_lower <= A x <= row_upper,  col_lower <= x <= col_upper``.

    ``A`` is in compressed sparse row form (``a_start``, ``a_index``, ``a_value``).
    ``penalty_columns`` names the column blocks whose cost is a penalty, not
    spend (shortfall, reserve gap, relaxation slacks).
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
    penalty_columns: tuple[str, ...] = ()
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

    def row_of_term(self) -> np.ndarray:
        """The row of each stored coefficient (the CSR row pointer expanded)."""
        return np.repeat(np.arange(self.n_rows), np.diff(self.a_start))

    def row_activity(self, x: np.ndarray) -> np.ndarray:
        """A x, computed from the matrix (used to verify a solution independently of the solver)."""
        products = self.a_value * x[self.a_index]
        return np.bincount(self.row_of_term(), weights=products, minlength=self.n_rows).astype(float)

    def objective_value(self, x: np.ndarray) -> float:
        return float(self.col_cost @ x + self.objective_constant)

    def penalty_value(self, x: np.ndarray) -> float:
        """The penalty terms of the objective (P s, Q d, relaxation slacks), USD."""
        total = 0.0
        for name in self.penalty_columns:
            block = self.columns.get(name)
            if block is not None:
                total += float(self.col_cost[block.slice()] @ x[block.slice()])
        return total


class ProgramBuilder:
    """Accumulates column and row blocks; rows as (row, column, value) triplets until ``finish``."""

    def __init__(self):
        self.cols: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.columns: dict[str, Block] = {}
        self.n_cols = 0
        self.rows: dict[str, Block] = {}
        self.row_bounds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
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

    def add_rows(self, name, size, lower, upper, terms, meta=None, **keys) -> Block:
        """``terms``: a list of (local_row, global_column, value) arrays; zeros are dropped.

        ``keys`` identify each row; ``meta`` holds per-row data that is not a key.
        """
        block = Block(name, self.n_rows, size, {k: np.asarray(v) for k, v in keys.items()},
                      {k: np.asarray(v) for k, v in (meta or {}).items()})
        self.row_bounds[name] = (np.broadcast_to(np.asarray(lower, float), size).copy(),
                                 np.broadcast_to(np.asarray(upper, float), size).copy())
        for local_row, column, value in terms:
            self.add_terms(np.asarray(local_row, dtype=np.int64) + self.n_rows, column, value)
        self.rows[name] = block
        self.n_rows += size
        return block

    def add_terms(self, row, column, value) -> None:
        """Coefficients at global (row, column) positions; zeros are dropped."""
        row = np.asarray(row, dtype=np.int64)
        value = np.broadcast_to(np.asarray(value, float), row.shape)
        keep = value != 0
        self.triplets.append((row[keep], np.broadcast_to(np.asarray(column, np.int64), row.shape)[keep],
                              value[keep]))

    def finish(self, constant: float, *, penalty_columns: tuple[str, ...] = (), strict: bool = False,
               elastic: bool = False) -> LinearProgram:
        if self.cols:
            lower, upper, cost, integer = (np.concatenate(parts) for parts in zip(*self.cols))
        else:
            lower = upper = cost = np.zeros(0)
            integer = np.zeros(0, dtype=bool)
        bounds = list(self.row_bounds.values())
        row_lower = np.concatenate([b[0] for b in bounds]) if bounds else np.zeros(0)
        row_upper = np.concatenate([b[1] for b in bounds]) if bounds else np.zeros(0)
        if self.triplets:
            r, c, v = (np.concatenate(parts) for parts in zip(*self.triplets))
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
            penalty_columns=penalty_columns, strict=strict, elastic=elastic,
        )
