"""A plan's numbers per scenario, read from the solution by the keys the formulation stored.

Each scenario's numbers come from its own program at its share of the plan
(``x[col_map[s]]``), so they are exactly the deterministic definitions applied
per scenario; a deterministic plan is its one scenario. Duals of a row (or
column) that several scenarios share are divided by the probability of those
scenarios, so a scenario's duals read as its own marginal values (conditional
on its decision node), in objective terms per unit.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from procure.data import OfferKind
from procure.instance import Instance
from procure.outcome import Outcome
from procure.program import LinearProgram

ZERO_TOL = 1e-9  # values below this (relative) are printed as 0
SPEND_PARTS = ("acquisitions", "fees", "holding")  # spend split (FORMULATION.md, results), in this order


def clean(values: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Solver noise below ZERO_TOL x scale becomes an exact 0 (and -0.0 becomes 0.0)."""
    values = np.asarray(values, dtype=float).copy()
    values[np.abs(values) <= ZERO_TOL * max(scale, 1.0)] = 0.0
    return values + 0.0


def block_values(program: LinearProgram, x: np.ndarray, name: str) -> np.ndarray:
    block = program.columns.get(name)
    return x[block.slice()] if block is not None else np.zeros(0)


def row_duals(program: LinearProgram, duals: np.ndarray | None, name: str) -> np.ndarray | None:
    block = program.rows.get(name)
    if duals is None or block is None:
        return None
    return duals[block.slice()]


class Facts:
    """One scenario's plan organised per offer-period, mineral-period and country (each mineral in its unit)."""

    def __init__(self, inst: Instance, program: LinearProgram, x: np.ndarray,
                 row_dual: np.ndarray | None = None, col_dual: np.ndarray | None = None):
        self.program, self.x = program, x
        self.inst = inst
        self.names = inst.data.names
        self.n_m, self.n_t = len(inst.mineral_keys), len(inst.periods)
        self.buy = clean(block_values(program, x, "x"))
        self.shortfall = clean(block_values(program, x, "shortfall")).reshape(self.n_m, self.n_t)
        self.reserve = clean(block_values(program, x, "reserve")).reshape(self.n_m, self.n_t)
        self.reserve_gap = clean(block_values(program, x, "reserve_gap")).reshape(self.n_m, self.n_t)
        self.signed_y = np.round(block_values(program, x, "y")).astype(int)
        self.mt = inst.offer_mineral[inst.op_offer] * self.n_t + inst.op_period
        self.weight = inst.weights()
        size = self.n_m * self.n_t
        self.bought = np.bincount(self.mt, weights=self.buy, minlength=size).astype(float).reshape(self.n_m, self.n_t)
        weighted = self.buy * self.weight
        self.bought_weighted = np.bincount(self.mt, weights=weighted, minlength=size).astype(float)
        exposure = weighted * inst.offer_exposure[inst.op_offer]
        self.exposure_weighted = np.bincount(self.mt, weights=exposure, minlength=size).astype(float)
        self.cost = self.buy * inst.op_price_usd
        self.row_dual = row_dual
        self.col_dual = col_dual
        previous = np.column_stack([inst.initial_reserve, self.reserve[:, :-1]]) if self.n_t else self.reserve
        self.released = np.maximum(previous - self.reserve, 0.0)  # units drawn from the reserve per period
        self.added = np.maximum(self.reserve - previous, 0.0)

    @cached_property
    def spend_by_period(self) -> np.ndarray:
        """Spend per period split as FORMULATION.md's results, USD: rows acquisitions (``sum p x``),
        agreement fees (``F y`` in the offer's first covered period, signed agreements included) and
        holding (``sum h r``); their sum per period is constraint 10's left side."""
        inst = self.inst
        split = np.zeros((len(SPEND_PARTS), self.n_t))
        split[0] = np.bincount(inst.op_period, weights=self.cost, minlength=self.n_t)
        y_block = self.program.columns["y"]
        chosen = y_block.keys["offer"][self.signed_y > 0] if y_block.size else np.zeros(0, dtype=int)
        signed = np.flatnonzero(inst.offer_kind == OfferKind.SIGNED)
        offers = np.concatenate([chosen, signed]).astype(int)
        split[1] = np.bincount(inst.offer_first_period[offers], weights=inst.offer_fixed_cost_usd[offers],
                               minlength=self.n_t)
        split[2] = (self.reserve * inst.holding_cost_usd[:, None]).sum(axis=0)
        return split

    def share(self, numerator, denominator):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denominator > ZERO_TOL, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def _node_probability(maps: list[np.ndarray], pi: np.ndarray, size: int) -> np.ndarray:
    """Per global row (column): the probability of the scenarios that share it."""
    if not maps:
        return np.ones(size)
    weights = np.concatenate([np.full(len(m), p) for m, p in zip(maps, pi)])
    return np.bincount(np.concatenate(maps), weights=weights, minlength=size)


def scenario_facts(outcome: Outcome, *, relaxed: bool = False) -> list[Facts]:
    """Each scenario's facts at the plan (``relaxed``: at the elastic re-solve's relaxed plan)."""
    form = outcome.relaxed_form if relaxed else outcome.form
    solution = outcome.relaxed if relaxed else outcome.solution
    if form is None or solution is None or solution.x is None:
        return []
    pi = outcome.fan.probabilities
    program = form.program
    row_p = col_p = None
    if solution.row_dual is not None:
        row_p = _node_probability(form.row_map, pi, program.n_rows)
    if solution.col_dual is not None:
        col_p = _node_probability(form.col_map, pi, program.n_cols)
    facts = []
    for s, lp in enumerate(form.scenario_programs):
        rows, cols = form.row_map[s], form.col_map[s]
        row_dual = solution.row_dual[rows] / row_p[rows] if row_p is not None else None
        col_dual = solution.col_dual[cols] / col_p[cols] if col_p is not None else None
        facts.append(Facts(outcome.fan.instances[s], lp, solution.x[cols], row_dual, col_dual))
    return facts
