"""Warm-started sweeps (procure/sweep.py): the same answers as cold solves, hand-worked and on random workbooks."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from oracle.random_workbooks import random_workbook
from procure.analysis import ChinaCapSweep, agreement_values, frontier, price_rules
from procure.pipeline import load, optimize
from procure.solve import SolveOptions

REL = 1e-9


def _offers(*rows):
    return [dict(zip(("supplier", "country", "price", "capacity"), r), mineral="Ga") for r in rows]


def one_mineral(offers, demand=10, **policy):
    return dict(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": demand}],
                offers=offers, policy=policy or None)


def _cold_fallbacks(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "procure.sweep" and "solving cold" in r.getMessage()]


def test_warm_frontier_in_any_order_and_to_and_from_cap_1(solve_book, caplog):
    # China 1/t, Canada 3/t, 10 t: cost(a) = 10 a + 3 x 10 (1 - a) = 30 - 20 a; at a = 1 no China row: 10.
    out = solve_book(**one_mineral(_offers(("Sino", "China", 1, 100), ("Maple", "Canada", 3, 100))))
    caps = [0.3, 1.0, 0.0, 1.0, 0.5, 0.25]
    with caplog.at_level(logging.INFO, logger="procure.sweep"):
        points = frontier(out.instance, caps, SolveOptions())
    assert [p.cap for p in points] == caps
    assert [p.status for p in points] == ["optimal"] * len(caps)
    for point, expected in zip(points, [24.0, 10.0, 30.0, 10.0, 20.0, 25.0]):
        assert point.objective == pytest.approx(expected, rel=REL)
    assert _cold_fallbacks(caplog) == []  # every point came from the warm model


def test_warm_frontier_of_a_mip_with_an_optional_agreement(solve_book, caplog):
    # China 1/t, Canada 3/t, an optional Chile deal at 2/t for a fixed 5; 10 t demanded, China <= 10 a.
    # Signed: 10 a + 2 x 10 (1 - a) + 5 = 25 - 10 a; unsigned: 30 - 20 a. Signing pays while a < 0.5.
    # a = 0: 25 (signed); 0.3: 22 (signed); 0.8: 14 (unsigned); 1: 10; 0.2: 23 (signed).
    offers = _offers(("Sino", "China", 1, 100), ("Maple", "Canada", 3, 100), ("Deal", "Chile", 2, 100))
    offers[2].update(agreement="optional", fixed_cost=5)
    out = solve_book(**one_mineral(offers))
    assert out.program.is_mip
    caps = [0.0, 0.3, 0.8, 1.0, 0.2]
    with caplog.at_level(logging.INFO, logger="procure.sweep"):
        warm = frontier(out.instance, caps, SolveOptions())
    cold = frontier(out.instance, caps, SolveOptions(), warm=False)
    for w, c, expected in zip(warm, cold, [25.0, 22.0, 14.0, 10.0, 23.0]):
        assert w.status == c.status == "optimal"
        assert w.objective == pytest.approx(expected, rel=REL)
        assert c.objective == pytest.approx(expected, rel=REL)
        assert w.spend_usd == pytest.approx(c.spend_usd, rel=REL)
    assert _cold_fallbacks(caplog) == []


def test_an_infeasible_warm_point_is_solved_cold_and_reported_infeasible(solve_book, caplog):
    # strict: Canada has only 5 t, so cap 0 cannot meet the 10 t demanded. Cap 0.5: 5 x 1 + 5 x 3 = 20; cap 1: 10.
    out = solve_book(strict=True, **one_mineral(_offers(("Sino", "China", 1, 100), ("Maple", "Canada", 3, 5))))
    with caplog.at_level(logging.INFO, logger="procure.sweep"):
        points = frontier(out.instance, [0.5, 0.0, 1.0], SolveOptions(), strict=True)
    assert [p.status for p in points] == ["optimal", "infeasible", "optimal"]
    assert points[0].objective == pytest.approx(20.0, rel=REL)
    assert points[2].objective == pytest.approx(10.0, rel=REL)
    assert len(_cold_fallbacks(caplog)) == 1 and "China cap 0" in _cold_fallbacks(caplog)[0]


def test_a_passed_deadline_stops_warm_points_as_it_stops_cold_ones(solve_book):
    # The deadline has passed before the sweep starts: no cap below 1 can be proven, warm or cold
    # (cap 1 has no China row left and presolve alone solves it: 10).
    import time

    out = solve_book(**one_mineral(_offers(("Sino", "China", 1, 100), ("Maple", "Canada", 3, 100))))
    options = SolveOptions(time_limit_s=1e-6).started()
    time.sleep(0.01)
    warm = frontier(out.instance, [0.3, 0.5, 1.0], options)
    cold = frontier(out.instance, [0.3, 0.5, 1.0], options, warm=False)
    assert [p.status for p in warm] == [p.status for p in cold] == ["not_solved", "not_solved", "optimal"]
    assert warm[2].objective == pytest.approx(10.0, rel=REL)


def test_changed_coefficients_reach_highs_row_scaled(solve_book):
    # By value, the China row holds prices near 2^20; row_scale divides the row by 2^20, so the
    # cap's coefficient on the purchase total must reach HiGHS as -cap x 2^-20 x (its row's factor).
    price = float(2 ** 20)
    out = solve_book(**one_mineral(_offers(("Sino", "China", price, 100), ("Maple", "Canada", 3 * price, 100)),
                                   share_basis="value"))
    sweep = ChinaCapSweep(out.instance, SolveOptions(), strict=False)
    point = sweep.solve(0.3)
    assert point.status == "optimal"
    model = sweep.model
    row = int(sweep.rows[0])
    column = int(model.program.a_index[sweep.positions[0]])
    assert model.scale[row] != 1.0  # the case this test is about
    assert _highs_matrix(model.highs)[row, column] == -0.3 * model.scale[row]
    assert model.program.a_value[sweep.positions[0]] == -0.3
    # and the plan at cap 0.3 by value: China c t at p, Canada k t at 3p, c p <= 0.3 (c p + 3 k p), c + k = 10
    # -> 0.7 c = 0.9 k, c = 9 k / 7, k = 4.375, c = 5.625; objective p (c + 3 k) = 18.75 p
    assert point.objective == pytest.approx(18.75 * price, rel=REL)


def _highs_matrix(highs) -> np.ndarray:
    """The constraint matrix HiGHS holds, dense (small models only)."""
    import highspy

    lp = highs.getLp()
    matrix = lp.a_matrix_
    dense = np.zeros((lp.num_row_, lp.num_col_))
    starts, index, value = np.asarray(matrix.start_), np.asarray(matrix.index_), np.asarray(matrix.value_)
    rowwise = matrix.format_ == highspy.MatrixFormat.kRowwise
    for outer in range(len(starts) - 1):
        for k in range(starts[outer], starts[outer + 1]):
            if rowwise:
                dense[outer, index[k]] = value[k]
            else:
                dense[index[k], outer] = value[k]
    return dense


SEEDS = range(0, 10)  # 5 of them MIPs; seeds 0 and 6 have infeasible points (solved cold)


@pytest.mark.parametrize("strict", [False, True])
def test_warm_sweeps_match_cold_solves_on_random_workbooks(tmp_path, strict):
    """Frontier points, rule prices and agreement values: warm and cold agree to 1e-9 relative."""
    caps = [0.3, 0.0, 1.0, 0.15, 1.0, 0.6]
    mismatches, mips = [], 0
    for seed in SEEDS:
        path = tmp_path / f"r{seed}.xlsx"
        random_workbook(seed, path)
        outcome = optimize(load(path), strict=strict)
        mips += outcome.program.is_mip
        warm = frontier(outcome.instance, caps, SolveOptions(), strict)
        cold = frontier(outcome.instance, caps, SolveOptions(), strict, warm=False)
        for w, c in zip(warm, cold):
            mismatches += _differences(f"seed {seed} cap {w.cap}", w.status, c.status,
                                       [(k, getattr(w, k), getattr(c, k)) for k in
                                        ("objective", "spend_usd", "shortfall_value_usd")])
        if not outcome.solution.has_plan:
            continue
        for name, analysis in (("rule", price_rules), ("agreement", agreement_values)):
            for w, c in zip(analysis(outcome), analysis(outcome, warm=False), strict=True):
                mismatches += _differences(f"seed {seed} {name} {w.name}", (w.first_status, w.second_status),
                                           (c.first_status, c.second_status),
                                           [("objective", w.objective, c.objective),
                                            ("spend", w.spend_usd, c.spend_usd)])
    assert mips >= 2  # the seeds include models with optional agreements
    assert not mismatches


def _differences(where, warm_status, cold_status, values) -> list[tuple]:
    if warm_status != cold_status:
        return [(where, "status", warm_status, cold_status)]
    return [(where, key, a, b) for key, a, b in values
            if (a is None) != (b is None) or (a is not None and abs(a - b) > REL * max(1.0, abs(b)))]
