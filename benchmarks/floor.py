#!/usr/bin/env python
"""The floor: the procurement LP with no modelling layer.

    python benchmarks/floor.py WORKBOOK [--json OUT] [--balance p|x] [--option KEY=VALUE]... [--stats]

Reads the workbook with python-calamine, builds the model of
the specification FORMULATION.md with vectorised numpy (a column-wise sparse
matrix assembled directly, no per-term Python loops), hands it to highspy in
one ``passModel`` call and solves it (log off, HiGHS defaults otherwise).

It supports what ``benchmarks/generate.py`` emits, and blocked offers and
countries; anything else is rejected with a clear message (exit code 1):

* spot offers only (``agreement`` blank or ``spot``; ``min_volume`` and
  ``fixed_cost`` blank or 0), so the model is a pure LP;
* ``share_basis`` = ``quantity`` (weights w = 1);
* no supplier cap, ally share, ESG rules or budgets;
* no scenario file.

Model (FORMULATION.md, constraints 1-4 and 8 for spot offers), per mineral m
and period t, with an auxiliary purchase total ``P[m,t] = sum x`` so that each
share-cap row holds only its own offers plus ``P``:

    balance   r[m,t-1] + P[m,t] + s[m,t] - r[m,t] = D[m,t]    (r[m,t0] = R0[m])
    target    r[m,t] + d[m,t] >= G[m,t]
    total     P[m,t] - sum_{o in O(m,t)} x[o,t] = 0
    china     sum e[o] x[o,t] - a[m] P[m,t] <= 0               (a[m] < 1)
    country   sum_{c[o]=c} x[o,t] - b[c] P[m,t] <= 0           (b[c] < 1)
    bounds    0 <= x <= u, 0 <= s <= D, r, d, P >= 0
    minimize  sum p x + sum h r + sum P_m s + sum Q_m d

``--balance x`` writes the balance with ``sum x`` instead of ``P`` (the
literal FORMULATION.md form; same optimum).  China rows are written only for
(m, t) that have an offer with exposure > 0 (without one the row reads
``-a P <= 0``, which ``P >= 0`` already implies).
"""
from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402

import highspy  # noqa: E402
import numpy as np  # noqa: E402
from python_calamine import CalamineWorkbook  # noqa: E402

INF = highspy.kHighsInf


class InputError(Exception):
    pass


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------

def norm(name) -> str:
    """Header / sheet / key normalisation: case, surrounding spaces, space = underscore."""
    return re.sub(r"[\s_]+", "_", str(name).strip().lower())


