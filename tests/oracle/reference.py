"""Independent reference implementation of procure's model, for cross-checking.

Written from the specification ({WORKBOOK,FORMULATION,STOCKPILE,CLI}.md) only; it
shares no code with the ``procure`` package on purpose. It reads the workbook
with openpyxl, applies a ``--model`` TOML file and stochastic scenarios (the
``Scenarios``/``Shocks`` sheets and ``--scenario`` TOML files), builds
FORMULATION.md literally (dense, one variable per x[o,t], y[o], s[m,t],
r[m,t], d[m,t] and per scenario) with PuLP and solves it with HiGHS.

A stochastic plan is the extensive form with *one copy of every variable per
scenario* and explicit equality rows between scenarios that share a decision
node (data equal through period t), deliberately unlike procure's shared
columns. RP, WS, EEV, EVPI and VSS are in ``stochastic_reference.py``.

It assumes the inputs are valid: it does not validate and it produces no
error messages. No relaxation re-solve.

Every place where the spec had to be interpreted is marked ``INTERPRETATION``.

Usage: ``solve_reference("inputs/sample.xlsx")`` returns
``{"status": "optimal", "objective": ..., "spend": ..., "shortfall": ...,
"shortfall_usd": ...}`` (and ``"stochastic": {...}`` for a stochastic plan);
from a shell, ``python tests/oracle/reference.py WORKBOOK [--strict]
[--model FILE] [--scenario FILE ...]``.
"""

from __future__ import annotations

import math
import statistics
import tomllib
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
# The inputs: workbook, --model file, scenarios
# --------------------------------------------------------------------------


@dataclass
class Offer:
    row: int  # position among the Offers rows (for variable names only)
    supplier: str  # key
    country: str  # key (origin)
    processing_country: str  # key
    mineral: str  # key
    price: float  # USD/unit, as written (before any shock)
    capacity: float  # units/period, as written
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
class Change:
    """One ``[[shock]]`` or ``[[demand]]`` entry of a TOML file, or one row of
    the ``Shocks`` sheet. Filters are sets of keys (None = any) and an
    inclusive period range (period keys, None = open); offers matching every
    filter get their capacity and price multiplied; Demand pairs matching the
    mineral and period filters get ``demand`` as a multiplier and ``add``
    units added."""

    supplier: frozenset | None = None
    country: frozenset | None = None
    processing_country: frozenset | None = None
    mineral: frozenset | None = None
    period_from: Any = None
    period_to: Any = None
    capacity: float = 1.0
    price: float = 1.0
    demand: float = 1.0
    add: float = 0.0

    def covers(self, period: Any) -> bool:
        return (self.period_from is None or self.period_from <= period) and (
            self.period_to is None or period <= self.period_to
        )

    def matches_offer(self, o: Offer) -> bool:
        return (
            (self.supplier is None or o.supplier in self.supplier)
            and (self.country is None or o.country in self.country)
            and (self.processing_country is None or o.processing_country in self.processing_country)
            and (self.mineral is None or o.mineral in self.mineral)
        )


@dataclass
class Scenario:
    name: str
    probability: float
    changes: list[Change]


@dataclass
class Model:
    """The workbook after ``--model``: everything but the scenarios' shocks."""

    minerals: list[str]  # keys, sheet order
    periods: list[Any]  # period keys, sorted
    policy: dict[str, Any]
    base_demand: dict[tuple[str, int], float]  # Demand as written (0 when missing)
    present: set[tuple[str, int]]  # pairs written on Demand
    explicit_target: dict[tuple[str, int], float]  # reserve_target cells filled in
    mineral_given: dict[str, dict[str, float]]  # Minerals cells filled in (and [minerals.X])
    offers: list[Offer]  # after exclusions
    excluded: list[Offer]
    exposure: dict[int, float]  # per offer index in `offers`
    ally: dict[int, bool]
    country_cap: dict[str, float]  # per origin country key seen in offers
    model_changes: list[Change]  # the --model file's [[shock]] and [[demand]]
    scenarios: list[Scenario]  # from the Scenarios sheet (files are added later)
    budget_sheet: dict[int, float] = field(default_factory=dict)  # Budget sheet: period index -> USD

    @property
    def supplier_cap(self) -> float:
        return self.policy["max_supplier_share"]

    @property
    def share_basis(self) -> str:
        return self.policy["share_basis"]


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
    "commit_through": None,
    "risk": "expected",
    "risk_level": 0.9,
    "risk_weight": 1.0,
    "rebuild_periods": 1,
}

