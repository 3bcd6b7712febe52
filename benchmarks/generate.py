#!/usr/bin/env python
"""Generate national-scale procurement workbooks for the benchmarks.

    python benchmarks/generate.py --size small|medium|large [--out PATH] [--seed N]

The workbook follows the specification WORKBOOK.md (sheets Minerals, Demand,
Offers, Countries, Policy; header in row 1). It is synthetic but shaped like a
real national plan:

* monthly text periods ``2027-01`` .. ``2031-12`` (60; text labels sort
  lexicographically, which is chronological here);
* ~25 origin countries: China (concern country, cheapest, largest capacity),
  the United States (domestic, ally, exempt from the country cap) and a mix
  of allies and other producers;
* suppliers with one home country each, offering ~30% of the minerals; most
  offers cover every period (``period`` blank), a few are one-month spot
  deals; some non-Chinese offers are refined in China (``processing_country``
  = China, so their exposure defaults to 1) and a few carry an explicit
  fractional ``china_share``;
* Policy ``max_china_share`` 0.2, ``max_country_share`` 0.5,
  ``days_per_period`` 30, ``reserve_days`` 45 (some Demand rows carry an
  explicit ``reserve_target`` instead); holding costs and initial reserves in
  Minerals;
* spot offers only (a pure LP), quantity share basis.

Demand grows over the horizon and a few minerals are tight, so the plan has
some shortfall and reserve deficits; most demand is coverable under the caps.

Everything is drawn from one ``numpy.random.default_rng(seed)`` stream, so a
(size, seed) pair always produces the same cells.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------
# Shapes.  purchase variables = sum over offers of the periods each covers
#         ~= rows * ((1 - single_frac) * periods + single_frac)
# --------------------------------------------------------------------------
SIZES = {
    # ~10k purchase variables
    "small": dict(minerals=10, suppliers=56, periods=60, offer_frac=0.30, single_frac=0.04),
    # ~160k purchase variables
    "medium": dict(minerals=30, suppliers=310, periods=60, offer_frac=0.30, single_frac=0.04),
    # ~1.1M purchase variables
    "large": dict(minerals=56, suppliers=1150, periods=60, offer_frac=0.30, single_frac=0.04),
}

FIRST_YEAR = 2027

# US critical minerals (USGS lists); the first N are used.
MINERALS = [
    "Lithium", "Cobalt", "Gallium", "Germanium", "Graphite", "Nickel", "Manganese",
    "Neodymium", "Dysprosium", "Antimony", "Tungsten", "Vanadium", "Titanium",
    "Aluminum", "Arsenic", "Barite", "Beryllium", "Bismuth", "Cerium", "Cesium",
    "Chromium", "Erbium", "Europium", "Fluorspar", "Gadolinium", "Hafnium",
    "Holmium", "Indium", "Iridium", "Lanthanum", "Lutetium", "Magnesium",
    "Niobium", "Palladium", "Platinum", "Praseodymium", "Rhodium", "Rubidium",
    "Ruthenium", "Samarium", "Scandium", "Tantalum", "Tellurium", "Terbium",
    "Thulium", "Tin", "Ytterbium", "Yttrium", "Zinc", "Zirconium", "Copper",
    "Silver", "Silicon", "Potash", "Lead", "Rhenium", "Boron", "Phosphate",
    "Uranium", "Metallurgical Coal",
]
KG_UNITS = {"Iridium", "Palladium", "Platinum", "Rhodium", "Ruthenium", "Rhenium"}

# country, ally, weight of suppliers based there, price factor
COUNTRIES = [
    ("China", False, 0.18, 0.78),
    ("United States", True, 0.06, 1.25),
    ("Australia", True, 0.07, 1.08),
    ("Canada", True, 0.06, 1.10),
    ("Chile", True, 0.04, 1.02),
    ("Japan", True, 0.03, 1.20),
    ("South Korea", True, 0.03, 1.18),
    ("Germany", True, 0.02, 1.22),
    ("Finland", True, 0.02, 1.15),
    ("Norway", True, 0.02, 1.16),
    ("Mexico", True, 0.03, 1.00),
    ("Peru", True, 0.03, 0.98),
    ("Morocco", True, 0.02, 0.97),
    ("United Kingdom", True, 0.02, 1.20),
    ("DR Congo", False, 0.05, 0.90),
    ("Indonesia", False, 0.05, 0.88),
    ("Brazil", False, 0.05, 0.96),
    ("South Africa", False, 0.05, 0.97),
    ("India", False, 0.03, 0.95),
    ("Kazakhstan", False, 0.03, 0.93),
    ("Vietnam", False, 0.03, 0.92),
    ("Philippines", False, 0.02, 0.94),
    ("Argentina", False, 0.03, 1.00),
    ("Zimbabwe", False, 0.02, 0.91),
    ("Turkey", False, 0.02, 0.99),
]


def period_labels(n: int) -> list[str]:
    return [f"{FIRST_YEAR + i // 12}-{i % 12 + 1:02d}" for i in range(n)]


def mineral_names(n: int) -> list[str]:
    return [MINERALS[i] if i < len(MINERALS) else f"Mineral {i + 1:03d}" for i in range(n)]


def build(spec: dict, seed: int) -> dict:
    """Draw the whole workbook; returns sheet name -> (header, rows)."""
    rng = np.random.default_rng(seed)
    nM, nS, nT = spec["minerals"], spec["suppliers"], spec["periods"]
    minerals = mineral_names(nM)
    periods = period_labels(nT)
    cnames = [c[0] for c in COUNTRIES]
    nC = len(cnames)
    ally = np.array([c[1] for c in COUNTRIES])
    cweight = np.array([c[2] for c in COUNTRIES])
    cweight = cweight / cweight.sum()
    cfactor = np.array([c[3] for c in COUNTRIES])
    CHINA = 0

    # ---- minerals ---------------------------------------------------------
    base_price = np.exp(rng.uniform(math.log(1_500), math.log(400_000), nM))  # USD/unit
    base_demand = np.exp(rng.uniform(math.log(8), math.log(20_000), nM))  # units/month
    growth = rng.uniform(0.02, 0.07, nM)  # per year
    phase = rng.uniform(0, 2 * math.pi, nM)
    tight = rng.random(nM) < 0.10
    cap_factor = np.where(tight, rng.uniform(1.30, 1.60, nM), rng.uniform(1.9, 2.9, nM))
    china_cap_share = rng.uniform(0.30, 0.50, nM)  # China's share of capacity
    holding = base_price * rng.uniform(0.004, 0.012, nM)
    initial = base_demand * rng.uniform(0.0, 2.0, nM)

    mineral_rows = []
    for m, name in enumerate(minerals):
        cap = None
        if m == 1:
            cap = 0.1  # explicit, tighter than policy
        elif m == 2 and nM > 2:
            cap = 1.0  # explicit: no China cap for this mineral
        elif m > 4 and rng.random() < 0.05:
            cap = 0.3
        short_pen = round(8 * base_price[m], 2) if m == 3 else None
        res_pen = round(0.2 * base_price[m], 2) if m == 4 else None
        mineral_rows.append([
            name,
            "kg" if name in KG_UNITS else None,
            cap,
            short_pen,
            res_pen,
            round(float(holding[m]), 2),
            round(float(initial[m]), 1),
        ])

    # ---- demand -----------------------------------------------------------
    t = np.arange(nT)
    D = (base_demand[:, None]
         * (1 + growth[:, None]) ** (t[None, :] / 12.0)
         * (1 + 0.10 * np.sin(2 * math.pi * t[None, :] / 12.0 + phase[:, None]))
         * (1 + 0.05 * rng.standard_normal((nM, nT))))
    D = np.round(np.maximum(D, 0.0), 1)
    omit = rng.random((nM, nT)) < 0.01  # missing pairs: demand 0, target 0
    omit[0, :] = False  # keep every period label present
    explicit_target = rng.random((nM, nT)) < 0.10
    target_mult = rng.uniform(1.0, 3.0, (nM, nT))
    demand_rows = []
    for m, name in enumerate(minerals):
        for k in range(nT):
            if omit[m, k]:
                continue
            tgt = round(float(D[m, k] * target_mult[m, k]), 1) if explicit_target[m, k] else None
            demand_rows.append([name, periods[k], float(D[m, k]), tgt])

    # ---- suppliers and offers ---------------------------------------------
    home = rng.choice(nC, size=nS, p=cweight)
    home[0] = CHINA  # at least one Chinese supplier
    k_per = np.clip(rng.binomial(nM, spec["offer_frac"], nS), 1, nM)
    sup_names = [f"{cnames[home[s]][:3].upper()}-{s + 1:04d} Minerals" for s in range(nS)]

    off_s, off_m = [], []
    for s in range(nS):
        ms = np.sort(rng.choice(nM, size=k_per[s], replace=False))
        off_s.append(np.full(len(ms), s))
        off_m.append(ms)
    off_s = np.concatenate(off_s)
    off_m = np.concatenate(off_m)
    # every mineral gets at least one Chinese and one non-Chinese offer
    for m in range(nM):
        here = home[off_s[off_m == m]]
        if not (here == CHINA).any():
            off_s = np.append(off_s, 0)
            off_m = np.append(off_m, m)
        if not (here != CHINA).any():
            s_alt = int(np.flatnonzero(home != CHINA)[0])
            off_s = np.append(off_s, s_alt)
            off_m = np.append(off_m, m)
    nO = len(off_s)
    off_c = home[off_s]
    is_china = off_c == CHINA
    single = rng.random(nO) < spec["single_frac"]
    single_t = rng.integers(0, nT, nO)

    # capacity: split each mineral's capacity budget over its offers
    w = rng.lognormal(0.0, 0.8, nO)
    cap = np.zeros(nO)
    for m in range(nM):
        sel = off_m == m
        ch = sel & is_china
        nc = sel & ~is_china
        total = base_demand[m] * cap_factor[m]
        if ch.any():
            cap[ch] = total * china_cap_share[m] * w[ch] / w[ch].sum()
        if nc.any():
            cap[nc] = total * (1 - china_cap_share[m]) * w[nc] / w[nc].sum()
    # one-month spot deals: a sizeable lot for that month
    cap = np.where(single, cap * rng.uniform(1.0, 3.0, nO), cap)
    cap = np.round(np.maximum(cap, 0.1), 1)

    processed_in_china = (~is_china) & (rng.random(nO) < 0.15)
    price = base_price[off_m] * cfactor[off_c] * rng.lognormal(0.0, 0.08, nO)
    price = np.where(processed_in_china, price * 0.92, price)
    price = np.where(single, price * rng.uniform(0.9, 1.3, nO), price)
    price = np.round(price, 2)
    explicit_share = (~is_china) & (~processed_in_china) & (rng.random(nO) < 0.05)
    share_val = np.round(rng.uniform(0.1, 0.5, nO), 2)
    esg = np.where(is_china, rng.integers(20, 60, nO), rng.integers(40, 96, nO))
    odd_case = rng.random(nO) < 0.01  # mineral spelt in another case

    order = np.lexsort((off_m, off_s))
    offer_rows = []
    for o in order:
        mname = minerals[off_m[o]]
        if odd_case[o]:
            mname = mname.upper()
        offer_rows.append([
            sup_names[off_s[o]],
            cnames[off_c[o]],
            mname,
            float(price[o]),
            float(cap[o]),
            periods[single_t[o]] if single[o] else None,
            "China" if processed_in_china[o] else None,
            float(share_val[o]) if explicit_share[o] else None,
            int(esg[o]),
            "spot" if single[o] else None,
        ])

    country_rows = []
    for c, name in enumerate(cnames):
        country_rows.append([
            name,
            "yes" if c == CHINA else "no",
            "yes" if ally[c] else "no",
            1.0 if name == "United States" else None,
        ])

    policy_rows = [
        ["max_china_share", 0.2],
        ["max_country_share", 0.5],
        ["share_basis", "quantity"],
        ["days_per_period", 30],
        ["reserve_days", 45],
        ["scenario", f"national-{spec.get('name', 'custom')}"],
    ]

    n_single = int(single.sum())
    shape = dict(
        minerals=nM, suppliers=nS, countries=nC, periods=nT, offers=nO,
        all_period_offers=nO - n_single, single_period_offers=n_single,
        purchase_variables=int((nO - n_single) * nT + n_single),
        demand_rows=len(demand_rows),
    )
    return {
        "shape": shape,
        "Minerals": (["mineral", "unit", "max_china_share", "shortfall_penalty",
                      "reserve_penalty", "holding_cost", "initial_reserve"], mineral_rows),
        "Demand": (["mineral", "period", "demand", "reserve_target"], demand_rows),
        "Offers": (["supplier", "country", "mineral", "price", "capacity", "period",
                    "processing_country", "china_share", "esg_score", "agreement"], offer_rows),
        "Countries": (["country", "concern", "ally", "max_share"], country_rows),
        "Policy": (["key", "value"], policy_rows),
    }


def write(book: dict, path: Path) -> None:
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.xlsx")
    wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True,
                                        "strings_to_numbers": False,
                                        "strings_to_formulas": False,
                                        "strings_to_urls": False})
    # fixed document dates: the same (size, seed) gives a byte-identical file
    import datetime as _dt
    wb.set_properties({"created": _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)})
    bold = wb.add_format({"bold": True})
    for sheet in ("Minerals", "Demand", "Offers", "Countries", "Policy"):
        header, rows = book[sheet]
        ws = wb.add_worksheet(sheet)
        ws.write_row(0, 0, header, bold)
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, str):
                    ws.write_string(r, c, v)
                else:
                    ws.write_number(r, c, v)
    wb.close()
    tmp.replace(path)


def generate(size_or_spec, path, seed: int = 1) -> dict:
    """Write a workbook; returns its shape. ``size_or_spec``: a SIZES key or a dict."""
    if isinstance(size_or_spec, str):
        spec = dict(SIZES[size_or_spec], name=size_or_spec)
    else:
        spec = dict(size_or_spec)
    book = build(spec, seed)
    write(book, Path(path))
    shape = book["shape"]
    _shape_file(Path(path)).write_text(json.dumps(dict(shape, seed=seed, spec=spec)) + "\n")
    return shape


def _shape_file(path: Path) -> Path:
    return path.with_name(path.stem + ".shape.json")


def read_shape(path, size: str, seed: int = 1) -> dict:
    """The shape of a generated workbook: from its sidecar file, else recomputed."""
    f = _shape_file(Path(path))
    if f.exists():
        d = json.loads(f.read_text())
        if d.get("seed") == seed:
            return {k: v for k, v in d.items() if k not in ("seed", "spec")}
    return build(dict(SIZES[size], name=size), seed)["shape"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), required=True)
    ap.add_argument("--out", help="default: benchmarks/data/<size>.xlsx")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "data" / f"{args.size}.xlsx"
    t0 = time.perf_counter()
    shape = generate(args.size, out, args.seed)
    dt = time.perf_counter() - t0
    print(f"{out}: " + ", ".join(f"{k}={v}" for k, v in shape.items()) + f" ({dt:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
