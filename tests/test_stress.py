"""procure stress: hand-worked recourse figures, sampling frequencies, reproducibility on Dask, nothing lost.

The workbook: Gallium (kg), three periods 2027-2029, no policy rules, holding
cost 1 USD/kg/period (so shorting a period early to stock for a later one is
never an alternative optimum). Offers: Sino (China) at 10 USD/kg and Maple (Canada) at 20 USD/kg, all
periods. Shortfall costs 10 x the highest price = 200 USD/kg, so the plan buys
everything it can, from Sino first. The reference price is the median of the
six (offer, period) prices: 15 USD/kg.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from procure import cluster, stress
from procure.cli import app
from procure.pipeline import load, optimize
from procure.stress_report import build_result, cvar, histogram_table, mean_intervals
from procure.workbook import read_plan_summary

PERIODS = (2027, 2028, 2029)
REFERENCE_PRICE = 15.0


def gallium(demand, sino_capacity, maple_capacity, risks):
    return dict(
        minerals=[{"mineral": "Gallium", "unit": "kg", "holding_cost": 1}],
        demand=[{"mineral": "Gallium", "period": p, "demand": demand} for p in PERIODS],
        offers=[{"supplier": "Sino", "country": "China", "mineral": "Gallium", "price": 10,
                 "capacity": sino_capacity},
                {"supplier": "Maple", "country": "Canada", "mineral": "Gallium", "price": 20,
                 "capacity": maple_capacity}],
        extra_sheets={"Risks": risks},
    )


def ban(probability, **more):
    return [{"event": "China export controls", "probability": probability, "country": "China", **more}]


def run(path, draws, seed=7, **options):
    setup = stress.prepare(path, **{k: v for k, v in options.items() if k in ("model", "plan", "commit_through")})
    results = stress.run_draws(setup.base, draws, seed, **{k: v for k, v in options.items() if k in (
        "client", "chunk_size", "fault_marker", "foresight", "reuse", "deadline")})
    return setup, results, build_result(setup.instance, setup.base, setup.events, results, seed,
                                        setup.commit_through, setup.hashes)


def test_probability_zero_reproduces_the_plans_own_shortfall(book):
    # demand 200/period, Sino 100 + Maple 60: the plan falls 40 kg short each period, 120 kg in all
    # (= 1,800 USD at 15 USD/kg); with no event every draw is the plan itself
    path = book(**gallium(200, 100, 60, ban(0.0)))
    outcome = optimize(load(path))
    plan_shortfall = outcome.solution.x[outcome.program.columns["shortfall"].slice()].sum()
    assert plan_shortfall == pytest.approx(120, rel=1e-9)
    _, results, result = run(path, 50)
    assert results.shortfall[:, 0] == pytest.approx(np.full(50, plan_shortfall), rel=1e-9)
    figures = result.json["minerals"]["Gallium"]
    assert figures["unit"] == "kg" and figures["p_shortfall"] == 1.0
    for key in ("mean", "p50", "p90", "p95", "p99"):
        assert figures[key] == pytest.approx(120, rel=1e-9)
    assert figures["mean_ci95"] == pytest.approx([120, 120], rel=1e-9)
    assert figures["mean_usd"] == pytest.approx(1800, rel=1e-9)
    assert figures["reserve_released_mean"] == 0
    assert result.json["total_shortfall_usd"]["cvar95"] == pytest.approx(1800, rel=1e-9)
    assert result.json["failed_draws"] == [] and result.json["draws"] == 50


def test_probability_one_equals_the_deterministic_recourse(book, tmp_path):
    # China stopped in every period. Committed 2027 purchases (Sino 100, Maple 60) deliver
    # min(committed, shocked capacity) = 0 and 60; 2028 and 2029 can only buy Maple's 60:
    # 140 kg short in each period, 420 kg in all, 6,300 USD. The same as solving with a
    # scenario file that stops China directly (its plan also buys Maple's 60 in 2027).
    path = book(**gallium(200, 100, 60, ban(1.0)))
    model = tmp_path / "ban.toml"
    model.write_text('name = "ban"\n[[shock]]\ncountry = "China"\ncapacity = 0\n')
    direct = optimize(load(path, model))
    direct_shortfall = direct.solution.x[direct.program.columns["shortfall"].slice()].sum()
    assert direct_shortfall == pytest.approx(420, rel=1e-9)
    _, results, result = run(path, 40)
    assert results.shortfall[:, 0] == pytest.approx(np.full(40, direct_shortfall), rel=1e-9)
    assert result.json["minerals"]["Gallium"]["p99"] == pytest.approx(420, rel=1e-9)
    assert result.json["total_shortfall_usd"]["mean"] == pytest.approx(420 * REFERENCE_PRICE, rel=1e-9)
    worst = result.json["worst"]
    assert len(worst) == 20 and [w["draw"] for w in worst] == list(range(20))  # ties: by draw index
    assert worst[0]["events"] == [f"China export controls {p}" for p in PERIODS]


def test_extra_demand_and_commit_through(book):
    # a 30 kg/period gap every period on top of the plan's 40 kg shortfall: 70 x 3 = 210 kg
    path = book(**gallium(200, 100, 60, [{"event": "Surge", "probability": 1, "mineral": "Gallium",
                                          "capacity": 1, "extra_demand": 30}]))
    _, results, result = run(path, 5, commit_through="2029")
    assert results.shortfall[:, 0] == pytest.approx(np.full(5, 210.0), rel=1e-9)
    assert result.json["commit_through"] == "2029"


def test_reserve_released_is_the_stock_drawn_down(book):
    # demand 100, Sino 100 (China), Maple 80, initial reserve 50. China stopped in every period,
    # commit through 2027: 2027 delivers Maple's committed 0 (the plan buys Sino only), so the
    # reserve's 50 covers half of 2027's 100 (50 short); 2028 and 2029 buy Maple's 80, 20 short
    # each: 90 kg short. Released: 50 (all of it, in 2027).
    spec = gallium(100, 100, 80, ban(1.0))
    spec["minerals"][0]["initial_reserve"] = 50
    path = book(**spec)
    _, results, result = run(path, 3)
    assert results.shortfall[:, 0] == pytest.approx(np.full(3, 90.0), rel=1e-9)
    assert results.released[:, 0] == pytest.approx(np.full(3, 50.0), rel=1e-9)
    assert result.json["minerals"]["Gallium"]["reserve_released_mean"] == pytest.approx(50, rel=1e-9)


def test_share_of_draws_with_a_shortfall_matches_the_start_probability(book):
    # demand 100, Sino 100 (China), Maple 20: a ban in any period leaves a shortfall (at most 20 kg
    # stocked ahead + 20 bought < 100), none otherwise. With q = 0.2 per period over 3 periods,
    # P(any shortfall) = 1 - 0.8^3 = 0.488; 2,000 draws: standard error 0.0112, allow 4 of them.
    path = book(**gallium(100, 100, 20, ban(0.2)))
    draws = 2000
    _, results, result = run(path, draws, seed=11, chunk_size=500)
    share = float((results.shortfall[:, 0] > 0).mean())
    expected = 1 - (1 - 0.2) ** 3
    assert abs(share - expected) < 4 * math.sqrt(expected * (1 - expected) / draws)
    assert result.json["minerals"]["Gallium"]["p_shortfall"] == share


def test_sampling_lasts_its_duration_and_may_start_again():
    window = np.array([[True] * 6, [False, False, True, True, False, False]])  # the second: starts in t = 2, 3
    masks = stress.RiskMasks(probability=np.array([0.5, 0.5]), duration_periods=np.array([2, 3]),
                             start_allowed=window, effect_event=np.zeros(0, dtype=np.int64),
                             capacity_factor=np.zeros(0), price_factor=np.zeros(0),
                             hits_offer_period=np.zeros((0, 0), bool), extra_demand=np.zeros((0, 1)),
                             hits_mineral_period=np.zeros((0, 1, 6), bool))
    for draw in range(200):
        in_progress, started = stress.sample_events(masks, 6, 3, draw)
        uniforms = stress.draw_rng(3, draw).random((2, 6))
        for e, duration in ((0, 2), (1, 3)):
            remaining = 0
            for t in range(6):  # the rule written out by hand
                start = remaining == 0 and uniforms[e, t] < 0.5 and window[e, t]
                remaining = duration if start else remaining
                assert started[e, t] == start and in_progress[e, t] == (remaining > 0)
                remaining = max(remaining - 1, 0)
        assert np.array_equal(stress.in_progress_of(started, masks.duration_periods), in_progress)
        assert not started[1, [0, 1, 4, 5]].any()  # never outside its window; it may last beyond it
    # the stream of draw i is child i of SeedSequence(seed).spawn
    child = np.random.SeedSequence(3).spawn(5)[4]
    assert np.array_equal(np.random.default_rng(child).random(4), stress.draw_rng(3, 4).random(4))


def test_draw_data_is_the_product_of_the_effects_in_progress(book):
    # the sample's events over its offers: the sparse products equal the (events x offer-periods)
    # definition u'[k] = u[k] * prod over events in progress in k's period that hit k, bit for bit
    from procure.starter import bundled_sample

    base = stress.prepare(bundled_sample()).base
    masks = base.masks
    in_progress, _ = stress.sample_chunk(masks, base.n_periods, 5, 0, 300)
    assert in_progress.any(axis=(1, 2)).sum() > 100  # most of these draws have an event
    for draw in in_progress:
        data = stress.shocked_data(base, draw)
        effect_on = draw[masks.effect_event]  # (effects, periods): a row of Risks is in force while its event is
        hit = masks.hits_offer_period & effect_on[:, base.op_period]
        assert np.array_equal(data.capacity_factor, np.prod(np.where(hit, masks.capacity_factor[:, None], 1), axis=0))
        assert np.array_equal(data.price_factor, np.prod(np.where(hit, masks.price_factor[:, None], 1), axis=0))
        assert np.allclose(data.extra_demand, masks.extra_demand.T @ effect_on.astype(float), rtol=1e-15)
        # release periods: a mineral hit in t (or in the rebuild period before) has target 0
        mineral_hit = (masks.hits_mineral_period & effect_on[:, None, :]).any(axis=0)
        released = stress.release_periods(mineral_hit, base.rebuild_periods)
        assert np.array_equal(data.reserve_target, np.where(released, 0.0, base.reserve_target))


def test_a_model_changed_draw_after_draw_equals_one_set_to_the_draw_alone():
    # the worker changes only the offer-periods this draw's or the last draw's events touch: after
    # 40 draws its HiGHS model holds exactly what a fresh model set to the last draw holds
    from procure.starter import bundled_sample

    base = stress.prepare(bundled_sample()).base
    in_progress, _ = stress.sample_chunk(base.masks, base.n_periods, 9, 0, 40)
    reused = stress._Recourse(base)
    for draw in in_progress:
        reused.solve_draw(stress.shocked_data(base, draw))
    fresh = stress._Recourse(base)
    fresh._set_data(fresh.view(stress.shocked_data(base, in_progress[-1])))
    kept, direct = reused.highs.getLp(), fresh.highs.getLp()
    for field in ("col_cost_", "col_lower_", "col_upper_", "row_lower_", "row_upper_"):
        assert np.array_equal(np.asarray(getattr(kept, field)), np.asarray(getattr(direct, field))), field
    assert np.array_equal(np.asarray(kept.a_matrix_.value_), np.asarray(direct.a_matrix_.value_))
    assert np.array_equal(np.asarray(kept.a_matrix_.index_), np.asarray(direct.a_matrix_.index_))
    # and that is the draw's data: prices and price coefficients scaled by the draw's factors
    last = stress.shocked_data(base, in_progress[-1])
    assert (last.price_factor != 1).any()
    x = slice(base.x_start, base.x_start + len(base.op_price_usd))
    assert np.array_equal(np.asarray(kept.col_cost_)[x], base.op_price_usd * last.price_factor)
    coefficients = _coefficients(kept)
    for entry, k, row in zip(base.price_entries, base.price_entry_column, base.price_entry_row):
        assert coefficients[row, k + base.x_start] == base.a_value[entry] * last.price_factor[k]


def _coefficients(lp) -> dict[tuple[int, int], float]:
    """(row, column) -> value of a HighsLp's matrix, whichever way HiGHS stores it."""
    import highspy

    matrix = lp.a_matrix_
    start, index, value = (np.asarray(matrix.start_), np.asarray(matrix.index_), np.asarray(matrix.value_))
    by_row = matrix.format_ == highspy.MatrixFormat.kRowwise
    return {((major, int(minor)) if by_row else (int(minor), major)): float(v)
            for major in range(len(start) - 1)
            for minor, v in zip(index[start[major]:start[major + 1]], value[start[major]:start[major + 1]])}