MINERAL_COLUMNS = (
    "max_china_share",
    "shortfall_penalty",
    "reserve_penalty",
    "reference_price",
    "holding_cost",
    "initial_reserve",
)


def _sheets(wb) -> dict[str, Any]:
    return {norm_name(ws.title): ws for ws in wb.worksheets}


def policy_value(name: str, value: Any) -> Any:
    """A Policy value (sheet cell or TOML value) in the reference's terms."""
    if name in ("share_basis", "risk"):
        return str(value).strip().lower()
    if name == "scenario":
        return str(value).strip()
    if name == "commit_through":
        return period_key(period_label(value))
    if name == "rebuild_periods":
        return int(num(value))  # WORKBOOK.md: an integer >= 0
    return num(value)


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
        policy[name] = policy_value(name, value)
    return policy


def _key_set(value: Any) -> frozenset | None:
    """A filter: blank = any; a string or (TOML) a list of strings."""
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    return frozenset(key(v) for v in values)


def _period_bound(value: Any) -> Any:
    return None if value is None or is_blank(value) else period_key(period_label(value))


def change_from_shock(entry: dict) -> Change:
    """A TOML ``[[shock]]``: filters and the capacity/price multipliers."""
    e = {norm_name(k): v for k, v in entry.items()}
    return Change(
        supplier=_key_set(e.get("supplier")),
        country=_key_set(e.get("country")),
        processing_country=_key_set(e.get("processing_country")),
        mineral=_key_set(e.get("mineral")),
        period_from=_period_bound(e.get("period_from")),
        period_to=_period_bound(e.get("period_to")),
        capacity=float(e.get("capacity", 1.0)),
        price=float(e.get("price", 1.0)),
    )


def change_from_demand(entry: dict) -> Change:
    """A TOML ``[[demand]]``: mineral and period filters, factor and add."""
    e = {norm_name(k): v for k, v in entry.items()}
    return Change(
        mineral=_key_set(e.get("mineral")),
        period_from=_period_bound(e.get("period_from")),
        period_to=_period_bound(e.get("period_to")),
        demand=float(e.get("factor", 1.0)),
        add=float(e.get("add", 0.0)),
    )


def changes_of_toml(doc: dict) -> list[Change]:
    return [change_from_shock(e) for e in doc.get("shock", [])] + [
        change_from_demand(e) for e in doc.get("demand", [])
    ]


def change_from_shock_row(rec: dict) -> Change:
    """A row of the ``Shocks`` sheet (blank filter = any, blank multiplier = 1)."""

    def mult(name: str) -> float:
        v = opt_num(rec.get(name))
        return 1.0 if v is None else v

    return Change(
        supplier=_key_set(rec.get("supplier")),
        country=_key_set(rec.get("country")),
        processing_country=_key_set(rec.get("processing_country")),
        mineral=_key_set(rec.get("mineral")),
        period_from=_period_bound(rec.get("period_from")),
        period_to=_period_bound(rec.get("period_to")),
        capacity=mult("capacity"),
        price=mult("price"),
        demand=mult("demand"),
        add=opt_num(rec.get("extra_demand")) or 0.0,
    )


def read_scenario_file(path: str | Path) -> Scenario:
    """A ``--scenario`` TOML file: name (default the stem), probability,
    ``[[shock]]`` and ``[[demand]]``."""
    path = Path(path)
    doc = tomllib.loads(path.read_text())
    return Scenario(
        name=str(doc.get("name", path.stem)),
        probability=float(doc["probability"]),
        changes=changes_of_toml(doc),
    )


