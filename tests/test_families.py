"""The constraint-family registry: in step with docs/FORMULATION.md, and the one source every layer reads."""

from __future__ import annotations

import ast
import re
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from builders import two_offers
from conftest import objective
from procure import families, formulation, stress
from procure.analysis import ChinaCapSweep
from procure.extensive import build_extensive_form
from procure.families import FAMILIES, Elastic, Family, Sense
from procure.instance import build_instance
from procure.pipeline import load, optimize
from procure.program import INF, ProgramBuilder
from procure.report import build_report
from procure.solve import SolveOptions
from procure.variables import Columns

DOCS = Path(__file__).resolve().parents[1] / "docs" / "FORMULATION.md"


def _documented_constraints() -> set[tuple[int, str]]:
    """(number, name) of each numbered constraint in FORMULATION.md's Constraints section."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Constraints", 1)[1].split("\n## ", 1)[0]
    return {(int(number), name.strip())
            for number, name in re.findall(r"^\s*(\d+)\. ([A-Za-z][A-Za-z ]*?)[,:]", section, re.M)}


def test_every_documented_constraint_is_registered_and_vice_versa():
    documented = _documented_constraints()
    registered = {(f.number, f.spec_name) for f in FAMILIES if f.number is not None}
    assert len(documented) == 10  # the parser found the whole list, 1 to 10
    assert documented == registered


def test_family_names_are_unique_and_every_rule_is_priced_once():
    names = [f.name for f in FAMILIES]
    assert len(names) == len(set(names))
    assert [r.name for r in families.rules()] == ["china_cap", "country_caps", "supplier_cap", "ally_share",
                                                   "esg_average", "budgets"]


def test_only_hard_limits_are_elastic():
    # FORMULATION.md "Feasibility": slack on 3-7, 9 and 10, and on 1 under --strict
    always = sorted(f.number for f in FAMILIES if f.elastic == Elastic.ALWAYS)
    assert always == [3, 4, 5, 6, 7, 9, 10]
    assert [f.number for f in FAMILIES if f.elastic == Elastic.STRICT] == [1]


def test_built_rows_follow_the_registry(book, tmp_path):
    """Every family the registry builds appears as a row block of its name, with the registry's sense."""
    path = book(
        minerals=[{"mineral": "Ga", "unit": "kg", "max_china_share": 0.5, "shortfall_penalty": 100}],
        demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
        offers=[
            {"supplier": "A", "country": "China", "mineral": "Ga", "price": 1, "capacity": 10,
             "china_share": 1, "esg_score": 40},
            {"supplier": "B", "country": "Japan", "mineral": "Ga", "price": 2, "capacity": 10, "esg_score": 80,
             "agreement": "optional", "fixed_cost": 1, "min_volume": 1},
        ],
        countries=[{"country": "China", "max_share": 0.8}, {"country": "Japan", "ally": "yes"}],
        policy={"max_supplier_share": 0.9, "min_ally_share": 0.1, "min_avg_esg": 50, "budget_total": 1e6,
                "budget_per_period": 1e6},
    )
    inst = build_instance(load(path))
    program = formulation.build(inst)
    built = [f for f in FAMILIES if f.build is not None]
    assert [name for name in program.rows] == [f.name for f in built]
    for family in built:
        block = program.rows[family.name]
        lower, upper = program.row_lower[block.slice()], program.row_upper[block.slice()]
        if family.sense == Sense.LE:
            assert np.isneginf(lower).all() and np.isfinite(upper).all()
        elif family.sense == Sense.GE:
            assert np.isfinite(lower).all() and np.isposinf(upper).all()
        else:
            assert (lower == upper).all()
    # limits and committed spend are metadata, never keys
    assert all("limit" not in block.keys and "committed" not in block.keys for block in program.rows.values())
    assert program.rows["budget_total"].meta["limit"].tolist() == [1e6]


@pytest.mark.parametrize("strict", [False, True])
def test_elastic_program_has_one_slack_per_row_of_the_elastic_families(book, strict):
    path = book(
        minerals=[{"mineral": "Ga", "unit": "kg", "max_china_share": 0.5}],
        demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
        offers=[{"supplier": "A", "country": "China", "mineral": "Ga", "price": 1, "capacity": 10,
                 "china_share": 1}],
        policy={"budget_total": 100},
    )
    inst = build_instance(load(path))
    program = formulation.build(inst, strict=strict, elastic=True)
    expected = sum(program.rows[f.name].size for f in FAMILIES
                   if f.is_elastic(strict) and f.name in program.rows)
    assert program.columns["slack"].size == expected == (1 + 1 + (1 if strict else 0))


# ---------------------------------------------------------------- the traits, read by every layer

