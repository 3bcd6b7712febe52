r"""Stochastic stockpile plans (STOCKPILE.md): scenarios -> decision nodes -> one linear program.

Each scenario ``s`` (probability ``pi[s]``) is the workbook with its shocks
applied. Its instance and its :class:`~procure.formulation.LinearProgram` are
built by the deterministic code unchanged; because the instance orders offers
canonically and shocks only change numbers, the programs of all scenarios
have the same columns in the same positions ("local" columns).

Decision nodes. Period ``t``'s decisions of two scenarios are one node when
their data (prices, capacities, minimum volumes, demand, reserve targets)
agree in every period up to and including ``t``; agreements ``y`` are one
node for all scenarios, and so are the purchases ``x`` of periods up to
``commit_through``. The extensive form has ONE column per node (not a column
per scenario tied by equality rows): scenario ``s``'s local column ``j`` maps
to global column ``col_map[s][j]``.

Rows. Every scenario's rows are stacked with their columns mapped; a row that
repeats another scenario's row exactly (same global columns, coefficients
and bounds) is kept once, so a node's rows appear once.

Objective, with ``cost[s] = c_s . x_s + const_s`` (USD, scenario s's own terms)::

    expected:  min  sum_s pi[s] cost[s]
    worst:     min  z              s.t.  cost[s] - z <= 0                 (row block worst_cost)
    cvar:      min  (1 - lam) sum_s pi[s] cost[s] + lam (eta + 1/(1 - alpha) sum_s pi[s] u[s])
                                   s.t.  cost[s] - eta - u[s] <= 0, u >= 0  (row block cvar_excess)

Agreement fixed costs ``F y`` are in every ``cost[s]``; they are the same in
every scenario, and each risk measure here is translation-equivariant, so
this equals ``F y + risk(cost without F y)`` of STOCKPILE.md.
(``eta >= 0`` is no restriction: every cost is >= 0, so the optimal eta,
a quantile of the costs, is too.)

Measures (STOCKPILE.md): RP (this optimum), WS (each scenario alone), EEV (the
expected-value problem's common decisions fixed), EVPI = RP - WS, VSS = EEV - RP.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from procure import formulation
from procure.data import DemandRow, Period, Shock, WorkbookData
from procure.errors import InputError, Problem, SolverError
from procure.instance import Instance, build_instance
from procure.program import INF, Block, LinearProgram
from procure.scenario import DemandFactor  # a [[demand]] entry and a Shocks demand row alike
from procure.solve import Solution, SolveOptions, solve

RISKS = ("expected", "worst", "cvar")
PROBABILITY_TOL = 1e-6
FIX_TOL = 1e-7  # EV values this close to a bound (relative) are clipped onto it before fixing


# ---------------------------------------------------------------- scenarios


@dataclass
class StochasticScenario:
    """One scenario of the fan: a name, its probability and the shocks that make it."""

    name: str
    probability: float
    description: str = ""
    shocks: list[Shock] = field(default_factory=list)
    demand_changes: list[DemandFactor] = field(default_factory=list)
    source: str = ""  # where it was defined, for messages ("sheet 'Scenarios' row 3", a file path)


def check_scenarios(scenarios: list[StochasticScenario]) -> None:
    """Names unique and probabilities summing to 1 (within 1e-6); raise InputError naming the culprits."""
    problems = []
    seen: dict[str, str] = {}
    for sc in scenarios:
        key = sc.name.strip().casefold()
        if key in seen:
            problems.append(Problem(f"scenario name '{sc.name}' is used twice (also {seen[key]}); names must "
                                    "be unique", sheet=sc.source or None, value=sc.name))
        else:
            seen[key] = sc.source or "elsewhere"
    total = math.fsum(sc.probability for sc in scenarios)
    if scenarios and abs(total - 1.0) > PROBABILITY_TOL:
        problems.append(Problem(
            f"scenario probabilities sum to {total:.9g}; they must sum to 1 (within 1e-6): "
            + ", ".join(f"{sc.name} {sc.probability:g}" for sc in scenarios),
            sheet="Scenarios" if any(sc.source.startswith("sheet") for sc in scenarios) else None, value=total))
    if problems:
        raise InputError(problems)


def _in_range(period, low, high) -> bool:
    return (low is None or period >= low) and (high is None or period <= high)


def scenario_data(base: WorkbookData, scenario: StochasticScenario) -> WorkbookData:
    """``base`` (``--model`` already applied) with the scenario's shocks and demand changes.

    A demand row becomes ``D x (product of matching factors) + (sum of matching adds)``;
    an addition also creates a missing (mineral, period) pair. A target derived from
    ``reserve_days`` uses demand after the factors but before the additions, so the
    target is written onto the row explicitly when additions are present.
    """
    policy = base.policy
    demand: dict[tuple[str, Period], DemandRow] = {}
    pairs = dict.fromkeys(base.demand)  # ordered set: sheet pairs first, then pairs made by additions
    for change in scenario.demand_changes:
        if change.add:
            for mineral_key in (change.minerals if change.minerals is not None else base.minerals):
                for period in base.periods:
                    if _in_range(period, change.period_from, change.period_to):
                        pairs.setdefault((mineral_key, period))
    for pair in pairs:
        mineral_key, period = pair
        row = base.demand.get(pair)
        base_units = row.demand if row is not None else 0.0
        factor, add = 1.0, 0.0
        for change in scenario.demand_changes:
            if (change.minerals is None or mineral_key in change.minerals) and \
                    _in_range(period, change.period_from, change.period_to):
                factor *= change.factor
                add += change.add
        scaled = base_units * factor
        target = row.reserve_target if row is not None else None
        if target is None and policy.reserve_days is not None and add:
            target = policy.reserve_days / policy.days_per_period * scaled
        demand[pair] = DemandRow(mineral_key, period, scaled + add, target, row.row if row is not None else None)
    return base.with_changes(demand=demand, shocks=list(base.shocks) + list(scenario.shocks),
                             scenario_description=scenario.description)


# ---------------------------------------------------------------- shared defaults


def share_defaults(base: Instance, instances: list[Instance]) -> None:
    """Penalty defaults computed once, over the base data and every scenario's shocked prices (in place).

    For a mineral without an explicit ``shortfall_penalty`` each instance's default
    is 10 x its highest price (or its fallback); the largest over all instances is
    10 x the highest price over all of them. A defaulted reserve penalty keeps its
    ratio to the shortfall penalty, whatever rule :mod:`procure.instance` uses.
    """
    minerals = [base.data.minerals[k] for k in base.mineral_keys]
    explicit_p = np.array([m.shortfall_penalty_usd is not None for m in minerals], dtype=bool)
    explicit_q = np.array([m.reserve_penalty_usd is not None for m in minerals], dtype=bool)
    shortfall = np.max([inst.shortfall_penalty_usd for inst in [base, *instances]], axis=0)
    shortfall = np.where(explicit_p, base.shortfall_penalty_usd, shortfall)
    for inst in [base, *instances]:
        ratio = np.divide(inst.reserve_penalty_usd, inst.shortfall_penalty_usd,
                          out=np.zeros_like(shortfall), where=inst.shortfall_penalty_usd > 0)
        inst.reserve_penalty_usd = np.where(explicit_q, inst.reserve_penalty_usd, ratio * shortfall)
        inst.shortfall_penalty_usd = shortfall.copy()


def reference_prices(base: Instance) -> np.ndarray:
    """USD/unit per mineral: an explicit ``reference_price`` if the data has one, else the median of the
    mineral's (offer, period) prices in the base data (before the scenarios' shocks), else 1."""
    prices = np.ones(len(base.mineral_keys))
    op_mineral = base.offer_mineral[base.op_offer] if base.n_offer_periods else np.zeros(0, dtype=int)
    for m, key in enumerate(base.mineral_keys):
        explicit = getattr(base.data.minerals[key], "reference_price_usd", None)
        mine = base.op_price_usd[op_mineral == m]
        if explicit is not None:
            prices[m] = explicit
        elif len(mine):
            prices[m] = float(np.median(mine))
    return prices


# ---------------------------------------------------------------- nodes


def _period_data(inst: Instance, t: int) -> bytes:
    """Everything of period t that can differ between scenarios, as exact bytes."""
    k = inst.op_period == t
    return b"".join(np.ascontiguousarray(a).tobytes() for a in (
        inst.op_price_usd[k], inst.op_capacity[k], inst.op_min_volume[k],
        inst.demand[:, t], inst.reserve_target[:, t]))


def data_classes(instances: list[Instance]) -> np.ndarray:
    """``cls[s, t]``: scenarios with equal ``cls[:, t]`` have equal data in every period <= t.

    Class numbers are global (distinct periods never share one) and assigned in
    scenario order, so numbering is deterministic.
    """
    n_s, n_t = len(instances), len(instances[0].periods)
    cls = np.zeros((n_s, n_t), dtype=np.int64)
    ids: dict[tuple, int] = {}
    for t in range(n_t):
        for s, inst in enumerate(instances):
            key = (t, int(cls[s, t - 1]) if t else -1, _period_data(inst, t))
            cls[s, t] = ids.setdefault(key, len(ids))
    return cls


def _commit_index(periods: list[Period], commit_through: Period | None) -> int:
    """Number of leading periods whose purchases are committed (0 when none)."""
    if commit_through is None:
        return 0
    return sum(1 for p in periods if p <= commit_through)


def _commit_bounds(instances: list[Instance], committed: np.ndarray) -> list[Instance]:
    """Committed offer-periods deliverable in every scenario: ``u = min_s u_s``, ``l = min(l, min_s u_s)``."""
    if not committed.any():
        return instances
    u = np.min([inst.op_capacity for inst in instances], axis=0)
    low = np.min([inst.op_min_volume for inst in instances], axis=0)
    out = []
    for inst in instances:
        capacity, minimum = inst.op_capacity.copy(), inst.op_min_volume.copy()
        capacity[committed] = u[committed]
        minimum[committed] = np.minimum(low, u)[committed]
        out.append(replace(inst, op_capacity=capacity, op_min_volume=minimum))
    return out


# ---------------------------------------------------------------- the extensive form


@dataclass
class ExtensiveForm:
    """The one program of a stochastic plan, and how each scenario's program maps into it.

    ``col_map[s][j]``: global column of scenario s's local column j; ``row_map[s][i]``:
    global row of its local row i (a row shared by several scenarios appears once);
    ``col_members[g]``: how many scenarios share global column g.
    """

    program: LinearProgram
    scenario_programs: list[LinearProgram]
    col_map: list[np.ndarray]
    row_map: list[np.ndarray]
    col_members: np.ndarray
    probabilities: np.ndarray
    risk: str
    stats: dict = field(default_factory=dict)
    classes: np.ndarray | None = None  # cls[s, t] of data_classes: the decision node of (s, t)

    def scenario_values(self, x: np.ndarray, s: int) -> np.ndarray:
        """Scenario s's local solution from the global one."""
        return x[self.col_map[s]]

    def scenario_costs(self, x: np.ndarray) -> np.ndarray:
        """cost[s] (USD): scenario s's own objective at the plan x."""
        return np.array([lp.objective_value(self.scenario_values(x, s))
                         for s, lp in enumerate(self.scenario_programs)])


