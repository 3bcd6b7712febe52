"""Hypothesis strategies for procure's property tests (tests/test_properties.py).

A drawn workbook is a dict of sheets in the form ``builders.write_workbook``
takes: ``{"minerals": [...], "demand": [...], "offers": [...],
"countries": [...] or None, "policy": {...} or None}``. Every workbook drawn
by :func:`valid_workbooks` is valid by WORKBOOK.md (no errors; warnings are
allowed), so ``procure.pipeline.load`` must accept it.

Helpers here also compute, from the drawn dicts alone (not from procure), the
facts the properties check a plan against: total demand, each offer's China
exposure, each mineral's China cap, which offers are excluded.
"""

from __future__ import annotations

from hypothesis import strategies as st

MINERALS = ["Gallium", "Germanium", "Lithium"]
COUNTRIES = ["China", "USA", "Canada", "Congo", "Australia"]
SUPPLIERS = ["Acme", "Borealis", "Cathay", "Delta", "Euromet", "Fjord"]
POLICY_KEYS = ("max_china_share", "max_country_share", "max_supplier_share", "min_ally_share", "share_basis",
               "min_avg_esg", "min_esg_score", "budget_total", "budget_per_period", "reserve_days",
               "days_per_period", "scenario")


def numbers(lo: float, hi: float, *, any_float: bool = True, special=()):
    """Numbers in [lo, hi] as a planner types them (whole, two decimals, ``special`` values) and, with
    ``any_float``, any double in range: that branch reaches 5e-324, 1e-300 or 99.99999999999999, values a
    spreadsheet formula can produce (and which found HiGHS crashes and a row-scaling overflow)."""
    typed = [st.integers(int(lo * 100), int(hi * 100)).map(lambda v: v / 100)]
    if float(lo).is_integer() and float(hi).is_integer():
        typed.insert(0, st.integers(int(lo), int(hi)))
    if special:
        typed.insert(0, st.sampled_from(list(special)))
    if any_float:
        # procure accepts 0 or magnitudes of at least 1e-9 (below that a solver drops or crashes on the
        # value, so validate rejects it with a message; test_cell_corruption covers the rejection)
        typed.append(st.floats(lo, hi, allow_nan=False, allow_infinity=False)
                     .map(lambda v: 0.0 if abs(v) < 1e-9 else v))
    return st.one_of(*typed)


yes_no = st.sampled_from(["yes", "no", "Y", "n", True, False, 1, 0, "TRUE", "false"])


def truthy(cell) -> bool:
    """A yes/no cell as WORKBOOK.md reads it (None: blank)."""
    if isinstance(cell, str):
        return cell.strip().casefold() in ("yes", "y", "true", "1")
    return bool(cell)


@st.composite
def periods(draw) -> list:
    """1-3 sorted period labels: whole years (2027, 2028, ...) or quarter text ("2027-Q1", ...)."""
    n = draw(st.integers(1, 3))
    if draw(st.booleans()):
        start = draw(st.integers(2026, 2030))
        return [start + i for i in range(n)]
    year = draw(st.integers(2026, 2029))
    quarters = sorted(draw(st.sets(st.integers(1, 8), min_size=n, max_size=n)))
    return [f"{year + (q - 1) // 4}-Q{(q - 1) % 4 + 1}" for q in quarters]


