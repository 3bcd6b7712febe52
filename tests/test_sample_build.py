"""The sample workbooks, their build script and the scenario files (models/*.toml).

``inputs/sample.xlsx`` is the reserve program (STOCKPILE.md), ``inputs/imports.xlsx``
the national import plan. These tests need only openpyxl and pandas, not the
procure package: they check that the committed workbooks are, byte for byte,
what the build script makes, that they follow the workbook contract of
WORKBOOK.md, and that the reserve program's figures follow from the CSVs in
inputs/data/ as inputs/README.md says (tests/test_sample_readme.py checks the
README's figures of the plan against procure's).
"""

from __future__ import annotations

import importlib.util
import math
import re
import tomllib
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ROOT / "inputs"
SAMPLE = INPUTS / "sample.xlsx"  # the reserve program
IMPORTS = INPUTS / "imports.xlsx"  # the national import plan
DATA = INPUTS / "data"
MODELS = ROOT / "models"

DATA_SHEETS = ["Minerals", "Demand", "Offers", "Countries", "Policy"]
# WORKBOOK.md: every column of each sheet (the sample writes all of them).
COLUMNS = {
    "Minerals": ["mineral", "unit", "max_china_share", "shortfall_penalty", "reserve_penalty",
                 "holding_cost", "initial_reserve"],
    "Demand": ["mineral", "period", "demand", "reserve_target"],
    "Offers": ["supplier", "country", "mineral", "price", "capacity", "period", "processing_country",
               "china_share", "esg_score", "agreement", "min_volume", "fixed_cost", "blocked"],
    "Countries": ["country", "concern", "ally", "max_share", "blocked"],
    "Policy": ["key", "value"],
}
REQUIRED = {  # WORKBOOK.md: required sheets and their required columns
    "Minerals": ["mineral"],
    "Demand": ["mineral", "period", "demand"],
    "Offers": ["supplier", "country", "mineral", "price", "capacity"],
}
POLICY_KEYS = {"max_china_share", "max_country_share", "max_supplier_share", "share_basis",
               "min_ally_share", "min_esg_score", "min_avg_esg", "reserve_days", "days_per_period",
               "budget_total", "budget_per_period", "scenario"}
STOCHASTIC_POLICY_KEYS = {"commit_through", "risk", "risk_level", "risk_weight"}  # STOCKPILE.md
POLICY_SHARES = {"max_china_share", "max_country_share", "max_supplier_share", "min_ally_share"}
YES_NO = {"yes", "no", "y", "n", "true", "false", "1", "0"}
SCENARIO_KEYS = {"name", "description", "policy", "minerals", "shock", "demand"}
SHOCK_KEYS = {"supplier", "country", "processing_country", "mineral", "period_from", "period_to",
              "capacity", "price"}
DEMAND_KEYS = {"mineral", "period_from", "period_to", "factor"}


def norm(name) -> str:
    """WORKBOOK.md name matching: case-insensitive, trimmed, spaces and underscores alike."""
    return re.sub(r"[\s_]+", "_", str(name).strip()).casefold()


def key(text) -> str:
    return str(text).strip().casefold()


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and math.isnan(value))


def load_build_module():
    spec = importlib.util.spec_from_file_location("build_sample", INPUTS / "build_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sheet_values(workbook) -> dict[str, list[tuple]]:
    return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in workbook.worksheets}


def records(rows: list[tuple]) -> list[dict]:
    """Rows below the header as dicts keyed by normalized header; blank rows skipped."""
    header = [norm(h) if h is not None else None for h in rows[0]]
    out = []
    for row in rows[1:]:
        if all(blank(v) for v in row):
            continue
        out.append({h: v for h, v in zip(header, row) if h is not None})
    return out


@pytest.fixture(scope="module")
def build():
    return load_build_module()


@pytest.fixture(scope="module")
def committed():
    """The import plan."""
    workbook = openpyxl.load_workbook(IMPORTS)
    yield workbook
    workbook.close()


@pytest.fixture(scope="module")
def values(committed):
    return sheet_values(committed)


@pytest.fixture(scope="module")
def data(values):
    return {name: records(values[name]) for name in DATA_SHEETS}


# --- (a) the committed workbooks are what the script builds -------------------------------

