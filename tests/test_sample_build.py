"""The sample workbook (inputs/sample.xlsx), its build script and the scenario files (models/*.toml).

These tests need only openpyxl and pandas, not the procure package: they check
that the committed workbook is what the build script makes, and that it follows
the workbook contract of WORKBOOK.md in the ways a reader can check by eye.
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
SAMPLE = INPUTS / "sample.xlsx"
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
    workbook = openpyxl.load_workbook(SAMPLE)
    yield workbook
    workbook.close()


@pytest.fixture(scope="module")
def values(committed):
    return sheet_values(committed)


@pytest.fixture(scope="module")
def data(values):
    return {name: records(values[name]) for name in DATA_SHEETS}


# --- (a) the committed workbook is what the script builds --------------------------------

def test_rebuild_gives_the_committed_cell_values(build, values, tmp_path):
    out = build.build_workbook(tmp_path / "sample.xlsx")
    fresh = openpyxl.load_workbook(out, read_only=True)
    try:
        rebuilt = sheet_values(fresh)
    finally:
        fresh.close()
    assert list(rebuilt) == list(values), "sheet names or order differ"
    for name in values:
        assert rebuilt[name] == values[name], f"sheet {name} differs: run python inputs/build_sample.py"


def test_sample_tables_match_the_committed_data_sheets(build, values):
    tables = build.sample_tables()
    for name in DATA_SHEETS + ["Sources"]:
        df = tables[name]
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
    for sheet, required in REQUIRED.items():
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
