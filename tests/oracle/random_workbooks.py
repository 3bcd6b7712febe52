"""Small random *valid* input workbooks, for cross-checking procure.

``random_workbook(seed, path)`` writes one workbook; the same seed always
writes the same workbook. Over many seeds every sheet, every column and every
Policy key of WORKBOOK.md is exercised, together with the reading rules:
header spellings (``Max China Share``, `` max_china_share ``), sheet-name case,
shuffled column order, blank rows, blank optional cells, numeric text
(``"1,200"``, ``" 15 "``), keys in other cases and padded with spaces, yes/no
spellings and Excel booleans, periods as ints, ``2027.0``, ``"2027"`` or text,
an unknown column (a warning) and an unknown sheet (ignored).

Numbers stay modest (prices 1-100, capacities 0-100), so each model solves in
milliseconds.

    python tests/oracle/random_workbooks.py 7 /tmp/wb7.xlsx   # prints the --model file, if any
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import openpyxl

MINERALS = ["Gallium", "Germanium", "Graphite", "Lithium", "Cobalt", "Tungsten"]
COUNTRIES = ["China", "USA", "Canada", "Australia", "Congo", "Chile", "Japan", "Russia"]
LIKELY_ALLIES = {"USA", "Canada", "Australia", "Japan", "Chile"}
SUPPLIERS = ["Acme Metals", "Borealis", "Cathay Resources", "Delta Mining", "Euromet"]


# --------------------------------------------------------------------------
# spelling variants
# --------------------------------------------------------------------------


def _header(rng: random.Random, name: str) -> str:
    """A header spelled in one of the ways WORKBOOK.md accepts."""
    roll = rng.random()
    if roll < 0.55:
        return name
    words = name.split("_")
    return rng.choice(
        [
            " ".join(w.capitalize() for w in words),  # Max China Share
            f" {name} ",  # surrounding spaces
            name.upper(),
            "_".join(w.capitalize() for w in words),  # Max_China_Share
            " ".join(words),  # max china share
        ]
    )


def _sheet_name(rng: random.Random, name: str) -> str:
    return rng.choice([name, name, name.lower(), name.upper()])


def _key(rng: random.Random, name: str) -> str:
    """A key (mineral, country, supplier) as another sheet might spell it."""
    roll = rng.random()
    if roll < 0.6:
        return name
    return rng.choice([name.lower(), name.upper(), f" {name} ", f"{name} "])


def _num(rng: random.Random, value):
    """A number, sometimes written as numeric text."""
    roll = rng.random()
    if roll < 0.8:
        return value
    if isinstance(value, float) and value.is_integer() and rng.random() < 0.5:
        value = int(value)
    if abs(value) >= 1000:
        text = f"{value:,}"  # "1,200"
    else:
        text = str(value)
    return rng.choice([text, f" {text} ", f"{text} "])


def _yes_no(rng: random.Random, flag: bool):
    if flag:
        return rng.choice(["yes", "Yes", "YES", "y", "Y", "true", "TRUE", 1, True])
    return rng.choice(["no", "No", "n", "N", "false", "False", 0, False])


def _period_cell(rng: random.Random, label):
    """A period label as a cell: ints as 2027, 2027.0, "2027" or " 2027 "."""
    if isinstance(label, int):
        return rng.choice([label, label, label, float(label), str(label), f" {label} "])
    return rng.choice([label, label, label, f" {label} "])


def _maybe(rng: random.Random, p: float, make):
    """make() with probability p, else None (a blank cell)."""
    return make() if rng.random() < p else None


# --------------------------------------------------------------------------
# sheets
# --------------------------------------------------------------------------


def _write_table(
    rng: random.Random,
    wb,
    name: str,
    columns: list[str],
    rows: list[dict],
    unknown_column: str | None = None,
) -> None:
    """A sheet with shuffled columns, varied headers, and maybe blank rows."""
    ws = wb.create_sheet(_sheet_name(rng, name))
    cols = list(columns)
    if unknown_column:
        cols.append(unknown_column)
    rng.shuffle(cols)
    ws.append([_header(rng, c) for c in cols])
    r = 2
    for row in rows:
        if rng.random() < 0.08:
            r += 1  # a blank row, to be skipped
        for j, c in enumerate(cols, start=1):
            value = row.get(c)
            if value is not None:
                ws.cell(row=r, column=j, value=value)
        r += 1
    if rows and rng.random() < 0.1:
        # blank rows after the data, with a blank cell explicitly written
        ws.cell(row=r + 2, column=1, value=None)


def _periods(rng: random.Random) -> list:
    n = rng.randint(1, 3)
    style = rng.choice(["year", "year", "year", "small", "quarter", "ptext"])
    if style == "year":
        start = rng.randint(2026, 2030)
        if rng.random() < 0.7:
            return [start + i for i in range(n)]
        return sorted(rng.sample(range(2026, 2036), n))
    if style == "small":  # 9 < 10 numerically (not as text)
        return sorted(rng.sample(range(1, 13), n))
    if style == "quarter":
        year = rng.randint(2026, 2029)
        labels = sorted(
            {f"{year + (q - 1) // 4}-Q{(q - 1) % 4 + 1}" for q in rng.sample(range(1, 9), n)}
        )
        return labels
    # "P10" < "P9" lexicographically
    return sorted(f"P{i}" for i in rng.sample(range(1, 13), n))


def random_workbook(seed: int, path) -> dict:
    """Write a small random valid workbook, determined by ``seed``, to ``path``,
    and sometimes a ``--model`` file beside it (``[[shock]]`` and ``[[demand]]``
    entries, most of which hit a mineral and so release its reserve target,
    and sometimes ``[policy] rebuild_periods``).

    Returns what a scenario generator needs: {"minerals", "periods",
    "offers": [{"supplier", "country", "processing_country", "mineral",
    "blocked", "excluded"}], "model_file": the --model file or None} in
    canonical spelling."""
    path = Path(path)
    info = _random_workbook(random.Random(seed), path)
    info["model_file"] = _random_model_file(random.Random(f"model-{seed}"), path, info)
    return info


def _random_model_file(rng: random.Random, path: Path, info: dict) -> Path | None:
    """A ``--model`` file of 1-3 shock and demand entries (about 45% of seeds), else None."""
    if rng.random() >= 0.45:
        return None
    lines = [f'description = "random model for {path.name}"', ""]
    if rng.random() < 0.3:
        lines[1:1] = ["[policy]", f"rebuild_periods = {rng.choice([0, 1, 2])}"]
    shocks = []
    for _ in range(rng.randint(1, 3)):
        shock = _offer_shock(rng, info) if rng.random() < 0.65 else _demand_shock(rng, info)
        _period_range(rng, shock, info["periods"])
        shocks.append(shock)
    lines += [""] + _toml_entries(rng, shocks)
    file = path.with_name(f"{path.stem}-model.toml")
    file.write_text("\n".join(lines))
    return file


def _random_workbook(rng: random.Random, path, save: bool = True):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)

    minerals = rng.sample(MINERALS, rng.randint(2, 3))
    periods = _periods(rng)

    # ---------------- Offers (drawn first: the budgets depend on them)
    offers = []
    used_countries = set()
    committed = 0.0  # fixed costs of signed offers
    offer_names = []  # canonical spellings, for scenario shocks
    n_offers = rng.randint(3, 8)
    # most minerals get two offers or more; the rest are drawn at random
    order = minerals * 2
    rng.shuffle(order)
    for n in range(n_offers):
        mineral = order[n] if n < len(order) and rng.random() < 0.9 else rng.choice(minerals)
        country = rng.choice(COUNTRIES + ["China", "China"])
        used_countries.add(country)
        capacity = rng.randint(5, 100) if rng.random() < 0.9 else rng.choice([0, rng.randint(0, 100)])
        price = rng.randint(1, 100) if rng.random() < 0.7 else round(rng.uniform(1, 100), 2)
        offer_period = None if rng.random() < 0.6 else rng.choice(periods)
        roll = rng.random()
        agreement = "spot" if roll < 0.55 else ("optional" if roll < 0.8 else "signed")
        proc = None
        if rng.random() < 0.35:
            proc = rng.choice(COUNTRIES + ["China"])
            used_countries.add(proc)
        supplier = rng.choice(SUPPLIERS[: rng.randint(2, len(SUPPLIERS))])
        row = {
            "supplier": _key(rng, supplier),
            "country": _key(rng, country),
            "mineral": _key(rng, mineral),
            "price": _num(rng, price),
            "capacity": _num(rng, capacity),
            "period": None if offer_period is None else _period_cell(rng, offer_period),
            "processing_country": None if proc is None else _key(rng, proc),
            "china_share": _maybe(rng, 0.25, lambda: _num(rng, rng.choice([0, 0.2, 0.5, 0.75, 1]))),
            "esg_score": _maybe(rng, 0.7, lambda: _num(rng, rng.randint(10, 100))),
            "blocked": None,
        }
        if agreement == "spot":
            row["agreement"] = rng.choice([None, None, "spot", "Spot", "SPOT"])
            # a spot offer's minimum volume binds whenever it covers a period
            if rng.random() < 0.06:
                row["min_volume"] = _num(rng, rng.randint(0, min(capacity, 10)))
        else:
            row["agreement"] = rng.choice([agreement, agreement.capitalize(), agreement.upper()])
            if rng.random() < 0.7:
                # mostly modest minimums, sometimes the whole capacity
                top = capacity if rng.random() < 0.15 else capacity // 3
                row["min_volume"] = _num(rng, rng.randint(0, top))
            if rng.random() < 0.75:
                fixed = rng.choice([0, rng.randint(10, 500), rng.randint(500, 3000)])
                row["fixed_cost"] = _num(rng, fixed)
                if agreement == "signed":
                    committed += fixed
        roll = rng.random()
        if roll < 0.1:
            row["blocked"] = _yes_no(rng, True)
        elif roll < 0.25:
            row["blocked"] = _yes_no(rng, False)
        offers.append((row, mineral, price, capacity, agreement, offer_period))
        offer_names.append(
            {"supplier": supplier, "country": country, "processing_country": proc or country,
             "mineral": mineral, "blocked": roll < 0.1}
        )

    # ---------------- Demand
    demand_rows = []
    demand_of = {}
    pairs = [(m, t) for m in minerals for t in periods if rng.random() < 0.85]
    for t in periods:  # every period must appear at least once
        if not any(pt == t for _, pt in pairs):
            pairs.append((rng.choice(minerals), t))
    rng.shuffle(pairs)
    for m, t in pairs:
        dem = rng.choice([0, rng.randint(1, 60), rng.randint(10, 80)]) if rng.random() < 0.15 else rng.randint(5, 60)
        demand_of[m, t] = dem
        demand_rows.append(
            {
                "mineral": _key(rng, m),
                "period": _period_cell(rng, t),
                "demand": _num(rng, dem),
                "reserve_target": _maybe(rng, 0.25, lambda: _num(rng, rng.randint(0, 30))),
            }
        )

    # ---------------- Minerals
    mineral_cols = ["mineral"] + [
        c
        for c in [
            "unit",
            "max_china_share",
            "shortfall_penalty",
            "reserve_penalty",
            "holding_cost",
            "initial_reserve",
        ]
        if rng.random() < 0.6
    ]
    mineral_rows = []
    for m in minerals:
        mineral_rows.append(
            {
                "mineral": m,
                "unit": _maybe(rng, 0.6, lambda: rng.choice(["t", "kg", "tonnes"])),
                "max_china_share": _maybe(rng, 0.5, lambda: _num(rng, rng.choice([0, 0.1, 0.25, 0.5, 0.8, 1]))),
                "shortfall_penalty": _maybe(
                    rng, 0.5,
                    lambda: _num(rng, rng.choice([rng.randint(5, 150), rng.randint(200, 900),
                                                  rng.randint(1000, 2500)])),
                ),
                "reserve_penalty": _maybe(rng, 0.5,
                                          lambda: _num(rng, rng.choice([0, rng.randint(1, 60), rng.randint(60, 400)]))),
                "holding_cost": _maybe(rng, 0.6, lambda: _num(rng, rng.choice([0, 0.5, 1, 2.5, rng.randint(1, 8)]))),
                "initial_reserve": _maybe(rng, 0.5, lambda: _num(rng, rng.choice([0, rng.randint(1, 40)]))),
            }
        )

    # ---------------- Countries (optional)
    country_rows = None
    if rng.random() < 0.5:
        names = sorted(used_countries)
        rng.shuffle(names)
        listed = names  # WORKBOOK.md: with the sheet, every country of Offers must be listed
        if rng.random() < 0.3:  # a country no offer comes from
            extra = [c for c in COUNTRIES if c not in listed]
            if extra:
                listed.append(rng.choice(extra))
        country_rows = []
        for c in listed:
            r = rng.random()
            country_rows.append(
                {
                    "country": _key(rng, c),
                    "concern": None if r < 0.5 else _yes_no(
                        rng, c in ("China", "Russia") if rng.random() < 0.8 else rng.random() < 0.3),
                    "ally": _maybe(rng, 0.6, lambda: _yes_no(
                        rng, (c in LIKELY_ALLIES) if rng.random() < 0.8 else rng.random() < 0.5)),
                    "max_share": _maybe(rng, 0.4, lambda: _num(rng, rng.choice([0, 0.3, 0.5, 0.6, 0.8, 1, 1]))),
                    "blocked": _maybe(rng, 0.3, lambda: _yes_no(rng, rng.random() < 0.3)),
                }
            )

    # ---------------- which optional Offers columns are written
    offer_cols = ["supplier", "country", "mineral", "price", "capacity"] + [
        c
        for c in [
            "period",
            "processing_country",
            "china_share",
            "esg_score",
            "agreement",
            "min_volume",
            "fixed_cost",
            "blocked",
        ]
        if rng.random() < 0.85
    ]
    if "agreement" not in offer_cols and "fixed_cost" in offer_cols:
        # every offer is then spot, and fixed_cost is only for agreements
        offer_cols.remove("fixed_cost")
    # the values of the columns left out are dropped (absent = all default)
    offer_rows = [{c: row.get(c) for c in offer_cols} for (row, *_rest) in offers]
    if "processing_country" not in offer_cols:  # unwritten: processed where mined (a shock filter must match)
        for names in offer_names:
            names["processing_country"] = names["country"]

    # ---------------- Policy (optional)
    policy_rows = None
    if rng.random() < 0.65:
        # a rough spend without budgets: demand met as far as capacity allows,
        # at the average price of the offers covering the period
        estimate = 0.0
        for (m, t), dem in demand_of.items():
            cover = [(p, u) for (_, mm, p, u, _, op) in offers if mm == m and op in (None, t)]
            if cover:
                estimate += min(dem, sum(u for _, u in cover)) * sum(p for p, _ in cover) / len(cover)
        candidates = {
            "max_china_share": lambda: rng.choice([0, 0.1, 0.2, 0.5, 0.9, 1]),
            "max_country_share": lambda: rng.choice([0.5, 0.6, 0.7, 0.9, 1]),
            "max_supplier_share": lambda: rng.choice([0.4, 0.5, 0.6, 0.8, 1]),
            "share_basis": lambda: rng.choice(["quantity", "value", "Value", "VALUE", "Quantity"]),
            "min_ally_share": lambda: rng.choice([0, 0.1, 0.3, 0.5]),
            "min_esg_score": lambda: rng.choice([15, 25, 35, 50]),
            "min_avg_esg": lambda: rng.choice([0, 20, 35, 50, 70]),
            "reserve_days": lambda: rng.choice([0, 15, 30, 60, 90]),
            "days_per_period": lambda: rng.choice([365, 360, 90, 30]),
            "budget_total": lambda: round(
                rng.choice([0.3, 0.5, 0.7, 0.9, 1.2, 2.0]) * max(estimate, 100)
                if rng.random() < 0.85 or not committed
                else 0.5 * committed  # below the signed commitments: infeasible
            ),
            "budget_per_period": lambda: round(
                rng.choice([0.3, 0.5, 0.7, 1.0, 1.5, 3.0]) * max(estimate, 100) / len(periods)
            ),
            "scenario": lambda: rng.choice(["base", "stress test", "Oracle"]),
        }
        policy_rows = []
        for name, make in candidates.items():
            if rng.random() < 0.3:
                # keep degenerate models (nothing can be bought) rare: a
                # minimum ESG score without scores excludes every offer, an
                # ally share without allies forbids every purchase
                if name in ("min_esg_score", "min_avg_esg") and "esg_score" not in offer_cols and rng.random() < 0.85:
                    continue
                if name == "min_ally_share" and country_rows is None and rng.random() < 0.8:
                    continue
                value = None if rng.random() < 0.1 else make()  # blank = default
                if isinstance(value, (int, float)):
                    value = _num(rng, value)
                policy_rows.append({"key": name, "value": value})
        rng.shuffle(policy_rows)

    # ---------------- write, in a shuffled sheet order
    unknown = None
    if rng.random() < 0.1:  # an unknown column: a warning, not an error
        unknown = "notes"
        for row in offer_rows:
            row["notes"] = _maybe(rng, 0.5, lambda: rng.choice(["check audit", "new mine", "long lead"]))
    writers = [
        lambda: _write_table(rng, wb, "Minerals", mineral_cols, mineral_rows),
        lambda: _write_table(
            rng,
            wb,
            "Demand",
            ["mineral", "period", "demand"] + (["reserve_target"] if rng.random() < 0.8 else []),
            demand_rows,
        ),
        lambda: _write_table(
            rng, wb, "Offers", offer_cols, offer_rows, unknown
        ),
    ]
    if country_rows is not None:
        writers.append(
            lambda: _write_table(
                rng,
                wb,
                "Countries",
                ["country"] + [c for c in ["concern", "ally", "max_share", "blocked"] if rng.random() < 0.85],
                country_rows,
            )
        )
    if policy_rows is not None:
        writers.append(lambda: _write_table(rng, wb, "Policy", ["key", "value"], policy_rows))
    rng.shuffle(writers)
    for write in writers:
        write()
    if rng.random() < 0.1:
        notes = wb.create_sheet("Notes")  # an unknown sheet: ignored
        notes.append(["this sheet is not part of the model"])
    # which offers the model keeps (a scenario's filters should match one)
    countries_sheet = _find_sheet(wb, "countries")
    has_blocked = countries_sheet is not None and "blocked" in [
        str(h).strip().lower().replace(" ", "_") for h in next(countries_sheet.iter_rows(max_row=1, values_only=True))
    ]
    blocked_countries = {
        key_of(row["country"]) for row in (country_rows or []) if has_blocked and _truthy(row.get("blocked"))
    }
    min_esg = [
        _as_number(row["value"]) for row in (policy_rows or [])
        if row["key"] == "min_esg_score" and row["value"] is not None
    ]
    for names, row in zip(offer_names, offer_rows):
        esg = row.get("esg_score")
        names["excluded"] = (
            bool(row.get("blocked") is not None and _truthy(row.get("blocked")))
            or bool({key_of(names["country"]), key_of(names["processing_country"])} & blocked_countries)
            or bool(min_esg and (esg is None or _as_number(esg) < min_esg[-1]))
        )
    info = {"minerals": minerals, "periods": periods, "offers": offer_names}
    # release periods and the Budget sheet (STOCKPILE.md, WORKBOOK.md), drawn from a stream of
    # their own: everything above is what the same seed wrote before they were specified
    _budget_and_rebuild(random.Random(rng.getrandbits(64)), wb, periods, demand_of, offers)
    if save:
        wb.save(path)
        return info
    return wb, info


def _budget_and_rebuild(rng: random.Random, wb, periods: list, demand_of: dict, offers: list) -> None:
    """Sometimes a Budget sheet (some periods, each once, budgets around a rough estimate of
    that period's spend, sometimes 0) and sometimes Policy ``rebuild_periods`` (0-3)."""
    if rng.random() < 0.35:
        estimate = {t: 0.0 for t in periods}
        for (m, t), dem in demand_of.items():
            cover = [(p, u) for (_, mm, p, u, _, op) in offers if mm == m and op in (None, t)]
            if cover:
                estimate[t] += min(dem, sum(u for _, u in cover)) * sum(p for p, _ in cover) / len(cover)
        listed = rng.sample(periods, rng.randint(1, len(periods)))
        rows = [{"period": _period_cell(rng, t),
                 "budget": _num(rng, round(rng.choice([0.3, 0.6, 1.0, 1.5, 3.0]) * max(estimate[t], 50))
                                if rng.random() < 0.9 else 0)}
                for t in listed]
        _write_table(rng, wb, "Budget", ["period", "budget"], rows)
    if rng.random() < 0.35:
        _append_policy(wb, [("rebuild_periods", _num(rng, rng.choice([0, 0, 1, 2, 3])))])


def key_of(text: str) -> str:
    return text.strip().casefold()


def _as_number(cell) -> float:
    return float(cell) if isinstance(cell, (int, float)) else float(cell.strip().replace(",", ""))


def _truthy(cell) -> bool:
    """A yes/no cell as written by _yes_no (blank = no)."""
    if cell is None:
        return False
    if isinstance(cell, (bool, int)):
        return bool(cell)
    return cell.strip().lower() in ("yes", "y", "true", "1")


# --------------------------------------------------------------------------
# stochastic workbooks (STOCKPILE.md)
# --------------------------------------------------------------------------

SCENARIO_NAMES = ["no-shock", "china-ban", "price-spike", "demand-surge", "mine-outage", "quota"]


def _toml_value(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def _toml_entries(rng: random.Random, shocks: list[dict]) -> list[str]:
    """``[[shock]]`` and ``[[demand]]`` tables (factor/add) of a scenario or --model file."""
    lines = []
    for shock in shocks:
        is_demand = "demand" in shock or "extra_demand" in shock
        lines.append("[[demand]]" if is_demand else "[[shock]]")
        for k, v in shock.items():
            if k in ("supplier", "country", "processing_country", "mineral") and not is_demand:
                v = [v] if rng.random() < 0.3 else v  # a string or a list
            k = {"demand": "factor", "extra_demand": "add"}.get(k, k) if is_demand else k
            lines.append(f"{k} = {_toml_value(v)}")
        lines.append("")
    return lines


def _offer_shock(rng: random.Random, info: dict) -> dict:
    """A capacity/price shock whose filters all match one offer of the workbook
    (one the model keeps, when there is one: a filter matching nothing is an error)."""
    usable = [o for o in info["offers"] if not o["excluded"]] or info["offers"]
    target = rng.choice(usable)
    shock = {}
    for name in rng.sample(["supplier", "country", "processing_country", "mineral"], rng.randint(0, 2)):
        shock[name] = target[name]
    if not shock and rng.random() < 0.7:
        shock["mineral"] = target["mineral"]
    if rng.random() < 0.5:
        shock["capacity"] = rng.choice([0.0, 0.0, 0.25, 0.5, 0.8, 1.5])
    if "capacity" not in shock or rng.random() < 0.5:
        shock["price"] = rng.choice([0.8, 1.25, 1.5, 2.0, 3.0])
    return shock


def _demand_shock(rng: random.Random, info: dict) -> dict:
    shock = {}
    if rng.random() < 0.85:
        shock["mineral"] = rng.choice(info["minerals"])
    if rng.random() < 0.6:
        shock["demand"] = rng.choice([0.5, 0.8, 1.2, 1.5, 2.0])
    if "mineral" in shock and ("demand" not in shock or rng.random() < 0.5):
        shock["extra_demand"] = rng.choice([3, 5, 10, 20, 40])
    if not shock or list(shock) == ["mineral"]:
        shock["demand"] = 1.3
    return shock


def _period_range(rng: random.Random, shock: dict, periods: list) -> None:
    """Most shocks start after the first period, so scenarios share a node."""
    roll = rng.random()
    if roll < 0.55 and len(periods) > 1:
        shock["period_from"] = rng.choice(periods[1:])
    elif roll < 0.7:
        shock["period_to"] = rng.choice(periods)
    elif roll < 0.8:
        lo = rng.randrange(len(periods))
        shock["period_from"] = periods[lo]
        shock["period_to"] = rng.choice(periods[lo:])


def _probabilities(rng: random.Random, n: int) -> list[float]:
    """n positive probabilities in twentieths, summing to 1."""
    cuts = sorted(rng.sample(range(1, 20), n - 1))
    twentieths = [b - a for a, b in zip([0] + cuts, cuts + [20])]
    return [w / 20 for w in twentieths]


def random_stochastic_workbook(seed: int, path) -> list[Path]:
    """A random workbook (random_workbook's of the same seed, plus) with 2-4
    scenarios: a Scenarios sheet and Shocks rows of every column, and
    sometimes scenario TOML files (``[[shock]]``, ``[[demand]]`` with factor
    and add, a probability) written beside ``path``; sometimes Policy
    commit_through and each risk measure, sometimes a reference_price column.

    Returns the scenario files to pass as ``--scenario`` (often none)."""
    path = Path(path)
    rng = random.Random(f"stochastic-{seed}")
    wb, info = _random_workbook(random.Random(seed), path, save=False)
    periods = info["periods"]

    n = rng.randint(2, 4)
    names = rng.sample(SCENARIO_NAMES, n)
    probabilities = _probabilities(rng, n)
    scenarios = []
    for name, probability in zip(names, probabilities):
        shocks = []
        if name != "no-shock":
            for _ in range(rng.randint(1, 3)):
                shock = _offer_shock(rng, info) if rng.random() < 0.6 else _demand_shock(rng, info)
                _period_range(rng, shock, periods)
                shocks.append(shock)
        scenarios.append((name, probability, shocks))

    as_files = [sc for sc in scenarios if rng.random() < 0.3]
    files = []
    for name, probability, shocks in as_files:
        file = path.with_name(f"{path.stem}-{name}.toml")
        lines = [] if rng.random() < 0.3 else [f"name = {_toml_value(name)}"]
        if not lines:
            file = path.with_name(f"{name}.toml")  # the name is the file's stem
        lines += [f'description = "random scenario {name}"', f"probability = {probability!r}", ""]
        lines += _toml_entries(rng, shocks)
        file.write_text("\n".join(lines))
        files.append(file)

    in_sheet = [sc for sc in scenarios if sc not in as_files]
    if in_sheet:
        _write_table(
            rng, wb, "Scenarios", ["scenario", "probability", "description"],
            [
                {"scenario": name, "probability": _num(rng, probability),
                 "description": _maybe(rng, 0.5, lambda: f"what if: {name}")}
                for name, probability, _ in in_sheet
            ],
        )
        rows = []
        for name, _, shocks in in_sheet:
            for shock in shocks:
                row = {"scenario": name}
                for k, v in shock.items():
                    if k in ("supplier", "country", "processing_country", "mineral"):
                        row[k] = _key(rng, v)
                    elif k in ("period_from", "period_to"):
                        row[k] = _period_cell(rng, v)
                    else:
                        row[k] = _num(rng, v)
                rows.append(row)
        if rows or rng.random() < 0.3:
            columns = ["scenario", "supplier", "country", "processing_country", "mineral", "period_from",
                       "period_to", "capacity", "price", "demand", "extra_demand"]
            _write_table(rng, wb, "Shocks", columns, rows)

    policy = []
    if rng.random() < 0.4:
        policy.append(("commit_through", _period_cell(rng, rng.choice(periods))))
    roll = rng.random()
    if roll < 0.25:
        policy.append(("risk", rng.choice(["worst", "Worst", "WORST"])))
    elif roll < 0.55:
        policy.append(("risk", rng.choice(["cvar", "CVaR", "CVAR"])))
        if rng.random() < 0.6:
            policy.append(("risk_level", _num(rng, rng.choice([0.5, 0.75, 0.8, 0.9, 0.95]))))
        if rng.random() < 0.6:
            policy.append(("risk_weight", _num(rng, rng.choice([0, 0.3, 0.5, 1]))))
    elif roll < 0.7:
        policy.append(("risk", rng.choice(["expected", "Expected"])))
    if policy:
        _append_policy(wb, policy)

    if rng.random() < 0.3:
        _add_column(wb, "minerals", "reference_price",
                    lambda: _maybe(rng, 0.7, lambda: _num(rng, rng.choice([1, 5, 20, 50.5]))))
    wb.save(path)
    return files


def _find_sheet(wb, name: str):
    for ws in wb.worksheets:
        if ws.title.strip().lower() == name:
            return ws
    return None


def _append_policy(wb, items: list[tuple[str, object]]) -> None:
    """Add rows to the Policy sheet (created when the workbook has none)."""
    ws = _find_sheet(wb, "policy")
    if ws is None:
        ws = wb.create_sheet("Policy")
        ws.append(["key", "value"])
    header = [str(h).strip().lower() if h is not None else "" for h in next(ws.iter_rows(max_row=1, values_only=True))]
    k, v = header.index("key") + 1, header.index("value") + 1
    row = ws.max_row + 1
    for name, value in items:
        ws.cell(row=row, column=k, value=name)
        ws.cell(row=row, column=v, value=value)
        row += 1


def _add_column(wb, sheet: str, column: str, make) -> None:
    ws = _find_sheet(wb, sheet)
    col = ws.max_column + 1
    ws.cell(row=1, column=col, value=column)
    for r in range(2, ws.max_row + 1):
        if any(c.value is not None for c in ws[r]):
            ws.cell(row=r, column=col, value=make())


if __name__ == "__main__":  # pragma: no cover
    # random_workbooks.py SEED OUT.xlsx [--stochastic]
    if "--stochastic" in sys.argv[3:]:
        for file in random_stochastic_workbook(int(sys.argv[1]), Path(sys.argv[2])):
            print(file)
    else:
        model_file = random_workbook(int(sys.argv[1]), Path(sys.argv[2]))["model_file"]
        if model_file is not None:
            print(model_file)
