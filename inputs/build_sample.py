"""Build the two sample workbooks from the public data in ``inputs/data/``.

- ``inputs/sample.xlsx``: the reserve program (the default of ``procure solve`` and
  ``procure stress``): a strategic mineral reserve over 2027-2031 that reduces
  dependence on China, bought before knowing which of the shock scenarios comes
  (STOCKPILE.md).
- ``inputs/imports.xlsx``: the national import plan (19 minerals, U.S. net imports
  as demand, 85 billion USD budget), with the scenario files ``models/*.toml``.

Usage::

    python inputs/build_sample.py [--out-dir DIR]      # default: inputs/

Built into inputs/ (the default), the workbooks are also copied to procure/data/
(the package's copies) and inputs/README.md is written from the same figures and
from the plan procure makes of the reserve program (``write_readme``; this part
needs the procure package, the workbooks do not).

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
import re
import shutil
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
# The reserve program (inputs/sample.xlsx): a strategic reserve, 2027-2031
# ===========================================================================
# The story (STOCKPILE.md): a reserve program buys stocks of the minerals the shocks below would
# cut, before knowing which shock comes; each shock scenario then releases the reserve and buys to
# fill the U.S. supply gap it opens. It reduces dependence on China: at most RESERVE_MAX_CHINA_SHARE
# of each mineral's purchases (by value) may be mined or refined there. Demand in normal times is 0:
# the program supplies no one in normal times (no documented government offtake was found in data/).
#
# Every figure is published (USGS MCS 2026, IEA), derived from published figures by a rule named
# here, or an assumption; the Sources sheet lists each with its kind, and inputs/README.md is
# written from the same figures (write_readme) with the plan procure makes of the workbook.
RESERVE_MINERALS = [  # the minerals some scenario below cuts (every one is drawn in some scenario)
    "rare_earths", "cobalt", "graphite_natural", "gallium", "germanium", "tungsten", "antimony", "palladium",
]
# Minerals of the earlier sample left out, and why (the README and Sources say so): no scenario
# opens a U.S. gap in them, so a target for them would never be drawn.
LEFT_OUT = ["nickel", "titanium_sponge"]
# ASSUMPTION: the NdPr oxide price is the only rare-earth price in data/ (USGS's individual oxide
# prices were not extracted); the basket assumption is in the mineral's name, so it is on every plan.
RESERVE_NAMES = {"rare_earths": "Rare earths (REO at NdPr price)"}
SHORT_NAMES = {"rare_earths": "rare earths", "graphite_natural": "graphite"}  # as descriptions name them
RESERVE_SCENARIO_NAME = "reserve-program"
RESERVE_COMMIT_THROUGH = PERIODS[0]  # ASSUMPTION: the budget committee fixes the first year's orders
RESERVE_RISK = "expected"  # ASSUMPTION: expected cost over the scenarios (the default)
# ASSUMPTION (policy choice): at most 10 % of each mineral's purchases, by value, mined or refined
# in China, each period. The program exists to reduce dependence on China; U.S. law already bars
# China-origin magnets, tantalum and tungsten from defense supply chains (10 U.S.C. 4872), and the
# cap leaves a tenth for what cannot be sourced elsewhere at once.
RESERVE_MAX_CHINA_SHARE = 0.10
RESERVE_SHARE_BASIS = "value"
RESERVE_REBUILD_PERIODS = 1  # ASSUMPTION (the STOCKPILE.md default): a year to rebuild after a shock ends
# ASSUMPTION: the horizon budget is the reserve program's appropriation, about $12 billion. It does not bind:
# the modelled gaps cost far less, and inputs/README.md's budget frontier (procure frontier --budgets) shows
# the least budget that buys every one of them.
RESERVE_BUDGET_TOTAL = 12_000_000_000

# Baselines (issue 19): multi-year means, not the 2025 estimates alone (2025 jumped for rare
# earths, antimony and palladium).
BASELINE_YEARS = list(range(2021, BASE_YEAR + 1))  # SOURCE: the years of us_demand.csv
# Net imports a year = U.S. consumption x net import reliance (NIR), each year of BASELINE_YEARS
# that has both; the baseline is their mean. ASSUMPTION: an NIR published only as a range (">95")
# is taken at its bound (95 %), the least the range allows; a consumption withheld in every year
# is ASSUMED_CONSUMPTION (tungsten), held for every year.
NIR_RANGE = re.compile(r">\s*(\d+(?:\.\d+)?)")

# Prices (issue 19): against a pre-control baseline. For a mineral under an export control of
# export_controls.csv (China's licensing, Congo's cobalt quota), the base price is the USGS price of
# the year before the control began, or the 2025 price if lower (the control did not raise it);
# the shock multiplier is the 2025 price over the base (the rise seen under the control), so a
# shock prices the mineral at its 2025 level and no control is counted twice. Without a control
# the base price is the 2025 price.
CONTROL_COUNTRIES = [CHINA, "Congo (Kinshasa)"]  # SOURCE: export_controls.csv rows read
CONTROL_NAMES = {  # commodity as export_controls.csv names it -> mineral id
    "antimony": "antimony", "gallium": "gallium", "germanium": "germanium", "graphite": "graphite_natural",
    "rare earths": "rare_earths", "tungsten": "tungsten", "cobalt": "cobalt",
}

# Criticality (derived): China-dominated when China's share of world supply (the larger of its
# share of 2025 world production and its 2024 IEA refining share) is at least CRITICAL_CHINA_SHARE,
# or when China controls its exports (export_controls.csv: antimony, named in the December 2024
# ban, is 36 % of world mine output but is licensed by China).
CRITICAL_CHINA_SHARE = 0.60  # ASSUMPTION: "China-dominated" at or above this share
PENALTY_MULTIPLE_CRITICAL = 20.0  # ASSUMPTION: value of lost supply, x the base price
PENALTY_MULTIPLE_OTHER = 10.0  # ASSUMPTION: procure's own default multiple

# Offers (issue 19): partner offers follow U.S. import sources. ASSUMPTION: each country USGS lists
# as a U.S. import source (us_import_sources.csv, headline form, 2021-24; "Other" as one aggregate
# supplier) can sell the program up to IMPORT_MULTIPLE x what it ships the U.S. in a year (its
# import share x the net-import baseline), China included (the cap then limits it), at a flat
# price; and all offers of a mineral together are bounded by PURCHASE_SHARE of a year's world
# production (2025), scaled down in proportion where the bound binds. Germanium has no world
# production figure in data/: only the first bound applies.
IMPORT_MULTIPLE = 1.0
PURCHASE_SHARE = 0.10
# ASSUMPTION: price by origin, as in the import plan: x 0.90 China, x 1.05 allies, x 1.00 others.
# ESG (ASSUMPTION, illustrative; no published scores are used). The program's standard is
# Policy min_esg_score = RESERVE_MIN_ESG: offers below it (or unscored) are excluded.
RESERVE_MIN_ESG = 50
ESG_SPOT_ALLY = 70  # offers from an ally country
ESG_SPOT_OTHER = 60  # offers from other countries
ESG_SPOT_CHINA = 55  # from China: passes; China is a concern country, not a sanctioned one
# ASSUMPTION (program standard, policy fact not in data/): nothing from Russia is bought (U.S.
# sanctions on Russia since 2022); Iran and North Korea as in the import plan.
RESERVE_BLOCKED = dict(BLOCKED_COUNTRIES, Russia="U.S. sanctions on Russia (2022-): the program "
                                                 "buys nothing mined or refined in Russia")

# Scenarios (ASSUMPTION on every probability and duration; the reason in the Sources sheet). Every
# shock starts in SHOCK_START, after the BUILD_YEARS build-up years (so a scenario draws a built
# reserve), and lasts `duration` periods; the Risks sheet lets the same event start in any period of
# SHOCK_START..the horizon, so each probability is the chance that the shock starts in that window.
SHOCK_START = PERIODS[2]  # = PERIODS[BUILD_YEARS]: checked in _shock_effects
QUOTA_FRACTION = 0.4  # ASSUMPTION: the Congo quota lets out 40 % (the import plan's congo-cobalt-quota model)
#   name, probability, kind, source, minerals (None = every reserve mineral the source ships the U.S.),
#   duration (periods), Risks event name, description ({start} {end} {minerals}), why the probability
RESERVE_SCENARIOS = [
    ("no-shock", 0.40, None, None, [], 0, None,
     f"No supply shock over {PERIODS[0]}-{PERIODS[-1]}: the reserve is built and held.",
     "the complement of the shock scenarios' probabilities"),
    ("china-ga-ge-sb-ban", 0.20, "ban", CHINA, ["gallium", "germanium", "antimony"], 2, "China Ga/Ge/Sb ban",
     "From {start} to {end} China sells no {minerals} to U.S. buyers (mined or refined in China), "
     "as in its December 2024 ban.",
     "China licenses gallium and germanium exports since 2023 and antimony since 2024 "
     "(export_controls.csv); it banned all three to U.S. buyers in December 2024 and suspended the "
     "ban in November 2025 (not in data/): the likeliest shock"),
    ("china-graphite-ree-controls", 0.15, "ban", CHINA, ["graphite_natural", "rare_earths"], 2,
     "China graphite and rare-earth controls",
     "From {start} to {end} China's export licensing stops its {minerals} reaching U.S. buyers "
     "(mined or refined in China).",
     "graphite (2023) and rare-earth (2025) licensing are in force (export_controls.csv); the "
     "rare-earth controls were paused in the 2025-10-30 U.S.-China agreement (us_mineral_agreements.csv)"),
    ("drc-cobalt-quota", 0.10, "quota", "Congo (Kinshasa)", ["cobalt"], 3, "DRC cobalt quota",
     "From {start} to {end} the Congo (Kinshasa) export quota lets out 40 % of its mined {minerals}, "
     "so the refineries that ship cobalt to the U.S. get less feed.",
     "the quota is in force since 2025 (export_controls.csv); its extension past 2027 is uncertain"),
    ("russia-sanctions", 0.10, "ban", "Russia", ["palladium"], 3, "Russia sanctions",
     "From {start} to {end} sanctions stop U.S. imports of Russian {minerals}.",
     "Russian palladium is still 36 % of U.S. imports (us_import_sources.csv); sanctions widened since 2022"),
    ("china-wide-stop", 0.05, "ban", CHINA, None, 1, "China-wide stop",
     "In {start} China stops, for one year, all exports to U.S. buyers of what it mines or refines: "
     "{minerals}.",
     "a tail event with no precedent in the data"),
]
# Supply gap (derived): a ban on sales to U.S. buyers stops the U.S. imports from the source: gap =
# net-import baseline x the source's share of U.S. imports (us_import_sources.csv). A quota on mine
# output cuts every refinery's feed alike: gap = net-import baseline x the source's share of world
# mine production x (1 - QUOTA_FRACTION), and every offer's capacity loses the same share.
# Reserve target (derived): one year (TARGET_YEARS) of the largest gap any scenario opens in the
# mineral: the reserve bridges a year while buyers qualify other supply (the National Defense
# Stockpile sizes its requirements on a one-year conflict). ASSUMPTION: it is capped at what the
# offers outside China can sell in the BUILD_YEARS build-up years, and the first period holds
# RESERVE_FIRST_PERIOD_SHARE of it.
TARGET_YEARS = 1.0
BUILD_YEARS = 2
RESERVE_FIRST_PERIOD_SHARE = 0.5
# Days-of-cover policies the targets are compared with in Sources (published; not in data/).
COVER_POLICIES = [("JOGMEC (Japan) rare-metal stockpile", 60), ("KOMIR (Korea) stockpile target", 100)]

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
        "price": ("Multiplier of matching offers' price.", ">= 0", "1", "0.0000", ("nonneg",)),
        "demand": ("Multiplier of matching Demand rows (mineral and period filters only).", ">= 0", "1",
                   FMT_SHARE, ("nonneg",)),
        "extra_demand": ("Added to the demand of the mineral in each matching period: the U.S. supply "
                         "gap the shock opens (mineral required).", "units per period, >= 0", "0",
                         FMT_QTY, ("nonneg",)),
    },
    "Risks": {
        "event": ("Name of the disruption. Rows with the same name are one event with several effects: "
                  "they start and last together.", "text", "required", None, None),
        "probability": ("Chance the event starts in any one period of its start window (when not in "
                        "progress).", "0..1", "required", "0.0000", ("share",)),
        "duration": ("Periods it lasts once started (cut at the horizon).", "periods, >= 1", "1", FMT_INT,
                     ("pos",)),
        "country": ("Filter: offers mined here; a list separated by ';'.", "text", "blank = any", None, None),
        "processing_country": ("Filter: offers refined here; a list separated by ';'.", "text",
                               "blank = any", None, None),
        "supplier": ("Filter: these suppliers; a list separated by ';'.", "text", "blank = any", None, None),
        "mineral": ("Filter: these minerals; a list separated by ';'.", "text", "blank = any", None, None),
        "capacity": ("Multiplier of matching offers' capacity while it lasts (blank stops supply).",
                     ">= 0", "0", FMT_SHARE, ("nonneg",)),
        "price": ("Multiplier of matching offers' price while it lasts.", ">= 0", "1", "0.0000",
                  ("nonneg",)),
        "extra_demand": ("Gap it opens while it lasts, added to the demand of its mineral.",
                         "units per period, >= 0", "0", FMT_QTY, ("nonneg",)),
        "period_from": ("First period in which the event may start (it may last beyond period_to).",
                        "period", "blank = open", FMT_INT, None),
        "period_to": ("Last period in which the event may start.", "period", "blank = open", FMT_INT, None),
    },
}
RESERVE_POLICY_DOCS = dict(
    POLICY_DOCS,
    rebuild_periods=("Periods after a shock ends during which a mineral's reserve target stays "
                     "suspended (the reserve is drawn while a shock hits the mineral).", "whole number >= 0",
                     "1", FMT_INT, ("nonneg",)),
    commit_through=("Stochastic plans: purchases up to and including this period are common to all "
                    "scenarios (orders fixed before knowing which shock comes).", "period", "none",
                    FMT_INT, None),
    risk=("Stochastic plans: how scenario costs are combined.", "expected / worst / cvar", "expected",
          None, ("list", "expected,worst,cvar")),
    risk_level=("CVaR level alpha (risk = cvar).", "0..1, exclusive", "0.9", FMT_SHARE, ("share",)),
    risk_weight=("Weight lambda of CVaR against the expectation (risk = cvar).", "0..1", "1", FMT_SHARE,
                 ("share",)),
)
RESERVE_POLICY_KEYS = [  # WORKBOOK.md order; None = blank (the default)
    ("max_china_share", RESERVE_MAX_CHINA_SHARE),
    ("max_country_share", None),
    ("max_supplier_share", None),
    ("share_basis", RESERVE_SHARE_BASIS),
    ("min_ally_share", None),
    ("min_esg_score", RESERVE_MIN_ESG),
    ("min_avg_esg", None),
    ("reserve_days", None),  # explicit reserve_target in Demand instead
    ("days_per_period", DAYS_PER_PERIOD),
    ("budget_total", RESERVE_BUDGET_TOTAL),
    ("budget_per_period", None),
    ("rebuild_periods", RESERVE_REBUILD_PERIODS),
    ("scenario", RESERVE_SCENARIO_NAME),
    ("commit_through", RESERVE_COMMIT_THROUGH),
    ("risk", RESERVE_RISK),
    ("risk_level", None),
    ("risk_weight", None),
]
RESERVE_SHEET_ORDER = ["README", "Minerals", "Demand", "Offers", "Countries", "Policy", "Scenarios",
                       "Shocks", "Risks", "Sources"]


def _short(mid: str) -> str:
    return SHORT_NAMES.get(mid, mid.replace("_", " "))


def _reserve_name(mid: str) -> str:
    return RESERVE_NAMES.get(mid, dict(zip(_mineral_table().id, _mineral_table().name))[mid])


def _controls() -> dict[str, tuple[str, int]]:
    """mineral id -> (country, year the control began), from export_controls.csv (CONTROL_COUNTRIES)."""
    ec = _read("export_controls.csv")
    out: dict[str, tuple[str, int]] = {}
    for r in ec[ec.country.isin(CONTROL_COUNTRIES)].itertuples():
        for name, year in re.findall(r"(?:^|,\s*)(?:and\s+)?([^,(]+?)\s*\((\d{4})\)", r.commodities_and_year):
            mid = CONTROL_NAMES.get(name.strip().casefold())
            if mid is not None:
                out[mid] = (r.country, int(year))
    return out


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


def _nir(row) -> tuple[float, str]:
    """Net import reliance of a us_demand.csv row as a fraction, and 'published' or 'bound' (a range
    such as '>95' taken at its bound)."""
    if pd.notna(row.net_import_reliance_pct):
        return float(row.net_import_reliance_pct) / 100.0, "published"
    hit = NIR_RANGE.fullmatch(str(row.net_import_reliance_as_reported).strip())
    if hit is None:
        raise ValueError(f"{row.mineral} {row.year}: net import reliance {row.net_import_reliance_as_reported!r}")
    return float(hit.group(1)) / 100.0, "bound"


def _reserve_base() -> pd.DataFrame:
    """Per reserve mineral: the net-import baseline (units a year) and its yearly figures, prices
    (USD per unit: base, 2025, shock multiplier), world production, China's shares, criticality."""
    table = _mineral_table().set_index("id")
    demand = _read("us_demand.csv")
    prod = _production(BASE_YEAR)
    ref = _read("refining_share.csv")
    iea = ref[(ref.year == REFINING_YEAR) & ref.source.str.startswith(REFINING_SOURCE_PREFIX) & (ref.country == CHINA)]
    refining = dict(zip(iea.mineral, iea.refining_share_pct.astype(float) / 100.0))
    controls = _controls()
    rows = []
    for mid in RESERVE_MINERALS + LEFT_OUT:
        m = table.loc[mid]
        d = demand[(demand.mineral == mid) & demand.year.isin(BASELINE_YEARS)].set_index("year").sort_index()
        years = []
        for year, r in d.iterrows():
            r = r.copy()
            r["year"], r["mineral"] = year, mid
            nir, nir_kind = _nir(r)
            if pd.notna(r.apparent_consumption):
                consumption, c_kind = float(r.apparent_consumption) * _quantity_factor(r.unit, m.unit), "published"
            elif mid in ASSUMED_CONSUMPTION and d.apparent_consumption.isna().all():
                consumption, c_kind = ASSUMED_CONSUMPTION[mid], "assumption"
            else:
                consumption, c_kind = float("nan"), "not published"
            years.append(dict(year=int(year), consumption=consumption, consumption_kind=c_kind,
                              nir=nir, nir_kind=nir_kind, nir_text=str(r.net_import_reliance_as_reported),
                              net_imports=consumption * nir))
        known = [y for y in years if not math.isnan(y["net_imports"])]
        net_imports = sum(y["net_imports"] for y in known) / len(known)
        latest = years[-1]["net_imports"]
        price_row = d.loc[BASE_YEAR]
        if m.price_marker not in price_row.price_unit:
            raise ValueError(f"{mid}: price unit changed: {price_row.price_unit!r}")
        usgs_latest = float(price_row.price_usd_per_unit)
        control = controls.get(mid)
        if control is not None:
            pre_year = control[1] - 1
            usgs_base = min(usgs_latest, float(d.price_usd_per_unit[pre_year]))
        else:
            pre_year, usgs_base = BASE_YEAR, usgs_latest
        p = prod[prod.mineral == mid]
        world = float(p.qty.sum()) if len(p) else float("nan")
        mine_share = float(p[p.country == CHINA].qty.sum()) / world if len(p) else float("nan")
        shares = [x for x in (mine_share, refining.get(mid, float("nan"))) if not math.isnan(x)]
        china = max(shares) if shares else float("nan")
        controlled = control is not None and control[0] == CHINA
        critical = controlled or (bool(shares) and china >= CRITICAL_CHINA_SHARE)
        rows.append(dict(
            id=mid, name=_reserve_name(mid) if mid in RESERVE_MINERALS else m["name"], short=_short(mid),
            unit=m.unit, years=years, net_imports=net_imports, latest=latest,
            jump=latest / net_imports if not math.isnan(latest) else float("nan"),
            usgs_price_unit=price_row.price_unit, usgs_latest=usgs_latest, usgs_base=usgs_base,
            usgs_prices={int(y): float(v) for y, v in d.price_usd_per_unit.items()},
            control=control, pre_year=pre_year, shock_factor=usgs_latest / usgs_base,
            price=usgs_base * m.price_factor, price_note=m.price_note, world=world,
            world_shares={c: q / world for c, q in zip(p.country, p.qty)} if len(p) else {},
            china_mine_share=mine_share, china_refining_share=refining.get(mid, float("nan")),
            china_share=china, controlled=controlled, critical=bool(critical),
            penalty_multiple=PENALTY_MULTIPLE_CRITICAL if critical else PENALTY_MULTIPLE_OTHER))
    return pd.DataFrame(rows)