def _rich_book(book, **policy):
    """Every family built: a China cap, country caps, supplier and ally shares, ESG, an optional agreement
    with a minimum, both budgets."""
    return book(
        minerals=[{"mineral": "Ga", "unit": "kg", "max_china_share": 0.5, "shortfall_penalty": 100}],
        demand=[{"mineral": "Ga", "period": 2027, "demand": 10}, {"mineral": "Ga", "period": 2028, "demand": 10}],
        offers=[
            {"supplier": "A", "country": "China", "mineral": "Ga", "price": 1, "capacity": 10,
             "china_share": 1, "esg_score": 40},
            {"supplier": "B", "country": "Japan", "mineral": "Ga", "price": 2, "capacity": 10, "esg_score": 80,
             "agreement": "optional", "fixed_cost": 1, "min_volume": 1},
        ],
        countries=[{"country": "China", "max_share": 0.8}, {"country": "Japan", "ally": "yes"}],
        policy={"max_supplier_share": 0.9, "min_ally_share": 0.1, "min_avg_esg": 50, "budget_total": 1e6,
                "budget_per_period": 1e6, **policy},
    )


def _x_coefficients(program, name: str) -> np.ndarray:
    """The coefficients of row block ``name`` on the x columns, in storage order."""
    block, x = program.rows[name], program.columns["x"]
    term_row = program.row_of_term()
    on = (term_row >= block.start) & (term_row < block.stop) & (program.a_index >= x.start) \
        & (program.a_index < x.stop)
    return program.a_value[on]


@pytest.mark.parametrize("basis", ["quantity", "value"])
def test_the_rows_whose_coefficients_move_with_prices_are_the_price_traits(book, basis):
    # double every price: the families whose x coefficients change are exactly those the traits name
    inst = build_instance(load(_rich_book(book, share_basis=basis)))
    before = formulation.build(inst)
    after = formulation.build(replace(inst, op_price_usd=2 * inst.op_price_usd))
    assert list(before.rows) == list(after.rows)
    moved = {name for name in before.rows
             if not np.array_equal(_x_coefficients(before, name), _x_coefficients(after, name))}
    expected = {f.name for f in FAMILIES
                if f.holds_prices or (basis == "value" and f.holds_value_shares)} & set(before.rows)
    assert moved == expected
    assert any(f.holds_prices for f in FAMILIES if f.name in moved)
    assert (basis == "value") == any(f.holds_value_shares for f in FAMILIES if f.name in moved)


def test_purchase_totals_are_read_by_the_share_families_and_redundant_rows_only_tie_x_to_y(book):
    inst = build_instance(load(_rich_book(book)))
    program = formulation.build(inst)
    total, x, y = program.columns["total"], program.columns["x"], program.columns["y"]
    term_row = program.row_of_term()
    assert all(f.name in program.rows and program.rows[f.name].size for f in FAMILIES if f.build is not None)
    for family in (f for f in FAMILIES if f.build is not None):
        block = program.rows[family.name]
        in_block = (term_row >= block.start) & (term_row < block.stop)
        columns = program.a_index[in_block]
        reads_total = bool(((columns >= total.start) & (columns < total.stop)).any())
        # the purchase totals' own definition holds them too, without reading them as a denominator
        assert reads_total == (family.uses_purchase_totals or family.name == "purchase_total"), family.name
        per_row_x = np.bincount(term_row[in_block] - block.start,
                                weights=(columns >= x.start) & (columns < x.stop), minlength=block.size)
        per_row_y = np.bincount(term_row[in_block] - block.start,
                                weights=(columns >= y.start) & (columns < y.stop), minlength=block.size)
        only_x_and_y = bool((per_row_x == 1).all() and (per_row_y == 1).all()
                            and (np.diff(program.a_start)[block.slice()] == 2).all())
        assert only_x_and_y == family.redundant_once_agreements_fixed, family.name


def test_stress_frees_exactly_the_rows_redundant_once_agreements_are_fixed(book):
    outcome = optimize(load(_rich_book(book)))
    program, inst = outcome.program, outcome.instance
    commitment = stress.commitment_from_values(program, inst, outcome.solution.x, 0)
    base = stress.build_base(inst, commitment, [])
    redundant = np.zeros(program.n_rows, dtype=bool)
    for family in FAMILIES:
        if family.redundant_once_agreements_fixed and family.name in program.rows:
            redundant[program.rows[family.name].slice()] = True
    assert redundant.sum() == 4  # capacity and minimum of the optional offer, in each of two periods
    assert np.array_equal(np.isneginf(base.row_lower) & np.isposinf(base.row_upper), redundant)


# ---------------------------------------------------------------- adding a family: its entry and its builder

