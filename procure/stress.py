r"""``procure stress``: a committed plan against thousands of sampled disruptions (STOCKPILE.md).

A draw ``i`` samples which Risks events start in which periods from its own
random stream (``SeedSequence(seed, spawn_key=(i,))``, i.e. child ``i`` of
``SeedSequence(seed).spawn``), so its figures never depend on the number of
workers or on how draws are grouped into chunks. Sampling: for each event e
and each period t of its start window in which e is not in progress, e starts
with probability q[e] (independent uniforms ``U[e, t] < q[e]``, one per event
and period); once started it lasts ``duration`` periods (cut at the horizon)
and may start again after it ends. An event is the Risks rows that share its
name: its effects (f) start and last together.

The data while events are in progress, for offer-period k and mineral m
(products and sums over the effects in progress in k's period that hit k, or m):

    u'[k] = u[k] * prod capacity[f]     p'[k] = p[k] * prod price[f]
    D'[m, t] = D[m, t] + sum extra_demand[f]
    G'[m, t] = 0 in the release periods of m, else G[m, t]

where m's release periods are the periods an effect hits m (cuts the capacity or
raises the price of one of its offers, or adds to its demand) and the
``rebuild_periods`` periods after each run of them (STOCKPILE.md).

The recourse is the elastic linear program of FORMULATION.md
(``formulation.build(..., elastic=True)``) on those data with the committed
decisions fixed: every agreement decision y as in the plan, and each purchase
of a period up to ``commit_through`` fixed at ``min(committed, u'[k])`` (a
committed order delivers what the shocked offer can). Everything else is
re-decided. Because the rules (China and country caps, ally share, average
ESG, budgets) are elastic, a draw in which the fixed commitments make a rule
impossible still has an answer; the rules that had to give are counted and
listed per draw. With y fixed, the agreement rows ``x - u y <= 0`` and
``x - l y >= 0`` are redundant with x's bounds, so they are freed once and
x's bounds carry them (``[min(l, u'), u']`` when signed, ``[0, 0]`` when not).
Price shocks scale x's cost and x's coefficients in the rows that hold
prices (budgets, and the share rows when ``share_basis`` is value): a price
shock applies to every purchase of the period, committed or not.

Foresight. ``none`` (the default) plays a draw period by period: the decisions
of period t are those of the recourse over t..end whose data hold only the
events started by t (each lasting its stated duration, no other starting),
with the purchases and shortfall of every earlier period fixed as decided
(the reserve then follows from the balance rows). ``full`` solves the draw's
recourse once on its whole data: an optimistic bound, since 2028 may then buy
ahead for a ban that starts in 2029.

Each worker builds the HiGHS model once per base program (cached by a
token) and per solve changes only the bounds, costs, coefficients and right
sides that differ from what the model holds, then re-solves warm (dual
simplex) from a basis fixed by the draw: the optimal basis of the program
without events for a draw's first solve, the basis its previous solve ended
with for each later one. A solve's answer thus depends on its own data and
the draw's earlier periods only, never on what the worker solved before
(alternative optima would otherwise make figures depend on the chunking), and
a solve whose knowledge (the starts up to its period) repeats an earlier one
on the worker reuses its answer (:meth:`_Recourse.play`). A draw that does
not end optimal is retried once from scratch; if it fails again, or the
``--time-limit`` deadline passes first, it is listed in ``failed_draws`` with
the reason and left out of the statistics, never dropped silently.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from procure import formulation, pipeline
from procure.errors import InputError, Problem, ProcureError, SolverError
from procure.families import BALANCE, FAMILIES, build_reserve_target
from procure.instance import Instance, build_instance, release_periods
from procure.program import LinearProgram
from procure.risks import RiskEvent, RiskMasks, read_risks, risk_masks
from procure.solve import SolveOptions, Status, highs_model, quiet_stdout, row_scale
from procure.validate import validate
from procure.workbook import file_sha256, read_plan, read_plan_sheet, read_workbook

DEFAULT_CHUNK = 250  # draws per Dask task: a few seconds of work, small results
# Per-draw solves: rows are already scaled by powers of two (solve.row_scale) and the objective by
# user_objective_scale, so HiGHS's own scaling only costs iterations (measured on the sample with risks;
# benchmarks/RESULTS.md) and Devex pricing is cheaper per iteration than dual steepest edge (benchmarks/stress.py).
FAST_OPTIONS = {"simplex_scale_strategy": 0, "simplex_dual_edge_weight_strategy": 1}
RETRY_OPTIONS = {"simplex_scale_strategy": 2, "simplex_dual_edge_weight_strategy": -1, "presolve": "on"}
ZERO_TOL = 1e-7  # relative to a mineral's scale: solver noise below it is 0
SLACK_TOL = 1e-6  # a rule's slack above this (in the row's unit) means the rule had to give


# ---------------------------------------------------------------- committed decisions


@dataclass
class Commitment:
    """The decisions fixed before any shock is known.

    ``signed[j]``: 1 when optional agreement j (position in the program's y
    block) is signed; ``committed_x[k]``: the quantity ordered from offer-period
    k (position in the x block) when its period is at or before
    ``commit_through`` (a period index), NaN otherwise.
    """

    signed: np.ndarray
    committed_x: np.ndarray
    commit_through: int


def commitment_from_values(program: formulation.LinearProgram, inst: Instance, x: np.ndarray,
                           commit_through: int) -> Commitment:
    """The commitment held by a solution vector ``x`` of ``program`` (the plan ``solve`` would write)."""
    y_block, x_block = program.columns["y"], program.columns["x"]
    signed = np.round(x[y_block.slice()]).astype(float)
    bought = np.where(np.abs(x[x_block.slice()]) <= 1e-9 * np.maximum(1.0, inst.op_capacity), 0.0,
                      x[x_block.slice()])
    committed = np.where(inst.op_period <= commit_through, bought, np.nan)
    return Commitment(signed, committed, commit_through)


def _period_text(value: object) -> str:
    """A period as text; 2027.0 (a year read back through pandas as a float) is 2027."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _label_key(text: object) -> str:
    return "".join(ch for ch in str(text).casefold() if ch not in " _-")


