"""procure stress: hand-worked recourse figures, sampling frequencies, reproducibility on Dask, nothing lost.

The workbook: Gallium (kg), three periods 2027-2029, no policy rules, holding
cost 1 USD/kg/period (so shorting a period early to stock for a later one is
never an alternative optimum). Offers: Sino (China) at 10 USD/kg and Maple (Canada) at 20 USD/kg, all
periods. Shortfall costs 10 x the highest price = 200 USD/kg, so the plan buys
everything it can, from Sino first. The reference price is the median of the
six (offer, period) prices: 15 USD/kg.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from procure import cluster, stress
from procure.cli import app
from procure.pipeline import load, optimize
from procure.stress_report import build_result, cvar

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
    results = stress.run_draws(setup.base, draws, seed,
                               **{k: v for k, v in options.items() if k in ("client", "chunk_size", "fault_marker")})
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
    masks = stress.RiskMasks(np.array([0.5]), np.array([2]), np.zeros(1), np.ones(1), np.zeros((1, 0), bool),
                             np.zeros((1, 1)))
    for draw in range(200):
        in_progress, started = stress.sample_events(masks, 6, 3, draw)
        uniforms = stress.draw_rng(3, draw).random((1, 6))[0]
        remaining = 0
        for t in range(6):  # the rule written out by hand
            start = remaining == 0 and uniforms[t] < 0.5
            remaining = 2 if start else remaining
            assert started[0, t] == start and in_progress[0, t] == (remaining > 0)
            remaining = max(remaining - 1, 0)
    # the stream of draw i is child i of SeedSequence(seed).spawn
    child = np.random.SeedSequence(3).spawn(5)[4]
    assert np.array_equal(np.random.default_rng(child).random(4), stress.draw_rng(3, 4).random(4))


def test_draw_data_touches_only_what_its_events_hit(book):
    # the sample's events over its offers: the sparse products equal the (events x offer-periods)
    # definition u'[k] = u[k] * prod over events in progress in k's period that hit k, bit for bit
    from procure.starter import bundled_sample

    base = stress.prepare(bundled_sample()).base
    masks = base.masks
    in_progress, _ = stress.sample_chunk(masks, base.n_periods, 5, 0, 300)
    assert in_progress.any(axis=(1, 2)).sum() > 100  # most of these draws have an event
    for draw in in_progress:
        data = stress.shocked_data(base, draw)
        hit = masks.hits_offer_period & draw[:, base.op_period]
        assert np.array_equal(data.capacity_factor, np.prod(np.where(hit, masks.capacity_factor[:, None], 1), axis=0))
        assert np.array_equal(data.price_factor, np.prod(np.where(hit, masks.price_factor[:, None], 1), axis=0))
        assert np.array_equal(data.touched, np.flatnonzero(hit.any(axis=0)))
        assert np.allclose(data.extra_demand, masks.extra_demand.T @ draw.astype(float), rtol=1e-15)


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
    fresh._set_data(stress.shocked_data(base, in_progress[-1]))
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


def test_same_figures_for_any_workers_and_chunks(book, clusters):
    path = book(**gallium(100, 100, 20, ban(0.2, duration=2) + [
        {"event": "Maple strike", "probability": 0.3, "supplier": "Maple", "capacity": 0.5, "price": 1.4}]))
    _, _, in_process = run(path, 300, chunk_size=37)
    _, _, one = run(path, 300, client=clusters[1], chunk_size=100)
    _, _, two = run(path, 300, client=clusters[2], chunk_size=50)
    text = json.dumps(in_process.json, sort_keys=True)
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
    assert list(doc) == ["draws", "seed", "commit_through", "failed_draws", "input_sha256",
                         "total_shortfall_usd", "minerals", "worst"]
    assert list(doc["total_shortfall_usd"]) == ["mean", "mean_ci95", "p50", "p90", "p95", "p99", "cvar95"]
    assert list(doc["minerals"]["Gallium"]) == ["unit", "p_shortfall", "mean", "mean_ci95", "p50", "p90", "p95",
                                                "p99", "mean_usd", "p95_usd", "reserve_released_mean"]
    assert (doc["draws"], doc["seed"], doc["commit_through"]) == (120, 5, "2027")
    worst = doc["worst"]
    assert 0 < len(worst) <= 20
    assert [(-w["shortfall_usd"], w["draw"]) for w in worst] == sorted((-w["shortfall_usd"], w["draw"]) for w in worst)
    wb = openpyxl.load_workbook(out)
    assert {"Summary", "Minerals", "Histogram", "WorstDraws", "Charts"} <= set(wb.sheetnames)
    assert len(wb["Charts"]._charts) == 1
    summary = {row[0]: row[1] for row in wb["Summary"].iter_rows(values_only=True)}
    assert summary["Seed"] == 5 and summary["Input SHA-256"] == doc["input_sha256"]


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
