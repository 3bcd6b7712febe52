"""procure.pulp_model: readable names that survive PuLP and LP readers, the PuLP problem, solver lookup."""

from __future__ import annotations

import re

import numpy as np
import pytest

from procure import formulation
from procure.errors import ProcureError
from procure.instance import build_instance
from procure.pipeline import load
from procure.pulp_model import (
    MAX_NAME_LENGTH,
    READABLE_PREFIX,
    _parse_version,
    available_solvers,
    check_solver,
    generic_names,
    readable_names,
    safe_label,
    to_pulp,
    unique_names,
)

SAFE = re.compile(r"^[A-Za-z][A-Za-z0-9_.,()~]*$")
LONG_SUPPLIER = "Consolidated " + "Very Long Mining Holdings " * 12  # 325 characters

# Four suppliers whose names differ only by characters PuLP and the LP format cannot keep, one of them
# 325 characters long, a mineral and a country with accents, ':' and '-'. Supplier cap 0.4 of 10 t:
# at most 4 t each, cheapest first: 4 x 1 + 4 x 2 + 2 x 3 = 18.
HOSTILE = dict(
    minerals=[{"mineral": "Galliüm: ünï-code"}],
    demand=[{"mineral": "Galliüm: ünï-code", "period": 2027, "demand": 10}],
    offers=[{"supplier": "Lynas Malaysia", "country": "Canada", "mineral": "Galliüm: ünï-code", "price": 1,
             "capacity": 100},
            {"supplier": "Lynas-Malaysia", "country": "Chile", "mineral": "Galliüm: ünï-code", "price": 2,
             "capacity": 100},
            {"supplier": "Lynas:Malaysia", "country": "Peru", "mineral": "Galliüm: ünï-code", "price": 3,
             "capacity": 100},
            {"supplier": LONG_SUPPLIER, "country": "Côte d'Ivoire", "mineral": "Galliüm: ünï-code", "price": 4,
             "capacity": 100}],
    policy={"max_supplier_share": 0.4, "max_country_share": 0.9},
)


def program(path):
    inst = build_instance(load(path))
    return formulation.build(inst), inst


def test_safe_label_keeps_ascii_words_and_replaces_the_rest():
    assert safe_label("Côte d'Ivoire") == "Cote_d_Ivoire"
    assert safe_label(" Lynas Malaysia ") == "Lynas_Malaysia"
    assert safe_label("a-b+c[d]e:f*g/h^i<j>k=l") == "a_b_c_d_e_f_g_h_i_j_k_l"
    assert safe_label("2027-Q1") == "2027_Q1"
    assert safe_label("稀土") == ""  # nothing ASCII survives; the name keeps its prefix and the other labels


def test_unique_names_suffixes_later_duplicates_in_order():
    assert unique_names(["a", "b", "a", "a", "b"]) == ["a", "b", "a~2", "a~3", "b~2"]
    long = "x" * MAX_NAME_LENGTH
    suffixed = unique_names([long, long])[1]
    assert len(suffixed) == MAX_NAME_LENGTH and suffixed.endswith("~2")


def test_readable_names_of_the_hostile_workbook(book):
    lp, inst = program(book(**HOSTILE))
    columns, rows = readable_names(lp, inst)
    assert len(set(columns)) == lp.n_cols and len(set(rows)) == lp.n_rows
    for name in columns + rows:
        assert SAFE.match(name), name
        assert len(name) <= MAX_NAME_LENGTH
    x = lp.columns["x"]
    buy_of_row = {inst.offers[o].row: columns[x.start + k] for k, o in enumerate(x.keys["offer"])}
    # mineral, supplier, period, Offers row
    assert buy_of_row[2] == "buy(Gallium_uni_code,Lynas_Malaysia,2027,r2)"
    assert buy_of_row[3] == "buy(Gallium_uni_code,Lynas_Malaysia,2027,r3)"  # 'Lynas-Malaysia'
    # the 325-character supplier is cut to fit, ending in a digest; period and row stay readable
    assert len(buy_of_row[5]) <= MAX_NAME_LENGTH
    assert re.fullmatch(r"buy\(Gallium_uni_code,Consolidated_Very_Long\w*_[0-9a-f]{8},2027,r5\)", buy_of_row[5])
    caps = rows[lp.rows["supplier_cap"].start:lp.rows["supplier_cap"].stop]
    base = "supplier_cap(Gallium_uni_code,2027,Lynas_Malaysia)"
    assert sorted(c for c in caps if "Lynas" in c) == [base, base + "~2", base + "~3"]
    long = [c for c in caps if "Consolidated" in c]
    assert len(long) == 1 and len(long[0]) <= MAX_NAME_LENGTH and re.search(r"_[0-9a-f]{8}\)$", long[0])
    assert "country_cap(Gallium_uni_code,2027,Cote_d_Ivoire)" in rows
    assert "balance(Gallium_uni_code,2027)" in rows
    assert columns[lp.columns["total"].start] == "purchases_total(Gallium_uni_code,2027)"
    # the same inputs give the same names
    assert readable_names(*program(book(**HOSTILE))) == (columns, rows)