@pytest.fixture(scope="module")
def rebuilt(build, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rebuilt")
    build.build_all(folder)
    return folder


@pytest.mark.parametrize("name", ["sample.xlsx", "imports.xlsx"])
def test_rebuild_gives_the_committed_bytes(rebuilt, name):
    fresh = openpyxl.load_workbook(rebuilt / name, read_only=True)
    committed_book = openpyxl.load_workbook(INPUTS / name, read_only=True)
    try:
        got, want = sheet_values(fresh), sheet_values(committed_book)
    finally:
        fresh.close()
        committed_book.close()
    assert list(got) == list(want), "sheet names or order differ"
    for sheet in want:
        assert got[sheet] == want[sheet], f"{name}: sheet {sheet} differs: run python inputs/build_sample.py"
    assert (rebuilt / name).read_bytes() == (INPUTS / name).read_bytes(), \
        f"{name}: same cells, different bytes (time stamps?): the build must be byte-identical"


@pytest.mark.parametrize("path, tables, sheets", [
    (IMPORTS, "imports_tables", DATA_SHEETS + ["Sources"]),
    (SAMPLE, "reserve_tables", DATA_SHEETS + ["Scenarios", "Shocks", "Risks", "Sources"]),
], ids=["imports", "reserve"])
def test_tables_match_the_committed_data_sheets(build, path, tables, sheets):
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        values = sheet_values(book)
    finally:
        book.close()
    frames = getattr(build, tables)()
    for name in sheets:
        df = frames[name]
        rows = values[name]
        assert list(rows[0]) == list(df.columns), name
        assert len(rows) - 1 == len(df), name
        for excel_row, (row, expected) in enumerate(zip(rows[1:], df.itertuples(index=False)), start=2):
            for column, got, want in zip(df.columns, row, expected):
                if blank(want):
                    assert blank(got), f"{name}!{column}{excel_row}: expected blank, found {got!r}"
                else:
                    assert got == want, f"{name}!{column}{excel_row}: {got!r} != {want!r}"


# --- (b) structure ------------------------------------------------------------------------

def test_sheets_and_columns(committed, values):
    assert committed.sheetnames[0] == "README"
    names = {norm(n): n for n in committed.sheetnames}
    for sheet in REQUIRED:
        assert norm(sheet) in names, f"missing required sheet {sheet}"
    for sheet, columns in COLUMNS.items():
        header = [norm(h) for h in values[names[norm(sheet)]][0] if h is not None]
        assert header == columns, f"{sheet}: header {header}"  # no unknown, none missing, row 1
        assert set(REQUIRED.get(sheet, [])) <= set(header)


def test_headers_have_notes_frozen_panes_and_validation(committed):
    for sheet in DATA_SHEETS:
        ws = committed[sheet]
        assert ws.freeze_panes == "A2", sheet
        for cell in ws[1]:
            assert cell.comment is not None and cell.comment.text.startswith(cell.value), (sheet, cell.value)
        assert ws.data_validations.dataValidation, f"{sheet}: no data validation"


def test_no_formulas_anywhere(committed):
    for ws in committed.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} holds a formula"


def test_minerals_and_periods(data):
    minerals = [key(r["mineral"]) for r in data["Minerals"]]
    assert len(minerals) >= 15
    assert len(set(minerals)) == len(minerals), "duplicate mineral"
    assert all(not blank(r["unit"]) for r in data["Minerals"])
    periods = sorted({r["period"] for r in data["Demand"]})
    assert len(periods) == 5 and all(isinstance(p, int) for p in periods)
    pairs = [(key(r["mineral"]), r["period"]) for r in data["Demand"]]
    assert len(set(pairs)) == len(pairs), "duplicate (mineral, period) in Demand"
    assert set(pairs) == {(m, p) for m in minerals for p in periods}, "each mineral needs every period"


def test_demand_and_offer_minerals_are_in_minerals(data):
    minerals = {key(r["mineral"]) for r in data["Minerals"]}
    assert {key(r["mineral"]) for r in data["Demand"]} <= minerals
    assert {key(r["mineral"]) for r in data["Offers"]} <= minerals
    assert {key(r["mineral"]) for r in data["Offers"]} == minerals, "a mineral without offers"


