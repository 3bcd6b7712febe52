"""Release periods (STOCKPILE.md, FORMULATION.md constraint 2): a mineral's reserve target is 0 in the
periods a shock hits it and ``rebuild_periods`` (Policy, default 1) after, in every plan kind.

Every solve test works the optimum by hand in a comment and asserts it to 1e-9 relative.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import objective
from procure.data import DemandFactor, Shock
from procure.instance import build_instance, release_periods
from procure.pipeline import load, optimize
from procure.report import build_report

REL = 1e-9


# ---------------------------------------------------------------- the mask


@pytest.mark.parametrize("rebuild, expected", [
    (0, "-HH--H-"),
    (1, "-HHR-HR"),
    (2, "-HHRRHR"),
    (9, "-HHRRHR"),  # cut at the horizon
])
def test_release_periods_are_the_hits_and_the_rebuild_periods_after_each_run(rebuild, expected):
    # H: a shock hits; R: a rebuild period after a run of hits; -: the target holds.
    hit = np.array([[c == "H" for c in "-HH--H-"]])
    release = release_periods(hit, rebuild)
    assert "".join("-" if not r else ("H" if h else "R") for h, r in zip(hit[0], release[0])) == expected
    assert hit[0].tolist() == [c == "H" for c in "-HH--H-"]  # the input is left as it was


def test_release_periods_are_per_mineral_and_refuse_a_negative_count():
    hit = np.array([[True, False, False], [False, False, True]])
    assert release_periods(hit, 1).tolist() == [[True, True, False], [False, False, True]]
    assert release_periods(np.zeros((2, 0), dtype=bool), 1).shape == (2, 0)
    with pytest.raises(ValueError, match="rebuild_periods"):
        release_periods(hit, -1)


# ---------------------------------------------------------------- which shocks hit


def ga_co_book(book, **policy):
    """Ga and Co, 2027-2029, demand 10 and target 20 each; Ga from Sino (China) and Maple (Canada, blocked
    offer), Co from Kat (Congo)."""
    return book(
        minerals=[{"mineral": "Ga"}, {"mineral": "Co"}],
        demand=[{"mineral": m, "period": p, "demand": 10, "reserve_target": 20}
                for m in ("Ga", "Co") for p in (2027, 2028, 2029)],
        offers=[{"supplier": "Sino", "country": "China", "mineral": "Ga", "price": 1, "capacity": 100},
                {"supplier": "Maple", "country": "Canada", "mineral": "Ga", "price": 2, "capacity": 100,
                 "blocked": "yes"},
                {"supplier": "Kat", "country": "Congo", "mineral": "Co", "price": 3, "capacity": 100}],
        policy=policy or None)


def targets(book, shocks=(), demand_changes=(), **policy) -> np.ndarray:
    """The effective targets (Ga row, then Co row) of the book's instance with these shocks."""
    data = load(ga_co_book(book, **policy))
    inst = build_instance(data.with_changes(shocks=list(shocks), demand_changes=list(demand_changes)))
    assert inst.mineral_keys == ["co", "ga"]
    np.testing.assert_array_equal(inst.reserve_target_nominal, np.full((2, 3), 20.0))
    return inst.reserve_target[::-1]  # Ga first


@pytest.mark.parametrize("shock, ga, co", [
    # a price rise on Ga in 2028: Ga released in 2028 and 2029 (one rebuild period)
    (Shock(price_factor=3, minerals=("ga",), period_from=2028, period_to=2028), [20, 0, 0], [20, 20, 20]),
    # a capacity cut on China from 2029: Ga released in 2029 (the horizon ends)
    (Shock(capacity_factor=0.5, countries=("china",), period_from=2029), [20, 20, 0], [20, 20, 20]),
    # a price fall or a capacity rise is no shock to the reserve
    (Shock(price_factor=0.8, minerals=("ga",)), [20, 20, 20], [20, 20, 20]),
    (Shock(capacity_factor=1.5), [20, 20, 20], [20, 20, 20]),
    # a cut matching only an excluded offer (Maple is blocked) hits nothing
    (Shock(capacity_factor=0, suppliers=("maple",)), [20, 20, 20], [20, 20, 20]),
    # no filter: every kept offer of every mineral, 2027 only
    (Shock(capacity_factor=0, period_to=2027), [0, 0, 20], [0, 0, 20]),
])
def test_a_shock_hits_the_minerals_of_the_kept_offers_it_cuts_or_raises(book, shock, ga, co):
    got = targets(book, [shock])
    np.testing.assert_array_equal(got, [ga, co])