def read_model(path: str | Path, model_file: str | Path | None = None) -> Model:
    """Read the workbook and apply the ``--model`` file's policy and minerals
    (its shocks are kept in ``model_changes``, applied per scenario)."""
    wb = openpyxl.load_workbook(path, data_only=True, read_only=False)
    sheets = _sheets(wb)
    policy = read_policy(sheets)
    model_doc = tomllib.loads(Path(model_file).read_text()) if model_file else {}
    for name, value in (model_doc.get("policy") or {}).items():
        policy[norm_name(name)] = policy_value(norm_name(name), value)

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

    # ---- Minerals (cells given; defaults come later, they need the prices)
    minerals: list[str] = []
    given: dict[str, dict[str, float]] = {}
    for rec in read_sheet(sheets["minerals"]):
        m = key(rec["mineral"])
        minerals.append(m)
        given[m] = {c: opt_num(rec.get(c)) for c in MINERAL_COLUMNS}
        given[m] = {c: v for c, v in given[m].items() if v is not None}
    for name, values in (model_doc.get("minerals") or {}).items():
        given[key(name)].update({norm_name(c): float(v) for c, v in values.items()})

    # ---- Demand and periods
    drecs = read_sheet(sheets["demand"])
    labels: dict[Any, Any] = {}
    for rec in drecs:
        lab = period_label(rec["period"])
        labels.setdefault(period_key(lab), lab)
    periods = sorted(labels)  # numbers numerically, text lexicographically
    tindex = {p: i for i, p in enumerate(periods)}

    base_demand = {(m, t): 0.0 for m in minerals for t in range(len(periods))}
    present: set[tuple[str, int]] = set()
    explicit_target: dict[tuple[str, int], float] = {}
    for rec in drecs:
        m = key(rec["mineral"])
        t = tindex[period_key(period_label(rec["period"]))]
        base_demand[m, t] = num(rec["demand"])
        present.add((m, t))
        explicit = opt_num(rec.get("reserve_target"))
        if explicit is not None:
            explicit_target[m, t] = explicit

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

    # ---- Budget (optional): appropriations by period, overriding budget_per_period
    budget_sheet: dict[int, float] = {}
    if "budget" in sheets:
        for rec in read_sheet(sheets["budget"]):
            budget_sheet[tindex[period_key(period_label(rec["period"]))]] = num(rec["budget"])

    # ---- Scenarios and Shocks (stochastic plans)
    scenarios: list[Scenario] = []
    if "scenarios" in sheets:
        by_name: dict[str, Scenario] = {}
        for rec in read_sheet(sheets["scenarios"]):
            name = str(rec["scenario"]).strip()
            by_name[key(name)] = Scenario(name, num(rec["probability"]), [])
            scenarios.append(by_name[key(name)])
        if "shocks" in sheets:
            for rec in read_sheet(sheets["shocks"]):
                by_name[key(rec["scenario"])].changes.append(change_from_shock_row(rec))

    return Model(
        minerals=minerals,
        periods=periods,
        policy=policy,
        base_demand=base_demand,
        present=present,
        explicit_target=explicit_target,
        mineral_given=given,
        offers=offers,
        excluded=excluded,
        exposure=exposure,
        ally=ally,
        country_cap=country_cap,
        model_changes=changes_of_toml(model_doc),
        scenarios=scenarios,
        budget_sheet=budget_sheet,
    )


# --------------------------------------------------------------------------
# One scenario's numbers, and the defaults shared by every scenario
# --------------------------------------------------------------------------


@dataclass
class Data:
    """The numbers of FORMULATION.md that a scenario can change."""

    price: dict[tuple[int, int], float]  # p[o,t], USD/unit
    capacity: dict[tuple[int, int], float]  # u[o,t], units
    min_volume: dict[tuple[int, int], float]  # l[o,t] = min(min_volume, u[o,t]), units
    demand: dict[tuple[str, int], float]  # D[m,t], units
    target: dict[tuple[str, int], float]  # G[m,t], units: 0 in a release period (STOCKPILE.md)
    released: set = field(default_factory=set)  # the (m, t) release periods

    def period_signature(self, t: int) -> tuple:
        """Everything of period t a scenario's decisions may depend on."""
        return (
            tuple(sorted((i, self.price[i, tt], self.capacity[i, tt]) for (i, tt) in self.price if tt == t)),
            tuple(sorted((m, self.demand[m, tt], self.target[m, tt]) for (m, tt) in self.demand if tt == t)),
        )


