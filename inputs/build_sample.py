"""Build the two sample workbooks from the public data in ``inputs/data/``.

- ``inputs/sample.xlsx``: the reserve program (the default of ``procure solve`` and
  ``procure stress``): a 12 billion USD strategic mineral reserve over 2027-2031,
  bought before knowing which of the shock scenarios comes (STOCKPILE.md).
- ``inputs/imports.xlsx``: the national import plan (19 minerals, U.S. net imports
  as demand, 85 billion USD budget), with the scenario files ``models/*.toml``.

Usage::

    python inputs/build_sample.py [--out-dir DIR]      # default: inputs/

The build is deterministic (no randomness, no network; every zip member and the
document properties carry a fixed time stamp): the same CSVs give the same bytes.
``reserve_tables()`` and ``imports_tables()`` return the data of each sheet as
pandas DataFrames; ``build_reserve(path)``, ``build_imports(path)`` and
``build_all(folder)`` write the formatted workbooks.

Every rule and constant is named below with where it comes from:
``SOURCE`` = a published figure (USGS MCS 2026, IEA, see data/SOURCES.md),
``CONSTANT`` = a standard conversion factor, ``ASSUMPTION`` = a choice made for
this sample, not a published figure. The ``Sources`` sheet of each workbook
lists each of them again for Excel users.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "data"
RESERVE_OUT = HERE / "sample.xlsx"  # the reserve program (the default sample)
IMPORTS_OUT = HERE / "imports.xlsx"  # the national import plan

# ---------------------------------------------------------------------------
# Horizon and years
# ---------------------------------------------------------------------------
BASE_YEAR = 2025  # SOURCE: latest year of USGS MCS 2026 (2025 figures are USGS estimates)
REFINING_YEAR = 2024  # SOURCE: latest base year of the IEA refining data (GCMO 2025)
PERIODS = [2027, 2028, 2029, 2030, 2031]  # ASSUMPTION: five annual planning periods

# ---------------------------------------------------------------------------
# Conversion constants (SOURCES.md section 4, item 6, unless noted)
# ---------------------------------------------------------------------------
LB_PER_TONNE = 2204.62  # CONSTANT: 1 metric ton = 2,204.62 lb
TROY_OZ_PER_KG = 32.1507  # CONSTANT: 1 kg = 32.1507 troy oz
KG_MN_PER_MTU = 10.0  # CONSTANT: 1 metric ton unit (mtu) of Mn = 10 kg of contained Mn
KG_W_PER_MTU_WO3 = 7.93  # CONSTANT (stated by USGS): 1 mtu WO3 holds 7.93 kg W
LI2CO3_T_PER_LI_T = 5.32  # CONSTANT: 1 t Li = 5.32 t lithium carbonate
# CONSTANT (standard atomic weights V 50.9415, Ta 180.948, O 15.999; not in SOURCES.md):
V_MASS_FRACTION_V2O5 = 2 * 50.9415 / (2 * 50.9415 + 5 * 15.999)  # 0.5602 t V per t V2O5
TA_MASS_FRACTION_TA2O5 = 2 * 180.948 / (2 * 180.948 + 5 * 15.999)  # 0.8190 t Ta per t Ta2O5
# ASSUMPTION: standard-grade ferroniobium holds about 65 % Nb (commercial grades 63-67 %).
NB_MASS_FRACTION_FENB = 0.65
# Source quantity units (the `unit` column of the CSVs) in kilograms. CONSTANT.
SOURCE_UNIT_KG = {
    "kilograms": 1.0,
    "metric tons": 1000.0,
    "thousand metric tons": 1.0e6,
}
MINERAL_UNIT_KG = {"kg": 1.0, "t": 1000.0}  # the units used in the workbook

# ---------------------------------------------------------------------------
# Minerals. One row each: workbook name, unit, and how the USGS price becomes
# USD per workbook unit. `price_marker` must occur in the CSV's price_unit text
# (a guard against a changed series); `price_factor` multiplies the USGS price.
# ---------------------------------------------------------------------------
MINERALS = [
    # id, name, unit, price_marker, price_factor, how the price is converted
    ("rare_earths", "Rare earths", "t", "per kilogram of NdPr oxide", 1000.0,
     "USD/kg NdPr oxide x 1,000 kg/t, applied to every t of REO (ASSUMPTION: the NdPr oxide "
     "price stands for the whole REO basket; it overstates low-value La/Ce oxides)"),
    ("lithium", "Lithium", "t", "per metric ton of battery-grade lithium carbonate", LI2CO3_T_PER_LI_T,
     "USD/t Li2CO3 x 5.32 t Li2CO3 per t Li"),
    ("cobalt", "Cobalt", "t", "per pound", LB_PER_TONNE, "USD/lb x 2,204.62 lb/t"),
    ("graphite_natural", "Graphite", "t", "per metric ton (flake graphite", 1.0, "USD/t, no conversion"),
    ("gallium", "Gallium", "kg", "per kilogram", 1.0, "USD/kg, no conversion"),
    ("germanium", "Germanium", "kg", "per kilogram", 1.0, "USD/kg, no conversion"),
    ("nickel", "Nickel", "t", "per metric ton (LME cash)", 1.0, "USD/t, no conversion"),
    ("manganese", "Manganese", "t", "per metric ton unit of contained Mn", 1000.0 / KG_MN_PER_MTU,
     "USD/mtu x 100 mtu per t of contained Mn (1 mtu = 10 kg Mn)"),
    ("tungsten", "Tungsten", "t", "per dry metric ton unit of WO3", 1000.0 / KG_W_PER_MTU_WO3,
     "USD/mtu WO3 x (1,000 / 7.93) mtu WO3 per t W"),
    ("antimony", "Antimony", "t", "per pound", LB_PER_TONNE, "USD/lb x 2,204.62 lb/t"),
    ("vanadium", "Vanadium", "t", "per pound of V2O5", LB_PER_TONNE / V_MASS_FRACTION_V2O5,
     "USD/lb V2O5 x 2,204.62 lb/t / 0.5602 t V per t V2O5"),
    ("platinum", "Platinum", "kg", "per troy ounce", TROY_OZ_PER_KG, "USD/troy oz x 32.1507 troy oz/kg"),
    ("palladium", "Palladium", "kg", "per troy ounce", TROY_OZ_PER_KG, "USD/troy oz x 32.1507 troy oz/kg"),
    ("tin", "Tin", "t", "per pound", LB_PER_TONNE, "USD/lb x 2,204.62 lb/t (USGS cents/lb already in USD)"),
    ("titanium_sponge", "Titanium sponge", "t", "per kilogram", 1000.0, "USD/kg x 1,000 kg/t"),
    ("niobium", "Niobium", "t", "per kilogram of ferroniobium", 1000.0 / NB_MASS_FRACTION_FENB,
     "USD/kg ferroniobium x 1,000 kg/t / 0.65 t Nb per t FeNb (ASSUMPTION: grade)"),
    ("tantalum", "Tantalum", "t", "per kilogram of Ta2O5", 1000.0 / TA_MASS_FRACTION_TA2O5,
     "USD/kg Ta2O5 x 1,000 kg/t / 0.8190 t Ta per t Ta2O5"),
    ("indium", "Indium", "t", "per kilogram", 1000.0, "USD/kg x 1,000 kg/t"),
    ("magnesium_metal", "Magnesium", "t", "per pound", LB_PER_TONNE, "USD/lb x 2,204.62 lb/t"),
]
# What each mineral's quantity measures (SOURCE: the USGS series, data/SOURCES.md 3.1-3.2).
QUANTITY_BASIS = {
    "rare_earths": "rare-earth oxide (REO) equivalent",
    "lithium": "lithium content",
    "cobalt": "cobalt content",
    "graphite_natural": "natural graphite, gross weight",
    "gallium": "gallium metal (primary low-purity production)",
    "germanium": "germanium content",
    "nickel": "nickel content",
    "manganese": "manganese content",
    "tungsten": "tungsten content",
    "antimony": "antimony content",
    "vanadium": "vanadium content",
    "platinum": "platinum metal",
    "palladium": "palladium metal",
    "tin": "tin content",
    "titanium_sponge": "titanium sponge metal",
    "niobium": "niobium content",
    "tantalum": "tantalum content",
    "indium": "refined indium",
    "magnesium_metal": "primary magnesium metal",
}

# ---------------------------------------------------------------------------
# Demand
# ---------------------------------------------------------------------------
# Rule: base demand = U.S. net imports = consumption x net import reliance (NIR)
# when USGS gives an exact NIR; U.S. consumption when NIR is only a range. The
# consumption figure is the latest year <= BASE_YEAR that USGS publishes.
# ASSUMPTION: where USGS withholds consumption in every year ("W"), this figure
# (in the workbook unit) is used instead. Not published figures.
ASSUMED_CONSUMPTION = {
    "lithium": 3000.0,  # t Li content, ASSUMPTION (USGS: W); NIR ">50 %" so demand = consumption
    "tungsten": 10000.0,  # t W content, ASSUMPTION (USGS: W); NIR ">50 %" so demand = consumption
}
# ASSUMPTION: demand growth a year from the base year (battery minerals faster).
GROWTH_BATTERY = 0.08
GROWTH_OTHER = 0.03
BATTERY_MINERALS = {"lithium", "cobalt", "graphite_natural", "nickel"}

# ---------------------------------------------------------------------------
# Offers
# ---------------------------------------------------------------------------
# Rule (ASSUMPTION): every producing country offers the U.S. the same fraction f
# of its BASE_YEAR production, f = min(1, CAPACITY_HEADROOM x the last period's
# demand / world production), so spot capacity totals CAPACITY_HEADROOM x demand
# and is spread over countries like world production.
CAPACITY_HEADROOM = 2.0
# ASSUMPTION: half of U.S. output can be redirected to the program (e.g. exported
# concentrate); the rest stays with its current buyers.
DOMESTIC_CAPACITY_FRACTION = 0.5
DOMESTIC_COUNTRY = "United States"
CHINA = "China"
OTHER = "Other"  # SOURCE: USGS "Other countries", kept as one aggregate supplier country
WORLD_TOTAL = "World total"  # SOURCE: USGS rounded world total, excluded (countries are summed)
# Minerals without USGS country production: spot offers follow the U.S. import
# sources instead (SOURCE: us_import_sources.csv, headline form, 2021-24), with
# the exporting country as origin. ASSUMPTION that exporters can supply in these shares.
IMPORT_SOURCE_MINERALS = {"germanium"}
# ASSUMPTION: price by origin, as a multiple of the USGS average price.
PRICE_FACTOR_CHINA = 0.90  # mined or refined in China: a discount
PRICE_FACTOR_DOMESTIC = 1.10  # United States producers: a premium
PRICE_FACTOR_ALLY = 1.05  # other ally countries: a premium
PRICE_FACTOR_OTHER = 1.00  # everyone else: the USGS price
# Refining rule for minerals where China refines at least this share of world
# output (SOURCE: IEA refining shares for cobalt, lithium, graphite, rare earths;
# nickel, at 31 %, is below it). ASSUMPTION: each non-Chinese mining country
# refines at home up to its own refining share; the rest of its ore is exported,
# and China's refining beyond its own mine output is spread over that exported
# ore in proportion. The China-refined part becomes a separate offer row with
# processing_country = China.
CHINA_REFINING_THRESHOLD = 50.0  # percent
# Only the IEA rows are refining of mined ore; the USGS rows of refining_share.csv
# (gallium, indium, magnesium, titanium sponge) are the production stage itself,
# whose producing country already is the processing country.
REFINING_SOURCE_PREFIX = "IEA"
# ESG scores (ASSUMPTION, illustrative: no published scores are used): scored
# offers are the audited contract partners and domestic producers; spot offers
# abroad are left unscored (blank).
ESG_DOMESTIC = 85
ESG_AGREEMENT = 80

# Purchase agreements (ASSUMPTION: hypothetical offtakes with partner producers,
# named after the 2025 U.S. critical-mineral agreements in us_mineral_agreements.csv
# or U.S. free-trade partners). Capacity is AGREEMENT_CAPACITY_SHARE of the last
# period's demand, at most what the partner produces beyond its spot offer.
#   supplier, mineral id, country, processing country (None = same), kind, why
AGREEMENTS = [
    ("Australia-Malaysia rare earths offtake", "rare_earths", "Australia", "Malaysia", "optional",
     "US-Australia framework (2025-10-20) and US-Malaysia MoU (2025-10-26); Australian ore refined in Malaysia"),
    ("Australia lithium offtake", "lithium", "Australia", None, "optional",
     "US-Australia framework (2025-10-20); refined in Australia"),
    ("Australia tungsten offtake", "tungsten", "Australia", None, "optional",
     "US-Australia framework (2025-10-20)"),
    ("Canada graphite offtake", "graphite_natural", "Canada", None, "optional",
     "USMCA free-trade partner (Canada is not in the 2025 agreements table)"),
    ("Canada niobium offtake", "niobium", "Canada", None, "optional",
     "USMCA free-trade partner"),
    ("Japan titanium sponge offtake", "titanium_sponge", "Japan", None, "optional",
     "US-Japan framework (2025-10-27)"),
    ("Korea indium offtake", "indium", "Korea, Republic of", None, "optional",
     "US-Japan-Korea trilateral (2025-09-23); KORUS free-trade partner"),
    ("Philippines nickel offtake", "nickel", "Philippines", None, "optional",
     "US-Philippines reciprocal trade framework (2025-02), nickel focus"),
    ("Canada cobalt contract", "cobalt", "Canada", None, "signed",
     "a contract already in force (hypothetical), USMCA partner"),
]
AGREEMENT_CAPACITY_SHARE = 0.25  # ASSUMPTION: of the last period's demand
AGREEMENT_PRICE_FACTOR = 0.97  # ASSUMPTION: 3 % below the USGS price (8 % below ally spot)
AGREEMENT_MIN_VOLUME_SHARE = 0.5  # ASSUMPTION: take-or-pay minimum, share of capacity
AGREEMENT_FIXED_COST_SHARE = 0.20  # ASSUMPTION: one-time cost, share of one year's capacity value
FIXED_COST_ROUNDING = 10_000  # USD: fixed costs are rounded to this

# ---------------------------------------------------------------------------
# Countries
# ---------------------------------------------------------------------------
# SOURCE: U.S. free-trade-agreement partners (USTR, "Free Trade Agreements",
# https://ustr.gov/trade-agreements/free-trade-agreements; not in data/).
FTA_PARTNERS = [
    "Australia", "Bahrain", "Canada", "Chile", "Colombia", "Costa Rica", "Dominican Republic",
    "El Salvador", "Guatemala", "Honduras", "Israel", "Jordan", "Korea, Republic of", "Mexico",
    "Morocco", "Nicaragua", "Oman", "Panama", "Peru", "Singapore",
]
# SOURCE: us_mineral_agreements.csv (USGS MCS 2026 table T5) partners, except China;
# its "Japan and Republic of Korea" row names two countries (USGS spellings here).
AGREEMENT_COUNTRY_ALIASES = {"Japan and Republic of Korea": ["Japan", "Korea, Republic of"]}
AGREEMENT_EXCLUDED = {CHINA}
CONCERN_COUNTRIES = {CHINA}  # SOURCE: the brief; China is the concern country
# ASSUMPTION (policy fact, not in data/): comprehensive U.S. sanctions prohibit
# imports from these countries, so their offers are marked blocked.
BLOCKED_COUNTRIES = {
    "Iran": "comprehensive U.S. sanctions (Iranian Transactions and Sanctions Regulations)",
    "Korea, North": "comprehensive U.S. sanctions (North Korea Sanctions Regulations)",
}

# ---------------------------------------------------------------------------
# Policy and minerals defaults
# ---------------------------------------------------------------------------
MAX_CHINA_SHARE = 0.3  # ASSUMPTION: the brief's China cap
MAX_COUNTRY_SHARE = 0.6  # ASSUMPTION: the brief's single-country cap
RESERVE_DAYS = 60  # ASSUMPTION: the brief's reserve target, days of demand
DAYS_PER_PERIOD = 365  # one period = one year
SCENARIO_NAME = "base"
# ASSUMPTION: holding cost a year, as a share of the USGS price (storage and
# insurance; excludes the cost of capital).
HOLDING_COST_RATE = 0.02
# ASSUMPTION: horizon budget. Chosen with an LP solve of this workbook: the
# unconstrained optimum spends about 86.0 billion USD over 2027-31 (reserve
# build-up included); with 85.0 billion the budget binds: the plan lets the
# reserve run down in the last period and buys a little less niobium in 2027,
# but otherwise meets demand as without a budget. See inputs/README.md.
BUDGET_TOTAL = 85_000_000_000

POLICY_KEYS = [  # WORKBOOK.md Policy keys, in its order; None = blank (the default)
    ("max_china_share", MAX_CHINA_SHARE),
    ("max_country_share", MAX_COUNTRY_SHARE),
    ("max_supplier_share", None),
    ("share_basis", None),
    ("min_ally_share", None),
    ("min_esg_score", None),
    ("min_avg_esg", None),
    ("reserve_days", RESERVE_DAYS),
    ("days_per_period", DAYS_PER_PERIOD),
    ("budget_total", BUDGET_TOTAL),
    ("budget_per_period", None),
    ("scenario", SCENARIO_NAME),
]

# ---------------------------------------------------------------------------
# Workbook layout: columns of each data sheet (WORKBOOK.md), with the header
# note, number format and validation of each.
# ---------------------------------------------------------------------------
VALIDATION_ROWS = 1000  # data validation covers rows 2 .. 1 + this
FMT_QTY = "#,##0"
FMT_USD = "#,##0.00"
FMT_USD0 = "#,##0"
FMT_SHARE = "0.00"
FMT_INT = "0"

# column -> (meaning, unit, default, number format, validation)
# validation: ("share",) 0..1, ("nonneg",), ("pos",), ("esg",), ("yesno",),
# ("list", "a,b"), ("ref", sheet) a name from that sheet's first column, or None.
COLUMNS = {
    "Minerals": {
        "mineral": ("Name of the mineral; unique. Other sheets refer to it by this name (any case).",
                    "text", "required", None, None),
        "unit": ("Unit of every quantity of this mineral (demand, capacity, reserve); prices are USD per this unit.",
                 "text", "t", None, None),
        "max_china_share": ("Cap on the China-exposure share of this mineral's purchases, each period.",
                            "0..1", "Policy max_china_share", FMT_SHARE, ("share",)),
        "shortfall_penalty": ("Cost of one unit of unmet demand.",
                              "USD per unit, > 0", "10 x the highest price offered for this mineral",
                              FMT_USD, ("pos",)),
        "reserve_penalty": ("Cost of one unit of reserve below its target.",
                            "USD per unit per period, >= 0", "shortfall_penalty / (number of periods + 1)",
                            FMT_USD, ("nonneg",)),
        "holding_cost": ("Cost of keeping one unit in the reserve for one period.",
                         "USD per unit per period, >= 0", "0", FMT_USD, ("nonneg",)),
        "initial_reserve": ("Reserve stock before the first period.",
                            "units, >= 0", "0", FMT_QTY, ("nonneg",)),
    },
    "Demand": {
        "mineral": ("Mineral; must be listed in Minerals.", "text", "required", None, ("ref", "Minerals")),
        "period": ("Planning period label, e.g. 2027 or 2027-Q1. Periods sort numerically (numbers) "
                   "or alphabetically (text); do not mix the two.", "whole number or text", "required",
                   FMT_INT, None),
        "demand": ("Quantity that must be supplied in the period.", "units, >= 0", "required",
                   FMT_QTY, ("nonneg",)),
        "reserve_target": ("Reserve stock wanted at the end of the period.", "units, >= 0",
                           "0, or Policy reserve_days / days_per_period x demand", FMT_QTY, ("nonneg",)),
    },
    "Offers": {
        "supplier": ("Who sells.", "text", "required", None, None),
        "country": ("Country of origin (where it is mined). Use the Countries sheet spelling.",
                    "text", "required", None, ("ref", "Countries")),
        "mineral": ("Mineral; must be listed in Minerals.", "text", "required", None, ("ref", "Minerals")),
        "price": ("Unit price.", "USD per unit of the mineral, >= 0", "required", FMT_USD, ("nonneg",)),
        "capacity": ("Most that can be bought from this offer in each period it covers.",
                     "units per period, >= 0", "required", FMT_QTY, ("nonneg",)),
        "period": ("The one period this offer covers; must be a Demand period.", "as Demand",
                   "blank = every period", FMT_INT, None),
        "processing_country": ("Where the material is refined.", "text", "blank = same as country",
                               None, ("ref", "Countries")),
        "china_share": ("Fraction of each unit that counts as China exposure.", "0..1",
                        "1 if country or processing_country is a concern country, else 0",
                        FMT_SHARE, ("share",)),
        "esg_score": ("Environmental, social and governance rating.", "0..100", "blank (unscored)",
                      FMT_INT, ("esg",)),
        "agreement": ("spot: always available. optional: a purchase agreement the optimizer may sign "
                      "(costs fixed_cost once, then at least min_volume each covered period). "
                      "signed: a contract already in force.", "spot / optional / signed", "spot",
                      None, ("list", "spot,optional,signed")),
        "min_volume": ("Least that must be bought in each covered period while the offer is active; "
                       "<= capacity.", "units per period, >= 0", "0", FMT_QTY, ("nonneg",)),
        "fixed_cost": ("One-time cost of the agreement (optional or signed offers only).",
                       "USD, >= 0", "0", FMT_USD0, ("nonneg",)),
        "blocked": ("Excluded from purchase (entity list, sanction, failed audit).", "yes/no", "no",
                    None, ("yesno",)),
    },
    "Countries": {
        "country": ("Country name; unique. USGS spellings, e.g. Congo (Kinshasa), Korea, Republic of.",
                    "text", "required", None, None),
        "concern": ("Its supply counts as China exposure.", "yes/no", "yes for China, no otherwise",
                    None, ("yesno",)),
        "ally": ("A partner (free-trade agreement or critical-mineral agreement; the United States "
                 "itself). Used by Policy min_ally_share.", "yes/no", "no", None, ("yesno",)),
        "max_share": ("Cap on this country's share of each mineral's purchases, each period.", "0..1",
                      "Policy max_country_share", FMT_SHARE, ("share",)),
        "blocked": ("No purchase may be mined or processed here (its offers are excluded).", "yes/no",
                    "no", None, ("yesno",)),
    },
    "Policy": {
        "key": ("Setting name; one of the keys listed on the README sheet. An unknown key is an error.",
                "text", "required", None, None),
        "value": ("Setting value; blank = the default.", "see README", "see README", None, None),
    },
}

POLICY_DOCS = {  # key -> (meaning, type, default, number format, validation)
    "max_china_share": ("Default cap on the China-exposure share, per mineral and period.", "0..1",
                        "1 (no cap)", FMT_SHARE, ("share",)),
    "max_country_share": ("Default cap on any one origin country's share, per mineral and period.",
                          "0..1", "1 (no cap)", FMT_SHARE, ("share",)),
    "max_supplier_share": ("Cap on any one supplier's share, per mineral and period.", "0..1",
                           "1 (no cap)", FMT_SHARE, ("share",)),
    "share_basis": ("Whether the China, country, supplier and ally shares count units (quantity) or "
                    "dollars (value).", "quantity / value", "quantity", None, ("list", "quantity,value")),
    "min_ally_share": ("Least share of each mineral's purchases, per period, extracted or processed in "
                       "an ally country.", "0..1", "0", FMT_SHARE, ("share",)),
    "min_esg_score": ("Offers scoring below this (or unscored) are excluded.", "0..100", "none",
                      FMT_INT, ("esg",)),
    "min_avg_esg": ("Least purchase-weighted average ESG score per mineral and period (unscored "
                    "offers count as 0).", "0..100", "none", FMT_INT, ("esg",)),
    "reserve_days": ("Reserve target as days of the period's demand, for Demand rows whose "
                     "reserve_target is blank.", "days, >= 0", "none", FMT_INT, ("nonneg",)),
    "days_per_period": ("Length of one period, for reserve_days and days of cover.", "days, > 0",
                        "365", FMT_INT, ("pos",)),
    "budget_total": ("Most that may be spent over the whole horizon (purchases, agreement costs, "
                     "holding costs).", "USD", "none", FMT_USD0, ("nonneg",)),
    "budget_per_period": ("Most that may be spent in any one period.", "USD", "none", FMT_USD0,
                          ("nonneg",)),
    "scenario": ("Name shown in outputs.", "text", "base", None, None),
}

SHEET_ORDER = ["README", "Minerals", "Demand", "Offers", "Countries", "Policy", "Sources"]


# ===========================================================================
# Data
# ===========================================================================

def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / name, encoding="utf-8")


def _mineral_table() -> pd.DataFrame:
    return pd.DataFrame(MINERALS, columns=["id", "name", "unit", "price_marker", "price_factor", "price_note"])


def _quantity_factor(source_unit: str, unit: str) -> float:
    """Multiplier from a CSV quantity unit to the workbook unit of a mineral."""
    return SOURCE_UNIT_KG[source_unit] / MINERAL_UNIT_KG[unit]


def _base_figures() -> pd.DataFrame:
    """Per mineral: base-year demand (workbook unit), demand basis, USGS price per workbook unit."""
    demand = _read("us_demand.csv")
    rows = []
    for m in _mineral_table().itertuples():
        d = demand[demand.mineral == m.id].sort_values("year")
        price_row = d[d.year == BASE_YEAR].iloc[0]
        if m.price_marker not in price_row.price_unit:
            raise ValueError(f"{m.id}: price unit changed: {price_row.price_unit!r}")
        price = float(price_row.price_usd_per_unit) * m.price_factor
        known = d[(d.year <= BASE_YEAR) & d.apparent_consumption.notna()]
        if len(known):
            row = known.iloc[-1]
            year = int(row.year)
            consumption = float(row.apparent_consumption) * _quantity_factor(row.unit, m.unit)
            nir = row.net_import_reliance_pct
            nir_text = str(row.net_import_reliance_as_reported)
            consumption_kind = "published"
        else:
            year = BASE_YEAR
            consumption = ASSUMED_CONSUMPTION[m.id]
            nir = float("nan")
            nir_text = str(price_row.net_import_reliance_as_reported)
            consumption_kind = "assumption"
        if pd.notna(nir):
            base = consumption * float(nir) / 100.0
            basis = f"net imports = consumption x NIR {nir:g} %"
        else:
            base = consumption
            basis = f"consumption (NIR only a range: {nir_text} %)"
        if year != BASE_YEAR:
            basis += f"; the {year} figure (the latest published) is held to {BASE_YEAR}"
        growth = GROWTH_BATTERY if m.id in BATTERY_MINERALS else GROWTH_OTHER
        rows.append(dict(id=m.id, name=m.name, unit=m.unit, year=year, consumption=consumption,
                         consumption_kind=consumption_kind, nir_text=nir_text, basis=basis, base=base,
                         growth=growth, usgs_price=float(price_row.price_usd_per_unit),
                         usgs_price_unit=price_row.price_unit, price=price, price_note=m.price_note))
    return pd.DataFrame(rows)


def _demand_value(base: float, growth: float, period: int) -> int:
    return int(round(base * (1.0 + growth) ** (period - BASE_YEAR)))


def _production(year: int) -> pd.DataFrame:
    """Country production of `year`, in workbook units, countries only (no World total, no blanks)."""
    wp = _read("world_production.csv")
    wp = wp[(wp.year == year) & (wp.country != WORLD_TOTAL) & wp.mine_production.notna()].copy()
    units = dict(zip(_mineral_table().id, _mineral_table().unit))
    wp = wp[wp.mineral.isin(units)]
    wp["qty"] = [q * _quantity_factor(u, units[m]) for q, u, m in zip(wp.mine_production, wp.unit, wp.mineral)]
    return wp[["mineral", "country", "qty"]]


def _import_source_production(base: pd.DataFrame, volume_of=None) -> pd.DataFrame:
    """Stand-in production for IMPORT_SOURCE_MINERALS: each exporter's share of U.S. imports x
    ``volume_of(b)`` (default CAPACITY_HEADROOM x the last period's demand, so the spot fraction
    f comes out as 1)."""
    if volume_of is None:
        def volume_of(b):
            return CAPACITY_HEADROOM * _demand_value(b.base, b.growth, PERIODS[-1])
    imp = _read("us_import_sources.csv")
    rows = []
    for b in base[base.id.isin(IMPORT_SOURCE_MINERALS)].itertuples():
        volume = volume_of(b)
        part = imp[(imp.mineral == b.id) & (imp.headline_form == "yes")]
        for r in part.itertuples():
            rows.append(dict(mineral=b.id, country=r.country, qty=float(r.share_pct) / 100.0 * volume))
    return pd.DataFrame(rows, columns=["mineral", "country", "qty"])


def _china_refined_fractions() -> dict[str, tuple[float, dict[str, float]]]:
    """mineral id -> (phi, {mining country: fraction of its ore refined in China}).

    phi is the fraction of exported (not home-refined) non-Chinese ore that China
    refines; a country's fraction is phi x the part of its ore it does not refine
    at home (see CHINA_REFINING_THRESHOLD)."""
    ref = _read("refining_share.csv")
    ref = ref[(ref.year == REFINING_YEAR) & ref.source.str.startswith(REFINING_SOURCE_PREFIX)]
    mine = _production(REFINING_YEAR)
    out: dict[str, dict[str, float]] = {}
    for mid, r in ref.groupby("mineral"):
        shares = dict(zip(r.country, r.refining_share_pct.astype(float)))
        if mid not in QUANTITY_BASIS or shares.get(CHINA, 0.0) < CHINA_REFINING_THRESHOLD:
            continue
        m = mine[mine.mineral == mid]
        total = m.qty.sum()
        mine_share = {c: 100.0 * q / total for c, q in zip(m.country, m.qty)}
        excess = max(0.0, shares[CHINA] - mine_share.get(CHINA, 0.0))
        exported = {}
        for c, ms in mine_share.items():
            if c == CHINA or ms <= 0:
                continue
            home = 0.0 if c == OTHER else min(1.0, shares.get(c, 0.0) / ms)
            exported[c] = 1.0 - home
        pool = sum(mine_share[c] * e for c, e in exported.items())
        phi = min(1.0, excess / pool) if pool > 0 else 0.0
        out[mid] = (phi, {c: e * phi for c, e in exported.items()})
    return out


def _allies() -> dict[str, str]:
    """ally country -> why."""
    why = {c: "U.S. free-trade-agreement partner (USTR)" for c in FTA_PARTNERS}
    agr = _read("us_mineral_agreements.csv")
    for raw in agr.country:
        for c in AGREEMENT_COUNTRY_ALIASES.get(raw, [raw]):
            if c in AGREEMENT_EXCLUDED:
                continue
            text = "2025 U.S. critical-mineral agreement (us_mineral_agreements.csv)"
            why[c] = why[c] + "; " + text if c in why and text not in why[c] else why.get(c, text)
    why[DOMESTIC_COUNTRY] = "the United States itself (domestic supply)"
    return why


def _price_factor(country: str, processing: str | None, allies: dict[str, str]) -> float:
    if CHINA in (country, processing):
        return PRICE_FACTOR_CHINA
    if country == DOMESTIC_COUNTRY:
        return PRICE_FACTOR_DOMESTIC
    if country in allies:
        return PRICE_FACTOR_ALLY
    return PRICE_FACTOR_OTHER


def _sort_countries(names) -> list[str]:
    names = set(names)
    head = [DOMESTIC_COUNTRY] if DOMESTIC_COUNTRY in names else []
    tail = [OTHER] if OTHER in names else []
    return head + sorted(names - set(head) - set(tail)) + tail


def _import_esg(country: str, processing: str | None) -> int | None:
    """ESG score of a spot offer in the import plan: U.S. producers only (ASSUMPTION)."""
    return ESG_DOMESTIC if country == DOMESTIC_COUNTRY and not processing else None


def _spot_rows(b, qty: dict[str, float], f: float, split, allies, esg_of) -> list[dict]:
    """Spot offer rows of mineral ``b``: each producing country offers ``f`` of its output (the
    United States DOMESTIC_CAPACITY_FRACTION), split into a home-refined and a China-refined row
    by the refining rule; ``esg_of(country, processing)`` scores each row."""
    rows = []
    for country in _sort_countries(qty):
        frac = DOMESTIC_CAPACITY_FRACTION if country == DOMESTIC_COUNTRY else f
        capacity = qty[country] * frac
        to_china = split[b.id][1].get(country, 0.0) if b.id in split else 0.0
        parts = [(None, capacity * (1.0 - to_china)), (CHINA, capacity * to_china)]
        for processing, cap in parts:
            cap = int(round(cap))
            if cap < 1:
                continue
            supplier = f"{country} producers" + (" (China-refined)" if processing else "")
            rows.append(dict(
                supplier=supplier, country=country, mineral=b.name,
                price=round(b.price * _price_factor(country, processing, allies), 2),
                capacity=cap, processing_country=processing,
                esg_score=esg_of(country, processing),
                blocked="yes" if country in BLOCKED_COUNTRIES else None))
    return rows


def _offers(base: pd.DataFrame, allies: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Offers sheet, and per mineral the spot fraction f (for the Sources sheet)."""
    prod = pd.concat([_production(BASE_YEAR), _import_source_production(base)], ignore_index=True)
    split = _china_refined_fractions()
    rows, fractions = [], []
    last = PERIODS[-1]
    for b in base.itertuples():
        peak = _demand_value(b.base, b.growth, last)
        p = prod[(prod.mineral == b.id) & (prod.qty > 0)]
        world = p.qty.sum()
        f = min(1.0, CAPACITY_HEADROOM * peak / world)
        fractions.append(dict(id=b.id, f=f, world=world, peak=peak))
        qty = dict(zip(p.country, p.qty))
        rows += _spot_rows(b, qty, f, split, allies, _import_esg)
        for supplier, mid, country, processing, kind, _why in AGREEMENTS:
            if mid != b.id:
                continue
            spare = qty.get(country, 0.0) * (1.0 - f)
            cap = int(round(min(AGREEMENT_CAPACITY_SHARE * peak, spare)))
            fixed = AGREEMENT_FIXED_COST_SHARE * cap * b.price
            rows.append(dict(
                supplier=supplier, country=country, mineral=b.name,
                price=round(b.price * AGREEMENT_PRICE_FACTOR, 2), capacity=cap,
                processing_country=processing, esg_score=ESG_AGREEMENT, agreement=kind,
                min_volume=int(round(AGREEMENT_MIN_VOLUME_SHARE * cap)),
                fixed_cost=int(round(fixed / FIXED_COST_ROUNDING) * FIXED_COST_ROUNDING)))
    cols = list(COLUMNS["Offers"])
    return pd.DataFrame(rows).reindex(columns=cols), pd.DataFrame(fractions)


