"""procure.paths: the one rule that names outputs, and the checks before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from procure.errors import OutputError
from procure.paths import check_output_path, default_output_path, safe_stem


@pytest.mark.parametrize("text, stem", [
    ("China ban / 2027", "China-ban-2027"),
    ("  lithium+30%  ", "lithium-30"),
    ("v1.2_final", "v1.2_final"),
    ("///", "scenario"),
    ("Gallium–Germanium", "Gallium-Germanium"),  # an en dash is not a file-name character everywhere
])
def test_safe_stem(text, stem):
    assert safe_stem(text) == stem


@pytest.mark.parametrize("scenario, kind, folder, expected", [
    ("base", "plan", None, "outputs/sample-plan.xlsx"),
    ("", "plan", None, "outputs/sample-plan.xlsx"),
    ("China ban", "plan", None, "outputs/sample-China-ban-plan.xlsx"),
    ("China ban", "frontier", None, "outputs/sample-China-ban-frontier.xlsx"),
    ("surge", "plan", "runs", "runs/sample-surge-plan.xlsx"),
])
def test_default_output_path(scenario, kind, folder, expected):
    extra = {} if folder is None else {"folder": Path(folder)}
    assert default_output_path(Path("inputs/sample.xlsx"), scenario, kind, **extra) == Path(expected)


def test_cli_default_plan_path_is_the_shared_rule():
    from procure.cli import default_plan_path

    assert default_plan_path(Path("a/b.xlsx"), "x y") == Path("outputs/b-x-y-plan.xlsx")


def test_output_over_the_input_is_refused(tmp_path):
    source = tmp_path / "in.xlsx"
    source.write_bytes(b"PK")
    with pytest.raises(OutputError, match="would overwrite the input workbook"):
        check_output_path(source, [source])