def scenario_data(model: Model, changes: list[Change]) -> Data:
    """Apply the --model changes, then ``changes`` (a scenario's), to the data.

    Offers: each matching change multiplies p[o,t] and u[o,t] of the periods it
    covers. Demand: D = (D0 x prod(model factors) + sum(model adds)) x
    prod(scenario factors) + sum(scenario adds); an addition also applies to a
    pair missing from Demand.
    INTERPRETATION: a target from ``reserve_days`` uses D0 x every factor
    (--model's and the scenario's), no addition of either.
    """
    P = model.periods
    price, capacity, min_volume = {}, {}, {}
    for i, o in enumerate(model.offers):
        for t in o.periods:
            p, u = o.price, o.capacity
            for c in model.model_changes + changes:
                if c.matches_offer(o) and c.covers(P[t]):
                    p *= c.price
                    u *= c.capacity
            price[i, t], capacity[i, t] = p, u
            min_volume[i, t] = min(o.min_volume, u)

    demand, target = {}, {}
    rd, dpp = model.policy["reserve_days"], model.policy["days_per_period"]
    for (m, t), d0 in model.base_demand.items():
        factor = 1.0
        value = d0
        for stage in (model.model_changes, changes):
            stage_factor, stage_add = 1.0, 0.0
            for c in stage:
                if (c.mineral is None or m in c.mineral) and c.covers(P[t]):
                    stage_factor *= c.demand
                    stage_add += c.add
            value = value * stage_factor + stage_add
            factor *= stage_factor
        demand[m, t] = value
        if (m, t) in model.explicit_target:
            target[m, t] = model.explicit_target[m, t]  # never scaled
        elif rd is not None and (m, t) in model.present:
            target[m, t] = rd / dpp * d0 * factor
        else:
            # INTERPRETATION: a pair missing from Demand has target 0.
            target[m, t] = 0.0
    released = release_periods(model, model.model_changes + changes)
    for pair in released:
        target[pair] = 0.0
    return Data(price, capacity, min_volume, demand, target, released)


def release_periods(model: Model, changes: list[Change]) -> set[tuple[str, int]]:
    """STOCKPILE.md, "Release periods": the (m, t) where m's reserve target is 0.

    A change (shock entry) hits m in t when it is in force in t and either
    matches an offer of m that remains after exclusions and covers t, with a
    capacity multiplier below 1 or a price multiplier above 1; or matches m's
    demand (mineral filter) with a multiplier above 1 or an addition above 0.
    m is released in the periods it is hit and the ``rebuild_periods`` periods
    after each run of them.

    INTERPRETATION: each entry is judged on its own multipliers (two entries
    whose product is 1 both hit); a demand entry hits m by its mineral and
    period filters alone, whether or not Demand has a row for (m, t).
    """
    P = model.periods
    hit = set()
    for c in changes:
        for t in range(len(P)):
            if not c.covers(P[t]):
                continue
            for m in model.minerals:
                offer_hit = (c.capacity < 1 or c.price > 1) and any(
                    o.mineral == m and t in o.periods and c.matches_offer(o) for o in model.offers
                )
                demand_hit = (c.demand > 1 or c.add > 0) and (c.mineral is None or m in c.mineral)
                if offer_hit or demand_hit:
                    hit.add((m, t))
    rebuild = model.policy["rebuild_periods"]
    released = set()
    for m in model.minerals:
        run_end = None  # the last hit period seen so far
        for t in range(len(P)):
            if (m, t) in hit:
                run_end = t
            if run_end is not None and t - run_end <= rebuild:
                released.add((m, t))
    return released


@dataclass
class Params:
    """Per-mineral numbers that are the same in every scenario."""

    max_china: dict[str, float]
    shortfall_penalty: dict[str, float]  # P[m], USD/unit
    reserve_penalty: dict[str, float]  # Q[m], USD/unit/period
    reference_price: dict[str, float]  # USD/unit
    holding: dict[str, float]  # h[m], USD/unit/period
    initial: dict[str, float]  # R0[m], units