@pytest.mark.parametrize("change, ga, co", [
    (DemandFactor(factor=1.5, minerals=("co",), period_from=2029), [20, 20, 20], [20, 20, 0]),
    (DemandFactor(add=5, minerals=("ga",), period_to=2027), [0, 0, 20], [20, 20, 20]),
    (DemandFactor(factor=0.5), [20, 20, 20], [20, 20, 20]),  # lower demand is no shock
])
def test_a_demand_rise_hits_its_minerals(book, change, ga, co):
    np.testing.assert_array_equal(targets(book, demand_changes=[change]), [ga, co])


def test_each_entry_counts_on_its_own_and_rebuild_periods_is_read_from_the_policy(book):
    # x 0.5 then x 2 on Ga's capacity: the product is 1, but the first entry cuts: a hit in 2027.
    shocks = [Shock(capacity_factor=0.5, minerals=("ga",), period_to=2027),
              Shock(capacity_factor=2, minerals=("ga",), period_to=2027)]
    np.testing.assert_array_equal(targets(book, shocks), [[0, 0, 20], [20, 20, 20]])
    np.testing.assert_array_equal(targets(book, shocks, rebuild_periods=0), [[0, 20, 20], [20, 20, 20]])
    np.testing.assert_array_equal(targets(book, shocks, rebuild_periods=2), [[0, 0, 0], [20, 20, 20]])


def test_rebuild_periods_must_be_a_whole_number_of_periods(book):
    from procure.errors import InputError
    for value in (-1, 1.5, "two"):
        with pytest.raises(InputError) as caught:
            load(ga_co_book(book, rebuild_periods=value))
        text = [str(p) for p in caught.value.problems]
        assert len(text) == 1 and "sheet 'Policy', row 2, column 'value'" in text[0], text
        assert "(for rebuild_periods)" in text[0]


# ---------------------------------------------------------------- hand-worked plans


def one_mineral_book(book, budget_sheet=None, **policy):
    """Ga, 2027-2029: demand 10 a year, reserve target 20 (Demand column), initial reserve 20, one offer at
    1 USD/t (capacity 100)."""
    extra = {"Budget": budget_sheet} if budget_sheet is not None else None
    return book(minerals=[{"mineral": "Ga", "initial_reserve": 20}],
                demand=[{"mineral": "Ga", "period": p, "demand": 10, "reserve_target": 20}
                        for p in (2027, 2028, 2029)],
                offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 1, "capacity": 100}],
                policy=policy or None, extra_sheets=extra)


def reserve(outcome, s: int = 0) -> np.ndarray:
    """r[m,t] of scenario s, minerals x periods."""
    program = outcome.form.scenario_programs[s]
    block = program.columns["reserve"]
    inst = outcome.fan.instances[s]
    return outcome.scenario_solution(s)[block.start:block.start + block.size].reshape(
        len(inst.mineral_keys), len(inst.periods))


PRICE_SPIKE_2028 = "[[shock]]\nprice = 3\nperiod_from = 2028\nperiod_to = 2028\n"


def test_the_reserve_is_drawn_when_the_shock_comes_and_in_the_rebuild_period(book, tmp_path):
    # --model triples the 2028 price. P = 10 x the highest price (3) = 30, Q = P / 4 = 7.5.
    # Release periods (rebuild_periods 1): 2028 (hit) and 2029 (rebuild): G = 20, 0, 0.
    # 2027: buy 10 for demand (1 each), reserve stays 20 (the target); 2028: draw 10 (r = 10);
    # 2029: draw 10 (r = 0): nothing left to keep it for. Objective = spend = 10.
    # (Under the old rule, target 20 in every period: buy 20 in 2027 for 2028, 10 in 2029: 30.)
    model = tmp_path / "spike.toml"
    model.write_text(PRICE_SPIKE_2028)
    outcome = optimize(load(one_mineral_book(book), model))
    assert objective(outcome) == pytest.approx(10.0, rel=REL)
    np.testing.assert_allclose(reserve(outcome), [[20.0, 10.0, 0.0]], atol=1e-9)
    inst = outcome.fan.instances[0]
    np.testing.assert_array_equal(inst.reserve_release, [[False, True, True]])
    np.testing.assert_array_equal(inst.reserve_target, [[20.0, 0.0, 0.0]])
    np.testing.assert_array_equal(inst.reserve_target_nominal, [[20.0, 20.0, 20.0]])
    assert build_report(outcome, input_name="t").item("spend") == pytest.approx(10.0, rel=REL)


