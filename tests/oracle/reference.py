"""Independent reference implementation of procure's model, for cross-checking.

Written from the specification ({WORKBOOK,FORMULATION,CLI}.md) only; it shares no
code with the ``procure`` package on purpose. It reads the workbook with
openpyxl, builds FORMULATION.md literally (dense, one variable per x[o,t],
y[o], s[m,t], r[m,t], d[m,t]) with PuLP and solves it with HiGHS.

It assumes the workbook is valid: it does not validate and it produces no
error messages. No scenario files, no relaxation re-solve.

Every place where the spec had to be interpreted is marked ``INTERPRETATION``.

Usage: ``solve_reference("inputs/sample.xlsx")`` returns
``{"status": "optimal", "objective": ..., "spend": ..., "shortfall": ...}``;
from a shell, ``python tests/oracle/reference.py WORKBOOK [--strict]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pulp

MIP_REL_GAP = 1e-9

# --------------------------------------------------------------------------
# Cell-level parsing (WORKBOOK.md, "Rules for every sheet")
# --------------------------------------------------------------------------


def norm_name(name: Any) -> str:
    """Sheet name / column header / policy key: case-insensitive, surrounding
    spaces ignored, spaces and underscores alike."""
    return str(name).strip().lower().replace(" ", "_")


def key(value: Any) -> str:
    """Key strings (mineral, country, supplier): trimmed, case-insensitive."""
    return str(value).strip().casefold()


def is_blank(value: Any) -> bool:
    # INTERPRETATION: a cell holding only whitespace counts as blank.
    return value is None or (isinstance(value, str) and value.strip() == "")


def num(value: Any) -> float:
    """A number, or numeric text such as "1,200" or " 15 "."""
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().replace(",", "")
    result = float(text)
    if not math.isfinite(result):
        raise ValueError(f"not a finite number: {value!r}")
    return result


def opt_num(value: Any) -> float | None:
    return None if is_blank(value) else num(value)


_YES = {"yes", "y", "true", "1", "1.0"}
_NO = {"no", "n", "false", "0", "0.0"}


def yes_no(value: Any, default: bool) -> bool:
    """yes/no, y/n, true/false, 1/0 and Excel booleans; blank = default."""
    if is_blank(value):
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value) != 0.0  # valid workbooks hold only 1 or 0 here
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(f"not yes/no: {value!r}")


def period_label(value: Any) -> int | float | str:
    """A period label: numbers (and numeric text) become numbers, whole numbers
    become ints (``2027.0`` and ``"2027"`` are the period 2027), anything else
    is trimmed text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        f = float(value)
        return int(f) if f.is_integer() else f
    text = str(value).strip()
    try:
        # INTERPRETATION: numeric text for a period is parsed like any numeric
        # text (thousands separators removed); "2027" and " 2027.0 " are 2027.
        f = float(text.replace(",", ""))
    except ValueError:
        return text
    if not math.isfinite(f):
        return text
    return int(f) if f.is_integer() else f


def period_key(label: int | float | str) -> Any:
    # INTERPRETATION: text periods match trimmed and case-insensitively (like
    # the other keys); the first spelling seen is kept. Numbers match by value.
    return label.casefold() if isinstance(label, str) else label


def read_sheet(ws) -> list[dict[str, Any]]:
    """Rows of a sheet as {normalized header: value}, blank rows skipped.

    INTERPRETATION: the header is the first row of the sheet; a column with a
    blank header cell is ignored; if a header repeats, its first column wins.
    A row is blank when every cell in it (known column or not) is blank.
    """
    rows = ws.iter_rows(values_only=True)
    try:
        header = next(rows)
    except StopIteration:
        return []
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        if is_blank(cell):
            continue
        columns.setdefault(norm_name(cell), index)
    result = []
    for row in rows:
        if row is None or all(is_blank(v) for v in row):
            continue
        record = {}
        for name, index in columns.items():
            value = row[index] if index < len(row) else None
            record[name] = None if is_blank(value) else value
        result.append(record)
    return result


# --------------------------------------------------------------------------
# The data of FORMULATION.md
# --------------------------------------------------------------------------


@dataclass
class Offer:
    row: int  # position among the Offers rows (for variable names only)
    supplier: str  # key
    country: str  # key (origin)
    processing_country: str  # key
    mineral: str  # key
    price: float
    capacity: float
    period: Any  # period key, or None = every period
    china_share: float | None
    esg: float | None
    agreement: str  # spot | optional | signed
    min_volume: float
    fixed_cost: float
    blocked: bool
    periods: list[int] = field(default_factory=list)  # indices into T


