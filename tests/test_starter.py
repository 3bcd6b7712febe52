"""The bundled sample and `procure init`."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from procure.cli import app
from procure.starter import bundled_models, bundled_sample

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_bundled_copies_match_the_repository():
    assert filecmp.cmp(bundled_sample(), ROOT / "inputs" / "sample.xlsx", shallow=False)
    repo_models = sorted((ROOT / "models").glob("*.toml"))
    assert [p.name for p in bundled_models()] == [p.name for p in repo_models]
    for bundled, repo in zip(bundled_models(), repo_models):
        assert filecmp.cmp(bundled, repo, shallow=False), bundled.name


def test_init_writes_starter_and_refuses_to_overwrite(tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    sample = tmp_path / "inputs" / "sample.xlsx"
    assert sample.exists()
    assert {p.name for p in (tmp_path / "models").glob("*.toml")} >= {
        "baseline.toml", "china-export-controls.toml", "congo-cobalt-quota.toml", "allied-content-80.toml"}
    sample.write_bytes(b"edited by a budget team")
    again = runner.invoke(app, ["init", str(tmp_path)])
    assert again.exit_code == 1 and "already exist" in again.output and "--force" in again.output
    assert sample.read_bytes() == b"edited by a budget team"
    forced = runner.invoke(app, ["init", str(tmp_path), "--force"])
    assert forced.exit_code == 0
    assert filecmp.cmp(sample, bundled_sample(), shallow=False)


def test_sample_validates_without_warnings():
    result = runner.invoke(app, ["validate", str(bundled_sample())])
    assert result.exit_code == 0, result.output
    assert "warning:" not in result.output


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory):
    """Solve the bundled sample under every starter scenario once (each a second or less)."""
    folder = tmp_path_factory.mktemp("runs")
    results = {}
    for model in [None] + bundled_models():
        name = "default" if model is None else model.stem
        js = folder / f"{name}.json"
        args = ["solve", "-o", str(folder / f"{name}.xlsx"), "--json", str(js), "-q"]
        if model is not None:
            args += ["--model", str(model)]
        result = runner.invoke(app, args)
        results[name] = (result, json.loads(js.read_text()) if js.exists() else None)
    return results


def test_sample_solves_to_optimality(sample_runs):
    result, data = sample_runs["default"]
    assert result.exit_code == 0, result.output
    assert data["status"] == "optimal"
    assert data["china_share"] <= 0.3 + 1e-9  # the sample's China cap
    assert len(data["minerals"]) >= 15


def test_every_starter_scenario_solves(sample_runs):
    for name, (result, data) in sample_runs.items():
        assert result.exit_code == 0, (name, result.output)
        assert data["status"] == "optimal", name


def test_export_controls_cost_more_than_baseline(sample_runs):
    # cutting Chinese supply can only remove options: the optimum cannot fall
    assert sample_runs["china-export-controls"][1]["objective"] >= sample_runs["baseline"][1]["objective"] - 1e-6
