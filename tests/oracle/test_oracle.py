"""Tests of the reference implementation itself, on tiny hand-solved workbooks.

Each workbook is small enough to solve by hand; the optimum is worked out in
the comment above its assertion.
"""

from __future__ import annotations

import math

import openpyxl
import pytest

from .random_workbooks import random_workbook
from .reference import norm_name, read_model, solve_reference


def write_wb(path, **sheets) -> str:
    """Write a workbook: each keyword is a sheet name, its value a list of rows,
    the first row being the header."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(list(row))
    wb.save(path)
    return str(path)


def approx(value):
    return pytest.approx(value, rel=1e-9, abs=1e-7)


OFFER_HEADER = ["supplier", "country", "mineral", "price", "capacity"]


def test_one_offer(tmp_path):
    # Demand 10, one offer at 5: buy 10 -> cost 5 x 10 = 50 (the default
    # shortfall penalty, 10 x 5 = 50/unit, makes buying the better choice).
    wb = write_wb(
        tmp_path / "one.xlsx",
        Minerals=[["Mineral"], ["Gallium"]],
        Demand=[["mineral", "period", "demand"], ["gallium ", 2027, "10"]],
        Offers=[OFFER_HEADER, ["Acme", "USA", "GALLIUM", 5, 100]],
    )
    res = solve_reference(wb)
    assert res["status"] == "optimal"
    assert res["objective"] == approx(50)
    assert res["spend"] == approx(50)
    assert res["shortfall"] == approx(0)


def test_china_cap_forces_dearer_offer(tmp_path):
    # Demand 10; China at 5, USA at 8; Policy max_china_share 0.2 (by quantity):
    # x_cn <= 0.2 (x_cn + x_us) <=> x_cn <= x_us / 4, with x_cn + x_us >= 10
    # -> x_us = 8, x_cn = 2: 8 x 8 + 2 x 5 = 74 (the shortfall penalty is 80/unit,
    # so buying is cheaper than leaving demand unmet).
    wb = write_wb(
        tmp_path / "cap.xlsx",
        Minerals=[["mineral", " Max China Share "], ["Gallium", None]],
        Demand=[["mineral", "period", "demand"], ["Gallium", 2027, 10]],
        Offers=[
            OFFER_HEADER,
            ["Cathay", "china", "Gallium", 5, 100],
            ["Acme", "USA", "Gallium", 8, 100],
        ],
        Policy=[["key", "value"], ["max_china_share", "0.2"]],
    )
    assert solve_reference(wb)["objective"] == approx(74)


def test_optional_agreement_signed_only_when_worth_it(tmp_path):
    # Two periods, demand 10 each; spot at 10 in every period; an optional
    # agreement at 4 (every period, capacity 100, min_volume 5).
    # fixed_cost 50: signing costs 50 + 4 x 20 = 130 < 200 (spot only) -> 130.
    # fixed_cost 150: 150 + 80 = 230 > 200 -> left unsigned, 200.
    def build(fixed):
        return write_wb(
            tmp_path / f"opt{fixed}.xlsx",
            Minerals=[["mineral"], ["Lithium"]],
            Demand=[["mineral", "period", "demand"], ["Lithium", "2028", 10], ["Lithium", 2027.0, 10]],
            Offers=[
                OFFER_HEADER + ["agreement", "min_volume", "Fixed Cost"],
                ["Spotco", "Chile", "Lithium", 10, 100, "spot", None, None],
                ["Dealco", "Australia", "Lithium", 4, 100, "Optional", 5, fixed],
            ],
        )

    assert solve_reference(build(50))["objective"] == approx(130)
    assert solve_reference(build(150))["objective"] == approx(200)


def test_signed_minimum_against_budget(tmp_path):
    # A signed contract at 10 with min_volume 10 forces 10 x 10 = 100 of spend
    # (demand is 6; the other 4 units go to the reserve, holding cost 0).
    # budget_total 50 < 100 -> infeasible; budget_total "1,000" -> objective 100.
    def build(budget):
        return write_wb(
            tmp_path / f"signed{budget}.xlsx",
            Minerals=[["mineral"], ["Cobalt"]],
            Demand=[["mineral", "period", "demand"], ["Cobalt", 2027, 6]],
            Offers=[
                OFFER_HEADER + ["agreement", "min_volume"],
                ["Mineco", "Congo", "Cobalt", 10, 20, "SIGNED", 10],
            ],
            Policy=[["Key", "Value"], ["Budget Total", budget]],
        )

    assert solve_reference(build(50))["status"] == "infeasible"
    assert solve_reference(build(50))["objective"] is None
    res = solve_reference(build("1,000"))
    assert res["status"] == "optimal"
    assert res["objective"] == approx(100)


def test_reserve_days_target_with_holding_cost(tmp_path):
    # Policy reserve_days 73, days_per_period 365, demand 100 -> target 20.
    # Price 10, holding 2/unit/period, reserve penalty = 100 / (1 period + 1) = 50 > 12:
    # hold the target. Buy 100 + 20 - initial reserve.
    # initial 0: 120 x 10 + 2 x 20 = 1240; initial 5: 115 x 10 + 40 = 1190.
    def build(initial):
        return write_wb(
            tmp_path / f"reserve{initial}.xlsx",
            Minerals=[["mineral", "holding_cost", "initial_reserve"], ["Graphite", 2, initial]],
            Demand=[["mineral", "period", "demand", "reserve_target"], ["Graphite", 2027, 100, None]],
            Offers=[OFFER_HEADER, ["Acme", "Canada", "Graphite", 10, 1000]],
            Policy=[["key", "value"], ["reserve_days", 73], ["days_per_period", None]],
        )

    res = solve_reference(build(None))
    assert res["objective"] == approx(1240)
    assert res["spend"] == approx(1240)
    assert solve_reference(build(5))["objective"] == approx(1190)


def test_share_basis_value_vs_quantity(tmp_path):
    # Demand 10; China at 2, USA at 8; max_china_share 0.5.
    # quantity: x_cn <= x_us -> 5 + 5: 2 x 5 + 8 x 5 = 50.
    # value: 2 x_cn <= 0.5 (2 x_cn + 8 x_us) <=> x_cn <= 4 x_us -> 8 + 2:
    #        2 x 8 + 8 x 2 = 32.
    def build(basis):
        return write_wb(
            tmp_path / f"basis{basis}.xlsx",
            Minerals=[["mineral", "max_china_share"], ["Germanium", 0.5]],
            Demand=[["mineral", "period", "demand"], ["Germanium", "2027-Q1", 10]],
            Offers=[
                OFFER_HEADER,
                ["Cathay", "China", "Germanium", 2, 100],
                ["Acme", "USA", "Germanium", 8, 100],
            ],
            Policy=[["key", "value"], ["share_basis", basis]],
        )

    assert solve_reference(build("quantity"))["objective"] == approx(50)
    assert solve_reference(build("Value"))["objective"] == approx(32)


def test_exclusions_and_default_penalty(tmp_path):
    # Policy min_esg_score 50. Offers: A at 5 (capacity 4, esg 80) stays;
    # B at 20 (esg 30) is below the minimum, U at 1 is unscored, C at 30 is
    # blocked, D at 40 is mined in Russia (blocked on Countries), E at 3 is
    # processed in Russia. Only A remains, so the default shortfall penalty is
    # 10 x 5 = 50 (not 10 x 40). Buy 4 from A, 6 short:
    # 4 x 5 + 6 x 50 = 320; spend 20, shortfall 6.
    wb = write_wb(
        tmp_path / "excl.xlsx",
        Minerals=[["mineral"], ["Tungsten"]],
        Demand=[["mineral", "period", "demand"], ["Tungsten", 2027, 10]],
        Offers=[
            OFFER_HEADER + ["esg_score", "blocked", "processing_country"],
            ["A", "Canada", "Tungsten", 5, 4, 80, "no", None],
            ["B", "Canada", "Tungsten", 20, 100, 30, None, None],
            ["U", "Canada", "Tungsten", 1, 100, None, None, None],
            ["C", "Canada", "Tungsten", 30, 100, 90, "Y", None],
            ["D", "russia", "Tungsten", 40, 100, 90, None, None],
            ["E", "USA", "Tungsten", 3, 100, 90, False, "RUSSIA "],
        ],
        Countries=[["country", "blocked"], ["Russia", True]],
        Policy=[["key", "value"], ["min_esg_score", 50]],
    )
    res = solve_reference(wb)
    assert res["objective"] == approx(320)
    assert res["spend"] == approx(20)
    assert res["shortfall"] == approx(6)
    assert solve_reference(wb, strict=True)["status"] == "infeasible"


def test_periods_sort_numerically(tmp_path):
    # Periods 9 and 10 (written 10, "9" and 9.0): 9 comes first numerically.
    # Demand 10 in period 10 only; the one offer covers period 9 only (price 1),
    # holding cost 1: buy 10 in 9 and hold them one period -> 10 + 10 = 20.
    # (Sorted as text, "10" < "9" and the demand could not be met.)
    wb = write_wb(
        tmp_path / "sort.xlsx",
        Minerals=[["mineral", "holding_cost"], ["Gallium", 1]],
        Demand=[["mineral", "period", "demand"], ["Gallium", 10, 10], ["Gallium", "9", 0]],
        Offers=[OFFER_HEADER + ["period"], ["Acme", "USA", "Gallium", 1, 100, 9.0]],
    )
    model = read_model(wb)
    assert model.periods == [9, 10]
    assert solve_reference(wb)["objective"] == approx(20)


def test_per_period_budget(tmp_path):
    # Two periods, demand 10 each, one offer at 10 in every period;
    # budget_per_period 60 -> buy 6 per period (buying ahead cannot help: the
    # first period's budget is used up), 4 short each at 10 x 10 = 100/unit:
    # 2 x (60 + 4 x 100) = 920; spend 120, shortfall 8. With --strict: infeasible.
    wb = write_wb(
        tmp_path / "pp.xlsx",
        Minerals=[["mineral"], ["Cobalt"]],
        Demand=[["mineral", "period", "demand"], ["Cobalt", "P2", 10], ["Cobalt", "P1", 10]],
        Offers=[OFFER_HEADER, ["Acme", "Australia", "Cobalt", 10, 100]],
        Policy=[["key", "value"], ["budget_per_period", 60]],
    )
    res = solve_reference(wb)
    assert res["objective"] == approx(920)
    assert res["spend"] == approx(120)
    assert res["shortfall"] == approx(8)
    assert solve_reference(wb, strict=True)["status"] == "infeasible"


# --------------------------------------------------------------------------
# random workbooks
# --------------------------------------------------------------------------


def test_random_workbooks_solve(tmp_path):
    statuses = set()
    for seed in range(30):
        path = tmp_path / f"r{seed}.xlsx"
        random_workbook(seed, path)
        res = solve_reference(path)
        statuses.add(res["status"])
        assert res["status"] in ("optimal", "infeasible")
        if res["status"] == "optimal":
            assert math.isfinite(res["objective"])
            assert res["shortfall"] >= -1e-9
            assert res["spend"] <= res["objective"] + 1e-6
        else:
            assert res["objective"] is None
    assert "optimal" in statuses


def _cells(path):
    wb = openpyxl.load_workbook(path)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def test_random_workbook_is_deterministic(tmp_path):
    random_workbook(11, tmp_path / "a.xlsx")
    random_workbook(11, tmp_path / "b.xlsx")
    assert _cells(tmp_path / "a.xlsx") == _cells(tmp_path / "b.xlsx")


def test_random_workbooks_cover_the_workbook_spec(tmp_path):
    # Over a few dozen seeds every column of every sheet and every Policy key
    # appears, with spelling variants and numeric text.
    wanted = {
        "minerals": {"mineral", "unit", "max_china_share", "shortfall_penalty", "reserve_penalty",
                     "holding_cost", "initial_reserve"},
        "demand": {"mineral", "period", "demand", "reserve_target"},
        "offers": {"supplier", "country", "mineral", "price", "capacity", "period",
                   "processing_country", "china_share", "esg_score", "agreement", "min_volume",
                   "fixed_cost", "blocked"},
        "countries": {"country", "concern", "ally", "max_share", "blocked"},
        "policy": {"key", "value"},
    }
    policy_keys = {"max_china_share", "max_country_share", "max_supplier_share", "share_basis",
                   "min_ally_share", "min_esg_score", "min_avg_esg", "reserve_days",
                   "days_per_period", "budget_total", "budget_per_period", "scenario"}
    seen = {sheet: set() for sheet in wanted}
    seen_keys, raw_headers = set(), set()
    numeric_text = comma_text = False
    for seed in range(80):
        path = tmp_path / f"c{seed}.xlsx"
        random_workbook(seed, path)
        for ws in openpyxl.load_workbook(path).worksheets:
            sheet = norm_name(ws.title)
            rows = list(ws.iter_rows(values_only=True))
            if sheet not in wanted or not rows:
                continue
            header = [norm_name(h) for h in rows[0] if h is not None]
            raw_headers.update(h for h in rows[0] if h is not None)
            seen[sheet].update(header)
            for row in rows[1:]:
                for value in row:
                    if isinstance(value, str) and value.strip().replace(",", "").replace(".", "").isdigit():
                        numeric_text = True
                        comma_text |= "," in value
            if sheet == "policy":
                k = header.index("key")
                seen_keys.update(norm_name(r[k]) for r in rows[1:] if r and r[k] is not None)
    for sheet, columns in wanted.items():
        assert columns <= seen[sheet], (sheet, columns - seen[sheet])
    assert policy_keys <= seen_keys, policy_keys - seen_keys
    assert "Max China Share" in raw_headers and " max_china_share " in raw_headers
    assert numeric_text and comma_text