@dataclass
class Country:
    concern: bool
    ally: bool
    max_share: float | None
    blocked: bool


@dataclass
class Model:
    minerals: list[str]  # keys, sheet order
    periods: list[Any]  # period keys, sorted
    demand: dict[tuple[str, int], float]
    target: dict[tuple[str, int], float]
    max_china: dict[str, float]
    shortfall_penalty: dict[str, float]
    reserve_penalty: dict[str, float]
    holding: dict[str, float]
    initial: dict[str, float]
    offers: list[Offer]  # after exclusions
    excluded: list[Offer]
    exposure: dict[int, float]  # per offer index in `offers`
    ally: dict[int, bool]
    country_cap: dict[str, float]  # per origin country key seen in offers
    supplier_cap: float
    share_basis: str
    min_ally_share: float
    min_avg_esg: float | None
    budget_total: float | None
    budget_per_period: float | None


POLICY_DEFAULTS: dict[str, Any] = {
    "max_china_share": 1.0,
    "max_country_share": 1.0,
    "max_supplier_share": 1.0,
    "share_basis": "quantity",
    "min_ally_share": 0.0,
    "min_esg_score": None,
    "min_avg_esg": None,
    "reserve_days": None,
    "days_per_period": 365.0,
    "budget_total": None,
    "budget_per_period": None,
    "scenario": "base",
}


def _sheets(wb) -> dict[str, Any]:
    return {norm_name(ws.title): ws for ws in wb.worksheets}


def read_policy(sheets) -> dict[str, Any]:
    policy = dict(POLICY_DEFAULTS)
    if "policy" not in sheets:
        return policy
    for rec in read_sheet(sheets["policy"]):
        if rec.get("key") is None:
            continue
        # INTERPRETATION: policy keys are matched like headers (trimmed,
        # case-insensitive, spaces = underscores).
        name = norm_name(rec["key"])
        value = rec.get("value")
        if value is None:
            continue  # blank value: the default
        if name == "share_basis":
            policy[name] = str(value).strip().lower()
        elif name == "scenario":
            policy[name] = str(value).strip()
        else:
            policy[name] = num(value)
    return policy


