"""Every check of the input workbook: from raw tables to :class:`~procure.data.WorkbookData`.

Each problem is reported with its sheet, Excel row, column and value, and says
what is expected. All problems are collected and raised together as one
:class:`~procure.errors.InputError`; warnings travel on the returned data.
The rules are those of WORKBOOK.md.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Callable

from procure.data import (
    AGREEMENT_KINDS,
    RISKS,
    SHARE_BASES,
    Country,
    DemandRow,
    Mineral,
    Names,
    Offer,
    OfferKind,
    Period,
    Policy,
    WorkbookData,
    normalize_key,
)
from procure.errors import Collector, InputError
from procure.workbook import ExcelError, RawSheet, RawWorkbook, column_letter, normalize_name, read_table

# Largest magnitude accepted for any number: beyond it a solver loses all precision
# (HiGHS treats 1e20 as infinite), and no real plan needs it.
MAX_MAGNITUDE = 1e13
# Smallest nonzero magnitude: solvers treat smaller coefficients as zero (HiGHS drops
# matrix entries below 1e-9), and a cost of 1e-300 crashed HiGHS 1.16 outright.
MIN_MAGNITUDE = 1e-9


class Invalid(ValueError):
    """A cell value that does not parse; the message says what was expected."""


# ---------------------------------------------------------------- cell parsers

_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_GROUPED_NUMBER = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_SPACE_GROUPED_NUMBER = re.compile(r"^[+-]?\d{1,3}( \d{3})+(\.\d+)?$")


def parse_number(value: object) -> float:
    """A number, or numeric text as people type it: ``1200``, ``"1,200"``, ``" 15 "``, ``"1 200.5"``, ``"15%"``.

    Rejected with a reason: currency signs and units (``$12``, ``100 t``), ``NaN``,
    ``inf``, decimal commas (``1,5`` is ambiguous between locales), booleans.
    """
    if isinstance(value, bool):
        raise Invalid("expected a number, found a TRUE/FALSE value")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().replace("\u00a0", " ").replace("\u202f", " ")
        percent = text.endswith("%")
        if percent:
            text = text[:-1].strip()
        if _PLAIN_NUMBER.match(text):
            number = float(text)
        elif _GROUPED_NUMBER.match(text):
            number = float(text.replace(",", ""))
        elif _SPACE_GROUPED_NUMBER.match(text):
            number = float(text.replace(" ", ""))
        else:
            raise Invalid(_why_not_a_number(text))
        if percent:
            number /= 100.0
    else:
        raise Invalid(f"expected a number, found {type(value).__name__}")
    if not math.isfinite(number):
        raise Invalid("expected a finite number")
    if abs(number) > MAX_MAGNITUDE:
        raise Invalid(f"is too large: numbers up to {MAX_MAGNITUDE:.0e} in magnitude are accepted")
    if 0 < abs(number) < MIN_MAGNITUDE:
        raise Invalid(f"is too small for a solver: write 0, or a number of at least {MIN_MAGNITUDE:.0e}")
    return number


def _why_not_a_number(text: str) -> str:
    lowered = text.casefold()
    if lowered in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        return "expected a finite number, not NaN or infinity"
    if re.search(r"[$€£¥]", text):
        return "expected a plain number: write the amount without a currency sign (USD is implied)"
    if re.match(r"^[+-]?[\d.,\s]+$", text) and "," in text:
        return "expected a number with ',' only as a thousands separator and '.' as the decimal point (e.g. 1,200.5)"
    if re.match(r"^[+-]?[\d.,]+\s*[A-Za-z]+$", text):
        return "expected a plain number: write the quantity without its unit (units are set per mineral)"
    return "expected a number"


def parse_yes_no(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().casefold()
        if text in ("yes", "y", "true", "1"):
            return True
        if text in ("no", "n", "false", "0"):
            return False
    raise Invalid("expected yes or no (also y/n, true/false, 1/0)")


_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")  # C0 controls, DEL and the C1 controls
MAX_TEXT_CHARS = 1_000  # a name or description; text made of several (an offer id) stays far below Excel's 32,767


def parse_text(value: object) -> str:
    if isinstance(value, bool):
        raise Invalid("expected text, found a TRUE/FALSE value")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if _CONTROL_CHARACTERS.search(text):
        raise Invalid("contains control characters (line breaks, tabs or invisible codes); remove them")
    if len(text) > MAX_TEXT_CHARS:
        raise Invalid(f"is {len(text):,} characters long; names and descriptions take at most {MAX_TEXT_CHARS:,}")
    return text


def parse_period(value: object) -> Period:
    """A period label: a whole number (``2027``, ``2027.0``, ``"2027"``) or text (``2027-Q1``)."""
    if isinstance(value, bool):
        raise Invalid("expected a period label (a whole number such as 2027, or text such as 2027-Q1)")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or not float(value).is_integer():
            raise Invalid("expected a whole number such as 2027, or text such as 2027-Q1")
        return int(value)
    if hasattr(value, "isoformat"):
        raise Invalid("is a date; write the period as text (e.g. 2027-01) or a year (2027)")
    text = parse_text(value)
    if re.fullmatch(r"[+-]?\d+(\.0*)?", text):
        return int(float(text))
    return text


def _enum(options: tuple[str, ...]) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = parse_text(value).casefold()
        if text not in options:
            raise Invalid("expected one of: " + ", ".join(options))
        return text

    return parse


def _range(low: float | None = None, high: float | None = None, *, strict_low: bool = False):
    """A number parser with bounds, its message naming the range."""

    def parse(value: object) -> float:
        number = parse_number(value)
        if low is not None and (number < low or (strict_low and number <= low)):
            raise Invalid(_range_text(low, high, strict_low))
        if high is not None and number > high:
            raise Invalid(_range_text(low, high, strict_low))
        return number

    return parse


def _range_text(low, high, strict_low) -> str:
    if high is None:
        return f"expected a number {'>' if strict_low else '>='} {low:g}"
    return f"expected a number from {low:g} to {high:g}"


SHARE = _range(0.0, 1.0)
NONNEGATIVE = _range(0.0)
POSITIVE = _range(0.0, strict_low=True)
SCORE = _range(0.0, 100.0)


# ---------------------------------------------------------------- sheet schema


@dataclass(frozen=True)
class Column:
    """One column of a sheet: how to parse it and whether it (and each of its cells) is required."""

    name: str
    parse: Callable[[object], object]
    required: bool = False


SCHEMA: dict[str, tuple[Column, ...]] = {
    "minerals": (
        Column("mineral", parse_text, required=True),
        Column("unit", parse_text),
        Column("max_china_share", SHARE),
        Column("shortfall_penalty", POSITIVE),
        Column("reserve_penalty", NONNEGATIVE),
        Column("reference_price", POSITIVE),
        Column("holding_cost", NONNEGATIVE),
        Column("initial_reserve", NONNEGATIVE),
    ),
    "demand": (
        Column("mineral", parse_text, required=True),
        Column("period", parse_period, required=True),
        Column("demand", NONNEGATIVE, required=True),
        Column("reserve_target", NONNEGATIVE),
    ),
    "offers": (
        Column("supplier", parse_text, required=True),
        Column("country", parse_text, required=True),
        Column("mineral", parse_text, required=True),
        Column("price", NONNEGATIVE, required=True),
        Column("capacity", NONNEGATIVE, required=True),
        Column("period", parse_period),
        Column("processing_country", parse_text),
        Column("china_share", SHARE),
        Column("esg_score", SCORE),
        Column("agreement", _enum(AGREEMENT_KINDS)),
        Column("min_volume", NONNEGATIVE),
        Column("fixed_cost", NONNEGATIVE),
        Column("blocked", parse_yes_no),
    ),
    "countries": (
        Column("country", parse_text, required=True),
        Column("concern", parse_yes_no),
        Column("ally", parse_yes_no),
        Column("max_share", SHARE),
        Column("blocked", parse_yes_no),
    ),
    "policy": (
        Column("key", parse_text, required=True),
        Column("value", lambda v: v),
    ),
    "budget": (
        Column("period", parse_period, required=True),
        Column("budget", NONNEGATIVE, required=True),
    ),
}
REQUIRED_SHEETS = ("minerals", "demand", "offers")
SHEET_TITLES = {"minerals": "Minerals", "demand": "Demand", "offers": "Offers",
                "countries": "Countries", "policy": "Policy", "budget": "Budget"}

def _open_unit_interval(value: object) -> float:
    """A number strictly between 0 and 1 (the CVaR level alpha: 1 would divide by 1 - alpha = 0)."""
    number = parse_number(value)
    if not 0.0 < number < 1.0:
        raise Invalid("expected a number between 0 and 1, both excluded (e.g. 0.9)")
    return number


def _count(value: object) -> int:
    """A whole number >= 0 (``2``, ``2.0``, ``"2"``): a number of periods."""
    number = parse_number(value)
    if number < 0 or not float(number).is_integer():
        raise Invalid("expected a whole number >= 0 (a number of periods)")
    return int(number)


POLICY_KEYS: dict[str, Callable[[object], object]] = {
    "max_china_share": SHARE,
    "max_country_share": SHARE,
    "max_supplier_share": SHARE,
    "share_basis": _enum(SHARE_BASES),
    "min_ally_share": SHARE,
    "min_esg_score": SCORE,
    "min_avg_esg": SCORE,
    "reserve_days": NONNEGATIVE,
    "days_per_period": POSITIVE,
    "budget_total": NONNEGATIVE,
    "budget_per_period": NONNEGATIVE,
    "scenario": parse_text,
    # stochastic plans (STOCKPILE.md)
    "commit_through": parse_period,
    "risk": _enum(RISKS),
    "risk_level": _open_unit_interval,
    "risk_weight": SHARE,
    "rebuild_periods": _count,
}


@dataclass
class Record:
    """One data row after parsing: parsed values by column name (``None`` for blank)."""

    row: int
    values: dict[str, object]

    def __getitem__(self, name: str) -> object:
        return self.values.get(name)


TOTAL_WORDS = {"total", "totals", "grand total", "subtotal", "sub-total"}  # names no mineral or supplier has


def _sheet_facts(sheet: RawSheet, header_row: int, out: "Collector") -> None:
    """Warn of what the sheet's XML hides (merged cells and formulas without results: :func:`read_table`)."""
    title = sheet.title
    if sheet.hidden:
        out.warn("is a hidden sheet; it is read all the same (unhide it to review what is used)", title)
    hidden = [r for r in sheet.hidden_rows if r > header_row]
    if hidden:
        out.warn(f"has hidden rows ({_short_list(hidden)}); they are read all the same", title)