def test_cvar_of_a_sample():
    # 100 draws 1..100: the worst 5% are 96..100, mean 98; 30 draws: worst 1.5 draws = (30 + 0.5 x 29) / 1.5
    assert cvar(np.arange(1, 101)) == pytest.approx(98.0, rel=1e-12)
    assert cvar(np.arange(1, 31)) == pytest.approx((30 + 0.5 * 29) / 1.5, rel=1e-12)


def test_a_failed_draw_is_retried_cold_then_listed(book, monkeypatch):
    path = book(**gallium(200, 100, 60, ban(0.0)))
    real = stress._Recourse._optimal_values
    calls = {"n": 0}

    def flaky(self):
        calls["n"] += 1
        return None if calls["n"] <= 3 else real(self)  # draw 0: both tries fail; draw 1: the retry works

    monkeypatch.setattr(stress._Recourse, "_optimal_values", flaky)
    stress._BUILT.clear()
    _, results, result = run(path, 6)
    stress._BUILT.clear()
    assert result.json["failed_draws"] == [0] and result.json["draws"] == 6
    assert "retried cold" in results.failures[0]
    assert np.isnan(results.shortfall[0]).all() and results.shortfall[1:, 0] == pytest.approx(np.full(5, 120.0))
    assert result.json["minerals"]["Gallium"]["mean"] == pytest.approx(120, rel=1e-9)