def _countries(offers: pd.DataFrame, allies: dict[str, str]) -> pd.DataFrame:
    names = set(offers.country) | set(offers.processing_country.dropna())
    rows = []
    for c in _sort_countries(names):
        rows.append(dict(country=c, concern="yes" if c in CONCERN_COUNTRIES else None,
                         ally="yes" if c in allies else None, max_share=None,
                         blocked="yes" if c in BLOCKED_COUNTRIES else None))
    return pd.DataFrame(rows, columns=list(COLUMNS["Countries"]))


def _sources(base, fractions, split, allies, countries) -> pd.DataFrame:
    rows = []

    def add(topic, item, value, unit, kind, source):
        rows.append(dict(topic=topic, item=item, value=value, unit=unit, kind=kind, source=source))

    usgs = "USGS Mineral Commodity Summaries 2026 data release (data/us_demand.csv)"
    for b in base.itertuples():
        name, u = b.name, b.unit
        if b.consumption_kind == "published":
            add(name, f"U.S. consumption {b.year}", round(b.consumption, 3), u, "published", usgs
                + ("" if b.year == BASE_YEAR else f"; latest year with a figure is {b.year}"))
        else:
            add(name, f"U.S. consumption {b.year}", round(b.consumption, 3), u, "assumption",
                "USGS withholds U.S. consumption (W); figure assumed for the sample")
        add(name, "net import reliance, %", b.nir_text, "%", "published", usgs)
        add(name, f"demand {BASE_YEAR} (basis)", round(b.base, 3), u, "derived", b.basis)
        add(name, "demand growth a year", b.growth, "fraction", "assumption",
            "battery mineral" if b.id in BATTERY_MINERALS else "other mineral")
        add(name, f"USGS price {BASE_YEAR}", b.usgs_price, b.usgs_price_unit, "published", usgs)
        add(name, "price, USD per workbook unit", round(b.price, 2), f"USD/{u}", "derived", b.price_note)
        add(name, "quantity basis", QUANTITY_BASIS[b.id], u, "published",
            "USGS series (data/SOURCES.md 3.1-3.2)")
        fr = fractions[fractions.id == b.id].iloc[0]
        add(name, "spot fraction f of each country's production", round(fr.f, 4), "fraction", "derived",
            f"min(1, {CAPACITY_HEADROOM:g} x {PERIODS[-1]} demand {fr.peak:,.0f} / production "
            f"{fr.world:,.6g})" + (" (production = U.S. import-source shares, 2021-24)"
                                   if b.id in IMPORT_SOURCE_MINERALS else f" ({BASE_YEAR}, world_production.csv)"))
        if b.id in split:
            phi, by_country = split[b.id]
            why = (f"IEA refining shares {REFINING_YEAR} and USGS mine output {REFINING_YEAR} "
                   "(refining rule, inputs/README.md); the China-refined part is a separate offer row")
            add(name, "share of non-Chinese ore refined in China", round(phi, 4), "fraction", "derived", why)
            for c, x in sorted(by_country.items()):
                if abs(x - phi) > 1e-9:
                    add(name, f"  {c}: refines part at home; share refined in China", round(x, 4),
                        "fraction", "derived", why)
    for name, value, unit, kind, source in [
        ("lb per metric ton", LB_PER_TONNE, "lb/t", "constant", "data/SOURCES.md 4.6"),
        ("troy oz per kg", TROY_OZ_PER_KG, "oz/kg", "constant", "data/SOURCES.md 4.6"),
        ("kg Mn per mtu", KG_MN_PER_MTU, "kg", "constant", "data/SOURCES.md 4.6"),
        ("kg W per mtu WO3", KG_W_PER_MTU_WO3, "kg", "constant", "USGS, data/SOURCES.md 4.6"),
        ("t Li2CO3 per t Li", LI2CO3_T_PER_LI_T, "t/t", "constant", "data/SOURCES.md 4.6"),
        ("t V per t V2O5", round(V_MASS_FRACTION_V2O5, 4), "t/t", "constant",
         "standard atomic weights (V 50.9415, O 15.999)"),
        ("t Ta per t Ta2O5", round(TA_MASS_FRACTION_TA2O5, 4), "t/t", "constant",
         "standard atomic weights (Ta 180.948, O 15.999)"),
        ("t Nb per t ferroniobium", NB_MASS_FRACTION_FENB, "t/t", "assumption",
         "standard ferroniobium grade 63-67 % Nb"),
        ("planning periods", f"{PERIODS[0]}-{PERIODS[-1]}", "years", "assumption", "five annual periods"),
        ("base year", BASE_YEAR, "year", "published", "latest USGS year (2025 figures are estimates)"),
        ("capacity headroom", CAPACITY_HEADROOM, "x demand", "assumption",
         "spot capacity offered = this x the last period's demand, spread like world production"),
        ("domestic capacity fraction", DOMESTIC_CAPACITY_FRACTION, "of U.S. output", "assumption",
         "U.S. output that can be redirected to the program"),
        ("price factor, mined or refined in China", PRICE_FACTOR_CHINA, "x USGS price", "assumption", ""),
        ("price factor, United States", PRICE_FACTOR_DOMESTIC, "x USGS price", "assumption", ""),
        ("price factor, other allies", PRICE_FACTOR_ALLY, "x USGS price", "assumption", ""),
        ("price factor, other countries", PRICE_FACTOR_OTHER, "x USGS price", "assumption", ""),
        ("China refining threshold", CHINA_REFINING_THRESHOLD, "%", "assumption",
         "refining split applied where China refines at least this share (IEA)"),
        ("ESG score, U.S. producers", ESG_DOMESTIC, "0..100", "assumption", "illustrative"),
        ("ESG score, agreement partners", ESG_AGREEMENT, "0..100", "assumption", "illustrative"),
        ("agreement capacity", AGREEMENT_CAPACITY_SHARE, "x last period's demand", "assumption",
         "at most the partner's production beyond its spot offer"),
        ("agreement price", AGREEMENT_PRICE_FACTOR, "x USGS price", "assumption", ""),
        ("agreement minimum volume", AGREEMENT_MIN_VOLUME_SHARE, "x capacity", "assumption", ""),
        ("agreement fixed cost", AGREEMENT_FIXED_COST_SHARE, "x one year's capacity value", "assumption",
         f"rounded to {FIXED_COST_ROUNDING:,} USD"),
        ("holding cost", HOLDING_COST_RATE, "x USGS price a year", "assumption", "storage and insurance"),
        ("max_china_share", MAX_CHINA_SHARE, "0..1", "assumption", "policy choice"),
        ("max_country_share", MAX_COUNTRY_SHARE, "0..1", "assumption", "policy choice"),
        ("reserve_days", RESERVE_DAYS, "days", "assumption", "policy choice"),
        ("budget_total", BUDGET_TOTAL, "USD", "assumption",
         "chosen so the budget binds (the reserve runs down in the last period) without cutting much demand; "
         "far above the 12 billion USD reserve because it pays for all net imports"),
    ]:
        add("General", name, value, unit, kind, source)
    for supplier, _mid, _country, _processing, kind, why in AGREEMENTS:
        add("Agreements", supplier, kind, "", "assumption", "hypothetical; " + why)
    for c in countries.country:
        if c in allies:
            add("Countries", f"{c}: ally", "yes", "", "published", allies[c])
    for c, why in BLOCKED_COUNTRIES.items():
        add("Countries", f"{c}: blocked", "yes", "", "assumption", why)
    add("Countries", f"{CHINA}: concern", "yes", "", "assumption", "China is the concern country")
    add("Countries", f"{OTHER}", "aggregate", "", "published",
        "USGS 'Other countries': one supplier country, neither ally nor concern")
    ec = _read("export_controls.csv")
    for r in ec[ec.country.isin([CHINA, "Congo (Kinshasa)"])].itertuples():
        add("Export controls", f"{r.country}: {r.control_type}", r.commodities_and_year, "", "published",
            "USGS MCS 2026 table T4 (data/export_controls.csv); used by models/*.toml")
    for name, text in [
        ("USGS MCS 2026", "U.S. Geological Survey, Mineral Commodity Summaries 2026 data release, "
                          "https://www.sciencebase.gov/catalog/item/696a75d5d4be0228872d3bf8 (public domain)"),
        ("IEA", "Source: IEA (2025), Critical Minerals Data Explorer, CC BY 4.0 (refining shares)"),
        ("Details", "inputs/data/SOURCES.md describes every file, series and caveat"),
    ]:
        add("References", name, text, "", "published", "")
    return pd.DataFrame(rows, columns=["topic", "item", "value", "unit", "kind", "source"])