def _parse_sheet(sheet: RawSheet, kind: str, out: Collector, recalculate: bool = False) -> list[Record]:
    """Map headers to the schema, parse every cell, and report problems by cell."""
    title = sheet.title
    if not sheet.rows:
        required = ", ".join(c.name for c in SCHEMA[kind] if c.required)
        out.error(f"is empty: expected a header row with {required}", title)
        return []
    table = read_table(sheet, (c.name for c in SCHEMA[kind] if c.required), (c.name for c in SCHEMA[kind]), out,
                       first_row_if_none=True)
    header_row, header_values = table.header_row, table.header
    if header_row != sheet.rows[0][0]:
        out.warn(f"rows above the header (row {header_row}) are ignored", title, sheet.rows[0][0])
    _sheet_facts(sheet, header_row, out)
    stale = [ref for ref in sheet.formulas if ref not in set(sheet.uncached_formulas)]
    if recalculate and stale:
        out.error(f"holds formulas ({_short_list(stale)}) and the workbook is flagged to recalculate "
                  "when opened, so their saved results may be stale; open and save it in Excel", title)
    columns = SCHEMA[kind]
    by_name = {c.name: c for c in columns}
    position: dict[str, int] = {}
    header_text: dict[str, str] = {}
    for index, raw in enumerate(header_values):
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        text = str(raw).strip()
        name = normalize_name(text)
        if name in position:
            out.error(f"duplicate column: '{header_text[name]}' appears in columns "
                      f"{column_letter(position[name])} and {column_letter(index)}; keep one",
                      title, header_row, text)
            continue
        if name not in by_name:
            out.warn("unknown column, ignored (expected one of: "
                     + ", ".join(c.name for c in columns) + ")", title, header_row, text)
            continue
        position[name] = index
        header_text[name] = text
    missing = [c.name for c in columns if c.required and c.name not in position]
    if missing:
        found = ", ".join(str(v) for v in header_values if v is not None) or "none"
        out.error(f"missing required column{'s' if len(missing) > 1 else ''}: "
                  f"{', '.join(missing)} (headers found in row {header_row}: {found})",
                  title, header_row)
        return []
    key_column = next(c.name for c in columns if c.required)
    records = []
    for excel_row, values in table.rows:
        key_raw = values[position[key_column]] if position[key_column] < len(values) else None
        if isinstance(key_raw, str) and key_raw.strip().casefold() in TOTAL_WORDS:
            out.error("looks like a total row; remove it (procure adds up by itself)",
                      title, excel_row, header_text[key_column], key_raw)
            continue
        parsed: dict[str, object] = {}
        for name, index in position.items():
            column = by_name[name]
            raw = values[index] if index < len(values) else None
            label = header_text[name]
            if isinstance(raw, ExcelError):
                out.error("is an Excel error; fix the formula or type a value", title, excel_row, label, raw.code)
                parsed[name] = None
                continue
            if raw is None and table.is_refused(excel_row, index):  # merged, or a formula without a result
                parsed[name] = None
                continue
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                if column.required:
                    out.error("is blank; a value is required", title, excel_row, label)
                parsed[name] = None
                continue
            try:
                parsed[name] = column.parse(raw)
            except Invalid as exc:
                out.error(str(exc), title, excel_row, label, raw)
                parsed[name] = None
        if not any(v is not None for v in parsed.values()):
            continue  # only unknown columns had values: a blank row for us
        records.append(Record(excel_row, parsed))
    return records