def test_values_in_range(data):
    for r in data["Minerals"]:
        assert blank(r["max_china_share"]) or 0 <= r["max_china_share"] <= 1
        assert blank(r["shortfall_penalty"]) or r["shortfall_penalty"] > 0
        for column in ("reserve_penalty", "holding_cost", "initial_reserve"):
            assert blank(r[column]) or r[column] >= 0
    for r in data["Demand"]:
        assert r["demand"] >= 0
        assert blank(r["reserve_target"]) or r["reserve_target"] >= 0
    periods = {r["period"] for r in data["Demand"]}
    for r in data["Offers"]:
        where = f"{r['supplier']} / {r['mineral']}"
        assert not blank(r["supplier"]) and not blank(r["country"]), where
        assert isinstance(r["price"], (int, float)) and r["price"] >= 0, where
        assert isinstance(r["capacity"], (int, float)) and r["capacity"] >= 0, where
        assert blank(r["period"]) or r["period"] in periods, where
        assert blank(r["china_share"]) or 0 <= r["china_share"] <= 1, where
        assert blank(r["esg_score"]) or 0 <= r["esg_score"] <= 100, where
        kind = "spot" if blank(r["agreement"]) else key(r["agreement"])
        assert kind in {"spot", "optional", "signed"}, where
        min_volume = 0 if blank(r["min_volume"]) else r["min_volume"]
        assert 0 <= min_volume <= r["capacity"], where
        assert blank(r["fixed_cost"]) or r["fixed_cost"] >= 0, where
        assert blank(r["fixed_cost"]) or r["fixed_cost"] == 0 or kind != "spot", where
        assert blank(r["blocked"]) or key(r["blocked"]) in YES_NO, where
    assert sum(1 for r in data["Offers"] if key(r["agreement"] or "") == "optional") >= 3


def test_countries(data):
    countries = [key(r["country"]) for r in data["Countries"]]
    assert len(set(countries)) == len(countries), "duplicate country"
    for r in data["Countries"]:
        for column in ("concern", "ally", "blocked"):
            assert blank(r[column]) or key(r[column]) in YES_NO
        assert blank(r["max_share"]) or 0 <= r["max_share"] <= 1
    by_name = {key(r["country"]): r for r in data["Countries"]}
    assert key(by_name["china"]["concern"]) == "yes"
    assert key(by_name["united states"]["ally"]) == "yes"
    used = {key(r["country"]) for r in data["Offers"]}
    used |= {key(r["processing_country"]) for r in data["Offers"] if not blank(r["processing_country"])}
    assert used <= set(countries), f"countries missing from Countries: {sorted(used - set(countries))}"


def test_policy(data):
    keys = [norm(r["key"]) for r in data["Policy"]]
    assert len(set(keys)) == len(keys)
    assert set(keys) <= POLICY_KEYS, f"unknown policy keys {set(keys) - POLICY_KEYS}"
    policy = {norm(r["key"]): r["value"] for r in data["Policy"]}
    for name in POLICY_SHARES:
        assert blank(policy.get(name)) or 0 <= policy[name] <= 1
    assert blank(policy.get("share_basis")) or key(policy["share_basis"]) in {"quantity", "value"}
    assert policy["reserve_days"] == 60 and policy["days_per_period"] == 365
    assert policy["budget_total"] > 0 and policy["scenario"] == "base"


# --- scenario files ------------------------------------------------------------------------

SCENARIOS = sorted(MODELS.glob("*.toml"))