def imports_tables() -> dict[str, pd.DataFrame]:
    """The import plan's sheets (README excepted) as DataFrames, sheet name -> table; blanks are None/NaN."""
    base = _base_figures()
    allies = _allies()
    minerals = pd.DataFrame({
        "mineral": base.name, "unit": base.unit, "max_china_share": None, "shortfall_penalty": None,
        "reserve_penalty": None, "holding_cost": (base.price * HOLDING_COST_RATE).round(2),
        "initial_reserve": None,
    })
    demand = pd.DataFrame([
        dict(mineral=b.name, period=t, demand=_demand_value(b.base, b.growth, t), reserve_target=None)
        for b in base.itertuples() for t in PERIODS])
    offers, fractions = _offers(base, allies)
    countries = _countries(offers, allies)
    policy = pd.DataFrame(POLICY_KEYS, columns=["key", "value"])
    sources = _sources(base, fractions, _china_refined_fractions(), allies, countries)
    return {"Minerals": minerals, "Demand": demand, "Offers": offers, "Countries": countries,
            "Policy": policy, "Sources": sources}


# ===========================================================================
# The reserve program (inputs/sample.xlsx): a $12B strategic reserve, 2027-2031
# ===========================================================================
# The story (STOCKPILE.md): a reserve program with a 12 billion USD horizon budget
# buys stocks of the minerals that the shocks below would cut, before knowing
# which shock comes; each shock scenario then buys and releases to fill the U.S.
# supply gap it opens. Demand in normal times is 0: the program supplies no one
# in normal times (no documented government offtake was found in data/).
RESERVE_MINERALS = [  # SOURCE of the choice: the minerals the scenarios below touch
    "rare_earths", "cobalt", "graphite_natural", "gallium", "germanium", "nickel", "tungsten",
    "antimony", "palladium", "titanium_sponge",
]
RESERVE_BUDGET_TOTAL = 12_000_000_000  # the issue: a 12 billion USD horizon budget
RESERVE_SCENARIO_NAME = "reserve-program"
RESERVE_COMMIT_THROUGH = PERIODS[0]  # ASSUMPTION: the budget committee fixes the first year's orders
RESERVE_RISK = "expected"  # ASSUMPTION: expected cost over the scenarios (the default)
# Net imports: the base-year figure of the import plan (_base_figures: consumption x NIR, or
# consumption where NIR is a range), held flat over the horizon (no growth assumption here).
# Criticality (derived): China's share of world supply = the larger of its share of 2025 world
# production (world_production.csv) and its 2024 IEA refining share (refining_share.csv).
CRITICAL_CHINA_SHARE = 0.60  # ASSUMPTION: "China-dominated" at or above this share
# ASSUMPTION: germanium has no country production data and no IEA refining share; SOURCES.md
# records the IEA finding that China leads refining of 19 of 20 strategic minerals, germanium
# among those named, so it is counted China-dominated.
ASSUMED_CHINA_DOMINATED = {"germanium"}
# Reserve target (ASSUMPTION): one year of net imports held at the end of each period (the
# National Defense Stockpile sizes its requirements on a one-year conflict); the first period
# builds half of it (a two-year build-up).
RESERVE_TARGET_DAYS = 365
RESERVE_FIRST_PERIOD_SHARE = 0.5
# Value of lost supply (ASSUMPTION): shortfall_penalty = this multiple x the USGS price.
# 10x is procure's own default multiple; doubled for China-dominated minerals.
PENALTY_MULTIPLE_CRITICAL = 20.0
PENALTY_MULTIPLE_OTHER = 10.0
# Spot capacity (ASSUMPTION): each producing country offers the program the same fraction f of
# its output, f = min(1, RESERVE_HEADROOM x net imports / world production): in all, one year's
# U.S. net imports a year on top of the market's normal flows, spread like world production.
RESERVE_HEADROOM = 1.0
# ESG (ASSUMPTION, illustrative; no published scores are used). The program's standard is
# Policy min_esg_score = RESERVE_MIN_ESG: offers below it (or unscored) are excluded.
RESERVE_MIN_ESG = 50
ESG_SPOT_ALLY = 70  # spot offers mined and refined in an ally country
ESG_SPOT_OTHER = 60  # spot offers from other countries
ESG_SPOT_CHINA = 55  # mined or refined in China: passes; China is a concern country, not sanctioned
ESG_AUDITED_AGREEMENT = 70  # an agreement whose supply is audited where spot supply fails
# Countries whose spot supply fails the standard (ASSUMPTION, with the public reason).
ESG_LOW = {
    "Congo (Kinshasa)": (40, "artisanal cobalt mining with documented child-labour and safety risks"),
    "Burma": (30, "rare-earth mining in conflict areas outside state control"),
}
# ASSUMPTION (program standard, policy fact not in data/): nothing mined or refined in Russia is
# bought (U.S. sanctions on Russia since 2022); Iran and North Korea as in the import plan.
RESERVE_BLOCKED = dict(BLOCKED_COUNTRIES, Russia="U.S. sanctions on Russia (2022-): the program "
                                                 "buys nothing mined or refined in Russia")
