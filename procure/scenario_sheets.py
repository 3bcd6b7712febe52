"""The ``Scenarios`` and ``Shocks`` sheets of a stochastic workbook (STOCKPILE.md, "Scenarios").

Parsed from the raw workbook after :func:`procure.validate.validate` has checked
the rest (filters are matched against its data), into typed
:class:`~procure.data.StochasticScenario` objects. Every problem names
its sheet, Excel row, column and value and says what is expected; all of them
are raised together as one :class:`~procure.errors.InputError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from procure.data import (
    DemandFactor,
    Period,
    Shock,
    StochasticScenario,
    WorkbookData,
    normalize_key,
    period_in_range,
    shock_matches_offer,
)
from procure.errors import Collector, InputError, Problem
from procure.validate import MAX_MAGNITUDE, MIN_MAGNITUDE, Invalid, parse_number, parse_period, parse_text
from procure.workbook import ExcelError, RawSheet, RawWorkbook, normalize_name, read_table

FILTERS = ("supplier", "country", "processing_country", "mineral")


def _probability(value: object) -> float:
    number = parse_number(value)
    if not 0.0 <= number <= 1.0:
        raise Invalid("expected a probability from 0 to 1")
    return number


def _multiplier(value: object) -> float:
    number = parse_number(value)
    if number < 0:
        raise Invalid("expected a multiplier >= 0")
    return number


def _addition(value: object) -> float:
    number = parse_number(value)
    if number < 0:
        raise Invalid("expected units per period >= 0")
    return number


def _names(value: object) -> tuple[str, ...]:
    """A filter cell: one name, or several separated by ';'."""
    parts = [p.strip() for p in parse_text(value).split(";")]
    if not all(parts):
        raise Invalid("expected a name, or names separated by ';' (an empty name between separators)")
    return tuple(parts)


SCENARIO_COLUMNS = {"scenario": parse_text, "probability": _probability, "description": parse_text}
SHOCK_COLUMNS = {"scenario": parse_text, "supplier": _names, "country": _names, "processing_country": _names,
                 "mineral": _names, "period_from": parse_period, "period_to": parse_period,
                 "capacity": _multiplier, "price": _multiplier, "demand": _multiplier,
                 "extra_demand": _addition}
REQUIRED = {"scenarios": ("scenario", "probability"), "shocks": ("scenario",)}


@dataclass
class _Row:
    row: int
    values: dict[str, object]
    labels: dict[str, str]  # column name -> header as written


def _find(raw: RawWorkbook, kind: str) -> RawSheet | None:
    return next((s for t, s in raw.sheets.items() if normalize_name(t) == kind), None)


def _rows(sheet: RawSheet, columns: dict, required: tuple[str, ...], out: Collector) -> list[_Row]:
    """Header found, cells parsed; a blank required cell or an unparsable value is reported by cell."""
    title = sheet.title
    table = read_table(sheet, required, columns, out)
    if table is None:
        return []
    header_row, header = table.header_row, table.header
    position, labels = {}, {}
    for index, raw in enumerate(header):
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        name = normalize_name(str(raw))
        if name not in columns:
            out.warn(f"unknown column, ignored (expected one of: {', '.join(columns)})", title, header_row, str(raw))
        elif name in position:
            out.error(f"duplicate column '{raw}'; keep one", title, header_row, str(raw))
        else:
            position[name], labels[name] = index, str(raw).strip()
    rows = []
    for excel_row, values in table.rows:
        parsed: dict[str, object] = {}
        for name, index in position.items():
            raw = values[index] if index < len(values) else None
            if isinstance(raw, ExcelError):
                out.error("is an Excel error; fix the formula or type a value", title, excel_row, labels[name],
                          raw.code)
                continue
            if raw is None and table.is_refused(excel_row, index):  # merged, or a formula without a result
                parsed[name] = Invalid
                continue
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            try:
                parsed[name] = columns[name](raw)
            except Invalid as exc:
                out.error(str(exc), title, excel_row, labels[name], raw)
                parsed[name] = Invalid  # a value was there but did not parse: no "blank" message too
        if not parsed:
            continue
        for name in required:
            if name not in parsed:
                out.error("is blank; a value is required", title, excel_row, labels.get(name, name))
        rows.append(_Row(excel_row, parsed, labels))
    return rows


def read_scenario_sheets(raw: RawWorkbook, data: WorkbookData) -> tuple[list[StochasticScenario], list[Problem]]:
    """The scenarios of the ``Scenarios`` sheet with the ``Shocks`` rows that make them ([] without it),
    and the warnings; every error is raised at once as :class:`InputError`."""
    out = Collector(raw.path.name)
    scenarios = collect_scenario_sheets(raw, data, out)
    if out.errors:
        raise InputError(out.problems)
    return scenarios, out.warnings


def collect_scenario_sheets(raw: RawWorkbook, data: WorkbookData, out: Collector) -> list[StochasticScenario]:
    """As :func:`read_scenario_sheets`, adding problems to ``out`` instead of raising."""
    scenario_sheet, shock_sheet = _find(raw, "scenarios"), _find(raw, "shocks")
    if scenario_sheet is None:
        if shock_sheet is not None:
            out.error("a Shocks sheet needs a Scenarios sheet naming its scenarios (scenario, probability)",
                      shock_sheet.title)
        return []
    title = scenario_sheet.title
    scenarios: dict[str, StochasticScenario] = {}
    first_row: dict[str, int] = {}
    records = _rows(scenario_sheet, SCENARIO_COLUMNS, REQUIRED["scenarios"], out)
    if not records and not out.errors:  # a header and nothing below: not a stochastic plan of no scenario
        out.error("has no scenario below its header; add one row per scenario (scenario, probability), or delete "
                  "the sheet for a plan of the base data alone", title)
    for rec in records:
        name, probability = rec.values.get("scenario"), rec.values.get("probability")
        if not isinstance(name, str):
            continue
        key = normalize_key(name)
        if key in scenarios:
            out.error(f"scenario name repeats row {first_row[key]}; names must be unique", title, rec.row,
                      rec.labels["scenario"], name)
            continue
        first_row[key] = rec.row
        description = rec.values.get("description")
        scenarios[key] = StochasticScenario(
            name=name, probability=probability if isinstance(probability, float) else 0.0,
            description=description if isinstance(description, str) else "",
            source=f"sheet '{title}' row {rec.row}")
    # probabilities are checked over every scenario, sheet and files together (stochastic.check_scenarios)
    if shock_sheet is not None:
        rows_of: dict[int, int] = {}  # id of a Shock or DemandFactor -> its Shocks row
        labels: dict[str, str] = {}
        for rec in _rows(shock_sheet, SHOCK_COLUMNS, REQUIRED["shocks"], out):
            made = [(sc, len(sc.shocks), len(sc.demand_changes)) for sc in scenarios.values()]
            _shock_row(rec, shock_sheet.title, scenarios, data, out)
            for sc, shocks, changes in made:
                rows_of.update({id(x): rec.row for x in sc.shocks[shocks:] + sc.demand_changes[changes:]})
            labels.update(rec.labels)
        for scenario in scenarios.values():
            _check_compounded(scenario, rows_of, labels, shock_sheet.title, data, out)
    return list(scenarios.values())


def _check_compounded(scenario: StochasticScenario, rows_of: dict[int, int], labels: dict[str, str], title: str,
                      data: WorkbookData, out: Collector) -> None:
    """Report, once per scenario and quantity, shocked prices, capacities and demands a solver cannot take.

    The rows of a scenario that hit the same offer (or mineral) in the same period multiply together, as
    the model applies them: a price of 100 USD under two rows of price 1e12 becomes 1e26 USD, which no
    solver solves ("not solved"); the rows are named with their product instead. A shocked value must
    be 0 or lie within validate's magnitudes (MIN_MAGNITUDE .. MAX_MAGNITUDE)."""
    periods = list(data.periods)
    offers = list(data.offers)
    if periods and offers and scenario.shocks:
        covers = np.array([[o.period is None or o.period == p for p in periods] for o in offers], dtype=bool)
        hits = [(shock, np.array([shock_matches_offer(shock, o) for o in offers], dtype=bool),
                 np.array([period_in_range(p, shock.period_from, shock.period_to) for p in periods], dtype=bool))
                for shock in scenario.shocks]
        for column, factor_of, base in (
                ("price", lambda sh: sh.price_factor, np.array([o.price_usd for o in offers], dtype=float)),
                ("capacity", lambda sh: sh.capacity_factor, np.array([o.capacity for o in offers], dtype=float))):
            value = np.repeat(base[:, None], len(periods), axis=1)
            with np.errstate(over="ignore", invalid="ignore"):
                for shock, on_offers, on_periods in hits:
                    value[np.ix_(on_offers, on_periods)] *= factor_of(shock)
            bad = covers & _beyond(value)
            if bad.any():  # the worst offer-period is named: the one the most rows compound on, usually
                with np.errstate(divide="ignore", invalid="ignore"):
                    distance = np.where(bad, np.nan_to_num(np.abs(np.log10(np.abs(value))), nan=np.inf), -1.0)
                o, t = np.unravel_index(int(np.argmax(distance)), distance.shape)
                rows = [(rows_of.get(id(shock), 0), factor_of(shock)) for shock, on_offers, on_periods in hits
                        if on_offers[o] and on_periods[t] and factor_of(shock) != 1.0]
                what = f"offer {offers[o].offer_id(data.names)} in {periods[t]}"
                _compounded_error(out, scenario, title, labels.get(column, column), column, rows, base[o],
                                  value[o, t], what, int(bad.sum()) - 1)
    changes = [c for c in scenario.demand_changes if c.factor != 1.0]
    for (mineral, period), row in data.demand.items():
        matching = [c for c in changes if (c.minerals is None or mineral in c.minerals)
                    and period_in_range(period, c.period_from, c.period_to)]
        scaled = row.demand * math.prod(c.factor for c in matching) if matching else row.demand
        if matching and _beyond(np.array([scaled])).any():
            what = f"the demand for {data.names.mineral(mineral)} in {period}"
            _compounded_error(out, scenario, title, labels.get("demand", "demand"), "demand",
                              [(rows_of.get(id(c), 0), c.factor) for c in matching], row.demand, scaled, what, None)
            break


