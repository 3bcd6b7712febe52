"""The ``Risks`` sheet of STOCKPILE.md: disruption events that ``procure stress`` samples.

Each row is one effect of an event: what it hits (filters AND-ed, each a
``;``-separated list, blank = any) and what it does while the event lasts
(capacity and price multipliers of the offers it hits, ``extra_demand`` added to
each of its minerals). Rows that share an event name (compared as every name is,
ignoring case and surrounding blanks) are ONE event with several effects: they
start together and last together, so the event's ``probability`` (the chance it
starts in one period of its window, when not in progress), ``duration`` and start
window ``period_from`` .. ``period_to`` must agree on every row of it.

:func:`read_risks` checks every cell and reports every problem at once, each
with sheet, Excel row, column and value; :func:`risk_masks` turns the events
into arrays over an :class:`~procure.instance.Instance`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from procure.data import Period, WorkbookData, normalize_key, period_in_range
from procure.errors import Collector, InputError, Problem
from procure.instance import Instance
from procure.validate import NONNEGATIVE, SHARE, Invalid, parse_number, parse_period, parse_text
from procure.workbook import ExcelError, RawSheet, RawWorkbook, normalize_name, read_table

SHEET = "Risks"
FILTER_COLUMNS = ("country", "processing_country", "supplier", "mineral")
COLUMNS = (("event", "probability", "duration") + FILTER_COLUMNS + ("capacity", "price", "extra_demand")
           + ("period_from", "period_to"))
REQUIRED = ("event", "probability")
# what the rows of one event must agree on: they start and last together
SHARED = ("probability", "duration", "period_from", "period_to")


@dataclass(frozen=True)
class RiskEffect:
    """One row of Risks, checked: what one event does to the offers and minerals it hits while it lasts.

    Filters: ``None`` (any) or a tuple of normalised keys; ``capacity_factor`` and
    ``price_factor`` multiply the hit offers' capacity (units/period) and price
    (USD/unit); ``extra_demand`` (units/period, each mineral's own unit) is added to
    the demand of each of its minerals.
    """

    row: int
    countries: tuple[str, ...] | None = None
    processing_countries: tuple[str, ...] | None = None
    suppliers: tuple[str, ...] | None = None
    minerals: tuple[str, ...] | None = None
    capacity_factor: float = 0.0
    price_factor: float = 1.0
    extra_demand: float = 0.0

    def hits_offer(self, offer) -> bool:
        """Whether the effect's filters (AND-ed) match ``offer``."""
        return ((self.countries is None or offer.country_key in self.countries)
                and (self.processing_countries is None or offer.processing_country_key in self.processing_countries)
                and (self.suppliers is None or offer.supplier_key in self.suppliers)
                and (self.minerals is None or offer.mineral_key in self.minerals))


@dataclass(frozen=True)
class RiskEvent:
    """One event of Risks: its rows (effects), which start and last together.

    ``probability``: chance it starts in a period of its window in which it is not
    in progress; ``duration_periods``: how long it lasts once started (cut at the
    horizon); ``period_from`` .. ``period_to``: the periods in which it may start
    (inclusive, None = open); it may last beyond them.
    """

    name: str
    probability: float
    duration_periods: int = 1
    period_from: Period | None = None
    period_to: Period | None = None
    effects: tuple[RiskEffect, ...] = ()

    @property
    def rows(self) -> tuple[int, ...]:
        return tuple(effect.row for effect in self.effects)

    def may_start(self, period: Period) -> bool:
        """Whether ``period`` lies in the event's start window."""
        return period_in_range(period, self.period_from, self.period_to)


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


@dataclass
class _Row:
    """A row read, before rows are grouped into events."""

    name: str
    key: str
    row: int
    shared: dict  # column -> value (probability, duration, period_from, period_to)
    effect: RiskEffect


def read_risks(raw: RawWorkbook, data: WorkbookData) -> list[RiskEvent]:
    """The checked events of ``raw``'s Risks sheet, in the order their first rows come.

    Raises :class:`InputError` with every problem (sheet, row, column, value and
    what is expected) when the sheet is missing, empty or has bad cells, or when
    the rows of one event disagree on probability, duration or start window.
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
    periods = list(data.periods)
    read: list[_Row] = []
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
        probability = parse("probability", SHARE, None)
        duration = parse("duration", _duration, 1)
        capacity = parse("capacity", NONNEGATIVE, 0.0)
        price = parse("price", NONNEGATIVE, 1.0)
        extra = parse("extra_demand", NONNEGATIVE, 0.0)
        window = {}
        for column in ("period_from", "period_to"):
            period = parse(column, parse_period, None)
            if period is not None and periods and type(period) is not type(periods[0]):
                out.error("is not comparable with the workbook's periods ("
                          + ", ".join(str(p) for p in periods[:4]) + (", ..." if len(periods) > 4 else "") + ")",
                          title, excel_row, label[column], period)
                period = None
            window[column] = period
        low, high = window["period_from"], window["period_to"]
        if (low is not None or high is not None) and not any(period_in_range(p, low, high) for p in periods):
            column = "period_from" if low is not None else "period_to"
            out.error(f"period_from/period_to ({'open' if low is None else low} .. {'open' if high is None else high})"
                      " match no period of the workbook: the event could never start", title, excel_row,
                      label[column], low if low is not None else high)
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
        read.append(_Row(name, normalize_key(name), excel_row,
                         {"probability": probability, "duration": duration, "period_from": low, "period_to": high},
                         RiskEffect(row=excel_row, countries=filters["country"],
                                    processing_countries=filters["processing_country"],
                                    suppliers=filters["supplier"], minerals=filters["mineral"],
                                    capacity_factor=capacity, price_factor=price, extra_demand=extra)))
    events = _group(read, out, title, label)
    if not events and not out.errors:
        out.error("has no events: at least one row below the header is needed", title, header_row)
    if out.errors:
        raise InputError(out.problems)
    for problem in out.warnings:
        data.warnings.append(problem)
    return events


def _group(rows: list[_Row], out: Collector, title: str, label: dict[str, str]) -> list[RiskEvent]:
    """One event per name, in the order of first rows; a row that disagrees with its event's first row
    on probability, duration or start window is reported with both rows' values."""
    by_key: dict[str, list[_Row]] = {}
    for row in rows:
        by_key.setdefault(row.key, []).append(row)
    events = []
    for group in by_key.values():
        first = group[0]
        for row in group[1:]:
            for column in SHARED:
                if row.shared[column] != first.shared[column]:
                    shown = {k: ("blank" if v is None else v) for k, v in
                             (("first", first.shared[column]), ("this", row.shared[column]))}
                    out.error(f"rows {first.row} and {row.row} are one event ('{first.name}': rows that share an "
                              f"event name start and last together) but differ in {column}: {shown['first']} in "
                              f"row {first.row}, {shown['this']} here; give every row of the event the same "
                              "probability, duration, period_from and period_to", title, row.row,
                              label.get(column, column), row.shared[column])
        events.append(RiskEvent(name=first.name, probability=first.shared["probability"],
                                duration_periods=first.shared["duration"], period_from=first.shared["period_from"],
                                period_to=first.shared["period_to"], effects=tuple(r.effect for r in group)))
    return events


@dataclass(frozen=True)
class RiskMasks:
    """The events as arrays over an instance: E events, F effects (Risks rows), K offer-periods, M minerals,
    T periods.

    Per event: ``probability``, ``duration_periods`` and ``start_allowed[e, t]`` (t lies in e's
    start window). Per effect f (an event's row): ``effect_event[f]`` (its event),
    ``capacity_factor``/``price_factor``, ``hits_offer_period[f, k]`` (its filters match
    offer-period k's offer), ``extra_demand[f, m]`` (units/period added to mineral m while its event
    lasts) and ``hits_mineral_period[f, m, t]``: while its event is in progress in t, f *hits* m
    in t (STOCKPILE.md, release periods): it cuts the capacity (factor < 1) or raises the price
    (factor > 1) of a kept offer of m covering t, or adds demand to m.
    """

    probability: np.ndarray  # (E,)
    duration_periods: np.ndarray  # (E,) int
    start_allowed: np.ndarray  # (E, T) bool
    effect_event: np.ndarray  # (F,) int
    capacity_factor: np.ndarray  # (F,)
    price_factor: np.ndarray  # (F,)
    hits_offer_period: np.ndarray  # (F, K) bool
    extra_demand: np.ndarray  # (F, M)
    hits_mineral_period: np.ndarray  # (F, M, T) bool


def risk_masks(events: list[RiskEvent], inst: Instance) -> RiskMasks:
    """Arrays of ``events`` over ``inst``'s kept offers, minerals and periods."""
    effects = [effect for event in events for effect in event.effects]
    n_f, n_m, n_t = len(effects), len(inst.mineral_keys), len(inst.periods)
    hits_offer = np.array([[effect.hits_offer(o) for o in inst.offers] for effect in effects],
                          dtype=bool).reshape(n_f, len(inst.offers))
    hits_op = hits_offer[:, inst.op_offer] if n_f else np.zeros((0, inst.n_offer_periods), dtype=bool)
    extra = np.zeros((n_f, n_m))
    for f, effect in enumerate(effects):
        if effect.extra_demand > 0 and effect.minerals is not None:
            for m, key in enumerate(inst.mineral_keys):
                if key in effect.minerals:
                    extra[f, m] = effect.extra_demand
    capacity = np.array([e.capacity_factor for e in effects], dtype=float)
    price = np.array([e.price_factor for e in effects], dtype=float)
    hits_mt = np.zeros((n_f, n_m, n_t), dtype=bool)
    mineral_of_k = inst.offer_mineral[inst.op_offer]
    for f in range(n_f):
        if capacity[f] < 1.0 or price[f] > 1.0:
            k = np.flatnonzero(hits_op[f])
            hits_mt[f, mineral_of_k[k], inst.op_period[k]] = True
        hits_mt[f, extra[f] > 0, :] = True
    return RiskMasks(
        probability=np.array([e.probability for e in events], dtype=float),
        duration_periods=np.array([e.duration_periods for e in events], dtype=np.int64),
        start_allowed=np.array([[e.may_start(p) for p in inst.periods] for e in events],
                               dtype=bool).reshape(len(events), n_t),
        effect_event=np.repeat(np.arange(len(events)), [len(e.effects) for e in events]).astype(np.int64),
        capacity_factor=capacity, price_factor=price, hits_offer_period=hits_op, extra_demand=extra,
        hits_mineral_period=hits_mt,
    )


__all__ = ["RiskEffect", "RiskEvent", "RiskMasks", "read_risks", "risk_masks", "Problem"]