def read_model(path: str | Path) -> Model:
    wb = openpyxl.load_workbook(path, data_only=True, read_only=False)
    sheets = _sheets(wb)
    policy = read_policy(sheets)

    # ---- Countries (optional)
    countries: dict[str, Country] = {}
    if "countries" in sheets:
        for rec in read_sheet(sheets["countries"]):
            c = key(rec["country"])
            countries[c] = Country(
                concern=yes_no(rec.get("concern"), default=(c == "china")),
                ally=yes_no(rec.get("ally"), default=False),
                max_share=opt_num(rec.get("max_share")),
                blocked=yes_no(rec.get("blocked"), default=False),
            )

    def country(c: str) -> Country:
        # INTERPRETATION: a country absent from the Countries sheet (or every
        # country, without the sheet) takes the column defaults: concern only
        # if it is China, not an ally, policy max_country_share, not blocked.
        return countries.get(c) or Country(c == "china", False, None, False)

    # ---- Minerals
    minerals: list[str] = []
    mrec: dict[str, dict] = {}
    for rec in read_sheet(sheets["minerals"]):
        m = key(rec["mineral"])
        minerals.append(m)
        mrec[m] = rec

    # ---- Demand and periods
    drecs = read_sheet(sheets["demand"])
    labels: dict[Any, Any] = {}
    for rec in drecs:
        lab = period_label(rec["period"])
        labels.setdefault(period_key(lab), lab)
    periods = sorted(labels)  # numbers numerically, text lexicographically
    tindex = {p: i for i, p in enumerate(periods)}

    reserve_days = policy["reserve_days"]
    days_per_period = policy["days_per_period"]
    demand: dict[tuple[str, int], float] = {}
    target: dict[tuple[str, int], float] = {}
    for m in minerals:
        for t in range(len(periods)):
            demand[m, t] = 0.0  # a missing (mineral, period) pair: demand 0
            target[m, t] = 0.0  # ... and target 0 (even with reserve_days)
    for rec in drecs:
        m = key(rec["mineral"])
        t = tindex[period_key(period_label(rec["period"]))]
        dem = num(rec["demand"])
        demand[m, t] = dem
        explicit = opt_num(rec.get("reserve_target"))
        if explicit is not None:
            target[m, t] = explicit
        elif reserve_days is not None:
            target[m, t] = reserve_days / days_per_period * dem
        else:
            target[m, t] = 0.0

    # ---- Offers and exclusions
    offers: list[Offer] = []
    excluded: list[Offer] = []
    min_esg_score = policy["min_esg_score"]
    for row, rec in enumerate(read_sheet(sheets["offers"])):
        origin = key(rec["country"])
        proc = rec.get("processing_country")
        proc = origin if proc is None else key(proc)
        per = rec.get("period")
        agreement = rec.get("agreement")
        agreement = "spot" if agreement is None else str(agreement).strip().lower()
        o = Offer(
            row=row,
            supplier=key(rec["supplier"]),
            country=origin,
            processing_country=proc,
            mineral=key(rec["mineral"]),
            price=num(rec["price"]),
            capacity=num(rec["capacity"]),
            period=None if per is None else period_key(period_label(per)),
            china_share=opt_num(rec.get("china_share")),
            esg=opt_num(rec.get("esg_score")),
            agreement=agreement,
            min_volume=opt_num(rec.get("min_volume")) or 0.0,
            fixed_cost=opt_num(rec.get("fixed_cost")) or 0.0,
            blocked=yes_no(rec.get("blocked"), default=False),
        )
        o.periods = list(range(len(periods))) if o.period is None else [tindex[o.period]]
        drop = (
            o.blocked
            or country(o.country).blocked
            or country(o.processing_country).blocked
            # INTERPRETATION: "below min_esg_score" is strict: a score equal
            # to the minimum stays.
            or (min_esg_score is not None and (o.esg is None or o.esg < min_esg_score))
        )
        # INTERPRETATION: an excluded offer is gone entirely: it buys nothing and
        # its fixed cost (even a signed one's) is not in the objective or budgets.
        (excluded if drop else offers).append(o)

    exposure: dict[int, float] = {}
    ally: dict[int, bool] = {}
    country_cap: dict[str, float] = {}
    for i, o in enumerate(offers):
        if o.china_share is not None:
            exposure[i] = o.china_share  # an explicit china_share wins
        else:
            concern = country(o.country).concern or country(o.processing_country).concern
            exposure[i] = 1.0 if concern else 0.0
        ally[i] = country(o.country).ally or country(o.processing_country).ally
        cap = country(o.country).max_share
        country_cap[o.country] = policy["max_country_share"] if cap is None else cap

    # ---- Minerals' parameters (defaults need the offers that remain)
    # INTERPRETATION: the default shortfall penalty takes the highest price over
    # every remaining offer of the mineral (any agreement kind, any capacity,
    # zero capacity included); if the mineral has none, over every remaining
    # offer; if no offer remains at all, the penalty itself is 1 (not 10 x 1).
    all_prices = [o.price for o in offers]
    max_china: dict[str, float] = {}
    shortfall_penalty: dict[str, float] = {}
    reserve_penalty: dict[str, float] = {}
    holding: dict[str, float] = {}
    initial: dict[str, float] = {}
    for m in minerals:
        rec = mrec[m]
        cap = opt_num(rec.get("max_china_share"))
        max_china[m] = policy["max_china_share"] if cap is None else cap
        pen = opt_num(rec.get("shortfall_penalty"))
        if pen is None:
            prices = [o.price for o in offers if o.mineral == m]
            if prices:
                pen = 10.0 * max(prices)
            elif all_prices:
                pen = 10.0 * max(all_prices)
            else:
                pen = 1.0
        shortfall_penalty[m] = pen
        rpen = opt_num(rec.get("reserve_penalty"))
        # WORKBOOK.md: default shortfall_penalty / (number of periods + 1), per unit per period
        reserve_penalty[m] = pen / (len(periods) + 1) if rpen is None else rpen
        holding[m] = opt_num(rec.get("holding_cost")) or 0.0
        initial[m] = opt_num(rec.get("initial_reserve")) or 0.0

    return Model(
        minerals=minerals,
        periods=periods,
        demand=demand,
        target=target,
        max_china=max_china,
        shortfall_penalty=shortfall_penalty,
        reserve_penalty=reserve_penalty,
        holding=holding,
        initial=initial,
        offers=offers,
        excluded=excluded,
        exposure=exposure,
        ally=ally,
        country_cap=country_cap,
        supplier_cap=policy["max_supplier_share"],
        share_basis=policy["share_basis"],
        min_ally_share=policy["min_ally_share"],
        min_avg_esg=policy["min_avg_esg"],
        budget_total=policy["budget_total"],
        budget_per_period=policy["budget_per_period"],
    )


