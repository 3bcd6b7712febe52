"""examples/ci: the re-plan script on the bundled sample, with a gate that passes and one that fails."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "ci" / "replan.sh"
WORKFLOW = ROOT / "examples" / "ci" / "replan.yml"
SAMPLE = ROOT / "procure" / "data" / "imports.xlsx"  # the national import plan; models/*.toml are its scenarios
MODELS = ROOT / "procure" / "data" / "models"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def replan(tmp_path, models: Path, gates: str, **env) -> tuple[subprocess.CompletedProcess, Path, Path]:
    """Run the script as CI would, with procure already installed (this environment's)."""
    out, summary = tmp_path / "plans", tmp_path / "summary.md"
    environment = dict(os.environ, PROCURE_SKIP_INSTALL="1", PROCURE=str(Path(sys.executable).with_name("procure")),
                       PYTHON=sys.executable, GITHUB_STEP_SUMMARY=str(summary), **env)
    run = subprocess.run(["bash", str(SCRIPT), str(SAMPLE), str(models), str(out), gates],
                         capture_output=True, text=True, env=environment, cwd=tmp_path)
    return run, out, summary


def table_rows(summary: Path) -> list[list[str]]:
    lines = [line for line in summary.read_text().splitlines() if line.startswith("| ") and "---" not in line]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


def test_passing_gate_exits_0_with_every_plan_and_the_summary_table(tmp_path):
    # every sample scenario solves to optimality: infeasible / not_optimal / error gates pass
    run, out, summary = replan(tmp_path, MODELS, "infeasible,not_optimal,error", PROCURE_WORKERS="2")
    assert run.returncode == 0, run.stdout + run.stderr
    comparison = json.loads((out / "imports-comparison.json").read_text())
    scenarios = [row["scenario"] for row in comparison["scenarios"]]
    assert scenarios[0] == "baseline"  # the script puts baseline.toml first: it is the comparison's baseline
    assert sorted(scenarios) == sorted(p.stem for p in MODELS.glob("*.toml"))
    assert comparison["failed"] == [] and comparison["baseline"] == "baseline"
    for name in scenarios:
        assert (out / f"imports-{name}-plan.xlsx").is_file()
    assert (out / "imports-comparison.xlsx").is_file()
    rows = table_rows(summary)
    assert [r[0] for r in rows] == scenarios
    assert all(r[1] == "optimal" for r in rows)
    assert rows[0][3] == "$0"  # baseline against itself
    assert "(passed)" in summary.read_text()


def test_failing_gate_exits_4_and_still_writes_the_plan(tmp_path):
    # the sample's baseline leaves demand unmet (budget-bound): the shortfall gate fails
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(MODELS / "baseline.toml", models)
    run, out, summary = replan(tmp_path, models, "shortfall")
    assert run.returncode == 4, run.stdout + run.stderr
    assert "fail-on" in run.stderr and "baseline: shortfall worth" in run.stderr
    assert (out / "imports-baseline-plan.xlsx").is_file()
    text = summary.read_text()
    assert "(failed a gate)" in text and re.search(r"- :x: baseline: shortfall worth \$[\d,]+", text)
    assert [r[0] for r in table_rows(summary)] == ["baseline"]


def test_an_unknown_gate_is_an_input_error(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(MODELS / "baseline.toml", models)
    run, out, summary = replan(tmp_path, models, "cheap")
    assert run.returncode == 1
    assert "unknown condition cheap" in run.stderr
    assert not summary.exists()


def test_workflow_sets_only_what_the_script_reads_and_uploads_its_output():
    script = SCRIPT.read_text()
    workflow = WORKFLOW.read_text()
    settings = set(re.findall(r"^\s+(PROCURE_[A-Z_]+):", workflow, re.MULTILINE))
    assert {"PROCURE_WORKBOOK", "PROCURE_MODELS", "PROCURE_OUT", "PROCURE_FAIL_ON"} <= settings
    for name in settings:
        assert "${" + name in script, f"the workflow sets {name}, which replan.sh never reads"
    assert "run: bash ci/replan.sh" in workflow
    upload = workflow[workflow.index("actions/upload-artifact"):]
    assert "if: always()" in workflow[workflow.index("Upload"):] and "${{ env.PROCURE_OUT }}" in upload