@pytest.fixture(scope="module")
def clusters():
    """A one-worker and a two-worker local Dask cluster, shared by the tests below."""
    made = {n: cluster.local_client(n) for n in (1, 2)}
    yield made
    for client in made.values():
        local = client.cluster
        client.close()
        local.close()


@pytest.mark.parametrize("foresight", ["none", "full"])
def test_same_figures_for_any_workers_and_chunks(book, clusters, foresight):
    path = book(**gallium(100, 100, 20, ban(0.2, duration=2) + [
        {"event": "Maple strike", "probability": 0.3, "supplier": "Maple", "capacity": 0.5, "price": 1.4},
        {"event": "Maple strike", "probability": 0.3, "supplier": "Sino", "price": 1.1, "capacity": 1}]))
    _, _, in_process = run(path, 300, chunk_size=37, foresight=foresight)
    _, _, alone = run(path, 300, chunk_size=1, foresight=foresight, reuse=False)  # every draw solved afresh
    _, _, one = run(path, 300, client=clusters[1], chunk_size=100, foresight=foresight)
    _, _, two = run(path, 300, client=clusters[2], chunk_size=50, foresight=foresight)
    text = json.dumps(in_process.json, sort_keys=True)
    assert in_process.json["foresight"] == foresight
    assert json.dumps(alone.json, sort_keys=True) == text
    assert json.dumps(one.json, sort_keys=True) == text
    assert json.dumps(two.json, sort_keys=True) == text
    assert in_process.json["minerals"]["Gallium"]["p_shortfall"] > 0.3  # the events did hit