def commitment_from_plan(path: Path, inst: Instance, program: formulation.LinearProgram,
                         commit_through: int) -> Commitment:
    """Read the committed decisions back from a plan workbook written by ``procure solve``.

    Allocation rows are keyed by ``offer_row`` (the offer's row in the input's
    Offers sheet) and ``period``; Agreements rows by the ``row N`` ending the
    ``offer`` text (or an ``offer_row`` column) with ``signed`` yes/no. The plan's
    Summary ``input_sha256`` (label matched ignoring case, spaces, underscores and
    hyphens) must equal the workbook's SHA-256.
    """


    path = Path(path)
    summary, allocation = read_plan(path)
    file = path.name
    problems: list[Problem] = []
    sha = next((v for k, v in summary.items() if _label_key(k) == "inputsha256"), None)
    if sha is None:
        problems.append(Problem("the Summary has no input SHA-256 item, so the plan cannot be matched to the "
                                "workbook; write the plan again with procure solve", "Summary", file=file))
    elif str(sha).strip().lower() != inst.data.sha256:
        problems.append(Problem(
            f"the plan was made from a different workbook: its input SHA-256 is {sha}, the workbook "
            f"'{inst.data.source.name}' has {inst.data.sha256}; solve the plan again from this workbook",
            "Summary", value=str(sha), file=file))
    offer_of_row = {o.row: i for i, o in enumerate(inst.offers)}
    period_of_label = {_period_text(p): t for t, p in enumerate(inst.periods)}
    x_position = {(int(o), int(t)): k for k, (o, t) in enumerate(zip(inst.op_offer, inst.op_period))}
    committed = np.where(inst.op_period <= commit_through, 0.0, np.nan)
    columns = {_label_key(c): c for c in allocation.columns if c is not None}
    for needed in ("offerrow", "period", "quantity"):
        if needed not in columns:
            problems.append(Problem(f"missing column '{needed}' (expected offer_row, period and quantity)",
                                    "Allocation", 1, file=file))
    read_already: set[int] = set()
    if not any(p.sheet == "Allocation" for p in problems):
        for index, row in enumerate(allocation.to_dict("records")):
            excel_row = index + 2
            offer_row, period, quantity = (row[columns["offerrow"]], row[columns["period"]],
                                           row[columns["quantity"]])
            if offer_row is None and period is None:
                continue
            try:
                o = offer_of_row[int(offer_row)]
            except (KeyError, TypeError, ValueError):
                problems.append(Problem("names no offer the workbook keeps (an offer row of its Offers sheet "
                                        "that is not excluded)", "Allocation", excel_row, "offer_row", offer_row,
                                        file=file))
                continue
            t = period_of_label.get(_period_text(period))
            k = x_position.get((o, t)) if t is not None else None
            if k is None:
                problems.append(Problem(f"offer row {_period_text(offer_row)} does not cover this period in the "
                                        "workbook", "Allocation", excel_row, "period", period, file=file))
                continue
            if not isinstance(quantity, (int, float)) or not math.isfinite(quantity) or quantity < 0:
                problems.append(Problem("expected a quantity >= 0", "Allocation", excel_row, "quantity", quantity,
                                        file=file))
                continue
            if t <= commit_through:
                if k in read_already:  # a stochastic plan decides this purchase per scenario: not committed
                    problems.append(Problem(
                        "the plan decides this purchase differently per scenario (a stochastic plan's period "
                        "after its scenarios part), so it cannot be committed; give an earlier --commit-through",
                        "Allocation", excel_row, "period", period, file=file))
                read_already.add(k)
                committed[k] = float(quantity)
    y_block = program.columns["y"]
    signed = np.zeros(y_block.size)
    if y_block.size:
        agreements = read_plan_sheet(path, "Agreements")
        if agreements is None:
            problems.append(Problem("the plan has no Agreements sheet, but the workbook has optional agreements",
                                    "Agreements", file=file))
        else:
            header, rows = agreements
            keys = [_label_key(h) for h in header]
            y_of_offer = {int(o): j for j, o in enumerate(y_block.keys["offer"])}
            seen = set()
            for excel_row, values in rows:
                record = dict(zip(keys, values))
                row_number = record.get("offerrow")
                if row_number is None:
                    match = re.search(r"row\s+(\d+)\s*$", str(record.get("offer", "")))
                    row_number = int(match.group(1)) if match else None
                o = offer_of_row.get(int(row_number)) if isinstance(row_number, (int, float)) else None
                if o is None:
                    problems.append(Problem("names no offer the workbook keeps", "Agreements", excel_row, "offer",
                                            record.get("offer"), file=file))
                    continue
                if o not in y_of_offer:
                    continue  # an agreement already signed in the workbook: no decision
                answer = str(record.get("signed", "")).strip().casefold()
                if answer not in ("yes", "no"):
                    problems.append(Problem("expected yes or no", "Agreements", excel_row, "signed",
                                            record.get("signed"), file=file))
                    continue
                signed[y_of_offer[o]] = 1.0 if answer == "yes" else 0.0
                seen.add(o)
            missing = [inst.offers[o].offer_id(inst.data.names) for o in y_of_offer if o not in seen]
            if missing:
                problems.append(Problem("has no signed yes/no for the optional agreement(s) "
                                        + "; ".join(missing[:5]) + ("; ..." if len(missing) > 5 else ""),
                                        "Agreements", file=file))
    if problems:
        raise InputError(problems)
    return Commitment(signed, committed, commit_through)


# ---------------------------------------------------------------- the base recourse program


# The reserve-target rows (FORMULATION.md constraint 2), found by their builder: the registry has no module
# constant for them, and no module but the registry spells a family name.
RESERVE_TARGET = next(f for f in FAMILIES if f.build is build_reserve_target)


@dataclass
class RecourseBase:
    """What a worker needs to build and shock the recourse program: numpy arrays only (cheap to send).

    Matrix rows are already scaled by powers of two (``solve.row_scale``);
    ``row_lower``/``row_upper`` too. ``token`` identifies the content.
    """

    token: str
    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    a_start: np.ndarray
    a_index: np.ndarray
    a_value: np.ndarray
    row_scale: np.ndarray
    objective_constant: float
    n_minerals: int
    n_periods: int
    x_start: int
    shortfall_start: int
    reserve_start: int
    balance_start: int
    target_start: int  # first reserve-target row: r[m,t] + d[m,t] >= G[m,t], row target_start + m * T + t
    op_period: np.ndarray
    op_capacity: np.ndarray  # u[k], units/period, after --model shocks
    op_min_volume: np.ndarray  # l[k] where x's lower bound applies (0 where it does not)
    op_price_usd: np.ndarray
    x_allowed: np.ndarray  # bool: y fixed at 1 (spot, signed, or an optional agreement signed)
    committed_x: np.ndarray  # NaN where not committed
    demand: np.ndarray  # (M, T)
    reserve_target: np.ndarray  # (M, T) G, units: the target in a period no draw's event releases
    rebuild_periods: int  # Policy: periods after a run of hits that a target stays released
    initial_reserve: np.ndarray  # (M,)
    holding_cost_usd: np.ndarray  # (M,) h, USD/unit/period
    fixed_spend_usd: float  # fixed costs of the agreements in force (signed, and optional ones signed)
    mineral_scale: np.ndarray  # (M,) size of the mineral's figures, for the zero tolerance
    price_entries: np.ndarray  # positions in a_value of x coefficients proportional to price
    price_entry_column: np.ndarray  # x position (0-based in the x block) of each such entry
    price_entry_row: np.ndarray
    slack_start: int
    slack_family: np.ndarray  # per slack column, index into ``families``
    families: tuple[str, ...]
    masks: RiskMasks
    # the offer-periods effect f hits when its event is in progress in period t: with p = f * periods + t,
    # hit_index[hit_start[p]:hit_start[p + 1]] (a draw touches only the offer-periods of its events)
    hit_start: np.ndarray
    hit_index: np.ndarray


