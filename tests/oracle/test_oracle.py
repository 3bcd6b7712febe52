"""Tests of the reference implementation itself, on tiny hand-solved workbooks.

Each workbook is small enough to solve by hand; the optimum is worked out in
the comment above its assertion.
"""

from __future__ import annotations

import math

import openpyxl
import pytest

from .random_workbooks import random_stochastic_workbook, random_workbook
from .reference import norm_name, read_model, scenario_data, shared_params, solve_reference
from .stochastic_reference import stochastic_measures


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
        "budget": {"period", "budget"},
    }
    policy_keys = {"max_china_share", "max_country_share", "max_supplier_share", "share_basis",
                   "min_ally_share", "min_esg_score", "min_avg_esg", "reserve_days",
                   "days_per_period", "budget_total", "budget_per_period", "scenario", "rebuild_periods"}
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


def test_random_model_files_release_reserves(tmp_path):
    # Over a few dozen seeds some workbooks get a --model file; some of its
    # shocks release a positive reserve target, some set rebuild_periods, and
    # the workbook alone still solves as before (the file is beside it).
    files = released = rebuild = 0
    for seed in range(40):
        path = tmp_path / f"m{seed}.xlsx"
        model_file = random_workbook(seed, path)["model_file"]
        if model_file is None:
            continue
        files += 1
        rebuild += "rebuild_periods" in model_file.read_text()
        model = read_model(path, model_file)
        data = scenario_data(model, [])
        nominal = scenario_data(read_model(path), [])
        released += any(nominal.target[pair] > 0 for pair in data.released)
        assert solve_reference(path, model_file=model_file)["status"] in ("optimal", "infeasible")
    assert files >= 10 and released >= 2 and rebuild >= 2, (files, released, rebuild)


# --------------------------------------------------------------------------
# new defaults and --model changes (WORKBOOK.md)
# --------------------------------------------------------------------------


def test_default_reserve_penalty_and_median_reference_price(tmp_path):
    # Periods 2027, 2028. Offers of Gallium: four every-period offers at 10
    # (capacity 4), 30, 50, 70 (capacity 0) and one 2028-only offer at 90
    # (capacity 0). (offer, period) prices: 10,10,30,30,50,50,70,70,90 ->
    # median 50 = reference price. Shortfall penalty 10 x 90 = 900; reserve
    # penalty 900 / (2 periods + 1) = 300.
    # 2027: demand 4: buy 4 (40). 2028: demand 10, target 5: buy 4 (40),
    # 6 short: 6 x 900 = 5400, and a gap of 5: 5 x 300 = 1500 (leaving one more
    # unit of demand unmet to hold it would cost 900 to save 300).
    # Objective 40 + 40 + 5400 + 1500 = 6980; spend 80; shortfall value
    # 6 x 50 = 300 USD (every optimum is 6 units short in all).
    wb = write_wb(
        tmp_path / "defaults.xlsx",
        Minerals=[["mineral"], ["Gallium"]],
        Demand=[["mineral", "period", "demand", "reserve_target"],
                ["Gallium", 2027, 4, None], ["Gallium", 2028, 10, 5]],
        Offers=[
            OFFER_HEADER + ["period"],
            ["A", "USA", "Gallium", 10, 4, None],
            ["B", "USA", "Gallium", 30, 0, None],
            ["C", "USA", "Gallium", 50, 0, None],
            ["D", "USA", "Gallium", 70, 0, None],
            ["E", "USA", "Gallium", 90, 0, 2028],
        ],
    )
    res = solve_reference(wb)
    assert res["objective"] == approx(6980)
    assert res["spend"] == approx(80)
    assert res["shortfall_usd"] == approx(300)


