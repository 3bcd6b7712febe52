"""Checks of the benchmark floor (benchmarks/floor.py).

Not part of the main test suite:  python -m pytest benchmarks/test_floor.py

1. A tiny hand-made case (2 minerals, 2 periods, 3 offers) and variants of it,
   whose optimum is worked out by hand below.
2. A small generated workbook, solved by the floor and by an independent,
   literal transcription of FORMULATION.md (openpyxl reader, PuLP model with
   sum-x balance and sum-x share rows, no auxiliary P): same optimum.
3. Unsupported features are rejected with exit code 1.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import floor  # noqa: E402
import generate  # noqa: E402

# ---------------------------------------------------------------------------
# the hand case
# ---------------------------------------------------------------------------
#
# Minerals: A (holding 1, initial reserve 30), B (holding 2).
# Periods 2027, 2028.  Demand A: 50, 50.  B: 10, 30 (2028 reserve target 20).
# Offers:  o1 China     A price 10 cap 100 every period
#          o2 Australia A price 20 cap 100 every period
#          o3 Canada    B price  5 cap  50 2028 only
# Policy:  max_china_share 0.2 (no country cap, no reserve_days).
#
# Default penalties: A: 10 x 20 = 200 shortfall, 100 reserve; B: 10 x 5 = 50, 25.
#
# A: China (exposure 1) at most 0.2 of purchases, so each unit bought costs
#    0.2 x 10 + 0.8 x 20 = 18.  2027: the initial reserve covers 30 of the 50
#    (keeping it only costs holding), buy 20 -> 360.  2028: buy 50 -> 900.
#    A = 1260.
# B: 2027 has no offer: shortfall 10 x 50 = 500.  2028: buy the full 50
#    (30 demand + 20 reserve) -> 250, hold 20 x 2 = 40 (a unit of reserve
#    costs 5 + 2 = 7 < 25 deficit).  B = 790.
# Optimum = 2050.

BASE = {
    "Minerals": [["mineral", "holding_cost", "initial_reserve"],
                 ["A", 1, 30],
                 ["B", 2, None]],
    "Demand": [["mineral", "period", "demand", "reserve_target"],
               ["A", 2027, 50, None],
               ["A", 2028, 50, None],
               ["B", 2027, 10, None],
               ["B", 2028, 30, 20]],
    "Offers": [["supplier", "country", "mineral", "price", "capacity", "period"],
               ["S1", "China", "A", 10, 100, None],
               ["S2", "Australia", "A", 20, 100, None],
               ["S3", "Canada", "B", 5, 50, 2028]],
    "Policy": [["key", "value"],
               ["max_china_share", 0.2]],
}


def write_book(path: Path, sheets: dict) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(list(r))
    wb.save(path)
    return path


def variant(**changes) -> dict:
    book = {k: [list(r) for r in v] for k, v in BASE.items()}
    for k, v in changes.items():
        if v is None:
            book.pop(k, None)
        else:
            book[k] = v
    return book


def run_floor(path: Path, *extra: str) -> dict:
    res = floor.main([str(path), "--json", str(path.with_suffix(".json")), *extra])
    assert res == 0
    return json.loads(path.with_suffix(".json").read_text())


CASES = {
    # the hand case itself
    "base": (BASE, 2050.0),
    # Australia capped at 0.75 of A's purchases while China exposure is capped at
    # 0.2: 0.75 + 0.2 < 1, so A cannot buy at all.  A: shortfall 20 (after the
    # initial 30) + 50 at 200 = 14000.  B unchanged 790.
    "country cap makes A unbuyable": (variant(Countries=[
        ["country", "concern", "max_share"],
        ["China", "yes", None],
        ["Australia", "no", 0.75]]), 14790.0),
    # Australia's offer blocked: A's default penalty becomes 10 x 10 = 100; China
    # alone cannot buy under the 0.2 exposure cap: A = 20 x 100 + 50 x 100 = 7000.
    "blocked offer changes default penalty": (variant(Offers=[
        ["supplier", "country", "mineral", "price", "capacity", "period", "blocked"],
        ["S1", "China", "A", 10, 100, None, "no"],
        ["S2", "Australia", "A", 20, 100, None, "yes"],
        ["S3", "Canada", "B", 5, 50, 2028, None]]), 7790.0),
    # Canada blocked: B has no offers, its penalty defaults to 10 x the highest
    # price of any mineral (20) = 200, reserve 100: B = 10 x 200 + 30 x 200
    # + 20 x 100 = 10000.  A = 1260.
    "blocked country, penalty from any mineral": (variant(Countries=[
        ["country", "blocked"],
        ["Canada", "yes"]]), 11260.0),
    # reserve_days 73 of 365: target 0.2 x demand where reserve_target is blank.
    # A: 2027 buy 30 (end reserve 10): 540 + 10 holding; 2028 buy 50: 900 + 10.
    #    A = 1460.  B: 2027 shortfall 10 (500) and deficit 2 (50); 2028 as
    #    before 290.  B = 840.
    "reserve_days": (variant(Policy=[
        ["key", "value"],
        ["Max China Share", 0.2],
        ["reserve_days", 73]]), 2300.0),
    # A partly binding country cap: a Peru offer for B (price 8, every period),
    # max_country_share 0.6 (Australia exempt with max_share 1).  B penalty 80,
    # reserve 40.  2027: Peru alone is capped at 0.6 of purchases: no purchase,
    # shortfall 10 x 80 = 800.  2028: buy 50, 30 Canada + 20 Peru: 150 + 160,
    # hold 20 x 2 = 40.  B = 1150.  A = 1260.
    "country cap partly binding": (variant(
        Offers=BASE["Offers"] + [["S4", "Peru", "B", 8, 100, None]],
        Countries=[["country", "max_share"], ["Australia", 1]],
        Policy=[["key", "value"], ["max_china_share", 0.2], ["max_country_share", 0.6]]),
        2410.0),
    # text periods, numeric text, odd headers and case: same as base
    "text periods and loose spelling": ({
        "minerals": [["Mineral", "Holding Cost", " initial_reserve "],
                     ["A", "1", 30], ["b", 2, None]],
        "DEMAND": [["mineral", "period", "demand", "Reserve Target"],
                   ["A", "2027-Q1", " 50 ", None], [" a", "2027-Q2", 50, None],
                   [], ["B", "2027-Q1", 10, None], ["B", "2027-Q2", "30", 20]],
        "Offers": [["Supplier", "Country", "Mineral", "Price", "Capacity", "Period"],
                   ["S1", "china", "A", 10, "100", None],
                   ["S2", "Australia", "a", "20", 100, ""],
                   ["S3", "Canada", "B", 5, 50, "2027-Q2"]],
        "Policy": [["Key", "Value"], ["max china share", 0.2]],
    }, 2050.0),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("balance", ["p", "x"])
def test_hand_cases(tmp_path, name, balance):
    book, expected = CASES[name]
    path = write_book(tmp_path / "case.xlsx", book)
    out = run_floor(path, "--balance", balance)
    assert out["status"] == "optimal"
    assert out["objective"] == pytest.approx(expected, rel=1e-9, abs=1e-6)


def test_hand_case_shape(tmp_path):
    path = write_book(tmp_path / "case.xlsx", BASE)
    data = floor.load(floor.read_workbook(str(path)))
    m = floor.build(data)
    # x: o1, o2 in 2 periods + o3 in 1 = 5; s, r, d, P: 4 each
    assert m["nX"] == 5
    assert m["ncol"] == 5 + 4 * 4
    # balance, target, total: 4 each; China rows: A in 2027 and 2028 (B has no
    # exposed offer); no country rows (no cap)
    assert m["n_china_rows"] == 2 and m["n_country_rows"] == 0
    assert m["nrow"] == 12 + 2


# ---------------------------------------------------------------------------
# independent transcription of FORMULATION.md on a generated workbook
# ---------------------------------------------------------------------------

def _norm(s):
    return "_".join(str(s).strip().lower().replace("_", " ").split())


def _blank(v):
    return v is None or (isinstance(v, str) and not v.strip())


def _read(path):
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out = {}
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        head = [_norm(h) if h is not None else "" for h in rows[0]]
        out[_norm(ws.title)] = [dict(zip(head, r)) for r in rows[1:]
                                if any(not _blank(v) for v in r)]
    return out


def reference_objective(path) -> float:
    import pulp

    wb = _read(path)
    pol = {_norm(r["key"]): r["value"] for r in wb.get("policy", []) if not _blank(r.get("value"))}
    days = float(pol.get("days_per_period", 365))
    rdays = pol.get("reserve_days")
    china_default = float(pol.get("max_china_share", 1))
    country_default = float(pol.get("max_country_share", 1))

    minerals = {}
    for r in wb["minerals"]:
        minerals[r["mineral"].strip().lower()] = r
    demand = {}
    periods = set()
    for r in wb["demand"]:
        key = (r["mineral"].strip().lower(), r["period"])
        demand[key] = r
        periods.add(r["period"])
    T = sorted(periods)
    concern, cap = {"china": True}, {}
    for r in wb.get("countries", []):
        c = r["country"].strip().lower()
        concern[c] = str(r.get("concern") or ("yes" if c == "china" else "no")).lower() in ("yes", "y", "true", "1")
        cap[c] = country_default if _blank(r.get("max_share")) else float(r["max_share"])

    offers = []
    for r in wb["offers"]:
        c = r["country"].strip().lower()
        pc = c if _blank(r.get("processing_country")) else r["processing_country"].strip().lower()
        e = (1.0 if (concern.get(c, c == "china") or concern.get(pc, pc == "china")) else 0.0) \
            if _blank(r.get("china_share")) else float(r["china_share"])
        cover = T if _blank(r.get("period")) else [r["period"]]
        offers.append(dict(m=r["mineral"].strip().lower(), c=c, e=e, p=float(r["price"]),
                           u=float(r["capacity"]), T=cover))

    maxp_all = max(o["p"] for o in offers)
    prob = pulp.LpProblem("ref", pulp.LpMinimize)
    obj = []
    x = {}
    for i, o in enumerate(offers):
        for t in o["T"]:
            x[i, t] = prob.add_variable(f"x_{i}_{T.index(t)}", lowBound=0, upBound=o["u"])
            obj.append(o["p"] * x[i, t])
    for mi, (m, row) in enumerate(minerals.items()):
        mine = [i for i, o in enumerate(offers) if o["m"] == m]
        maxp = max((offers[i]["p"] for i in mine), default=maxp_all)
        P = float(row["shortfall_penalty"]) if not _blank(row.get("shortfall_penalty")) else 10 * maxp
        Q = float(row["reserve_penalty"]) if not _blank(row.get("reserve_penalty")) else 0.5 * P
        h = float(row.get("holding_cost") or 0)
        R0 = float(row.get("initial_reserve") or 0)
        a = china_default if _blank(row.get("max_china_share")) else float(row["max_china_share"])
        prev = R0
        for ti, t in enumerate(T):
            dr = demand.get((m, t))
            D = float(dr["demand"]) if dr else 0.0
            if dr and not _blank(dr.get("reserve_target")):
                G = float(dr["reserve_target"])
            elif dr and rdays is not None:
                G = float(rdays) / days * D
            else:
                G = 0.0
            s = prob.add_variable(f"s_{mi}_{ti}", lowBound=0, upBound=D)
            r = prob.add_variable(f"r_{mi}_{ti}", lowBound=0)
            d = prob.add_variable(f"d_{mi}_{ti}", lowBound=0)
            xs = [(i, x[i, t]) for i in mine if (i, t) in x]
            tot = pulp.lpSum(v for _, v in xs)
            prob += prev + tot + s == D + r
            prob += r + d >= G
            if a < 1 and xs:
                prob += pulp.lpSum(offers[i]["e"] * v for i, v in xs) <= a * tot
            for c in sorted({offers[i]["c"] for i, _ in xs}):
                b = cap.get(c, country_default)
                if b < 1:
                    prob += pulp.lpSum(v for i, v in xs if offers[i]["c"] == c) <= b * tot
            obj += [h * r, P * s, Q * d]
            prev = r
    prob += pulp.lpSum(obj)
    status = prob.solve(pulp.HiGHS(msg=False))
    assert status.status == pulp.LpSolveStatus.Optimal
    return pulp.value(prob.objective)


TINY = dict(minerals=5, suppliers=18, periods=12, offer_frac=0.3, single_frac=0.1)


@pytest.mark.parametrize("seed", [1, 7])
def test_against_reference(tmp_path, seed):
    path = tmp_path / "tiny.xlsx"
    generate.generate(TINY, path, seed=seed)
    out = run_floor(path)
    ref = reference_objective(path)
    assert out["status"] == "optimal"
    assert out["objective"] == pytest.approx(ref, rel=1e-7)


def test_generated_small_is_deterministic(tmp_path):
    a = generate.build(dict(generate.SIZES["small"], name="small"), 3)
    b = generate.build(dict(generate.SIZES["small"], name="small"), 3)
    assert a == b
    shape = a["shape"]
    assert 8_000 <= shape["purchase_variables"] <= 12_000
    assert shape["countries"] == 25 and shape["periods"] == 60


# ---------------------------------------------------------------------------
# rejection of what the floor does not model
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("book,fragment", [
    (variant(Offers=[["supplier", "country", "mineral", "price", "capacity", "agreement", "fixed_cost"],
                     ["S1", "China", "A", 10, 100, "optional", 5]]), "spot offers only"),
    (variant(Policy=[["key", "value"], ["share_basis", "value"]]), "share_basis"),
    (variant(Policy=[["key", "value"], ["budget_total", 1000]]), "budget_total"),
    (variant(Policy=[["key", "value"], ["max_chna_share", 0.2]]), "not a policy key"),
    (variant(Offers=[["supplier", "country", "mineral", "price", "capacity", "period"],
                     ["S1", "China", "A", 10, 100, 2031]]), "not a Demand period"),
    (variant(Offers=[["supplier", "country", "mineral", "price", "capacity"],
                     ["S1", "China", "Zinc", 10, 100]]), "not in Minerals"),
])
def test_rejects_unsupported(tmp_path, book, fragment):
    path = write_book(tmp_path / "bad.xlsx", book)
    proc = subprocess.run([sys.executable, str(HERE / "floor.py"), str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert fragment in proc.stderr