def _spend_floor(floor: float):
    """A family no layer knows: per period, spend ``sum_t p x >= floor`` (harmless at floor 0)."""

    def build_spend_floor(b: ProgramBuilder, inst, cols: Columns) -> None:
        n_t = len(inst.periods)
        b.add_rows("spend_floor", n_t, floor, INF,
                   [(inst.op_period, cols.x.start + np.arange(cols.x.size), inst.op_price_usd)],
                   meta={"limit": np.full(n_t, floor)}, period=np.arange(n_t))

    return Family(name="spend_floor", number=None, spec_name=None, label="minimum spend", sense=Sense.GE,
                  elastic=Elastic.ALWAYS, limit_unit="USD",
                  relaxation="the spend of period {period} falls short of {limit:,.0f} USD by {amount:,.0f} USD",
                  relaxation_unit="USD", build=build_spend_floor, holds_prices=True)


def _register(monkeypatch, *extra: Family) -> tuple[Family, ...]:
    """The registry with ``extra`` appended, wherever a module holds it: the only change a new family makes."""
    original = families.FAMILIES
    registry = original + extra
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("procure") and getattr(module, "FAMILIES", None) is original:
            monkeypatch.setattr(module, "FAMILIES", registry)
    return registry


def test_a_new_family_needs_its_entry_and_its_builder_only(book, monkeypatch):
    path = book(**two_offers())
    unregistered = optimize(load(path))
    floor = _spend_floor(0.0)
    _register(monkeypatch, floor)
    outcome = optimize(load(path))
    # built, in registry order (last), harmless, and labelled wherever a row is named
    assert list(outcome.program.rows)[-1] == "spend_floor"
    assert outcome.program.rows["spend_floor"].size == 1
    assert outcome.status == unregistered.status == "optimal"
    assert objective(outcome) == pytest.approx(objective(unregistered), rel=1e-12)
    assert families.family_of("spend_floor") is floor
    assert families.family_of_title("minimum spend") is floor
    # its trait drives stress: its x coefficients (prices) are among those a price shock scales
    inst = outcome.instance
    commitment = stress.commitment_from_values(outcome.program, inst, outcome.solution.x, 0)
    base = stress.build_base(inst, commitment, [])
    floor_row = outcome.program.rows["spend_floor"].start
    assert floor_row in base.price_entry_row.tolist()
    assert "spend_floor" in base.families  # elastic: its slack is counted when a draw relaxes it


def test_a_new_family_without_the_price_trait_is_not_scaled_by_price_shocks(book, monkeypatch):
    _register(monkeypatch, replace(_spend_floor(0.0), holds_prices=False))
    outcome = optimize(load(book(**two_offers())))
    commitment = stress.commitment_from_values(outcome.program, outcome.instance, outcome.solution.x, 0)
    base = stress.build_base(outcome.instance, commitment, [])
    assert outcome.program.rows["spend_floor"].start not in base.price_entry_row.tolist()
    assert len(base.price_entry_row) == 0  # no budget either: nothing holds prices


def test_a_new_family_is_relaxed_and_stated_in_its_own_words(book, monkeypatch):
    # Sino 100 t at 1 and Maple 100 t at 3 spend at most 400 USD: a floor of 1,000 must give by 600 USD
    _register(monkeypatch, _spend_floor(1000.0))
    outcome = optimize(load(book(**two_offers())))
    assert outcome.status == "infeasible"
    relaxations = build_report(outcome, input_name="t").tables["Relaxations"]
    assert relaxations["constraint"].tolist() == ["minimum spend"]
    assert relaxations["amount"].tolist() == pytest.approx([600.0])
    assert relaxations["meaning"].tolist() == ["the spend of period 2027 falls short of 1,000 USD by 600 USD"]


def test_a_new_family_that_reads_purchase_totals_has_them_laid_out(book, monkeypatch):
    def build_total_floor(b: ProgramBuilder, inst, cols: Columns) -> None:
        k = np.arange(cols.total.size)  # fails when no total column is laid out
        b.add_rows("total_floor", cols.total.size, 0.0, INF, [(k, cols.total.start + k, 1.0)])

    path = book(**two_offers())  # no share rule: no purchase totals of its own
    assert "total" not in formulation.build(build_instance(load(path))).columns
    _register(monkeypatch, Family(name="total_floor", number=None, spec_name=None, label="total floor",
                                  sense=Sense.GE, build=build_total_floor, uses_purchase_totals=True))
    program = formulation.build(build_instance(load(path)))
    assert program.columns["total"].size == 1
    assert program.rows["purchase_total"].size == 1 and program.rows["total_floor"].size == 1


def test_every_row_block_of_every_program_is_a_registered_family(book):
    names = {f.name for f in FAMILIES}
    inst = build_instance(load(_rich_book(book)))
    for strict in (False, True):
        for elastic in (False, True):
            assert set(formulation.build(inst, strict=strict, elastic=elastic).rows) <= names
    risk_rows = {"expected": None, "worst": families.WORST_COST.name, "cvar": families.CVAR_EXCESS.name}
    for risk, rows in risk_rows.items():
        form = build_extensive_form([inst, inst], np.array([0.5, 0.5]), risk=risk)
        assert set(form.program.rows) <= names
        assert rows is None or form.program.rows[rows].size == 2  # one row per scenario