def test_model_file_demand_factor_and_add(tmp_path):
    # --model: [[demand]] factor 1.5, add 2 on every mineral; Policy
    # reserve_days 73 of 365 (0.2 of demand after multipliers, before add).
    # Gallium: demand 10 -> 10 x 1.5 + 2 = 17, nominal target 0.2 x 15 = 3,
    # but the rise hits Gallium in 2027: a release period, target 0 (STOCKPILE.md):
    # buy 17 at 10 = 170. Germanium has no Demand row: demand
    # 0 x 1.5 + 2 = 2, target 0: buy 2 at 5 = 10. Objective 180.
    # [minerals.Germanium] holding_cost is irrelevant (no reserve); the
    # [policy] max_china_share 0 forbids the cheap Chinese germanium (at 1).
    wb = write_wb(
        tmp_path / "model.xlsx",
        Minerals=[["mineral"], ["Gallium"], ["Germanium"]],
        Demand=[["mineral", "period", "demand"], ["Gallium", 2027, 10]],
        Offers=[
            OFFER_HEADER,
            ["A", "USA", "Gallium", 10, 100],
            ["B", "Canada", "Germanium", 5, 100],
            ["C", "China", "Germanium", 1, 100],
        ],
        Policy=[["key", "value"], ["reserve_days", 73]],
    )
    model = tmp_path / "surge.toml"
    model.write_text(
        'name = "surge"\n[policy]\nmax_china_share = 0\n[minerals.germanium]\nholding_cost = 3\n'
        "[[demand]]\nfactor = 1.5\nadd = 2\n"
    )
    # Without the model file: Gallium demand 10, target 2 -> buy 12 at 10.
    assert solve_reference(wb)["objective"] == approx(120)
    res = solve_reference(wb, model_file=model)
    assert res["objective"] == approx(180)
    # A fall in demand is no shock: factor 0.5 makes Gallium's demand 5 and
    # its target 0.2 x 5 = 1 (held: the reserve penalty 100 / 2 = 50 > 10):
    # buy 6 at 10 = 60; Germanium's missing pair stays 0.
    model.write_text("[[demand]]\nfactor = 0.5\n")
    assert solve_reference(wb, model_file=model)["objective"] == approx(60)


# --------------------------------------------------------------------------
# release periods and the Budget sheet (STOCKPILE.md, WORKBOOK.md), hand-solved
# --------------------------------------------------------------------------


DEMAND_TARGET_HEADER = ["mineral", "period", "demand", "reserve_target"]


def three_year_wb(path, policy=(), budget=None):
    """Gallium 2027-2029: demand 10 a year, reserve_target 20, initial reserve
    20, one offer at 1 (capacity 100)."""
    sheets = dict(
        Minerals=[["mineral", "initial_reserve"], ["Gallium", 20]],
        Demand=[DEMAND_TARGET_HEADER] + [["Gallium", p, 10, 20] for p in (2027, 2028, 2029)],
        Offers=[OFFER_HEADER, ["Acme", "USA", "Gallium", 1, 100]],
    )
    if policy:
        sheets["Policy"] = [["key", "value"], *policy]
    if budget is not None:
        sheets["Budget"] = [["period", "budget"], *budget]
    return write_wb(path, **sheets)


@pytest.mark.parametrize("policy, expected", [
    ([], 10), ([["Rebuild Periods", 0]], 30), ([["rebuild_periods", "2"]], 10),
])
def test_release_periods_of_a_model_shock(tmp_path, policy, expected):
    # --model triples the 2028 price: P = 10 x 3 = 30, Q = 30 / 4 = 7.5.
    # rebuild_periods 1 (default) or 2: targets 20, 0, 0 -> buy 10 in 2027,
    # draw 10 in 2028 and 10 in 2029: 10. rebuild_periods 0: targets 20, 0,
    # 20 -> 2028 draws 10, 2029 buys 10 + 10 to rebuild: 10 + 20 = 30.
    # Without the release (the shock's price only): 2027 buys 10 + 10 for
    # 2028 (r = 30), 2029 buys 10: 30 as well, so the model file matters.
    wb = three_year_wb(tmp_path / "spike.xlsx", policy)
    model = tmp_path / "spike.toml"
    model.write_text("[[shock]]\nprice = 3\nperiod_from = 2028\nperiod_to = 2028\n")
    res = solve_reference(wb, model_file=model)
    assert res["objective"] == approx(expected)
    assert res["spend"] == approx(expected)