def test_with_no_rebuild_period_the_reserve_is_rebuilt_when_the_shock_ends(book, tmp_path):
    # As above with rebuild_periods = 0: G = 20, 0, 20. 2027: buy 10 (1 each); 2028: draw 10 instead of
    # buying at 3; 2029: buy 10 for demand and 10 to rebuild the reserve to 20: 10 + 0 + 20 = 30.
    # (Buying the 2028 draw in 2027 instead costs the same 1 a unit: 30 either way; 2029's reserve is 20.)
    model = tmp_path / "spike.toml"
    model.write_text(PRICE_SPIKE_2028)
    outcome = optimize(load(one_mineral_book(book, rebuild_periods=0), model))
    assert objective(outcome) == pytest.approx(30.0, rel=REL)
    assert reserve(outcome)[0, 2] == pytest.approx(20.0, rel=REL)
    np.testing.assert_array_equal(outcome.fan.instances[0].reserve_target, [[20.0, 0.0, 20.0]])


def test_a_model_rebuild_periods_overrides_the_policy(book, tmp_path):
    # The same spike with [policy] rebuild_periods = 0 in the --model file: 30, as with the Policy sheet.
    model = tmp_path / "spike.toml"
    model.write_text("[policy]\nrebuild_periods = 0\n" + PRICE_SPIKE_2028)
    outcome = optimize(load(one_mineral_book(book, rebuild_periods=3), model))
    assert objective(outcome) == pytest.approx(30.0, rel=REL)


def test_each_scenario_of_a_stochastic_plan_releases_its_own_reserve(book):
    # Ga, 2027-2029: demand 10 a year, target 10, no initial reserve, holding 1 USD/t/period, one offer at
    # 1 USD/t (capacity 100). calm (0.5): no shock; ban (0.5): capacity x 0 from 2028 -> Ga released in
    # 2028 and 2029 in ban (targets 10, 0, 0), none in calm (10, 10, 10). 2027's data agree: one node.
    # P = 10 x 1 = 10, Q = 10 / 4 = 2.5 (> holding 1: the target is held where it stands).
    # Let R = the reserve carried out of 2027 (bought in 2027: 10 + R, held at 1).
    # calm(R) = purchases 40 + holding R + 10 + 10 = 60 + R (10 <= R <= 30);
    # ban(R) = (10 + R) + R + (R - 10) + 10 x (20 - R) = 200 - 7R on [10, 20], 3R above 20.
    # RP: 0.5 (60 + R) + 0.5 (200 - 7R) = 130 - 3R on [10, 20], 30 + 2R above -> R = 20: 0.5 x 80 +
    #   0.5 x 60 = 70; ban draws its reserve in 2028 and 2029 (r = 20, 10, 0).
    # WS: calm alone R = 10: 70; ban alone R = 20: 60 -> 65. EVPI = 5.
    # EV: capacity 50 and targets 5 in 2028-29 -> R = 10 (holding 1 < buying later at 1 + 1);
    #   fixed in 2027: calm 70, ban (10) = 200 - 70 = 130 -> EEV = 100, VSS = 30.
    path = book(minerals=[{"mineral": "Ga", "holding_cost": 1}],
                demand=[{"mineral": "Ga", "period": p, "demand": 10, "reserve_target": 10}
                        for p in (2027, 2028, 2029)],
                offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 1, "capacity": 100}],
                extra_sheets={"Scenarios": [{"scenario": "calm", "probability": 0.5},
                                            {"scenario": "ban", "probability": 0.5}],
                              "Shocks": [{"scenario": "ban", "mineral": "Ga", "period_from": 2028,
                                          "capacity": 0}]})
    outcome = optimize(load(path))
    m = outcome.measures
    assert (m.rp, m.ws, m.evpi, m.eev, m.vss) == pytest.approx((70.0, 65.0, 5.0, 100.0, 30.0), rel=REL)
    calm, ban = outcome.fan.instances
    np.testing.assert_array_equal(calm.reserve_target, [[10.0, 10.0, 10.0]])
    np.testing.assert_array_equal(ban.reserve_target, [[10.0, 0.0, 0.0]])
    np.testing.assert_allclose(reserve(outcome, 1), [[20.0, 10.0, 0.0]], atol=1e-9)
    np.testing.assert_allclose(reserve(outcome, 0), [[20.0, 10.0, 10.0]], atol=1e-9)
    assert outcome.form.classes[0, 0] == outcome.form.classes[1, 0]  # 2027 is one node
    assert outcome.form.classes[0, 1] != outcome.form.classes[1, 1]