def test_a_worker_killed_mid_run_loses_no_draw(book, clusters, tmp_path):
    path = book(**gallium(100, 100, 20, ban(0.2)))
    marker = tmp_path / "killed"
    setup, reference, _ = run(path, 400, chunk_size=100)
    results = stress.run_draws(setup.base, 400, 7, client=clusters[2], chunk_size=100, fault_marker=str(marker))
    assert marker.exists()  # a worker did die halfway through a chunk
    assert len(results.relaxed) == 400 and results.failures == {}
    assert np.array_equal(results.shortfall, reference.shortfall)


def test_cli_writes_the_workbook_and_exactly_the_json_keys(book, tmp_path, clusters):
    import openpyxl

    path = book(**gallium(100, 100, 20, ban(0.3)))
    out, js = tmp_path / "stress.xlsx", tmp_path / "stress.json"
    result = CliRunner().invoke(app, ["stress", str(path), "--draws", "120", "--seed", "5",
                                      "--scheduler", clusters[1].scheduler.address,
                                      "-o", str(out), "--json", str(js)])
    assert result.exit_code == 0, result.output
    doc = json.loads(js.read_text())
    assert list(doc) == ["draws", "seed", "commit_through", "foresight", "failed_draws", "spend_usd", "input_sha256",
                         "total_shortfall_usd", "minerals", "worst"]
    assert doc["foresight"] == "none" and list(doc["spend_usd"]) == ["mean", "mean_ci95", "p5", "p50", "p95"]
    assert list(doc["total_shortfall_usd"]) == ["mean", "mean_ci95", "p50", "p90", "p95", "p99", "cvar95"]
    assert list(doc["minerals"]["Gallium"]) == ["unit", "p_shortfall", "mean", "mean_ci95", "p50", "p90", "p95",
                                                "p99", "mean_usd", "p95_usd", "reserve_released_mean"]
    assert (doc["draws"], doc["seed"], doc["commit_through"]) == (120, 5, "2027")
    worst = doc["worst"]
    assert 0 < len(worst) <= 20
    assert [(-w["shortfall_usd"], w["draw"]) for w in worst] == sorted((-w["shortfall_usd"], w["draw"]) for w in worst)
    wb = openpyxl.load_workbook(out)
    assert {"Summary", "Shortfall", "ShortfallValue", "Histogram", "WorstDraws", "Events", "Charts"} \
        <= set(wb.sheetnames)
    assert len(wb["Charts"]._charts) == 1
    summary = read_plan_summary(out)  # by the hidden key column, as procure reads its workbooks
    assert summary["seed"] == 5 and summary["input_sha256"] == doc["input_sha256"]
    assert summary["spend_usd.mean"] == pytest.approx(doc["spend_usd"]["mean"], rel=1e-12)