def _find_sheets(raw: RawWorkbook, out: Collector) -> dict[str, RawSheet]:
    found: dict[str, RawSheet] = {}
    for title, sheet in raw.sheets.items():
        kind = normalize_name(title)
        if kind in SCHEMA:
            if kind in found:
                out.error(f"two sheets are both '{SHEET_TITLES[kind]}'; keep one", title)
                continue
            found[kind] = sheet
    missing = [SHEET_TITLES[k] for k in REQUIRED_SHEETS if k not in found]
    if missing:
        present = ", ".join(f"'{t}'" for t in raw.sheets) or "none"
        out.error(f"missing required sheet{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
                  f"(sheets present: {present})")
    return found


def _sort_periods(labels: list[Period]) -> list[Period]:
    return sorted(set(labels))


def validate(raw: RawWorkbook) -> WorkbookData:
    """Check a workbook against WORKBOOK.md and return its typed data.

    Raises :class:`InputError` listing every error; warnings are on the result.
    """
    out = Collector(raw.path.name)
    sheets = _find_sheets(raw, out)
    records = {kind: _parse_sheet(sheet, kind, out, raw.recalculate_on_open) for kind, sheet in sheets.items()}
    names = Names()

    minerals = _minerals(records.get("minerals", []), sheets, out, names)
    periods, demand = _demand(records.get("demand", []), sheets, minerals, out, names)
    countries = _countries(records.get("countries", []), sheets, out, names)
    listed = countries if _countries_sheet_usable(sheets, out) else None
    offers = _offers(records.get("offers", []), sheets, minerals, periods, listed, out, names)
    policy = _policy(records.get("policy", []), sheets, out)
    period_budgets = _budgets(records.get("budget", []), sheets, periods, out)

    if sheets.get("demand") is not None and not demand and not out.errors:
        out.error("has no rows: at least one mineral and period is needed", sheets["demand"].title)
    _cross_checks(minerals, offers, sheets, out)

    if out.errors:
        raise InputError(out.problems)
    return WorkbookData(
        source=raw.path, sha256=raw.sha256, minerals=minerals, periods=periods, demand=demand,
        offers=offers, countries=countries,
        policy=policy, names=names, warnings=out.warnings, period_budgets=period_budgets,
    )