def test_scenario_files_exist():
    names = {p.stem for p in SCENARIOS}
    assert {"baseline", "china-export-controls", "congo-cobalt-quota", "allied-content-80"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_parses_and_matches_the_workbook(path, data):
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    assert set(doc) <= SCENARIO_KEYS, set(doc) - SCENARIO_KEYS
    assert isinstance(doc.get("description"), str) and doc["description"].strip()
    if path.stem == "baseline":
        assert doc.get("name") == "baseline"
        assert set(doc) <= {"name", "description"}
    offers = data["Offers"]
    countries = {key(r["country"]) for r in data["Countries"]}
    known = {
        "supplier": {key(r["supplier"]) for r in offers},
        "country": {key(r["country"]) for r in offers} | countries,
        "processing_country": {key(r["country"] if blank(r["processing_country"]) else r["processing_country"])
                               for r in offers} | countries,
        "mineral": {key(r["mineral"]) for r in data["Minerals"]},
    }
    periods = {r["period"] for r in data["Demand"]}

    def check_filters(entry, allowed):
        assert set(entry) <= allowed, set(entry) - allowed
        for name, values in entry.items():
            if name in known:
                for value in values if isinstance(values, list) else [values]:
                    assert key(value) in known[name], f"{path.name}: {name} = {value!r} matches nothing"
            elif name in ("period_from", "period_to"):
                assert entry[name] in periods or min(periods) <= entry[name] <= max(periods)

    for entry in doc.get("shock", []):
        check_filters(entry, SHOCK_KEYS)
        for factor in ("capacity", "price"):
            assert entry.get(factor, 1.0) >= 0
    for entry in doc.get("demand", []):
        check_filters(entry, DEMAND_KEYS)
        assert entry["factor"] >= 0
    for name, value in doc.get("policy", {}).items():
        assert norm(name) in POLICY_KEYS
        if norm(name) in POLICY_SHARES:
            assert 0 <= value <= 1
    for mineral, changes in doc.get("minerals", {}).items():
        assert key(mineral) in known["mineral"]
        assert set(map(norm, changes)) <= set(COLUMNS["Minerals"]) - {"mineral", "unit"}


# --- the reserve program (inputs/sample.xlsx) ------------------------------------------------
# Each figure is worked out again here from the CSVs, by the rule inputs/README.md states, not by the
# build script's functions.

RESERVE_SHEETS = ["README", "Minerals", "Demand", "Offers", "Countries", "Policy", "Scenarios", "Shocks",
                  "Risks", "Sources"]
RESERVE_COLUMNS = dict(
    COLUMNS,
    Minerals=["mineral", "unit", "max_china_share", "shortfall_penalty", "reserve_penalty", "reference_price",
              "holding_cost", "initial_reserve"],
    Scenarios=["scenario", "probability", "description"],
    Shocks=["scenario", "supplier", "country", "processing_country", "mineral", "period_from", "period_to",
            "capacity", "price", "demand", "extra_demand"],
    Risks=["event", "probability", "duration", "country", "processing_country", "supplier", "mineral",
           "capacity", "price", "extra_demand", "period_from", "period_to"],
)
RESERVE_POLICY_KEYS = POLICY_KEYS | STOCHASTIC_POLICY_KEYS | {"rebuild_periods"}  # WORKBOOK.md
# workbook mineral -> CSV id (inputs/README.md names them)
IDS = {"rare earths (reo at ndpr price)": "rare_earths", "cobalt": "cobalt", "graphite": "graphite_natural",
       "gallium": "gallium", "germanium": "germanium", "tungsten": "tungsten", "antimony": "antimony",
       "palladium": "palladium"}
WORDS = {"rare_earths": "rare earths", "graphite_natural": "graphite"}  # as descriptions name them
# The source each shock scenario stops, and how (inputs/README.md): a ban stops U.S. imports from the
# source; the Congo quota lets out 40 % of Congo's mine output.
SHOCK_SOURCE = {"china-ga-ge-sb-ban": "China", "china-graphite-ree-controls": "China",
                "drc-cobalt-quota": "Congo (Kinshasa)", "russia-sanctions": "Russia", "china-wide-stop": "China"}
HITS = {"china-ga-ge-sb-ban": {"gallium", "germanium", "antimony"},  # None: all the source ships the U.S.
        "china-graphite-ree-controls": {"graphite_natural", "rare_earths"}, "drc-cobalt-quota": {"cobalt"},
        "russia-sanctions": {"palladium"}, "china-wide-stop": None}
QUOTA = 0.4
BASELINE_YEARS = range(2021, 2026)
CONTROL_YEAR = {"gallium": 2023, "germanium": 2023, "graphite_natural": 2023, "antimony": 2024,
                "rare_earths": 2025, "tungsten": 2025, "cobalt": 2025}  # export_controls.csv, read by eye
PRICE_FACTOR = {"lb": 2204.62, "oz": 32.1507}
CSV_UNIT_IN = {("kilograms", "kg"): 1.0, ("metric tons", "t"): 1.0, ("thousand metric tons", "t"): 1000.0}
SHOCK_START, LAST = 2029, 2031


@pytest.fixture(scope="module")
def reserve_book():
    workbook = openpyxl.load_workbook(SAMPLE)
    yield workbook
    workbook.close()


@pytest.fixture(scope="module")
def reserve(reserve_book):
    values = sheet_values(reserve_book)
    return {name: records(values[name]) for name in RESERVE_SHEETS[1:]}


@pytest.fixture(scope="module")
def csv():
    import pandas as pd

    return {name: pd.read_csv(DATA / f"{name}.csv") for name in
            ("us_demand", "us_import_sources", "world_production", "refining_share")}


def ids(reserve) -> dict[str, str]:
    return {key(r["mineral"]): IDS[key(r["mineral"])] for r in reserve["Minerals"]}


def import_shares(csv, mineral_id: str) -> dict[str, float]:
    imp = csv["us_import_sources"]
    hit = imp[(imp.mineral == mineral_id) & (imp.headline_form == "yes")]
    return {c: float(s) / 100.0 for c, s in zip(hit.country, hit.share_pct)}


def world(csv, mineral_id: str, unit: str) -> dict[str, float]:
    wp = csv["world_production"]
    hit = wp[(wp.mineral == mineral_id) & (wp.year == 2025) & (wp.country != "World total")
             & wp.mine_production.notna()]
    return {c: q * CSV_UNIT_IN[(u, unit)] for c, q, u in zip(hit.country, hit.mine_production, hit.unit)}


@pytest.fixture(scope="module")
def baseline(reserve, csv):
    """mineral (key) -> net imports a year: the 2021-25 mean of consumption x reliance (a range such as
    '>95' at its bound; tungsten's withheld consumption the assumed 10,000 t)."""
    units = {key(r["mineral"]): r["unit"] for r in reserve["Minerals"]}
    d = csv["us_demand"]
    out = {}
    for mineral, mid in ids(reserve).items():
        yearly = []
        for r in d[(d.mineral == mid) & d.year.isin(BASELINE_YEARS)].itertuples():
            reliance = (r.net_import_reliance_pct if not math.isnan(r.net_import_reliance_pct)
                        else float(r.net_import_reliance_as_reported.lstrip(">"))) / 100.0
            consumption = (10_000.0 if mid == "tungsten" else r.apparent_consumption * CSV_UNIT_IN[(r.unit,
                                                                                                     units[mineral])])
            if not math.isnan(consumption):
                yearly.append(consumption * reliance)
        out[mineral] = sum(yearly) / len(yearly)
    return out


@pytest.fixture(scope="module")
def gaps(reserve, csv, baseline):
    """(scenario, mineral key) -> the U.S. supply gap a year the scenario should open."""
    units = {key(r["mineral"]): r["unit"] for r in reserve["Minerals"]}
    out = {}
    for mineral, mid in ids(reserve).items():
        for scenario, source in SHOCK_SOURCE.items():
            if HITS[scenario] is not None and mid not in HITS[scenario]:
                continue
            if scenario == "drc-cobalt-quota":
                production = world(csv, mid, units[mineral])
                share = production.get(source, 0.0) / sum(production.values()) * (1 - QUOTA) if production else 0
            else:
                share = import_shares(csv, mid).get(source, 0.0)
            if share > 0:
                out[(scenario, mineral)] = baseline[mineral] * share
    return out


def test_reserve_sheets_columns_notes_and_no_formulas(reserve_book):
    assert reserve_book.sheetnames == RESERVE_SHEETS
    for sheet, columns in RESERVE_COLUMNS.items():
        ws = reserve_book[sheet]
        header = [norm(c.value) for c in ws[1] if c.value is not None]
        assert header == columns, f"{sheet}: header {header}"
        assert ws.freeze_panes == "A2", sheet
        for cell in ws[1]:
            assert cell.comment is not None and cell.comment.text.startswith(cell.value), (sheet, cell.value)
    for ws in reserve_book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} holds a formula"