# Partners' offtake agreements (ASSUMPTION on every term; names and dates where public).
#   supplier, mineral id, country, processing (None = same), why, audited (ESG_AUDITED_AGREEMENT)
RESERVE_AGREEMENTS = [
    ("Australia-Malaysia rare earths offtake", "rare_earths", "Australia", "Malaysia",
     "US-Australia framework (2025-10-20) and US-Malaysia MoU (2025-10-26), us_mineral_agreements.csv", False),
    ("Australia antimony offtake", "antimony", "Australia", None,
     "US-Australia framework (2025-10-20), us_mineral_agreements.csv", False),
    ("Japan titanium sponge offtake", "titanium_sponge", "Japan", None,
     "US-Japan framework (2025-10-27), us_mineral_agreements.csv; Japan is 77 % of U.S. sponge imports", False),
    ("Saudi Arabia titanium sponge offtake", "titanium_sponge", "Saudi Arabia", None,
     "Saudi Arabia is 13 % of U.S. sponge imports (us_import_sources.csv); a U.S.-Saudi minerals "
     "cooperation is reported in 2025 but not in data/: hypothetical", False),
    ("Canada germanium offtake", "germanium", "Canada", None,
     "Canada is 17 % of U.S. germanium imports (us_import_sources.csv); USMCA partner, not in the "
     "2025 agreements table: hypothetical", False),
    ("Canada graphite offtake", "graphite_natural", "Canada", None,
     "USMCA partner, not in the 2025 agreements table: hypothetical", False),
    ("Canada palladium offtake", "palladium", "Canada", None,
     "USMCA partner, not in the 2025 agreements table: hypothetical", False),
    ("Ukraine graphite offtake", "graphite_natural", "Ukraine", None,
     "U.S.-Ukraine minerals agreement (2025-04-30; not in data/): hypothetical offtake", False),
    ("Philippines nickel offtake", "nickel", "Philippines", None,
     "US-Philippines reciprocal trade framework (2025-02), nickel focus, us_mineral_agreements.csv", False),
    ("Congo (Kinshasa) cobalt offtake", "cobalt", "Congo (Kinshasa)", None,
     "U.S.-DRC strategic minerals partnership (2025; not in data/): hypothetical offtake of audited "
     "supply, so it meets the ESG standard that Congolese spot supply fails", True),
]
RESERVE_AGREEMENT_CAPACITY_SHARE = 0.25  # ASSUMPTION: of one year's net imports