def _scenario_minerals(scenario, base: pd.DataFrame, shares: pd.DataFrame) -> list[str]:
    """The mineral ids a scenario hits: its list, or every reserve mineral its source ships the U.S."""
    _name, _p, _kind, source, minerals, *_ = scenario
    if minerals is not None:
        return list(minerals)
    return [mid for mid in RESERVE_MINERALS if _import_share(shares, mid, source) > 0]


def _shock_effects(base: pd.DataFrame) -> list[dict]:
    """One dict per (shock scenario, mineral it hits): the capacity cut (the filter and multiplier),
    the price multiplier, the U.S. supply gap a year (units) and why. The Shocks and Risks sheets, the
    targets, Sources and inputs/README.md all read this list."""
    if SHOCK_START != PERIODS[BUILD_YEARS]:
        raise ValueError("shocks start after the build-up years")
    shares = _import_shares()
    by_id = {b.id: b for b in base.itertuples()}
    out = []
    for scenario in RESERVE_SCENARIOS:
        name, p, kind, source, _minerals, duration, event, _desc, _why = scenario
        if kind is None:
            continue
        for mid in _scenario_minerals(scenario, base, shares):
            b = by_id[mid]
            price = b.shock_factor if b.control is not None and b.control[0] == source else 1.0
            if kind == "ban":
                share = _import_share(shares, mid, source)
                gap = b.net_imports * share
                cut = None if source in RESERVE_BLOCKED else ("processing_country", source, 0.0)
                rule = f"net imports x {source}'s share of U.S. imports ({share:.0%})"
            else:
                lost = b.world_shares.get(source, 0.0) * (1.0 - QUOTA_FRACTION)
                gap = b.net_imports * lost
                cut = ("mineral", None, 1.0 - lost)
                rule = (f"net imports x {source}'s share of world mine output ({b.world_shares.get(source, 0.0):.1%}) "
                        f"x (1 - quota {QUOTA_FRACTION:g})")
            if gap <= 0:
                raise ValueError(f"{name}: {mid} opens no gap: it would never be drawn")
            out.append(dict(scenario=name, probability=p, kind=kind, source=source, mineral=mid, duration=duration,
                            event=event, start=SHOCK_START, end=PERIODS[PERIODS.index(SHOCK_START) + duration - 1],
                            cut=cut, price=price, gap=gap, rule=rule))
    return out


