"""Scenario files (``models/*.toml``): parse, check against the workbook, apply.

A scenario changes a workbook without editing it (WORKBOOK.md, "Scenario
files"): Policy keys, Minerals columns, ``[[shock]]`` multipliers on matching
offers' price and capacity, and ``[[demand]]`` multipliers and additions on matching demand.
Every problem is reported with the file, the table and the key, and what is
expected; TOML syntax errors carry their line and column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from procure.data import (
    DemandFactor,
    DemandRow,
    Period,
    Shock,
    StochasticScenario,
    WorkbookData,
    normalize_key,
    period_in_range,
    shock_matches_offer,
)
from procure.errors import InputError, Problem
from procure.files import read_toml
from procure.validate import (
    POLICY_KEYS,
    SCHEMA,
    SHARE,
    Collector,
    Invalid,
    normalize_name,
    parse_number,
    parse_period,
)

PROBABILITY_TOL = 1e-6  # scenario probabilities must sum to 1 within this
TOP_KEYS = {"name", "description", "probability", "policy", "minerals", "shock", "demand"}
SHOCK_FILTERS = {"supplier", "country", "processing_country", "mineral"}
SHOCK_KEYS = SHOCK_FILTERS | {"period_from", "period_to", "capacity", "price"}
DEMAND_KEYS = {"mineral", "period_from", "period_to", "factor", "add"}
MINERAL_COLUMNS = {c.name: c.parse for c in SCHEMA["minerals"] if c.name not in ("mineral", "unit")}
MINERAL_FIELDS = {
    "max_china_share": "max_china_share",
    "shortfall_penalty": "shortfall_penalty_usd",
    "reserve_penalty": "reserve_penalty_usd",
    "reference_price": "reference_price_usd",
    "holding_cost": "holding_cost_usd",
    "initial_reserve": "initial_reserve",
}


@dataclass
class Scenario:
    """A parsed and checked scenario file."""

    name: str
    description: str = ""
    probability: float | None = None  # set when the file is one scenario of a stochastic plan
    policy: dict[str, object] = field(default_factory=dict)
    minerals: dict[str, dict[str, object]] = field(default_factory=dict)  # mineral key -> field -> value
    shocks: list[Shock] = field(default_factory=list)
    demand_factors: list[DemandFactor] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def load_scenario(path: str | Path, data: WorkbookData) -> Scenario:
    """Read ``path`` and check every key and filter against ``data``; raise :class:`InputError` on problems."""
    path = Path(path)
    out = Collector(str(path))  # the place in the file (a table and key) goes where a sheet would
    document = read_toml(path, "scenario file")
    scenario = _check(document, path.stem, data, out)
    if out.errors:
        raise InputError(out.problems)
    scenario.warnings = out.warnings
    return scenario


def _check(doc: dict, stem: str, data: WorkbookData, out: Collector) -> Scenario:
    for key in doc:
        if key not in TOP_KEYS:
            out.error(f"unknown key '{key}'; expected one of: {', '.join(sorted(TOP_KEYS))}", "")
    name = doc.get("name", stem)
    if not isinstance(name, str) or not name.strip():
        out.error("expected a non-empty text", "name", value=name)
        name = stem
    description = doc.get("description", "")
    if not isinstance(description, str):
        out.error("expected text", "description", value=description)
        description = ""
    scenario = Scenario(name=name.strip(), description=description,
                        probability=_probability(doc, out))
    scenario.policy = _check_policy(doc.get("policy", {}), out)
    scenario.minerals = _check_minerals(doc.get("minerals", {}), data, out)
    scenario.shocks = [s for i, entry in enumerate(_tables(doc, "shock", out), 1)
                       if (s := _check_shock(entry, f"[[shock]] #{i}", data, out)) is not None]
    scenario.demand_factors = [d for i, entry in enumerate(_tables(doc, "demand", out), 1)
                               if (d := _check_demand(entry, f"[[demand]] #{i}", data, out)) is not None]
    return scenario


def _probability(doc: dict, out: Collector) -> float | None:
    """``probability = 0.x``: the file's weight as one scenario of a stochastic plan, 0..1."""
    if "probability" not in doc:
        return None
    raw = doc["probability"]
    try:
        return SHARE(raw)
    except Invalid as exc:
        out.error(str(exc), "probability", value=raw)
        return None


def _tables(doc: dict, key: str, out: Collector) -> list[dict]:
    entries = doc.get(key, [])
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        out.error(f"expected a list of tables written [[{key}]]", key)
        return []
    return entries


def _check_policy(table: object, out: Collector) -> dict[str, object]:
    if not isinstance(table, dict):
        out.error("expected a table [policy]", "policy")
        return {}
    values = {}
    for raw_key, raw in table.items():
        key = normalize_name(raw_key)
        if key not in POLICY_KEYS:
            out.error(f"unknown policy key '{raw_key}'; expected one of: {', '.join(POLICY_KEYS)}", "[policy]")
            continue
        try:
            values[key] = POLICY_KEYS[key](raw)
        except Invalid as exc:
            out.error(str(exc), f"[policy] {raw_key}", value=raw)
    return values