def test_plan_read_back_gives_the_same_commitment(book, tmp_path):
    from procure.plan import write_plan
    from procure.report import build_report

    path = book(**gallium(200, 100, 60, ban(0.25)))
    outcome = optimize(load(path))
    plan = tmp_path / "plan.xlsx"
    write_plan(build_report(outcome, input_name=path.name), plan)
    solved = stress.commitment_from_values(outcome.program, outcome.instance, outcome.solution.x, 1)
    read = stress.commitment_from_plan(plan, outcome.instance, outcome.program, 1)
    assert np.array_equal(np.isnan(read.committed_x), np.isnan(solved.committed_x))
    assert read.committed_x[~np.isnan(read.committed_x)] == pytest.approx(
        solved.committed_x[~np.isnan(solved.committed_x)], rel=1e-9)
    _, from_plan, _ = run(path, 60, plan=plan, commit_through=2028)
    _, solved_here, _ = run(path, 60, commit_through=2028)
    assert np.array_equal(from_plan.shortfall, solved_here.shortfall)


def test_plan_from_another_workbook_is_refused(book, tmp_path):
    from procure.errors import InputError
    from procure.plan import write_plan
    from procure.report import build_report

    first = book(**gallium(200, 100, 60, ban(0.25)))
    other = book(**gallium(190, 100, 60, ban(0.25)))
    plan = tmp_path / "plan.xlsx"
    write_plan(build_report(optimize(load(first)), input_name=first.name), plan)
    with pytest.raises(InputError) as caught:
        stress.prepare(other, plan=plan)
    [problem] = caught.value.problems
    assert problem.sheet == "Summary" and "different workbook" in problem.message and other.name in problem.message


def test_unknown_commit_through_period_is_an_input_problem(book):
    from procure.errors import InputError

    path = book(**gallium(200, 100, 60, ban(0.25)))
    with pytest.raises(InputError) as caught:
        stress.prepare(path, commit_through="2031")
    [problem] = caught.value.problems
    assert problem.value == "2031" and "no such period" in problem.message and "2027, 2028, 2029" in problem.message


def test_cli_without_draws_or_with_both_cluster_options_exits_1(book):
    path = book(**gallium(200, 100, 60, ban(0.25)))
    missing = CliRunner().invoke(app, ["stress", str(path)])
    assert missing.exit_code == 1 and "--draws N is required" in missing.output
    both = CliRunner().invoke(app, ["stress", str(path), "--draws", "5", "--workers", "1", "--scheduler", "tcp://x:1"])
    assert both.exit_code == 1 and "not both" in both.output
    foresight = CliRunner().invoke(app, ["stress", str(path), "--draws", "5", "--foresight", "some"])
    assert foresight.exit_code == 1 and "--foresight some: expected one of none, full" in foresight.output


def test_without_a_plan_a_stochastic_workbook_commits_its_stochastic_plan():
    """STOCKPILE.md: without --plan the plan solve would write is stressed, stochastic when the workbook
    has Scenarios. The bundled reserve program commits its first year (commit_through = 2027): the
    committed purchases are the stochastic plan's 2027 decisions, which every scenario shares."""
    from procure.starter import bundled_sample
    from procure.stress import prepare

    setup = prepare(bundled_sample())
    data = load(bundled_sample())
    fan = data.scenarios
    assert len(fan) == 6  # the sample is stochastic
    outcome = optimize(data, with_measures=False)
    form = outcome.form
    first_year = setup.instance.op_period == 0
    committed = setup.base.committed_x[first_year]
    assert not np.isnan(committed).any() and committed.sum() > 0
    assert np.isnan(setup.base.committed_x[~first_year]).all()  # later years are the recourse's
    for s in range(len(fan)):
        own = outcome.solution.x[form.col_map[s]][form.scenario_programs[s].columns["x"].slice()]
        np.testing.assert_allclose(committed, own[first_year], rtol=1e-9, atol=1e-6)


def test_a_stochastic_plan_read_back_commits_what_solving_it_commits(tmp_path):
    """--plan with the stochastic plan `procure solve` wrote commits the same purchases and agreements as
    stressing without --plan (keyed by offer_row and period, signed from the Agreements sheet)."""
    from typer.testing import CliRunner

    from procure.cli import app
    from procure.starter import bundled_sample
    from procure.stress import prepare

    plan = tmp_path / "plan.xlsx"
    assert CliRunner().invoke(app, ["solve", "-o", str(plan), "-q"]).exit_code == 0
    solved, read_back = prepare(bundled_sample()), prepare(bundled_sample(), plan=plan)
    np.testing.assert_allclose(read_back.base.committed_x, solved.base.committed_x, rtol=1e-9, atol=1e-6)
    assert np.isfinite(read_back.base.committed_x).sum() > 0


# ---------------------------------------------------------------- foresight, correlated events, release periods

YEARS = (2027, 2028, 2029, 2030)


def one_offer(risks, years=YEARS, demand=10, **mineral):
    """Gallium (t), ``demand`` t a year, one offer (Sino, China) at 1 USD/t with 100 t a year."""
    return dict(minerals=[{"mineral": "Gallium", "unit": "t", **mineral}],
                demand=[{"mineral": "Gallium", "period": p, "demand": demand} for p in years],
                offers=[{"supplier": "Sino", "country": "China", "mineral": "Gallium", "price": 1, "capacity": 100}],
                extra_sheets={"Risks": risks})


