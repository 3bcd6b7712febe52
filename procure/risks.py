"""The ``Risks`` sheet of STOCKPILE.md: disruption events that ``procure stress`` samples.

Each row is one event: the chance it starts in any one period, how many
periods it lasts, what it hits (filters AND-ed, each a ``;``-separated list,
blank = any) and what it does while it lasts (capacity and price multipliers
of the offers it hits, ``extra_demand`` added to each of its minerals).

:func:`read_risks` checks every cell and reports every problem at once, each
with sheet, Excel row, column and value; :func:`risk_masks` turns the events
into arrays over an :class:`~procure.instance.Instance`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from procure.data import WorkbookData, normalize_key
from procure.errors import Collector, InputError, Problem
from procure.instance import Instance
from procure.validate import NONNEGATIVE, SHARE, Invalid, parse_number, parse_text
from procure.workbook import ExcelError, RawSheet, RawWorkbook, normalize_name, read_table

SHEET = "Risks"
FILTER_COLUMNS = ("country", "processing_country", "supplier", "mineral")
COLUMNS = ("event", "probability", "duration") + FILTER_COLUMNS + ("capacity", "price", "extra_demand")
REQUIRED = ("event", "probability")


@dataclass(frozen=True)
class RiskEvent:
    """One row of Risks, checked.

    ``probability``: chance it starts in a period in which it is not in progress;
    ``duration_periods``: how long it lasts once started (cut at the horizon);
    filters: ``None`` (any) or a tuple of normalised keys; ``capacity_factor`` and
    ``price_factor`` multiply the hit offers' capacity (units/period) and price
    (USD/unit) while it lasts; ``extra_demand`` (units/period, each mineral's own
    unit) is added to the demand of each of its minerals while it lasts.
    """

    name: str
    row: int
    probability: float
    duration_periods: int = 1
    countries: tuple[str, ...] | None = None
    processing_countries: tuple[str, ...] | None = None
    suppliers: tuple[str, ...] | None = None
    minerals: tuple[str, ...] | None = None
    capacity_factor: float = 0.0
    price_factor: float = 1.0
    extra_demand: float = 0.0

    def hits_offer(self, offer) -> bool:
        """Whether the event's filters (AND-ed) match ``offer``."""
        return ((self.countries is None or offer.country_key in self.countries)
                and (self.processing_countries is None or offer.processing_country_key in self.processing_countries)
                and (self.suppliers is None or offer.supplier_key in self.suppliers)
                and (self.minerals is None or offer.mineral_key in self.minerals))


def _find_sheet(raw: RawWorkbook) -> RawSheet | None:
    for title, sheet in raw.sheets.items():
        if normalize_name(title) == normalize_name(SHEET):
            return sheet
    return None


def _duration(value: object) -> int:
    number = parse_number(value)
    if number != int(number) or number < 1:
        raise Invalid("expected a whole number of periods >= 1")
    return int(number)


def _known_keys(data: WorkbookData) -> dict[str, set[str]]:
    offers = data.offers
    return {
        "country": {o.country_key for o in offers} | set(data.countries),
        "processing_country": {o.processing_country_key for o in offers} | set(data.countries),
        "supplier": {o.supplier_key for o in offers},
        "mineral": set(data.minerals),
    }


def has_risks_sheet(raw: RawWorkbook) -> bool:
    """Whether ``raw`` has a Risks sheet (matched as every sheet name is)."""
    return _find_sheet(raw) is not None