def test_metadata_is_never_part_of_a_name(book):
    # budget rows carry limit and committed arrays: the names hold only the period
    sheets = dict(HOSTILE, policy={"budget_per_period": 50, "budget_total": 80})
    lp, inst = program(book(**sheets))
    _, rows = readable_names(lp, inst)
    assert rows[lp.rows["budget_period"].start] == "budget_period(2027)"
    assert rows[lp.rows["budget_total"].start] == "budget_total"


def test_slack_names_name_their_row(book):
    inst = build_instance(load(book(**HOSTILE)))
    lp = formulation.build(inst, elastic=True)
    columns, rows = readable_names(lp, inst)
    slack = lp.columns["slack"]
    for j in range(slack.size):
        row_name = rows[slack.keys["row"][j]]
        name = columns[slack.start + j]
        if len(row_name) <= MAX_NAME_LENGTH - len("slack()"):
            assert name == f"slack({row_name})"
        else:  # the long supplier's row: cut, and still unique
            assert name.startswith("slack(supplier_cap(Gallium_uni_code,2027,Consolidated") and len(name) <= 100
    assert len(set(columns)) == lp.n_cols


def test_any_linear_program_without_an_instance_gets_key_index_names(book):
    lp, _ = program(book(**HOSTILE))
    columns, rows = readable_names(lp)
    assert columns[lp.columns["x"].start] == "buy(offer0,period0)"
    assert rows[lp.rows["balance"].start] == "balance(mineral0,period0)"
    assert len(set(columns)) == lp.n_cols and len(set(rows)) == lp.n_rows


def test_prefixes_cover_every_column_block(book):
    lp, _ = program(book(**HOSTILE))
    assert set(lp.columns) <= set(READABLE_PREFIX)


def test_pulp_keeps_every_name_unchanged(book):
    lp, inst = program(book(**HOSTILE))
    names = readable_names(lp, inst)
    model = to_pulp(lp, names, constant_column=True)
    assert [v.name for v in model.variables] == names[0]
    assert [c.name for c in model.constraints] == names[1]
    model.problem.checkDuplicateVars()
    model.problem.checkDuplicateConstraints()


def test_pulp_problem_matches_the_matrix(book):
    lp, _ = program(book(**HOSTILE))
    model = to_pulp(lp)
    assert [v.name for v in model.variables] == generic_names(lp)[0]
    x = np.linspace(0.5, 3.0, lp.n_cols)
    for variable, value in zip(model.variables, x):
        variable.setInitialValue(value)
    activity = lp.row_activity(x)
    for i, constraint in enumerate(model.constraints):
        # PuLP stores a row as expression + constant (the right side moved over)
        assert constraint.value() + (lp.row_upper[i] if np.isfinite(lp.row_upper[i]) else lp.row_lower[i]) \
            == pytest.approx(activity[i], rel=1e-12, abs=1e-12)
    assert model.problem.objective.value() == pytest.approx(lp.objective_value(x), rel=1e-12)


def test_version_parsing():
    assert _parse_version("Welcome to the CBC MILP Solver\nVersion: 2.10.12\nBuild Date: x") == "2.10.12"
    assert _parse_version("GLPSOL--GLPK LP/MIP Solver 5.0\nCopyright (C) 2000-2020\n"
                          "under version 3 of the License") == "5.0"
    assert _parse_version("SCIP version 9.0.1 [precision: 8 byte]") == "9.0.1"
    assert _parse_version("Welcome to the CBC MILP Solver\nVersion: Devel (unstable)") == "Devel (unstable)"
    assert _parse_version("no number here") is None


def test_available_solvers_start_with_in_process_highs_and_include_cbc():
    found = available_solvers()
    assert found[0].name == "highs" and "in process" in found[0].interface
    names = [s.name for s in found]
    assert "cbc" in names
    assert names[1:] == sorted(names[1:])
    assert all(s.version and s.mip for s in found)


def test_check_solver_accepts_names_and_pulp_class_names_in_any_case():
    assert check_solver("HiGHS") == "highs"  # the in-process one, not PuLP's
    assert check_solver(" CBC ") == "cbc"
    assert check_solver("coin_cmd") == "coin_cmd"


def test_unknown_solver_lists_what_is_available():
    with pytest.raises(ProcureError) as info:
        check_solver("simplex9000")
    assert "unknown solver 'simplex9000'" in str(info.value)
    assert "highs, cbc" in str(info.value)
    assert info.value.exit_code == 1


def test_unavailable_solver_is_an_input_error(monkeypatch):
    from procure import pulp_model

    monkeypatch.setattr(pulp_model, "_available_interface", lambda name: None)
    with pytest.raises(ProcureError) as info:
        check_solver("gurobi")
    assert "cannot run it here" in str(info.value) and info.value.exit_code == 1