def _beyond(value: np.ndarray) -> np.ndarray:
    """Where a shocked value is neither 0 nor a magnitude a solver takes (NaN and infinity included)."""
    size = np.abs(value)
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(value) | (size > MAX_MAGNITUDE) | ((size > 0) & (size < MIN_MAGNITUDE))


def _compounded_error(out: Collector, scenario: StochasticScenario, title: str, label: str, column: str,
                      rows: list[tuple[int, float]], base: float, value: float, what: str, more: int | None) -> None:
    product = math.prod(f for _, f in rows) if rows else 1.0
    numbers = sorted({r for r, _ in rows if r})
    named = ("rows " + ", ".join(str(r) for r in numbers)) if len(numbers) > 1 else \
        (f"row {numbers[0]}" if numbers else "the rows")
    factors = " x ".join(f"{f:g}" for _, f in rows)
    also = f" (and {more:,} more offer-periods)" if more else ""
    out.error((f"scenario '{scenario.name}': the {column} multipliers of {named} multiply to {product:g} ({factors})"
               if len(rows) > 1 else f"scenario '{scenario.name}': the {column} multiplier of {named} ({product:g})")
              + f", making {what} {base:g} x {product:g} = {value:g}{also}: a solver takes 0 or magnitudes from "
              f"{MIN_MAGNITUDE:g} to {MAX_MAGNITUDE:g}; lower the multipliers", title, numbers[0] if numbers else None,
              label, product)