def shared_params(model: Model, base: Data, scenario_datas: list[Data]) -> Params:
    """Minerals' parameters, their defaults computed once over the base data
    and every scenario's shocked prices (STOCKPILE.md).

    shortfall_penalty = 10 x the highest p[o,t] of the mineral's remaining
    offers over the base and every scenario (else of any mineral; 1 if no offer
    remains: INTERPRETATION, not 10 x 1); reserve_penalty = shortfall_penalty /
    (number of periods + 1); reference_price = numpy-style median of the base
    data's p[o,t] of the mineral (mean of the middle two), 1 if none.
    """
    O = model.offers
    datas = [base] + list(scenario_datas)
    n_periods = len(model.periods)
    all_prices = [d.price[k] for d in datas for k in d.price]
    params = Params({}, {}, {}, {}, {}, {})
    for m in model.minerals:
        g = model.mineral_given[m]
        params.max_china[m] = g.get("max_china_share", model.policy["max_china_share"])
        pen = g.get("shortfall_penalty")
        if pen is None:
            prices = [d.price[i, t] for d in datas for (i, t) in d.price if O[i].mineral == m]
            pen = 10.0 * max(prices) if prices else (10.0 * max(all_prices) if all_prices else 1.0)
        params.shortfall_penalty[m] = pen
        params.reserve_penalty[m] = g.get("reserve_penalty", pen / (n_periods + 1))
        ref = g.get("reference_price")
        if ref is None:
            own = [base.price[i, t] for (i, t) in base.price if O[i].mineral == m]
            ref = statistics.median(own) if own else 1.0
        params.reference_price[m] = ref
        params.holding[m] = g.get("holding_cost", 0.0)
        params.initial[m] = g.get("initial_reserve", 0.0)
    return params


# --------------------------------------------------------------------------
# The model of FORMULATION.md, over one or more scenarios
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


@dataclass
class Solution:
    status: str  # optimal | infeasible
    objective: float | None = None
    y: dict[int, float] = field(default_factory=dict)
    # per scenario (index into the scenarios solved): values of x, s, r, d
    x: list[dict] = field(default_factory=list)
    s: list[dict] = field(default_factory=list)
    r: list[dict] = field(default_factory=list)
    d: list[dict] = field(default_factory=list)
    spend: list[float] = field(default_factory=list)  # per scenario, USD (F y included)
    cost: list[float] = field(default_factory=list)  # per scenario: p x + h r + P s + Q d
    shortfall: list[float] = field(default_factory=list)  # units, all minerals (checks only)
    shortfall_usd: list[float] = field(default_factory=list)  # at reference prices


def node_representatives(model: Model, datas: list[Data]) -> list[list[int]]:
    """rep[s][t]: the first scenario whose data equal scenario s's in every
    period through t (they share the decisions of t).

    INTERPRETATION: "agree" is exact equality of the numbers after shocks
    (prices, capacities, demands, reserve targets; minimum volumes follow
    from capacities)."""
    n_t = len(model.periods)
    sigs = [[d.period_signature(t) for t in range(n_t)] for d in datas]
    rep = []
    for s in range(len(datas)):
        row = []
        for t in range(n_t):
            row.append(next(q for q in range(s + 1) if sigs[q][: t + 1] == sigs[s][: t + 1]))
        rep.append(row)
    return rep