# Scenarios (ASSUMPTION on every probability; the reason given in the Sources sheet).
# Each shock starts in SHOCK_START (or the one period listed) and lasts to the horizon.
SHOCK_START = PERIODS[1]
CHINA_WIDE_STOP_PERIOD = PERIODS[2]  # ASSUMPTION: the one-year stop of all China-processed supply
# name, probability, description, shocked (country or processing country), minerals, periods,
# capacity multiplier, why the probability
RESERVE_SCENARIOS = [
    ("no-shock", 0.40, "No supply shock over 2027-2031: the reserve is built and held.",
     None, [], None, None,
     "the complement of the shock scenarios' probabilities"),
    ("china-ga-ge-ban", 0.20,
     "From 2028 China supplies no gallium or germanium to U.S. buyers (mined or refined in China).",
     ("processing_country", "China"), ["gallium", "germanium"], None, 0.0,
     "China's gallium and germanium export licensing is in force since 2023 (export_controls.csv) "
     "and tightened to a U.S. ban in December 2024 (not in data/): the likeliest shock"),
    ("china-graphite-ree-controls", 0.15,
     "From 2028 China's graphite and rare-earth licensing stops supply to U.S. buyers "
     "(mined or refined in China).",
     ("processing_country", "China"), ["graphite_natural", "rare_earths"], None, 0.0,
     "graphite (2023) and rare-earth (2025) licensing are in force (export_controls.csv)"),
    ("drc-cobalt-quota", 0.10,
     "From 2028 the Congo (Kinshasa) cobalt export quota lets out 40 % of its volume.",
     ("country", "Congo (Kinshasa)"), ["cobalt"], None, 0.4,
     "the quota is in force since 2025 (export_controls.csv); its extension past 2027 is uncertain"),
    ("russia-sanctions", 0.10,
     "From 2028 sanctions stop U.S. imports of Russian palladium, titanium and nickel.",
     ("country", "Russia"), ["palladium", "titanium_sponge", "nickel"], None, None,
     "Russian palladium is still 36 % of U.S. imports (us_import_sources.csv); sanctions widened "
     "since 2022"),
    ("china-wide-stop", 0.05,
     f"In {CHINA_WIDE_STOP_PERIOD} China stops all supply it mines or refines for one year.",
     ("processing_country", "China"), None, [CHINA_WIDE_STOP_PERIOD], 0.0,
     "a tail event with no precedent in the data"),
]
# QUOTA_FRACTION for the DRC is the 40 % of the import plan's congo-cobalt-quota model (ASSUMPTION).
# Prices in a shock (derived): every offer of a shocked mineral costs max(1, USGS price 2025 / USGS
# price the year before the control began), the control year from export_controls.csv; minerals
# with no control there (palladium, titanium, nickel) keep their prices.
CONTROL_YEAR = {  # SOURCE: export_controls.csv (China licensing; Congo quota): mineral -> (country, year)
    "gallium": (CHINA, 2023), "germanium": (CHINA, 2023), "graphite_natural": (CHINA, 2023),
    "rare_earths": (CHINA, 2025), "antimony": (CHINA, 2024), "tungsten": (CHINA, 2025),
    "cobalt": ("Congo (Kinshasa)", 2025),
}
# Risks sheet (procure stress): one event per (policy, mineral), since extra_demand is in each
# mineral's own unit. The probability that it starts in a period is derived from its scenario's
# probability p over the shock window of n periods: 1 - (1 - p)^(1 / n) (ASSUMPTION: events are
# independent draws; the Risks format has no joint events).
RISK_DURATION = {  # ASSUMPTION: periods an event lasts once started
    "china-ga-ge-ban": 2, "china-graphite-ree-controls": 2, "drc-cobalt-quota": 3,
    "russia-sanctions": 3, "china-wide-stop": 1,
}
RISK_EVENT_NAMES = {
    "china-ga-ge-ban": "China export ban", "china-graphite-ree-controls": "China export controls",
    "drc-cobalt-quota": "DRC cobalt quota", "russia-sanctions": "Russia sanctions",
    "china-wide-stop": "China-wide stop",
}

RESERVE_COLUMNS = {
    "Minerals": {
        **{k: v for k, v in COLUMNS["Minerals"].items() if k in ("mineral", "unit", "max_china_share",
                                                                 "shortfall_penalty", "reserve_penalty")},
        "reference_price": ("Values quantities of this mineral in USD wherever minerals are added up "
                            "(shortfall, reserve).", "USD per unit, > 0",
                            "median of the mineral's offer prices", FMT_USD, ("pos",)),
        "holding_cost": COLUMNS["Minerals"]["holding_cost"],
        "initial_reserve": COLUMNS["Minerals"]["initial_reserve"],
    },
    "Demand": COLUMNS["Demand"],
    "Offers": COLUMNS["Offers"],
    "Countries": COLUMNS["Countries"],
    "Policy": COLUMNS["Policy"],
    "Scenarios": {
        "scenario": ("Name shown in outputs; unique.", "text", "required", None, None),
        "probability": ("Chance of this scenario; all probabilities sum to 1.", "0..1", "required",
                        FMT_SHARE, ("share",)),
        "description": ("Shown in outputs.", "text", "blank", None, None),
    },
    "Shocks": {
        "scenario": ("Which scenario this row changes (a name from Scenarios).", "text", "required",
                     None, ("ref", "Scenarios")),
        "supplier": ("Filter: offers of this supplier.", "text", "blank = any", None, None),
        "country": ("Filter: offers mined in this country.", "text", "blank = any", None,
                    ("ref", "Countries")),
        "processing_country": ("Filter: offers refined in this country.", "text", "blank = any", None,
                               ("ref", "Countries")),
        "mineral": ("Filter: this mineral.", "text", "blank = any", None, ("ref", "Minerals")),
        "period_from": ("First period the row applies to.", "period", "blank = open", FMT_INT, None),
        "period_to": ("Last period the row applies to.", "period", "blank = open", FMT_INT, None),
        "capacity": ("Multiplier of matching offers' capacity.", ">= 0", "1", FMT_SHARE, ("nonneg",)),
        "price": ("Multiplier of matching offers' price.", ">= 0", "1", FMT_SHARE, ("nonneg",)),
        "demand": ("Multiplier of matching Demand rows (mineral and period filters only).", ">= 0", "1",
                   FMT_SHARE, ("nonneg",)),
        "extra_demand": ("Added to the demand of the mineral in each matching period: the U.S. supply "
                         "gap the shock opens (mineral required).", "units per period, >= 0", "0",
                         FMT_QTY, ("nonneg",)),
    },
    "Risks": {
        "event": ("Name of the disruption; unique.", "text", "required", None, None),
        "probability": ("Chance the event starts in any one period (when not in progress).", "0..1",
                        "required", "0.0000", ("share",)),
        "duration": ("Periods it lasts once started (cut at the horizon).", "periods, >= 1", "1", FMT_INT,
                     ("pos",)),
        "country": ("Filter: offers mined here; a list separated by ';'.", "text", "blank = any", None, None),
        "processing_country": ("Filter: offers refined here; a list separated by ';'.", "text",
                               "blank = any", None, None),
        "supplier": ("Filter: these suppliers; a list separated by ';'.", "text", "blank = any", None, None),
        "mineral": ("Filter: these minerals; a list separated by ';'.", "text", "blank = any", None, None),
        "capacity": ("Multiplier of matching offers' capacity while it lasts (blank stops supply).",
                     ">= 0", "0", FMT_SHARE, ("nonneg",)),
        "price": ("Multiplier of matching offers' price while it lasts.", ">= 0", "1", FMT_SHARE,
                  ("nonneg",)),
        "extra_demand": ("Gap it opens while it lasts, added to the demand of its mineral.",
                         "units per period, >= 0", "0", FMT_QTY, ("nonneg",)),
    },
}
RESERVE_POLICY_DOCS = dict(
    POLICY_DOCS,
    commit_through=("Stochastic plans: purchases up to and including this period are common to all "
                    "scenarios (orders fixed before knowing which shock comes).", "period", "none",
                    FMT_INT, None),
    risk=("Stochastic plans: how scenario costs are combined.", "expected / worst / cvar", "expected",
          None, ("list", "expected,worst,cvar")),
    risk_level=("CVaR level alpha (risk = cvar).", "0..1, exclusive", "0.9", FMT_SHARE, ("share",)),
    risk_weight=("Weight lambda of CVaR against the expectation (risk = cvar).", "0..1", "1", FMT_SHARE,
                 ("share",)),
)
RESERVE_POLICY_KEYS = [
    ("max_china_share", None),  # ASSUMPTION: no cap (see _reserve_sources)
    ("max_country_share", None),
    ("max_supplier_share", None),
    ("share_basis", None),
    ("min_ally_share", None),
    ("min_esg_score", RESERVE_MIN_ESG),
    ("min_avg_esg", None),
    ("reserve_days", None),  # explicit reserve_target in Demand instead
    ("days_per_period", DAYS_PER_PERIOD),
    ("budget_total", RESERVE_BUDGET_TOTAL),
    ("budget_per_period", None),
    ("scenario", RESERVE_SCENARIO_NAME),
    ("commit_through", RESERVE_COMMIT_THROUGH),
    ("risk", RESERVE_RISK),
    ("risk_level", None),
    ("risk_weight", None),
]
RESERVE_SHEET_ORDER = ["README", "Minerals", "Demand", "Offers", "Countries", "Policy", "Scenarios",
                       "Shocks", "Risks", "Sources"]