def test_release_needs_a_cut_or_a_rise_on_a_kept_offer(tmp_path):
    # A price fall (x 0.5 in 2028) releases nothing: targets stay 20; 2027
    # buys 10, 2028 buys its 10 and 2029's 10 at 0.5 (r = 30), 2029 draws
    # them: 10 + 10 = 20 (with 2029 released it would be 15). A demand rise
    # (x 1.5 in 2029) releases 2029: 2027 10, 2028 10, 2029 draws 15 of the
    # 20 held: 20 (35 without the release). A cut on a blocked offer only
    # releases nothing: 10 a year, 30.
    wb = three_year_wb(tmp_path / "calm.xlsx")
    model = tmp_path / "fall.toml"
    model.write_text("[[shock]]\nprice = 0.5\nperiod_from = 2028\nperiod_to = 2028\n")
    assert solve_reference(wb, model_file=model)["objective"] == approx(20)
    model.write_text("[[demand]]\nfactor = 1.5\nperiod_from = 2029\n")
    assert solve_reference(wb, model_file=model)["objective"] == approx(20)
    wb = write_wb(
        tmp_path / "blocked.xlsx",
        Minerals=[["mineral", "initial_reserve"], ["Gallium", 20]],
        Demand=[DEMAND_TARGET_HEADER] + [["Gallium", p, 10, 20] for p in (2027, 2028, 2029)],
        Offers=[OFFER_HEADER + ["blocked"], ["Acme", "USA", "Gallium", 1, 100, "no"],
                ["Bad", "USA", "Gallium", 1, 100, "yes"]],
    )
    model.write_text('[[shock]]\nsupplier = "Bad"\ncapacity = 0\nperiod_from = 2028\n')
    assert solve_reference(wb, model_file=model)["objective"] == approx(30)


def test_budget_sheet_overrides_budget_per_period(tmp_path):
    # Budget 5 in 2027: P = 10, Q = 2.5. 2027 buys 5 and draws 5 (gap 5 x
    # 2.5 = 12.5); 2028 buys 15, 2029 10: spend 30, objective 42.5.
    wb = three_year_wb(tmp_path / "budget.xlsx", budget=[[" 2027 ", "5"]])
    res = solve_reference(wb)
    assert res["objective"] == approx(42.5)
    assert res["spend"] == approx(30)
    # budget_per_period 12 for the periods the sheet does not list (2028):
    # 2028 buys 12 (gap 3: 7.5), 2029 buys 13: objective 30 + 12.5 + 7.5 = 50.
    wb = three_year_wb(tmp_path / "both.xlsx", policy=[["budget_per_period", 12]], budget=[[2027, 5], [2029, 100]])
    assert solve_reference(wb)["objective"] == approx(50)


def test_each_scenario_releases_its_own_reserve(tmp_path):
    # Gallium 2027-2029, demand 10, target 10, holding 1, one offer at 1.
    # calm 0.5; ban 0.5: capacity x 0 from 2028 (released 2028-29 in ban).
    # P = 10, Q = 2.5. R = reserve out of 2027: calm 60 + R, ban 200 - 7R on
    # [10, 20] -> RP at R = 20: 0.5 x 80 + 0.5 x 60 = 70. WS: 70 and 60 ->
    # 65. EV (capacity 50, targets 5 in 2028-29): R = 10 -> EEV 0.5 x 70 +
    # 0.5 x 130 = 100, VSS 30.
    wb = write_wb(
        tmp_path / "ban.xlsx",
        Minerals=[["mineral", "holding_cost"], ["Gallium", 1]],
        Demand=[DEMAND_TARGET_HEADER] + [["Gallium", p, 10, 10] for p in (2027, 2028, 2029)],
        Offers=[OFFER_HEADER, ["Acme", "USA", "Gallium", 1, 100]],
        Scenarios=[["scenario", "probability"], ["calm", 0.5], ["ban", 0.5]],
        Shocks=[["scenario", "mineral", "period_from", "capacity"], ["ban", "Gallium", 2028, 0]],
    )
    assert_measures(solve_reference(wb), RP=70, WS=65, EEV=100, EVPI=5, VSS=30)


# --------------------------------------------------------------------------
# stochastic plans (STOCKPILE.md), hand-solved
# --------------------------------------------------------------------------

SHOCK_HEADER = ["scenario", "mineral", "period_from", "period_to", "capacity", "price", "demand", "extra_demand"]


