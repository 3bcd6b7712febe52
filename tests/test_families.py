"""The constraint-family registry: in step with docs/FORMULATION.md, and the one source every layer reads."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from procure import families, formulation
from procure.families import FAMILIES, Elastic, Sense
from procure.instance import build_instance
from procure.pipeline import load

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