def _shock_row(rec: _Row, title: str, scenarios: dict[str, StochasticScenario], data: WorkbookData,
               out: Collector) -> None:
    v = rec.values
    if any(value is Invalid for value in v.values()):
        return
    name = v.get("scenario")
    if not isinstance(name, str):
        return
    scenario = scenarios.get(normalize_key(name))
    if scenario is None:
        out.error("names no scenario of the Scenarios sheet (expected one of: "
                  + ", ".join(sc.name for sc in scenarios.values()) + ")", title, rec.row, rec.labels["scenario"],
                  name)
    known = {
        "supplier": {o.supplier_key for o in data.offers},
        "country": {o.country_key for o in data.offers} | set(data.countries),
        "processing_country": {o.processing_country_key for o in data.offers} | set(data.countries),
        "mineral": set(data.minerals),
    }
    filters: dict[str, tuple[str, ...] | None] = {}
    ok = True
    for column in FILTERS:
        names = v.get(column)
        if names is None:
            filters[column] = None
            continue
        keys = tuple(normalize_key(n) for n in names)
        for text, key in zip(names, keys):
            if key not in known[column]:
                out.error(f"matches no {column.replace('_', ' ')} in the workbook (a misspelling?)", title, rec.row,
                          rec.labels[column], text)
                ok = False
        filters[column] = keys
    low, high = v.get("period_from"), v.get("period_to")
    for column, period in (("period_from", low), ("period_to", high)):
        if period is not None and data.periods and type(period) is not type(data.periods[0]):
            out.error("is not comparable with the workbook's periods ("
                      + ", ".join(str(p) for p in data.periods[:4]) + ", ...)", title, rec.row, rec.labels[column],
                      period)
            ok = False
    if ok and (low is not None or high is not None) and not any(_in(p, low, high) for p in data.periods):
        out.error(f"period_from/period_to ({low} .. {high}) match no period of the workbook", title, rec.row,
                  rec.labels.get("period_from", rec.labels.get("period_to")))
        ok = False
    demand, extra = v.get("demand", 1.0), v.get("extra_demand", 0.0)
    changes_demand = demand != 1.0 or extra != 0.0
    if changes_demand:
        offer_filters = [c for c in ("supplier", "country", "processing_country") if filters[c] is not None]
        if offer_filters:
            out.error("a demand change may be filtered by mineral and period only; move the "
                      + ", ".join(offer_filters) + " filter to a row of its own", title, rec.row,
                      rec.labels["demand" if "demand" in v else "extra_demand"], demand if "demand" in v else extra)
            ok = False
        if extra != 0.0 and filters["mineral"] is None:
            out.error("extra_demand needs a mineral (each mineral has its own unit)", title, rec.row,
                      rec.labels["extra_demand"], extra)
            ok = False
    if not ok or scenario is None:
        return
    capacity, price = v.get("capacity", 1.0), v.get("price", 1.0)
    if capacity != 1.0 or price != 1.0 or not changes_demand:
        scenario.shocks.append(Shock(
            capacity_factor=capacity, price_factor=price, suppliers=filters["supplier"],
            countries=filters["country"], processing_countries=filters["processing_country"],
            minerals=filters["mineral"], period_from=low, period_to=high))
    if changes_demand:
        scenario.demand_changes.append(DemandFactor(factor=demand, add=extra, minerals=filters["mineral"],
                                                    period_from=low, period_to=high))


def _in(period: Period, low, high) -> bool:
    return (low is None or period >= low) and (high is None or period <= high)