def _title(sheets, kind) -> str:
    return sheets[kind].title if kind in sheets else SHEET_TITLES[kind]


def _minerals(records, sheets, out, names) -> dict[str, Mineral]:
    title = _title(sheets, "minerals")
    minerals: dict[str, Mineral] = {}
    for rec in records:
        name = rec["mineral"]
        if name is None:
            continue
        key = normalize_key(name)
        if key in minerals:
            out.error(f"duplicate mineral (also in row {minerals[key].row}; names match ignoring case and spaces)",
                      title, rec.row, "mineral", name)
            continue
        names.minerals.setdefault(key, name)
        minerals[key] = Mineral(
            key=key, name=name, unit=rec["unit"] or "t",
            max_china_share=rec["max_china_share"],
            shortfall_penalty_usd=rec["shortfall_penalty"],
            reserve_penalty_usd=rec["reserve_penalty"],
            reference_price_usd=rec["reference_price"],
            holding_cost_usd=rec["holding_cost"] or 0.0,
            initial_reserve=rec["initial_reserve"] or 0.0,
            row=rec.row,
        )
    if "minerals" in sheets and not minerals and not out.errors:
        out.error("has no rows: list at least one mineral", title)
    return minerals


def _demand(records, sheets, minerals, out, names):
    title = _title(sheets, "demand")
    kinds = {type(rec["period"]) for rec in records if rec["period"] is not None}
    if len(kinds) > 1:
        numbers = [r.row for r in records if isinstance(r["period"], int)][:3]
        texts = [r.row for r in records if isinstance(r["period"], str)][:3]
        out.error("periods mix numbers (rows " + ", ".join(map(str, numbers)) + ") and text (rows "
                  + ", ".join(map(str, texts)) + "); use one kind, e.g. 2027 or 2027-Q1 throughout",
                  title, None, "period")
    demand: dict[tuple[str, Period], DemandRow] = {}
    for rec in records:
        mineral, period = rec["mineral"], rec["period"]
        if mineral is None or period is None or rec["demand"] is None:
            continue
        key = normalize_key(mineral)
        if key not in minerals:
            if minerals:
                out.error("is not in the Minerals sheet; add it there or fix the spelling",
                          title, rec.row, "mineral", mineral)
            continue
        pair = (key, period)
        if pair in demand:
            out.error(f"duplicate: mineral '{names.mineral(key)}' in period {period} is also in row "
                      f"{demand[pair].row}; keep one row per mineral and period",
                      title, rec.row, "period", period)
            continue
        demand[pair] = DemandRow(key, period, rec["demand"], rec["reserve_target"], rec.row)
    periods: list[Period] = []
    if len(kinds) <= 1:
        periods = _sort_periods([p for (_, p) in demand])
    return periods, demand