def event_period_hits(masks: RiskMasks, op_period: np.ndarray, n_periods: int) -> tuple[np.ndarray, np.ndarray]:
    """``(hit_start, hit_index)`` of :class:`RecourseBase` from the effects' (F, K) mask."""
    lists = [np.flatnonzero(masks.hits_offer_period[f] & (op_period == t))
             for f in range(len(masks.effect_event)) for t in range(n_periods)]
    start = np.zeros(len(lists) + 1, dtype=np.int64)
    start[1:] = np.cumsum([len(hits) for hits in lists], dtype=np.int64)
    index = np.concatenate(lists).astype(np.int64) if lists else np.zeros(0, dtype=np.int64)
    return start, index


def build_base(inst: Instance, commitment: Commitment, events: list[RiskEvent]) -> RecourseBase:
    """The elastic recourse program of ``inst`` with ``commitment`` fixed, as arrays for the workers."""
    lp = formulation.build(inst, elastic=True)
    x, y = lp.columns["x"], lp.columns["y"]
    col_lower, col_upper = lp.col_lower.copy(), lp.col_upper.copy()
    col_lower[y.slice()] = commitment.signed
    col_upper[y.slice()] = commitment.signed
    row_lower, row_upper = lp.row_lower.copy(), lp.row_upper.copy()
    for name in [f.name for f in FAMILIES if f.redundant_once_agreements_fixed]:  # (they would hold u fixed)
        block = lp.rows.get(name)
        if block is not None:
            row_lower[block.slice()] = -np.inf
            row_upper[block.slice()] = np.inf
    kind = inst.offer_kind[inst.op_offer]
    signed_offer = np.zeros(len(inst.offers), dtype=bool)
    signed_offer[y.keys["offer"][commitment.signed > 0.5]] = True
    x_allowed = (kind != "optional") | signed_offer[inst.op_offer]
    min_volume = np.where(x_allowed, inst.op_min_volume, 0.0)
    scale = row_scale(lp)
    a_value = lp.a_value * np.repeat(scale, np.diff(lp.a_start))
    # x coefficients that are prices: spend in the budget rows, weights of value shares
    families = [f.name for f in FAMILIES
                if f.holds_prices or (f.holds_value_shares and inst.policy.share_basis == "value")]
    row_of_entry = np.repeat(np.arange(lp.n_rows), np.diff(lp.a_start))
    in_family = np.zeros(lp.n_rows, dtype=bool)
    for name in families:
        block = lp.rows.get(name)
        if block is not None:
            in_family[block.slice()] = True
    entries = np.flatnonzero(in_family[row_of_entry] & (lp.a_index >= x.start) & (lp.a_index < x.stop))
    slack = lp.columns.get("slack")
    # each slack column loosens one row (key "row"): name it by the row family it belongs to
    elastic_families: list[str] = []
    slack_family = np.zeros(0, dtype=np.int64)
    if slack is not None:
        slack_rows = slack.keys["row"]
        slack_family = np.full(slack.size, -1, dtype=np.int64)
        for name, block in lp.rows.items():
            in_block = (slack_rows >= block.start) & (slack_rows < block.stop)
            if in_block.any():
                slack_family[in_block] = len(elastic_families)
                elastic_families.append(name)
    n_m, n_t = len(inst.mineral_keys), len(inst.periods)
    masks = risk_masks(events, inst)
    hit_start, hit_index = event_period_hits(masks, inst.op_period, n_t)
    largest_extra = masks.extra_demand.sum(axis=0) if len(masks.effect_event) else np.zeros(n_m)
    base = RecourseBase(
        token="", col_cost=lp.col_cost.copy(), col_lower=col_lower, col_upper=col_upper,
        row_lower=row_lower * scale, row_upper=row_upper * scale,
        a_start=lp.a_start.astype(np.int32), a_index=lp.a_index.astype(np.int32), a_value=a_value,
        row_scale=scale, objective_constant=lp.objective_constant, n_minerals=n_m, n_periods=n_t,
        x_start=x.start, shortfall_start=lp.columns["shortfall"].start, reserve_start=lp.columns["reserve"].start,
        balance_start=lp.rows[BALANCE.name].start, target_start=lp.rows[RESERVE_TARGET.name].start,
        op_period=inst.op_period.copy(),
        op_capacity=inst.op_capacity.copy(), op_min_volume=min_volume, op_price_usd=inst.op_price_usd.copy(),
        x_allowed=x_allowed, committed_x=commitment.committed_x.copy(), demand=inst.demand.copy(),
        reserve_target=inst.reserve_target.copy(),
        rebuild_periods=int(inst.policy.rebuild_periods),
        initial_reserve=inst.initial_reserve.copy(), holding_cost_usd=inst.holding_cost_usd.copy(),
        # the agreements' fixed costs are constants once y is fixed: those signed in the workbook (the
        # program's constant) and the optional ones the plan signs
        fixed_spend_usd=float(lp.objective_constant + lp.col_cost[y.slice()] @ commitment.signed),
        mineral_scale=np.maximum.reduce([np.ones(n_m), inst.demand.max(axis=1, initial=0.0) + largest_extra,
                                         inst.initial_reserve]),
        price_entries=entries, price_entry_column=lp.a_index[entries] - x.start,
        price_entry_row=row_of_entry[entries],
        slack_start=slack.start if slack is not None else lp.n_cols, slack_family=slack_family,
        families=tuple(elastic_families), masks=masks, hit_start=hit_start, hit_index=hit_index,
    )
    base.token = _token(base)
    return base


def _token(base: RecourseBase) -> str:
    digest = hashlib.sha256()
    for name, value in sorted(vars(base).items()):
        if isinstance(value, np.ndarray):
            digest.update(name.encode() + np.ascontiguousarray(value).tobytes())
        elif isinstance(value, RiskMasks):
            for array in vars(value).values():
                digest.update(np.ascontiguousarray(array).tobytes())
        elif name != "token":
            digest.update(f"{name}={value!r}".encode())
    return digest.hexdigest()[:24]


# ---------------------------------------------------------------- sampling