def solve_scenarios(
    model: Model,
    params: Params,
    datas: list[Data],
    probabilities: list[float],
    *,
    risk: str = "expected",
    strict: bool = False,
    fixed: dict | None = None,
) -> Solution:
    """Build and solve the extensive form over the scenarios ``datas``.

    Every scenario has its own x, s, r, d; y is one per offer. Rows: FORMULATION
    1-8 and 10 per scenario, 9 on each scenario's own spend; equality rows
    between scenarios sharing a node; with ``commit_through``, x of every
    period through it equal in all scenarios, with the minimum volume
    min(l, u[o,t,s] over s). Objective: sum F y + risk(cost[s]).
    ``fixed`` = {"y": {i: v}, "x": {(i,t): v}, "s"/"r"/"d": {(m,t): v}} fixes
    those decisions in every scenario (EEV).
    """
    M, T, O = model.minerals, range(len(model.periods)), model.offers
    S = range(len(datas))
    policy = model.policy
    fixed = fixed or {}
    prob = pulp.LpProblem("oracle", pulp.LpMinimize)

    def var(name, lo, hi, fixed_value=None):
        if fixed_value is not None:
            lo = hi = max(0.0, fixed_value)
        return prob.add_variable(name, lo, hi)

    # y[o] binary for optional offers only; y = 1 (a constant) for spot and signed.
    ybin = {}
    for i, o in enumerate(O):
        if o.agreement == "optional":
            if i in fixed.get("y", {}):
                ybin[i] = round(fixed["y"][i])  # a constant 0 or 1
            else:
                ybin[i] = prob.add_variable(f"y_{i}", cat="Binary")

    def y(i):
        return ybin.get(i, 1)

    # INTERPRETATION: spot offers have F = 0 even if a fixed_cost is filled in
    # (FORMULATION: "Spot offers have F = 0"); optional and signed use fixed_cost.
    def F(i):
        return 0.0 if O[i].agreement == "spot" else O[i].fixed_cost

    fixed_part = pulp.lpSum([F(i) * y(i) for i in range(len(O))])

    # INTERPRETATION: commit_through names a period; purchases of it and every
    # earlier period are common to all scenarios.
    ct = policy.get("commit_through")
    committed = {t for t in T if ct is not None and model.periods[t] <= ct} if len(datas) > 1 else set()

    mi = {m: j for j, m in enumerate(M)}
    x, s, r, d = [], [], [], []
    for k in S:
        data = datas[k]
        fx = fixed.get("x", {})
        x.append({(i, t): var(f"x_{k}_{i}_{t}", 0, data.capacity[i, t], fx.get((i, t))) for (i, t) in data.capacity})
        s.append({}), r.append({}), d.append({})
        for m in M:
            for t in T:
                dem = data.demand[m, t]
                s[k][m, t] = var(f"s_{k}_{mi[m]}_{t}", 0, 0.0 if strict else dem, fixed.get("s", {}).get((m, t)))
                r[k][m, t] = var(f"r_{k}_{mi[m]}_{t}", 0, None, fixed.get("r", {}).get((m, t)))
                d[k][m, t] = var(f"d_{k}_{mi[m]}_{t}", 0, None, fixed.get("d", {}).get((m, t)))

    # Spend = p x + F y + h r; cost[s] = p x + h r + P s + Q d (F y apart).
    # INTERPRETATION: holding cost is charged on r[m,t] for every t in T (the
    # end-of-period stocks), not on the initial reserve r[m,t0].
    variable_spend, penalty = [], []
    for k in S:
        p = datas[k].price
        variable_spend.append(
            pulp.lpSum(
                [p[i, t] * v for (i, t), v in x[k].items()]
                + [params.holding[m] * r[k][m, t] for m in M for t in T]
            )
        )
        penalty.append(
            pulp.lpSum(
                [params.shortfall_penalty[m] * s[k][m, t] for m in M for t in T]
                + [params.reserve_penalty[m] * d[k][m, t] for m in M for t in T]
            )
        )
    cost = [variable_spend[k] + penalty[k] for k in S]
    pi = probabilities
    if risk == "expected":
        prob += fixed_part + pulp.lpSum([pi[k] * cost[k] for k in S])
    elif risk == "worst":
        # INTERPRETATION: the maximum over every scenario, probabilities aside.
        z = prob.add_variable("worst_cost", None, None)
        for k in S:
            prob += z - cost[k] >= 0
        prob += fixed_part + z
    elif risk == "cvar":
        alpha, lam = policy["risk_level"], policy["risk_weight"]
        eta = prob.add_variable("cvar_eta", None, None)
        excess = [prob.add_variable(f"cvar_u_{k}", 0, None) for k in S]
        for k in S:
            prob += excess[k] - cost[k] + eta >= 0
        cvar = eta + pulp.lpSum([pi[k] / (1 - alpha) * excess[k] for k in S])
        prob += fixed_part + (1 - lam) * pulp.lpSum([pi[k] * cost[k] for k in S]) + lam * cvar
    else:
        raise ValueError(f"unknown risk {risk!r}")

    def O_mt(m, t):
        return [i for i, o in enumerate(O) if o.mineral == m and t in o.periods]

    try:
        for k in S:
            _scenario_rows(prob, model, params, datas[k], x[k], s[k], r[k], d[k], y, F, O_mt,
                           committed_min={
                               (i, t): min(dd.min_volume[i, t] for dd in datas)
                               for (i, t) in datas[k].min_volume if t in committed
                           })
        # Non-anticipativity: one row per decision of a scenario that shares
        # the node of an earlier scenario (its representative).
        rep = node_representatives(model, datas)
        for k in S:
            for t in T:
                q = rep[k][t]
                if q != k:
                    for i in range(len(O)):
                        if (i, t) in x[k]:
                            prob += x[k][i, t] - x[q][i, t] == 0
                    for m in M:
                        prob += s[k][m, t] - s[q][m, t] == 0
                        prob += r[k][m, t] - r[q][m, t] == 0
                        prob += d[k][m, t] - d[q][m, t] == 0
                elif t in committed and k > 0:
                    for i in range(len(O)):
                        if (i, t) in x[k]:
                            prob += x[k][i, t] - x[0][i, t] == 0
    except _Infeasible:
        return Solution("infeasible")

    solver = pulp.HiGHS(msg=False, gapRel=MIP_REL_GAP, output_flag=False)
    stats = prob.solve(solver)
    if stats.status not in (pulp.LpSolveStatus.Optimal, pulp.LpSolveStatus.Infeasible):
        # HiGHS' presolve may answer "unbounded or infeasible"; ask again
        # without presolve for a definite answer (the model cannot be unbounded:
        # every cost is >= 0 and every variable >= 0).
        solver = pulp.HiGHS(msg=False, gapRel=MIP_REL_GAP, output_flag=False, presolve="off")
        stats = prob.solve(solver)
    if stats.status == pulp.LpSolveStatus.Infeasible:
        return Solution("infeasible")
    if stats.status != pulp.LpSolveStatus.Optimal:
        raise RuntimeError(f"reference solve ended with status {stats.status!r}")

    def val(e):
        # a variable in no row and not in the objective has no value: 0
        if hasattr(e, "value"):
            return float(e.value() or 0.0)
        return float(e)

    fixed_value = val(fixed_part)
    sol = Solution("optimal", objective=float(prob.objective.value()))
    sol.y = {i: val(v) for i, v in ybin.items()}
    for k in S:
        sol.x.append({key_: v.varValue or 0.0 for key_, v in x[k].items()})
        sol.s.append({key_: v.varValue or 0.0 for key_, v in s[k].items()})
        sol.r.append({key_: v.varValue or 0.0 for key_, v in r[k].items()})
        sol.d.append({key_: v.varValue or 0.0 for key_, v in d[k].items()})
        sol.spend.append(fixed_value + val(variable_spend[k]))
        sol.cost.append(val(cost[k]))
        sol.shortfall.append(sum(v.varValue or 0.0 for v in s[k].values()))
        sol.shortfall_usd.append(sum(params.reference_price[m] * (v.varValue or 0.0) for (m, t), v in s[k].items()))
    return sol