def _is_blank(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


class Sheet:
    """A sheet as columns (tuples of cell values), blank rows dropped."""

    def __init__(self, name: str, rows: list):
        self.name = name
        if not rows:
            self.header, self.cols, self.excel_row, self.n = [], {}, np.zeros(0, int), 0
            return
        self.header = [norm(h) for h in rows[0]]
        data, excel_row = [], []
        for i, r in enumerate(rows[1:], start=2):
            if any(not _is_blank(v) for v in r):
                data.append(r)
                excel_row.append(i)
        self.n = len(data)
        self.excel_row = np.array(excel_row, dtype=np.int64)
        cols = list(zip(*data)) if data else [() for _ in self.header]
        self.cols = {}
        for h, c in zip(self.header, cols):
            if h and h not in self.cols:
                self.cols[h] = c

    def has(self, col: str) -> bool:
        return col in self.cols

    def col(self, col: str, required: bool = False):
        if col in self.cols:
            return self.cols[col]
        if required:
            raise InputError(f"{self.name}: missing required column '{col}'")
        return ("",) * self.n

    # -- typed columns ------------------------------------------------------
    def _where(self, i: int, col: str, v) -> str:
        return f"{self.name} row {self.excel_row[i]} column {col}: {v!r}"

    def num(self, col: str, required: bool = False, default: float = math.nan,
            lo: float | None = None, hi: float | None = None) -> np.ndarray:
        """Numeric column; blanks -> default (nan = 'blank')."""
        raw = self.col(col, required)
        a = np.array(raw, dtype=object)
        if a.size == 0:
            return np.zeros(0)
        blank = np.array([_is_blank(v) for v in raw], dtype=bool)
        out = np.full(a.size, default, dtype=float)
        vals = a[~blank]
        try:
            if any(isinstance(v, bool) for v in vals):
                raise TypeError
            out[~blank] = vals.astype(float)
        except (ValueError, TypeError):
            parsed = []
            for i, v in zip(np.flatnonzero(~blank), vals):
                try:
                    if isinstance(v, bool):
                        raise ValueError
                    parsed.append(float(v.replace(",", "").strip()) if isinstance(v, str) else float(v))
                except (ValueError, TypeError, AttributeError):
                    raise InputError(self._where(i, col, v) + " is not a number") from None
            out[~blank] = parsed
        if required and blank.any():
            i = int(np.flatnonzero(blank)[0])
            raise InputError(self._where(i, col, "") + " is required")
        bad = ~blank & ~np.isfinite(out)
        if lo is not None:
            bad |= ~blank & (out < lo)
        if hi is not None:
            bad |= ~blank & (out > hi)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(self._where(i, col, raw[i]) + f" must be within [{lo}, {hi}]")
        return out

    def key(self, col: str, required: bool = False) -> np.ndarray:
        """Key strings: trimmed, lower-cased (case-insensitive matching); blank -> ''."""
        raw = self.col(col, required)
        keys = ["" if _is_blank(v) else _text(v).strip().lower() for v in raw]
        if required and "" in keys:
            i = keys.index("")
            raise InputError(self._where(i, col, "") + " is required")
        return np.array(keys, dtype=object)

    def yesno(self, col: str, default: bool | None = False) -> np.ndarray:
        """Yes/no column; blank -> default (None: returns -1 for blank)."""
        raw = self.col(col)
        out = np.empty(len(raw), dtype=np.int8)
        for i, v in enumerate(raw):
            if _is_blank(v):
                out[i] = -1 if default is None else int(default)
            elif isinstance(v, bool):
                out[i] = int(v)
            elif isinstance(v, (int, float)) and v in (0, 1):
                out[i] = int(v)
            else:
                s = str(v).strip().lower()
                if s in ("yes", "y", "true", "1"):
                    out[i] = 1
                elif s in ("no", "n", "false", "0"):
                    out[i] = 0
                else:
                    raise InputError(self._where(i, col, v) + " is not yes/no")
        return out


def _text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _period(v):
    """A period cell -> int (whole number, numeric or text) or str (other text)."""
    if isinstance(v, bool):
        raise ValueError
    if isinstance(v, (int, float)):
        if float(v).is_integer():
            return int(v)
        raise ValueError
    s = str(v).strip()
    try:
        f = float(s.replace(",", ""))
    except ValueError:
        return s
    if f.is_integer():
        return int(f)
    raise ValueError


def read_workbook(path: str) -> dict:
    wb = CalamineWorkbook.from_path(path)
    names = {norm(n): n for n in wb.sheet_names}

    def sheet(key: str, required: bool) -> Sheet | None:
        if key not in names:
            if required:
                raise InputError(f"missing required sheet '{key}'")
            return None
        return Sheet(names[key], wb.get_sheet_by_name(names[key]).to_python(skip_empty_area=False))

    return {k: sheet(k, k in ("minerals", "demand", "offers"))
            for k in ("minerals", "demand", "offers", "countries", "policy")}


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------

POLICY_KEYS = {
    "max_china_share", "max_country_share", "max_supplier_share", "share_basis",
    "min_ally_share", "min_esg_score", "min_avg_esg", "reserve_days",
    "days_per_period", "budget_total", "budget_per_period", "scenario",
}


def policy(sh: Sheet | None) -> dict:
    pol = {}
    if sh is None:
        return pol
    keys = sh.col("key", True)
    vals = sh.col("value", True)
    for i, (k, v) in enumerate(zip(keys, vals)):
        if _is_blank(k):
            continue
        k = norm(k)
        if k not in POLICY_KEYS:
            raise InputError(sh._where(i, "key", k) + " is not a policy key")
        if _is_blank(v):
            continue
        if k in ("share_basis", "scenario"):
            pol[k] = str(v).strip()
        else:
            try:
                pol[k] = float(v.replace(",", "")) if isinstance(v, str) else float(v)
            except (ValueError, TypeError):
                raise InputError(sh._where(i, "value", v) + f" is not a number (policy {k})") from None
    return pol


def load(sheets: dict) -> dict:
    """Workbook sheets -> numpy model data (offers after exclusions)."""
    pol = policy(sheets["policy"])
    # -- unsupported features --------------------------------------------------
    if pol.get("share_basis", "quantity").lower() != "quantity":
        raise InputError("floor: only share_basis = quantity is supported")
    for k, neutral in (("max_supplier_share", 1.0), ("min_ally_share", 0.0)):
        if k in pol and pol[k] != neutral:
            raise InputError(f"floor: policy {k} is not supported")
    for k in ("min_esg_score", "min_avg_esg", "budget_total", "budget_per_period"):
        if k in pol:
            raise InputError(f"floor: policy {k} is not supported")
    china_default = pol.get("max_china_share", 1.0)
    country_default = pol.get("max_country_share", 1.0)
    days = pol.get("days_per_period", 365.0)
    reserve_days = pol.get("reserve_days")
    if days <= 0:
        raise InputError("Policy days_per_period must be > 0")

    # -- minerals --------------------------------------------------------------
    sh = sheets["minerals"]
    mkeys = sh.key("mineral", True)
    nM = len(mkeys)
    if len(set(mkeys)) != nM:
        raise InputError("Minerals: duplicated mineral")
    morder = np.argsort(mkeys.astype(str))
    msorted = mkeys.astype(str)[morder]
    a = sh.num("max_china_share", lo=0, hi=1)
    a = np.where(np.isnan(a), china_default, a)
    pen_in = sh.num("shortfall_penalty", lo=0)
    if (pen_in[~np.isnan(pen_in)] <= 0).any():
        raise InputError("Minerals: shortfall_penalty must be > 0")
    rpen_in = sh.num("reserve_penalty", lo=0)
    h = sh.num("holding_cost", default=0.0, lo=0)
    R0 = sh.num("initial_reserve", default=0.0, lo=0)

    def mineral_index(keys: np.ndarray, where: Sheet, col: str) -> np.ndarray:
        ks = keys.astype(str)
        pos = np.searchsorted(msorted, ks)
        pos = np.minimum(pos, nM - 1)
        ok = msorted[pos] == ks
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise InputError(where._where(i, col, keys[i]) + " is not in Minerals")
        return morder[pos]

    # -- demand and periods ----------------------------------------------------
    sh = sheets["demand"]
    dm = mineral_index(sh.key("mineral", True), sh, "mineral")
    praw = sh.col("period", True)
    try:
        dper = [_period(v) if not _is_blank(v) else None for v in praw]
    except ValueError:
        raise InputError("Demand: a period is neither a whole number nor text") from None
    if None in dper:
        raise InputError(sh._where(dper.index(None), "period", "") + " is required")
    kinds = {type(p) for p in dper}
    if len(kinds) > 1:
        raise InputError("Demand: periods mix numbers and text")
    periods = sorted(set(dper))
    nT = len(periods)
    pidx = {p: i for i, p in enumerate(periods)}
    dt = np.array([pidx[p] for p in dper], dtype=np.int64)
    dval = sh.num("demand", True, lo=0)
    tgt = sh.num("reserve_target", lo=0)
    nMT = nM * nT
    mt = dm * nT + dt
    if np.bincount(mt, minlength=nMT).max(initial=0) > 1:
        raise InputError("Demand: duplicated (mineral, period) pair")
    D = np.zeros(nMT)
    D[mt] = dval
    if reserve_days is not None:
        tgt = np.where(np.isnan(tgt), reserve_days / days * dval, tgt)
    G = np.zeros(nMT)
    G[mt] = np.nan_to_num(tgt, nan=0.0)

    # -- countries ---------------------------------------------------------------
    sh = sheets["countries"]
    ckeys = ["china"]
    concern = {"china": True}
    cap = {}
    blocked_c = set()
    if sh is not None:
        ck = sh.key("country", True)
        con = sh.yesno("concern", default=None)
        b = sh.num("max_share", lo=0, hi=1)
        blk = sh.yesno("blocked", default=False)
        for i, k in enumerate(ck):
            if k in cap:
                raise InputError(sh._where(i, "country", k) + " is duplicated")
            concern[k] = bool(con[i]) if con[i] >= 0 else (k == "china")
            cap[k] = country_default if np.isnan(b[i]) else float(b[i])
            if blk[i]:
                blocked_c.add(k)
            if k not in ckeys:
                ckeys.append(k)

    # -- offers ------------------------------------------------------------------
    sh = sheets["offers"]
    sh.col("supplier", True)
    oc_key = sh.key("country", True)
    om_all = mineral_index(sh.key("mineral", True), sh, "mineral")
    price = sh.num("price", True, lo=0)
    capu = sh.num("capacity", True, lo=0)
    pk = sh.key("processing_country")
    pk = np.where(pk == "", oc_key, pk)
    share_in = sh.num("china_share", lo=0, hi=1)
    agree = sh.key("agreement")
    if not np.isin(agree, ["", "spot"]).all():
        i = int(np.flatnonzero(~np.isin(agree, ["", "spot"]))[0])
        raise InputError(sh._where(i, "agreement", agree[i]) + ": floor supports spot offers only")
    for col in ("min_volume", "fixed_cost"):
        v = sh.num(col, default=0.0, lo=0)
        if (v != 0).any():
            i = int(np.flatnonzero(v != 0)[0])
            raise InputError(sh._where(i, col, v[i]) + ": floor supports spot offers only")
    blocked = sh.yesno("blocked", default=False).astype(bool)
    # offer periods: blank = every period (-1)
    opraw = sh.col("period")
    kind = next(iter(kinds))
    op = np.full(sh.n, -1, dtype=np.int64)
    for i, v in enumerate(opraw):
        if _is_blank(v):
            continue
        try:
            p = _period(v)
        except ValueError:
            p = None
        if p is None or type(p) is not kind or p not in pidx:
            raise InputError(sh._where(i, "period", v) + " is not a Demand period")
        op[i] = pidx[p]

    # country ids (origin countries and processing countries)
    for k in set(oc_key) | set(pk):
        if k not in concern:
            concern[k] = k == "china"
            ckeys.append(k)
    cidx = {k: i for i, k in enumerate(ckeys)}
    oc_all = np.array([cidx[k] for k in oc_key], dtype=np.int64)
    pc_all = np.array([cidx[k] for k in pk], dtype=np.int64)
    c_concern = np.array([concern[k] for k in ckeys], dtype=bool)
    c_blocked = np.array([k in blocked_c for k in ckeys], dtype=bool)
    bcap = np.array([cap.get(k, country_default) for k in ckeys], dtype=float)

    # exclusions
    keep = ~blocked & ~c_blocked[oc_all] & ~c_blocked[pc_all]
    e_all = np.where(np.isnan(share_in),
                     (c_concern[oc_all] | c_concern[pc_all]).astype(float), share_in)

    # default penalties (over remaining offers, any period)
    pk_price = price[keep]
    pk_m = om_all[keep]
    if pk_price.size:
        maxp = np.full(nM, -np.inf)
        np.maximum.at(maxp, pk_m, pk_price)
        maxp = np.where(np.isfinite(maxp), maxp, pk_price.max())
        pen_default = 10.0 * maxp
    else:
        pen_default = np.ones(nM)
    pen = np.where(np.isnan(pen_in), pen_default, pen_in)
    rpen = np.where(np.isnan(rpen_in), pen / (nT + 1), rpen_in)  # WORKBOOK.md: P / (number of periods + 1)

    return dict(
        nM=nM, nT=nT, periods=periods, nC=len(ckeys),
        D=D, G=G, R0=R0, h=h, pen=pen, rpen=rpen, a=a, b=bcap,
        om=om_all[keep], oc=oc_all[keep], oe=e_all[keep], op=op[keep],
        price=price[keep], cap=capu[keep], n_excluded=int((~keep).sum()),
        scenario=pol.get("scenario", "base"),
    )


# ---------------------------------------------------------------------------
# build: a column-wise (CSC) matrix, assembled directly
# ---------------------------------------------------------------------------

def build(d: dict, balance: str = "p") -> dict:
    nM, nT, nC = d["nM"], d["nT"], d["nC"]
    nMT = nM * nT
    om, oc, oe, op = d["om"], d["oc"], d["oe"], d["op"]
    nO = om.size
    i32 = np.int32

    # purchase variables x[o, t], grouped by offer, periods in order
    cover = np.where(op < 0, nT, 1)
    nX = int(cover.sum())
    xo = np.repeat(np.arange(nO), cover)
    first = np.cumsum(cover) - cover
    pos = np.arange(nX) - np.repeat(first, cover)
    xt = np.where(op[xo] < 0, pos, op[xo])
    xm = om[xo]
    xmt = xm * nT + xt

    # column blocks
    cS, cR, cD, cP = nX, nX + nMT, nX + 2 * nMT, nX + 3 * nMT
    ncol = nX + 4 * nMT
    # row blocks: balance, target, total, china, country
    rB, rG, rT, rCh = 0, nMT, 2 * nMT, 3 * nMT

    a_m = d["a"]
    e = oe[xo]
    xch = (e > 0) & (a_m[xm] < 1)
    ch_mark = np.zeros(nMT, dtype=bool)
    ch_mark[xmt[xch]] = True
    nCh = int(ch_mark.sum())
    ch_row = np.full(nMT, -1, dtype=np.int64)
    ch_row[ch_mark] = rCh + np.arange(nCh)

    b_c = d["b"]
    xc = oc[xo]
    xco = b_c[xc] < 1
    ckey = xmt * nC + xc
    co_mark = np.zeros(nMT * nC, dtype=bool)
    co_mark[ckey[xco]] = True
    nCo = int(co_mark.sum())
    rCo = rCh + nCh
    co_row_of_key = np.cumsum(co_mark) - 1 + rCo
    nrow = rCo + nCo

    # --- x columns: [balance], total, china, country -------------------------
    k = 4 if balance == "x" else 3
    rows = np.full((nX, k), -1, dtype=np.int64)
    vals = np.zeros((nX, k))
    j = 0
    if balance == "x":
        rows[:, 0] = rB + xmt
        vals[:, 0] = 1.0
        j = 1
    rows[:, j] = rT + xmt
    vals[:, j] = -1.0
    rows[xch, j + 1] = ch_row[xmt[xch]]
    vals[:, j + 1] = e
    rows[xco, j + 2] = co_row_of_key[ckey[xco]]
    vals[:, j + 2] = 1.0
    mask = rows >= 0
    x_index = rows[mask]
    x_value = vals[mask]
    x_count = mask.sum(axis=1)

    # --- s, r, d, P columns (nMT each): small, COO then sort by column ----------
    mtv = np.arange(nMT)
    tt = mtv % nT
    mm = mtv // nT
    nxt = tt < nT - 1
    co_keys = np.flatnonzero(co_mark)
    parts = [
        (cS + mtv, rB + mtv, np.ones(nMT)),                        # s: balance
        (cR + mtv, rB + mtv, -np.ones(nMT)),                       # r[t]: balance t
        (cR + mtv[nxt], rB + mtv[nxt] + 1, np.ones(int(nxt.sum()))),  # r[t]: balance t+1
        (cR + mtv, rG + mtv, np.ones(nMT)),                        # r: target
        (cD + mtv, rG + mtv, np.ones(nMT)),                        # d: target
        (cP + mtv, rT + mtv, np.ones(nMT)),                        # P: total
        (cP + np.flatnonzero(ch_mark), ch_row[ch_mark], -a_m[mm[ch_mark]]),  # P: china
        (cP + co_keys // nC, rCo + np.arange(nCo), -b_c[co_keys % nC]),      # P: country
    ]
    if balance == "p":
        parts.append((cP + mtv, rB + mtv, np.ones(nMT)))           # P: balance
    ccol = np.concatenate([p[0] for p in parts])
    crow = np.concatenate([p[1] for p in parts])
    cval = np.concatenate([p[2] for p in parts])
    order = np.lexsort((crow, ccol))
    ccol, crow, cval = ccol[order], crow[order], cval[order]
    o_count = np.bincount(ccol - nX, minlength=4 * nMT)

    count = np.concatenate([x_count, o_count])
    start = np.zeros(ncol + 1, dtype=i32)
    np.cumsum(count, out=start[1:])
    index = np.concatenate([x_index, crow]).astype(i32)
    value = np.concatenate([x_value, cval])

    # --- costs and bounds ---------------------------------------------------------
    D, G = d["D"], d["G"]
    cost = np.concatenate([d["price"][xo], d["pen"][mm], d["h"][mm], d["rpen"][mm], np.zeros(nMT)])
    lower = np.zeros(ncol)
    upper = np.concatenate([d["cap"][xo], D, np.full(3 * nMT, INF)])
    rhs_b = D.copy()
    rhs_b[tt == 0] -= d["R0"]
    row_lower = np.concatenate([rhs_b, G, np.zeros(nMT), np.full(nCh + nCo, -INF)])
    row_upper = np.concatenate([rhs_b, np.full(nMT, INF), np.zeros(nMT), np.zeros(nCh + nCo)])
    return dict(ncol=ncol, nrow=nrow, nnz=int(start[-1]), cost=cost, lower=lower, upper=upper,
                row_lower=row_lower, row_upper=row_upper, start=start, index=index, value=value,
                nX=nX, nMT=nMT, n_china_rows=nCh, n_country_rows=nCo)


def solve(m: dict, options: dict | None = None):
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for k, v in (options or {}).items():
        h.setOptionValue(k, v)
    st = h.passModel(m["ncol"], m["nrow"], m["nnz"], int(highspy.MatrixFormat.kColwise),
                     int(highspy.ObjSense.kMinimize), 0.0,
                     m["cost"], m["lower"], m["upper"], m["row_lower"], m["row_upper"],
                     m["start"], m["index"], m["value"],
                     np.zeros(m["ncol"], dtype=np.int32))  # integrality: all continuous
    if st == highspy.HighsStatus.kError:
        raise RuntimeError("highspy passModel failed")
    return h


def _option_value(v: str):
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Solve the procurement LP with numpy + highspy only.")
    ap.add_argument("workbook")
    ap.add_argument("--json", help="write {status, objective, seconds, size} here")
    ap.add_argument("--balance", choices=["p", "x"], default="p",
                    help="balance row with the purchase total P (default) or with sum x")
    ap.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                    help="a HiGHS option (repeatable), e.g. presolve=off, to match procure's settings")
    ap.add_argument("--stats", action="store_true",
                    help="after timing: extract the solution and print shortfall and exposure")
    args = ap.parse_args(argv)

    options = {}
    for kv in args.option:
        k, _, v = kv.partition("=")
        options[k.strip()] = _option_value(v.strip())

    t_imp = time.perf_counter()
    try:
        sheets = read_workbook(args.workbook)
        data = load(sheets)
    except InputError as exc:
        print(f"floor: input problem: {exc}", file=sys.stderr)
        return 1
    t_read = time.perf_counter()
    model = build(data, args.balance)
    h = solve(model, options)
    t_build = time.perf_counter()
    h.run()
    t_solve = time.perf_counter()

    ms = h.getModelStatus()
    status = "optimal" if ms == highspy.HighsModelStatus.kOptimal else h.modelStatusToString(ms)
    obj = h.getInfo().objective_function_value
    out = {
        "status": status,
        "objective": obj,
        "seconds": {
            "import": round(t_imp - _T0, 4),
            "read": round(t_read - t_imp, 4),
            "build": round(t_build - t_read, 4),
            "solve": round(t_solve - t_build, 4),
            "total": round(t_solve - _T0, 4),
        },
        "size": {"purchase_variables": model["nX"], "columns": model["ncol"], "rows": model["nrow"],
                 "nonzeros": model["nnz"], "china_rows": model["n_china_rows"],
                 "country_rows": model["n_country_rows"], "offers": int(data["om"].size),
                 "excluded_offers": data["n_excluded"], "minerals": data["nM"], "periods": data["nT"]},
    }
    if args.stats:
        x = np.asarray(h.getSolution().col_value)
        nX, nMT = model["nX"], model["nMT"]
        s, r, dd, P = (x[nX + i * nMT: nX + (i + 1) * nMT] for i in range(4))
        xv = x[:nX]
        cover = np.where(data["op"] < 0, data["nT"], 1)
        e = np.repeat(data["oe"], cover)
        out["stats"] = {
            "demand": float(data["D"].sum()), "shortfall": float(s.sum()),
            "reserve_target": float(data["G"].sum()), "reserve_deficit": float(dd.sum()),
            "bought": float(xv.sum()),
            "china_share": float((e * xv).sum() / max(xv.sum(), 1e-300)),
            "spend": float((model["cost"][:nX] * xv).sum() + (model["cost"][nX + nMT: nX + 2 * nMT] * r).sum()),
        }
    line = json.dumps(out)
    print(line)
    if args.json:
        with open(args.json, "w") as f:
            f.write(line + "\n")
    return 0 if status == "optimal" else 3


if __name__ == "__main__":
    sys.exit(main())