def _reserve_base() -> pd.DataFrame:
    """The import plan's base figures for RESERVE_MINERALS, with net imports, China's share of world
    supply, the criticality tier and the penalty multiple."""
    base = _base_figures()
    base = base[base.id.isin(RESERVE_MINERALS)].reset_index(drop=True)
    prod = _production(BASE_YEAR)
    ref = _read("refining_share.csv")
    ref = ref[(ref.year == REFINING_YEAR) & ref.source.str.startswith(REFINING_SOURCE_PREFIX)
              & (ref.country == CHINA)]
    refining = dict(zip(ref.mineral, ref.refining_share_pct.astype(float) / 100.0))
    rows = []
    for b in base.itertuples():
        p = prod[prod.mineral == b.id]
        mine_share = (float(p[p.country == CHINA].qty.sum()) / float(p.qty.sum())) if len(p) else float("nan")
        shares = [x for x in (mine_share, refining.get(b.id)) if x is not None and not math.isnan(x)]
        china = max(shares) if shares else float("nan")
        critical = b.id in ASSUMED_CHINA_DOMINATED or (shares and china >= CRITICAL_CHINA_SHARE)
        rows.append(dict(china_mine_share=mine_share, china_refining_share=refining.get(b.id, float("nan")),
                         china_share=china, critical=bool(critical),
                         penalty_multiple=PENALTY_MULTIPLE_CRITICAL if critical else PENALTY_MULTIPLE_OTHER))
    return pd.concat([base, pd.DataFrame(rows)], axis=1)


def _reserve_target(b, period) -> int:
    """Reserve target (units) at the end of ``period``: reserve_days / 365 x net imports, half of it
    in the first period."""
    full = RESERVE_TARGET_DAYS / DAYS_PER_PERIOD * b.base
    return int(round(full * (RESERVE_FIRST_PERIOD_SHARE if period == PERIODS[0] else 1.0)))


def _import_shares() -> pd.DataFrame:
    """us_import_sources.csv, headline form: mineral id, country, share (fraction)."""
    imp = _read("us_import_sources.csv")
    imp = imp[imp.headline_form == "yes"]
    return pd.DataFrame({"mineral": imp.mineral, "country": imp.country,
                         "share": imp.share_pct.astype(float) / 100.0})


def _import_share(shares: pd.DataFrame, mineral_id: str, country: str) -> float:
    """The share of U.S. imports of ``mineral_id`` from ``country`` (0 when not a listed source)."""
    hit = shares[(shares.mineral == mineral_id) & (shares.country == country)]
    return float(hit.share.iloc[0]) if len(hit) else 0.0


def _shock_price_factor(mineral_id: str, country: str | None = None) -> float:
    """max(1, USGS price 2025 / price in the year before the control began); 1 without a control
    (or, with ``country``, without a control of that country)."""
    if mineral_id not in CONTROL_YEAR or country not in (None, CONTROL_YEAR[mineral_id][0]):
        return 1.0
    year = CONTROL_YEAR[mineral_id][1]
    d = _read("us_demand.csv")
    d = d[d.mineral == mineral_id].set_index("year")
    return max(1.0, float(d.price_usd_per_unit[BASE_YEAR]) / float(d.price_usd_per_unit[year - 1]))


def _reserve_allies() -> dict[str, str]:
    return _allies()


def _reserve_esg(allies):
    def esg_of(country: str, processing: str | None) -> int:
        if country in ESG_LOW:
            return ESG_LOW[country][0]
        if CHINA in (country, processing):
            return ESG_SPOT_CHINA
        if country == DOMESTIC_COUNTRY:
            return ESG_DOMESTIC
        return ESG_SPOT_ALLY if country in allies else ESG_SPOT_OTHER
    return esg_of


