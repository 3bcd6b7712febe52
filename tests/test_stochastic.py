"""Stochastic plans (STOCKPILE.md): hand-worked optima of two-scenario, two-period fans, and properties.

Every solve test works the optimum by hand in a comment and asserts it to 1e-9 relative.
Shared data of the hand-worked tests (one mineral Ga, periods 2027 and 2028):
demand 0 in 2027 and 10 in 2028; holding cost h = 0.5 USD/t/period; shortfall
penalty 100 USD/t; Sino (China) and Maple (Canada) offer every period. The
"ban" scenario stops Chinese supply in 2028 only, so 2027 is one decision node.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from procure import stochastic_report
from procure.data import DemandFactor, Shock, StochasticScenario
from procure.errors import InputError
from procure.instance import build_instance
from procure.pipeline import load, optimize
from procure.relaxation import scenario_relaxations
from procure.report import build_report
from procure.stochastic import prepare, scenario_data

REL = 1e-9
BAN_2028 = Shock(capacity_factor=0.0, countries=("china",), period_from=2028)


def fan(calm: float, ban: float) -> list[StochasticScenario]:
    return [StochasticScenario("calm", calm), StochasticScenario("ban", ban, shocks=[BAN_2028])]


def two_period_book(book, *, sino_capacity=100, maple_price=5, policy=None, offers=None, minerals=None):
    return book(
        minerals=minerals or [{"mineral": "Ga", "shortfall_penalty": 100, "holding_cost": 0.5}],
        demand=[{"mineral": "Ga", "period": 2027, "demand": 0}, {"mineral": "Ga", "period": 2028, "demand": 10}],
        offers=offers or [
            {"supplier": "Sino", "country": "China", "mineral": "Ga", "price": 1, "capacity": sino_capacity},
            {"supplier": "Maple", "country": "Canada", "mineral": "Ga", "price": 5, "capacity": 100}],
        policy=policy or None)


def bought(outcome, supplier: str, period_index: int) -> np.ndarray:
    """x of one offer and period in each scenario (shared nodes give equal values)."""
    inst = outcome.fan.instances[0]
    offer = next(i for i, o in enumerate(inst.offers) if o.supplier == supplier)
    x_block = outcome.fan.instances and outcome.form.scenario_programs[0].columns["x"]
    local = x_block.start + np.flatnonzero((x_block.keys["offer"] == offer)
                                           & (x_block.keys["period"] == period_index))[0]
    return np.array([outcome.scenario_solution(s)[local] for s in range(len(outcome.fan.scenarios))])


def test_non_anticipativity_makes_the_plan_pre_buy(book):
    # q = Sino bought in 2027 (shared: both scenarios look alike until 2028), held at 0.5/t.
    # calm: 1.5q + 1 (10 - q);  ban: 1.5q + 5 (10 - q) (Maple).  E = 30 - 1.5q  ->  q = 10, RP = 15.
    # Alone: calm buys Sino in 2028 (10), ban pre-buys (15): WS = 12.5, EVPI = 2.5.
    # EV (Sino 2028 capacity 50) buys in 2028, so 2027 is fixed at 0: EEV = (10 + 50) / 2 = 30, VSS = 15.
    outcome = optimize(load(two_period_book(book)), scenarios=fan(0.5, 0.5))
    m = outcome.measures
    assert outcome.status == "optimal"
    assert m.rp == pytest.approx(15.0, rel=REL)
    assert m.ws == pytest.approx(12.5, rel=REL)
    assert m.ws_by_scenario == pytest.approx([10.0, 15.0], rel=REL)
    assert m.eev == pytest.approx(30.0, rel=REL)
    assert m.evpi == pytest.approx(2.5, rel=REL) and m.vss == pytest.approx(15.0, rel=REL)
    assert bought(outcome, "Sino", 0) == pytest.approx([10.0, 10.0], rel=REL)
    assert outcome.scenario_costs() == pytest.approx([15.0, 15.0], rel=REL)
    # one column per node: 2027 once (2 x, s, r, d), 2028 per scenario (2 x 2, s, r, d x 2)
    stats = outcome.form.stats
    assert (stats["columns_before_sharing"], stats["columns"]) == (2 * 10, 6 + 3 * 3)
    assert (stats["rows_before_sharing"], stats["rows"]) == (8, 6)  # the 2027 balance and target rows once


def capped(book, risk: str, **policy):
    # Sino capacity 6 per period: q <= 6. Probabilities calm 0.9, ban 0.1.
    # calm(q) = 26 - 3.5q on [0, 4] (Sino 2028 takes 6, Maple the rest), 10 + 0.5q on [4, 6];
    # ban(q) = 1.5q + 5 (10 - q) = 50 - 3.5q.
    return optimize(load(two_period_book(book, sino_capacity=6, policy={"risk": risk, **policy})),
                    scenarios=fan(0.9, 0.1))


def test_expected_cost_with_a_capacity_cap(book):
    # E = 28.4 - 3.5q on [0, 4], 14 + 0.1q on [4, 6]  ->  q = 4, RP = 14.4 (calm 12, ban 36).
    # WS: calm alone q = 4 -> 12, ban alone q = 6 -> 29: WS = 13.7, EVPI = 0.7.
    # EV: Sino 2028 capacity 5.4 -> q = 4.6; EEV = 0.9 x 12.3 + 0.1 x 33.9 = 14.46, VSS = 0.06.
    m = capped(book, "expected").measures
    assert (m.rp, m.ws, m.eev) == pytest.approx((14.4, 13.7, 14.46), rel=REL)
    assert m.vss == pytest.approx(0.06, rel=1e-6)  # a difference of two 1e-9-exact figures


def test_worst_case(book):
    # min max(calm, ban): on [4, 6] ban > calm, so q = 6: RP = 29 (calm 13, ban 29).
    # WS = max(12, 29) = 29 (EVPI 0); EEV at q = 4.6: max(12.3, 33.9) = 33.9, VSS = 4.9.
    outcome = capped(book, "worst")
    m = outcome.measures
    assert (m.rp, m.ws, m.eev) == pytest.approx((29.0, 29.0, 33.9), rel=REL)
    assert outcome.scenario_costs() == pytest.approx([13.0, 29.0], rel=REL)
    assert "worst_cost" in outcome.program.rows


def test_cvar(book):
    # alpha 0.8, lambda 0.5: the worst 20% of probability is ban (0.1) and 0.1 of calm, so
    # CVaR = (calm + ban) / 2 = 30 - 1.5q on [4, 6] (38 - 3.5q on [0, 4]); objective
    # 0.5 E + 0.5 CVaR = 22 - 0.7q on [4, 6]  ->  q = 6, RP = 0.5 x 14.6 + 0.5 x 21 = 17.8.
    # WS: E 13.7, CVaR of (12 w.p. 0.9, 29 w.p. 0.1) = (2.9 + 1.2) / 0.2 = 20.5 -> 17.1.
    # EEV at q = 4.6: E 14.46, CVaR (3.39 + 1.23) / 0.2 = 23.1 -> 18.78.
    outcome = capped(book, "cvar", risk_level=0.8, risk_weight=0.5)
    m = outcome.measures
    assert (m.rp, m.ws, m.eev) == pytest.approx((17.8, 17.1, 18.78), rel=REL)
    assert outcome.scenario_costs() == pytest.approx([13.0, 29.0], rel=REL)
    assert {"cvar_eta", "cvar_excess"} <= set(outcome.program.columns)


def test_commit_through_makes_later_purchases_common(book):
    # Calm 0.9 / ban 0.1, Sino capacity 100. Free: q = 0, E = 0.9 x 10 + 0.1 x 50 = 14.
    # commit_through 2028: x of 2028 is one decision, deliverable in every scenario, so Sino 2028
    # is capped at min(100, 0) = 0; pre-buying 10 in 2027 (15) beats Maple (50): RP = 15.
    # WS ignores commitments: 0.9 x 10 + 0.1 x 15 = 10.5. The EV plan buys Sino in 2028, which the
    # committed bound forbids: EEV and VSS are infinite, naming the scenario.
    free = optimize(load(two_period_book(book)), scenarios=fan(0.9, 0.1))
    assert free.measures.rp == pytest.approx(14.0, rel=REL)
    outcome = optimize(load(two_period_book(book, policy={"commit_through": 2028})), scenarios=fan(0.9, 0.1))
    m = outcome.measures
    assert m.rp == pytest.approx(15.0, rel=REL) and m.ws == pytest.approx(10.5, rel=REL)
    assert m.eev is None and m.vss is None and "ban" in m.eev_reason
    x = outcome.program.columns["x"]
    assert x.size == 4  # every x is one node for all scenarios


def test_a_committed_order_is_deliverable_in_every_scenario(book):
    # Signed deal: min volume 8, capacity 10. "cut" halves its capacity in 2028 (u = 5). Committed
    # through 2028, its 2028 order has u = min(10, 5) = 5 and l = min(8, 5) = 5 in every scenario;
    # 2027 is untouched (l = 8, u = 10).
    path = two_period_book(book, policy={"commit_through": 2028}, offers=[
        {"supplier": "Deal", "country": "Chile", "mineral": "Ga", "price": 2, "capacity": 10,
         "agreement": "signed", "min_volume": 8}])
    cut = StochasticScenario("cut", 0.5, shocks=[Shock(capacity_factor=0.5, period_from=2028)])
    outcome = optimize(load(path), scenarios=[StochasticScenario("calm", 0.5), cut], with_measures=False)
    x = outcome.program.columns["x"]
    assert x.size == 2 and list(x.keys["period"]) == [0, 1]
    assert outcome.program.col_lower[x.slice()].tolist() == [8.0, 5.0]
    assert outcome.program.col_upper[x.slice()].tolist() == [10.0, 5.0]
    # cost: 2027 buys 8 (16 USD, held: 4 USD), 2028 buys 5 (10 USD), 13 t of 10 t demand: 3 t held to the
    # end of 2028 (1.5 USD): 16 + 4 + 10 + 1.5 = 31.5 in both scenarios
    assert outcome.solution.objective == pytest.approx(31.5, rel=REL)


def test_an_agreement_worth_signing_only_under_uncertainty(book):
    # Holding costs 100/t rule out pre-buying; shortfall 10/t. Deal (optional, Chile): price 2, fixed 15.
    # Calm 0.7 / ban 0.3. Signed: 15 + 0.7 x 10 + 0.3 x 20 = 28; unsigned: 0.7 x 10 + 0.3 x 100 = 37 -> RP 28.
    # The EV problem (Sino 2028 capacity 70) needs no deal: EEV fixes y = 0 -> 37, VSS = 9.
    # WS: calm 10, ban signs (35 < 100): 0.7 x 10 + 0.3 x 35 = 17.5.
    path = two_period_book(book, minerals=[{"mineral": "Ga", "shortfall_penalty": 10, "holding_cost": 100}], offers=[
        {"supplier": "Sino", "country": "China", "mineral": "Ga", "price": 1, "capacity": 100},
        {"supplier": "Deal", "country": "Chile", "mineral": "Ga", "price": 2, "capacity": 100,
         "agreement": "optional", "fixed_cost": 15}])
    outcome = optimize(load(path), scenarios=fan(0.7, 0.3))
    m = outcome.measures
    assert (m.rp, m.ws, m.eev, m.vss) == pytest.approx((28.0, 17.5, 37.0, 9.0), rel=REL)
    y = outcome.program.columns["y"]
    assert y.size == 1 and outcome.solution.x[y.start] == pytest.approx(1.0)


def test_identical_scenarios_make_one_program(book):
    # Two scenarios without shocks share every node: the extensive form is the deterministic program
    # (same size), and RP = WS = EEV = the deterministic optimum 10 (Sino buys 10 t in 2028 at 1 USD/t).
    # The 2028 balance dual is the marginal cost: 1 USD/t (Sino), summed over both scenarios' probability.
    outcome = optimize(load(two_period_book(book)), scenarios=[StochasticScenario("a", 0.25),
                                                               StochasticScenario("b", 0.75)])
    single = outcome.form.scenario_programs[0]
    assert (outcome.program.n_cols, outcome.program.n_rows) == (single.n_cols, single.n_rows)
    m = outcome.measures
    assert (m.rp, m.ws, m.eev, m.evpi, m.vss) == pytest.approx((10.0, 10.0, 10.0, 0.0, 0.0), rel=REL, abs=1e-9)
    # each scenario's own marginal value: the shared row's dual over the probability of its scenarios
    recourse = build_report(outcome, input_name="t").tables["Recourse"]
    assert recourse.loc[recourse["period"] == 2028, "balance_dual"].tolist() == pytest.approx([1.0, 1.0])


def test_demand_changes_multiply_then_add_and_targets_ignore_additions(book):
    # reserve_days 73 of a 365-day period: target 0.2 x demand after factors, before additions.
    path = book(minerals=[{"mineral": "Ga"}, {"mineral": "Ge"}],
                demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
                offers=[{"supplier": "A", "country": "Chile", "mineral": "Ga", "price": 1, "capacity": 5}],
                policy={"reserve_days": 73})
    data = load(path)
    sc = StochasticScenario("surge", 1.0, demand_changes=[
        DemandFactor(factor=2.0, add=3.0, minerals=("ga",)), DemandFactor(factor=1.5, minerals=("ga",)),
        DemandFactor(add=4.0, minerals=("ge",))])
    changed = scenario_data(data, sc)
    assert changed.demand[("ga", 2027)].demand == pytest.approx(10 * 2 * 1.5 + 3)
    assert changed.demand[("ga", 2027)].reserve_basis == pytest.approx(30)  # the target's basis: before adds
    assert changed.demand[("ge", 2027)].demand == pytest.approx(4.0)  # a missing pair gets the addition
    inst = build_instance(changed)
    assert inst.reserve_target_nominal[inst.mineral_keys.index("ga"), 0] == pytest.approx(0.2 * 30)
    # the surge hits Ga in 2027: its target is suspended there (STOCKPILE.md, release periods)
    assert inst.reserve_target[inst.mineral_keys.index("ga"), 0] == 0
    assert inst.reserve_target[inst.mineral_keys.index("ge"), 0] == pytest.approx(0.0)


def test_one_scenario_with_no_shocks_is_the_plain_plan(book, tmp_path):
    # STOCKPILE.md: a plan of one scenario of probability 1 and no shocks is the base data. One mineral,
    # reserve_days = 365 (a full period: target = demand), demand 100, and a --model adding 50 to demand:
    # demand 150, nominal target 100 (reserve_days applies to the demand before additions), suspended
    # because the addition hits Ga in 2027 (release periods); one offer at 1 USD/t: buy 150, objective
    # 150. As one scenario of probability 1 the same; the addition made by a scenario file the same.
    path = book(minerals=[{"mineral": "Ga", "shortfall_penalty": 100}],
                demand=[{"mineral": "Ga", "period": 2027, "demand": 100}],
                offers=[{"supplier": "A", "country": "Chile", "mineral": "Ga", "price": 1, "capacity": 1000}],
                policy={"reserve_days": 365})
    model = tmp_path / "surge.toml"
    model.write_text('name = "surge"\n[[demand]]\nmineral = "Ga"\nadd = 50\n')
    data = load(path, model)
    plain = optimize(data)
    alone = optimize(data, scenarios=[StochasticScenario("surge", 1.0)])
    extra = tmp_path / "extra.toml"
    extra.write_text('name = "extra"\nprobability = 1\n[[demand]]\nmineral = "Ga"\nadd = 50\n')
    as_scenario = optimize(load(path, None, [extra]))  # the addition made by the scenario, not --model
    for outcome in (plain, alone, as_scenario):
        assert outcome.solution.objective == pytest.approx(150.0, rel=REL)
        assert outcome.fan.instances[0].reserve_target_nominal[0, 0] == pytest.approx(100.0, rel=REL)
        assert outcome.fan.instances[0].reserve_target[0, 0] == 0
        report = build_report(outcome, input_name="t")
        assert report.item("spend") == pytest.approx(150.0, rel=REL)
        assert report.tables["Allocation"]["quantity"].sum() == pytest.approx(150.0, rel=REL)
        assert set(report.tables) >= {"Allocation", "Minerals", "Countries", "Offers", "Constraints", "Excluded"}
    assert not plain.stochastic and not alone.stochastic and not as_scenario.stochastic


def test_a_stochastic_plan_has_every_sheet_and_key_of_a_plain_plan(book):
    # The first hand-worked fan (calm/ban, 0.5 each): every deterministic sheet, with expected rows.
    outcome = optimize(load(two_period_book(book)), scenarios=fan(0.5, 0.5))
    report = build_report(outcome, input_name="t")
    plain = build_report(optimize(load(two_period_book(book))), input_name="t")
    assert set(plain.tables) - set(report.tables) == set()
    assert {"Scenarios", "Recourse", "Reserve"} <= set(report.tables)
    minerals = report.tables["Minerals"]
    expected = minerals[minerals["scenario"] == "expected"].set_index("period")
    # 10 t bought in 2027 in both scenarios (one node), held and released in 2028
    assert expected.loc[2027, "bought"] == pytest.approx(10.0, rel=REL)
    assert expected.loc[2028, "reserve_end"] == pytest.approx(0.0, abs=1e-9)
    for key in ("bought", "china_share", "reserve_end", "marginal_cost"):
        assert key in report.json["minerals"]["Ga"]
    assert {i.key for i in plain.summary} - {i.key for i in report.summary} <= {
        "highest_china_share_mineral", "highest_china_share", "reserve_days_min"}


def test_penalty_defaults_are_shared_by_every_scenario(book):
    # Default shortfall penalty: 10 x the highest price over base and shocked prices: 10 x (2 x 3) = 60.
    path = book(minerals=[{"mineral": "Ga"}],
                demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
                offers=[{"supplier": "A", "country": "Chile", "mineral": "Ga", "price": 3, "capacity": 5}])
    spike = StochasticScenario("spike", 0.5, shocks=[Shock(price_factor=2.0)])
    prepared = prepare(load(path), [StochasticScenario("calm", 0.5), spike])
    for inst in [prepared.base, *prepared.instances]:
        assert inst.shortfall_penalty_usd == pytest.approx([60.0])
    assert prepared.reference_price_usd == pytest.approx([3.0])  # base prices, before the scenarios' shocks


def test_probabilities_must_sum_to_one_and_names_be_unique(book):
    data = load(two_period_book(book))
    with pytest.raises(InputError) as caught:
        prepare(data, [StochasticScenario("a", 0.5), StochasticScenario("A", 0.4)])
    text = " ".join(str(p) for p in caught.value.problems)
    assert "sum to 0.9" in text and "used twice" in text


# ---------------------------------------------------------------- properties


@st.composite
def stochastic_books(draw):
    n_t = draw(st.integers(2, 3))
    n_o = draw(st.integers(1, 3))
    offers = [{"supplier": f"S{i}", "country": draw(st.sampled_from(["China", "Chile", "Canada"])),
               "mineral": "Ga", "price": draw(st.integers(1, 9)), "capacity": draw(st.integers(0, 20)),
               **({"agreement": "optional", "fixed_cost": draw(st.integers(0, 30))} if draw(st.booleans()) else {})}
              for i in range(n_o)]
    demand = [{"mineral": "Ga", "period": 2027 + t, "demand": draw(st.integers(0, 20))} for t in range(n_t)]
    minerals = [{"mineral": "Ga", "holding_cost": draw(st.integers(0, 3)), "shortfall_penalty": 50}]
    n_s = draw(st.integers(2, 3))
    weights = [draw(st.integers(1, 5)) for _ in range(n_s)]
    scenarios = []
    for s in range(n_s):
        shocks = [Shock(capacity_factor=draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
                        price_factor=draw(st.sampled_from([0.5, 1.0, 3.0])),
                        suppliers=(f"s{draw(st.integers(0, n_o - 1))}",),
                        period_from=2027 + draw(st.integers(0, n_t - 1)))
                  for _ in range(draw(st.integers(0, 2)))]
        changes = [DemandFactor(factor=draw(st.sampled_from([0.5, 1.0, 1.5])), add=draw(st.integers(0, 5)),
                                minerals=("ga",), period_from=2027 + draw(st.integers(0, n_t - 1)))
                   for _ in range(draw(st.integers(0, 1)))]
        scenarios.append(StochasticScenario(f"s{s}", weights[s] / sum(weights), shocks=shocks,
                                            demand_changes=changes))
    risk = draw(st.sampled_from(["expected", "worst", "cvar"]))
    commit = draw(st.sampled_from([None, 2027]))
    policy = {"risk": risk, **({"commit_through": commit} if commit else {})}
    return dict(minerals=minerals, demand=demand, offers=offers, policy=policy), scenarios


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=stochastic_books())
def test_ws_rp_eev_are_ordered(book, case):
    sheets, scenarios = case
    outcome = optimize(load(book(**sheets)), scenarios=scenarios)
    assert outcome.status == "optimal"
    m = outcome.measures
    tol = 1e-6 * max(1.0, abs(m.rp))
    assert m.ws <= m.rp + tol and m.evpi >= -tol
    if m.eev is not None:
        assert m.rp <= m.eev + tol and m.vss >= -tol
    # the plan's objective is the risk measure of its scenario costs
    costs = outcome.scenario_costs()
    assert m.rp == pytest.approx(_risk(costs, outcome), rel=1e-6, abs=1e-6)


def _risk(costs, outcome):
    from procure.extensive import risk_value as _risk_measure
    return _risk_measure(costs, outcome.fan.probabilities, outcome.risk, outcome.risk_level, outcome.risk_weight)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=stochastic_books())
def test_sharing_changes_nothing_but_size(book, case):
    # Each scenario's share of the plan satisfies that scenario's own program (every row and bound),
    # and sharing never adds columns beyond the risk columns (z, or eta and one u per scenario).
    from procure.solve import verify
    sheets, scenarios = case
    outcome = optimize(load(book(**sheets)), scenarios=scenarios, with_measures=False)
    for s, lp in enumerate(outcome.form.scenario_programs):
        assert verify(lp, outcome.scenario_solution(s)) == []
    assert outcome.form.stats["columns"] <= outcome.form.stats["columns_before_sharing"] + 1 + len(scenarios)


# ---------------------------------------------------------------- reported figures


def test_reported_figures_per_scenario_and_mineral(book):
    # The first hand-worked case: 10 t of Sino bought in 2027 (1 USD/t), held through 2027 (0.5 USD/t),
    # released in 2028 in both scenarios. Reference price: median of 1, 1, 5, 5 = 3 USD/t.
    outcome = optimize(load(two_period_book(book)), scenarios=fan(0.5, 0.5))
    report = build_report(outcome, input_name="t")
    tables, doc = report.tables, report.json["stochastic"]
    scen = tables["Scenarios"].set_index("scenario")
    measures = scen[scen["probability"].isna()]  # the measures' rows, split into money
    assert list(measures.index) == [label for _, label in stochastic_report.MEASURES]
    assert measures["objective"].tolist() == pytest.approx([15.0, 12.5, 30.0, 2.5, 15.0], rel=REL)
    scen = scen[scen["probability"].notna()]
    assert scen.loc["calm", "objective"] == pytest.approx(15.0, rel=REL)
    assert scen.loc["ban", "spend_usd"] == pytest.approx(15.0, rel=REL)
    assert scen.loc["ban", "china_share_by_value"] == pytest.approx(1.0)
    assert scen.loc["ban", "reserve_released_usd"] == pytest.approx(10 * 3.0, rel=REL)
    assert list(scen["alone_optimum"]) == pytest.approx([10.0, 15.0], rel=REL)
    reserve = tables["Reserve"].set_index(["scenario", "period"])
    assert reserve.loc[("ban", 2027), "reserve_added"] == pytest.approx(10.0, rel=REL)
    assert reserve.loc[("ban", 2028), "reserve_released"] == pytest.approx(10.0, rel=REL)
    assert reserve.loc[("calm", 2028), "reserve_end"] == pytest.approx(0.0, abs=1e-9)
    assert doc["minerals"]["Ga"]["reserve_bought"] == pytest.approx(10.0, rel=REL)
    # money split: 10 t at 1 USD/t bought, 10 t held a period at 0.5 USD/t, no fees
    assert doc["scenarios"]["ban"]["spend_split"] == pytest.approx({"acquisitions": 10.0, "fees": 0.0,
                                                                    "holding": 5.0})
    assert doc["measures"]["EVPI"]["spend"] == pytest.approx(15.0 - 12.5, rel=REL)  # WS spends 10 and 15
    assert doc["measures"]["VSS"]["objective"] == pytest.approx(15.0, rel=REL)
    recourse = tables["Recourse"]
    assert set(recourse.loc[recourse["period"] == 2027, "decided_with"]) == {"all"}
    assert set(recourse.loc[recourse["period"] == 2028, "decided_with"]) == {"calm", "ban"}
    assert tuple(report.item(k) for k in ("RP", "WS", "EEV", "VSS")) == pytest.approx(
        (15.0, 12.5, 30.0, 15.0), rel=REL)
    assert doc["RP"] == pytest.approx(15.0) and doc["spend"] == pytest.approx(15.0)
    assert doc["scenarios"]["ban"]["objective"] == pytest.approx(15.0)
    assert doc["model"]["columns"] == 15 and doc["model"]["columns_before_sharing"] == 20


def test_an_infeasible_stochastic_model_names_the_scenario(book):
    # A signed deal must take 8 t in 2028 at 2 USD/t; the period budget is 20 USD. In "dear" the deal's
    # price doubles: 8 x 4 = 32 USD, so that scenario's 2028 budget must rise by 12 USD (calm: 16 fits).
    path = book(minerals=[{"mineral": "Ga", "shortfall_penalty": 100}],
                demand=[{"mineral": "Ga", "period": 2027, "demand": 0},
                        {"mineral": "Ga", "period": 2028, "demand": 10}],
                offers=[{"supplier": "Deal", "country": "Chile", "mineral": "Ga", "price": 2, "capacity": 100,
                         "period": 2028, "agreement": "signed", "min_volume": 8}],
                policy={"budget_per_period": 20})
    dear = StochasticScenario("dear", 0.4, shocks=[Shock(price_factor=2.0, suppliers=("deal",))])
    outcome = optimize(load(path), scenarios=[StochasticScenario("calm", 0.6), dear])
    assert outcome.status == "infeasible"
    table = scenario_relaxations(outcome)
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["scenario"], row["period"]) == ("dear", 2028)
    assert row["amount"] == pytest.approx(12.0, rel=REL)
    assert "scenario dear" in row["meaning"] and "budget" in row["constraint"]