def draw_rng(seed: int, draw: int) -> np.random.Generator:
    """Draw ``draw``'s own stream: child ``draw`` of ``SeedSequence(seed)`` (as ``spawn`` makes it)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(draw,)))


def sample_chunk(masks: RiskMasks, n_periods: int, seed: int, start: int, stop: int) \
        -> tuple[np.ndarray, np.ndarray]:
    """(in_progress, started), each (draws, events, periods) bool, for draws ``start .. stop - 1``.

    One uniform per event and period, drawn up front from the draw's own stream
    (so a period's outcome does not depend on the others'); event e starts in t
    when t lies in its start window, it is not in progress and ``U[e, t] < q[e]``,
    and then lasts ``duration[e]`` periods. The rule runs for all the chunk's draws at once.
    """
    n, n_e = max(stop - start, 0), len(masks.probability)
    uniforms = np.empty((n, n_e, n_periods))
    for i, draw in enumerate(range(start, stop)):
        uniforms[i] = draw_rng(seed, draw).random((n_e, n_periods))
    in_progress = np.zeros((n, n_e, n_periods), dtype=bool)
    started = np.zeros((n, n_e, n_periods), dtype=bool)
    remaining = np.zeros((n, n_e), dtype=np.int64)
    for t in range(n_periods):
        begins = (remaining == 0) & (uniforms[:, :, t] < masks.probability) & masks.start_allowed[:, t]
        remaining = np.where(begins, masks.duration_periods, remaining)
        started[:, :, t] = begins
        in_progress[:, :, t] = remaining > 0
        remaining = np.maximum(remaining - 1, 0)
    return in_progress, started


def sample_events(masks: RiskMasks, n_periods: int, seed: int, draw: int) -> tuple[np.ndarray, np.ndarray]:
    """(in_progress, started), each (events, periods) bool, for draw ``draw`` (see :func:`sample_chunk`)."""
    in_progress, started = sample_chunk(masks, n_periods, seed, draw, draw + 1)
    return in_progress[0], started[0]


def in_progress_of(started: np.ndarray, duration_periods: np.ndarray) -> np.ndarray:
    """(events, periods) bool: the periods each start of ``started`` lasts, ``duration`` periods from it (cut
    at the horizon). Of a draw's whole ``started`` it is the draw's ``in_progress``; of the starts up to
    period t it is what is known in t (no foresight: each known event lasts its stated duration)."""
    in_progress = np.zeros(started.shape, dtype=bool)
    for e, t in zip(*np.nonzero(started)):
        in_progress[e, t:t + int(duration_periods[e])] = True
    return in_progress


@dataclass(frozen=True)
class DrawData:
    """The data of a draw (or of what a period of it knows): factors on each offer-period's capacity and
    price, extra demand per mineral and period (units), and the effective reserve target per mineral and
    period (units: 0 in release periods). Never changed once made (a worker keeps references)."""

    capacity_factor: np.ndarray  # (K,)
    price_factor: np.ndarray  # (K,)
    extra_demand: np.ndarray  # (M, T)
    reserve_target: np.ndarray  # (M, T)


_CALM: dict[str, DrawData] = {}  # per base token: the data without events, made once


def calm_data(base: RecourseBase) -> DrawData:
    """The data of a draw without events: factors 1, no extra demand, the targets G."""
    data = _CALM.get(base.token)
    if data is None:
        _CALM.clear()
        n_k = len(base.op_capacity)
        data = _CALM[base.token] = DrawData(np.ones(n_k), np.ones(n_k), np.zeros((base.n_minerals, base.n_periods)),
                                            base.reserve_target.copy())
    return data


def shocked_data(base: RecourseBase, in_progress: np.ndarray) -> DrawData:
    """The data of a draw whose events are ``in_progress`` (events, periods): products over the effects
    in progress in k's period that hit k, in effect order, sums of their extra demand, and the reserve
    target released (0) in the release periods of the minerals they hit (STOCKPILE.md)."""
    masks, n_t = base.masks, base.n_periods
    effect_on = in_progress[masks.effect_event]
    pairs = np.flatnonzero(effect_on).tolist()  # effect-major: each k meets its effects in order
    if not pairs:
        return calm_data(base)
    n_k = len(base.op_capacity)
    capacity, price = np.ones(n_k), np.ones(n_k)
    hit = np.zeros((base.n_minerals, n_t), dtype=bool)
    for pair in pairs:
        effect, t = divmod(pair, n_t)
        hits = base.hit_index[base.hit_start[pair]:base.hit_start[pair + 1]]
        if len(hits):
            capacity[hits] *= masks.capacity_factor[effect]
            price[hits] *= masks.price_factor[effect]
        hit[:, t] |= masks.hits_mineral_period[effect, :, t]
    extra = masks.extra_demand.T @ effect_on  # (M, T)
    target = np.where(release_periods(hit, base.rebuild_periods), 0.0, base.reserve_target)
    return DrawData(capacity, price, extra, target)


# ---------------------------------------------------------------- the worker side


FORESIGHTS = ("none", "full")
CACHE_BYTES = 128 * 2**20  # per worker: the solutions kept for draws (or periods of draws) that repeat
VIEW_BYTES = 64 * 2**20  # per worker: the data of the event patterns met


@dataclass(frozen=True)
class _View:
    """What a worker's model holds for a draw's data before any period is fixed (see :meth:`_Recourse.view`);
    never changed once made."""

    lower: np.ndarray  # (K,) x
    upper: np.ndarray  # (K,) x
    price_factor: np.ndarray  # (K,)
    rhs: np.ndarray  # (M * T,) balance rows, unscaled
    s_upper: np.ndarray  # (M * T,) shortfall: demand
    target: np.ndarray  # (M * T,) reserve-target rows, unscaled


class _Recourse:
    """A HiGHS model of a :class:`RecourseBase`, kept between draws; per solve only what differs is changed."""

    def __init__(self, base: RecourseBase):
        import highspy

        self.base = base
        self.highspy = highspy
        n_cols, n_rows = len(base.col_cost), len(base.row_lower)
        program = LinearProgram(  # the base's arrays, rows already scaled
            col_cost=base.col_cost, col_lower=base.col_lower, col_upper=base.col_upper,
            col_integer=np.zeros(n_cols, dtype=bool), columns={}, row_lower=base.row_lower,
            row_upper=base.row_upper, rows={}, a_start=base.a_start, a_index=base.a_index, a_value=base.a_value,
            objective_constant=base.objective_constant)
        # one solver thread per worker process (no oversubscription); a warm-started dual simplex needs no
        # presolve
        highs = highs_model(program, np.ones(n_rows), threads=1, presolve="off", **FAST_OPTIONS)
        with quiet_stdout(True):
            # the elastic slacks cost 1000 x the largest shortfall penalty (billions of USD a unit on the sample):
            # HiGHS's dual simplex fails on such costs ("excessive dual values") unless the objective
            # is scaled down; a power of two, so the optimum's digits do not change
            largest_cost = float(np.abs(base.col_cost).max(initial=1.0))
            highs.setOptionValue("user_objective_scale",
                                 -max(0, int(math.ceil(math.log2(max(largest_cost, 1.0)))) - 20))
        self.highs = highs
        n_k, n_mt = len(base.op_capacity), base.n_minerals * base.n_periods
        # what the model holds now, to change only what differs (arrays replaced, never changed in place,
        # except x's bounds); x's costs are the base prices times price_factor
        self.x_lower = base.col_lower[base.x_start:base.x_start + n_k].copy()
        self.x_upper = base.col_upper[base.x_start:base.x_start + n_k].copy()
        self.price_factor = np.ones(n_k)
        self.rhs = base.row_lower[base.balance_start:base.balance_start + n_mt] \
            / base.row_scale[base.balance_start:base.balance_start + n_mt]
        self.s_lower = np.zeros(n_mt)
        self.s_upper = base.col_upper[base.shortfall_start:base.shortfall_start + n_mt].copy()
        self.target = base.reserve_target.ravel().copy()
        self.x_source: tuple = (None, None)  # the arrays x's bounds were last set from (all held arrays are
        # replaced, never changed in place, so the same array object means the same values)
        # fixed for the model's life
        self.x_capacity = np.where(base.x_allowed, base.op_capacity, 0.0)
        self.committed = ~np.isnan(base.committed_x)
        self.any_committed = bool(self.committed.any())
        self.committed_value = np.where(self.committed, base.committed_x, 0.0)
        self.reserve_at_start = np.zeros((base.n_minerals, base.n_periods))
        self.reserve_at_start[:, 0] = base.initial_reserve  # r[m, t0 - 1] = R0 is on the balance's right side
        self.reserve_at_start = self.reserve_at_start.ravel()
        self.zeros_mt, self.infinite = np.zeros(n_mt), np.full(n_mt, np.inf)
        self.x_past = [base.op_period < t for t in range(base.n_periods + 1)]
        self.s_past = [np.arange(n_mt) % base.n_periods < t for t in range(base.n_periods + 1)]
        self.x_index = np.arange(base.x_start, base.x_start + n_k, dtype=np.int32)
        self.s_index = np.arange(base.shortfall_start, base.shortfall_start + n_mt, dtype=np.int32)
        self.balance_index = np.arange(base.balance_start, base.balance_start + n_mt, dtype=np.int32)
        self.balance_scale = base.row_scale[self.balance_index]
        self.target_index = np.arange(base.target_start, base.target_start + n_mt, dtype=np.int32)
        self.target_scale = base.row_scale[self.target_index]
        self.holding = np.repeat(base.holding_cost_usd, base.n_periods)
        self.x_cols = slice(base.x_start, base.x_start + n_k)
        self.s_cols = slice(base.shortfall_start, base.shortfall_start + n_mt)
        self.r_cols = slice(base.reserve_start, base.reserve_start + n_mt)
        # the price coefficients of each x column k: (row, column, coefficient at the base price), as Python
        # numbers (changed one HiGHS call at a time: plain tuples cost less than numpy scalars there)
        self.price_coefficients: dict[int, list[tuple[int, int, float]]] = {}
        for entry, k, row in zip(base.price_entries.tolist(), base.price_entry_column.tolist(),
                                 base.price_entry_row.tolist()):
            self.price_coefficients.setdefault(k, []).append((row, k + base.x_start, float(base.a_value[entry])))
        self.cache: dict[bytes, list] = {}
        self.cache_bytes = 0
        self.views: dict[bytes, _View] = {}
        self.views_bytes = 0
        self.deadline: float | None = None
        self.limited = False  # whether HiGHS's time_limit is set (to the time left before the deadline)
        # every draw starts from the optimal basis of the draw without events (commitments fixed), and each
        # later period of a draw from the basis its previous solve ended with: a solve's answer then depends
        # on its own data and that of the periods before it in the draw, never on what this worker solved
        # before, so alternative optima cannot make figures depend on the workers or the chunk size
        self.no_events = calm_data(base)
        self._set_data(self.view(self.no_events))
        highs.run()
        self.start_basis = highs.getBasis() if highs.getModelStatus() == highspy.HighsModelStatus.kOptimal \
            else None

    def solve_draw(self, draw: DrawData):
        """Set the draw's data, solve from the start basis; returns (column values or None, message)."""
        self._set_data(self.view(draw))
        values, message, _ = self._solve(self.start_basis)
        return values, message

    def view(self, draw: DrawData) -> "_View":
        """What the model must hold for ``draw``'s data before any period is fixed: x's bounds (a
        committed order delivers what the offer can) and price factors, the balance rows' right sides,
        the shortfall bounds and the reserve targets."""
        base = self.base
        upper = self.x_capacity * draw.capacity_factor
        lower = np.minimum(base.op_min_volume, upper)
        if self.any_committed:
            delivered = np.minimum(self.committed_value, upper)
            np.copyto(lower, delivered, where=self.committed)
            np.copyto(upper, delivered, where=self.committed)
        demand = (base.demand + draw.extra_demand).ravel()
        return _View(lower, upper, draw.price_factor, demand - self.reserve_at_start, demand,
                     draw.reserve_target.ravel())

    def _set_data(self, view: "_View", fixed_before: int = 0, fixed: np.ndarray | None = None) -> None:
        """Change the model's x bounds and costs, price coefficients, demand, shortfall bounds and reserve
        targets to ``view``'s, where they differ; with ``fixed_before`` t, the purchases and shortfall of
        periods before t are fixed at their values in ``fixed`` (decisions already taken).

        Written for few numpy calls: per solve it is the worker's main cost besides HiGHS's."""
        base, highs = self.base, self.highs
        lower, upper, s_lower, s_upper = view.lower, view.upper, self.zeros_mt, view.s_upper
        if fixed_before > 0:
            past, bought = self.x_past[fixed_before], fixed[self.x_cols]
            lower, upper = np.where(past, bought, lower), np.where(past, bought, upper)
            past, short = self.s_past[fixed_before], fixed[self.s_cols]
            s_lower, s_upper = np.where(past, short, 0.0), np.where(past, short, s_upper)
        if lower is not self.x_source[0] or upper is not self.x_source[1]:
            changed = np.flatnonzero((lower != self.x_lower) | (upper != self.x_upper))
            if len(changed):
                new_lower, new_upper = lower[changed], upper[changed]
                highs.changeColsBounds(len(changed), self.x_index[changed], new_lower, new_upper)
                self.x_lower[changed], self.x_upper[changed] = new_lower, new_upper
            self.x_source = (lower, upper)
        if view.price_factor is not self.price_factor:
            changed = np.flatnonzero(view.price_factor != self.price_factor)
            if len(changed):
                cost = base.op_price_usd[changed] * view.price_factor[changed]
                highs.changeColsCost(len(changed), self.x_index[changed], cost)
                if self.price_coefficients:
                    factors = view.price_factor
                    for k in changed.tolist():
                        factor = float(factors[k])
                        for row, column, value in self.price_coefficients.get(k, ()):
                            highs.changeCoeff(row, column, value * factor)
            self.price_factor = view.price_factor
        if view.rhs is not self.rhs:
            changed = np.flatnonzero(view.rhs != self.rhs)
            if len(changed):
                scaled = view.rhs[changed] * self.balance_scale[changed]
                highs.changeRowsBounds(len(changed), self.balance_index[changed], scaled, scaled)
            self.rhs = view.rhs
        if s_lower is not self.s_lower or s_upper is not self.s_upper:
            changed = np.flatnonzero((s_lower != self.s_lower) | (s_upper != self.s_upper))
            if len(changed):
                highs.changeColsBounds(len(changed), self.s_index[changed], s_lower[changed], s_upper[changed])
            self.s_lower, self.s_upper = s_lower, s_upper
        if view.target is not self.target:
            changed = np.flatnonzero(view.target != self.target)
            if len(changed):
                highs.changeRowsBounds(len(changed), self.target_index[changed],
                                       view.target[changed] * self.target_scale[changed], self.infinite[changed])
            self.target = view.target

    def _solve(self, basis):
        """Run from ``basis`` (None: from scratch); (column values or None, message, basis at the end)."""
        highs = self.highs
        if basis is not None:
            highs.setBasis(basis)
        else:
            highs.clearSolver()
        if self.deadline is not None:
            left = self.deadline - time.time()
            if left <= 0:
                return None, TIME_LIMIT_REACHED, None
            highs.setOptionValue("time_limit", left)
            self.limited = True
        elif self.limited:  # a run without a deadline after one with it on this worker
            highs.setOptionValue("time_limit", math.inf)
            self.limited = False
        highs.run()
        values = self._optimal_values()
        if values is not None:
            return values, "", highs.getBasis()
        first = highs.modelStatusToString(highs.getModelStatus())
        if highs.getModelStatus() == self.highspy.HighsModelStatus.kTimeLimit:
            return None, TIME_LIMIT_REACHED, None
        highs.clearSolver()  # retry once from scratch: no basis, no factorisation, HiGHS's defaults
        for key, value in RETRY_OPTIONS.items():
            highs.setOptionValue(key, value)
        try:
            highs.run()
        finally:
            for key, value in FAST_OPTIONS.items():
                highs.setOptionValue(key, value)
            highs.setOptionValue("presolve", "off")
        values = self._optimal_values()
        if values is not None:
            return values, "", highs.getBasis()
        if highs.getModelStatus() == self.highspy.HighsModelStatus.kTimeLimit:
            return None, TIME_LIMIT_REACHED, None
        return None, f"{first}; retried cold: {highs.modelStatusToString(highs.getModelStatus())}", None

    def _optimal_values(self):
        highs = self.highs
        if highs.getModelStatus() != self.highspy.HighsModelStatus.kOptimal:
            return None
        # fromiter: highspy hands the values over as a list, which numpy reads faster this way than by asarray
        # (benchmarks/RESULTS.md)
        values = np.fromiter(highs.getSolution().col_value, float)
        if not np.isfinite(values).all():
            return None
        return values

    def _spend(self, values: np.ndarray, price_factor: np.ndarray) -> float:
        """USD of the plan ``values`` at the base prices times ``price_factor``: sum p' x + sum h r + the
        fixed costs of the agreements in force."""
        # summed exactly (math.fsum), not by a BLAS dot product whose rounding can follow the arrays' memory
        # alignment: the same draw gives the same spend to the last bit, reused or solved afresh, on any worker
        return math.fsum(np.concatenate([values[self.x_cols] * (self.base.op_price_usd * price_factor),
                                         values[self.r_cols] * self.holding, [self.base.fixed_spend_usd]]))

    def _view_data(self, key: bytes, view: np.ndarray) -> "_View":
        """What the model holds for the events started as ``view`` (each lasting its duration), made once
        per worker for each pattern met (data, not answers: kept whether or not solves are reused)."""
        data = self.views.get(key)
        if data is None:
            data = self.view(shocked_data(self.base, in_progress_of(view, self.base.masks.duration_periods)))
            size = data.lower.nbytes * 3 + data.rhs.nbytes * 3
            if self.views_bytes + size > VIEW_BYTES:
                self.views.clear()
                self.views_bytes = 0
            self.views[key] = data
            self.views_bytes += size
        return data

    def _remember(self, key: bytes, entry: list) -> None:
        size = entry[0].nbytes + 8 * len(self.base.row_lower)  # the values, and about the basis's size
        if self.cache_bytes + size > CACHE_BYTES:
            self.cache.clear()  # the answers stay the same: a forgotten solve is solved again, identically
            self.cache_bytes = 0
        self.cache[key] = entry
        self.cache_bytes += size

    def play(self, started: np.ndarray, foresight: str, reuse: bool = True):
        """The realised plan of the draw whose events start as ``started`` (events, periods): (column values,
        spend in USD, "") or (None, nan, why).

        ``foresight`` "full": one solve of the draw's data, from the start basis. "none": periods in order;
        period t's decisions are those of the solve over t..end that knows only the events started by t
        (each lasting its stated duration, no other event starting) with every earlier period's purchases
        and shortfall fixed as decided. A period in which no event starts knows nothing new: the previous
        solve's decisions for it stand (they remain optimal with the periods before fixed), so a draw is
        solved once, plus once per later period in which an event starts.

        With ``reuse`` a solve whose knowledge (the starts up to its period) repeats one solved before on
        this worker takes that solve's answer, which the same data and start basis would give again.
        """
        base = self.base
        if self.deadline is not None and time.time() >= self.deadline:
            return None, math.nan, TIME_LIMIT_REACHED  # no draw starts after the deadline, reused or not
        last = base.n_periods - 1
        if foresight == "full":
            steps = [last]
        else:
            steps = [t for t in range(base.n_periods) if t == 0 or started[:, t].any()]
        values, basis = None, self.start_basis
        for t in steps:
            # what the solve knows: the starts up to t (the bytes of a bool array: a key without packing)
            key = (b"f" if foresight == "full" else b"n") + started[:, :t + 1].tobytes()
            entry = self.cache.get(key) if reuse else None
            if entry is None:
                view = started
                if t < last:
                    view = started.copy()
                    view[:, t + 1:] = False  # the events started by t
                data = self._view_data(key[1:], view)  # the same data whatever the foresight
                self._set_data(data, 0 if foresight == "full" else t, values)
                solved, message, basis_after = self._solve(basis if foresight == "none" else self.start_basis)
                if message == TIME_LIMIT_REACHED:
                    return None, math.nan, message
                # [values, basis, message, the data's price factors, spend (made when it ends a draw)]
                entry = [solved, basis_after, message, data.price_factor, None]
                if reuse and solved is not None:  # a failure is not remembered: a repeat gets its own tries
                    self._remember(key, entry)
            values, basis, message = entry[0], entry[1], entry[2]
            if values is None:
                return None, math.nan, message
        if entry[4] is None:  # the last solve's data are the draw's own: its prices are the draw's
            entry[4] = self._spend(values, entry[3])
        return values, entry[4], ""