def test_reserve_policy_caps_china_at_a_tenth_by_value(reserve):
    policy = {norm(r["key"]): r["value"] for r in reserve["Policy"]}
    assert set(policy) <= RESERVE_POLICY_KEYS
    assert policy["max_china_share"] == 0.1 and key(policy["share_basis"]) == "value"
    assert all(blank(r["max_china_share"]) for r in reserve["Minerals"])  # no mineral is let off the cap
    assert policy["budget_total"] > 0 and 0 < policy["min_esg_score"] <= 100
    assert policy["commit_through"] == 2027 and policy["rebuild_periods"] == 1
    assert key(policy["risk"]) in {"expected", "worst", "cvar"}
    assert blank(policy["reserve_days"])  # targets are explicit in Demand
    countries = {key(r["country"]): r for r in reserve["Countries"]}
    assert key(countries["russia"]["blocked"]) == "yes"  # sanctioned source
    assert key(countries["china"]["concern"]) == "yes"
    sources = {(r["topic"], r["item"]): r for r in reserve["Sources"]}
    why = sources[("General", "max_china_share")]
    assert why["value"] == 0.1 and why["kind"] == "assumption" and "dependence on China" in why["source"]


def test_every_source_row_is_published_derived_or_an_assumption(reserve):
    assert {r["kind"] for r in reserve["Sources"]} <= {"published", "derived", "assumption", "constant"}
    assert all(not blank(r["value"]) for r in reserve["Sources"])