# ---------------------------------------------------------------- roles: the China cap

def _short_of_non_chinese_supply(cap: dict, countries: list[dict]) -> dict:
    # 10 t of Ga; Sino (China) 100 t at 1, Maple (Canada) 2 t at 3; a 50% limit on China leaves 4 t
    return dict(minerals=[{"mineral": "Ga", **cap}],
                demand=[{"mineral": "Ga", "period": 2027, "demand": 10}],
                offers=[{"supplier": "Sino", "country": "China", "mineral": "Ga", "price": 1, "capacity": 100},
                        {"supplier": "Maple", "country": "Canada", "mineral": "Ga", "price": 3, "capacity": 2}],
                countries=countries)


def test_what_binds_names_non_chinese_capacity_for_the_china_cap_only(book):
    china = build_report(optimize(load(book(**_short_of_non_chinese_supply(
        {"max_china_share": 0.5}, [{"country": "China"}, {"country": "Canada"}])))), input_name="t")
    country = build_report(optimize(load(book(**_short_of_non_chinese_supply(
        {}, [{"country": "China", "max_share": 0.5}, {"country": "Canada"}])))), input_name="t")
    china_text = " ".join(f.sentence for f in china.findings)
    country_text = " ".join(f.sentence for f in country.findings)
    assert families.CHINA_CAP.label in china_text and "non-Chinese capacity is 2" in china_text
    assert "country share cap" in country_text and "non-Chinese capacity" not in country_text


def test_the_role_constants_are_registry_entries():
    for role in (families.BALANCE, families.CHINA_CAP, families.WORST_COST, families.CVAR_EXCESS):
        assert any(f is role for f in FAMILIES)
    assert families.CHINA_CAP.rule is not None and families.CHINA_CAP.uses_purchase_totals
    assert families.BALANCE.number == 1 and families.CHINA_CAP.number == 3


def test_the_china_cap_sweep_finds_the_china_rows(book):
    inst = build_instance(load(book(**_short_of_non_chinese_supply({}, [{"country": "China"},
                                                                         {"country": "Canada"}]))))
    sweep = ChinaCapSweep(inst, SolveOptions(), strict=False)
    program = sweep.model.program
    assert len(sweep.rows) == program.rows[families.CHINA_CAP.name].size == 1
    assert sweep.solve(0.5).status == "optimal"


# ---------------------------------------------------------------- no family name outside the registry

PACKAGE = Path(families.__file__).parent

# (module, string) -> how many times it may appear. Each entry is a place this change could not fix.
ALLOWED_SPELLINGS = {
    # the same spelling with another meaning: table columns, Summary keys, input fields, Instance attributes
    ("report.py", "reserve_target"): 3,  # Minerals table column (its kind and header)
    ("report.py", "china_cap"): 3,  # Minerals table column (its kind and header)
    ("report.py", "budget_total"): 1,  # the Summary item's key (the Policy key's value)
    ("console.py", "budget_total"): 2,  # that Summary item, read by its key
    ("plan.py", "reserve_target"): 2,  # chart series over that Minerals column
    ("plan.py", "china_cap"): 2,  # chart series over that Minerals column
    ("stochastic.py", "reserve_target"): 1,  # the Instance attribute, averaged
    ("stochastic_report.py", "reserve_target"): 2,  # the Reserve sheet's column (and its header)
    ("validate.py", "reserve_target"): 2,  # the Demand sheet's column
    ("validate.py", "budget_total"): 1,  # the Policy sheet's key
}


def _family_name_spellings() -> Counter:
    names = {f.name for f in FAMILIES}
    found = Counter()
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "families.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                found[(path.name, node.value)] += 1
    return found


def test_no_module_but_the_registry_spells_a_family_name():
    found = _family_name_spellings()
    new = {key: n for key, n in found.items() if n > ALLOWED_SPELLINGS.get(key, 0)}
    assert not new, f"family names spelt outside families.py (read them from the registry): {new}"
    gone = {key: n for key, n in ALLOWED_SPELLINGS.items() if found.get(key, 0) < n}
    assert not gone, f"allowed spellings no longer there: lower or remove their entries: {gone}"


def test_the_spelling_scan_sees_a_spelt_family_name(tmp_path, monkeypatch):
    (tmp_path / "families.py").write_text('NAME = "balance"\n')
    (tmp_path / "other.py").write_text('def f(program):\n    return program.rows["budget_total"]\n')
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path)
    assert _family_name_spellings() == Counter({("other.py", "budget_total"): 1})