TIME_LIMIT_REACHED = "not solved: the time limit (--time-limit) was reached first"

_BUILT: dict[str, _Recourse] = {}  # per worker process: the model of the last base seen


def _recourse_for(base: RecourseBase) -> _Recourse:
    model = _BUILT.get(base.token)
    if model is None:
        _BUILT.clear()  # one base at a time: a new run frees the last one's model
        model = _BUILT[base.token] = _Recourse(base)
    return model


@dataclass
class ChunkResult:
    """Figures of draws ``start .. stop - 1`` (per draw; failed draws have NaN rows)."""

    start: int
    stop: int
    shortfall: np.ndarray  # (n, M) units, summed over periods
    released: np.ndarray  # (n, M) units, reserve released (see :func:`reserve_released`)
    relaxed: np.ndarray  # (n,) bit mask over the base's elastic families that had to give
    spend: np.ndarray  # (n,) USD, committed plus recourse (money only: no penalty)
    failures: dict[int, str] = field(default_factory=dict)  # draw -> why


def reserve_released(base: RecourseBase, reserve: np.ndarray) -> np.ndarray:
    """Reserve released per draw and mineral (units), from the reserve at each period's end
    ``reserve`` (draws, M, T).

    The reserve is drawn down only to cover demand (the balance row is its only
    outflow), so the reserve released is the sum over periods of the stock's
    fall: ``sum_t max(0, r[m, t-1] - r[m, t])`` with ``r[m, -1] = R0[m]``. When the
    recourse has several optima (e.g. a shortfall taken in one period or another at
    the same penalty) the figure is that of the optimum HiGHS returns, which the
    fixed start basis and settings make the same on every run.
    """
    start = np.broadcast_to(base.initial_reserve[None, :, None], (len(reserve), base.n_minerals, 1))
    before = np.concatenate([start, reserve[:, :, :-1]], axis=2)
    return np.maximum(before - reserve, 0.0).sum(axis=2)