# --------------------------------------------------------------------------
# The model of FORMULATION.md
# --------------------------------------------------------------------------


class _Infeasible(Exception):
    """A constraint with no variables whose constant side is violated."""


def _add(prob, lhs, sense: str, rhs: float = 0.0) -> None:
    """Add ``lhs (sense) rhs``. A row with no variables is checked here."""
    expr = pulp.lpSum([lhs, -rhs])
    if not any(c != 0 for _, c in expr.items()):
        value = expr.constant
        ok = {"<=": value <= 1e-9, ">=": value >= -1e-9, "==": abs(value) <= 1e-9}[sense]
        if not ok:
            raise _Infeasible
        return
    if sense == "<=":
        prob += expr <= 0
    elif sense == ">=":
        prob += expr >= 0
    else:
        prob += expr == 0


def solve_model(model: Model, strict: bool = False) -> dict:
    M, T, O = model.minerals, range(len(model.periods)), model.offers
    prob = pulp.LpProblem("oracle", pulp.LpMinimize)

    # Variables: x[o,t] for t covered by o, bounds 0..u.
    x = {}
    for i, o in enumerate(O):
        for t in o.periods:
            x[i, t] = prob.add_variable(f"x_{i}_{t}", 0, o.capacity)
    # y[o] binary for optional offers only; y = 1 (a constant) for spot and signed.
    ybin = {
        i: prob.add_variable(f"y_{i}", cat="Binary")
        for i, o in enumerate(O)
        if o.agreement == "optional"
    }

    def y(i):
        return ybin.get(i, 1)

    # INTERPRETATION: spot offers have F = 0 even if a fixed_cost is filled in
    # (FORMULATION: "Spot offers have F = 0"); optional and signed use fixed_cost.
    def F(i):
        return 0.0 if O[i].agreement == "spot" else O[i].fixed_cost

    mi = {m: j for j, m in enumerate(M)}
    s, r, d = {}, {}, {}
    for m in M:
        for t in T:
            dem = model.demand[m, t]
            s[m, t] = prob.add_variable(f"s_{mi[m]}_{t}", 0, 0.0 if strict else dem)
            r[m, t] = prob.add_variable(f"r_{mi[m]}_{t}", 0, None)
            d[m, t] = prob.add_variable(f"d_{mi[m]}_{t}", 0, None)

    def O_mt(m, t):
        return [i for i, o in enumerate(O) if o.mineral == m and t in o.periods]

    def w(i, t):
        # Weight: 1 by quantity, p[o,t] by value.
        return O[i].price if model.share_basis == "value" else 1.0

    # Objective. Spend = p x + F y + h r (with the constants of signed offers);
    # the penalty terms are P s + Q d.
    # INTERPRETATION: holding cost is charged on r[m,t] for every t in T (the
    # end-of-period stocks), not on the initial reserve r[m,t0].
    spend = pulp.lpSum(
        [O[i].price * v for (i, t), v in x.items()]
        + [F(i) * y(i) for i in range(len(O))]
        + [model.holding[m] * r[m, t] for m in M for t in T]
    )
    penalty = pulp.lpSum(
        [model.shortfall_penalty[m] * s[m, t] for m in M for t in T]
        + [model.reserve_penalty[m] * d[m, t] for m in M for t in T]
    )
    prob += spend + penalty

    try:
        for m in M:
            for t in T:
                Omt = O_mt(m, t)
                # 1. Balance: r[m,t-1] + sum x + s = D + r, r[m,t0] = R0.
                prev = model.initial[m] if t == 0 else r[m, t - 1]
                _add(
                    prob,
                    prev + pulp.lpSum([x[i, t] for i in Omt]) + s[m, t] - r[m, t],
                    "==",
                    model.demand[m, t],
                )
                # 2. Reserve target: r + d >= G.
                _add(prob, r[m, t] + d[m, t], ">=", model.target[m, t])

                # Shares (3-7) are over purchases; with no offer in O(m,t) they
                # are trivially met, so they are not written.
                if not Omt:
                    continue
                total = pulp.lpSum([w(i, t) * x[i, t] for i in Omt])
                # 3. China exposure, when a[m] < 1.
                a = model.max_china[m]
                if a < 1:
                    expo = pulp.lpSum([model.exposure[i] * w(i, t) * x[i, t] for i in Omt])
                    _add(prob, expo - a * total, "<=")
                # 4. Country share, per origin country with b[c] < 1 having an
                # offer in O(m,t).
                # INTERPRETATION: "origin country" is the offer's `country`
                # (mining); the processing country plays no part in caps.
                for c in sorted({O[i].country for i in Omt}):
                    b = model.country_cap[c]
                    if b < 1:
                        part = pulp.lpSum([w(i, t) * x[i, t] for i in Omt if O[i].country == c])
                        _add(prob, part - b * total, "<=")
                # 5. Supplier share, when k < 1 (suppliers matched case-insensitively).
                k = model.supplier_cap
                if k < 1:
                    for sup in sorted({O[i].supplier for i in Omt}):
                        part = pulp.lpSum([w(i, t) * x[i, t] for i in Omt if O[i].supplier == sup])
                        _add(prob, part - k * total, "<=")
                # 6. Ally share, when gamma > 0.
                gamma = model.min_ally_share
                if gamma > 0:
                    part = pulp.lpSum([w(i, t) * x[i, t] for i in Omt if model.ally[i]])
                    _add(prob, part - gamma * total, ">=")
                # 7. Average ESG, when E is set (even E = 0), always by quantity;
                # an unscored offer counts as g = 0.
                E = model.min_avg_esg
                if E is not None:
                    _add(
                        prob,
                        pulp.lpSum([((O[i].esg or 0.0) - E) * x[i, t] for i in Omt]),
                        ">=",
                    )

        # 8. Agreement: l y <= x <= u y (y = 1 for spot and signed).
        # INTERPRETATION: min_volume binds every covered period of spot and
        # signed offers too (y = 1), and capacity/min_volume of an offer that
        # covers every period apply in each period separately.
        for (i, t), v in x.items():
            lo = min(O[i].min_volume, O[i].capacity)
            _add(prob, v - lo * y(i), ">=")
            _add(prob, v - O[i].capacity * y(i), "<=")

        # 9. Horizon budget: the objective minus P s and Q d, <= B.
        if model.budget_total is not None:
            _add(prob, spend, "<=", model.budget_total)

        # 10. Per-period budget.
        # INTERPRETATION: an offer's "first covered period" is its own period
        # for a one-period offer and the first period t1 for an all-period
        # offer; signed offers' fixed costs (y = 1) count there as well.
        if model.budget_per_period is not None:
            for t in T:
                lhs = pulp.lpSum(
                    [O[i].price * v for (i, tt), v in x.items() if tt == t]
                    + [model.holding[m] * r[m, t] for m in M]
                    + [F(i) * y(i) for i in range(len(O)) if O[i].periods[0] == t]
                )
                _add(prob, lhs, "<=", model.budget_per_period)
    except _Infeasible:
        return _infeasible()

    solver = pulp.HiGHS(msg=False, gapRel=MIP_REL_GAP, output_flag=False)
    stats = prob.solve(solver)
    if stats.status not in (pulp.LpSolveStatus.Optimal, pulp.LpSolveStatus.Infeasible):
        # HiGHS' presolve may answer "unbounded or infeasible"; ask again
        # without presolve for a definite answer (the model cannot be unbounded:
        # every cost is >= 0 and every variable >= 0).
        solver = pulp.HiGHS(msg=False, gapRel=MIP_REL_GAP, output_flag=False, presolve="off")
        stats = prob.solve(solver)
    if stats.status == pulp.LpSolveStatus.Infeasible:
        return _infeasible()
    if stats.status != pulp.LpSolveStatus.Optimal:
        raise RuntimeError(f"reference solve ended with status {stats.status!r}")

    spend_value = spend.value()
    penalty_value = penalty.value()
    return {
        "status": "optimal",
        "objective": float(spend_value + penalty_value),
        "spend": float(spend_value),
        "shortfall": float(sum(v.varValue for v in s.values())),
    }


def _infeasible() -> dict:
    return {"status": "infeasible", "objective": None, "spend": None, "shortfall": None}


def solve_reference(workbook_path: str | Path, strict: bool = False) -> dict:
    """Solve a workbook with the reference model.

    Returns {"status": "optimal"|"infeasible", "objective", "spend",
    "shortfall"}; the three figures are None when infeasible.
    """
    return solve_model(read_model(workbook_path), strict=strict)


if __name__ == "__main__":  # pragma: no cover
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbook")
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    print(json.dumps(solve_reference(args.workbook, strict=args.strict), indent=2))