def test_net_imports_are_the_2021_2025_mean(reserve, baseline):
    stated = {key(r["topic"]): r["value"] for r in reserve["Sources"]
              if r["item"] == "net imports a year, 2021-2025 mean (the baseline)"}
    assert set(baseline) <= set(stated)
    for mineral, want in baseline.items():
        assert stated[mineral] == pytest.approx(want, abs=1e-3), mineral
    # the 2025 jump is not the baseline: rare earths 18,090 t in 2025 against a 9,560 t mean
    assert baseline["rare earths (reo at ndpr price)"] == pytest.approx((7900 * .95 + 10200 * .95 + 8600 * .90
                                                                        + 9010 * .53 + 27000 * .67) / 5)


def test_offers_follow_us_import_sources_within_a_tenth_of_world_production(reserve, csv, baseline):
    """One offer per U.S. import source, in its import share of the volume; the volume is the smaller of
    net imports and 10 % of 2025 world production (germanium: no world figure, net imports)."""
    units = {key(r["mineral"]): r["unit"] for r in reserve["Minerals"]}
    for mineral, mid in ids(reserve).items():
        production = world(csv, mid, units[mineral])
        volume = min(baseline[mineral], 0.1 * sum(production.values()) if production else math.inf)
        offers = [r for r in reserve["Offers"] if key(r["mineral"]) == mineral]
        shares = import_shares(csv, mid)
        assert {r["country"] for r in offers} == set(shares), mineral
        for r in offers:
            assert abs(r["capacity"] - shares[r["country"]] * volume) <= 0.5, (mineral, r["country"])
            assert blank(r["agreement"]) and blank(r["period"]) and blank(r["processing_country"])
        if production:
            assert sum(r["capacity"] for r in offers) <= 0.1 * sum(production.values()) + len(offers) * 0.5
    # palladium: 10 % of world output binds (19,410 kg), not a fifth of it
    palladium = [r for r in reserve["Offers"] if key(r["mineral"]) == "palladium"]
    assert sum(r["capacity"] for r in palladium) == pytest.approx(19_410, abs=3)
    gallium = {r["country"]: r["capacity"] for r in reserve["Offers"] if key(r["mineral"]) == "gallium"}
    assert gallium["Canada"] == round(0.28 * baseline["gallium"])  # partners as the U.S. imports, not 63 kg


def test_offers_are_eligible_and_priced_by_origin(reserve):
    policy = {norm(r["key"]): r["value"] for r in reserve["Policy"]}
    blocked = {key(r["country"]) for r in reserve["Countries"] if key(r["blocked"] or "") == "yes"}
    allies = {key(r["country"]) for r in reserve["Countries"] if key(r["ally"] or "") == "yes"}
    prices = {key(r["mineral"]): r["reference_price"] for r in reserve["Minerals"]}
    eligible = set()
    for r in reserve["Offers"]:
        factor = 0.9 if r["country"] == "China" else 1.05 if key(r["country"]) in allies else 1.0
        assert r["price"] == pytest.approx(factor * prices[key(r["mineral"])], abs=0.01), r["supplier"]
        assert r["esg_score"] >= policy["min_esg_score"]
        assert (key(r["country"]) in blocked) == (key(r["blocked"] or "no") == "yes")
        if key(r["country"]) not in blocked:
            eligible.add(key(r["mineral"]))
    assert eligible == {key(r["mineral"]) for r in reserve["Minerals"]}
    assert "russia" in blocked and any(r["country"] == "Russia" for r in reserve["Offers"])