def test_without_foresight_a_known_ban_is_not_bought_ahead_for(book):
    # 10 t a year 2027-2030 from one offer at 1 USD/t; holding costs 0.1 USD/t a year, so buying ahead is
    # never a tie. A stop with probability 1 that may start only in 2029, lasting 1 period: in every draw it
    # starts in 2029 and nowhere else. The plan buys 10 t a year (2027 committed).
    # --foresight none: 2028 knows of no event and buys its 10 t; 2029 then has nothing to buy and no
    # reserve: 10 t short; 2030 buys 10 t. Spend 10 + 10 + 0 + 10 = 30 USD.
    # --foresight full: 2028 buys 20 t (holding 10 t a year costs 1 USD, falling short 10 t costs the
    # shortfall penalty): nothing short; spend 10 + 20 + 10 = 40 USD purchases + 1 USD holding = 41 USD.
    path = book(**one_offer([{"event": "Stop", "probability": 1, "period_from": 2029, "period_to": 2029}],
                            holding_cost=0.1))
    _, none, honest = run(path, 25)
    _, full, bound = run(path, 25, foresight="full")
    assert none.shortfall[:, 0] == pytest.approx(np.full(25, 10.0), rel=1e-9)
    assert np.array_equal(full.shortfall[:, 0], np.zeros(25))
    assert none.spend == pytest.approx(np.full(25, 30.0), rel=1e-9)
    assert full.spend == pytest.approx(np.full(25, 41.0), rel=1e-9)
    assert full.released[:, 0] == pytest.approx(np.full(25, 10.0), rel=1e-9)  # the stock bought in 2028
    assert honest.json["foresight"] == "none" and bound.json["foresight"] == "full"
    assert honest.json["worst"][0]["events"] == ["Stop 2029"]  # it started in its window only
    assert honest.json["spend_usd"]["mean"] == pytest.approx(30, rel=1e-9)
    assert honest.json["spend_usd"]["mean_ci95"] == pytest.approx([30, 30], rel=1e-9)


def test_rows_of_one_event_hit_their_minerals_in_the_same_draws(book):
    # Gallium and Germanium (kg), 10 kg a year each 2027-2029, each from one Chinese offer. "China stop" is
    # one event of two rows (each stopping one mineral), probability 0.3 a period: in a draw where it starts
    # in some period, both minerals fall 10 kg short in it (no reserve, no other offer); else neither.
    # Written as two events of one row each, they start independently and the draws differ.
    minerals = ("Gallium", "Germanium")
    spec = dict(minerals=[{"mineral": m, "unit": "kg"} for m in minerals],
                demand=[{"mineral": m, "period": p, "demand": 10} for m in minerals for p in PERIODS],
                offers=[{"supplier": f"Sino {m}", "country": "China", "mineral": m, "price": 1, "capacity": 50}
                        for m in minerals])
    together = book(**spec, extra_sheets={"Risks": [
        {"event": "China stop", "probability": 0.3, "mineral": m} for m in minerals]})
    _, draws, result = run(together, 200)
    short = draws.shortfall > 0
    assert np.array_equal(short[:, 0], short[:, 1])
    assert 0 < short[:, 0].sum() < 200
    assert result.json["minerals"]["Gallium"]["p_shortfall"] == result.json["minerals"]["Germanium"]["p_shortfall"]
    apart = book(**spec, extra_sheets={"Risks": [
        {"event": f"China stop {m}", "probability": 0.3, "mineral": m} for m in minerals]})
    _, independent, _ = run(apart, 200)
    assert not np.array_equal(independent.shortfall[:, 0] > 0, independent.shortfall[:, 1] > 0)


def test_the_reserve_covers_a_price_shock_and_its_rebuild_period(book):
    # Initial reserve 20 t = the target in every period; 10 t a year 2027-2029 at 1 USD/t, no holding cost.
    # The price triples in 2028 (probability 1, may start only in 2028, lasting 1 period). The plan buys 10 t
    # in 2027 (committed). The price shock hits gallium in 2028: 2028 and the rebuild period 2029 are release
    # periods (target 0), so the reserve covers both years: nothing more is bought, in every draw the spend
    # is the committed 10 USD and the reserve released 20 t, whatever the foresight.
    # Without the rebuild period (rebuild_periods 0) the 2029 target of 20 t holds again: 2029 buys 20 t
    # (10 to use, 10 to refill the 10 t left): 30 USD in all.
    spec = one_offer([{"event": "Spike", "probability": 1, "capacity": 1, "price": 3, "period_from": 2028,
                       "period_to": 2028}], years=PERIODS, initial_reserve=20)
    for row in spec["demand"]:
        row["reserve_target"] = 20
    path = book(**spec)
    for foresight in ("none", "full"):
        setup, draws, result = run(path, 10, foresight=foresight)
        assert draws.spend == pytest.approx(np.full(10, 10.0), rel=1e-9)
        assert draws.released[:, 0] == pytest.approx(np.full(10, 20.0), rel=1e-9)
        assert np.array_equal(draws.shortfall, np.zeros((10, 1)))
        spend = result.json["spend_usd"]
        assert [spend["p5"], spend["p50"], spend["p95"]] == pytest.approx([10, 10, 10], rel=1e-9)
    no_rebuild = dataclasses.replace(setup.base, rebuild_periods=0, token=setup.base.token + "-no-rebuild")
    draws = stress.run_draws(no_rebuild, 5, 7)
    assert draws.spend == pytest.approx(np.full(5, 30.0), rel=1e-9)