def run_chunk(base: RecourseBase, seed: int, start: int, stop: int, fault_marker: str | None = None, *,
              foresight: str = "none", deadline: float | None = None, reuse: bool = True) -> ChunkResult:
    """Solve draws ``start .. stop - 1`` on this worker's cached model (see :meth:`_Recourse.play`).

    Per draw only the columns the figures need (shortfall, reserve, slacks) are kept;
    the figures are computed for the whole chunk at once after the solves. ``deadline``
    (epoch seconds): a draw not solved by then is listed as failed, with the reason.

    ``fault_marker`` is a test hook: a path; when the file does not exist yet,
    the worker creates it and kills its own process halfway through the chunk
    (a worker that dies), so the re-run of the chunk finds it and carries on.
    """
    model = _recourse_for(base)
    model.deadline = deadline
    n, n_m, n_t = stop - start, base.n_minerals, base.n_periods
    n_mt, n_slack = n_m * n_t, len(base.slack_family)
    wanted = np.concatenate([np.arange(base.shortfall_start, base.shortfall_start + n_mt),
                             np.arange(base.reserve_start, base.reserve_start + n_mt),
                             np.arange(base.slack_start, base.slack_start + n_slack)])
    kept = np.full((n, len(wanted)), np.nan)  # a failed draw's row stays NaN
    spend = np.full(n, np.nan)
    failures: dict[int, str] = {}
    _, started = sample_chunk(base.masks, n_t, seed, start, stop)
    for i, draw in enumerate(range(start, stop)):
        if fault_marker is not None and i == n // 2:
            _die_once(fault_marker)
        try:
            values, spend[i], message = model.play(started[i], foresight, reuse)
        except Exception as exc:  # a HiGHS error on one draw must not lose the chunk
            values, message = None, f"{type(exc).__name__}: {exc}"
        if values is None:
            failures[draw] = message
            continue
        kept[i] = values[wanted]
    tolerance = ZERO_TOL * base.mineral_scale  # solver noise below it is 0; NaN (failed) stays NaN
    shortfall = kept[:, :n_mt].reshape(n, n_m, n_t).sum(axis=2)
    shortfall = np.where(np.abs(shortfall) <= tolerance, 0.0, shortfall)
    released = reserve_released(base, kept[:, n_mt:2 * n_mt].reshape(n, n_m, n_t))
    released = np.where(np.abs(released) <= tolerance, 0.0, released)
    # a slack costs 1000 x the largest shortfall penalty per unit: any above the tolerance is real
    gave = kept[:, 2 * n_mt:] > SLACK_TOL
    relaxed = np.zeros(n, dtype=np.int64)
    for family in np.unique(base.slack_family[base.slack_family >= 0]).tolist():
        relaxed |= np.where(gave[:, base.slack_family == family].any(axis=1), 1 << family, 0)
    return ChunkResult(start, stop, shortfall, released, relaxed, spend, failures)