def test_prices_are_pre_control_and_a_shock_prices_the_2025_level(reserve, csv):
    d = csv["us_demand"].set_index(["mineral", "year"]).price_usd_per_unit
    factor = {"rare_earths": 1000.0, "cobalt": PRICE_FACTOR["lb"], "graphite_natural": 1.0, "gallium": 1.0,
              "germanium": 1.0, "tungsten": 1000.0 / 7.93, "antimony": PRICE_FACTOR["lb"],
              "palladium": PRICE_FACTOR["oz"]}
    for r in reserve["Minerals"]:
        mid = IDS[key(r["mineral"])]
        before = d[mid, CONTROL_YEAR[mid] - 1] if mid in CONTROL_YEAR else d[mid, 2025]
        base = min(before, d[mid, 2025])
        assert r["reference_price"] == pytest.approx(base * factor[mid], abs=0.01), mid
        assert r["holding_cost"] == pytest.approx(0.02 * r["reference_price"], abs=0.01)
    rises = {(r["scenario"], IDS[key(r["mineral"])]): r["price"] for r in reserve["Shocks"] if not blank(r["price"])}
    # antimony at $5.49/lb (2023) before China's 2024 licensing: the ban prices it at 2025's $25/lb, once
    assert rises[("china-ga-ge-sb-ban", "antimony")] == round(25 / 5.49, 4)
    assert rises[("drc-cobalt-quota", "cobalt")] == round(d["cobalt", 2025] / d["cobalt", 2024], 4)
    assert ("china-graphite-ree-controls", "graphite_natural") not in rises  # its price fell under control
    assert all(p > 1 for p in rises.values())
    assert ("russia-sanctions", "palladium") not in rises  # no control, no published rise


def test_shortfall_penalty_follows_china_dominance_or_licensing(reserve, csv):
    controlled = {"gallium", "germanium", "graphite_natural", "antimony", "rare_earths", "tungsten"}  # China's T4 row
    ref = csv["refining_share"]
    ref = ref[(ref.year == 2024) & ref.source.str.startswith("IEA") & (ref.country == "China")]
    for r in reserve["Minerals"]:
        mid = IDS[key(r["mineral"])]
        production = world(csv, mid, r["unit"])
        shares = [production.get("China", 0.0) / sum(production.values())] if production else []
        shares += list(ref[ref.mineral == mid].refining_share_pct / 100.0)
        critical = mid in controlled or max(shares, default=0) >= 0.6
        assert r["shortfall_penalty"] == pytest.approx((20 if critical else 10) * r["reference_price"], abs=0.2)
    penalty = {IDS[key(r["mineral"])]: r["shortfall_penalty"] / r["reference_price"] for r in reserve["Minerals"]}
    assert round(penalty["antimony"]) == 20 and round(penalty["palladium"]) == 10 and round(penalty["cobalt"]) == 20


def test_scenario_probabilities_sum_to_one_and_shocks_name_them(reserve):
    names = [r["scenario"] for r in reserve["Scenarios"]]
    assert len(set(names)) == len(names) == 6
    assert "no-shock" in names and set(SHOCK_SOURCE) <= set(names)
    assert all(0 < r["probability"] < 1 for r in reserve["Scenarios"])
    assert math.fsum(r["probability"] for r in reserve["Scenarios"]) == pytest.approx(1.0, abs=1e-12)
    assert {r["scenario"] for r in reserve["Shocks"]} == set(names) - {"no-shock"}
    assert {(r["period_from"], r["period_to"]) for r in reserve["Shocks"]} <= {
        (SHOCK_START, t) for t in range(SHOCK_START, LAST + 1)}  # after the 2027-28 build-up


def test_each_gap_is_net_imports_times_the_share_the_shock_stops(reserve, gaps):
    got = {(r["scenario"], key(r["mineral"])): r["extra_demand"] for r in reserve["Shocks"]
           if not blank(r["extra_demand"])}
    assert set(got) == set(gaps)
    for where, want in gaps.items():
        assert got[where] == pytest.approx(want, abs=1e-3), where
    for r in reserve["Shocks"]:
        if not blank(r["extra_demand"]):
            assert blank(r["country"]) and blank(r["processing_country"]) and blank(r["supplier"]), r
    # the China-wide stop opens a gap in every mineral China ships the U.S.; Russia's is palladium's
    assert {m for s, m in got if s == "china-wide-stop"} == {
        "rare earths (reo at ndpr price)", "graphite", "gallium", "germanium", "tungsten", "antimony"}
    assert {m for s, m in got if s == "russia-sanctions"} == {"palladium"}


def hit(reserve, scenario: str) -> set[str]:
    """The minerals a scenario's Shocks rows hit (STOCKPILE.md release periods): a capacity cut below 1
    or a price above 1 on an eligible offer of the mineral, or a gap."""
    blocked = {key(r["country"]) for r in reserve["Countries"] if key(r["blocked"] or "") == "yes"}
    offers = [r for r in reserve["Offers"] if key(r["country"]) not in blocked]
    out = set()
    for r in reserve["Shocks"]:
        if r["scenario"] != scenario:
            continue
        if not blank(r["extra_demand"]) and r["extra_demand"] > 0:
            out.add(key(r["mineral"]))
        cut = not blank(r["capacity"]) and r["capacity"] < 1
        rise = not blank(r["price"]) and r["price"] > 1
        if cut or rise:
            out |= {key(o["mineral"]) for o in offers
                    if (blank(r["mineral"]) or key(o["mineral"]) == key(r["mineral"]))
                    and (blank(r["country"]) or o["country"] == r["country"])
                    and (blank(r["processing_country"]) or (o["processing_country"] or o["country"])
                         == r["processing_country"])}
    return out