def _countries(records, sheets, out, names) -> dict[str, Country]:
    title = _title(sheets, "countries")
    countries: dict[str, Country] = {}
    for rec in records:
        name = rec["country"]
        if name is None:
            continue
        key = normalize_key(name)
        if key in countries:
            out.error(f"duplicate country (also in row {countries[key].row})", title, rec.row, "country", name)
            continue
        names.countries.setdefault(key, name)
        countries[key] = Country(
            key=key, concern=rec["concern"], ally=bool(rec["ally"]),
            max_share=rec["max_share"], blocked=bool(rec["blocked"]), row=rec.row,
        )
    return countries


def _countries_sheet_usable(sheets, out) -> bool:
    """Whether Offers' countries are checked against a Countries sheet (WORKBOOK.md, "Countries").

    Only with the sheet present and its header read: a sheet whose header is broken is
    already an error, and checking every offer against its empty list would bury that.
    """
    if "countries" not in sheets:
        return False
    title = sheets["countries"].title
    # sheet-level errors (empty, missing column) have no column
    return not any(p.sheet == title and p.column is None and p.severity == "error" for p in out.errors)


def _unlisted_country(text: str, listed: dict[str, Country], names: Names) -> str | None:
    """The message for a country missing from the Countries sheet, naming the closest listed one."""
    key = normalize_key(text)
    if key in listed:
        return None
    close = difflib.get_close_matches(key, sorted(listed), n=1, cutoff=0.6)
    if close:
        return f"not in Countries; did you mean '{names.country(close[0])}'?"
    return "not in Countries; add it there (a country missing from the sheet silently loses its ally status)"


