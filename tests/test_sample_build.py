"""The sample workbooks, their build script and the scenario files (models/*.toml).

``inputs/sample.xlsx`` is the reserve program (STOCKPILE.md), ``inputs/imports.xlsx``
the national import plan. These tests need only openpyxl and pandas, not the
procure package: they check that the committed workbooks are, byte for byte,
what the build script makes, that they follow the workbook contract of
WORKBOOK.md, and that the reserve program's figures follow from the CSVs in
inputs/data/ as inputs/README.md says.
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
           "capacity", "price", "extra_demand"],
)
# The source each shock scenario cuts (the story): its extra_demand is net imports x this
# source's share of U.S. imports.
SHOCK_SOURCE = {"china-ga-ge-ban": "China", "china-graphite-ree-controls": "China",
                "drc-cobalt-quota": "Congo (Kinshasa)", "russia-sanctions": "Russia", "china-wide-stop": "China"}
RISK_SCENARIO = {"China export ban": "china-ga-ge-ban", "China export controls": "china-graphite-ree-controls",
                 "DRC cobalt quota": "drc-cobalt-quota", "Russia sanctions": "russia-sanctions",
                 "China-wide stop": "china-wide-stop"}
CSV_UNIT_IN = {("kilograms", "kg"): 1.0, ("metric tons", "t"): 1.0, ("thousand metric tons", "t"): 1000.0}


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


@pytest.fixture(scope="module")
def net_imports(reserve):
    """mineral (key) -> net imports a year, as the Sources sheet states them (checked below)."""
    return {key(r["topic"]): r["value"] for r in reserve["Sources"] if r["item"] == "net imports a year (held flat)"}


def mineral_ids(reserve) -> dict[str, str]:
    """workbook mineral (key) -> CSV id, by the names inputs/README.md gives."""
    ids = {"rare earths": "rare_earths", "graphite": "graphite_natural", "titanium sponge": "titanium_sponge"}
    return {key(r["mineral"]): ids.get(key(r["mineral"]), key(r["mineral"])) for r in reserve["Minerals"]}


def import_share(csv, mineral_id: str, country: str) -> float:
    imp = csv["us_import_sources"]
    hit = imp[(imp.mineral == mineral_id) & (imp.headline_form == "yes") & (imp.country == country)]
    return float(hit.share_pct.iloc[0]) / 100.0 if len(hit) else 0.0


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


def test_reserve_policy_budget_is_12_billion_and_the_standards_are_set(reserve):
    policy = {norm(r["key"]): r["value"] for r in reserve["Policy"]}
    assert set(policy) <= POLICY_KEYS | STOCHASTIC_POLICY_KEYS
    assert policy["budget_total"] == 12_000_000_000
    assert 0 < policy["min_esg_score"] <= 100
    assert policy["commit_through"] in {r["period"] for r in reserve["Demand"]}
    assert key(policy["risk"]) in {"expected", "worst", "cvar"}
    assert blank(policy["reserve_days"])  # targets are explicit in Demand
    countries = {key(r["country"]): r for r in reserve["Countries"]}
    assert key(countries["russia"]["blocked"]) == "yes"  # sanctioned source
    assert key(countries["china"]["concern"]) == "yes"


def test_reserve_offers_are_listed_modest_and_eligible(reserve):
    offers, countries = reserve["Offers"], {key(r["country"]) for r in reserve["Countries"]}
    assert 50 <= len(offers) <= 300  # 10,000 stress solves: a few hundred offers at most
    policy = {norm(r["key"]): r["value"] for r in reserve["Policy"]}
    blocked = {key(r["country"]) for r in reserve["Countries"] if key(r["blocked"] or "") == "yes"}
    eligible = set()
    for r in offers:
        where = f"{r['supplier']} / {r['mineral']}"
        processing = r["country"] if blank(r["processing_country"]) else r["processing_country"]
        assert key(r["country"]) in countries and key(processing) in countries, where
        kind = "spot" if blank(r["agreement"]) else key(r["agreement"])
        assert kind in {"spot", "optional"}, where
        if kind == "spot":
            assert blank(r["fixed_cost"]), f"{where}: a spot offer with a fixed_cost"
            assert blank(r["min_volume"]), where
        else:
            assert r["fixed_cost"] > 0 and 0 < r["min_volume"] <= r["capacity"], where
            assert r["esg_score"] >= policy["min_esg_score"], f"{where}: an agreement the standard excludes"
        assert not blank(r["esg_score"]), f"{where}: unscored offers are all excluded by min_esg_score"
        if (key(r["country"]) not in blocked and key(processing) not in blocked
                and r["esg_score"] >= policy["min_esg_score"] and r["capacity"] > 0):
            eligible.add(key(r["mineral"]))
    assert eligible == {key(r["mineral"]) for r in reserve["Minerals"]}, "a mineral no eligible offer sells"
    congo_spot = [r for r in offers if r["country"] == "Congo (Kinshasa)" and blank(r["agreement"])]
    assert congo_spot and all(r["esg_score"] < policy["min_esg_score"] for r in congo_spot)
    assert any(r["country"] == "Congo (Kinshasa)" and key(r["agreement"] or "") == "optional" for r in offers)


def test_net_imports_follow_usgs(reserve, csv, net_imports):
    """Net imports = 2025 consumption x net import reliance where USGS gives an exact reliance."""
    units = {key(r["mineral"]): r["unit"] for r in reserve["Minerals"]}
    demand = csv["us_demand"]
    checked = 0
    for mineral, mid in mineral_ids(reserve).items():
        row = demand[(demand.mineral == mid) & (demand.year == 2025)].iloc[0]
        if math.isnan(row.net_import_reliance_pct) or math.isnan(row.apparent_consumption):
            continue  # germanium, tungsten: inputs/README.md (consumption basis)
        factor = CSV_UNIT_IN[(row.unit, units[mineral])]
        want = row.apparent_consumption * factor * row.net_import_reliance_pct / 100.0
        assert net_imports[mineral] == pytest.approx(want, rel=1e-9), mineral
        checked += 1
    assert checked >= 8


def test_demand_is_zero_and_targets_are_a_year_of_net_imports(reserve, net_imports):
    periods = sorted({r["period"] for r in reserve["Demand"]})
    assert periods == [2027, 2028, 2029, 2030, 2031]
    for r in reserve["Demand"]:
        assert r["demand"] == 0, r  # the program supplies no one in normal times
        year = net_imports[key(r["mineral"])]
        want = year / 2 if r["period"] == periods[0] else year  # two-year build-up
        assert abs(r["reserve_target"] - want) <= 0.5, r  # rounded to whole units


def test_scenario_probabilities_sum_to_one_and_shocks_name_them(reserve):
    names = [r["scenario"] for r in reserve["Scenarios"]]
    assert len(set(names)) == len(names)
    assert "no-shock" in names and set(SHOCK_SOURCE) <= set(names)
    assert all(0 < r["probability"] < 1 for r in reserve["Scenarios"])
    assert math.fsum(r["probability"] for r in reserve["Scenarios"]) == pytest.approx(1.0, abs=1e-12)
    shocked = {r["scenario"] for r in reserve["Shocks"]}
    assert shocked == set(names) - {"no-shock"}


def test_each_extra_demand_is_net_imports_times_the_import_share(reserve, csv, net_imports):
    ids = mineral_ids(reserve)
    minerals = {key(r["mineral"]) for r in reserve["Minerals"]}
    gaps = {}
    for r in reserve["Shocks"]:
        if blank(r["extra_demand"]):
            continue
        mineral = key(r["mineral"])
        assert blank(r["country"]) and blank(r["processing_country"]) and blank(r["supplier"]), r
        share = import_share(csv, ids[mineral], SHOCK_SOURCE[r["scenario"]])
        assert share > 0, r
        assert r["extra_demand"] == pytest.approx(net_imports[mineral] * share, abs=1e-3), r
        gaps.setdefault(r["scenario"], set()).add(mineral)
    # the China-wide stop opens a gap in every mineral China supplies the U.S.; Russia's is palladium's
    assert gaps["china-wide-stop"] == {m for m in minerals if import_share(csv, ids[m], "China") > 0}
    assert gaps["russia-sanctions"] == {"palladium"}
    assert gaps["china-ga-ge-ban"] == {"gallium", "germanium"}


def test_shock_prices_follow_usgs_price_rises(reserve, csv):
    demand = csv["us_demand"].set_index(["mineral", "year"]).price_usd_per_unit
    prices = {(r["scenario"], key(r["mineral"])): r["price"] for r in reserve["Shocks"] if not blank(r["price"])}
    # gallium: licensing from 2023 (export_controls.csv) -> 2025 price / 2022 price
    assert prices[("china-ga-ge-ban", "gallium")] == round(demand["gallium", 2025] / demand["gallium", 2022], 4)
    assert prices[("drc-cobalt-quota", "cobalt")] == round(demand["cobalt", 2025] / demand["cobalt", 2024], 4)
    assert all(p >= 1 for p in prices.values())
    assert ("china-wide-stop", "cobalt") not in prices  # the cobalt rise is Congo's quota, not China's


def test_shortfall_penalty_is_a_multiple_of_price_by_criticality(reserve, csv):
    ids = mineral_ids(reserve)
    wp = csv["world_production"]
    wp = wp[(wp.year == 2025) & (wp.country != "World total")]
    ref = csv["refining_share"]
    ref = ref[(ref.year == 2024) & ref.source.str.startswith("IEA") & (ref.country == "China")]
    for r in reserve["Minerals"]:
        mid = ids[key(r["mineral"])]
        part = wp[wp.mineral == mid]
        shares = [float(part[part.country == "China"].mine_production.sum()) / float(part.mine_production.sum())
                  ] if len(part) else []
        shares += list(ref[ref.mineral == mid].refining_share_pct / 100.0)
        critical = mid == "germanium" or max(shares) >= 0.6
        multiple = 20 if critical else 10
        # both are rounded to cents from the unrounded price
        assert r["shortfall_penalty"] == pytest.approx(multiple * r["reference_price"],
                                                       abs=multiple * 0.01), r["mineral"]
        assert r["holding_cost"] == pytest.approx(0.02 * r["reference_price"], abs=0.01)


def test_risks_match_the_scenarios(reserve):
    scenarios = {r["scenario"]: r["probability"] for r in reserve["Scenarios"]}
    gaps = {(r["scenario"], key(r["mineral"])): r["extra_demand"] for r in reserve["Shocks"]
            if not blank(r["extra_demand"])}
    events = [r["event"] for r in reserve["Risks"]]
    assert len(set(events)) == len(events)
    for r in reserve["Risks"]:
        prefix, mineral = r["event"].split(": ")
        scenario = RISK_SCENARIO[prefix]
        window = 5 if scenario == "china-wide-stop" else 4  # shocks may start from 2028; the stop any year
        assert r["probability"] == round(1 - (1 - scenarios[scenario]) ** (1 / window), 4), r["event"]
        assert r["duration"] >= 1 and key(r["mineral"]) == key(mineral) and ";" not in r["mineral"]
        assert not blank(r["capacity"])  # a blank would stop all supply of the matching offers
        if not blank(r["extra_demand"]):
            assert r["extra_demand"] == gaps[(scenario, key(mineral))], r["event"]
    assert {RISK_SCENARIO[e.split(": ")[0]] for e in events} == set(SHOCK_SOURCE)
