"""procure export: the PuLP model as .lp / .mps, read back by HiGHS (and GLPK) to the same optimum."""

from __future__ import annotations

import shutil
import subprocess

import highspy
import pytest
from typer.testing import CliRunner

from procure import formulation
from procure.cli import app
from procure.instance import build_instance
from procure.pipeline import load, optimize
from procure.pulp_model import CONSTANT_COLUMN, export_model, readable_names
from test_pulp_model import HOSTILE

runner = CliRunner()

# signed contract: price 5, minimum 8, fixed cost 7 (a constant of the objective); spot 1; demand 5.
# The contract's 8 must be bought (40) + 7 fixed; the 3 t surplus go to reserve: 47.
SIGNED = dict(
    minerals=[{"mineral": "Ga"}],
    demand=[{"mineral": "Ga", "period": 2027, "demand": 5}],
    offers=[{"supplier": "Spot", "country": "Canada", "mineral": "Ga", "price": 1, "capacity": 100},
            {"supplier": "Contract", "country": "Chile", "mineral": "Ga", "price": 5, "capacity": 20,
             "agreement": "signed", "fixed_cost": 7, "min_volume": 8}],
)


def read_back(path):
    """Read ``path`` into HiGHS and solve it: (objective, column names, HiGHS)."""
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", 1e-9)
    assert highs.readModel(str(path)) == highspy.HighsStatus.kOk
    highs.run()
    assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return highs.getInfo().objective_function_value, list(highs.getLp().col_names_), highs


@pytest.mark.parametrize("suffix", [".lp", ".mps"])
def test_objective_constant_survives_the_file(book, tmp_path, suffix):
    # optimum 47, of which 7 is the constant: the file must hold it
    path = book(**SIGNED)
    inst = build_instance(load(path))
    lp = formulation.build(inst)
    assert lp.objective_constant == 7.0
    out = tmp_path / f"model{suffix}"
    export_model(lp, out, inst)
    objective, names, highs = read_back(out)
    assert objective == pytest.approx(47.0, rel=1e-9)
    assert CONSTANT_COLUMN in names
    j = names.index(CONSTANT_COLUMN)
    model = highs.getLp()
    assert model.col_lower_[j] == model.col_upper_[j] == 1.0 and model.col_cost_[j] == 7.0


@pytest.mark.parametrize("suffix", [".lp", ".mps"])
def test_hostile_names_read_back_with_the_same_optimum_and_names(book, tmp_path, suffix):
    # supplier cap 0.4 of 10 t: 4 x 1 + 4 x 2 + 2 x 3 = 18 (see test_pulp_model.HOSTILE)
    inst = build_instance(load(book(**HOSTILE)))
    lp = formulation.build(inst)
    out = tmp_path / f"hostile{suffix}"
    export_model(lp, out, inst)
    objective, names, highs = read_back(out)
    assert objective == pytest.approx(18.0, rel=1e-9)
    columns, rows = readable_names(lp, inst)
    assert sorted(names) == sorted(columns)  # no constant: nothing signed
    assert sorted(highs.getLp().row_names_) == sorted(rows)
    text = out.read_text(encoding="ascii")  # ASCII only
    assert "supplier_cap(Gallium_uni_code,2027,Lynas_Malaysia)~3" in text