def two_period_wb(path, *, capacity=100, holding=1, demand=(10, 10), scenarios, shocks, policy=(), offers=None):
    """Gallium over 2027-2028; one spot offer from the USA at 10 (every
    period) unless ``offers`` says otherwise; Scenarios and Shocks sheets."""
    sheets = dict(
        Minerals=[["mineral", "holding_cost"], ["Gallium", holding]],
        Demand=[["mineral", "period", "demand"], ["Gallium", 2027, demand[0]], ["Gallium", 2028, demand[1]]],
        Offers=offers or [OFFER_HEADER, ["Acme", "USA", "Gallium", 10, capacity]],
        Scenarios=[["scenario", "probability"], *scenarios],
    )
    if shocks:
        sheets["Shocks"] = [SHOCK_HEADER, *shocks]
    if policy:
        sheets["Policy"] = [["key", "value"], *policy]
    return write_wb(path, **sheets)


def measures_of(result):
    st = result["stochastic"]
    return {k: st[k] for k in ("RP", "WS", "EEV", "EVPI", "VSS")}


def assert_measures(result, **expected):
    got = measures_of(result)
    for name, value in expected.items():
        if value is None:
            assert got[name] is None, name
        else:
            assert got[name] == approx(value), name


def test_stochastic_reserve_against_a_ban(tmp_path):
    # calm (0.5): no shock; ban (0.5): Acme's capacity x 0 from 2028.
    # Data agree in 2027, so 2027's decisions are one node. Penalty 10 x 10 =
    # 100/unit; holding 1. Let R = reserve carried from 2027 (bought in 2027).
    # Each unit of R costs 10 + 1 and saves 10 (calm buys less in 2028) or 100
    # (ban is short less): 0.5 x 10 + 0.5 x 100 = 55 > 11 -> R = 10.
    # RP: both scenarios 20 x 10 + 10 x 1 = 210 -> RP = 210.
    # WS: calm alone 10 x 10 + 10 x 10 = 200; ban alone 210 -> 205. EVPI = 5.
    # EV: 2028 capacity 0.5 x 100 = 50 >= 10, so R = 0 (buy 10 + 10).
    # Fixing 2027 (x = 10, r = 0): calm 200, ban 100 + 10 x 100 = 1100
    # -> EEV = 650, VSS = 440.
    wb = two_period_wb(
        tmp_path / "ban.xlsx",
        scenarios=[["calm", 0.5], ["ban", "0.5"]],
        shocks=[["ban", "Gallium", 2028, None, 0, None, None, None]],
    )
    res = solve_reference(wb)
    assert_measures(res, RP=210, WS=205, EEV=650, EVPI=5, VSS=440)
    assert res["objective"] == approx(210)
    assert res["spend"] == approx(210)
    assert res["shortfall_usd"] == approx(0)
    scen = res["stochastic"]["scenarios"]
    assert list(scen) == ["calm", "ban"]
    assert scen["ban"]["probability"] == 0.5
    assert scen["calm"]["spend"] == approx(210) and scen["ban"]["spend"] == approx(210)
    assert scen["ban"]["shortfall_usd"] == approx(0)