def _offers(records, sheets, minerals, periods, listed, out, names) -> list[Offer]:
    """Offers rows; with ``listed`` (the Countries sheet), every country must be in it."""
    title = _title(sheets, "offers")
    period_set = set(periods)
    offers: list[Offer] = []
    for rec in records:
        supplier, country, mineral = rec["supplier"], rec["country"], rec["mineral"]
        price, capacity = rec["price"], rec["capacity"]
        unlisted = False
        if listed is not None:  # checked before the blanks below skip the row: every problem at once
            for column, text in (("country", country), ("processing_country", rec["processing_country"])):
                message = None if text is None else _unlisted_country(text, listed, names)
                if message is not None:
                    out.error(message, title, rec.row, column, text)
                    unlisted = True
        if None in (supplier, country, mineral, price, capacity):
            continue
        mineral_key = normalize_key(mineral)
        ok = not unlisted
        if mineral_key not in minerals:
            if minerals:
                out.error("is not in the Minerals sheet; add it there or fix the spelling",
                          title, rec.row, "mineral", mineral)
            ok = False
        period = rec["period"]
        if period is not None and periods and period not in period_set:
            out.error("is not a period of the Demand sheet (periods: "
                      + _short_list(periods) + "); leave blank for every period",
                      title, rec.row, "period", period)
            ok = False
        agreement = OfferKind(rec["agreement"] or OfferKind.SPOT)
        min_volume = rec["min_volume"] or 0.0
        if min_volume > capacity:
            out.error(f"min_volume is above capacity ({capacity:g}); expected min_volume <= capacity",
                      title, rec.row, "min_volume", min_volume)
            ok = False
        fixed_cost = rec["fixed_cost"] or 0.0
        if agreement == OfferKind.SPOT and fixed_cost > 0:
            out.error("fixed_cost applies only to optional or signed agreements, and this offer is spot; "
                      "set agreement to optional or signed, or clear fixed_cost (a typed cost is never ignored)",
                      title, rec.row, "fixed_cost", fixed_cost)
            ok = False
        if not ok:
            continue
        supplier_key = normalize_key(supplier)
        country_key = normalize_key(country)
        names.suppliers.setdefault(supplier_key, supplier)
        names.countries.setdefault(country_key, country)
        processing = rec["processing_country"]
        processing_key = None
        if processing is not None:
            processing_key = normalize_key(processing)
            names.countries.setdefault(processing_key, processing)
        offers.append(Offer(
            row=rec.row, supplier=names.supplier(supplier_key), supplier_key=supplier_key,
            country_key=country_key, mineral_key=mineral_key, price_usd=price, capacity=capacity,
            period=period, processing_key=processing_key, china_share=rec["china_share"],
            esg_score=rec["esg_score"], agreement=agreement, min_volume=min_volume,
            fixed_cost_usd=fixed_cost, blocked=bool(rec["blocked"]),
        ))
    return offers


def _short_list(items, limit=6) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (", ..." if len(items) > limit else "")


def _policy(records, sheets, out) -> Policy:
    title = _title(sheets, "policy")
    values: dict[str, object] = {}
    seen_row: dict[str, int] = {}
    for rec in records:
        key_text = rec["key"]
        if key_text is None:
            if rec["value"] is not None:
                out.error("has a value but no key", title, rec.row, "key")
            continue
        key = normalize_name(key_text)
        if key not in POLICY_KEYS:
            out.error("unknown policy key (a misspelt policy must not be ignored); expected one of: "
                      + ", ".join(POLICY_KEYS), title, rec.row, "key", key_text)
            continue
        if key in seen_row:
            out.error(f"duplicate policy key (also in row {seen_row[key]})", title, rec.row, "key", key_text)
            continue
        seen_row[key] = rec.row
        raw = rec["value"]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue  # blank: default
        if isinstance(raw, ExcelError):
            out.error("is an Excel error; fix the formula or type a value", title, rec.row, "value", raw.code)
            continue
        try:
            values[key] = POLICY_KEYS[key](raw)
        except Invalid as exc:
            out.error(f"{exc} (for {key})", title, rec.row, "value", raw)
    return Policy(**values)


def _budgets(records, sheets, periods, out) -> dict[Period, float]:
    """The Budget sheet (WORKBOOK.md): USD per period, each a Demand period listed once."""
    title = _title(sheets, "budget")
    known = set(periods)
    budgets: dict[Period, float] = {}
    first_row: dict[Period, int] = {}
    for rec in records:
        period, budget = rec["period"], rec["budget"]
        if period is None:
            continue  # blank or unreadable: already reported by cell
        if periods and period not in known:
            out.error("is not a period of the Demand sheet (periods: " + _short_list(periods) + ")",
                      title, rec.row, "period", period)
            continue
        if period in first_row:
            out.error(f"period {period} is listed twice (also in row {first_row[period]}); give each period "
                      "one budget", title, rec.row, "period", period)
            continue
        first_row[period] = rec.row
        if budget is not None:
            budgets[period] = budget
    return budgets


def _cross_checks(minerals, offers, sheets, out) -> None:
    """Warnings for what the spec allows but a planner would want to hear about."""
    offered = {o.mineral_key for o in offers}
    for key, mineral in minerals.items():
        if key not in offered:
            out.warn("has no offers: all of its demand will be shortfall",
                     _title(sheets, "minerals"), mineral.row, "mineral", mineral.name)
    first_row: dict[tuple, int] = {}
    for offer in offers:
        same = (offer.supplier_key, offer.mineral_key, offer.country_key, offer.period, offer.agreement)
        if same in first_row:
            out.warn(f"repeats the supplier, mineral, country, period and agreement of row {first_row[same]}; "
                     "both rows are kept as separate offers (delete one if it was entered twice)",
                     _title(sheets, "offers"), offer.row, "supplier", offer.supplier)
        else:
            first_row[same] = offer.row