def _die_once(marker: str) -> None:
    import os
    import signal

    path = Path(marker)
    if path.exists():
        return
    path.write_text("killed once\n")
    os.kill(os.getpid(), signal.SIGKILL)


# ---------------------------------------------------------------- running draws


@dataclass
class Draws:
    """Every draw's figures, in draw order."""

    shortfall: np.ndarray  # (N, M)
    released: np.ndarray  # (N, M)
    relaxed: np.ndarray  # (N,)
    spend: np.ndarray  # (N,) USD
    failures: dict[int, str]
    foresight: str = "none"


def chunks(draws: int, chunk_size: int) -> list[tuple[int, int]]:
    return [(s, min(s + chunk_size, draws)) for s in range(0, draws, chunk_size)]


def run_draws(base: RecourseBase, draws: int, seed: int, *, client=None, chunk_size: int = DEFAULT_CHUNK,
              progress=None, fault_marker: str | None = None, foresight: str = "none",
              deadline: float | None = None, reuse: bool = True) -> Draws:
    """Solve draws ``0 .. draws - 1``: on the Dask ``client`` when given, else in this process.

    ``foresight``: "none" (each draw played period by period, knowing only the events started so far)
    or "full" (each draw's recourse solved at once: an optimistic bound). ``deadline``: epoch seconds
    after which no draw is started (those left are listed as failed, with the reason). ``reuse``: let
    a worker reuse the answer of a solve whose data repeat (the figures are the same either way).

    On Dask the base arrays are scattered to every worker once; each chunk is a
    task with retries (a worker that dies has its chunks re-run elsewhere).
    ``progress(n)`` is called with the number of draws each finished chunk adds.
    """
    if foresight not in FORESIGHTS:
        raise ProcureError(f"--foresight {foresight}: expected one of {', '.join(FORESIGHTS)}")
    parts = chunks(draws, max(1, int(chunk_size)))
    results: list[ChunkResult] = []
    options = {"foresight": foresight, "deadline": deadline, "reuse": reuse}
    if client is None:
        for start, stop in parts:
            results.append(run_chunk(base, seed, start, stop, fault_marker, **options))
            if progress:
                progress(stop - start)
    else:
        results = _run_on_cluster(client, base, seed, parts, fault_marker, options, progress)
    results.sort(key=lambda r: r.start)
    covered = sum(r.stop - r.start for r in results)
    if covered != draws:  # every draw must be accounted for
        raise SolverError(f"only {covered} of {draws} draws came back from the workers")
    failures: dict[int, str] = {}
    for r in results:
        failures.update(r.failures)
    return Draws(np.concatenate([r.shortfall for r in results]), np.concatenate([r.released for r in results]),
                 np.concatenate([r.relaxed for r in results]), np.concatenate([r.spend for r in results]),
                 dict(sorted(failures.items())), foresight)


