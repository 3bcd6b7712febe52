"""Input rules of procure.validate (WORKBOOK.md): each bad input names sheet, row, column and value and says
what is expected; every problem is reported at once; defaults resolved in procure.instance are asserted here
too where WORKBOOK.md states them (reserve_penalty, reference_price)."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from builders import write_workbook
from conftest import objective
from procure.cli import app
from procure.errors import InputError
from procure.instance import build_instance
from procure.pipeline import load

runner = CliRunner()

BASE = dict(minerals=[{"mineral": "Ga"}], demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
            offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 2, "capacity": 50}])


def validate(path):
    result = runner.invoke(app, ["validate", str(path)])
    assert "Traceback" not in result.output
    return result


def problems(path, model=None) -> list[str]:
    """Every error message of loading ``path`` as text (the test fails if it loads)."""
    with pytest.raises(InputError) as caught:
        load(path, model)
    return [str(p) for p in caught.value.problems]


def close(value, expected):
    assert value == pytest.approx(expected, rel=1e-9)


# ---------------------------------------------------------------- cells and sheets


@pytest.mark.parametrize("value, accepted", [
    ("1,200", 1200.0), (" 15 ", 15.0), ("1 200.5", 1200.5), ("2.5e3", 2500.0), ("15%", 0.15),
    ("$12", None), ("100 t", None), ("NaN", None), ("inf", None), ("1,5", None), ("1.200,5", None),
    ("-3", None), ("1e30", None), ("twelve", None), (True, None),
])
def test_numbers_as_people_type_them(tmp_path, value, accepted):
    sheets = {k: [dict(r) for r in v] for k, v in BASE.items()}
    sheets["offers"][0]["capacity"] = value
    result = validate(write_workbook(tmp_path / "n.xlsx", **sheets))
    if accepted is None:
        assert result.exit_code == 1
        assert "sheet 'Offers', row 2, column 'capacity'" in result.output
    else:
        assert result.exit_code == 0, result.output
        assert load(tmp_path / "n.xlsx").offers[0].capacity == pytest.approx(accepted)


def test_structure_problems(tmp_path):
    path = write_workbook(
        tmp_path / "s.xlsx",
        minerals=[{"mineral": "Ga", "Unit": "t", " unit ": "kg"}, {"mineral": "Ga\u00a0"}, {"mineral": "ＧＡ"}],
        demand=[{"mineral": "Ga", "period": 2027, "demand": 1}, {"mineral": "Ga", "period": "2027-Q1", "demand": 1}],
        offers=[{"supplier": "A\tB", "country": "Canada", "mineral": "Ga", "price": 1, "capacity": 1,
                 "capacty": 3}])
    out = validate(path).output
    assert "duplicate column: 'Unit' appears in columns B and C" in out
    assert "periods mix numbers" in out
    assert "control characters" in out
    assert "unknown column" in out and "'capacty'" in out
    # NFKC folds the full-width 'ＧＡ' and the no-break space: both duplicate 'Ga'
    assert out.count("duplicate mineral") == 2


def test_what_the_spec_allows_is_a_warning_not_an_error(tmp_path):
    # a mineral without offers (all shortfall) and the same supplier offering the same mineral twice
    path = write_workbook(
        tmp_path / "w.xlsx", minerals=[{"mineral": "Ga"}, {"mineral": "Co"}],
        demand=[{"mineral": "Ga", "period": 2027, "demand": 10}, {"mineral": "Co", "period": 2027, "demand": 1}],
        offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 2, "capacity": 5},
                {"supplier": "a", "country": "Canada", "mineral": "Ga", "price": 3, "capacity": 5}])
    result = validate(path)
    assert result.exit_code == 0, result.output
    assert "sheet 'Minerals', row 3, column 'mineral': value 'Co': has no offers" in result.output
    assert "sheet 'Offers', row 3, column 'supplier'" in result.output and "row 2" in result.output


def test_input_problems_exit_1_with_every_problem(book):
    wb = book(minerals=[{"mineral": "Ga"}, {"mineral": " ga "}],
              demand=[{"mineral": "Ga", "period": 2027, "demand": "lots"}],
              offers=[{"supplier": "A", "country": "China", "mineral": "Gx", "price": "$12", "capacity": -1}],
              policy={"max_china_shar": 0.2})
    result = validate(wb)
    assert result.exit_code == 1
    out = result.output
    assert "sheet 'Minerals', row 3, column 'mineral'" in out and "duplicate mineral" in out
    assert "sheet 'Demand', row 2, column 'demand'" in out and "'lots'" in out
    assert "sheet 'Offers', row 2, column 'price'" in out and "currency sign" in out
    assert "sheet 'Offers', row 2, column 'capacity'" in out and ">= 0" in out
    assert "sheet 'Policy', row 2, column 'key'" in out and "unknown policy key" in out


def test_missing_sheet_lists_present_ones(book):
    wb = book(minerals=[{"mineral": "Ga"}], offers=[{"supplier": "A", "country": "C", "mineral": "Ga",
                                                    "price": 1, "capacity": 1}])
    result = validate(wb)
    assert result.exit_code == 1
    assert "missing required sheet: Demand" in result.output
    assert "'Minerals', 'Offers'" in result.output


# ---------------------------------------------------------------- Demand


def test_duplicate_demand_pair_names_mineral_and_period(book):
    wb = book(minerals=[{"mineral": "Gallium"}],
              demand=[{"mineral": "Gallium", "period": 2027, "demand": 10},
                      {"mineral": "gallium ", "period": "2027", "demand": 12}],
              offers=[{"supplier": "A", "country": "Canada", "mineral": "Gallium", "price": 2, "capacity": 50}])
    assert problems(wb) == [
        f"{wb.name}, sheet 'Demand', row 3, column 'period': value 2027: duplicate: mineral 'Gallium' in "
        "period 2027 is also in row 2; keep one row per mineral and period"]


# ---------------------------------------------------------------- Offers


def test_fixed_cost_on_a_spot_offer_is_an_error(book):
    # a typed cost must never be ignored (it was a warning and the cost was dropped)
    wb = book(minerals=[{"mineral": "Ga"}], demand=BASE["demand"],
              offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 2, "capacity": 100,
                       "fixed_cost": 1000},
                      {"supplier": "B", "country": "Canada", "mineral": "Ga", "price": 2, "capacity": 100,
                       "agreement": "optional", "fixed_cost": 1000}])
    assert problems(wb) == [
        f"{wb.name}, sheet 'Offers', row 2, column 'fixed_cost': value 1000.0: fixed_cost applies only to "
        "optional or signed agreements, and this offer is spot; set agreement to optional or signed, or clear "
        "fixed_cost (a typed cost is never ignored)"]


# ---------------------------------------------------------------- Countries


def countries_book(book, offers, countries):
    return book(minerals=[{"mineral": "Ga"}], demand=BASE["demand"],
                offers=[{"mineral": "Ga", "price": 2, "capacity": 10, **o} for o in offers],
                countries=countries)


def test_country_missing_from_countries_sheet_suggests_the_closest(book):
    wb = countries_book(book, [
        {"supplier": "A", "country": "Austrlia"},
        {"supplier": "B", "country": "australia ", "processing_country": "Chna"},
        {"supplier": "C", "country": "Atlantis"},
        {"supplier": "D", "country": "Canda", "capacity": None, "fixed_cost": 5},
    ], [{"country": "Australia", "ally": "yes"}, {"country": "China"}, {"country": "Canada"}])
    assert problems(wb) == [
        f"{wb.name}, sheet 'Offers', row 5, column 'capacity': is blank; a value is required",
        f"{wb.name}, sheet 'Offers', row 2, column 'country': value 'Austrlia': not in Countries; "
        "did you mean 'Australia'?",
        f"{wb.name}, sheet 'Offers', row 3, column 'processing_country': value 'Chna': not in Countries; "
        "did you mean 'China'?",
        f"{wb.name}, sheet 'Offers', row 4, column 'country': value 'Atlantis': not in Countries; add it there "
        "(a country missing from the sheet silently loses its ally status)",
        # a row with another problem too: both are reported (cell problems come first)
        f"{wb.name}, sheet 'Offers', row 5, column 'country': value 'Canda': not in Countries; "
        "did you mean 'Canada'?",
    ]


def test_countries_are_free_without_a_countries_sheet(book):
    data = load(countries_book(book, [{"supplier": "A", "country": "Austrlia"}], None))
    assert [o.country_key for o in data.offers] == ["austrlia"]


def test_broken_countries_header_is_not_blamed_on_every_offer(book):
    # the missing column is the one problem reported, not an unlisted country per offer
    wb = countries_book(book, [{"supplier": "A", "country": "Canada"}], [{"nation": "Canada"}])
    [message] = problems(wb)
    assert "sheet 'Countries', row 1: missing required column: country" in message


# ---------------------------------------------------------------- Minerals defaults


def instance_of(path, model=None):
    return build_instance(load(path, model))


def test_reserve_penalty_default_is_shortfall_penalty_over_periods_plus_one(book):
    # 3 periods: Q = P / 4; Ga P = 10 x highest price 6 = 60 -> 15; Co's own P 100 -> 25; Ni's own Q 7 stays.
    wb = book(minerals=[{"mineral": "Ga"}, {"mineral": "Co", "shortfall_penalty": 100},
                        {"mineral": "Ni", "reserve_penalty": 7}],
              demand=[{"mineral": "Ga", "period": p, "demand": 1} for p in (2027, 2028, 2029)],
              offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 6, "capacity": 5}])
    inst = instance_of(wb)
    assert inst.mineral_keys == ["co", "ga", "ni"]
    np.testing.assert_allclose(inst.reserve_penalty_usd, [25.0, 15.0, 7.0], rtol=1e-12)


def test_default_reserve_penalty_releases_the_reserve_before_demand_goes_unmet(solve_book):
    # Ga, 3 periods, reserve target 5 in each, no initial reserve, shortfall penalty P = 100, so
    # Q = 100 / (3 + 1) = 25 per unit below target per period. Demand 10 in 2027 only; the one offer
    # sells 6 at 1 in 2027 and nothing is offered later. Of the 6 bought, R go to the reserve (held
    # through all 3 periods) and 6 - R to demand:
    #   cost = 6 x 1 + 100 x (4 + R) + 25 x 3 x (5 - R) = 781 + 25 R  -> R = 0.
    # Every unit meets demand: 6 + 400 + 375 = 781. (With the old default Q = P / 2 = 50 the cost
    # was 1156 - 50 R: the plan kept 5 in the reserve and left 9 of demand unmet.)
    out = solve_book(minerals=[{"mineral": "Ga", "shortfall_penalty": 100}],
                     demand=[{"mineral": "Ga", "period": p, "demand": d, "reserve_target": 5}
                             for p, d in ((2027, 10), (2028, 0), (2029, 0))],
                     offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 1, "capacity": 6,
                              "period": 2027}])
    assert out.status == "optimal"
    close(out.instance.reserve_penalty_usd[0], 25.0)
    close(objective(out), 781.0)
    x = out.solution.x
    np.testing.assert_allclose(x[out.program.columns["reserve"].slice()], [0.0, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(x[out.program.columns["shortfall"].slice()], [4.0, 0.0, 0.0], atol=1e-9)


def test_reference_price_column_and_default_median(book, tmp_path):
    # Ga offer-periods (2 periods): A 4 in both, B 10 in 2027 only, C 1 blocked (excluded) -> 4, 4, 10:
    # median 4. Co: prices 3 and 8 in one period each -> the mean of the middle two, 5.5.
    # Ni: its own reference_price 12. Li: no offer -> 1.
    wb = book(minerals=[{"mineral": m} for m in ("Ga", "Co", "Li")] + [{"mineral": "Ni", "reference_price": 12}],
              demand=[{"mineral": "Ga", "period": p, "demand": 1} for p in (2027, 2028)],
              offers=[{"supplier": "A", "country": "Canada", "mineral": "Ga", "price": 4, "capacity": 5},
                      {"supplier": "B", "country": "Canada", "mineral": "Ga", "price": 10, "capacity": 5,
                       "period": 2027},
                      {"supplier": "C", "country": "Canada", "mineral": "Ga", "price": 1, "capacity": 5,
                       "blocked": "yes"},
                      {"supplier": "A", "country": "Canada", "mineral": "Co", "price": 3, "capacity": 5,
                       "period": 2027},
                      {"supplier": "B", "country": "Chile", "mineral": "Co", "price": 8, "capacity": 5,
                       "period": 2028},
                      {"supplier": "A", "country": "Canada", "mineral": "Ni", "price": 50, "capacity": 5}])
    inst = instance_of(wb)
    assert inst.mineral_keys == ["co", "ga", "li", "ni"]
    np.testing.assert_allclose(inst.reference_price_usd, [5.5, 4.0, 1.0, 12.0], rtol=1e-12)
    # a --model shock counts: Canada's prices x 3 -> Ga 12, 12, 30: median 12; Co 9 and 8: 8.5
    model = tmp_path / "dear.toml"
    model.write_text('[[shock]]\ncountry = "Canada"\nprice = 3\n', encoding="utf-8")
    np.testing.assert_allclose(instance_of(wb, model).reference_price_usd, [8.5, 12.0, 1.0, 12.0], rtol=1e-12)


@pytest.mark.parametrize("value, expected", [
    (0, "value 0.0: expected a number > 0"),
    ("-2", "value '-2': expected a number > 0"),
    ("cheap", "value 'cheap': expected a number"),
])
def test_reference_price_must_be_positive(book, value, expected):
    wb = book(minerals=[{"mineral": "Ga", "reference_price": value}], demand=BASE["demand"], offers=BASE["offers"])
    [message] = problems(wb)
    assert message == f"{wb.name}, sheet 'Minerals', row 2, column 'reference_price': {expected}"