def _offer_capacity(b, shares: pd.DataFrame) -> tuple[float, dict[str, float], str]:
    """The program's purchase volume a year of mineral ``b`` (all offers), each import source's part,
    and which bound holds."""
    part = shares[shares.mineral == b.id]
    by_imports = IMPORT_MULTIPLE * b.net_imports
    by_world = PURCHASE_SHARE * b.world if not math.isnan(b.world) else float("inf")
    volume = min(by_imports, by_world)
    basis = (f"{PURCHASE_SHARE:.0%} of world production" if by_world < by_imports
             else f"{IMPORT_MULTIPLE:g} x U.S. net imports")
    return volume, {c: s * volume for c, s in zip(part.country, part.share)}, basis


def _targets(base: pd.DataFrame, effects: list[dict]) -> dict[str, dict]:
    """mineral id -> target (units), the largest gap a year and its scenario, the build-up cap."""
    shares = _import_shares()
    out = {}
    for b in base[base.id.isin(RESERVE_MINERALS)].itertuples():
        mine = [e for e in effects if e["mineral"] == b.id]
        if not mine:
            raise ValueError(f"{b.id}: no scenario draws it; leave it out of RESERVE_MINERALS")
        largest = max(mine, key=lambda e: (e["gap"], e["probability"]))  # a tie: the likelier scenario
        _volume, parts, _basis = _offer_capacity(b, shares)
        outside = sum(q for c, q in parts.items() if c != CHINA and c not in RESERVE_BLOCKED)
        cap = BUILD_YEARS * outside
        want = TARGET_YEARS * largest["gap"]
        out[b.id] = dict(target=min(want, cap), want=want, cap=cap, capped=cap < want, scenario=largest["scenario"],
                         drawn_in=[e["scenario"] for e in mine])
    return out


def _reserve_target(target: float, period) -> int:
    """Reserve target (units) at the end of ``period``: RESERVE_FIRST_PERIOD_SHARE of it in the first."""
    return int(round(target * (RESERVE_FIRST_PERIOD_SHARE if period == PERIODS[0] else 1.0)))


def _reserve_esg(allies):
    def esg_of(country: str) -> int:
        if country == CHINA:
            return ESG_SPOT_CHINA
        return ESG_SPOT_ALLY if country in allies else ESG_SPOT_OTHER
    return esg_of