# Capacity 15 per period (R <= 5), holding 5, ban with probability 0.05.
# With R = reserve carried from 2027: calm(R) = 10 (10 + R) + 5 R + 10 (10 - R)
# = 200 + 5 R; ban(R) = 10 (10 + R) + 5 R + 100 (10 - R) = 1100 - 85 R.
# expected: slope 0.95 x 5 - 0.05 x 85 = 0.5 > 0 -> R = 0: 0.95 x 200 +
#   0.05 x 1100 = 245. WS = 0.95 x 200 + 0.05 x 675 (ban alone: R = 5) = 223.75.
#   EV: 2028 capacity 0.95 x 15 = 14.25 >= 10 -> R = 0: EEV = 245.
# worst: max = ban on [0, 5] -> R = 5: 675. WS = max(200, 675) = 675.
#   EEV (R = 0) = max(200, 1100) = 1100.
# cvar, alpha 0.9: the worst 10 % of probability is ban (5 %) and 5 % of calm,
#   CVaR = 0.5 ban + 0.5 calm = 650 - 40 R.
#   lambda 1: R = 5: 450. WS: 0.5 x 675 + 0.5 x 200 = 437.5. EEV: 650.
#   lambda 0.5: 0.5 (245 + 0.5 R) + 0.5 (650 - 40 R) = 447.5 - 19.75 R -> R = 5:
#   348.75. WS: 0.5 x 223.75 + 0.5 x 437.5 = 330.625. EEV: 0.5 x 245 + 0.5 x 650 = 447.5.
@pytest.mark.parametrize(
    "policy, RP, WS, EEV, R",
    [
        ([], 245, 223.75, 245, 0),
        ([["risk", "Worst"]], 675, 675, 1100, 5),
        ([["risk", "cvar"]], 450, 437.5, 650, 5),
        ([["risk", "CVaR"], ["risk_level", 0.9], ["risk_weight", 0.5]], 348.75, 330.625, 447.5, 5),
    ],
)
def test_stochastic_risk_measures(tmp_path, policy, RP, WS, EEV, R):
    wb = two_period_wb(
        tmp_path / "risk.xlsx",
        capacity=15,
        holding=5,
        scenarios=[["calm", 0.95], ["ban", 0.05]],
        shocks=[["ban", None, 2028, None, 0, None, None, None]],
        policy=policy,
    )
    res = solve_reference(wb)
    assert_measures(res, RP=RP, WS=WS, EEV=EEV, EVPI=RP - WS, VSS=EEV - RP)
    scen = res["stochastic"]["scenarios"]
    # calm spends 200 + 5 R; ban spends 10 (10 + R) + 5 R and is 10 - R short,
    # valued at the reference price 10.
    assert scen["calm"]["spend"] == approx(200 + 5 * R)
    assert scen["ban"]["spend"] == approx(100 + 15 * R)
    assert scen["ban"]["shortfall_usd"] == approx(10 * (10 - R))
    assert res["spend"] == approx(0.95 * (200 + 5 * R) + 0.05 * (100 + 15 * R))


@pytest.mark.parametrize("commit", [None, 2027])
def test_stochastic_commit_through(tmp_path, commit):
    # calm (0.5); surge (0.5): extra_demand 10 in 2027 (demand 20, then 10).
    # The data differ from 2027 on: no common node. Holding 1, penalty 100.
    # Free: each scenario buys its demand: calm 200, surge 300 -> RP = WS = 250;
    #   EV (demand 15, 10) fixes nothing but agreements -> EEV = 250.
    # commit_through 2027: 2027's purchase X is common. calm(X) = 10 X +
    #   (X - 10) + 10 (20 - X) = 190 + X, surge(X) = 10 X + 100 (20 - X) + 100
    #   = 2100 - 90 X on [10, 20] -> X = 20: 0.5 x 210 + 0.5 x 300 = RP = 255,
    #   WS = 250, EVPI = 5. EV buys 15 in 2027, committed: calm 205, surge
    #   150 + 5 x 100 + 100 = 750 -> EEV = 477.5, VSS = 222.5.
    policy = [["commit_through", commit]] if commit else []
    wb = two_period_wb(
        tmp_path / "commit.xlsx",
        scenarios=[["calm", 0.5], ["surge", 0.5]],
        shocks=[["surge", "Gallium", None, 2027, None, None, None, 10]],
        policy=policy,
    )
    res = solve_reference(wb)
    if commit is None:
        assert_measures(res, RP=250, WS=250, EEV=250, EVPI=0, VSS=0)
    else:
        assert_measures(res, RP=255, WS=250, EEV=477.5, EVPI=5, VSS=222.5)
        scen = res["stochastic"]["scenarios"]
        assert scen["calm"]["spend"] == approx(210) and scen["surge"]["spend"] == approx(300)


