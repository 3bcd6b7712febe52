"""Scenario files: every filter and multiplier, checked against hand-worked optima; and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import objective
from procure.errors import InputError


def base_sheets():
    """Two minerals, two years. Ga: China 1/t (cap 100) and Canada 3/t; Co: Congo 2/t, Canada 5/t."""
    return dict(
        minerals=[{"mineral": "Ga"}, {"mineral": "Co"}],
        demand=[{"mineral": m, "period": p, "demand": 10} for m in ("Ga", "Co") for p in (2027, 2028)],
        offers=[
            {"supplier": "Sino", "country": "China", "mineral": "Ga", "price": 1, "capacity": 100},
            {"supplier": "Maple", "country": "Canada", "mineral": "Ga", "price": 3, "capacity": 100},
            {"supplier": "Kat", "country": "Congo (Kinshasa)", "mineral": "Co", "price": 2, "capacity": 100},
            {"supplier": "Maple", "country": "Canada", "mineral": "Co", "price": 5, "capacity": 100},
        ],
    )


def scenario(tmp_path, text: str):
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


def close(value, expected):
    assert value == pytest.approx(expected, rel=1e-9)


def test_baseline(solve_book):
    # Ga: 20 x 1; Co: 20 x 2 -> 60.
    close(objective(solve_book(**base_sheets())), 60.0)


def test_country_and_mineral_filter_with_period_from_on_all_period_offer(solve_book, tmp_path):
    # China's Ga capacity to 0 from 2028 (an all-period offer becomes per period); holding Ga costs
    # 5/t, so carrying cheap 2027 Chinese Ga (1 + 5) loses to Canada (3) in 2028:
    # Ga 2027: 10 x 1, 2028: 10 x 3; Co 20 x 2 -> 10 + 30 + 40 = 80.
    sheets = base_sheets()
    sheets["minerals"][0]["holding_cost"] = 5
    path = scenario(tmp_path, 'name = "ban"\n[[shock]]\ncountry = "china"\nmineral = ["Ga"]\n'
                              'period_from = 2028\ncapacity = 0.0\n')
    out = solve_book(model=path, **sheets)
    close(objective(out), 80.0)
    assert out.instance.policy.scenario == "ban"


def test_period_to_and_price_multiplier(solve_book, tmp_path):
    # Congo cobalt price x 3 up to 2027 only: 2027 Co buys Canada at 5 (< 6): 50; 2028 at 2: 20; Ga 20 -> 90.
    path = scenario(tmp_path, '[[shock]]\ncountry = "Congo (Kinshasa)"\nperiod_to = 2027\nprice = 3\n')
    close(objective(solve_book(model=path, **base_sheets())), 90.0)


def test_supplier_filter_applies_to_all_its_offers(solve_book, tmp_path):
    # Maple's prices halved: Ga Canada 1.5 (China still 1), Co Canada 2.5 (Congo 2): unchanged 60;
    # with price x 0.1: Ga 0.3 and Co 0.5 -> 20 x 0.3 + 20 x 0.5 = 16.
    path = scenario(tmp_path, '[[shock]]\nsupplier = "maple"\nprice = 0.1\n')
    close(objective(solve_book(model=path, **base_sheets())), 16.0)


def test_processing_country_filter(solve_book, tmp_path):
    # The Canadian Ga offer refines in China; shocking processing_country China hits it (price x 10 -> 30)
    # and the Chinese offer (price x 10 -> 10): Ga 20 x 10 = 200, Co 40 -> 240.
    sheets = base_sheets()
    sheets["offers"][1]["processing_country"] = "China"
    path = scenario(tmp_path, '[[shock]]\nprocessing_country = "China"\nprice = 10\n')
    close(objective(solve_book(model=path, **sheets)), 240.0)


def test_shocks_apply_in_order_and_multiply(solve_book, tmp_path):
    # Two shocks on Chinese Ga capacity: x 0.5 then x 0.2 -> 10 per period: still 60.
    # Then x 0.05 -> 5 per period: Ga per year 5 x 1 + 5 x 3 = 20, x2 = 40; Co 40 -> 80.
    path = scenario(tmp_path, '[[shock]]\ncountry="China"\ncapacity=0.5\n'
                              '[[shock]]\ncountry="China"\ncapacity=0.1\n')
    close(objective(solve_book(model=path, **base_sheets())), 80.0)


def test_demand_factor_with_period_filter(solve_book, tmp_path):
    # Co demand x 1.5 from 2028: Co 10 + 15 = 25 x 2 = 50; Ga 20 -> 70.
    path = scenario(tmp_path, '[[demand]]\nmineral = "Co"\nperiod_from = 2028\nfactor = 1.5\n')
    close(objective(solve_book(model=path, **base_sheets())), 70.0)


def test_policy_and_mineral_overrides(solve_book, tmp_path):
    # policy China cap 0.5 for all, but Ga's own cap 0: Ga all Canadian 20 x 3 = 60; Co 40 -> 100.
    path = scenario(tmp_path, '[policy]\nmax_china_share = 0.5\n[minerals.ga]\nmax_china_share = 0.0\n')
    close(objective(solve_book(model=path, **base_sheets())), 100.0)


def test_scenario_shortfall_penalty_sets_reserve_penalty_default(solve_book, tmp_path):
    # Ga capacity cut to 0 everywhere; Ga shortfall penalty 7 -> 20 x 7 = 140; Co 40 -> 180.
    # The reserve penalty default follows: 7 / (2 periods + 1) = 7/3 per unit per period.
    path = scenario(tmp_path, '[[shock]]\nmineral = "Ga"\ncapacity = 0\n[minerals.Ga]\nshortfall_penalty = 7\n')
    out = solve_book(model=path, **base_sheets())
    close(objective(out), 180.0)
    close(out.instance.reserve_penalty_usd[out.instance.mineral_keys.index("ga")], 7 / 3)


def test_demand_factor_scales_reserve_days_target(solve_book, tmp_path):
    # reserve_days 36.5 of 365 -> target 0.1 x demand; demand x2 on Ga: Ga's nominal target is 0.1 x 20 = 2.
    # The surge hits Ga in both years, so its target is suspended (STOCKPILE.md, release periods):
    # Ga buys 20 + 20 = 40 x 1; Co (target 1, Q = 50 / 3 > 2: held): 11 + 10 = 21 x 2 = 42 -> 82.
    sheets = base_sheets()
    sheets["policy"] = {"reserve_days": 36.5}
    path = scenario(tmp_path, '[[demand]]\nmineral = "Ga"\nfactor = 2\n')
    out = solve_book(model=path, **sheets)
    close(objective(out), 82.0)
    ga = out.instance.mineral_keys.index("ga")
    np.testing.assert_allclose(out.instance.reserve_target_nominal[ga], [2.0, 2.0])
    np.testing.assert_allclose(out.instance.reserve_target[ga], [0.0, 0.0])


def test_demand_factors_and_adds_combine_in_any_order(solve_book, tmp_path):
    # Ga 2028: 10 x 2 + 5 = 25 whichever entry comes first (D x product of factors + sum of adds);
    # Ga 2027: 10 x 2 = 20. Ga 45 x 1 = 45; Co 40 -> 85.
    add_first = '[[demand]]\nmineral = "Ga"\nperiod_from = 2028\nadd = 5\n[[demand]]\nmineral = "Ga"\nfactor = 2\n'
    factor_first = '[[demand]]\nmineral = "Ga"\nfactor = 2\n[[demand]]\nmineral = "Ga"\nperiod_from = 2028\nadd = 5\n'
    for text in (add_first, factor_first):
        out = solve_book(model=scenario(tmp_path, text), **base_sheets())
        close(objective(out), 85.0)
        np.testing.assert_allclose(out.instance.demand[out.instance.mineral_keys.index("ga")], [20.0, 25.0])


def test_demand_add_applies_to_a_pair_missing_from_demand(solve_book, tmp_path):
    # Co has no 2028 row (demand 0); add 4 to every Co period: 2027 14, 2028 4 -> 18 x 2 = 36; Ga 20 -> 56.
    # A factor alone creates nothing: x 3 on the missing pair leaves it at 0 (+ 4).
    sheets = base_sheets()
    sheets["demand"] = [r for r in sheets["demand"] if (r["mineral"], r["period"]) != ("Co", 2028)]
    out = solve_book(model=scenario(tmp_path, '[[demand]]\nmineral = "Co"\nadd = 4\nfactor = 1\n'
                                              '[[demand]]\nmineral = "Co"\nperiod_from = 2028\nfactor = 3\n'),
                     **sheets)
    close(objective(out), 56.0)
    np.testing.assert_allclose(out.instance.demand[out.instance.mineral_keys.index("co")], [14.0, 4.0])


def test_reserve_days_target_uses_demand_before_additions(solve_book, tmp_path):
    # reserve_days 36.5 of 365 -> target 0.1 x demand after factors, before adds (STOCKPILE.md).
    # Ga: x 2 then + 10 -> demand 30 per year, nominal target 0.1 x 20 = 2 (not 3). The surge hits Ga in
    # both years, so the target is suspended (release periods): Ga buys 30 + 30 = 60 x 1;
    # Co target 1 (Q = 50 / 3 > 2: held): 11 + 10 = 21 x 2 = 42 -> 102.
    sheets = base_sheets()
    sheets["policy"] = {"reserve_days": 36.5}
    out = solve_book(model=scenario(tmp_path, '[[demand]]\nmineral = "Ga"\nfactor = 2\nadd = 10\n'), **sheets)
    close(objective(out), 102.0)
    ga = out.instance.mineral_keys.index("ga")
    np.testing.assert_allclose(out.instance.reserve_target_nominal[ga], [2.0, 2.0])
    np.testing.assert_allclose(out.instance.reserve_target[ga], [0.0, 0.0])


def test_demand_factor_never_scales_an_explicit_reserve_target(solve_book, tmp_path):
    # Ga 2027 target 4 typed in Demand stays 4 under factor 3 (demand 30), as the nominal target; the
    # surge hits Ga in both years, so it is suspended (release periods): Ga 30 + 30 -> 60 x 1; Co 40 -> 100.
    sheets = base_sheets()
    sheets["demand"][0]["reserve_target"] = 4
    out = solve_book(model=scenario(tmp_path, '[[demand]]\nmineral = "Ga"\nfactor = 3\n'), **sheets)
    close(objective(out), 100.0)
    ga = out.instance.mineral_keys.index("ga")
    np.testing.assert_allclose(out.instance.reserve_target_nominal[ga], [4.0, 0.0])
    np.testing.assert_allclose(out.instance.reserve_target[ga], [0.0, 0.0])


def test_probability_is_kept_on_the_scenario(book, tmp_path):
    from procure.pipeline import load
    from procure.scenario import load_scenario

    data = load(book(**base_sheets()))
    assert load_scenario(scenario(tmp_path, 'name = "surge"\nprobability = 0.25\n'), data).probability == 0.25
    assert load_scenario(scenario(tmp_path, 'name = "plain"\n'), data).probability is None


@pytest.mark.parametrize("text, expected", [
    ("[[shock]]\ncountry = \"Chna\"\ncapacity = 0\n", "matches no country"),
    ("[[shock]]\nmineral = \"Gallium\"\n", "matches no mineral"),
    ("[[shock]]\nsupplier = 3\n", "expected a text"),
    ("[[shock]]\ncapacity = -1\n", "expected a multiplier >= 0"),
    ("[[shock]]\ncountry = \"China\"\nperiod_from = 2040\n", "match no period"),
    ("[[shock]]\ncountri = \"China\"\n", "unknown key 'countri'"),
    ("[policy]\nmax_chna_share = 0.1\n", "unknown policy key"),
    ("[policy]\nmax_china_share = 1.5\n", "expected a number from 0 to 1"),
    ("[minerals.Unobtainium]\nholding_cost = 1\n", "is not a mineral of the workbook"),
    ("[minerals.Ga]\nunit = \"kg\"\n", "unknown or unchangeable column"),
    ("[[demand]]\nmineral = \"Ga\"\n", "needs a factor (the multiplier on matching demand) or an add"),
    ("[[demand]]\nmineral = \"Ga\"\nadd = -5\n", "expected units to add >= 0"),
    ("probability = 1.5\n", "'probability': value 1.5: expected a number from 0 to 1"),
    ("probability = \"half\"\n", "'probability': value 'half': expected a number"),
    ("colour = \"red\"\n", "unknown key 'colour'"),
    ("[[shock]\ncountry = 1\n", "line 1"),
    ("[[shock]]\ncapacity = " + "[" * 100_000 + "]" * 100_000 + "\n", "is nested too deeply"),  # issue 21
    ("name = " + "{a = " * 100_000 + "1" + "}" * 100_000 + "\n", "is nested too deeply"),
])
def test_scenario_errors_name_the_place(book, tmp_path, text, expected):
    from procure.pipeline import load

    path = scenario(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load(book(**base_sheets()), path)
    messages = " | ".join(str(p) for p in caught.value.problems)
    assert expected in messages
    assert "s.toml" in messages


def test_toml_nested_100000_deep_is_an_input_error_not_a_crash(book, tmp_path):
    # issue 21: tomllib's RecursionError ended the run with exit 5 (internal error) and a traceback
    from typer.testing import CliRunner

    from procure.cli import app
    from procure.pipeline import load
    from procure.scenario import load_stochastic_scenario

    path = scenario(tmp_path, "probability = " + "[" * 100_000 + "]" * 100_000 + "\n")
    workbook = book(**base_sheets())
    result = CliRunner().invoke(app, ["validate", str(workbook), "--model", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "s.toml: is nested too deeply" in " ".join(result.output.split())
    with pytest.raises(InputError) as caught:
        load_stochastic_scenario(path, load(workbook))
    [problem] = caught.value.problems
    assert problem.file == str(path) and "is nested too deeply" in problem.message