def read_risks(raw: RawWorkbook, data: WorkbookData) -> list[RiskEvent]:
    """The checked events of ``raw``'s Risks sheet, in sheet order.

    Raises :class:`InputError` with every problem (sheet, row, column, value and
    what is expected) when the sheet is missing, empty or has bad cells.
    """
    out = Collector(raw.path.name)
    sheet = _find_sheet(raw)
    if sheet is None:
        present = ", ".join(f"'{t}'" for t in raw.sheets) or "none"
        out.error(f"missing sheet '{SHEET}': procure stress samples disruptions from it "
                  f"(columns: {', '.join(COLUMNS)}; sheets present: {present})")
        raise InputError(out.problems)
    title = sheet.title
    table = read_table(sheet, REQUIRED, COLUMNS, out)
    if table is None:
        raise InputError(out.problems)
    header_row, header_values = table.header_row, table.header
    position: dict[str, int] = {}
    label: dict[str, str] = {}
    for index, value in enumerate(header_values):
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        name = normalize_name(str(value))
        if name in position:
            out.error(f"duplicate column '{value}'; keep one", title, header_row, str(value))
        elif name in COLUMNS:
            position[name], label[name] = index, str(value).strip()
        else:
            out.warn(f"unknown column, ignored (expected one of: {', '.join(COLUMNS)})", title, header_row,
                     str(value))
    known = _known_keys(data)
    events: list[RiskEvent] = []
    first_row_of: dict[str, int] = {}
    for excel_row, values in table.rows:
        def cell(name):
            index = position.get(name)
            return values[index] if index is not None and index < len(values) else None

        def parse(name, parser, default):
            raw_value = cell(name)
            if isinstance(raw_value, ExcelError):
                out.error("is an Excel error; fix the formula or type a value", title, excel_row, label[name],
                          raw_value.code)
                return default
            if raw_value is None and table.is_refused(excel_row, position.get(name)):
                return default  # merged, or a formula without a result: reported by read_table
            if raw_value is None or (isinstance(raw_value, str) and not raw_value.strip()):
                if name in REQUIRED:
                    out.error("is blank; a value is required", title, excel_row, label[name])
                return default
            try:
                return parser(raw_value)
            except Invalid as exc:
                out.error(str(exc), title, excel_row, label[name], raw_value)
                return default

        if all(cell(name) is None or (isinstance(cell(name), str) and not cell(name).strip())
               for name in position):
            continue
        name = parse("event", parse_text, None)
        if name is not None:
            key = normalize_key(name)
            if key in first_row_of:
                out.error(f"duplicate event (first in row {first_row_of[key]}); event names must be unique",
                          title, excel_row, label["event"], name)
            first_row_of.setdefault(key, excel_row)
        probability = parse("probability", SHARE, None)
        duration = parse("duration", _duration, 1)
        capacity = parse("capacity", NONNEGATIVE, 0.0)
        price = parse("price", NONNEGATIVE, 1.0)
        extra = parse("extra_demand", NONNEGATIVE, 0.0)
        filters: dict[str, tuple[str, ...] | None] = {}
        for column in FILTER_COLUMNS:
            text = parse(column, parse_text, None)
            if text is None:
                filters[column] = None
                continue
            items = [item.strip() for item in text.split(";") if item.strip()]
            for item in items:
                if normalize_key(item) not in known[column]:
                    out.error(f"'{item}' matches no {column.replace('_', ' ')} in the workbook (a misspelling?)",
                              title, excel_row, label[column], text)
            filters[column] = tuple(normalize_key(item) for item in items) or None
        if extra > 0 and filters["mineral"] is None:
            out.error("extra_demand needs the mineral column: the minerals whose demand it adds to",
                      title, excel_row, label.get("extra_demand"), extra)
        if name is None or probability is None:
            continue
        events.append(RiskEvent(
            name=name, row=excel_row, probability=probability, duration_periods=duration,
            countries=filters["country"], processing_countries=filters["processing_country"],
            suppliers=filters["supplier"], minerals=filters["mineral"],
            capacity_factor=capacity, price_factor=price, extra_demand=extra))
    if not events and not out.errors:
        out.error("has no events: at least one row below the header is needed", title, header_row)
    if out.errors:
        raise InputError(out.problems)
    for problem in out.warnings:
        data.warnings.append(problem)
    return events


@dataclass(frozen=True)
class RiskMasks:
    """The events as arrays over an instance (E events, K offer-periods, M minerals).

    ``hits_offer_period[e, k]``: event e's filters match offer-period k's offer;
    ``extra_demand[e, m]``: units/period added to mineral m while e lasts.
    """

    probability: np.ndarray  # (E,)
    duration_periods: np.ndarray  # (E,) int
    capacity_factor: np.ndarray  # (E,)
    price_factor: np.ndarray  # (E,)
    hits_offer_period: np.ndarray  # (E, K) bool
    extra_demand: np.ndarray  # (E, M)


def risk_masks(events: list[RiskEvent], inst: Instance) -> RiskMasks:
    """Arrays of ``events`` over ``inst``'s kept offers and minerals."""
    n_e, n_m = len(events), len(inst.mineral_keys)
    hits_offer = np.array([[event.hits_offer(o) for o in inst.offers] for event in events],
                          dtype=bool).reshape(n_e, len(inst.offers))
    extra = np.zeros((n_e, n_m))
    for e, event in enumerate(events):
        if event.extra_demand > 0 and event.minerals is not None:
            for m, key in enumerate(inst.mineral_keys):
                if key in event.minerals:
                    extra[e, m] = event.extra_demand
    return RiskMasks(
        probability=np.array([e.probability for e in events], dtype=float),
        duration_periods=np.array([e.duration_periods for e in events], dtype=np.int64),
        capacity_factor=np.array([e.capacity_factor for e in events], dtype=float),
        price_factor=np.array([e.price_factor for e in events], dtype=float),
        hits_offer_period=hits_offer[:, inst.op_offer] if n_e else np.zeros((0, inst.n_offer_periods), bool),
        extra_demand=extra,
    )


__all__ = ["RiskEvent", "RiskMasks", "read_risks", "risk_masks", "Problem"]