def _mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a well-spread 64-bit hash of each uint64 (wrapping arithmetic)."""
    z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _bits(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64) if len(values) else np.zeros(0, np.uint64)


def _risk_measure(costs: np.ndarray, probabilities: np.ndarray, risk: str, alpha: float, weight: float) -> float:
    """risk(cost) of a discrete distribution: the value the extensive form's objective takes."""
    expected = float(probabilities @ costs)
    if risk == "expected":
        return expected
    if risk == "worst":
        return float(costs.max())
    # CVaR_alpha = min_eta eta + 1/(1-alpha) E[(cost - eta)+]; a minimiser is one of the costs
    cvar = min(float(eta + probabilities @ np.maximum(costs - eta, 0.0) / (1.0 - alpha)) for eta in costs)
    return (1.0 - weight) * expected + weight * cvar


@dataclass
class _Parts:
    """The extensive form's arrays as they are assembled: column parts, then row parts (CSR by row)."""

    col_lower: list = field(default_factory=list)
    col_upper: list = field(default_factory=list)
    col_integer: list = field(default_factory=list)
    col_members: list = field(default_factory=list)
    columns: dict = field(default_factory=dict)
    n_cols: int = 0
    row_lower: list = field(default_factory=list)
    row_upper: list = field(default_factory=list)
    row_nnz: list = field(default_factory=list)
    index: list = field(default_factory=list)
    value: list = field(default_factory=list)
    rows: dict = field(default_factory=dict)
    n_rows: int = 0

    def add_columns(self, block: Block, lower, upper, integer, members) -> None:
        self.columns[block.name] = block
        self.col_lower.append(lower)
        self.col_upper.append(upper)
        self.col_integer.append(integer)
        self.col_members.append(members)
        self.n_cols += block.size