def test_release_periods_are_the_hits_and_the_rebuild_periods_after_each_run():
    hit = np.array([[False, True, True, False, False, True, False], [False] * 7])
    assert stress.release_periods(hit, 0).tolist() == hit.tolist()
    assert stress.release_periods(hit, 1)[0].tolist() == [False, True, True, True, False, True, True]
    assert stress.release_periods(hit, 2)[0].tolist() == [False, True, True, True, True, True, True]
    assert stress.release_periods(hit, 50)[0].tolist() == [False] + [True] * 6  # never past the horizon
    assert not stress.release_periods(hit, 3)[1].any()


def test_reused_solves_give_the_figures_of_solving_each_draw_afresh():
    # the sample's events: draws whose events (or, without foresight, whose events so far) repeat an earlier
    # draw's reuse its solves; the figures equal those of every draw solved on a fresh worker model
    from procure.starter import bundled_sample

    base = stress.prepare(bundled_sample()).base
    for foresight in ("none", "full"):
        stress._BUILT.clear()
        reused = stress.run_draws(base, 240, 3, chunk_size=240, foresight=foresight)
        stress._BUILT.clear()
        fresh = stress.run_draws(base, 240, 3, chunk_size=7, foresight=foresight, reuse=False)
        for name in ("shortfall", "released", "relaxed", "spend"):
            assert np.array_equal(getattr(reused, name), getattr(fresh, name)), (foresight, name)
        assert reused.failures == fresh.failures == {}


def test_draws_past_the_time_limit_are_listed_not_dropped(book):
    path = book(**gallium(100, 100, 20, ban(0.2)))
    setup, draws, result = run(path, 30, deadline=time.time() - 1)
    assert sorted(draws.failures) == list(range(30))
    assert all("time limit" in why for why in draws.failures.values())
    assert result.json["failed_draws"] == list(range(30)) and result.json["draws"] == 30
    assert result.json["total_shortfall_usd"]["mean"] is None


def test_cli_time_limit_reports_the_draws_left(book, tmp_path, clusters, monkeypatch):
    # a limit the preparation fits in but the draws do not: every draw past it is listed, exit 3
    path = book(**gallium(100, 100, 20, ban(0.3)))
    real = stress.run_draws

    def late(*args, **kwargs):
        kwargs["deadline"] = time.time() - 1  # as if the cluster took all the time left
        return real(*args, **kwargs)

    monkeypatch.setattr("procure.cli.run_draws", late)
    js = tmp_path / "s.json"
    result = CliRunner().invoke(app, ["stress", str(path), "--draws", "40", "--time-limit", "600", "--scheduler",
                                      clusters[1].scheduler.address, "-o", str(tmp_path / "s.xlsx"),
                                      "--json", str(js)])
    assert result.exit_code == 3, result.output
    assert "40 draw(s) failed" in result.output and "time limit" in result.output
    assert json.loads(js.read_text())["failed_draws"] == list(range(40))


# ---------------------------------------------------------------- intervals, histogram, the workbook as a document


def test_a_mean_interval_never_leaves_the_possible_range():
    # one draw in 3,000 falls 100 kg short: mean 0.0333 kg. The normal interval mean -+ 1.96 s / sqrt(n)
    # reaches below 0 (-0.032 kg); the bootstrap percentile interval is that of the mean of n draws in which
    # the short draw appears X ~ Binomial(3000, 1/3000) times: 2.5th percentile 0 (P(X = 0) = 0.37), 97.5th
    # 3 x 100 / 3000 = 0.1 kg (P(X <= 2) = 0.92, P(X <= 3) = 0.981)
    values = np.zeros((3000, 1))
    values[1234] = 100.0
    normal_low = values.mean() - 1.959964 * values.std(ddof=1) / math.sqrt(3000)
    assert normal_low < -0.03
    [[low, high]] = mean_intervals(values, seed=7)
    assert low == 0.0 and high == pytest.approx(0.1, rel=1e-9)
    assert np.array_equal(mean_intervals(values, seed=7), [[low, high]])  # reproducible from the seed
    assert mean_intervals(np.full((5, 1), 4.0), seed=1).tolist() == [[4.0, 4.0]]