@pytest.mark.parametrize("commit", [None, "2027"])
def test_committed_minimum_volume_and_infeasible_eev(tmp_path, commit):
    # A signed 2027 contract: price 10, capacity 20, min_volume 12. Demand 15 in
    # 2027, 0 in 2028. cut (0.5) halves its capacity (10, so its minimum is
    # min(12, 10) = 10); calm (0.5) has none. Penalty 100.
    # Free: calm buys 15 (150), cut buys 10 and is 5 short (100 + 500 = 600):
    #   RP = WS = 375; EEV = 375 (nothing common to fix).
    # commit_through 2027: one purchase x <= 10 for both, minimum min(12, 20, 10)
    #   = 10: x = 10, both 5 short: RP = 600; WS = 375; EVPI = 225.
    #   EV: capacity 15, minimum (12 + 10) / 2 = 11, buys 15, which cut cannot
    #   deliver: EEV and VSS are infinite (None), the reason names cut.
    offers = [OFFER_HEADER + ["period", "agreement", "min_volume"],
              ["Acme", "USA", "Gallium", 10, 20, 2027, "signed", 12]]
    policy = [["commit_through", commit]] if commit else []
    wb = two_period_wb(
        tmp_path / "minvol.xlsx",
        demand=(15, 0),
        offers=offers,
        scenarios=[["calm", 0.5], ["cut", 0.5]],
        shocks=[["cut", None, None, None, 0.5, None, None, None]],
        policy=policy,
    )
    res = solve_reference(wb)
    if commit is None:
        assert_measures(res, RP=375, WS=375, EEV=375, EVPI=0, VSS=0)
    else:
        assert_measures(res, RP=600, WS=375, EEV=None, EVPI=225, VSS=None)
        assert "'cut'" in res["stochastic"]["EEV_reason"]
        scen = res["stochastic"]["scenarios"]
        assert scen["calm"]["spend"] == approx(100) and scen["calm"]["shortfall_usd"] == approx(50)


def test_scenario_files_match_the_sheets_and_share_defaults(tmp_path):
    # The ban test above with ban's price doubled from 2028 (nothing can be
    # bought then anyway), once as sheets and once as --scenario files.
    # The default penalty is 10 x the highest price over every scenario:
    # 10 x 20 = 200, the same in calm (and in WS). Each unit of R costs 11 and
    # saves 0.5 x 10 + 0.5 x 200 -> R = 10: RP = 210; WS = 0.5 (200 + 210) = 205.
    # EV: 2028 price 0.5 x 10 + 0.5 x 20 = 15 > 10 + 1, so EV buys ahead too:
    # R = 10, EEV = 210, VSS = 0. A [[demand]] factor 1 / add 0 changes nothing.
    sheet_wb = two_period_wb(
        tmp_path / "sheets.xlsx",
        scenarios=[["calm", 0.5], ["ban", 0.5]],
        shocks=[["ban", "Gallium", 2028, None, 0, 2, None, None]],
    )
    plain = write_wb(
        tmp_path / "plain.xlsx",
        Minerals=[["mineral", "holding_cost"], ["Gallium", 1]],
        Demand=[["mineral", "period", "demand"], ["Gallium", 2027, 10], ["Gallium", 2028, 10]],
        Offers=[OFFER_HEADER, ["Acme", "USA", "Gallium", 10, 100]],
    )
    (tmp_path / "calm.toml").write_text("probability = 0.5\n")
    (tmp_path / "b.toml").write_text(
        'name = "ban"\nprobability = 0.5\n[[shock]]\nmineral = ["gallium"]\nperiod_from = 2028\n'
        "capacity = 0.0\nprice = 2.0\n[[demand]]\nfactor = 1.0\nadd = 0\n"
    )
    files = [tmp_path / "calm.toml", tmp_path / "b.toml"]
    from_sheets = solve_reference(sheet_wb)
    from_files = solve_reference(plain, scenario_files=files)
    assert_measures(from_sheets, RP=210, WS=205, EEV=210, EVPI=5, VSS=0)
    assert measures_of(from_files) == pytest.approx(measures_of(from_sheets), rel=1e-9)
    assert list(from_files["stochastic"]["scenarios"]) == ["calm", "ban"]
    assert stochastic_measures(plain, files)["RP"] == approx(210)

    model = read_model(sheet_wb)
    datas = [scenario_data(model, sc.changes) for sc in model.scenarios]
    params = shared_params(model, scenario_data(model, []), datas)
    assert params.shortfall_penalty["gallium"] == 200
    assert params.reserve_penalty["gallium"] == pytest.approx(200 / 3)
    assert params.reference_price["gallium"] == 10  # before the scenarios' shocks