def build_extensive_form(instances: list[Instance], probabilities: np.ndarray, *, risk: str = "expected",
                         risk_level: float = 0.9, risk_weight: float = 1.0, commit_through: Period | None = None,
                         strict: bool = False, elastic: bool = False) -> ExtensiveForm:
    """The extensive form of the scenario fan ``instances`` (already sharing their defaults)."""
    if risk not in RISKS:
        raise ValueError(f"unknown risk '{risk}'; expected one of: {', '.join(RISKS)}")
    started = time.perf_counter()
    probabilities = np.asarray(probabilities, dtype=float)
    first = instances[0]
    for s, inst in enumerate(instances[1:], 1):
        if [o.row for o in inst.offers] != [o.row for o in first.offers] or \
                not np.array_equal(inst.op_period, first.op_period):
            raise AssertionError(f"scenario {s} keeps other offers than scenario 0 (a bug in procure)")
    classes = data_classes(instances)
    committed = first.op_period < _commit_index(first.periods, commit_through)
    instances = _commit_bounds(instances, committed)
    programs = [formulation.build(inst, strict=strict, elastic=elastic) for inst in instances]
    timings = {"scenario_programs_s": time.perf_counter() - started}

    parts = _Parts()
    col_map = _shared_columns(parts, programs, classes, committed)
    n_decision_cols = parts.n_cols
    row_map = [np.empty(lp.n_rows, dtype=np.int64) for lp in programs]
    nnz_before = 0
    for name in dict.fromkeys(name for lp in programs for name in lp.rows):
        nnz_before += _stack_family(parts, name, programs, col_map, row_map)
    if "slack" in parts.columns:  # each slack names its row: now a global row
        block = parts.columns["slack"]
        for s, lp in enumerate(programs):
            local_block = lp.columns["slack"]
            block.keys["row"][col_map[s][local_block.slice()] - block.start] = row_map[s][local_block.keys["row"]]
    cost, constant = _objective_and_risk_rows(parts, programs, col_map, probabilities, risk, risk_level,
                                              risk_weight)

    a_start = np.zeros(parts.n_rows + 1, dtype=np.int64)
    np.cumsum(np.concatenate(parts.row_nnz) if parts.row_nnz else np.zeros(0, np.int64), out=a_start[1:])
    program = LinearProgram(
        col_cost=cost, col_lower=np.concatenate(parts.col_lower), col_upper=np.concatenate(parts.col_upper),
        col_integer=np.concatenate(parts.col_integer), columns=parts.columns,
        row_lower=np.concatenate(parts.row_lower) if parts.row_lower else np.zeros(0),
        row_upper=np.concatenate(parts.row_upper) if parts.row_upper else np.zeros(0), rows=parts.rows,
        a_start=a_start,
        a_index=np.concatenate(parts.index).astype(np.int32) if parts.index else np.zeros(0, np.int32),
        a_value=np.concatenate(parts.value) if parts.value else np.zeros(0), objective_constant=constant,
        strict=strict, elastic=elastic)
    timings["extensive_form_s"] = time.perf_counter() - started - timings["scenario_programs_s"]
    stats = {
        "scenarios": len(programs),
        "columns_before_sharing": sum(lp.n_cols for lp in programs),
        "columns": program.n_cols,
        "decision_columns": n_decision_cols,
        "rows_before_sharing": sum(lp.n_rows for lp in programs),
        "rows": program.n_rows,
        "nonzeros_before_sharing": nnz_before,
        "nonzeros": int(a_start[-1]),
        "nodes": int(len(np.unique(classes))),
        "timings": timings,
    }
    return ExtensiveForm(program, programs, col_map, row_map, np.concatenate(parts.col_members),
                         probabilities, risk, stats, classes)


