"""procure diff: what changed between two plans."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from builders import two_offers
from procure.cli import app

runner = CliRunner()



def test_diff_of_a_plan_with_itself_is_empty(book, tmp_path):
    plan = tmp_path / "p.xlsx"
    assert runner.invoke(app, ["solve", str(book(**two_offers(cap=0.3))), "-o", str(plan), "-q"]).exit_code == 0
    js = tmp_path / "d.json"
    result = runner.invoke(app, ["diff", str(plan), str(plan), "--json", str(js)])
    assert result.exit_code == 0 and "no allocation moved" in result.output, result.output
    data = json.loads(js.read_text())
    assert data["moves"] == [] and all(f["change"] == 0 for f in data["figures"])


def test_diff_reports_moved_allocations(book, tmp_path):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    assert runner.invoke(app, ["solve", str(book(**two_offers())), "-o", str(a), "-q"]).exit_code == 0
    assert runner.invoke(app, ["solve", str(book(**two_offers(cap=0.3))), "-o", str(b), "-q"]).exit_code == 0
    js = tmp_path / "d.json"
    assert runner.invoke(app, ["diff", str(a), str(b), "--json", str(js), "-o", str(tmp_path / "d.xlsx")]
                         ).exit_code == 0
    data = json.loads(js.read_text())
    moves = {m["supplier"]: m for m in data["moves"]}
    # uncapped: 10 t Chinese; capped: 3 Chinese + 7 Canadian
    assert moves["Sino"]["change"] == pytest.approx(-7.0) and moves["Maple"]["change"] == pytest.approx(7.0)
    spend = next(f for f in data["figures"] if f["figure"] == "Spend (USD)")
    assert spend["change"] == pytest.approx(14.0)
    assert np.isclose(spend["plan_a"], 10.0)
    # ranked by value: Maple's +7 t at $3 (+$21) before Sino's -7 t at $1 (-$7)
    assert [m["supplier"] for m in data["moves"]] == ["Maple", "Sino"]
    assert moves["Maple"]["value_change_usd"] == pytest.approx(21.0) and moves["Maple"]["unit"] == "t"
    assert moves["Maple"]["period"] == "2027"


def test_a_change_of_china_share_reads_in_percentage_points(book, tmp_path):
    # uncapped: 10 t from Sino at 1 USD (China share by value 100%); capped at 30%: 3 t Sino (3 USD) and
    # 7 t Maple at 3 USD (21 USD): China share 3 / 24 = 12.5%, a change of -87.5 percentage points
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    assert runner.invoke(app, ["solve", str(book(**two_offers())), "-o", str(a), "-q"]).exit_code == 0
    assert runner.invoke(app, ["solve", str(book(**two_offers(cap=0.3))), "-o", str(b), "-q"]).exit_code == 0
    result = runner.invoke(app, ["diff", str(a), str(b)])
    assert result.exit_code == 0, result.output
    assert "-87.5 pp" in result.output