@st.composite
def valid_workbooks(draw, *, max_offers: int = 6, prices=None, any_float: bool = True) -> dict:
    """A small valid workbook: 1-3 minerals, 1-3 periods, 1-``max_offers`` offers, optional Countries and Policy.

    ``prices``: the strategy for offer prices (e.g. ``st.sampled_from([5, 10])`` to force ties).
    ``any_float=False``: only numbers as typed (whole or two decimals), for properties about something
    other than numerical robustness.
    """
    def num(lo, hi, special=()):
        return numbers(lo, hi, any_float=any_float, special=special)

    amounts, shares, scores = num(0, 100), num(0, 1, (0, 0.1, 0.25, 0.5, 0.75, 1)), num(0, 100)
    prices = prices if prices is not None else amounts
    minerals = draw(st.lists(st.sampled_from(MINERALS), min_size=1, max_size=3, unique=True))
    labels = draw(periods())

    mineral_rows = []
    for name in minerals:
        row = {"mineral": name}
        for column, values in (("max_china_share", shares),
                               ("shortfall_penalty", num(0.01, 1000)),
                               ("reserve_penalty", num(0, 500)),
                               ("holding_cost", num(0, 5)),
                               ("initial_reserve", amounts)):
            if draw(st.integers(0, 3)) == 0:  # each optional column is filled about a quarter of the time
                row[column] = draw(values)
        mineral_rows.append(row)

    # every period appears in Demand at least once (the periods ARE Demand's labels); some pairs are missing
    demand_rows = []
    for label in labels:
        chosen = draw(st.lists(st.sampled_from(minerals), min_size=1, max_size=len(minerals), unique=True))
        for name in chosen:
            row = {"mineral": name, "period": label, "demand": draw(amounts)}
            if draw(st.integers(0, 3)) == 0:
                row["reserve_target"] = draw(amounts)
            demand_rows.append(row)

    offer_rows = []
    for _ in range(draw(st.integers(1, max_offers))):
        capacity = draw(amounts)
        if draw(st.integers(0, 7)) == 0:
            # what planners type for "no limit" (kept under procure's 1e13 magnitude limit): big-M territory
            capacity = draw(st.sampled_from([1e6, 999_999_999, 1e12]))
        row = {"supplier": draw(st.sampled_from(SUPPLIERS)),
               "country": draw(st.sampled_from(COUNTRIES)),
               "mineral": draw(st.sampled_from(minerals)),
               "price": draw(prices),
               "capacity": capacity}
        if draw(st.integers(0, 2)) == 0:
            row["period"] = draw(st.sampled_from(labels))
        if draw(st.integers(0, 3)) == 0:
            row["processing_country"] = draw(st.sampled_from(COUNTRIES))
        if draw(st.integers(0, 3)) == 0:
            row["china_share"] = draw(shares)
        if draw(st.booleans()):
            row["esg_score"] = draw(scores)
        agreement = draw(st.sampled_from([None, "spot", "optional", "signed", "Optional", "SIGNED"]))
        if agreement is not None:
            row["agreement"] = agreement
        if agreement is not None and agreement.lower() in ("optional", "signed"):
            # min_volume <= capacity by construction: rounding is monotonic, so capacity * f <= capacity for f <= 1
            row["min_volume"] = capacity * draw(num(0, 1, (0, 0.25, 0.5, 1)))
            row["fixed_cost"] = draw(num(0, 1000, (0, 10, 250)))
        if draw(st.integers(0, 7)) == 0:
            row["blocked"] = draw(yes_no)
        offer_rows.append(row)

    country_rows = None
    if draw(st.booleans()):
        country_rows = []
        for name in draw(st.lists(st.sampled_from(COUNTRIES), min_size=1, max_size=len(COUNTRIES), unique=True)):
            row = {"country": name}
            for column, values in (("concern", yes_no), ("ally", yes_no), ("max_share", shares)):
                if draw(st.booleans()):
                    row[column] = draw(values)
            if draw(st.integers(0, 5)) == 0:
                row["blocked"] = draw(yes_no)
            country_rows.append(row)
        # WORKBOOK.md: with the sheet, every country and processing_country of Offers is listed
        listed = {r["country"] for r in country_rows}
        used = {o[c] for o in offer_rows for c in ("country", "processing_country") if c in o}
        country_rows += [{"country": name} for name in sorted(used - listed)]

    policy = None
    if draw(st.booleans()):
        keys = draw(st.lists(st.sampled_from(POLICY_KEYS), min_size=1, max_size=5, unique=True))
        values = {"max_china_share": shares, "max_country_share": shares, "max_supplier_share": shares,
                  "min_ally_share": shares, "share_basis": st.sampled_from(["quantity", "value", "Value"]),
                  "min_avg_esg": scores, "min_esg_score": scores,
                  "budget_total": num(0, 20_000, (0, 100, 1000)),
                  "budget_per_period": num(0, 10_000, (0, 100, 1000)),
                  "reserve_days": num(0, 400, (0, 30, 90, 365)),
                  "days_per_period": st.sampled_from([365, 90, 30]),
                  "scenario": st.sampled_from(["base", "stress test"])}
        policy = {key: draw(values[key]) for key in keys}

    return {"minerals": mineral_rows, "demand": demand_rows, "offers": offer_rows,
            "countries": country_rows, "policy": policy}