def _check_minerals(table: object, data: WorkbookData, out: Collector) -> dict[str, dict[str, object]]:
    if not isinstance(table, dict):
        out.error("expected tables written [minerals.NAME]", "minerals")
        return {}
    result: dict[str, dict[str, object]] = {}
    for mineral, columns in table.items():
        where = f"[minerals.{mineral}]"
        key = normalize_key(mineral)
        if key not in data.minerals:
            out.error("is not a mineral of the workbook (minerals: "
                      + ", ".join(data.names.mineral(k) for k in data.minerals) + ")", where, value=mineral)
            continue
        if not isinstance(columns, dict):
            out.error("expected a table of Minerals columns", where)
            continue
        changes = {}
        for raw_column, raw in columns.items():
            column = normalize_name(raw_column)
            if column not in MINERAL_COLUMNS:
                out.error(f"unknown or unchangeable column '{raw_column}'; expected one of: "
                          + ", ".join(MINERAL_COLUMNS), where)
                continue
            try:
                changes[MINERAL_FIELDS[column]] = MINERAL_COLUMNS[column](raw)
            except Invalid as exc:
                out.error(str(exc), f"{where} {raw_column}", value=raw)
        result[key] = changes
    return result


def _keys_filter(entry: dict, name: str, known: set[str], where: str, out: Collector,
                 describe: str) -> tuple[str, ...] | None:
    """A string-or-list filter; every value must match something in the workbook."""
    if name not in entry:
        return None
    raw = entry[name]
    items = raw if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(i, str) for i in items):
        out.error("expected a text or a list of texts", f"{where} {name}", value=raw)
        return None
    keys = []
    for item in items:
        key = normalize_key(item)
        if key not in known:
            out.error(f"matches no {describe} in the workbook (a misspelling?)", f"{where} {name}", value=item)
        keys.append(key)
    return tuple(keys)


def _period_bound(entry: dict, name: str, data: WorkbookData, where: str, out: Collector) -> Period | None:
    if name not in entry:
        return None
    raw = entry[name]
    try:
        period = parse_period(raw)
    except Invalid as exc:
        out.error(str(exc), f"{where} {name}", value=raw)
        return None
    if data.periods and type(period) is not type(data.periods[0]):
        out.error("is not comparable with the workbook's periods ("
                  + ", ".join(str(p) for p in data.periods[:4]) + ", ...)", f"{where} {name}", value=raw)
        return None
    return period


def _period_range_ok(low, high, data, where, out) -> bool:
    if low is None and high is None:
        return True
    if not any(period_in_range(p, low, high) for p in data.periods):
        out.error(f"period_from/period_to ({low} .. {high}) match no period of the workbook", where)
        return False
    return True


def _factor(entry: dict, name: str, where: str, out: Collector) -> float:
    if name not in entry:
        return 1.0
    raw = entry[name]
    try:
        value = parse_number(raw)
    except Invalid as exc:
        out.error(str(exc), f"{where} {name}", value=raw)
        return 1.0
    if value < 0:
        out.error("expected a multiplier >= 0", f"{where} {name}", value=raw)
        return 1.0
    return value


def _addition(entry: dict, where: str, out: Collector) -> float:
    """``add = UNITS``: units added to matching demand per period, >= 0 (default 0)."""
    if "add" not in entry:
        return 0.0
    raw = entry["add"]
    try:
        value = parse_number(raw)
    except Invalid as exc:
        out.error(str(exc), f"{where} add", value=raw)
        return 0.0
    if value < 0:
        out.error("expected units to add >= 0 (lower demand with a factor below 1)", f"{where} add", value=raw)
        return 0.0
    return value


def _check_shock(entry: dict, where: str, data: WorkbookData, out: Collector) -> Shock | None:
    for key in entry:
        if key not in SHOCK_KEYS:
            out.error(f"unknown key '{key}'; expected one of: {', '.join(sorted(SHOCK_KEYS))}", where)
    offers = data.offers
    countries = {o.country_key for o in offers} | set(data.countries)
    processing = {o.processing_country_key for o in offers} | set(data.countries)
    shock = Shock(
        suppliers=_keys_filter(entry, "supplier", {o.supplier_key for o in offers}, where, out, "supplier"),
        countries=_keys_filter(entry, "country", countries, where, out, "country"),
        processing_countries=_keys_filter(entry, "processing_country", processing, where, out,
                                          "processing country"),
        minerals=_keys_filter(entry, "mineral", set(data.minerals), where, out, "mineral"),
        period_from=_period_bound(entry, "period_from", data, where, out),
        period_to=_period_bound(entry, "period_to", data, where, out),
        capacity_factor=_factor(entry, "capacity", where, out),
        price_factor=_factor(entry, "price", where, out),
    )
    if not _period_range_ok(shock.period_from, shock.period_to, data, where, out):
        return None
    if not any(shock_matches_offer(shock, o) for o in offers):
        out.warn("its filters together match no offer; it changes nothing", where)
    return shock