def test_histogram_bins_are_round_and_labelled_in_dollars():
    table = histogram_table(np.array([0.0, 0.0, 1.2e8, 2.5e8, 1.9e9]))
    # largest 1.9e9 over at most 20 bins: width 0.1B (1 x 10^8), 19 bins from 0, after the no-shortfall bin
    assert len(table) == 20 and table["Draws"].sum() == 5
    assert table.iloc[0].tolist() == [0.0, 0.0, 2, "no shortfall"]
    assert table["Bin"].iloc[1:4].tolist() == ["$0-$0.1B", "$0.1B-$0.2B", "$0.2B-$0.3B"]
    assert table["Draws"].iloc[2] == 1 and table["Draws"].iloc[3] == 1 and table["Draws"].iloc[-1] == 1
    assert table["Bin"].iloc[-1] == "$1.8B-$1.9B" and str(table["Draws"].dtype) == "int64"
    millions = histogram_table(np.array([3e6, 49e6]))  # width 2.5M: one decimal
    assert millions["Bin"].iloc[1:3].tolist() == ["$0-$2.5M", "$2.5M-$5.0M"]


def test_cli_full_foresight_is_labelled_and_the_workbook_prints_as_a_document(book, tmp_path, clusters):
    import openpyxl

    risks = ban(0.3) + [{"event": "Surge", "probability": 0.2, "mineral": "Gallium", "capacity": 1,
                         "price": 1.3426, "extra_demand": 4.5537}]
    path = book(**gallium(100, 100, 20, risks))
    out, js = tmp_path / "stress.xlsx", tmp_path / "stress.json"
    result = CliRunner().invoke(app, ["stress", str(path), "--draws", "60", "--foresight", "full", "--scheduler",
                                      clusters[1].scheduler.address, "-o", str(out), "--json", str(js)])
    assert result.exit_code == 0, result.output
    assert "optimistic bound" in result.output and "foresight full" in result.output
    assert " kg" in result.output  # every quantity in the terminal table with its unit
    assert json.loads(js.read_text())["foresight"] == "full"
    wb = openpyxl.load_workbook(out)
    summary = list(wb["Summary"].iter_rows(values_only=True))
    assert "OPTIMISTIC BOUND" in summary[1][1]  # the first line says what the figures are
    assert all("optimistic bound" in label for label, *_ in summary if "(USD" in str(label))
    for sheet in wb.worksheets:
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert sheet.page_setup.fitToWidth in (None, 1), sheet.title  # one page wide (1 is the default)
        assert "optimistic bound" in sheet.oddHeader.center.text, sheet.title
    assert wb["Charts"].page_setup.fitToHeight in (None, 1)  # the chart on one page
    events = {row[0].value: row for row in wb["Events"].iter_rows(min_row=2)}
    surge = [c for c in wb["Events"][1]]
    column = {c.value: i for i, c in enumerate(surge)}
    price = events["Surge"][column["Price multiplier"]]
    assert price.value == 1.3426 and price.number_format == "General"  # as written, never "1"
    extra = events["Surge"][column["Extra demand (units per period)"]]
    assert extra.value == 4.5537 and events["Surge"][column["Unit of extra demand"]].value == "kg"
    histogram = wb["Histogram"]
    header = [c.value for c in histogram[1]]
    draws = [row[header.index("Draws")] for row in histogram.iter_rows(min_row=2)]
    assert all(c.number_format == "#,##0" for c in draws) and sum(c.value for c in draws) == 60
    assert all(str(c.value).startswith(("$", "no shortfall")) for c in [r[header.index("Bin")]
                                                                       for r in histogram.iter_rows(min_row=2)])
    shortfall = wb["Shortfall"]
    assert [c.value for c in shortfall[1]][:2] == ["Mineral", "Unit"] and shortfall["B2"].value == "kg"


def test_problems_of_the_model_file_and_of_risks_are_reported_together(book, tmp_path):
    from procure.errors import InputError

    path = book(**gallium(200, 100, 60, ban(1.5)))  # probability 1.5: not a probability
    model = tmp_path / "bad.toml"
    model.write_text('name = "bad"\n[[shock]]\ncountry = "Atlantis"\ncapacity = 0\n')  # no such country
    with pytest.raises(InputError) as caught:
        stress.prepare(path, model=model)
    texts = [str(p) for p in caught.value.problems]
    assert any("Atlantis" in t for t in texts), texts
    assert any(p.sheet == "Risks" and p.row == 2 and p.column == "probability" for p in caught.value.problems)