def test_every_description_is_modelled_by_its_shocks(reserve):
    words = {mineral: WORDS.get(mid, mid) for mineral, mid in ids(reserve).items()}
    for r in reserve["Scenarios"]:
        named = {m for m, word in words.items() if re.search(rf"\b{word}\b", r["description"], re.IGNORECASE)}
        assert named == hit(reserve, r["scenario"]), r["scenario"]
        assert not re.search(r"\b(nickel|titanium)\b", r["description"], re.IGNORECASE)  # not in the program


def test_every_stocked_mineral_has_a_scenario_that_draws_it(reserve):
    stocked = {key(r["mineral"]) for r in reserve["Demand"] if r["reserve_target"] > 0}
    drawn = set()
    for scenario in SHOCK_SOURCE:
        drawn |= {key(r["mineral"]) for r in reserve["Shocks"]
                  if r["scenario"] == scenario and not blank(r["extra_demand"])}
    assert stocked == drawn == {key(r["mineral"]) for r in reserve["Minerals"]}


def test_targets_are_a_year_of_the_largest_gap_within_what_can_be_bought_outside_china(reserve, gaps):
    capacity = {}
    for r in reserve["Offers"]:
        if r["country"] not in ("China", "Russia"):
            capacity[key(r["mineral"])] = capacity.get(key(r["mineral"]), 0) + r["capacity"]
    for r in reserve["Demand"]:
        mineral = key(r["mineral"])
        assert r["demand"] == 0, r  # the program supplies no one in normal times
        largest = max(g for (_s, m), g in gaps.items() if m == mineral)
        full = min(largest, 2 * capacity[mineral])  # two build-up years
        want = full / 2 if r["period"] == 2027 else full
        assert abs(r["reserve_target"] - want) <= 1.5, r
    targets = {key(r["mineral"]): r["reserve_target"] for r in reserve["Demand"] if r["period"] == LAST}
    assert targets["antimony"] < max(g for (_s, m), g in gaps.items() if m == "antimony")  # capped


def effects(rows: list[dict]) -> list[tuple]:
    """What a group of Shocks or Risks rows does, row by row, in a comparable form."""
    fields = ("country", "processing_country", "supplier", "mineral", "price", "extra_demand")
    return sorted(tuple(str(r[f]) for f in fields) for r in rows)


def test_risks_are_the_scenarios_as_correlated_events(reserve):
    """Rows sharing an event name are one event: the same probability, duration and start window; the
    rows of each event are its scenario's Shocks rows; the start chance follows the scenario's probability
    over the 2029-2031 window."""
    scenarios = {r["scenario"]: r["probability"] for r in reserve["Scenarios"]}
    events: dict[str, list[dict]] = {}
    for r in reserve["Risks"]:
        events.setdefault(r["event"], []).append(r)
        assert not blank(r["capacity"])  # a blank would stop all supply of the matching offers
    shocks: dict[str, list[dict]] = {}
    for r in reserve["Shocks"]:
        shocks.setdefault(r["scenario"], []).append(r)
    assert len(events) == len(SHOCK_SOURCE) and len(events["China-wide stop"]) >= 6
    matched = set()
    for name, rows in events.items():
        assert len({(r["probability"], r["duration"], r["period_from"], r["period_to"]) for r in rows}) == 1, name
        assert (rows[0]["period_from"], rows[0]["period_to"]) == (SHOCK_START, LAST)
        scenario = next((s for s, its in shocks.items() if effects(its) == effects(rows)), None)
        assert scenario is not None, f"{name}: no scenario has these rows"
        its = shocks[scenario]
        matched.add(scenario)
        assert rows[0]["duration"] == its[0]["period_to"] - its[0]["period_from"] + 1
        assert rows[0]["probability"] == round(1 - (1 - scenarios[scenario]) ** (1 / 3), 4), name
    assert matched == set(SHOCK_SOURCE)
