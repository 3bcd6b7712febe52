"""The ``Scenarios`` and ``Shocks`` sheets of a stochastic workbook (STOCKPILE.md, "Scenarios").

Parsed from the raw workbook after :func:`procure.validate.validate` has checked
the rest (filters are matched against its data), into typed
:class:`~procure.data.StochasticScenario` objects. Every problem names
its sheet, Excel row, column and value and says what is expected; all of them
are raised together as one :class:`~procure.errors.InputError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from procure.data import DemandFactor, Period, Shock, StochasticScenario, WorkbookData, normalize_key
from procure.errors import Collector, InputError, Problem
from procure.validate import Invalid, parse_number, parse_period, parse_text
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
    for rec in _rows(scenario_sheet, SCENARIO_COLUMNS, REQUIRED["scenarios"], out):
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
        for rec in _rows(shock_sheet, SHOCK_COLUMNS, REQUIRED["shocks"], out):
            _shock_row(rec, shock_sheet.title, scenarios, data, out)
    return list(scenarios.values())


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