def _reserve_offers(base: pd.DataFrame, allies: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Offers sheet: per mineral, one offer per U.S. import source; and per mineral the volume
    bound (for Sources)."""
    shares = _import_shares()
    esg_of = _reserve_esg(allies)
    rows, volumes = [], []
    for b in base[base.id.isin(RESERVE_MINERALS)].itertuples():
        volume, parts, basis = _offer_capacity(b, shares)
        volumes.append(dict(id=b.id, volume=volume, basis=basis, by_imports=IMPORT_MULTIPLE * b.net_imports,
                            by_world=PURCHASE_SHARE * b.world))
        for country, qty in parts.items():
            cap = int(round(qty))
            if cap < 1:
                continue
            rows.append(dict(
                supplier=f"{country} exporters" if country != OTHER else "Other exporters",
                country=country, mineral=b.name,
                price=round(b.price * _price_factor(country, None, allies), 2), capacity=cap,
                esg_score=esg_of(country), blocked="yes" if country in RESERVE_BLOCKED else None))
    return pd.DataFrame(rows).reindex(columns=list(RESERVE_COLUMNS["Offers"])), pd.DataFrame(volumes)


def _reserve_countries(offers: pd.DataFrame, allies: dict[str, str]) -> pd.DataFrame:
    names = set(offers.country) | set(offers.processing_country.dropna())
    rows = [dict(country=c, concern="yes" if c in CONCERN_COUNTRIES else None,
                 ally="yes" if c in allies else None, max_share=None,
                 blocked="yes" if c in RESERVE_BLOCKED else None) for c in _sort_countries(names)]
    return pd.DataFrame(rows, columns=list(RESERVE_COLUMNS["Countries"]))


def _description(scenario, base: pd.DataFrame) -> str:
    name, _p, kind, _source, _minerals, duration, _event, text, _why = scenario
    if kind is None:
        return text
    ids = _scenario_minerals(scenario, base, _import_shares())
    names = [_short(mid) for mid in ids]
    joiner = " or " if "no {minerals}" in text else " and "  # "sells no a, b or c"; "its a and b"
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + joiner + names[-1]
    end = PERIODS[PERIODS.index(SHOCK_START) + duration - 1]
    return text.format(start=SHOCK_START, end=end, minerals=listed)


def _reserve_shocks(base: pd.DataFrame, effects: list[dict]) -> pd.DataFrame:
    """Shocks sheet: per scenario, the capacity cut, then per mineral its price multiplier and gap."""
    names = dict(zip(base.id, base.name))
    blank = dict(supplier=None, country=None, processing_country=None, demand=None)
    rows = []
    for scenario in RESERVE_SCENARIOS:
        mine = [e for e in effects if e["scenario"] == scenario[0]]
        if not mine:
            continue
        whole = scenario[4] is None  # every mineral of the source: one cut row, no mineral filter
        cuts = [e for e in mine if e["cut"] is not None]
        if whole and cuts:
            field, where, factor = cuts[0]["cut"]
            rows.append(dict(blank, scenario=scenario[0], **{field: where}, mineral=None, period_from=mine[0]["start"],
                             period_to=mine[0]["end"], capacity=factor, price=None, extra_demand=None))
        for e in mine:
            if e["cut"] is not None and not whole:
                field, where, factor = e["cut"]
                if field == "mineral":
                    rows.append(dict(blank, scenario=e["scenario"], mineral=names[e["mineral"]],
                                     period_from=e["start"], period_to=e["end"], capacity=round(factor, 4),
                                     price=None, extra_demand=None))
                else:
                    rows.append(dict(blank, scenario=e["scenario"], **{field: where}, mineral=names[e["mineral"]],
                                     period_from=e["start"], period_to=e["end"], capacity=factor, price=None,
                                     extra_demand=None))
        for e in mine:
            rows.append(dict(blank, scenario=e["scenario"], mineral=names[e["mineral"]], period_from=e["start"],
                             period_to=e["end"], capacity=None,
                             price=round(e["price"], 4) if e["price"] > 1.0 else None,
                             extra_demand=round(e["gap"], 3)))
    return pd.DataFrame(rows).reindex(columns=list(RESERVE_COLUMNS["Shocks"]))


def _start_probability(p: float) -> float:
    """Chance an event starts in one period of its window, from its scenario's probability p of a
    start in the window's n periods: 1 - (1 - p)^(1/n), rounded to 4 places."""
    n = len(PERIODS) - PERIODS.index(SHOCK_START)
    return round(1.0 - (1.0 - p) ** (1.0 / n), 4)


def _reserve_risks(base: pd.DataFrame, shocks: pd.DataFrame) -> pd.DataFrame:
    """Risks sheet: each shock scenario as one event of several rows (its Shocks rows), which start and
    last together; start window SHOCK_START..the horizon, duration that of the scenario."""
    scenarios = {s[0]: s for s in RESERVE_SCENARIOS}
    rows = []
    for r in shocks.itertuples():
        _name, p, _kind, _source, _minerals, duration, event, _desc, _why = scenarios[r.scenario]
        rows.append(dict(event=event, probability=_start_probability(p), duration=duration, country=r.country,
                         processing_country=r.processing_country, supplier=r.supplier, mineral=r.mineral,
                         capacity=1.0 if pd.isna(r.capacity) else r.capacity, price=r.price,
                         extra_demand=r.extra_demand, period_from=SHOCK_START, period_to=PERIODS[-1]))
    return pd.DataFrame(rows).reindex(columns=list(RESERVE_COLUMNS["Risks"]))


def _series(values, fmt=lambda v: f"{v:,.6g}") -> str:
    return "; ".join("n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt(v) for v in values)


def _reserve_sources(base, volumes, allies, countries, scenarios, effects, targets, risks) -> pd.DataFrame:
    rows = []

    def add(topic, item, value, unit, kind, source):
        rows.append(dict(topic=topic, item=item, value=value, unit=unit, kind=kind, source=source))

    usgs = "USGS Mineral Commodity Summaries 2026 data release (data/us_demand.csv)"
    span = f"{BASELINE_YEARS[0]}-{BASELINE_YEARS[-1]}"
    shares = _import_shares()
    for b in base.itertuples():
        name, u = b.name, b.unit
        years = b.years
        kinds = {y["consumption_kind"] for y in years} - {"not published"}
        add(name, f"U.S. consumption {span}", _series([y["consumption"] for y in years]), u,
            "assumption" if kinds == {"assumption"} else "published",
            "USGS withholds U.S. consumption (W) in every year: a figure assumed for the sample, held for "
            "every year" if kinds == {"assumption"} else usgs
            + ("; n/a: not published" if any(y["consumption_kind"] == "not published" for y in years) else ""))
        ranged = any(y["nir_kind"] == "bound" for y in years)
        add(name, f"net import reliance {span}, %", "; ".join(y["nir_text"] for y in years), "%", "published",
            usgs + ("; a range ('>95') is taken at its bound (assumption: the least the range allows)"
                    if ranged else ""))
        add(name, f"net imports {span}", _series([y["net_imports"] for y in years], lambda v: f"{v:,.1f}"), u,
            "derived", "consumption x net import reliance, each year")
        add(name, f"net imports a year, {span} mean (the baseline)", round(b.net_imports, 3), u, "derived",
            "mean of the years with a figure")
        if not math.isnan(b.jump):
            add(name, f"{BASE_YEAR} net imports / the baseline", round(b.jump, 3), "x", "derived",
                f"{BASE_YEAR} figures are USGS estimates; the baseline does not rest on one year"
                + (" (the 2025 jump: consumption and reliance both rose)" if b.jump >= 1.3 else ""))
        add(name, f"USGS price {span}", _series([b.usgs_prices[y] for y in BASELINE_YEARS]), b.usgs_price_unit,
            "published", usgs)
        if b.control is not None:
            add(name, "export control", f"{b.control[0]} from {b.control[1]}", "", "published",
                "USGS MCS 2026 table T4 (data/export_controls.csv)")
        add(name, "base price (reference_price), USD per workbook unit", round(b.price, 2), f"USD/{u}", "derived",
            (f"USGS price {b.pre_year} (the year before the control), or {BASE_YEAR} if lower"
             if b.control is not None else f"USGS price {BASE_YEAR} (no export control)")
            + f" = {b.usgs_base:g} {b.usgs_price_unit}; " + b.price_note)
        if b.control is not None:
            add(name, "price multiplier in a shock", round(b.shock_factor, 4), "x base price", "derived",
                f"USGS price {BASE_YEAR} / the base: the rise seen under the control; a shock by "
                f"{b.control[0]} prices every offer of the mineral at its {BASE_YEAR} level")
        if not math.isnan(b.world):
            add(name, f"world production {BASE_YEAR}", round(b.world, 3), u, "derived",
                "world_production.csv, countries summed (World total excluded)")
        if not math.isnan(b.china_mine_share):
            add(name, f"China's share of {BASE_YEAR} world production", round(b.china_mine_share, 4), "fraction",
                "derived", "world_production.csv")
        if not math.isnan(b.china_refining_share):
            add(name, f"China's IEA refining share {REFINING_YEAR}", round(b.china_refining_share, 4),
                "fraction", "published", "refining_share.csv (IEA)")
        add(name, "China-dominated (criticality tier)", "yes" if b.critical else "no", "", "derived",
            ("China licenses its exports (export_controls.csv)" if b.controlled else
             f"China's share of world supply (the larger of the two above) "
             f"{'>=' if b.critical else '<'} {CRITICAL_CHINA_SHARE:g}"))
        part = shares[shares.mineral == b.id]
        add(name, "U.S. import sources 2021-24, %",
            "; ".join(f"{c} {100 * s:g}" for c, s in zip(part.country, part.share)), "%", "published",
            "us_import_sources.csv (headline form)")
        if b.id in LEFT_OUT:
            add(name, "left out of the reserve", "no target", "", "derived",
                "no scenario opens a U.S. gap in it: neither China nor Russia is a listed U.S. import source and "
                "no quota cuts its supply, so a target would never be drawn")
            continue
        v = volumes[volumes.id == b.id].iloc[0]
        add(name, "purchase volume a year, all offers", round(v.volume, 3), u, "derived",
            f"min({IMPORT_MULTIPLE:g} x net imports = {v.by_imports:,.0f}, {PURCHASE_SHARE:.0%} of world production"
            + (f" = {v.by_world:,.0f})" if not math.isnan(v.by_world) else ": no world figure in data/)")
            + f"; {v.basis} binds")
        _volume, parts, _basis = _offer_capacity(b, shares)
        add(name, "offer capacity by import source, units a year",
            "; ".join(f"{c} {q:,.0f}" for c, q in parts.items()), u, "derived",
            "each source's share of U.S. imports x the volume (assumption: each sells the program in the "
            "proportion it ships the U.S.)")
        t = targets[b.id]
        for e in effects:
            if e["mineral"] == b.id:
                add(name, f"gap a year in {e['scenario']}", round(e["gap"], 3), u, "derived", e["rule"])
        add(name, "reserve target", round(t["target"], 3), u, "derived",
            f"{TARGET_YEARS:g} year of the largest gap a year ({t['scenario']}, {t['want']:,.0f})"
            + (f", capped at what the offers outside China sell in {BUILD_YEARS} years ({t['cap']:,.0f})"
               if t["capped"] else "")
            + f"; {RESERVE_FIRST_PERIOD_SHARE:g} of it at the end of {PERIODS[0]}; drawn in "
            + ", ".join(t["drawn_in"]))
        consumption = [y["consumption"] for y in b.years if not math.isnan(y["consumption"])]
        mean_consumption = sum(consumption) / len(consumption)
        days = t["target"] / mean_consumption * DAYS_PER_PERIOD
        add(name, "reserve target, days of U.S. consumption", round(days, 1), "days", "derived",
            f"target / the {span} mean consumption x {DAYS_PER_PERIOD}; compare "
            + " and ".join(f"{who} {days} days" for who, days in COVER_POLICIES))
        add(name, "shortfall_penalty", round(b.penalty_multiple * b.price, 2), f"USD/{u}", "assumption",
            f"value of lost supply: {b.penalty_multiple:g} x the base price")
    for s in RESERVE_SCENARIOS:
        name, p, _kind, _source, _minerals, duration, _event, _desc, why = s
        add("Scenarios", f"{name}: probability", p, "", "assumption", why)
        if duration:
            add("Scenarios", f"{name}: duration", duration, "periods", "assumption",
                f"from {SHOCK_START}; the reserve target of a mineral it hits is 0 while it lasts and "
                f"{RESERVE_REBUILD_PERIODS} period after (Policy rebuild_periods)")
    add("Scenarios", "probabilities sum", round(float(scenarios.probability.sum()), 10), "", "derived",
        "must be 1 (STOCKPILE.md)")
    add("Scenarios", "shock start", SHOCK_START, "period", "assumption",
        f"every shock starts after the {BUILD_YEARS} build-up years {PERIODS[0]}-{PERIODS[BUILD_YEARS - 1]}; its "
        f"probability is the chance it starts in {SHOCK_START}-{PERIODS[-1]} (the Risks start window)")
    add("Scenarios", "Congo (Kinshasa) quota", QUOTA_FRACTION, "x exports", "assumption",
        "the quota lets out 40 % of the volume (as the import plan's congo-cobalt-quota model)")
    add("Scenarios", "gap rule, a ban", "net imports x the source's import share", "", "derived",
        "a ban on sales to U.S. buyers stops the U.S. imports from the source (us_import_sources.csv); "
        "what third countries refine from the source's feed is not traced")
    add("Scenarios", "gap rule, a quota", "net imports x the source's mine share x (1 - quota)", "", "derived",
        "a quota on mine output cuts every refinery's feed alike: the gap and every offer's capacity lose "
        "the same share")
    add("Scenarios", "capacity cut of a ban", "offers refined in the source: 0", "", "assumption",
        "the source sells nothing to U.S. buyers; Russia's offers are blocked for the program already")
    for event in dict.fromkeys(risks.event):
        r = risks[risks.event == event].iloc[0]
        add("Risks", f"{event}: start probability a period", r.probability, "", "derived",
            f"from its scenario's probability p over the {len(PERIODS) - PERIODS.index(SHOCK_START)} periods of its "
            f"start window: 1 - (1 - p)^(1/n); duration {r.duration} as the scenario; "
            + (f"{int((risks.event == event).sum())} rows, one event" if (risks.event == event).sum() > 1
               else "one row"))
    add("Risks", "start window", f"{SHOCK_START}-{PERIODS[-1]}", "periods", "assumption",
        "as the scenarios: the probabilities are of a start in this window; a start during the build-up "
        f"({PERIODS[0]}-{PERIODS[BUILD_YEARS - 1]}) is not modelled")
    add("Risks", "correlated effects", "rows sharing an event name", "", "assumption",
        "one event of several rows starts and lasts as one (STOCKPILE.md): the China-wide stop cuts every "
        "mineral at once")
    for name, value, unit, kind, source in [
        ("budget_total", RESERVE_BUDGET_TOTAL, "USD", "assumption",
         "the reserve program's appropriation (about $12 billion), holding in every scenario; it does not bind: "
         "inputs/README.md's budget frontier shows the least budget that buys every modelled gap"),
        ("max_china_share", RESERVE_MAX_CHINA_SHARE, "of each mineral's purchases by value, each period",
         "assumption", "the program exists to reduce dependence on China: at most a tenth of what it buys may be "
         "mined or refined there (U.S. law already bars China-origin magnets, tantalum and tungsten from defense "
         "supply chains, 10 U.S.C. 4872); procure solve --price-rules says what the cap costs"),
        ("share_basis", RESERVE_SHARE_BASIS, "", "assumption", "the cap counts dollars, as content rules do"),
        ("rebuild_periods", RESERVE_REBUILD_PERIODS, "periods", "assumption",
         "the STOCKPILE.md default: a year to rebuild once a shock ends"),
        ("demand in normal times", 0, "units", "assumption",
         "the program supplies no one in normal times (no documented government offtake in data/)"),
        ("target", f"{TARGET_YEARS:g} year of the largest gap", "", "assumption",
         "the reserve bridges a year while buyers qualify other supply (the National Defense Stockpile "
         "sizes requirements on a one-year conflict)"),
        ("target build-up", BUILD_YEARS, "years", "assumption",
         f"a target is capped at what offers outside China sell in this many years; "
         f"{RESERVE_FIRST_PERIOD_SHARE:g} of it at the end of {PERIODS[0]}"),
        ("import multiple", IMPORT_MULTIPLE, "x what a source ships the U.S. a year", "assumption",
         "each U.S. import source can sell the program as much again as it ships the U.S."),
        ("purchase share of world production", PURCHASE_SHARE, "of a year's world production", "assumption",
         "all offers of a mineral together: the program never buys more than this share of world output a year"),
        ("China-dominated threshold", CRITICAL_CHINA_SHARE, "China's share of world supply", "assumption",
         "or China licenses the mineral's exports (export_controls.csv)"),
        ("shortfall_penalty, China-dominated", PENALTY_MULTIPLE_CRITICAL, "x base price", "assumption",
         "value of lost supply: twice procure's default multiple where China controls the supply"),
        ("shortfall_penalty, other minerals", PENALTY_MULTIPLE_OTHER, "x base price", "assumption",
         "value of lost supply: procure's default multiple"),
        ("reference_price", "the base price", "USD per unit", "derived",
         "values shortfall and reserve in USD at the pre-control price, not at an offer median"),
        ("reserve_penalty", "blank (default)", "", "assumption",
         "shortfall_penalty / (periods + 1): a unit held through every period costs less than a unit short"),
        ("holding cost", HOLDING_COST_RATE, "x base price a year", "assumption", "storage and insurance"),
        ("price factors", "China 0.90, allies 1.05, others 1.00", "x base price", "assumption",
         "as in the import plan"),
        ("min_esg_score", RESERVE_MIN_ESG, "0..100", "assumption", "the program's sourcing standard"),
        ("ESG score, ally", ESG_SPOT_ALLY, "0..100", "assumption", "illustrative"),
        ("ESG score, other", ESG_SPOT_OTHER, "0..100", "assumption", "illustrative"),
        ("ESG score, China", ESG_SPOT_CHINA, "0..100", "assumption",
         "passes: China is a concern country, not a sanctioned one"),
        ("commit_through", RESERVE_COMMIT_THROUGH, "period", "assumption",
         "the budget committee fixes the first year's orders before knowing the shock"),
        ("risk", RESERVE_RISK, "", "assumption", "expected cost over the scenarios"),
    ]:
        add("General", name, value, unit, kind, source)
    for who, days in COVER_POLICIES:
        add("General", f"days of cover: {who}", days, "days of consumption", "published",
            "a stockpile policy the targets are compared with (not in data/)")
    for c in countries.country:
        if c in allies:
            add("Countries", f"{c}: ally", "yes", "", "published", allies[c])
    for c, why in RESERVE_BLOCKED.items():
        add("Countries", f"{c}: blocked", "yes", "", "assumption", why)
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
    everything = _reserve_base()
    base = everything[everything.id.isin(RESERVE_MINERALS)].reset_index(drop=True)
    allies = _allies()
    effects = _shock_effects(base)
    targets = _targets(base, effects)
    minerals = pd.DataFrame({
        "mineral": base.name, "unit": base.unit, "max_china_share": None,
        "shortfall_penalty": (base.penalty_multiple * base.price).round(2), "reserve_penalty": None,
        "reference_price": base.price.round(2), "holding_cost": (base.price * HOLDING_COST_RATE).round(2),
        "initial_reserve": None,
    })
    demand = pd.DataFrame([dict(mineral=b.name, period=t, demand=0,
                                reserve_target=_reserve_target(targets[b.id]["target"], t))
                           for b in base.itertuples() for t in PERIODS])
    offers, volumes = _reserve_offers(base, allies)
    countries = _reserve_countries(offers, allies)
    policy = pd.DataFrame(RESERVE_POLICY_KEYS, columns=["key", "value"])
    scenarios = pd.DataFrame([dict(scenario=s[0], probability=s[1], description=_description(s, base))
                              for s in RESERVE_SCENARIOS])
    shocks = _reserve_shocks(base, effects)
    risks = _reserve_risks(base, shocks)
    sources = _reserve_sources(everything, volumes, allies, countries, scenarios, effects, targets, risks)
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
    base = base[base.id.isin(RESERVE_MINERALS)]
    n_shocks = len(tables["Scenarios"]) - 1
    rows = [
        (f"procure sample workbook: a strategic mineral reserve that reduces dependence on China, "
         f"{PERIODS[0]}-{PERIODS[-1]}",),
        ("Built by inputs/build_sample.py from public USGS (MCS 2026) and IEA figures in inputs/data/. "
         "Every figure is published, derived by a stated rule, or an assumption; the Sources sheet lists "
         "each one with its kind, and inputs/README.md every rule and the plan procure makes of it.",),
        (f"A reserve program buys stocks of {len(base)} minerals before it knows which of {n_shocks} supply "
         "shocks comes (Scenarios, with probabilities); in each shock it releases the reserve and buys "
         "to fill the U.S. supply gap the shock opens (Shocks). Each target is a year of the largest gap a "
         "scenario opens in the mineral; at most "
         f"{RESERVE_MAX_CHINA_SHARE:.0%} of each mineral's purchases by value may come from China "
         "(Policy max_china_share). Demand in normal times is 0; the reserve targets are in Demand.",),
        ("Prices are pre-control: the base price of a mineral under an export control is its price the "
         "year before the control began; a shock multiplies it up to the 2025 price. Rare earths are "
         "counted in t of rare-earth oxide (REO) and all valued at the NdPr oxide price, as the "
         "mineral's name says: that overstates the value of the cheaper La/Ce oxides.",),
        ("procure reads Minerals, Demand, Offers, Countries, Policy, Scenarios, Shocks and Risks. It "
         "ignores README and Sources. Headers must stay in row 1; column order is free; names match in "
         "any case.",),
        ("A blank optional cell takes its default. Unknown columns are warnings and unknown Policy keys "
         "errors, so do not add columns to the data sheets. Hover over a header for its meaning.",),
        (),
        ("Sheets",),
        ("Minerals", "one row per mineral: unit, value of lost supply (shortfall_penalty), reference price"),
        ("Demand", "one row per mineral and period: demand 0 and the reserve target"),
        ("Offers", "one row per offer: each U.S. import source's exporters, capacity bounded by a share "
                   "of world production"),
        ("Countries", "concern (China), allies, blocked (sanctioned) countries"),
        ("Policy", "key / value settings; blank value = default"),
        ("Scenarios", "the shock scenarios and their probabilities (sum 1)"),
        ("Shocks", "what each scenario changes: capacity, price, extra_demand (the supply gap)"),
        ("Risks", "the same shocks as events for procure stress: rows with one event name start and last "
                  "together; chance of starting in a period of the start window, duration, effect"),
        ("Sources", "where every figure comes from, and every assumption"),
    ]
    for sheet in ["Minerals", "Demand", "Offers", "Countries", "Scenarios", "Shocks", "Risks"]:
        rows += [(), (f"{sheet} columns", "meaning", "unit / type", "default")]
        for col, (meaning, unit, default, _fmt, _val) in RESERVE_COLUMNS[sheet].items():
            rows.append((col, meaning, unit, default))
    rows += [(), ("Policy keys", "meaning", "unit / type", "default")]
    for key, _value in RESERVE_POLICY_KEYS:
        meaning, unit, default, _fmt, _val = RESERVE_POLICY_DOCS[key]
        rows.append((key, meaning, unit, default))
    rows += [(), ("Units of this sample", "unit", "measures", "base price, USD per unit")]
    for b in base.itertuples():
        rows.append((b.name, b.unit, QUANTITY_BASIS[b.id], round(b.price, 2)))
    rows += [(), ("Use",),
             ("procure validate inputs/sample.xlsx",),
             ("procure solve inputs/sample.xlsx        (the stochastic plan over the Scenarios sheet)",),
             ("procure solve inputs/sample.xlsx --price-rules   (what the China cap costs)",),
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


# ===========================================================================
# inputs/README.md: written from the tables above and the plan procure makes of them
# ===========================================================================
README_OUT = HERE / "README.md"
BUNDLED_DIR = HERE.parent / "procure" / "data"  # the package's copies (procure init, the default workbook)
# Everything above this line of inputs/README.md is written by write_readme(); the import plan's part
# below it is kept as written.
README_KEPT_FROM = "# The national import plan (`imports.xlsx`)"
# The budget frontier inputs/README.md shows: $1 billion to $3 billion in steps of $0.25 billion, around the
# least budget that buys every modelled gap (the appropriation is far above it)
README_BUDGETS = "1e9:3e9:0.25e9"


def _usd(value: float) -> str:
    """Money in words: $1.54 billion, $646 million, $12,345."""
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 1e9:
        return f"{sign}${v / 1e9:,.2f} billion"
    if v >= 1e6:
        return f"{sign}${v / 1e6:,.1f} million"
    return f"{sign}${v:,.0f}"


def _qty(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _procure(*args: str) -> None:
    """Run the procure command line (this interpreter's procure package) and fail loudly if it fails."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "procure", *args, "-q"], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"procure {' '.join(args)} failed ({run.returncode}): {run.stdout}{run.stderr}")


def plan_figures(workbook: str | Path = RESERVE_OUT) -> dict:
    """What procure makes of the reserve program, as the JSON of its command line (CLI.md's keys):
    ``plan``, ``procure solve --price-rules``; ``no_reserve``, the same plan with nothing held from one
    year to the next (a ``--model`` setting every holding cost to twice the value of lost supply); and
    ``frontier``, ``procure frontier --budgets`` over README_BUDGETS. Needs the procure package (run
    here only: the workbooks build without it)."""
    import json
    import tempfile

    minerals = pd.read_excel(workbook, sheet_name="Minerals", engine="openpyxl")
    lines = ['name = "no-reserve"',
             'description = "Nothing is held from one year to the next: holding costs twice the value of lost supply"']
    for m in minerals.itertuples():
        lines += ["", f'[minerals."{m.mineral}"]', f"holding_cost = {2 * m.shortfall_penalty!r}"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = folder / "no-reserve.toml"
        model.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _procure("solve", str(workbook), "--price-rules", "-o", str(folder / "plan.xlsx"),
                 "--json", str(folder / "plan.json"))
        _procure("solve", str(workbook), "--model", str(model), "-o", str(folder / "bare.xlsx"),
                 "--json", str(folder / "bare.json"))
        _procure("frontier", str(workbook), "--budgets", README_BUDGETS, "-o", str(folder / "budgets.xlsx"),
                 "--json", str(folder / "budgets.json"))
        return {name: json.loads((folder / f"{file}.json").read_text(encoding="utf-8"))
                for name, file in [("plan", "plan"), ("no_reserve", "bare"), ("frontier", "budgets")]}


def _released_in(plan: dict, mineral: str) -> list[str]:
    return [name for name, s in plan["stochastic"]["scenarios"].items()
            if s["minerals"][mineral]["reserve_released"] > 0.5]


def readme_text(tables: dict[str, pd.DataFrame], figures: dict) -> str:
    """The generated part of inputs/README.md (above README_KEPT_FROM)."""
    everything = _reserve_base()
    base = everything[everything.id.isin(RESERVE_MINERALS)].reset_index(drop=True)
    effects = _shock_effects(base)
    targets = _targets(base, effects)
    shares = _import_shares()
    plan, bare = figures["plan"], figures["no_reserve"]
    stoch = plan["stochastic"]
    measures = stoch["measures"]
    units = dict(zip(tables["Minerals"].mineral, tables["Minerals"].unit))
    n_offers = len(tables["Offers"])
    n_events = tables["Risks"].event.nunique()
    first, last = PERIODS[0], PERIODS[-1]
    committed = plan["spend_by_period"][str(RESERVE_COMMIT_THROUGH)]["total"]
    cap_cost = next((r for r in plan.get("rule_costs") or [] if r["name"] == "china_cap"), None)
    out = []
    w = out.append
    w("# The sample workbooks\n")
    w("`inputs/build_sample.py` builds two workbooks from the public USGS and IEA figures in `inputs/data/` "
      "(copies of `../shared/data/minerals/`, described in `data/SOURCES.md`), and writes this file, down to "
      "the import plan's section, from the same figures and from the plan `procure` makes of the reserve "
      "program. `tests/test_sample_readme.py` solves the workbook again and fails when a figure here differs "
      "from the tool's.\n")
    w("| workbook | story | used by |\n|---|---|---|")
    w(f"| `sample.xlsx` | **the reserve program**: a strategic reserve of {len(base)} minerals that reduces "
      f"dependence on China, {first}–{last}, {len(tables['Scenarios'])} scenarios with probabilities and a "
      "`Risks` sheet | `procure solve` and `procure stress` with no workbook; `procure init` writes it first |")
    w("| `imports.xlsx` | the national import plan: U.S. net imports of 19 minerals, 2027–2031, 85 billion USD "
      "budget | `models/*.toml` are written for it |\n")
    w("Both are templates too: budget teams can copy one, edit it in Excel and run `procure` on the copy.\n")
    w("## Rebuild\n")
    w("```sh\npython inputs/build_sample.py                  # both workbooks, their copies in procure/data/, "
      "this README\npython inputs/build_sample.py --out-dir other/ # the workbooks only, somewhere else\n```\n")
    w("The build reads only `inputs/data/*.csv`, uses no network and no randomness, and is byte-identical "
      "from run to run: openpyxl stamps the document's \"modified\" time and every zip member with the clock, "
      "so the build rewrites both with a fixed time (2026-01-01) and moves the file into place atomically. "
      "`tests/test_sample_build.py` rebuilds both workbooks into a temporary folder and compares them with the "
      "committed ones byte for byte, then checks the derivations below against the CSVs. Every rule and "
      "constant is a named constant in `build_sample.py`. Edits made to a workbook in Excel are lost on a "
      "rebuild: change the script instead.\n")
    w("# The reserve program (`sample.xlsx`)\n")
    w(f"A reserve program buys stocks of {len(base)} minerals over {first}–{last} before it knows which supply "
      f"shock comes; in each shock scenario it releases the reserve and buys to fill the U.S. supply gap the "
      "shock opens (STOCKPILE.md: a multi-stage stochastic program). It exists to reduce dependence on China: "
      f"at most {RESERVE_MAX_CHINA_SHARE:.0%} of each mineral's purchases, by value, each year, may be mined "
      f"or refined there (Policy `max_china_share`, `share_basis = value`). Sheets: README, Minerals, Demand, "
      f"Offers ({n_offers}), Countries ({len(tables['Countries'])}), Policy, Scenarios "
      f"({len(tables['Scenarios'])}), Shocks ({len(tables['Shocks'])} rows), Risks ({len(tables['Risks'])} rows, "
      f"{n_events} events), Sources ({len(tables['Sources'])} rows: every figure marked published, derived or "
      "assumption).\n")
    w("## What the plan says\n")
    w("`procure solve` (with no workbook, this one), expected over the scenarios:\n")
    budget = plan.get("budget_total_used")
    w(f"- **Expected spend {_usd(plan['spend'])}** over {first}–{last}"
      + (f" ({_pct(budget)} of the {_usd(RESERVE_BUDGET_TOTAL)} budget)" if budget is not None else "")
      + f"; **{_usd(committed)} committed** in {RESERVE_COMMIT_THROUGH}, the orders fixed before knowing the "
      "shock.")
    w(f"- China share of purchases by value: **{_pct(plan['china_share'])}** (highest scenario: "
      f"{_pct(max(s['china_share'] for s in stoch['scenarios'].values()))}).")
    if cap_cost is not None:
        w(f"- What the China cap costs (`procure solve --price-rules`): without it, expected spend would be "
          f"{_usd(abs(cap_cost['spend']))} {'lower' if cap_cost['spend'] > 0 else 'higher'} and expected "
          f"shortfall value {_usd(abs(cap_cost['shortfall_usd']))} "
          f"{'lower' if cap_cost['shortfall_usd'] > 0 else 'higher'}; the cap "
          f"{'raises' if cap_cost['objective'] > 0 else 'lowers'} the objective (spend plus penalties, not money) "
          f"by {abs(cap_cost['objective']):,.0f}.")
    w(f"- Expected shortfall value **{_usd(plan['shortfall_usd'])}** at reference prices with the reserve; "
      f"**{_usd(bare['shortfall_usd'])}** without it (the same plan with nothing held from one year to the "
      "next: a `--model` that sets every holding cost to twice the value of lost supply).")
    w("")
    w("| measure | objective (spend plus penalties) | expected spend | expected shortfall value | "
      "expected reserve-gap value |\n|---|---|---|---|---|")
    for key, what in [("RP", "the plan"), ("WS", "perfect foresight"), ("EEV", "the plan for the average"),
                      ("EVPI", "RP - WS"), ("VSS", "EEV - RP")]:
        m = measures.get(key)
        if m is None:
            w(f"| {key} ({what}) | n/a | n/a | n/a | n/a |")
            continue
        w(f"| {key} ({what}) | {m['objective']:,.0f} | {_usd(m['spend'])} | {_usd(m['shortfall_usd'])} | "
          f"{_usd(m['reserve_gap_usd'])} |")
    w("\nMoney is USD; shortfall and reserve-gap value are units at the reference (base) price, never the "
      "penalty. The objective adds the penalty terms and is not money.\n")
    w("| scenario | probability | spend | shortfall value | China share | reserve released |\n"
      "|---|---|---|---|---|---|")
    for name, s in stoch["scenarios"].items():
        released = "; ".join(f"{m} {_qty(v['reserve_released'], units[m])}" for m, v in s["minerals"].items()
                             if v["reserve_released"] > 0.5) or "none"
        w(f"| `{name}` | {s['probability']:.2f} | {_usd(s['spend'])} | {_usd(s['shortfall_usd'])} | "
          f"{_pct(s['china_share'])} | {released} |")
    w("")
    w("| mineral | target | bought (expected) | released in | expected shortfall | worst scenario's "
      "shortfall |\n|---|---|---|---|---|---|")
    for b in base.itertuples():
        m = stoch["minerals"][b.name]
        released = ", ".join(f"`{s}`" for s in _released_in(plan, b.name)) or "**never**"
        w(f"| {b.name} | {_qty(targets[b.id]['target'], b.unit)} | {_qty(plan['minerals'][b.name]['bought'], b.unit)} "
          f"| {released} | {_qty(m['shortfall_expected'], b.unit)} | {_qty(m['shortfall_worst'], b.unit)} "
          f"({_usd(m['shortfall_worst_usd'])}) |")
    w("")
    frontier = figures["frontier"]["points"]
    sufficient = min((p["budget"] for p in frontier if p["status"] == "optimal"
                      and abs(p["shortfall_usd"] - frontier[-1]["shortfall_usd"]) <= 1.0
                      and abs(p["spend"] - frontier[-1]["spend"]) <= 1e-6 * max(1.0, frontier[-1]["spend"])),
                     default=None)
    w(f"The program's appropriation (`budget_total = {RESERVE_BUDGET_TOTAL:,}`, *assumption*: the reserve program's "
      f"$12 billion) does not bind: the plan buys what the modelled gaps ask for, and "
      + (f"{_usd(sufficient)} would buy the same" if sufficient is not None else "no budget shown buys the same")
      + ". `procure frontier --budgets " + README_BUDGETS + "` shows what a smaller budget would buy:\n")
    w("| budget | expected spend | expected shortfall value | worst scenario's shortfall value | "
      "expected reserve-gap value | shortfall value saved per extra USD |\n|---|---|---|---|---|---|")
    for point in frontier:
        if point["status"] != "optimal":
            w(f"| {_usd(point['budget'])} | {point['status']} | | | | |")
            continue
        marginal = "–" if point["marginal"] is None else f"{point['marginal']:.2f}"
        w(f"| {_usd(point['budget'])} | {_usd(point['spend'])} | {_usd(point['shortfall_usd'])} | "
          f"{_usd(point['worst_shortfall_usd'])} | {_usd(point['reserve_gap_usd'])} | {marginal} |")
    w("")
    w("## Derivation rules\n")
    w(f"- **Minerals**: the {len(base)} minerals some scenario cuts. Left out: "
      + "; ".join(f"{b.name.lower()} (U.S. imports from "
                  + ", ".join(f"{c} {s:.0%}" for c, s in zip(shares[shares.mineral == b.id].country,
                                                               shares[shares.mineral == b.id].share))
                  + ")" for b in everything[everything.id.isin(LEFT_OUT)].itertuples())
      + ": no scenario opens a U.S. gap in them (neither China nor Russia is a listed source and no quota "
      "cuts them), so a target would never be drawn.")
    w(f"- **Net imports** (the baseline, per year, held flat): the {BASELINE_YEARS[0]}–{BASELINE_YEARS[-1]} mean "
      "of U.S. consumption x net import reliance, each year (`us_demand.csv`). A reliance published only as a "
      "range (\">95\") is taken at its bound (*assumption*); tungsten's withheld consumption is the assumed "
      f"{ASSUMED_CONSUMPTION['tungsten']:,.0f} t; germanium has consumption for 2021 only. {BASE_YEAR} jumped "
      "(USGS estimates): the table gives the 2025 figure over the baseline.")
    w("- **Prices** (USD per workbook unit): the base price of a mineral under an export control "
      "(`export_controls.csv`) is its USGS price the year before the control began, or the 2025 price if lower; "
      "a shock multiplies it up to the 2025 price, so no control counts twice. Palladium has no control: its "
      f"2025 price. Rare earths are t of rare-earth oxide all priced as NdPr oxide (*assumption*, in the "
      "mineral's name on every plan): it overstates the cheap La/Ce oxides. `reference_price` = the base "
      f"price; holding cost {HOLDING_COST_RATE:.0%} of it a year; `shortfall_penalty` "
      f"{PENALTY_MULTIPLE_CRITICAL:g} x it where China dominates supply (share >= {CRITICAL_CHINA_SHARE:g} or "
      f"China licenses the exports), {PENALTY_MULTIPLE_OTHER:g} x otherwise (*assumptions*).")
    w("- **Offers** follow U.S. import sources (`us_import_sources.csv`, 2021–24): one offer per source country "
      f"(\"Other\" as one), each able to sell the program up to {IMPORT_MULTIPLE:g} x what it ships the U.S. a "
      f"year (*assumption*), all of a mineral's offers together bounded by {PURCHASE_SHARE:.0%} of a year's "
      f"world production (*assumption*), at a flat price x 0.90 (China), x 1.05 (allies), x 1.00 (others). "
      "Russia's offers are blocked (U.S. sanctions). No partner agreements: no offtake's take-or-pay minimum "
      "fits a reserve that is built, held and drawn.")
    w(f"- **Targets**: one year of the largest U.S. supply gap any scenario opens in the mineral (the "
      "reserve bridges a year while buyers qualify other supply), capped at what the offers outside China "
      f"can sell in {BUILD_YEARS} build-up years; {RESERVE_FIRST_PERIOD_SHARE:g} of it at the end of {first}. "
      "Compared in Sources with days-of-cover policies: "
      + ", ".join(f"{who} {days} days" for who, days in COVER_POLICIES) + ".")
    w(f"- **Release**: a mineral's target is 0 while a shock hits it and {RESERVE_REBUILD_PERIODS} period after "
      "(Policy `rebuild_periods`, STOCKPILE.md release periods), so the reserve is drawn in the shock and "
      "rebuilt after it.")
    w(f"- **Policy**: `max_china_share = {RESERVE_MAX_CHINA_SHARE:g}` by value, `budget_total = "
      f"{RESERVE_BUDGET_TOTAL:,}` (holds in every scenario), `commit_through = {RESERVE_COMMIT_THROUGH}` "
      f"(the first year's orders), `risk = {RESERVE_RISK}`, `min_esg_score = {RESERVE_MIN_ESG}` "
      "(illustrative scores: allies 70, others 60, China 55).\n")
    w("| mineral | unit | net imports a year (baseline) | 2025 / baseline | China's share of world supply | "
      "base price (USD/unit) | shock price multiplier | purchase volume a year (binding bound) | target | "
      "target, days of U.S. consumption |\n|---|---|---|---|---|---|---|---|---|---|")
    volumes = _reserve_offers(base, _allies())[1].set_index("id")
    for b in base.itertuples():
        consumption = [y["consumption"] for y in b.years if not math.isnan(y["consumption"])]
        days = targets[b.id]["target"] / (sum(consumption) / len(consumption)) * DAYS_PER_PERIOD
        v = volumes.loc[b.id]
        w(f"| {b.name} | {b.unit} | {b.net_imports:,.0f} | "
          + (f"{b.jump:.2f}" if not math.isnan(b.jump) and b.id not in ASSUMED_CONSUMPTION else "n/a")
          + (f" | {b.china_share:.2f}" if not math.isnan(b.china_share) else " | n/a")
          + (" (licensed)" if b.controlled else "")
          + f" | {b.price:,.2f} | " + (f"{b.shock_factor:.4f}" if b.control is not None else "1")
          + f" | {v.volume:,.0f} ({v.basis}) | {targets[b.id]['target']:,.0f}"
          + (" (capped)" if targets[b.id]["capped"] else "") + f" | {days:,.0f} |")
    w("")
    w("## Scenarios, shocks and risks\n")
    w(f"Probabilities and durations are *assumptions* (the reason for each is in Sources); every shock starts "
      f"in {SHOCK_START}. The gap a ban opens is net imports x the source's share of U.S. imports; a quota "
      "on mine output cuts the gap and every offer's capacity by the source's share of world mine output x "
      f"(1 - {QUOTA_FRACTION:g}).\n")
    w("| scenario | probability | periods | gaps a year | price multipliers | description |\n|---|---|---|---|---|---|")
    names = dict(zip(base.id, base.name))
    for s in RESERVE_SCENARIOS:
        mine = [e for e in effects if e["scenario"] == s[0]]
        row = tables["Scenarios"][tables["Scenarios"].scenario == s[0]].iloc[0]
        if not mine:
            w(f"| `{s[0]}` | {s[1]:.2f} | – | none | none | {row.description} |")
            continue
        gaps = "; ".join(f"{names[e['mineral']]} {_qty(e['gap'], units[names[e['mineral']]])}" for e in mine)
        prices = "; ".join(f"{names[e['mineral']]} x {e['price']:.4f}" for e in mine if e["price"] > 1) or "none"
        span = f"{mine[0]['start']}" + (f"–{mine[0]['end']}" if mine[0]["end"] != mine[0]["start"] else "")
        w(f"| `{s[0]}` | {s[1]:.2f} | {span} | {gaps} | {prices} | {row.description} |")
    w("")
    risks = tables["Risks"]
    w(f"The `Risks` sheet (`procure stress`) holds the same {n_events} shocks as events: the rows of one "
      "event share its name, probability, duration and start window, and start and last together (the "
      f"China-wide stop is one event of {int((risks.event == 'China-wide stop').sum())} rows, not independent "
      f"events). Each may start in any period of {SHOCK_START}–{last}; its chance of starting in one period is "
      "1 - (1 - p)^(1/n) from its scenario's probability p over the n = "
      f"{len(PERIODS) - PERIODS.index(SHOCK_START)} periods of that window (the chance it starts in the window "
      "is p, as the scenario's).\n")
    w("| event | rows | start probability a period | duration |\n|---|---|---|---|")
    for event in dict.fromkeys(risks.event):
        r = risks[risks.event == event]
        w(f"| {event} | {len(r)} | {r.probability.iloc[0]:.4f} | {r.duration.iloc[0]} |")
    w("")
    return "\n".join(out) + "\n"


def write_readme(path: str | Path = README_OUT, workbook: str | Path = RESERVE_OUT) -> Path:
    """Write inputs/README.md: the generated part (readme_text, which solves ``workbook``) and the import
    plan's part kept from the file as it is."""
    path = Path(path)
    kept = path.read_text(encoding="utf-8") if path.exists() else ""
    at = kept.find(README_KEPT_FROM)
    text = readme_text(reserve_tables(), plan_figures(workbook)) + (kept[at:] if at >= 0 else "")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=str(HERE),
                        help="folder to write sample.xlsx and imports.xlsx into (default: %(default)s)")
    parser.add_argument("--no-readme", action="store_true",
                        help="do not write inputs/README.md (it solves the reserve program with procure)")
    args = parser.parse_args(argv)
    paths = build_all(args.out_dir)
    if Path(args.out_dir).resolve() == HERE:  # the repository's copies: the package's and the README too
        for path in list(paths):
            copy, tmp = BUNDLED_DIR / path.name, BUNDLED_DIR / f".{path.name}.tmp"
            shutil.copyfile(path, tmp)
            os.replace(tmp, copy)
            paths.append(copy)
        if not args.no_readme:
            paths.append(write_readme())
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