def _reserve_offers(base: pd.DataFrame, allies: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reserve program's Offers sheet and, per mineral, the spot fraction f."""
    def volume_of(b):
        return RESERVE_HEADROOM * b.base
    prod = pd.concat([_production(BASE_YEAR), _import_source_production(base, volume_of)], ignore_index=True)
    split = _china_refined_fractions()
    esg_of = _reserve_esg(allies)
    rows, fractions = [], []
    for b in base.itertuples():
        p = prod[(prod.mineral == b.id) & (prod.qty > 0)]
        world = p.qty.sum()
        f = min(1.0, RESERVE_HEADROOM * b.base / world)
        fractions.append(dict(id=b.id, f=f, world=world, peak=b.base))
        qty = dict(zip(p.country, p.qty))
        spot = _spot_rows(b, qty, f, split, allies, esg_of)
        for r in spot:
            r["blocked"] = "yes" if r["country"] in RESERVE_BLOCKED else None
        rows += spot
        for supplier, mid, country, processing, _why, audited in RESERVE_AGREEMENTS:
            if mid != b.id:
                continue
            wanted = RESERVE_AGREEMENT_CAPACITY_SHARE * b.base
            spare = qty.get(country, 0.0) * (1.0 - f) if b.id not in IMPORT_SOURCE_MINERALS else wanted
            cap = int(round(min(wanted, spare)))
            if cap < 1:
                raise ValueError(f"{supplier}: no capacity beyond the spot offer")
            fixed = AGREEMENT_FIXED_COST_SHARE * cap * b.price
            rows.append(dict(
                supplier=supplier, country=country, mineral=b.name,
                price=round(b.price * AGREEMENT_PRICE_FACTOR, 2), capacity=cap,
                processing_country=processing,
                esg_score=ESG_AUDITED_AGREEMENT if audited else ESG_AGREEMENT, agreement="optional",
                min_volume=int(round(AGREEMENT_MIN_VOLUME_SHARE * cap)),
                fixed_cost=int(round(fixed / FIXED_COST_ROUNDING) * FIXED_COST_ROUNDING)))
    cols = list(RESERVE_COLUMNS["Offers"])
    return pd.DataFrame(rows).reindex(columns=cols), pd.DataFrame(fractions)


def _reserve_countries(offers: pd.DataFrame, allies: dict[str, str]) -> pd.DataFrame:
    names = set(offers.country) | set(offers.processing_country.dropna())
    rows = [dict(country=c, concern="yes" if c in CONCERN_COUNTRIES else None,
                 ally="yes" if c in allies else None, max_share=None,
                 blocked="yes" if c in RESERVE_BLOCKED else None) for c in _sort_countries(names)]
    return pd.DataFrame(rows, columns=list(RESERVE_COLUMNS["Countries"]))


def _scenario_periods(periods) -> tuple[int, int]:
    return (periods[0], periods[-1]) if periods else (SHOCK_START, PERIODS[-1])


def _reserve_shocks(base: pd.DataFrame) -> pd.DataFrame:
    """Shocks sheet: per scenario, the capacity cut of the shocked source, the price rise of each
    shocked mineral, and each mineral's U.S. supply gap = net imports x the source's import share."""
    shares = _import_shares()
    by_id = {b.id: b for b in base.itertuples()}
    rows = []
    for name, _p, _d, source, minerals, periods, capacity, _why in RESERVE_SCENARIOS:
        if source is None:
            continue
        first, last = _scenario_periods(periods)
        field, where = source
        ids = list(minerals) if minerals else [m for m in RESERVE_MINERALS]
        blank = dict(supplier=None, country=None, processing_country=None, demand=None)
        if capacity is None:
            pass  # Russian supply is blocked for the program already: the shock is the gap alone
        elif minerals:
            for mid in ids:
                rows.append(dict(blank, scenario=name, **{field: where}, mineral=by_id[mid].name,
                                 period_from=first, period_to=last, capacity=capacity, price=None,
                                 extra_demand=None))
        else:
            rows.append(dict(blank, scenario=name, **{field: where}, mineral=None, period_from=first,
                             period_to=last, capacity=capacity, price=None, extra_demand=None))
        for mid in ids:
            factor = _shock_price_factor(mid, where)
            if factor > 1.0:
                rows.append(dict(blank, scenario=name, mineral=by_id[mid].name, period_from=first,
                                 period_to=last, capacity=None, price=round(factor, 4), extra_demand=None))
        for mid in ids:
            gap = by_id[mid].base * _import_share(shares, mid, where)
            if gap > 0:
                rows.append(dict(blank, scenario=name, mineral=by_id[mid].name, period_from=first,
                                 period_to=last, capacity=None, price=None, extra_demand=round(gap, 3)))
    return pd.DataFrame(rows).reindex(columns=list(RESERVE_COLUMNS["Shocks"]))


def _reserve_risks(base: pd.DataFrame) -> pd.DataFrame:
    """Risks sheet: the scenarios' shocks as events, one per (scenario, mineral with a gap or a cut)."""
    shares = _import_shares()
    by_id = {b.id: b for b in base.itertuples()}
    rows = []
    for name, p, _d, source, minerals, periods, capacity, _why in RESERVE_SCENARIOS:
        if source is None:
            continue
        first, last = _scenario_periods(periods)
        window = PERIODS.index(last) - PERIODS.index(first) + 1 if not periods else len(PERIODS)
        start = 1.0 - (1.0 - p) ** (1.0 / window)
        field, where = source
        for mid in (minerals or RESERVE_MINERALS):
            gap = by_id[mid].base * _import_share(shares, mid, where)
            factor = _shock_price_factor(mid, where)
            if gap <= 0 and (capacity is None or not minerals):
                continue  # listed where it opens a gap, or (named minerals) cuts supply
            cut = capacity is not None
            rows.append(dict(event=f"{RISK_EVENT_NAMES[name]}: {by_id[mid].name}",
                             probability=round(start, 4), duration=RISK_DURATION[name],
                             country=where if cut and field == "country" else None,
                             processing_country=where if cut and field == "processing_country" else None,
                             supplier=None, mineral=by_id[mid].name, capacity=capacity if cut else 1.0,
                             price=round(factor, 4) if factor > 1.0 else None,
                             extra_demand=round(gap, 3) if gap > 0 else None))
    return pd.DataFrame(rows).reindex(columns=list(RESERVE_COLUMNS["Risks"]))


def _reserve_sources(base, fractions, allies, countries, scenarios, shocks, risks) -> pd.DataFrame:
    rows = []

    def add(topic, item, value, unit, kind, source):
        rows.append(dict(topic=topic, item=item, value=value, unit=unit, kind=kind, source=source))

    usgs = "USGS Mineral Commodity Summaries 2026 data release (data/us_demand.csv)"
    shares = _import_shares()
    for b in base.itertuples():
        name, u = b.name, b.unit
        kind = "published" if b.consumption_kind == "published" else "assumption"
        add(name, f"U.S. consumption {b.year}", round(b.consumption, 3), u, kind,
            usgs if kind == "published" else "USGS withholds U.S. consumption (W); figure assumed")
        add(name, "net import reliance, %", b.nir_text, "%", "published", usgs)
        add(name, "net imports a year (held flat)", round(b.base, 3), u, "derived", b.basis)
        add(name, f"USGS price {BASE_YEAR}", b.usgs_price, b.usgs_price_unit, "published", usgs)
        add(name, "price = reference_price, USD per workbook unit", round(b.price, 2), f"USD/{u}", "derived",
            b.price_note)
        if not math.isnan(b.china_mine_share):
            add(name, f"China's share of {BASE_YEAR} world production", round(b.china_mine_share, 4), "fraction",
                "derived", "world_production.csv (countries summed, World total excluded)")
        if not math.isnan(b.china_refining_share):
            add(name, f"China's IEA refining share {REFINING_YEAR}", round(b.china_refining_share, 4),
                "fraction", "published", "refining_share.csv (IEA)")
        add(name, "China-dominated (criticality tier)", "yes" if b.critical else "no", "",
            "assumption" if b.id in ASSUMED_CHINA_DOMINATED else "derived",
            "no production or refining data; IEA: China leads refining of 19 of 20 strategic minerals "
            "(data/SOURCES.md)" if b.id in ASSUMED_CHINA_DOMINATED else
            f"China's share of world supply (the larger of the two above) >= {CRITICAL_CHINA_SHARE:g}")
        add(name, "reserve target", round(RESERVE_TARGET_DAYS / DAYS_PER_PERIOD * b.base, 3), u, "derived",
            f"{RESERVE_TARGET_DAYS} days of net imports (assumption: a one-year conflict, as the National Defense "
            f"Stockpile sizes requirements); half of it at the end of {PERIODS[0]}")
        add(name, "shortfall_penalty", round(b.penalty_multiple * b.price, 2), f"USD/{u}", "assumption",
            f"value of lost supply: {b.penalty_multiple:g} x the USGS price")
        fr = fractions[fractions.id == b.id].iloc[0]
        add(name, "spot fraction f of each country's production", round(fr.f, 4), "fraction", "derived",
            f"min(1, {RESERVE_HEADROOM:g} x net imports {fr.peak:,.0f} / production {fr.world:,.6g})"
            + (" (production = U.S. import-source shares, 2021-24)" if b.id in IMPORT_SOURCE_MINERALS
               else f" ({BASE_YEAR}, world_production.csv)"))
        part = shares[shares.mineral == b.id]
        add(name, "U.S. import sources 2021-24, %",
            "; ".join(f"{c} {100 * s:g}" for c, s in zip(part.country, part.share)), "%", "published",
            "us_import_sources.csv (headline form)")
        factor = _shock_price_factor(b.id)
        if b.id in CONTROL_YEAR:
            add(name, "price multiplier in a shock", round(factor, 4), "x price", "derived",
                f"max(1, USGS price {BASE_YEAR} / price {CONTROL_YEAR[b.id][1] - 1}); "
                f"{CONTROL_YEAR[b.id][0]} control of {CONTROL_YEAR[b.id][1]} in export_controls.csv; "
                "applies to every offer of the mineral in a shock by that country")
    for s in RESERVE_SCENARIOS:
        name, p, _desc, _source, _minerals, _periods, _cap, why = s
        add("Scenarios", f"{name}: probability", p, "", "assumption", why)
    add("Scenarios", "probabilities sum", round(float(scenarios.probability.sum()), 10), "", "derived",
        "must be 1 (STOCKPILE.md)")
    add("Scenarios", "shock periods", f"{SHOCK_START}-{PERIODS[-1]}", "", "assumption",
        f"shocks start in the second period and last to the horizon; the China-wide stop is "
        f"{CHINA_WIDE_STOP_PERIOD} only")
    add("Scenarios", "Congo (Kinshasa) quota", 0.4, "x capacity", "assumption",
        "the quota lets out 40 % of the volume (as the import plan's congo-cobalt-quota model)")
    add("Scenarios", "extra_demand rule", "net imports x import share", "", "derived",
        "the U.S. supply gap a shock opens: net imports x the shocked source's share of U.S. imports "
        "(us_import_sources.csv); 0 where the source is not a listed import source (Congo for cobalt, "
        "Russia for titanium sponge and nickel, China for cobalt, nickel, palladium, titanium sponge)")
    add("Scenarios", "capacity cut", "processing_country or country", "", "assumption",
        "the shocked source supplies nothing to U.S. buyers (mined or refined there); Russia: no cut, "
        "its supply is blocked for the program already")
    for r in risks.itertuples():
        add("Risks", f"{r.event}: start probability a period", r.probability, "", "assumption",
            "derived from its scenario's probability p over the periods it may start in: 1 - (1 - p)^(1/n); "
            f"duration {r.duration} (assumption)")
    add("Risks", "independence", "one event per policy and mineral", "", "assumption",
        "extra_demand is in the mineral's unit, so each event names one mineral; events are drawn independently")
    for name, value, unit, kind, source in [
        ("budget_total", RESERVE_BUDGET_TOTAL, "USD", "assumption",
         "the program's 12 billion USD horizon budget (issue 10); holds in every scenario"),
        ("demand in normal times", 0, "units", "assumption",
         "the program supplies no one in normal times (no documented government offtake in data/)"),
        ("reserve target", RESERVE_TARGET_DAYS, "days of net imports", "assumption",
         "a one-year conflict, as the National Defense Stockpile sizes its requirements; "
         f"{RESERVE_FIRST_PERIOD_SHARE:g} of it at the end of {PERIODS[0]} (two-year build-up)"),
        ("China-dominated threshold", CRITICAL_CHINA_SHARE, "China's share of world supply", "assumption",
         "the larger of its 2025 mine (or processing-stage) share and its 2024 IEA refining share"),
        ("shortfall_penalty, China-dominated", PENALTY_MULTIPLE_CRITICAL, "x USGS price", "assumption",
         "value of lost supply: twice procure's default multiple where one country controls the supply"),
        ("shortfall_penalty, other minerals", PENALTY_MULTIPLE_OTHER, "x USGS price", "assumption",
         "value of lost supply: procure's default multiple (10 x the highest price)"),
        ("reference_price", "USGS 2025 price", "USD per unit", "derived",
         "values shortfall and reserve in USD at the published price, not at an offer median"),
        ("reserve_penalty", "blank (default)", "", "assumption",
         "shortfall_penalty / (periods + 1): a unit held through every period costs less than a unit short"),
        ("min_esg_score", RESERVE_MIN_ESG, "0..100", "assumption", "the program's sourcing standard"),
        ("ESG score, U.S. producers", ESG_DOMESTIC, "0..100", "assumption", "illustrative"),
        ("ESG score, agreement partners", ESG_AGREEMENT, "0..100", "assumption", "illustrative"),
        ("ESG score, audited agreement", ESG_AUDITED_AGREEMENT, "0..100", "assumption",
         "the Congo (Kinshasa) offtake: audited supply"),
        ("ESG score, ally spot", ESG_SPOT_ALLY, "0..100", "assumption", "illustrative"),
        ("ESG score, other spot", ESG_SPOT_OTHER, "0..100", "assumption", "illustrative"),
        ("ESG score, mined or refined in China", ESG_SPOT_CHINA, "0..100", "assumption",
         "passes: China is a concern country, not a sanctioned one"),
        ("max_china_share", "blank (no cap)", "", "assumption",
         "a reserve held against a Chinese cut may buy Chinese material before the cut"),
        ("commit_through", RESERVE_COMMIT_THROUGH, "period", "assumption",
         "the budget committee fixes the first year's orders before knowing the shock"),
        ("risk", RESERVE_RISK, "", "assumption", "expected cost over the scenarios"),
        ("spot capacity headroom", RESERVE_HEADROOM, "x net imports", "assumption",
         "the program can buy a year's net imports a year, spread like world production"),
        ("holding cost", HOLDING_COST_RATE, "x USGS price a year", "assumption", "storage and insurance"),
        ("agreement capacity", RESERVE_AGREEMENT_CAPACITY_SHARE, "x net imports", "assumption",
         "at most the partner's production beyond its spot offer"),
        ("agreement price", AGREEMENT_PRICE_FACTOR, "x USGS price", "assumption", ""),
        ("agreement minimum volume", AGREEMENT_MIN_VOLUME_SHARE, "x capacity", "assumption", ""),
        ("agreement fixed cost", AGREEMENT_FIXED_COST_SHARE, "x one year's capacity value", "assumption",
         f"rounded to {FIXED_COST_ROUNDING:,} USD"),
        ("price factors", "China 0.90, U.S. 1.10, allies 1.05, others 1.00", "x USGS price", "assumption",
         "as in the import plan"),
    ]:
        add("General", name, value, unit, kind, source)
    for supplier, _mid, _country, _processing, why, _audited in RESERVE_AGREEMENTS:
        add("Agreements", supplier, "optional", "", "assumption", "terms hypothetical; " + why)
    for c in countries.country:
        if c in allies:
            add("Countries", f"{c}: ally", "yes", "", "published", allies[c])
    for c, why in RESERVE_BLOCKED.items():
        add("Countries", f"{c}: blocked", "yes", "", "assumption", why)
    for c, (score, why) in ESG_LOW.items():
        add("Countries", f"{c}: spot ESG score", score, "0..100", "assumption", why + "; below min_esg_score")
    ec = _read("export_controls.csv")
    for r in ec[ec.country.isin([CHINA, "Congo (Kinshasa)", "Russia"])].itertuples():
        add("Export controls", f"{r.country}: {r.control_type}", r.commodities_and_year, "", "published",
            "USGS MCS 2026 table T4 (data/export_controls.csv)")
    for name, text in [
        ("USGS MCS 2026", "U.S. Geological Survey, Mineral Commodity Summaries 2026 data release, "
                          "https://www.sciencebase.gov/catalog/item/696a75d5d4be0228872d3bf8 (public domain)"),
        ("IEA", "Source: IEA (2025), Critical Minerals Data Explorer, CC BY 4.0 (refining shares)"),
        ("Details", "inputs/data/SOURCES.md describes every file, series and caveat; inputs/README.md "
                    "every derivation"),
    ]:
        add("References", name, text, "", "published", "")
    return pd.DataFrame(rows, columns=["topic", "item", "value", "unit", "kind", "source"])


def reserve_tables() -> dict[str, pd.DataFrame]:
    """The reserve program's sheets (README excepted) as DataFrames; blanks are None/NaN."""
    base = _reserve_base()
    allies = _reserve_allies()
    minerals = pd.DataFrame({
        "mineral": base.name, "unit": base.unit, "max_china_share": None,
        "shortfall_penalty": (base.penalty_multiple * base.price).round(2), "reserve_penalty": None,
        "reference_price": base.price.round(2), "holding_cost": (base.price * HOLDING_COST_RATE).round(2),
        "initial_reserve": None,
    })
    demand = pd.DataFrame([dict(mineral=b.name, period=t, demand=0, reserve_target=_reserve_target(b, t))
                           for b in base.itertuples() for t in PERIODS])
    offers, fractions = _reserve_offers(base, allies)
    countries = _reserve_countries(offers, allies)
    policy = pd.DataFrame(RESERVE_POLICY_KEYS, columns=["key", "value"])
    scenarios = pd.DataFrame([dict(scenario=s[0], probability=s[1], description=s[2]) for s in RESERVE_SCENARIOS])
    shocks = _reserve_shocks(base)
    risks = _reserve_risks(base)
    sources = _reserve_sources(base, fractions, allies, countries, scenarios, shocks, risks)
    return {"Minerals": minerals, "Demand": demand, "Offers": offers, "Countries": countries,
            "Policy": policy, "Scenarios": scenarios, "Shocks": shocks, "Risks": risks, "Sources": sources}


# ===========================================================================
# Workbook
# ===========================================================================

def _imports_readme_rows() -> list[tuple]:
    """(A, B, C, D) text rows of the README sheet; a row with only A is a heading."""
    base = _base_figures()
    rows = [
        ("procure national import plan: U.S. critical-mineral procurement, "
         f"{PERIODS[0]}-{PERIODS[-1]}",),
        ("Built by inputs/build_sample.py from public USGS (MCS 2026) and IEA figures in inputs/data/. "
         "Every figure that is not published is an assumption; the Sources sheet lists each one.", ),
        ("procure reads the sheets Minerals, Demand, Offers, Countries and Policy. It ignores README and "
         "Sources. Headers must stay in row 1; column order is free; names match in any case.",),
        ("A blank optional cell takes its default. Unknown columns are warnings and unknown Policy keys "
         "errors, so do not add columns to the data sheets. Hover over a header for its meaning.",),
        ("Demand = U.S. net imports (consumption x net import reliance) where USGS gives an exact "
         "reliance, else U.S. consumption; grown from the 2025 figure. Prices are 2025 USGS averages "
         "converted to USD per the mineral's unit, times an origin factor.",),
        (),
        ("Sheets",),
        ("Minerals", "one row per mineral: its unit and optional per-mineral settings"),
        ("Demand", "one row per mineral and period: quantity needed and optional reserve target"),
        ("Offers", "one row per offer: a supplier's price and capacity for one mineral"),
        ("Countries", "optional flags per country: concern (China exposure), ally, share cap, blocked"),
        ("Policy", "key / value settings; blank value = default"),
        ("Sources", "where every figure comes from, and every assumption"),
    ]
    for sheet in ["Minerals", "Demand", "Offers", "Countries"]:
        rows += [(), (f"{sheet} columns", "meaning", "unit / type", "default")]
        for col, (meaning, unit, default, _fmt, _val) in COLUMNS[sheet].items():
            rows.append((col, meaning, unit, default))
    rows += [(), ("Policy keys", "meaning", "unit / type", "default")]
    for key, (meaning, unit, default, _fmt, _val) in POLICY_DOCS.items():
        rows.append((key, meaning, unit, default))
    rows += [(), ("Units of this sample", "unit", "measures", "2025 USGS average price, USD per unit")]
    for b in base.itertuples():
        rows.append((b.name, b.unit, QUANTITY_BASIS[b.id], round(b.price, 2)))
    rows += [(), ("Use",),
             ("procure validate inputs/imports.xlsx",),
             ("procure solve inputs/imports.xlsx --model models/china-export-controls.toml",),
             (), ("Rebuild",), ("python inputs/build_sample.py [--out PATH]",),
             ("Edits made here in Excel are lost when the workbook is rebuilt; keep a copy.",)]
    return rows


def _reserve_readme_rows(tables: dict[str, pd.DataFrame]) -> list[tuple]:
    """(A, B, C, D) text rows of the reserve program's README sheet."""
    base = _reserve_base()
    n_shocks = len(tables["Scenarios"]) - 1
    rows = [
        ("procure sample workbook: a 12 billion USD strategic mineral reserve, "
         f"{PERIODS[0]}-{PERIODS[-1]}",),
        ("Built by inputs/build_sample.py from public USGS (MCS 2026) and IEA figures in inputs/data/. "
         "Every figure that is not published is an assumption; the Sources sheet lists each one.",),
        (f"A reserve program buys stocks of {len(base)} minerals before it knows which of {n_shocks} supply "
         "shocks comes (Scenarios, with probabilities); in each shock it releases the reserve and buys "
         "to fill the U.S. supply gap the shock opens (Shocks: net imports x the shocked source's share "
         "of U.S. imports). Demand in normal times is 0; the reserve targets are in Demand.",),
        ("procure reads Minerals, Demand, Offers, Countries, Policy, Scenarios, Shocks and Risks. It "
         "ignores README and Sources. Headers must stay in row 1; column order is free; names match in "
         "any case.",),
        ("A blank optional cell takes its default. Unknown columns are warnings and unknown Policy keys "
         "errors, so do not add columns to the data sheets. Hover over a header for its meaning.",),
        (),
        ("Sheets",),
        ("Minerals", "one row per mineral: unit, value of lost supply (shortfall_penalty), reference price"),
        ("Demand", "one row per mineral and period: demand 0 and the reserve target"),
        ("Offers", "one row per offer: spot offers by producing country and optional partner agreements"),
        ("Countries", "concern (China), allies, blocked (sanctioned) countries"),
        ("Policy", "key / value settings; blank value = default"),
        ("Scenarios", "the shock scenarios and their probabilities (sum 1)"),
        ("Shocks", "what each scenario changes: capacity, price, extra_demand (the supply gap)"),
        ("Risks", "disruption events for procure stress: chance of starting a period, duration, effect"),
        ("Sources", "where every figure comes from, and every assumption"),
    ]
    for sheet in ["Minerals", "Demand", "Offers", "Countries", "Scenarios", "Shocks", "Risks"]:
        rows += [(), (f"{sheet} columns", "meaning", "unit / type", "default")]
        for col, (meaning, unit, default, _fmt, _val) in RESERVE_COLUMNS[sheet].items():
            rows.append((col, meaning, unit, default))
    rows += [(), ("Policy keys", "meaning", "unit / type", "default")]
    for key, (meaning, unit, default, _fmt, _val) in RESERVE_POLICY_DOCS.items():
        rows.append((key, meaning, unit, default))
    rows += [(), ("Units of this sample", "unit", "measures", "2025 USGS average price, USD per unit")]
    for b in base.itertuples():
        rows.append((b.name, b.unit, QUANTITY_BASIS[b.id], round(b.price, 2)))
    rows += [(), ("Use",),
             ("procure validate inputs/sample.xlsx",),
             ("procure solve inputs/sample.xlsx        (the stochastic plan over the Scenarios sheet)",),
             ("procure stress inputs/sample.xlsx --draws 10000   (the committed plan against the Risks sheet)",),
             (), ("Rebuild",), ("python inputs/build_sample.py [--out-dir DIR]",),
             ("Edits made here in Excel are lost when the workbook is rebuilt; keep a copy.",)]
    return rows


def _fill_sheet(ws, df: pd.DataFrame, docs: dict | None) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill

    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for j, col in enumerate(df.columns, start=1):
        cell = ws.cell(row=1, column=j, value=col)
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(vertical="top")
        if docs and col in docs:
            meaning, unit, default, _fmt, _val = docs[col]
            comment = Comment(f"{col}: {meaning}\nUnit/type: {unit}\nDefault: {default}", "procure")
            comment.width, comment.height = 320, 140
            cell.comment = comment
    for i, record in enumerate(df.itertuples(index=False), start=2):
        for j, value in enumerate(record, start=1):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            if hasattr(value, "item"):  # numpy scalar -> Python
                value = value.item()
            if isinstance(value, str) and value.startswith("="):
                raise ValueError(f"{ws.title}: a text starting with '=' would become a formula: {value!r}")
            ws.cell(row=i, column=j, value=value)


def _validation(kind: tuple):
    from openpyxl.worksheet.datavalidation import DataValidation

    tag = kind[0]
    if tag == "share":
        dv = DataValidation(type="decimal", operator="between", formula1="0", formula2="1")
        dv.error = "Enter a number from 0 to 1 (e.g. 0.3 for 30 %)."
    elif tag == "esg":
        dv = DataValidation(type="decimal", operator="between", formula1="0", formula2="100")
        dv.error = "Enter a score from 0 to 100."
    elif tag == "nonneg":
        dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0")
        dv.error = "Enter a number >= 0."
    elif tag == "pos":
        dv = DataValidation(type="decimal", operator="greaterThan", formula1="0")
        dv.error = "Enter a number > 0."
    elif tag == "yesno":
        dv = DataValidation(type="list", formula1='"yes,no"')
        dv.error = "Choose yes or no."
    elif tag == "list":
        dv = DataValidation(type="list", formula1=f'"{kind[1]}"')
        dv.error = f"Choose one of: {kind[1].replace(',', ', ')}."
    elif tag == "ref":
        sheet = kind[1]
        dv = DataValidation(type="list", formula1=f"{sheet}!$A$2:$A${VALIDATION_ROWS + 1}")
        dv.error = f"Not a name from the {sheet} sheet. Add it there first (or check the spelling)."
        if sheet == "Countries":  # a country missing from Countries just takes the defaults
            dv.errorStyle = "warning"
    else:
        raise ValueError(kind)
    dv.allow_blank = True
    dv.showErrorMessage = True
    dv.errorTitle = "procure"
    return dv


def _format_sheet(ws, df: pd.DataFrame, docs: dict) -> None:
    from openpyxl.utils import get_column_letter

    last_row = VALIDATION_ROWS + 1
    for j, col in enumerate(df.columns, start=1):
        letter = get_column_letter(j)
        _meaning, _unit, _default, fmt, val = docs[col]
        if fmt:
            for i in range(2, len(df) + 2):
                ws.cell(row=i, column=j).number_format = fmt
        if val:
            dv = _validation(val)
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}{last_row}")
        width = max([len(str(col))] + [len(f"{v:,.2f}" if isinstance(v, float) else str(v))
                                       for v in df[col] if v is not None and not
                                       (isinstance(v, float) and math.isnan(v))])
        ws.column_dimensions[letter].width = min(max(width + 3, 10), 45)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(df.columns))}{max(len(df) + 1, 2)}"