def test_stochastic_demand_factor_add_and_reserve_days(tmp_path):
    # One scenario "surge" (probability 1) with demand x 2 and extra_demand 5 in
    # 2028 (Shocks sheet), reserve_days 73 of 365 (0.2 of demand after the
    # multiplier, before the addition). Capacity 100 at 10, holding 1, penalty
    # 100, reserve penalty 100 / 3 > 10 + 1: targets are held.
    # 2027: demand 10, target 2: buy 12. 2028: demand 10 x 2 + 5 = 25, its
    # nominal target 0.2 x 20 = 4 released (the surge hits Gallium in 2028):
    # buy 25 - 2 = 23. Cost 35 x 10 + 2 x 1 = 352 = RP = WS = EEV (one scenario).
    wb = two_period_wb(
        tmp_path / "surge.xlsx",
        scenarios=[["surge", 1]],
        shocks=[["surge", "Gallium", 2028, None, None, None, 2, 5]],
        policy=[["reserve_days", 73]],
    )
    assert_measures(solve_reference(wb), RP=352, WS=352, EEV=352, EVPI=0, VSS=0)
    # --model's changes come first: [[demand]] factor 1.5, add 1 from 2028 makes
    # 2028's demand (10 x 1.5 + 1) x 2 + 5 = 37 (target released): buy 12 +
    # (37 - 2) = 47 -> 470 + 2 x 1 = 472.
    model = tmp_path / "model.toml"
    model.write_text("[[demand]]\nmineral = \"Gallium\"\nperiod_from = 2028\nfactor = 1.5\nadd = 1\n")
    assert_measures(solve_reference(wb, model_file=model), RP=472, WS=472, EEV=472)
    # A fall (factor 0.5 in 2028, no addition) is no shock: demand 5, target
    # 0.2 x 5 = 1 held: 2027 buys 12, 2028 buys 5 + 1 - 2 = 4: 160 + (2 + 1) x 1 = 163.
    wb = two_period_wb(
        tmp_path / "fall.xlsx",
        scenarios=[["fall", 1]],
        shocks=[["fall", "Gallium", 2028, None, None, None, 0.5, None]],
        policy=[["reserve_days", 73]],
    )
    assert_measures(solve_reference(wb), RP=163, WS=163, EEV=163)


def test_random_stochastic_workbooks(tmp_path):
    # Over random stochastic workbooks: EVPI >= 0 and VSS >= 0 whenever defined,
    # and every scenario's probability is reported.
    seen_files = seen_none = 0
    for seed in range(12):
        path = tmp_path / f"s{seed}.xlsx"
        files = random_stochastic_workbook(seed, path)
        seen_files += bool(files)
        res = solve_reference(path, scenario_files=files)
        if res["status"] != "optimal":
            continue
        st = res["stochastic"]
        assert 2 <= len(st["scenarios"]) <= 4
        assert sum(v["probability"] for v in st["scenarios"].values()) == pytest.approx(1)
        assert st["EVPI"] >= -1e-6 * max(1, abs(st["RP"]))
        if st["EEV"] is None:
            seen_none += 1
            assert st["VSS"] is None and st["EEV_reason"]
        else:
            assert st["VSS"] >= -1e-6 * max(1, abs(st["RP"]))
    assert seen_files > 0