def _scenario_rows(prob, model, params, data, x, s, r, d, y, F, O_mt, committed_min) -> None:
    """FORMULATION.md rows 1-10 for one scenario's variables."""
    M, T, O = model.minerals, range(len(model.periods)), model.offers
    policy = model.policy

    def w(i, t):
        # Weight: 1 by quantity, p[o,t] by value.
        return data.price[i, t] if model.share_basis == "value" else 1.0

    for m in M:
        for t in T:
            Omt = O_mt(m, t)
            # 1. Balance: r[m,t-1] + sum x + s = D + r, r[m,t0] = R0.
            prev = params.initial[m] if t == 0 else r[m, t - 1]
            _add(prob, prev + pulp.lpSum([x[i, t] for i in Omt]) + s[m, t] - r[m, t], "==", data.demand[m, t])
            # 2. Reserve target: r + d >= G.
            _add(prob, r[m, t] + d[m, t], ">=", data.target[m, t])

            # Shares (3-7) are over purchases; with no offer in O(m,t) they
            # are trivially met, so they are not written.
            if not Omt:
                continue
            total = pulp.lpSum([w(i, t) * x[i, t] for i in Omt])
            # 3. China exposure, when a[m] < 1.
            a = params.max_china[m]
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
            gamma = policy["min_ally_share"]
            if gamma > 0:
                part = pulp.lpSum([w(i, t) * x[i, t] for i in Omt if model.ally[i]])
                _add(prob, part - gamma * total, ">=")
            # 7. Average ESG, when E is set (even E = 0), always by quantity;
            # an unscored offer counts as g = 0.
            E = policy["min_avg_esg"]
            if E is not None:
                _add(prob, pulp.lpSum([((O[i].esg or 0.0) - E) * x[i, t] for i in Omt]), ">=")

    # 8. Agreement: l y <= x <= u y (y = 1 for spot and signed).
    # INTERPRETATION: min_volume binds every covered period of spot and
    # signed offers too (y = 1), and capacity/min_volume of an offer that
    # covers every period apply in each period separately. A committed
    # purchase's minimum is min(l, u[o,t,s] over s) (STOCKPILE.md).
    for (i, t), v in x.items():
        lo = committed_min.get((i, t), data.min_volume[i, t])
        _add(prob, v - lo * y(i), ">=")
        _add(prob, v - data.capacity[i, t] * y(i), "<=")

    spend = pulp.lpSum(
        [data.price[i, t] * v for (i, t), v in x.items()]
        + [F(i) * y(i) for i in range(len(O))]
        + [params.holding[m] * r[m, t] for m in M for t in T]
    )
    # 9. Horizon budget: the objective minus P s and Q d, <= B (per scenario).
    if policy["budget_total"] is not None:
        _add(prob, spend, "<=", policy["budget_total"])

    # 10. Per-period budget, for each t with Bt[t] set: the Budget sheet's
    # budget for t, else budget_per_period.
    # INTERPRETATION: an offer's "first covered period" is its own period
    # for a one-period offer and the first period t1 for an all-period
    # offer; signed offers' fixed costs (y = 1) count there as well.
    for t in T:
        budget = model.budget_sheet.get(t, policy["budget_per_period"])
        if budget is not None:
            lhs = pulp.lpSum(
                [data.price[i, tt] * v for (i, tt), v in x.items() if tt == t]
                + [params.holding[m] * r[m, t] for m in M]
                + [F(i) * y(i) for i in range(len(O)) if O[i].periods[0] == t]
            )
            _add(prob, lhs, "<=", budget)