@pytest.mark.parametrize("suffix", [".lp", ".mps"])
def test_sample_reads_back_to_the_optimum_procure_solves(tmp_path, suffix):
    # the bundled sample is a MIP (8 optional agreements) with signed fixed costs in the constant
    from procure.starter import bundled_imports as bundled_sample  # the national import plan (a deterministic MIP)

    data = load(bundled_sample())
    solved = optimize(data)
    assert solved.status == "optimal" and solved.program.objective_constant > 0
    out = tmp_path / f"sample{suffix}"
    result = runner.invoke(app, ["export", str(bundled_sample()), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "objective constant" in result.output
    objective, names, _ = read_back(out)
    assert objective == pytest.approx(solved.solution.objective, rel=1e-9)
    assert len(names) == solved.program.n_cols + 1  # + objective_constant
    assert list(tmp_path.iterdir()) == [out]  # written through a temporary file, nothing left beside it


@pytest.mark.skipif(shutil.which("glpsol") is None, reason="glpsol not installed (apt-get install glpk-utils)")
@pytest.mark.parametrize("option, suffix", [("--lp", ".lp"), ("--freemps", ".mps")])
def test_glpk_reads_the_files_too(book, tmp_path, option, suffix):
    # the same 47 (constant 7 included) from another reader
    inst = build_instance(load(book(**SIGNED)))
    out = tmp_path / f"model{suffix}"
    export_model(formulation.build(inst), out, inst)
    report = tmp_path / "glpk.txt"
    run = subprocess.run(["glpsol", option, str(out), "-o", str(report)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout
    line = next(line for line in report.read_text().splitlines() if line.startswith("Objective:"))
    assert float(line.split("=")[1].split()[0]) == pytest.approx(47.0, rel=1e-9)


def test_export_with_a_model_and_strict(book, tmp_path):
    # the scenario file doubles the Contract's price (10/t): 8 x 10 + 7 = 87 under --strict (no shortfall)
    path = book(**SIGNED)
    scenario = tmp_path / "dear.toml"
    scenario.write_text('name = "dear"\n[[shock]]\nsupplier = "Contract"\nprice = 2\n')
    out = tmp_path / "dear.lp"
    result = runner.invoke(app, ["export", str(path), "--model", str(scenario), "--strict", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    objective, _, _ = read_back(out)
    assert objective == pytest.approx(87.0, rel=1e-9)


def test_export_refuses_an_unknown_format_and_writes_nothing(book, tmp_path):
    out = tmp_path / "model.txt"
    result = runner.invoke(app, ["export", str(book(**SIGNED)), "-o", str(out)])
    assert result.exit_code == 1
    assert "must end in .lp or .mps" in result.output
    assert not out.exists()


def test_export_never_writes_over_an_input(book, tmp_path):
    path = book(**SIGNED)
    scenario = tmp_path / "s.lp"
    scenario.write_text('name = "s"\n')
    before = scenario.read_bytes()
    result = runner.invoke(app, ["export", str(path), "--model", str(scenario), "-o", str(scenario)])
    assert result.exit_code == 1 and "would overwrite the input model file" in result.output
    assert scenario.read_bytes() == before


@pytest.mark.parametrize("suffix", [".lp", ".mps"])
def test_a_stochastic_plan_exports_its_extensive_form(tmp_path, suffix):
    """The bundled reserve program is stochastic: the file holds the extensive form (one column per
    decision node), and read back into HiGHS it gives RP, the optimum procure solve reports."""
    from procure.starter import bundled_sample

    data = load(bundled_sample())
    solved = optimize(data, with_measures=False)
    assert solved.status == "optimal" and len(data.scenarios) == 6 and solved.stochastic
    out = tmp_path / f"reserve{suffix}"
    result = runner.invoke(app, ["export", str(bundled_sample()), "-o", str(out)])
    assert result.exit_code == 0, result.output
    objective, names, _ = read_back(out)
    assert objective == pytest.approx(solved.solution.objective, rel=1e-9)
    assert len(names) == solved.form.program.n_cols  # no constant: no agreement already signed


def test_export_of_a_bad_workbook_lists_the_problems(book, tmp_path):
    bad = dict(SIGNED, offers=[dict(SIGNED["offers"][0], price="cheap")])
    out = tmp_path / "m.lp"
    result = runner.invoke(app, ["export", str(book(**bad)), "-o", str(out)])
    assert result.exit_code == 1
    assert "sheet 'Offers'" in result.output and "'cheap'" in result.output
    assert not out.exists()


def test_same_inputs_same_file(book, tmp_path):
    path = book(**HOSTILE)
    first, second = tmp_path / "a.mps", tmp_path / "b.mps"
    for out in (first, second):
        assert runner.invoke(app, ["export", str(path), "-o", str(out), "-q"]).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    assert first.stat().st_mode & 0o777 == 0o644  # readable by the auditors, not private to the writer