def _check_demand(entry: dict, where: str, data: WorkbookData, out: Collector) -> DemandFactor | None:
    for key in entry:
        if key not in DEMAND_KEYS:
            out.error(f"unknown key '{key}'; expected one of: {', '.join(sorted(DEMAND_KEYS))}", where)
    if "factor" not in entry and "add" not in entry:
        out.error("needs a factor (the multiplier on matching demand) or an add (units added per period)",
                  where)
    factor = DemandFactor(
        factor=_factor(entry, "factor", where, out),
        add=_addition(entry, where, out),
        minerals=_keys_filter(entry, "mineral", set(data.minerals), where, out, "mineral"),
        period_from=_period_bound(entry, "period_from", data, where, out),
        period_to=_period_bound(entry, "period_to", data, where, out),
    )
    if not _period_range_ok(factor.period_from, factor.period_to, data, where, out):
        return None
    return factor


def apply(data: WorkbookData, scenario: Scenario) -> WorkbookData:
    """The workbook data with the scenario's policy, mineral, demand and shock changes applied.

    The demand changes are applied into ``demand`` and also kept on ``demand_changes``, as the
    shocks are on ``shocks``: the instance reads both to find the release periods (STOCKPILE.md).
    """
    policy = replace(data.policy, **scenario.policy)
    if "scenario" not in scenario.policy:
        policy = replace(policy, scenario=scenario.name)
    minerals = {key: replace(m, **scenario.minerals.get(key, {})) for key, m in data.minerals.items()}
    return data.with_changes(
        policy=policy, minerals=minerals, demand=changed_demand(data, scenario.demand_factors),
        shocks=list(data.shocks) + list(scenario.shocks),
        demand_changes=list(data.demand_changes) + list(scenario.demand_factors),
        warnings=list(data.warnings) + list(scenario.warnings),
        scenario_description=scenario.description,
    )


def changed_demand(data: WorkbookData, changes: list[DemandFactor]) -> dict[tuple[str, Period], DemandRow]:
    """Demand after ``[[demand]]`` changes, whatever their order (WORKBOOK.md, STOCKPILE.md):
    ``D x (product of matching factors) + (sum of matching adds)``, in units per period.

    An addition also applies to a (mineral, period) pair missing from Demand (demand 0).
    Multipliers never scale an explicit ``reserve_target``; a target derived from
    ``reserve_days`` uses the demand after multipliers but before additions, kept as
    ``reserve_basis`` (the gap a shock opens is no reason to stock more).
    """
    demand = dict(data.demand)
    if not changes:
        return demand
    for mineral_key in data.minerals:
        for period in data.periods:
            matching = [c for c in changes if (c.minerals is None or mineral_key in c.minerals)
                        and period_in_range(period, c.period_from, c.period_to)]
            if not matching:
                continue
            pair = (mineral_key, period)
            added = sum(c.add for c in matching)
            row = demand.get(pair)
            if row is None:
                if added > 0:
                    demand[pair] = DemandRow(mineral_key, period, demand=added, reserve_basis=0.0)
                continue
            scaled = row.demand * math.prod(c.factor for c in matching)
            demand[pair] = replace(row, demand=scaled + added, reserve_basis=scaled)
    return demand



def load_stochastic_scenario(path: str | Path, data: WorkbookData):
    """One scenario of a stochastic plan from a ``--scenario FILE`` (STOCKPILE.md, "Scenarios").

    The file holds ``name``, ``description``, ``probability`` (0..1, required),
    ``[[shock]]`` and ``[[demand]]``; ``[policy]`` or ``[minerals.X]`` is an error,
    since rules are the plan's (use ``--model`` for them). Raises :class:`InputError`
    listing every problem. Returns a :class:`procure.data.StochasticScenario`.
    """
    path = Path(path)
    out = Collector(str(path))
    document = read_toml(path, "scenario file")
    for table in ("policy", "minerals"):
        if table in document:
            shown = "[policy]" if table == "policy" else "[minerals.X]"
            out.error(f"is not allowed in a --scenario file: rules are the plan's, not a scenario's "
                      f"(put {shown} in the --model file)", shown)
    if "probability" not in document:
        out.error("is required in a --scenario file (a number from 0 to 1)", "probability")
    parsed = _check({k: v for k, v in document.items() if k not in ("policy", "minerals")}, path.stem, data, out)
    if out.errors:
        raise InputError(out.problems)
    probability = parsed.probability or 0.0
    return StochasticScenario(
        name=parsed.name, probability=float(probability), description=parsed.description,
        shocks=list(parsed.shocks),
        demand_changes=list(parsed.demand_factors),
        source=str(path))


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
