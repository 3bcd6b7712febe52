"""Build the sample workbook ``inputs/sample.xlsx`` from the public data in ``inputs/data/``.

Usage::

    python inputs/build_sample.py [--out PATH]      # default: inputs/sample.xlsx

The build is deterministic (no randomness, no network): the same CSVs give the
same cell values. ``sample_tables()`` returns the data of each sheet as pandas
DataFrames; ``build_workbook(out_path)`` writes the formatted workbook.

Every rule and constant is named below with where it comes from:
``SOURCE`` = a published figure (USGS MCS 2026, IEA, see data/SOURCES.md),
``CONSTANT`` = a standard conversion factor, ``ASSUMPTION`` = a choice made for
this sample, not a published figure. The ``Sources`` sheet of the workbook
lists each of them again for Excel users.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "data"
DEFAULT_OUT = HERE / "sample.xlsx"

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
                            "USD per unit, >= 0", "0.5 x shortfall_penalty", FMT_USD, ("nonneg",)),
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


def _import_source_production(base: pd.DataFrame) -> pd.DataFrame:
    """Stand-in production for IMPORT_SOURCE_MINERALS: each exporter's share of U.S. imports x
    CAPACITY_HEADROOM x the last period's demand (so the spot fraction f comes out as 1)."""
    imp = _read("us_import_sources.csv")
    rows = []
    for b in base[base.id.isin(IMPORT_SOURCE_MINERALS)].itertuples():
        volume = CAPACITY_HEADROOM * _demand_value(b.base, b.growth, PERIODS[-1])
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
                    esg_score=ESG_DOMESTIC if country == DOMESTIC_COUNTRY and not processing else None,
                    blocked="yes" if country in BLOCKED_COUNTRIES else None))
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
    for supplier, mid, country, processing, kind, why in AGREEMENTS:
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


def sample_tables() -> dict[str, pd.DataFrame]:
    """The data of each sheet (README excepted) as DataFrames, sheet name -> table; blanks are None/NaN."""
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
# Workbook
# ===========================================================================

def _readme_rows(tables: dict[str, pd.DataFrame]) -> list[tuple]:
    """(A, B, C, D) text rows of the README sheet; a row with only A is a heading."""
    base = _base_figures()
    rows = [
        ("procure sample workbook: U.S. critical-mineral procurement, "
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
             ("procure validate inputs/sample.xlsx",),
             ("procure solve inputs/sample.xlsx --model models/china-export-controls.toml",),
             (), ("Rebuild",), ("python inputs/build_sample.py [--out PATH]",),
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


def _format_policy(ws, df: pd.DataFrame) -> None:
    from openpyxl.comments import Comment

    for i, key in enumerate(df.key, start=2):
        meaning, unit, default, fmt, val = POLICY_DOCS[key]
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


def build_workbook(out_path: str | Path = DEFAULT_OUT) -> Path:
    """Write the sample workbook to ``out_path`` and return the path."""
    from datetime import datetime

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    tables = sample_tables()
    wb = Workbook()
    wb.properties.creator = "procure inputs/build_sample.py"
    fixed = datetime(2026, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed

    readme = wb.active
    readme.title = "README"
    for i, row in enumerate(_readme_rows(tables), start=1):
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

    for name in ["Minerals", "Demand", "Offers", "Countries", "Policy"]:
        ws = wb.create_sheet(name)
        df = tables[name]
        _fill_sheet(ws, df, COLUMNS[name])
        if name == "Policy":
            _format_policy(ws, df)
        else:
            _format_sheet(ws, df, COLUMNS[name])

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

    assert wb.sheetnames == SHEET_ORDER, wb.sheetnames
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out_path)
    return out_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    path = build_workbook(args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