# --------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------


def _infeasible() -> dict:
    return {"status": "infeasible", "objective": None, "spend": None, "shortfall": None, "shortfall_usd": None}


def solve_model(model: Model, strict: bool = False) -> dict:
    """The deterministic plan of ``model`` (its --model changes applied)."""
    base = scenario_data(model, [])
    params = shared_params(model, base, [])
    sol = solve_scenarios(model, params, [base], [1.0], strict=strict)
    if sol.status != "optimal":
        return _infeasible()
    return {
        "status": "optimal",
        "objective": sol.objective,
        "spend": sol.spend[0],
        "shortfall": sol.shortfall[0],
        "shortfall_usd": sol.shortfall_usd[0],
    }


def solve_reference(
    workbook_path: str | Path,
    strict: bool = False,
    model_file: str | Path | None = None,
    scenario_files: list | tuple = (),
) -> dict:
    """Solve a workbook with the reference model.

    Returns {"status": "optimal"|"infeasible", "objective", "spend",
    "shortfall" (units summed over minerals: a check figure only),
    "shortfall_usd"}; the figures are None when infeasible. A stochastic plan
    (a Scenarios sheet or scenario files) returns RP as "objective", expected
    "spend" and "shortfall_usd", and the measures under "stochastic" (see
    stochastic_reference.stochastic_measures).
    """
    model = read_model(workbook_path, model_file)
    if model.scenarios or scenario_files:
        try:  # imported as tests.oracle.reference, or run as a script
            from .stochastic_reference import solve_stochastic
        except ImportError:
            from stochastic_reference import solve_stochastic

        return solve_stochastic(model, scenario_files, strict=strict)
    return solve_model(model, strict=strict)


if __name__ == "__main__":  # pragma: no cover
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbook")
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("--model", default=None)
    parser.add_argument("--scenario", action="append", default=[])
    parser.add_argument("--json", default=None, help="also write the result to this file")
    args = parser.parse_args()
    result = solve_reference(args.workbook, args.strict, args.model, args.scenario)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    raise SystemExit(0 if result["status"] == "optimal" else 2)  # procure's exit codes