# ------------------------------------------------------------ facts from the drawn dicts (the test's own oracle)


def total_demand(book: dict) -> float:
    return float(sum(row["demand"] for row in book["demand"]))


def _country(book: dict, name: str) -> dict:
    for row in book["countries"] or []:
        if row["country"] == name:
            return row
    return {}


def is_concern(book: dict, name: str) -> bool:
    """Concern: the Countries cell when filled, else China only (WORKBOOK.md, Countries)."""
    row = _country(book, name)
    if row.get("concern") is not None:
        return truthy(row["concern"])
    return name == "China"


def exposure(book: dict, offer: dict) -> float:
    """e[o]: the offer's china_share, else 1 when mined or processed in a concern country."""
    if offer.get("china_share") is not None:
        return float(offer["china_share"])
    processing = offer.get("processing_country") or offer["country"]
    return 1.0 if is_concern(book, offer["country"]) or is_concern(book, processing) else 0.0


def china_cap(book: dict, mineral: str) -> float:
    """a[m]: the mineral's max_china_share, else Policy's, else 1."""
    for row in book["minerals"]:
        if row["mineral"] == mineral and row.get("max_china_share") is not None:
            return float(row["max_china_share"])
    return float((book["policy"] or {}).get("max_china_share", 1.0))


def excluded(book: dict, offer: dict) -> bool:
    """Blocked offer, mined or processed in a blocked country, or below min_esg_score (or unscored)."""
    if offer.get("blocked") is not None and truthy(offer["blocked"]):
        return True
    for country in (offer["country"], offer.get("processing_country") or offer["country"]):
        blocked = _country(book, country).get("blocked")
        if blocked is not None and truthy(blocked):
            return True
    threshold = (book["policy"] or {}).get("min_esg_score")
    if threshold is not None:
        return offer.get("esg_score") is None or offer["esg_score"] < threshold
    return False


def may_be_infeasible(book: dict) -> bool:
    """FORMULATION.md, Feasibility: only hard limits can make the model infeasible.

    Demand and reserve targets are elastic and every share rule holds trivially
    with no purchases, so with no signed minimum volume and no budget, buying
    nothing (beyond what spot minimums force: none here) is always feasible.
    """
    policy = book["policy"] or {}
    if "budget_total" in policy or "budget_per_period" in policy:
        return True
    return any(str(o.get("agreement") or "").lower() == "signed" and (o.get("min_volume") or 0) > 0
               for o in book["offers"])


# ------------------------------------------------------------ fixed workbooks