def _format_policy(ws, df: pd.DataFrame, policy_docs: dict) -> None:
    from openpyxl.comments import Comment

    for i, key in enumerate(df.key, start=2):
        meaning, unit, default, fmt, val = policy_docs[key]
        comment = Comment(f"{key}: {meaning}\nUnit/type: {unit}\nDefault: {default}", "procure")
        comment.width, comment.height = 320, 140
        ws.cell(row=i, column=1).comment = comment
        cell = ws.cell(row=i, column=2)
        if fmt:
            cell.number_format = fmt
        if val:
            dv = _validation(val)
            ws.add_data_validation(dv)
            dv.add(cell.coordinate)
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 20
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:B{len(df) + 1}"


# Every part of the xlsx file gets this time stamp, so the same inputs give the same bytes.
FIXED_TIME = (2026, 1, 1, 0, 0, 0)


def _write_book(out_path, tables, readme_rows, columns, policy_docs, sheet_order) -> Path:
    """Write one formatted workbook: README, the data sheets (header notes, formats, validation),
    Sources; then make the file byte-reproducible and move it into place atomically."""
    from datetime import datetime

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    wb.properties.creator = "procure inputs/build_sample.py"
    fixed = datetime(*FIXED_TIME)
    wb.properties.created = fixed
    wb.properties.modified = fixed

    readme = wb.active
    readme.title = "README"
    for i, row in enumerate(readme_rows, start=1):
        for j, value in enumerate(row, start=1):
            readme.cell(row=i, column=j, value=value)
        if len(row) == 1 or (len(row) == 4 and row[1] == "meaning") or (row and row[0] in ("Sheets",)):
            readme.cell(row=i, column=1).font = Font(bold=True)
            for j in range(2, len(row) + 1):
                readme.cell(row=i, column=j).font = Font(bold=True)
        if len(row) == 4 and isinstance(row[3], float):
            readme.cell(row=i, column=4).number_format = FMT_USD
    readme.cell(row=1, column=1).font = Font(bold=True, size=14)
    for letter, width in zip("ABCD", (22, 90, 30, 40)):
        readme.column_dimensions[letter].width = width
    for r in readme.iter_rows():
        for cell in r[1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    for name in sheet_order[1:-1]:
        ws = wb.create_sheet(name)
        df = tables[name]
        _fill_sheet(ws, df, columns[name])
        if name == "Policy":
            _format_policy(ws, df, policy_docs)
        else:
            _format_sheet(ws, df, columns[name])

    ws = wb.create_sheet("Sources")
    src = tables["Sources"]
    _fill_sheet(ws, src, None)
    for letter, width in zip("ABCDEF", (18, 44, 22, 22, 12, 100)):
        ws.column_dimensions[letter].width = width
    for i, value in enumerate(src.value, start=2):
        if isinstance(value, float) and abs(value) >= 1000:
            ws.cell(row=i, column=3).number_format = FMT_USD0 if value == int(value) else FMT_USD
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:F{len(src) + 1}"

    assert wb.sheetnames == sheet_order, wb.sheetnames
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    try:
        wb.save(tmp)
        _make_reproducible(tmp)
        os.replace(tmp, out_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out_path


def _make_reproducible(path: Path) -> None:
    """Rewrite the xlsx (a zip) with FIXED_TIME on every member and as the document's modified time
    (openpyxl stamps both with the clock), so a rebuild gives byte-identical output."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as z:
        members = [(info.filename, z.read(info.filename)) for info in z.infolist()]
    stamp = "%04d-%02d-%02dT%02d:%02d:%02dZ" % FIXED_TIME
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + stamp.encode() + rb"\g<2>", data)
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            z.writestr(info, data)


def build_imports(out_path: str | Path = IMPORTS_OUT) -> Path:
    """Write the national import plan (inputs/imports.xlsx) to ``out_path``."""
    return _write_book(out_path, imports_tables(), _imports_readme_rows(), COLUMNS, POLICY_DOCS, SHEET_ORDER)


def build_reserve(out_path: str | Path = RESERVE_OUT) -> Path:
    """Write the reserve program (inputs/sample.xlsx) to ``out_path``."""
    tables = reserve_tables()
    return _write_book(out_path, tables, _reserve_readme_rows(tables), RESERVE_COLUMNS, RESERVE_POLICY_DOCS,
                       RESERVE_SHEET_ORDER)


def build_all(out_dir: str | Path = HERE) -> list[Path]:
    """Write sample.xlsx (the reserve program) and imports.xlsx (the import plan) into ``out_dir``."""
    out_dir = Path(out_dir)
    return [build_reserve(out_dir / RESERVE_OUT.name), build_imports(out_dir / IMPORTS_OUT.name)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=str(HERE),
                        help="folder to write sample.xlsx and imports.xlsx into (default: %(default)s)")
    args = parser.parse_args(argv)
    for path in build_all(args.out_dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
