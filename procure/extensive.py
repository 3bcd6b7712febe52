r"""The extensive form of a scenario fan (STOCKPILE.md): decision nodes -> one linear program.

Each scenario ``s`` (probability ``pi[s]``) has its own instance and its own
:class:`~procure.program.LinearProgram`, built by :func:`procure.formulation.build`
unchanged; because the instance orders offers canonically and shocks only change
numbers, the programs of all scenarios have the same columns in the same
positions ("local" columns).

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

Objective, with ``cost[s] = c_s . x_s + const_s`` (scenario s's own objective: spend plus penalties)::

    expected:  min  sum_s pi[s] cost[s]
    worst:     min  z              s.t.  cost[s] - z <= 0                 (row block worst_cost)
    cvar:      min  (1 - lam) sum_s pi[s] cost[s] + lam (eta + 1/(1 - alpha) sum_s pi[s] u[s])
                                   s.t.  cost[s] - eta - u[s] <= 0, u >= 0  (row block cvar_excess)

Agreement fixed costs ``F y`` are in every ``cost[s]``; they are the same in
every scenario, and each risk measure here is translation-equivariant, so
this equals ``F y + risk(cost without F y)`` of STOCKPILE.md.
(``eta >= 0`` is no restriction: every cost is >= 0, so the optimal eta,
a quantile of the costs, is too.)

A fan of one scenario (a deterministic plan) is its own extensive form: the
scenario's program itself, every map the identity.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from procure import formulation
from procure.data import Period
from procure.families import CVAR_EXCESS, WORST_COST
from procure.instance import Instance
from procure.program import INF, Block, LinearProgram

RISKS = ("expected", "worst", "cvar")


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


def shared_periods(instances: list[Instance], commit_through: Period | None = None) -> int:
    """How many leading periods have one decision node for every scenario: those through the Policy
    ``commit_through`` and those before the first period where the scenarios' data differ (a plan of one
    scenario shares every period). Beyond them, each scenario's purchases are its own."""
    if len(instances) <= 1:
        return len(instances[0].periods) if instances else 0
    classes = data_classes(instances)
    together = int(np.argmin(np.append((classes == classes[0]).all(axis=0), False)))
    return max(together, _commit_index(list(instances[0].periods), commit_through))


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


def risk_value(costs: np.ndarray, probabilities: np.ndarray, risk: str, alpha: float, weight: float) -> float:
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
    if len(programs) == 1:  # one scenario: its program is the extensive form
        return _single(programs[0], probabilities, risk, classes, timings)

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
        z = Block(WORST_COST.name, parts.n_cols, 1, {})
        parts.add_columns(z, np.zeros(1), np.full(1, INF), np.zeros(1, bool), np.full(1, n_s))
        extra_cost = [np.ones(1)]
        risk_columns = lambda s: ([z.start], [-1.0])  # noqa: E731
        family = WORST_COST.name
    else:
        eta = Block("cvar_eta", parts.n_cols, 1, {})
        parts.add_columns(eta, np.zeros(1), np.full(1, INF), np.zeros(1, bool), np.full(1, n_s))
        excess = Block(CVAR_EXCESS.name, parts.n_cols, n_s, {"scenario": np.arange(n_s)})
        parts.add_columns(excess, np.zeros(n_s), np.full(n_s, INF), np.zeros(n_s, bool), np.ones(n_s, np.int64))
        extra_cost = [np.full(1, lam), lam * pi / (1.0 - alpha)]
        risk_columns = lambda s: ([eta.start, excess.start + s], [-1.0, -1.0])  # noqa: E731
        family = CVAR_EXCESS.name
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



def _single(program: LinearProgram, probabilities: np.ndarray, risk: str, classes: np.ndarray,
            timings: dict) -> ExtensiveForm:
    """The extensive form of a one-scenario fan: the scenario's program, every map the identity.

    (With one scenario each risk measure of its cost is the cost itself.)
    """
    stats = {
        "scenarios": 1,
        "columns_before_sharing": program.n_cols, "columns": program.n_cols,
        "decision_columns": program.n_cols,
        "rows_before_sharing": program.n_rows, "rows": program.n_rows,
        "nonzeros_before_sharing": int(program.a_start[-1]), "nonzeros": int(program.a_start[-1]),
        "nodes": int(len(np.unique(classes))),
        "timings": dict(timings, extensive_form_s=0.0),
    }
    return ExtensiveForm(program, [program], [np.arange(program.n_cols)], [np.arange(program.n_rows)],
                         np.ones(program.n_cols, dtype=np.int64), np.asarray(probabilities, dtype=float), risk,
                         stats, classes)
