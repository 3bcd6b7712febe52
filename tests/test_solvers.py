"""Every solver PuLP can run here reaches the hand-worked optima of tests/test_formulation.py.

The tests of test_formulation.py are imported, so pytest collects them again in
this module, where the ``solve_book`` fixture below solves each workbook with
each PuLP solver in turn (the in-process HiGHS runs them in test_formulation.py
itself). CBC and PuLP's HiGHS are always installed; GLPK runs where ``glpsol``
is (``apt-get install glpk-utils``); a commercial solver with a licence on the
machine joins automatically.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from procure.cli import app
from procure.pipeline import load, optimize
from procure.pulp_model import available_solvers
from procure.solve import SolveOptions, solve
from test_formulation import *  # noqa: F401,F403  (collected again here, solved by every PuLP solver)
from test_formulation import close, one_mineral

runner = CliRunner()
AVAILABLE = {s.name for s in available_solvers()} - {"highs"}
PULP_SOLVERS = sorted(AVAILABLE | {"cbc", "glpk", "highs-pulp"})


def _param(name):
    why = "glpsol not installed (apt-get install glpk-utils)" if name == "glpk" else f"{name} not available"
    return pytest.param(name, id=name, marks=pytest.mark.skipif(name not in AVAILABLE, reason=why))


@pytest.fixture(params=[_param(name) for name in PULP_SOLVERS])
def solver(request):
    return request.param


@pytest.fixture
def solve_book(book, solver):
    """test_formulation's fixture, solving with ``solver`` through PuLP; checks the plan records it."""
    def run(model=None, strict=False, **sheets):
        data = load(book(**sheets), model)
        outcome = optimize(data, SolveOptions(solver=solver), strict=strict)
        assert outcome.solution.solver == solver
        return outcome

    return run


CHINA_CAP = one_mineral(
    [(2027, 10)],
    [{"supplier": "A", "country": "China", "price": 1, "capacity": 100},
     {"supplier": "B", "country": "Canada", "price": 3, "capacity": 100}],
    minerals=[{"mineral": "Ga", "max_china_share": 0.3}])


def test_duals_where_the_solver_gives_them(book, solver):
    # China cap 0.3: 3 x 1 + 7 x 3 = 24. One more tonne costs 0.3 x 1 + 0.7 x 3 = 2.4 (balance dual);
    # every other dual and reduced cost is checked against the in-process HiGHS.
    path = book(**CHINA_CAP)
    reference = optimize(load(path))
    outcome = optimize(load(path), SolveOptions(solver=solver))
    close(outcome.solution.objective, 24.0)
    balance = outcome.program.rows["balance"].start
    if solver == "glpk":  # PuLP's GLPK_CMD reads back values only
        assert outcome.solution.row_dual is None and outcome.solution.col_dual is None
        return
    close(reference.solution.row_dual[balance], 2.4)
    close(outcome.solution.row_dual[balance], 2.4)
    np.testing.assert_allclose(outcome.solution.row_dual, reference.solution.row_dual, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(outcome.solution.col_dual, reference.solution.col_dual, rtol=1e-9, atol=1e-9)


def test_each_solver_runs_in_a_private_folder_it_removes(book, tmp_path, monkeypatch, solver):
    import tempfile

    from procure import formulation
    from procure.instance import build_instance

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    lp = formulation.build(build_instance(load(book(**CHINA_CAP))))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.chdir(tmp_path)
    assert solve(lp, SolveOptions(solver=solver)).status == "optimal"
    assert list(scratch.iterdir()) == []
    # nothing written in the working folder either (it holds only the test's workbook)
    assert {p.name for p in tmp_path.iterdir() if p.suffix != ".xlsx"} == {"scratch"}


def test_same_solver_same_plan(book, solver):
    # a tie: two suppliers at price 2, capacity 6 each, demand 10: the split must not change between runs
    path = book(**one_mineral([(2027, 10)], [
        {"supplier": "A", "country": "Peru", "price": 2, "capacity": 6},
        {"supplier": "B", "country": "Chile", "price": 2, "capacity": 6}]))
    first = optimize(load(path), SolveOptions(solver=solver)).solution.x
    second = optimize(load(path), SolveOptions(solver=solver)).solution.x
    assert np.array_equal(first, second)


def test_cli_solve_with_a_pulp_solver_records_it(book, tmp_path, solver):
    # cap 0.3: 24, as with HiGHS; the JSON and the plan's Summary name the solver
    plan, js = tmp_path / "p.xlsx", tmp_path / "p.json"
    result = runner.invoke(app, ["solve", str(book(**CHINA_CAP)), "--solver", solver, "-o", str(plan),
                                 "--json", str(js), "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads(js.read_text())
    assert data["solver"] == solver
    close(data["objective"], 24.0)


def test_unknown_solver_is_an_input_error_listing_the_available(book, tmp_path):
    plan = tmp_path / "p.xlsx"
    result = runner.invoke(app, ["solve", str(book(**CHINA_CAP)), "--solver", "simplex9000", "-o", str(plan)])
    assert result.exit_code == 1
    assert "unknown solver 'simplex9000'" in result.output and "highs, cbc" in result.output
    assert not plan.exists()
    batch = runner.invoke(app, ["batch", str(book(**CHINA_CAP)), str(tmp_path / "m.toml"), "--solver", "nope",
                                "-o", str(tmp_path / "runs")])
    assert batch.exit_code == 1 and "unknown solver 'nope'" in batch.output


def test_solvers_command_lists_each_with_version_and_mip():
    result = runner.invoke(app, ["solvers"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for info in available_solvers():
        row = next(line for line in lines if line.split("│")[0].strip() == info.name)
        assert info.version.split()[0] in row and row.rstrip().endswith("yes")
    if shutil.which("glpsol"):
        assert any(line.split("│")[0].strip() == "glpk" for line in lines)
