"""Property tests (hypothesis): random hostile names through every command that writes (issue 21).

Names are drawn from formula prefixes (= + - @), references (``Evil!A1``), rich markup (``[/]``, ``[red]``),
escape sequences and other control characters, invisible format characters, emoji codes, very long text and
any Unicode; they go into every text a workbook holds (mineral, unit, suppliers, countries, the Policy
scenario), into a ``--model`` file's ``name =`` (which, unlike a cell, may hold control characters), and into
the workbook's file name. Whatever they are, every command (solve, diff, frontier, export, batch, stress):

- exits 0 or 1 (never 5, an internal error, nor a traceback);
- prints no raw control character, and shows a name it prints as written (markup not read);
- writes charts whose formulas refer only to procure's own sheets (none built from a name);
- writes every text cell as text (no formula).

The examples are few and the workbook is small (capped() of test_hostile: spend 40 USD), so this stays fast;
tests/conftest.py's "ci" profile makes them the same on every CI run.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

from builders import write_workbook
from procure import cluster, console
from procure.cli import app
from test_hostile import RAW_CONTROL, assert_charts_literal, assert_text_cells, capped

runner = CliRunner()
SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]

PIECES = ["=", "+", "-", "@", "!", "Evil!A1", "x!B2", "SUM(1+1)", "cmd|' /C calc'!A0", "HYPERLINK(\"http://x\")",
          "[/]", "[/bold]", "[red]", "[bold]x[/bold]", "\\", "\x1b]0;pwned\x07", "\x1b[2J", "\x9b31m", "\x07", "\x00",
          "\t", "\n", "\r", "\u202e", "\u200b", "\ufeff", ":warning:", "Ω", "名", " ", "a", "Z9", "'", '"']
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
names = st.one_of(  # anything: control characters included (a --model name, a file name take them)
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join),
    st.text(min_size=1, max_size=30),
    st.builds(lambda prefix, n: prefix + "L" * n, st.sampled_from(["", "=", "[/]", "@", "x!"]),
              st.sampled_from([300, 999, 1001, 40_000])),
)
cell_names = st.one_of(  # what a cell may hold: no control character, at most 1,000 characters, not blank
    st.lists(st.sampled_from([p for p in PIECES if not CONTROL.search(p)]), min_size=1, max_size=6).map("".join),
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30),
    st.builds(lambda prefix, n: prefix + "L" * n, st.sampled_from(["", "=", "[/]", "@", "x!"]),
              st.sampled_from([300, 999])),
).filter(str.strip)
CELLS = ("mineral", "unit", "supplier", "country", "other_supplier", "scenario", "event")


@st.composite
def drawn_names(draw) -> dict:
    """Names for every cell (one of them, sometimes, anything at all: refused with its cell), the model's
    name and the file's name (anything)."""
    poisoned = draw(st.sampled_from((None,) * 3 + CELLS))
    drawn = {key: draw(names if key == poisoned else cell_names) for key in CELLS}
    return {**drawn, "model": draw(names), "file": draw(names)}


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (controls and DEL escaped, as TOML requires)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub("[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", escaped) + '"'


def file_name(text: str) -> str:
    """``text`` as a file name this system takes: no '/' or NUL, at most 100 characters, never '.' or '..'."""
    return "w-" + re.sub("[/\x00]", "_", text)[:100] + ".xlsx"


def in_cell(text: str) -> str:
    """``text`` as a cell can hold it: a control character as OOXML's ``_xHHHH_`` escape (what a file written by
    another program holds; openpyxl refuses the raw character, and the reader decodes the escape back)."""
    return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", lambda m: f"_x{ord(m.group()):04X}_", text)


def hostile_book(folder: Path, drawn: dict) -> tuple[Path, Path]:
    """The workbook of capped() with the drawn names, and a --model file named by the drawn model name."""
    cell = {key: in_cell(value) for key, value in drawn.items()}
    sheets = capped(mineral=cell["mineral"], unit=cell["unit"], china_supplier=cell["supplier"],
                    other=cell["country"], other_supplier=cell["other_supplier"], scenario=cell["scenario"],
                    risks=[{"event": cell["event"], "probability": 0.5, "country": "China", "capacity": 0}])
    path = write_workbook(folder / file_name(drawn["file"]), **sheets)
    model = folder / "model.toml"
    # the model stops China, so the plans of diff differ: Sino's purchases move to the other supplier
    model.write_text(f"name = {toml_string(drawn['model'])}\n[[shock]]\ncountry = \"China\"\ncapacity = 0\n",
                     encoding="utf-8")
    return path, model


def check(result, *written: Path, shown: tuple[str, ...] = ()) -> None:
    """The properties of one command's run (see the module's docstring)."""
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output and "Traceback" not in result.output, result.output
    assert not RAW_CONTROL.search(result.output), repr(result.output[:2000])
    if result.exit_code == 0:
        for text in shown:
            assert console.visible(text) in result.output, (text, result.output[:2000])
    for path in written:
        if path.suffix == ".xlsx" and path.exists():
            if any(n.startswith("xl/charts/") for n in zipfile.ZipFile(path).namelist()):
                assert_charts_literal(path)
            assert_text_cells(path)


@settings(max_examples=15, deadline=None, suppress_health_check=SLOW_OK)
@given(drawn=drawn_names())
def test_hostile_names_through_solve_diff_frontier_and_export(drawn):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        wb, model = hostile_book(folder, drawn)
        base, plan, js = folder / "base.xlsx", folder / "plan.xlsx", folder / "plan.json"
        solved = runner.invoke(app, ["solve", str(wb), "--model", str(model), "-o", str(plan), "--json", str(js)])
        check(solved, plan, shown=(drawn["model"].strip(), drawn["mineral"].strip()))
        if solved.exit_code != 0:
            return  # a name the workbook refuses (a control character, too long): refused, with the cell
        check(runner.invoke(app, ["solve", str(wb), "-o", str(base), "-q"]), base)
        differences = folder / "diff.xlsx"
        check(runner.invoke(app, ["diff", str(base), str(plan), "-o", str(differences), "--json",
                                  str(folder / "diff.json")]), differences, shown=(drawn["supplier"].strip(),
                                                                   drawn["other_supplier"].strip()))
        frontier = folder / "frontier.xlsx"
        check(runner.invoke(app, ["frontier", str(wb), "--model", str(model), "--caps", "0.5,1", "-o",
                                  str(frontier)]), frontier)
        check(runner.invoke(app, ["export", str(wb), "--model", str(model), "-o", str(folder / "model.lp")]),
              shown=("model.lp",))


@pytest.fixture(scope="module")
def scheduler():
    client = cluster.local_client(1)
    yield client.scheduler.address
    local = client.cluster
    client.close()
    local.close()


@settings(max_examples=5, deadline=None, suppress_health_check=SLOW_OK)
@given(drawn=drawn_names())
def test_hostile_names_through_batch_and_stress(scheduler, drawn):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        wb, model = hostile_book(folder, drawn)
        runs = folder / "runs"
        batch = runner.invoke(app, ["batch", str(wb), str(model), "-o", str(runs)])
        check(batch, *runs.glob("*.xlsx") if runs.exists() else ())
        stressed = folder / "stress.xlsx"
        check(runner.invoke(app, ["stress", str(wb), "--draws", "3", "--scheduler", scheduler, "-o", str(stressed)]),
              stressed, shown=(drawn["mineral"].strip(),))