def rich_workbook() -> dict:
    """A valid workbook that uses every sheet and most columns: the seed for the corruption properties."""
    return {
        "minerals": [
            {"mineral": "Gallium", "unit": "t", "max_china_share": 0.5, "shortfall_penalty": 500,
             "reserve_penalty": 50, "holding_cost": 1, "initial_reserve": 5},
            {"mineral": "Germanium", "unit": "kg", "max_china_share": None, "shortfall_penalty": None,
             "reserve_penalty": None, "holding_cost": None, "initial_reserve": None},
        ],
        "demand": [
            {"mineral": "Gallium", "period": 2027, "demand": 40, "reserve_target": 10},
            {"mineral": "Gallium", "period": 2028, "demand": 50, "reserve_target": None},
            {"mineral": "Germanium", "period": 2027, "demand": 20, "reserve_target": 0},
            {"mineral": "Germanium", "period": 2028, "demand": 25, "reserve_target": None},
        ],
        "offers": [
            {"supplier": "Sino", "country": "China", "mineral": "Gallium", "price": 10, "capacity": 60,
             "period": None, "processing_country": None, "china_share": None, "esg_score": 40,
             "agreement": "spot", "min_volume": None, "fixed_cost": None, "blocked": None},
            {"supplier": "Maple", "country": "Canada", "mineral": "Gallium", "price": 14, "capacity": 30,
             "period": 2028, "processing_country": "USA", "china_share": 0, "esg_score": 80,
             "agreement": "optional", "min_volume": 10, "fixed_cost": 50, "blocked": "no"},
            {"supplier": "Outback", "country": "Australia", "mineral": "Germanium", "price": 30, "capacity": 20,
             "period": None, "processing_country": "China", "china_share": 0.3, "esg_score": 70,
             "agreement": "signed", "min_volume": 5, "fixed_cost": 100, "blocked": None},
            {"supplier": "Sino", "country": "China", "mineral": "Germanium", "price": 20, "capacity": 40,
             "period": None, "processing_country": None, "china_share": None, "esg_score": None,
             "agreement": None, "min_volume": None, "fixed_cost": None, "blocked": None},
            {"supplier": "Kivu", "country": "Congo", "mineral": "Gallium", "price": 8, "capacity": 15,
             "period": None, "processing_country": None, "china_share": None, "esg_score": 20,
             "agreement": None, "min_volume": None, "fixed_cost": None, "blocked": "yes"},
        ],
        "countries": [
            {"country": "China", "concern": "yes", "ally": "no", "max_share": 0.8, "blocked": None},
            {"country": "Canada", "concern": None, "ally": "yes", "max_share": None, "blocked": None},
            {"country": "USA", "concern": "no", "ally": True, "max_share": None, "blocked": None},
            {"country": "Congo", "concern": None, "ally": None, "max_share": 0.5, "blocked": "no"},
            {"country": "Australia", "concern": "n", "ally": "y", "max_share": None, "blocked": None},
        ],
        "policy": {"max_country_share": 0.9, "max_supplier_share": 0.9, "share_basis": "quantity",
                   "min_ally_share": 0.1, "min_avg_esg": 30, "budget_total": 100_000,
                   "budget_per_period": 60_000, "reserve_days": 30, "scenario": "base"},
    }


def tied_workbook() -> dict:
    """Two minerals, two periods, several offers at the SAME price with different suppliers.

    Gallium: three spot offers at 10/t (capacity 30 each) against demand 40 and 50, so any two of them
    can carry a period and the optimum is not unique in which offers it uses; a fourth, dearer offer
    (12/t) must stay unused. Germanium: two offers at 5/t (capacity 20) against demand 25, plus a
    period-specific one at 5/t. The optimal cost is unique; the split between the tied offers is not.
    """
    return {
        "minerals": [{"mineral": "Gallium"}, {"mineral": "Germanium"}],
        "demand": [
            {"mineral": "Gallium", "period": 2027, "demand": 40},
            {"mineral": "Gallium", "period": 2028, "demand": 50},
            {"mineral": "Germanium", "period": 2027, "demand": 25},
            {"mineral": "Germanium", "period": 2028, "demand": 25},
        ],
        "offers": [
            {"supplier": "Alpha", "country": "USA", "mineral": "Gallium", "price": 10, "capacity": 30},
            {"supplier": "Bravo", "country": "Canada", "mineral": "Gallium", "price": 10, "capacity": 30},
            {"supplier": "Charlie", "country": "Australia", "mineral": "Gallium", "price": 10, "capacity": 30},
            {"supplier": "Delta", "country": "Chile", "mineral": "Gallium", "price": 12, "capacity": 100},
            {"supplier": "Echo", "country": "USA", "mineral": "Germanium", "price": 5, "capacity": 20},
            {"supplier": "Foxtrot", "country": "Canada", "mineral": "Germanium", "price": 5, "capacity": 20},
            {"supplier": "Golf", "country": "Japan", "mineral": "Germanium", "price": 5, "capacity": 20,
             "period": 2028},
        ],
        "countries": None,
        "policy": None,
    }