LOST_DATA_ROUNDS = 3  # how often the base is scattered again when a dead worker took its only copy


def _run_on_cluster(client, base: RecourseBase, seed: int, parts: list[tuple[int, int]], fault_marker,
                    options: dict, progress) -> list[ChunkResult]:
    """Each chunk a Dask task with retries, the base arrays scattered to every worker once.

    A worker that dies has its chunks re-run elsewhere (retries). When the scheduler loses every copy of
    the scattered base with it (scattered data cannot be recomputed), the chunks that needed it are
    cancelled ("already forgotten"): the base is scattered again and those chunks submitted again, so no
    draw is lost; a chunk's figures depend only on the seed and its draws, whichever worker runs it.
    """
    from concurrent.futures import CancelledError

    from distributed import as_completed  # dask is imported only when a cluster is asked for

    results: list[ChunkResult] = []
    pending = list(parts)
    for round_ in range(LOST_DATA_ROUNDS):
        [shared] = client.scatter([base], broadcast=True, hash=False)
        run_id = uuid.uuid4().hex[:8]  # a run's own task keys: never an earlier run's results on the cluster
        prefix = f"procure-stress-{run_id}-{options['foresight']}-{seed}"
        futures = [client.submit(run_chunk, shared, seed, start, stop, fault_marker, **options, retries=2,
                                 pure=False, key=f"{prefix}-{start}-{stop}")
                   for start, stop in pending]
        try:
            for future in as_completed(futures, loop=client.loop):
                try:
                    result = future.result()
                except CancelledError:
                    if round_ == LOST_DATA_ROUNDS - 1:
                        raise
                    continue  # its input went with a dead worker: submitted again below
                results.append(result)
                if progress:
                    progress(result.stop - result.start)
        except BaseException:  # interrupted or failed: stop what is still queued on the cluster
            client.cancel([f for f in futures if not f.done()])
            raise
        finally:
            del futures, shared  # released futures: the scheduler forgets the chunks and the base
        done = {(r.start, r.stop) for r in results}
        pending = [part for part in pending if part not in done]
        if not pending:
            break
    return results


# ---------------------------------------------------------------- setting a stress test up


@dataclass
class StressSetup:
    """A stress test ready to run: the instance, its events, the base recourse and where inputs came from."""

    instance: Instance
    events: list[RiskEvent]
    base: RecourseBase
    commit_through: int  # period index
    hashes: dict[str, str]  # input, and model / plan when given


def _period_index(inst: Instance, label: object | None) -> int:
    if label is None:
        return 0
    for t, period in enumerate(inst.periods):
        if str(period).strip().casefold() == str(label).strip().casefold():
            return t
    raise InputError([Problem(
        f"--commit-through {label}: no such period; expected one of "
        + ", ".join(str(p) for p in inst.periods[:8]) + (", ..." if len(inst.periods) > 8 else ""),
        value=str(label))])


def prepare(workbook: str | Path, model: str | Path | None = None, plan: str | Path | None = None,
            commit_through: object | None = None, options=None) -> StressSetup:
    """Read and check the workbook (and ``--model``) and its Risks sheet, and fix the committed plan:
    read back from ``plan`` when given, else solved here as ``procure solve`` would (the plan of the
    workbook's scenarios when it has any: its decisions through the committed period are shared by
    every scenario up to the first period where their data differ, and through its own commit_through).

    The problems of the plan's sheets (and ``--model``) and of the Risks sheet are reported together.
    ``options``: how the plan is solved; its deadline (``--time-limit``) bounds that solve."""
    raw = read_workbook(workbook)
    problems: list[Problem] = []
    try:
        data = pipeline.load(workbook, model, raw=raw)
    except InputError as exc:
        problems += exc.problems + exc.warnings
        data = validate(raw)  # raises when the plan's own sheets are wrong: Risks cannot be checked then
    try:
        events = read_risks(raw, data)
    except InputError as exc:
        problems += exc.problems + exc.warnings
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    hashes = {"input": data.sha256}
    if model is not None:
        hashes["model"] = file_sha256(Path(model))
    inst = build_instance(data)
    through = _period_index(inst, commit_through)
    if plan is not None:
        program = formulation.build(inst)
        commitment = commitment_from_plan(Path(plan), inst, program, through)
        hashes["plan"] = file_sha256(Path(plan))
    else:
        outcome = pipeline.optimize(data, options or SolveOptions(), with_measures=False)
        if outcome.status != Status.OPTIMAL:
            raise SolverError(f"the plan to stress could not be solved ({outcome.status}: "
                              f"{outcome.solution.message}); run procure solve to see why")
        form = outcome.form
        commitment = commitment_from_values(form.scenario_programs[0], inst,
                                            outcome.solution.x[form.col_map[0]], through)
    return StressSetup(inst, events, build_base(inst, commitment, events), through, hashes)