def _shared_columns(parts: _Parts, programs: list[LinearProgram], classes: np.ndarray,
                    committed: np.ndarray) -> list[np.ndarray]:
    """One global column per (local column, node); returns ``col_map``.

    The node ("group") of a local column of scenario s: ``y`` one for all; ``x`` of a committed
    period one for all; other columns of period t ``classes[s, t]``; slacks one per scenario.
    A shared column's bounds are the intersection of its scenarios' bounds (equal data give
    equal bounds; committed purchases were given ``min_s u`` beforehand).
    """
    n_s = len(programs)
    everyone = int(classes.max()) + 1  # the group "all scenarios"
    alone = everyone + 1  # + s: the group of scenario s alone
    radix = alone + n_s
    col_map = [np.empty(programs[0].n_cols, dtype=np.int64) for _ in range(n_s)]
    for name, block in programs[0].columns.items():
        if any(lp.columns.get(name) is None or lp.columns[name].size != block.size for lp in programs):
            raise AssertionError(f"column block {name} differs between scenarios (a bug in procure)")
        if name == "y":
            group = np.full((n_s, block.size), everyone)
        elif name == "slack":
            group = np.repeat(alone + np.arange(n_s)[:, None], block.size, axis=1)
        else:
            group = classes[:, block.keys["period"]]
            if name == "x":
                group = np.where(committed[None, :], everyone, group)
        combined = np.arange(block.size)[None, :] * radix + group
        unique, first_seen, inverse = np.unique(combined.ravel(), return_index=True, return_inverse=True)
        inverse = inverse.reshape(n_s, block.size)
        count = len(unique)
        keys = {k: v[unique // radix] for k, v in block.keys.items()}
        keys["scenario"] = first_seen // block.size  # the first scenario of the node
        keys["node"] = unique % radix
        if name == "slack":
            keys["row"] = np.zeros(count, dtype=np.int64)  # filled once the rows are mapped
        lower, upper = np.full(count, -INF), np.full(count, INF)
        integer = np.zeros(count, dtype=bool)
        for s, lp in enumerate(programs):
            g = inverse[s]
            col_map[s][block.slice()] = parts.n_cols + g
            np.maximum.at(lower, g, lp.col_lower[block.slice()])
            np.minimum.at(upper, g, lp.col_upper[block.slice()])
            integer[g] |= lp.col_integer[block.slice()]
        parts.add_columns(Block(name, parts.n_cols, count, keys), lower, upper, integer,
                          np.bincount(inverse.ravel(), minlength=count))
    return col_map


def _stack_family(parts: _Parts, name: str, programs: list[LinearProgram], col_map: list[np.ndarray],
                  row_map: list[np.ndarray]) -> int:
    """Every scenario's rows of family ``name`` with columns mapped, each exact repeat kept once.

    Rows are compared by a 64-bit hash (order-free over the row's column-sorted entries, with
    its bounds), and every candidate repeat is then confirmed entry by entry, so a hash
    collision can never merge two different rows. Returns the nonzeros before sharing.
    """
    lo, hi, nnz, cols, vals, scn, local_rows = [], [], [], [], [], [], []
    cand_keys: dict[str, list] = {}
    cand_meta: dict[str, list] = {}
    for s, lp in enumerate(programs):
        block = lp.rows.get(name)
        if block is None or not block.size:
            continue
        first, last = lp.a_start[block.start], lp.a_start[block.stop]
        lo.append(lp.row_lower[block.slice()])
        hi.append(lp.row_upper[block.slice()])
        nnz.append(np.diff(lp.a_start[block.start:block.stop + 1]))
        cols.append(col_map[s][lp.a_index[first:last]])
        vals.append(lp.a_value[first:last])
        scn.append(np.full(block.size, s))
        local_rows.append(np.arange(block.start, block.stop))
        for k, v in block.keys.items():
            cand_keys.setdefault(k, []).append(v)
        for k, v in block.meta.items():
            cand_meta.setdefault(k, []).append(v)
    if not lo:
        return 0
    lo, hi, nnz, cols, vals, scn, local_rows = (np.concatenate(a) for a in (lo, hi, nnz, cols, vals, scn,
                                                                           local_rows))
    n_cand = len(lo)
    row_of_entry = np.repeat(np.arange(n_cand), nnz)
    order = np.lexsort((cols, row_of_entry))  # by column within each row: equal rows, equal sequences
    cols, vals = cols[order], vals[order]
    start = np.zeros(n_cand + 1, dtype=np.int64)
    np.cumsum(nnz, out=start[1:])
    entry_hash = _mix64(cols.astype(np.uint64) * np.uint64(0x9E3779B1) ^ _bits(vals))
    row_hash = np.zeros(n_cand, dtype=np.uint64)  # sum of the entries' hashes (wrapping)
    nonempty = nnz > 0
    if len(entry_hash):
        row_hash[nonempty] = np.add.reduceat(entry_hash, start[:-1][nonempty])
    row_hash = _mix64(row_hash ^ _mix64(_bits(lo)) ^ (_mix64(_bits(hi)) * np.uint64(3)) ^ nnz.astype(np.uint64))
    _, rep_index, inverse = np.unique(row_hash, return_index=True, return_inverse=True)
    rep = rep_index[inverse.ravel()]  # the first candidate with the same hash
    dup = np.flatnonzero(rep != np.arange(n_cand))
    same = (nnz[dup] == nnz[rep[dup]]) & (lo[dup] == lo[rep[dup]]) & (hi[dup] == hi[rep[dup]])
    check = dup[same]
    if len(check):
        lengths = nnz[check]
        offset = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        a = np.repeat(start[check], lengths) + offset
        b = np.repeat(start[rep[check]], lengths) + offset
        mismatch = (cols[a] != cols[b]) | (vals[a] != vals[b])
        differs = np.bincount(np.repeat(np.arange(len(check)), lengths), weights=mismatch,
                              minlength=len(check)) > 0
        same[np.flatnonzero(same)[differs]] = False
    rep[dup[~same]] = dup[~same]  # a collision, not a repeat: the row stays
    keep = rep == np.arange(n_cand)
    kept = np.flatnonzero(keep)
    new_index = np.full(n_cand, -1, dtype=np.int64)
    new_index[kept] = parts.n_rows + np.arange(len(kept))
    global_row = new_index[rep]
    for s in range(len(programs)):
        mine = scn == s
        row_map[s][local_rows[mine]] = global_row[mine]
    keys = {k: np.concatenate(v)[kept] for k, v in cand_keys.items()}
    keys["scenario"] = scn[kept]  # the first scenario with the row
    meta = {k: np.concatenate(v)[kept] for k, v in cand_meta.items()}  # a row's limit, committed spend
    meta["scenarios"] = np.bincount(global_row - parts.n_rows, minlength=len(kept))  # how many share it
    parts.rows[name] = Block(name, parts.n_rows, len(kept), keys, meta)
    parts.row_lower.append(lo[kept])
    parts.row_upper.append(hi[kept])
    entry_keep = np.repeat(keep, nnz)
    parts.index.append(cols[entry_keep])
    parts.value.append(vals[entry_keep])
    parts.row_nnz.append(nnz[kept])
    parts.n_rows += len(kept)
    return int(nnz.sum())


def _objective_and_risk_rows(parts: _Parts, programs: list[LinearProgram], col_map: list[np.ndarray],
                             pi: np.ndarray, risk: str, alpha: float, weight: float) -> tuple[np.ndarray, float]:
    """The objective (costs and constant), adding for ``worst`` the column ``worst_cost`` (z) and rows
    ``cost[s] - z <= 0``, for ``cvar`` the columns ``cvar_eta``, ``cvar_excess`` (u) and rows
    ``cost[s] - eta - u[s] <= 0`` (each row named by its family, keyed by scenario)."""
    n_s = len(programs)
    constants = np.array([lp.objective_constant for lp in programs])
    lam = weight if risk == "cvar" else 0.0  # weight of the CVaR part
    expectation_weight = {"expected": 1.0, "worst": 0.0, "cvar": 1.0 - lam}[risk]
    cost = np.zeros(parts.n_cols)
    if expectation_weight:
        for s, lp in enumerate(programs):
            cost += np.bincount(col_map[s], weights=expectation_weight * pi[s] * lp.col_cost, minlength=parts.n_cols)
    constant = float(expectation_weight * pi @ constants)
    if risk == "expected":
        return cost, constant
    if risk == "worst":
        z = Block("worst_cost", parts.n_cols, 1, {})
        parts.add_columns(z, np.zeros(1), np.full(1, INF), np.zeros(1, bool), np.full(1, n_s))
        extra_cost = [np.ones(1)]
        risk_columns = lambda s: ([z.start], [-1.0])  # noqa: E731
        family = "worst_cost"
    else:
        eta = Block("cvar_eta", parts.n_cols, 1, {})
        parts.add_columns(eta, np.zeros(1), np.full(1, INF), np.zeros(1, bool), np.full(1, n_s))
        excess = Block("cvar_excess", parts.n_cols, n_s, {"scenario": np.arange(n_s)})
        parts.add_columns(excess, np.zeros(n_s), np.full(n_s, INF), np.zeros(n_s, bool), np.ones(n_s, np.int64))
        extra_cost = [np.full(1, lam), lam * pi / (1.0 - alpha)]
        risk_columns = lambda s: ([eta.start, excess.start + s], [-1.0, -1.0])  # noqa: E731
        family = "cvar_excess"
    cost = np.concatenate([cost, *extra_cost])
    for s, lp in enumerate(programs):
        nonzero = np.flatnonzero(lp.col_cost)
        extra_c, extra_v = risk_columns(s)
        c_all = np.concatenate([col_map[s][nonzero], extra_c])
        v_all = np.concatenate([lp.col_cost[nonzero], extra_v])
        order = np.argsort(c_all, kind="stable")
        parts.index.append(c_all[order])
        parts.value.append(v_all[order])
        parts.row_nnz.append(np.array([len(c_all)]))
        parts.row_lower.append(np.array([-INF]))
        parts.row_upper.append(np.array([-constants[s]]))  # cost[s] = c_s x + constant_s
    parts.rows[family] = Block(family, parts.n_rows, n_s, {"scenario": np.arange(n_s)},
                               {"scenarios": np.ones(n_s, dtype=np.int64)})
    parts.n_rows += n_s
    return cost, constant


# ---------------------------------------------------------------- solving and the measures


@dataclass
class Fan:
    """The scenarios of a stochastic plan with their instances, sharing their price-derived defaults."""

    base_data: WorkbookData
    base: Instance  # the data after --model, before any scenario's shocks
    scenarios: list[StochasticScenario]
    instances: list[Instance]
    probabilities: np.ndarray
    reference_price_usd: np.ndarray  # per mineral, USD/unit, from the base data

    @property
    def names(self) -> list[str]:
        return [sc.name for sc in self.scenarios]


def prepare(base_data: WorkbookData, scenarios: list[StochasticScenario]) -> Fan:
    """Check the scenarios, build each one's instance, and share the penalty defaults between them."""
    check_scenarios(scenarios)
    base = build_instance(base_data)
    instances = [build_instance(scenario_data(base_data, sc)) for sc in scenarios]
    share_defaults(base, instances)
    return Fan(base_data, base, scenarios, instances,
               np.array([sc.probability for sc in scenarios], dtype=float), reference_prices(base))


def expected_value_instance(fan: Fan) -> Instance:
    """The EV problem: one scenario whose data are the probability-weighted means of the scenarios' data."""
    pi = fan.probabilities

    def mean(attr):
        return np.tensordot(pi, np.array([getattr(inst, attr) for inst in fan.instances]), axes=1)

    return replace(fan.instances[0], op_price_usd=mean("op_price_usd"), op_capacity=mean("op_capacity"),
                   op_min_volume=mean("op_min_volume"), demand=mean("demand"),
                   reserve_target=mean("reserve_target"))


@dataclass
class Measures:
    """RP, WS, EEV, EVPI, VSS in USD (STOCKPILE.md). ``eev`` None (infinite) when ``eev_reason`` says why."""

    rp: float
    ws: float
    ws_by_scenario: np.ndarray
    eev: float | None
    eev_reason: str = ""

    @property
    def evpi(self) -> float:
        return self.rp - self.ws

    @property
    def vss(self) -> float | None:
        return None if self.eev is None else self.eev - self.rp


@dataclass
class StochasticOutcome:
    """A solved (or explained) stochastic plan."""

    fan: Fan
    form: ExtensiveForm
    solution: Solution
    options: SolveOptions
    risk: str
    risk_level: float
    risk_weight: float
    commit_through: Period | None
    strict: bool = False
    measures: Measures | None = None
    relaxed_form: ExtensiveForm | None = None
    relaxed: Solution | None = None
    timings: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.solution.status

    @property
    def program(self) -> LinearProgram:
        return self.form.program

    def scenario_solution(self, s: int) -> np.ndarray:
        return self.form.scenario_values(self.solution.x, s)

    def scenario_costs(self) -> np.ndarray:
        return self.form.scenario_costs(self.solution.x)


def risk_settings(policy) -> tuple[str, float, float, Period | None]:
    """(risk, risk_level, risk_weight, commit_through) from the Policy, with STOCKPILE.md's defaults."""
    return (getattr(policy, "risk", "expected"), getattr(policy, "risk_level", 0.9),
            getattr(policy, "risk_weight", 1.0), getattr(policy, "commit_through", None))


def optimize_stochastic(base_data: WorkbookData, scenarios: list[StochasticScenario],
                        options: SolveOptions = SolveOptions(), *, strict: bool = False,
                        with_measures: bool = True) -> StochasticOutcome:
    """Build and solve the extensive form; then WS and EEV; when infeasible, the elastic explanation."""
    timings = {}
    started = time.perf_counter()
    fan = prepare(base_data, scenarios)
    risk, alpha, lam, commit = risk_settings(base_data.policy)
    timings["scenarios_s"] = time.perf_counter() - started
    form = build_extensive_form(fan.instances, fan.probabilities, risk=risk, risk_level=alpha, risk_weight=lam,
                                commit_through=commit, strict=strict)
    timings.update(form.stats["timings"])
    mark = time.perf_counter()
    solution = solve(form.program, options)
    timings["solve_s"] = time.perf_counter() - mark
    outcome = StochasticOutcome(fan, form, solution, options, risk, alpha, lam, commit, strict, timings=timings)
    if solution.status == "infeasible":
        outcome.relaxed_form = build_extensive_form(fan.instances, fan.probabilities, risk=risk, risk_level=alpha,
                                                    risk_weight=lam, commit_through=commit, strict=strict,
                                                    elastic=True)
        outcome.relaxed = solve(outcome.relaxed_form.program, options, with_duals=False)
    elif solution.status == "optimal" and with_measures:
        mark = time.perf_counter()
        outcome.measures = measures(outcome)
        timings["measures_s"] = time.perf_counter() - mark
    return outcome


def measures(outcome: StochasticOutcome) -> Measures:
    """WS (each scenario alone) and EEV (the EV problem's common decisions fixed) beside RP."""
    fan, options = outcome.fan, outcome.options
    pi = fan.probabilities
    ws_each = []
    for sc, inst in zip(fan.scenarios, fan.instances):
        alone = solve(formulation.build(inst, strict=outcome.strict), options, with_duals=False)
        if alone.status != "optimal":  # a relaxation of a solved model: only a time limit can stop it
            raise SolverError(f"scenario {sc.name} solved alone (for WS) ended {alone.status}: {alone.message}")
        ws_each.append(alone.objective)
    ws_each = np.array(ws_each)
    risk = lambda costs: _risk_measure(costs, pi, outcome.risk, outcome.risk_level, outcome.risk_weight)  # noqa: E731
    eev, reason = expected_value_of_ev_solution(outcome)
    return Measures(rp=float(outcome.solution.objective), ws=risk(ws_each), ws_by_scenario=ws_each,
                    eev=eev, eev_reason=reason)


def expected_value_of_ev_solution(outcome: StochasticOutcome) -> tuple[float | None, str]:
    """EEV: solve the EV problem, fix its decisions at every node common to all scenarios, re-solve."""
    fan, form, options = outcome.fan, outcome.form, outcome.options
    ev_program = formulation.build(expected_value_instance(fan), strict=outcome.strict)
    ev = solve(ev_program, options, with_duals=False)
    if ev.status != "optimal":
        return None, f"the expected-value problem has no plan ({ev.status}: {ev.message})"
    program = form.program
    n_s = len(fan.scenarios)
    local = np.flatnonzero(form.col_members[form.col_map[0]] == n_s)  # scenario 0's columns shared by all
    columns = form.col_map[0][local]
    values = _onto_bounds(ev.x[local], program.col_lower[columns], program.col_upper[columns])
    values = np.where(program.col_integer[columns], np.round(values), values)
    if _within(values, program.col_lower[columns], program.col_upper[columns]):
        fixed = solve(_fixed(program, columns, values), options, with_duals=False)
        if fixed.status == "optimal":
            return float(fixed.objective), ""
    # name the scenarios whose own data (not the committed bounds all scenarios share) refuse the plan
    culprits = []
    for s, inst in enumerate(fan.instances):
        lp = formulation.build(inst, strict=outcome.strict)
        if not _within(values, lp.col_lower[local], lp.col_upper[local]) or \
                solve(_fixed(lp, local, values), options, with_duals=False).status != "optimal":
            culprits.append(fan.scenarios[s].name)
    where = (f"in scenario {', '.join(culprits)}" if culprits
             else "in the scenarios together (each alone is feasible)")
    return None, f"the expected-value plan's common decisions are infeasible {where}"


def _within(values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> bool:
    return bool(np.all((values >= lower) & (values <= upper)))


def _fixed(program: LinearProgram, columns: np.ndarray, values: np.ndarray) -> LinearProgram:
    """``program`` with ``columns`` fixed at ``values`` (fixed integer columns become continuous)."""
    lower, upper, integer = program.col_lower.copy(), program.col_upper.copy(), program.col_integer.copy()
    lower[columns] = upper[columns] = values
    integer[columns] = False
    return replace(program, col_lower=lower, col_upper=upper, col_integer=integer)


def _onto_bounds(values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Solver values within FIX_TOL (relative) outside a bound moved onto it; others left (and found infeasible)."""
    slack_up = FIX_TOL * np.maximum(1.0, np.abs(np.where(np.isfinite(upper), upper, 0.0)))
    slack_low = FIX_TOL * np.maximum(1.0, np.abs(np.where(np.isfinite(lower), lower, 0.0)))
    values = np.where((values > upper) & (values <= upper + slack_up), upper, values)
    return np.where((values < lower) & (values >= lower - slack_low), lower, values)


def load_stochastic(workbook, model=None, scenario_files=(), raw=None) -> tuple[WorkbookData, list[StochasticScenario]]:
    """Read and check ``workbook``, apply ``--model``, and gather the scenarios of its ``Scenarios`` and
    ``Shocks`` sheets and of each ``--scenario`` file; every problem of all of them is raised at once.
    ``raw``: the workbook already read (procure.workbook.read_workbook), so it is read once.

    Returns the data (the base of every scenario) and the scenarios ([] for a deterministic workbook).
    """
    from procure import scenario as scenario_files_module
    from procure.pipeline import load
    from procure.scenario_sheets import collect_scenario_sheets
    from procure.validate import Collector
    from procure.workbook import read_workbook

    raw = raw if raw is not None else read_workbook(workbook)
    data = load(workbook, model, raw=raw)  # the deterministic path's read, check and --model
    out = Collector(raw.path.name)
    scenarios = collect_scenario_sheets(raw, data, out)
    problems = list(out.problems)
    for path in scenario_files:
        try:
            scenarios.append(scenario_files_module.load_stochastic_scenario(path, data))
        except InputError as exc:
            problems += exc.problems + exc.warnings
    commit = getattr(data.policy, "commit_through", None)
    if commit is not None and data.periods and type(commit) is not type(data.periods[0]):
        problems.append(Problem("is not comparable with the workbook's periods ("
                                + ", ".join(str(p) for p in data.periods[:4]) + ", ...)",
                                sheet="Policy", column="commit_through", value=commit))
    if scenarios:
        try:
            check_scenarios(scenarios)
        except InputError as exc:
            problems += exc.problems
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    data.warnings.extend(p for p in problems if p.severity == "warning")
    return data, scenarios