def test_random_stochastic_workbooks_cover_the_spec(tmp_path):
    # Over a few dozen seeds: Shocks of every column, scenario files with
    # [[shock]] and [[demand]] (factor, add), commit_through and each risk.
    shock_columns, policy_keys, risks, toml_keys, mineral_columns = set(), set(), set(), set(), set()
    for seed in range(30):
        path = tmp_path / f"c{seed}.xlsx"
        files = random_stochastic_workbook(seed, path)
        for file in files:
            text = file.read_text()
            toml_keys.update(line.split(" = ")[0] for line in text.splitlines() if " = " in line)
            toml_keys.update(line for line in text.splitlines() if line.startswith("[["))
        for ws in openpyxl.load_workbook(path).worksheets:
            rows = list(ws.iter_rows(values_only=True))
            if norm_name(ws.title) == "shocks":
                header = [norm_name(h) for h in rows[0]]
                for row in rows[1:]:
                    shock_columns.update(h for h, v in zip(header, row) if v is not None)
            if norm_name(ws.title) == "minerals":
                mineral_columns.update(norm_name(h) for h in rows[0] if h is not None)
            if norm_name(ws.title) == "policy":
                header = [norm_name(h) if h else "" for h in rows[0]]
                k, v = header.index("key"), header.index("value")
                for row in rows[1:]:
                    if row[k] is not None:
                        policy_keys.add(norm_name(row[k]))
                        if norm_name(row[k]) == "risk":
                            risks.add(str(row[v]).lower())
        if seed < 4:  # the same seed writes the same files (the workbook: below)
            assert random_stochastic_workbook(seed, tmp_path / "again.xlsx") == [
                f.with_name(f.name.replace(f"c{seed}", "again")) if f.name.startswith(f"c{seed}") else f
                for f in files
            ]
    assert shock_columns >= {"scenario", "supplier", "country", "processing_country", "mineral", "period_from",
                             "period_to", "capacity", "price", "demand", "extra_demand"}
    assert policy_keys >= {"commit_through", "risk", "risk_level", "risk_weight"}
    assert risks == {"expected", "worst", "cvar"}
    assert "reference_price" in mineral_columns
    assert toml_keys >= {"[[shock]]", "[[demand]]", "factor", "add", "probability", "capacity", "price", "name"}


def test_random_stochastic_workbook_is_deterministic(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    files_a = random_stochastic_workbook(5, tmp_path / "a" / "w.xlsx")
    files_b = random_stochastic_workbook(5, tmp_path / "b" / "w.xlsx")
    assert _cells(tmp_path / "a" / "w.xlsx") == _cells(tmp_path / "b" / "w.xlsx")
    assert [f.read_text() for f in files_a] == [f.read_text() for f in files_b]


def test_compare_stochastic_flags_what_differs(tmp_path):
    # compare.py's check of procure's JSON `stochastic` object, against the
    # reference's own figures for the ban example (RP 210, EEV 650).
    from .compare import compare_stochastic

    wb = two_period_wb(
        tmp_path / "ban.xlsx",
        scenarios=[["calm", 0.5], ["ban", 0.5]],
        shocks=[["ban", "Gallium", 2028, None, 0, None, None, None]],
    )
    ref = solve_reference(wb)
    st = ref["stochastic"]
    got = {
        "status": "optimal", "objective": 210.0, "spend": ref["spend"], "shortfall_usd": ref["shortfall_usd"],
        "stochastic": {
            **{k: st[k] for k in ("RP", "WS", "EEV", "EVPI", "VSS")},
            "scenarios": {n: {k: v[k] for k in ("probability", "spend", "shortfall_usd")}
                          for n, v in st["scenarios"].items()},
        },
    }
    assert compare_stochastic(ref, got, 1e-6) == ([], [])
    got["stochastic"]["RP"] = 211.0
    got["stochastic"]["EEV"] = None
    hard, notes = compare_stochastic(ref, got, 1e-6)
    assert hard == ["RP 211 != reference 210"]
    assert notes == ["EEV None != reference 650"]
    del got["stochastic"]["scenarios"]["ban"]
    assert "scenarios ['calm'] != reference ['ban', 'calm']" in compare_stochastic(ref, got, 1e-6)[0]
    assert compare_stochastic(ref, {"status": "optimal"}, 1e-6)[0] == ["no 'stochastic' object in the JSON"]


def test_unshocked_scenarios_reduce_to_the_deterministic_plan(tmp_path):
    # Two scenarios without shocks are the base data twice: one node per
    # period, the same defaults, so RP = WS = EEV = the deterministic optimum
    # (EVPI = VSS = 0), on random workbooks.
    checked = 0
    for seed in range(6):
        path = tmp_path / f"d{seed}.xlsx"
        random_workbook(seed, path)
        det = solve_reference(path)
        wb = openpyxl.load_workbook(path)
        ws = wb.create_sheet("Scenarios")
        ws.append(["scenario", "probability"])
        ws.append(["a", 0.3])
        ws.append(["b", 0.7])
        wb.save(path)
        sto = solve_reference(path)
        assert sto["status"] == det["status"]
        if det["status"] == "optimal":
            checked += 1
            assert_measures(sto, RP=det["objective"], WS=det["objective"], EEV=det["objective"], EVPI=0, VSS=0)
    assert checked >= 3
