"""Hostile input and faults, by kind (issue 21): nothing lost, nothing injected, nothing hangs.

1. Outputs never overwrite an input or each other, checked before any solve (procure.paths.check_paths).
2. Chart text taken from the input is literal text in the chart XML, never a formula built from it.
3. Text from the input reaches the terminal escaped (no markup read, no control character sent); a number
   is never broken across lines.
4. Size limits are checked before anything is allocated, and every network wait has a deadline.
5. Faults: a plan killed mid-write leaves the previous plan; two writers leave one complete plan.

The workbook most tests use (hand-worked): mineral M, 10 units a period in 2027 and 2028, China at 1 USD/unit
and a second country at 3 USD/unit, 100 units each; M's China cap is 0.5, so each period buys 5 from China
and 5 from the other country: spend 2 x (5 x 1 + 5 x 3) = 40 USD.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from procure import cluster, console, paths
from procure.cli import app
from procure.errors import OutputError, ProcureError
from procure.workbook import read_plan

runner = CliRunner()
SPEND = 40.0  # the hand-worked optimum of capped(): see the module's docstring
OWN_REFERENCE = re.compile(r"^'?(ChartData|ChartText|Frontier|Histogram)'?!\$[A-Z]+\$\d+(:\$[A-Z]+\$\d+)?$")
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def capped(mineral="M", unit="t", china="China", other="Canada", china_supplier="Sino", other_supplier="Maple",
           scenario=None, risks=None, extra=None):
    sheets = dict(
        minerals=[{"mineral": mineral, "unit": unit, "max_china_share": 0.5}],
        demand=[{"mineral": mineral, "period": p, "demand": 10} for p in (2027, 2028)],
        offers=[{"supplier": china_supplier, "country": china, "mineral": mineral, "price": 1, "capacity": 100},
                {"supplier": other_supplier, "country": other, "mineral": mineral, "price": 3, "capacity": 100}],
        policy={"scenario": scenario} if scenario is not None else None,
        extra_sheets=dict(extra or {}))
    if risks is not None:
        sheets["extra_sheets"]["Risks"] = risks
    return sheets


CHINA_STOP = [{"event": "China stop", "probability": 0.3, "country": "China", "capacity": 0}]


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def chart_xml(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return [archive.read(n).decode("utf-8") for n in sorted(archive.namelist())
                if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]


def assert_charts_literal(path: Path, *texts: str) -> None:
    """No <c:f> of any chart holds anything but a reference to procure's own sheets, and each of ``texts``
    appears in a chart as written (XML-escaped)."""
    charts = chart_xml(path)
    assert charts
    for xml in charts:
        for formula in re.findall(r"<c:f>(.*?)</c:f>", xml):
            assert OWN_REFERENCE.match(formula), formula
    joined = "".join(charts)
    for text in texts:
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in joined or escaped.replace("'", "&apos;") in joined, text


def assert_text_cells(path: Path) -> None:
    """Every cell of every sheet is a value, never a formula."""
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)


@pytest.fixture
def forbid_solving(monkeypatch):
    """Any solve fails the test: the refusals below must come before one."""
    def boom(*args, **kwargs):
        raise AssertionError("solved before the paths were checked")

    monkeypatch.setattr("procure.pipeline.optimize", boom)
    monkeypatch.setattr("procure.cli.prepare_stress", boom)
    monkeypatch.setattr("procure.batch.run_batch", boom)
    monkeypatch.setattr("procure.cli.run_batch", boom)


@pytest.fixture(scope="module")
def scheduler():
    """A one-worker local Dask cluster for the stress commands here (its address, for --scheduler)."""
    client = cluster.local_client(1)
    yield client.scheduler.address
    local = client.cluster
    client.close()
    local.close()


# ======================================================================== 1. outputs never overwrite


def test_solve_json_onto_its_own_plan_is_refused_before_solving(book, tmp_path, forbid_solving):
    wb = book(**capped())
    plan = tmp_path / "p.xlsx"
    plan.write_bytes(b"previous plan")
    result = runner.invoke(app, ["solve", str(wb), "-o", str(plan), "--json", str(plan)])
    assert result.exit_code == 1, result.output
    assert "the JSON path" in result.output and "is also the plan path" in result.output
    assert plan.read_bytes() == b"previous plan"


@pytest.mark.parametrize("target", ["workbook", "model"])
def test_solve_json_onto_an_input_is_refused(book, tmp_path, forbid_solving, target):
    wb = book(**capped())
    model = tmp_path / "m.toml"
    model.write_text('name = "m"\n')
    victim = wb if target == "workbook" else model
    before = digest(victim)
    result = runner.invoke(app, ["solve", str(wb), "--model", str(model), "-o", str(tmp_path / "p.xlsx"),
                                 "--json", str(victim)])
    assert result.exit_code == 1 and "would overwrite the input" in result.output, result.output
    assert digest(victim) == before


def test_frontier_json_onto_its_workbook_is_refused(book, tmp_path, forbid_solving):
    wb = book(**capped())
    out = tmp_path / "f.xlsx"
    result = runner.invoke(app, ["frontier", str(wb), "--caps", "0,1", "-o", str(out), "--json", str(out)])
    assert result.exit_code == 1 and "is also the frontier workbook path" in result.output, result.output


@pytest.mark.parametrize("case", ["same", "json onto workbook", "output onto plan"])
def test_stress_outputs_are_checked_before_anything_runs(book, tmp_path, forbid_solving, case):
    wb = book(**capped(risks=CHINA_STOP))
    plan = tmp_path / "plan.xlsx"
    plan.write_bytes(b"a plan")
    out, js = {"same": (tmp_path / "s.xlsx", tmp_path / "s.xlsx"),
               "json onto workbook": (tmp_path / "s.xlsx", wb),
               "output onto plan": (plan, tmp_path / "s.json")}[case]
    before = {p: digest(p) for p in (wb, plan)}
    result = runner.invoke(app, ["stress", str(wb), "--draws", "5", "--plan", str(plan), "-o", str(out),
                                 "--json", str(js)])
    assert result.exit_code == 1, result.output
    assert "overwrite" in result.output
    assert {p: digest(p) for p in (wb, plan)} == before


def _two_plans(book, tmp_path):
    wb = book(**capped())
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    for plan in (a, b):
        assert runner.invoke(app, ["solve", str(wb), "-o", str(plan), "-q"]).exit_code == 0
    return a, b


def test_diff_never_writes_over_the_plans_it_compares(book, tmp_path):
    a, b = _two_plans(book, tmp_path)
    before = (digest(a), digest(b))
    onto_a = runner.invoke(app, ["diff", str(a), str(b), "--json", str(a)])
    assert onto_a.exit_code == 1 and "would overwrite the input plan" in onto_a.output
    onto_b = runner.invoke(app, ["diff", str(a), str(b), "-o", str(b)])
    assert onto_b.exit_code == 1 and "would overwrite the input plan" in onto_b.output
    same = runner.invoke(app, ["diff", str(a), str(b), "-o", str(tmp_path / "d.xlsx"),
                               "--json", str(tmp_path / "d.xlsx")])
    assert same.exit_code == 1 and "is also the JSON path" in same.output
    assert (digest(a), digest(b)) == before


def test_batch_models_sharing_a_name_are_refused_before_any_solve(book, tmp_path, forbid_solving):
    wb = book(**capped())
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text('name = "ban"\n')
    second.write_text('name = "ban"\n[[shock]]\ncountry = "China"\ncapacity = 0\n')
    out = tmp_path / "runs"
    result = runner.invoke(app, ["batch", str(wb), str(first), str(second), "-o", str(out)])
    assert result.exit_code == 1
    assert "both name their scenario 'ban'" in result.output
    assert not out.exists() or not list(out.iterdir())


def test_batch_never_writes_a_plans_json_over_a_model_file(book, tmp_path, forbid_solving):
    wb = book(name="w.xlsx", **capped())
    out = tmp_path / "runs"
    out.mkdir()
    model = out / "w-x-plan.json"  # where the plan of scenario "x" puts its JSON
    model.write_text('name = "x"\n')
    comparison = out / "w-comparison.json"  # where the comparison JSON goes
    comparison.write_text('name = "y"\n')
    before = digest(model), digest(comparison)
    result = runner.invoke(app, ["batch", str(wb), str(model), str(comparison), "-o", str(out)])
    assert result.exit_code == 1
    assert "would overwrite the input model file" in result.output
    assert "comparison JSON path" in result.output  # every clash named at once
    assert (digest(model), digest(comparison)) == before


def test_batch_with_distinct_names_writes_each_plan(book, tmp_path):
    # the plan paths are decided before solving from each model's name =; each plan is where it says
    wb = book(name="w.xlsx", **capped())
    base, ban = tmp_path / "base.toml", tmp_path / "ban.toml"
    base.write_text('name = "base"\n')
    ban.write_text('name = "China ban"\n[[shock]]\ncountry = "China"\ncapacity = 0\n')
    out = tmp_path / "runs"
    result = runner.invoke(app, ["batch", str(wb), str(base), str(ban), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    rows = json.loads((out / "w-comparison.json").read_text())["scenarios"]
    assert [(r["scenario"], Path(r["plan"]).name) for r in rows] == [("base", "w-plan.xlsx"),
                                                                     ("China ban", "w-China-ban-plan.xlsx")]
    # base: the hand-worked 40; the ban leaves only Canada at 3 (a cap of 0.5 holds at 0 from China): 60
    assert [r["spend_usd"] for r in rows] == pytest.approx([SPEND, 60.0])


def test_init_into_a_file_or_under_one_is_an_output_error(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    for target in (afile, afile / "sub"):
        result = runner.invoke(app, ["init", str(target)])
        assert result.exit_code == 1, result.output
        assert "is a file" in result.output or "which is a file" in result.output
    assert afile.read_text() == "keep me"


def test_check_paths_resolves_links_and_names_every_clash_at_once(tmp_path):
    source = tmp_path / "in.xlsx"
    source.write_bytes(b"x")
    soft, hard = tmp_path / "soft.xlsx", tmp_path / "hard.xlsx"
    os.symlink(source, soft)
    os.link(source, hard)
    with pytest.raises(OutputError) as caught:
        paths.check_paths([("workbook", source)], [("plan", soft), ("JSON", hard), ("copy", tmp_path / "x" / ".." /
                                                                                    "soft.xlsx")])
    message = str(caught.value)
    assert message.count("would overwrite the input workbook") == 3
    assert "is also the plan path" in message  # the third names the first too


def test_check_paths_refuses_a_folder_or_a_path_under_a_file(tmp_path):
    (tmp_path / "dir.xlsx").mkdir()
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError) as caught:
        paths.check_paths([], [("plan", tmp_path / "dir.xlsx"), ("JSON", tmp_path / "file" / "x.json")])
    assert "is a folder" in str(caught.value) and "which is a file, not a folder" in str(caught.value)


def test_a_path_the_file_system_refuses_is_an_output_error_not_a_crash(tmp_path):
    loop = tmp_path / "loop.xlsx"
    os.symlink(loop, loop)  # a link to itself: resolving it raised RuntimeError (exit 5)
    with pytest.raises(OutputError) as caught:
        paths.check_paths([], [("plan", loop), ("JSON", tmp_path / ("x" * 300 + ".json"))])
    assert "the plan path" in str(caught.value) and "cannot be used" in str(caught.value)
    assert "File name too long" in str(caught.value)


def test_check_paths_compares_ignoring_case_where_the_file_system_does(tmp_path, monkeypatch):
    outputs = [("plan of a.toml", tmp_path / "w-Ban-plan.xlsx"), ("plan of b.toml", tmp_path / "w-ban-plan.xlsx")]
    paths.check_paths([], outputs)  # this file system tells case apart: two files
    monkeypatch.setattr(paths, "_case_insensitive", lambda folder: True)  # macOS, Windows
    with pytest.raises(OutputError, match="is also the plan of a.toml path"):
        paths.check_paths([], outputs)


def test_case_insensitivity_is_read_from_the_file_system_without_writing(tmp_path):
    folder = tmp_path / "Probe"
    folder.mkdir()
    before = sorted(tmp_path.iterdir())
    insensitive = (tmp_path / "probe").exists()
    assert paths._case_insensitive(str(folder / "missing" / "deeper")) == insensitive
    assert sorted(tmp_path.iterdir()) == before


def test_a_long_scenario_name_is_cut_in_the_file_name(book, tmp_path, monkeypatch):
    # a 5,000-character name= made a 5,000-character file name: the file system refused it (exit 5)
    wb = book(**capped())
    model = tmp_path / "long.toml"
    model.write_text(f'name = "{"N" * 5000}"\n')
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["solve", str(wb), "--model", str(model), "-q"])
    assert result.exit_code == 0, result.output
    (plan,) = (tmp_path / "outputs").glob("*-plan.xlsx")
    assert len(plan.name) == len(f"{wb.stem}-{'N' * paths.MAX_STEM}-plan.xlsx")


# ======================================================================== 2. chart text as literals

HOSTILE = dict(mineral="=SUM(1+1)", unit="x!B2", china_supplier="@SUM(1+1)*cmd|' /C calc'",
               other="Evil!A1", other_supplier="+cmd|' /C calc'!A0", scenario="+cmd|' /C calc'!A0")


def test_plan_charts_take_input_names_as_literal_text(book, tmp_path):
    wb = book(**capped(**HOSTILE))
    plan, js = tmp_path / "p.xlsx", tmp_path / "p.json"
    result = runner.invoke(app, ["solve", str(wb), "-o", str(plan), "--json", str(js), "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(js.read_text())["spend"] == pytest.approx(SPEND)  # 5 at 1 + 5 at 3, twice
    assert_charts_literal(plan, "Purchases by origin against demand: =SUM(1+1)", "Evil!A1", "Quantity (x!B2)",
                          "China share against cap: =SUM(1+1)", "Reserve (x!B2)")
    assert_text_cells(plan)
    texts = [c.value for c in openpyxl.load_workbook(plan)["ChartText"]["A"]]
    assert "Evil!A1" in texts  # the series name's cell, written as text


def test_frontier_title_with_the_scenario_name_is_literal_text(book, tmp_path):
    wb = book(**capped(scenario="x!B2"))
    out = tmp_path / "f.xlsx"
    result = runner.invoke(app, ["frontier", str(wb), "--caps", "0.5,1", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert_charts_literal(out, "China-cap frontier: x!B2")
    assert_text_cells(out)


def test_stress_histogram_refers_only_to_its_own_sheet(book, tmp_path, scheduler):
    wb = book(**capped(**HOSTILE, risks=[{"event": "=HYPERLINK(\"x\")!A1", "probability": 0.5, "country": "China",
                                          "capacity": 0}]))
    out = tmp_path / "s.xlsx"
    result = runner.invoke(app, ["stress", str(wb), "--draws", "20", "--scheduler", scheduler, "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert_charts_literal(out, "Draws by total shortfall value")
    assert_text_cells(out)


# ======================================================================== 3. the terminal


@pytest.mark.parametrize("text, shown", [
    ("[/]", "[/]"), ("[/bold]", "[/bold]"), ("[red]x.xlsx", "[red]x.xlsx"),
    ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"), ("\x1b[2J", "\\x1b[2J"), ("a\x9bb", "a\\x9bb"),
    ("\u202egnp.exe", "\\u202egnp.exe"), ("line\nbreak", "line\\x0abreak"), (":warning:", ":warning:"),
])
def test_escape_prints_input_as_written_with_controls_visible(text, shown):
    out = io.StringIO()
    console.make_console(file=out, width=200).print(f"[bold]{console.escape(text)}[/]")
    assert out.getvalue() == shown + "\n"


def test_escape_keeps_line_breaks_only_when_asked():
    assert console.escape("a\nb\x1b", lines=True) == "a\nb\\x1b"


def test_markup_in_scenario_names_is_printed_not_read(book):
    # a Policy scenario "[/]" and Scenarios names "[/bold]", "[red]" crashed validate (rich's MarkupError)
    wb = book(**capped(scenario="[/]", extra={
        "Scenarios": [{"scenario": "[/bold]", "probability": 0.5}, {"scenario": "[red]", "probability": 0.5}]}))
    result = runner.invoke(app, ["validate", str(wb)])
    assert result.exit_code == 0, result.output
    assert "[/]" in result.output and "[/bold], [red]" in result.output


def test_escape_sequences_in_a_model_name_never_reach_the_terminal(book, tmp_path):
    wb = book(**capped())
    model = tmp_path / "m.toml"
    model.write_text('name = "\\u001b]0;pwned\\u0007[/]\\u001b[2J"\n')
    result = runner.invoke(app, ["solve", str(wb), "--model", str(model), "-o", str(tmp_path / "p.xlsx")])
    assert result.exit_code == 0, result.output
    assert not RAW_CONTROL.search(result.output)
    assert "scenario \\x1b]0;pwned\\x07[/]\\x1b[2J" in result.output


def test_a_workbook_named_like_markup_keeps_its_name(book):
    wb = book(name="[red]x.xlsx", **capped())
    result = runner.invoke(app, ["validate", str(wb)])
    assert result.exit_code == 0 and "[red]x.xlsx: valid" in result.output


def _table(*numbers):
    table = console.Table(title="figures", show_edge=False)
    console.add_columns(table, ("mineral", "spend", "shortfall value"), left=("mineral",))
    for name, spend, shortfall in numbers:
        table.add_row(name, spend, shortfall)
    return table


def test_a_table_too_wide_for_the_terminal_becomes_one_record_per_block():
    out = io.StringIO()
    ctx = console.Context(False, False, out=console.make_console(file=out, force_terminal=True, width=36,
                                                               color_system=None))
    console.show(ctx, _table(("Rare earths", "$10,098,744,266", "$1,049,862,600")))  # 46 characters as a table
    assert out.getvalue().splitlines() == ["figures", "Rare earths", "  spend: $10,098,744,266",
                                           "  shortfall value: $1,049,862,600"]


def test_a_table_that_fits_the_terminal_stays_a_table_with_numbers_whole():
    out = io.StringIO()
    ctx = console.Context(False, False, out=console.make_console(file=out, force_terminal=True, width=60,
                                                               color_system=None))
    console.show(ctx, _table(("Rare earths with a long name", "$10,098,744,266", "$1")))
    text = out.getvalue()
    assert "$10,098,744,266" in text and "spend:" not in text
    assert max(len(line) for line in text.splitlines()) <= 60


def test_output_that_is_not_a_terminal_is_printed_at_full_width():
    out = io.StringIO()  # not a terminal: a CI log or a pipe
    ctx = console.Context(False, False, out=console.make_console(file=out))
    console.show(ctx, _table(("Rare earths " * 8, "$10,098,744,266", "$1,049,862,600")))
    (row,) = [line for line in out.getvalue().splitlines() if "Rare" in line]
    assert "$10,098,744,266" in row and "$1,049,862,600" in row and len(row) > 120


def test_diff_in_a_log_keeps_every_number_on_one_line(book, tmp_path):
    # the issue's example: "-$1,04 / 9,862, / 600" when the moves table was squeezed into 80 columns.
    # Demand 1e9 a period, the cap of 0.5: 5e8 at 1 and 5e8 at 3 a period, spend 4e9. With China stopped, 1e9 at
    # 3 a period: 6e9; Sino's purchases fall by 5e8 a period (-$500,000,000 each), Maple's rise by 5e8
    # (+$1,500,000,000 each)
    sheets = capped()
    for row in sheets["demand"]:
        row["demand"] = 1e9
    for row in sheets["offers"]:
        row["capacity"] = 2e9
    wb = book(**sheets)
    ban = tmp_path / "ban.toml"
    ban.write_text('name = "ban"\n[[shock]]\ncountry = "China"\ncapacity = 0\n')
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    assert runner.invoke(app, ["solve", str(wb), "-o", str(a), "-q"]).exit_code == 0
    assert runner.invoke(app, ["solve", str(wb), "--model", str(ban), "-o", str(b), "-q"]).exit_code == 0
    result = runner.invoke(app, ["diff", str(a), str(b)], env={"COLUMNS": "40"})  # a CI log 40 wide
    assert result.exit_code == 0, result.output
    for figure in ("$4,000,000,000", "$6,000,000,000", "$2,000,000,000", "-$500,000,000", "$1,500,000,000"):
        assert figure in result.output


def test_unpriced_rules_are_named_with_the_reason():
    from procure.solve import SolveOptions

    rules = pd.DataFrame([{"item": "China exposure caps", "status": "optimal / not_solved"},
                          {"item": "[red]budgets", "status": "optimal / optimal"}])
    out = io.StringIO()
    ctx = console.Context(False, False, out=console.make_console(file=out))
    console._say_unpriced(ctx, rules, SolveOptions(time_limit_s=0.5, deadline=time.time() - 1))
    assert out.getvalue() == ("not priced (1): China exposure caps: the --time-limit of 0.5 s ran out before their "
                              "re-solves finished (a longer limit prices them)\n")
    out.truncate(0), out.seek(0)
    console._say_unpriced(ctx, rules, SolveOptions())
    assert out.getvalue().endswith("their re-solves ended optimal / not_solved\n")


# ======================================================================== 4. limits before allocating


def test_stress_draws_beyond_the_limit_are_refused_at_once(book, forbid_solving):
    wb = book(**capped(risks=CHINA_STOP))
    huge = runner.invoke(app, ["stress", str(wb), "--draws", "1000000000000"])
    assert huge.exit_code == 1 and "at most 10,000,000 draws" in huge.output
    tasks = runner.invoke(app, ["stress", str(wb), "--draws", "1000000", "--chunk-size", "1"])
    assert tasks.exit_code == 1 and "give --chunk-size 10 or more" in tasks.output


@pytest.mark.parametrize("caps, said", [
    ("0:1:1e-9", "1,000,000,000 caps; at most 10,000"),
    ("0:1:5e-324", "caps; at most 10,000"),
    ("1:0:0.1", "start must not exceed stop"),
    ("0:inf:0.1", "must be numbers"),
    ("0,nan", "every cap must be a share from 0 to 1"),
])
def test_frontier_caps_are_checked_before_any_list_is_made(book, caps, said, forbid_solving):
    result = runner.invoke(app, ["frontier", str(book(**capped())), "--caps", caps])
    assert result.exit_code == 1 and said in result.output, result.output


def test_a_name_too_long_for_a_cell_is_refused_naming_the_cell(book):
    wb = book(**capped(other_supplier="S" * 32_767))
    result = runner.invoke(app, ["validate", str(wb)])
    assert result.exit_code == 1
    assert "sheet 'Offers', row 3, column 'supplier'" in result.output
    assert "32,767 characters long; names and descriptions take at most 1,000" in result.output


def test_an_unparsable_scheduler_address_is_a_usage_error(book):
    result = runner.invoke(app, ["stress", str(book(**capped(risks=CHINA_STOP))), "--draws", "5",
                                 "--scheduler", "tcp://[::1"])
    assert result.exit_code == 1, result.output
    assert "is not a Dask scheduler address" in result.output


@pytest.fixture
def silent_server():
    """A server on 127.0.0.1 that accepts connections and never says a word (its address)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted, stop = [], threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in accepted:
        conn.close()
    listener.close()


def _bounded(call, bound_s: float = 90.0):
    """Run ``call`` in a thread: its result, or a failure when it is still running after ``bound_s`` (a hang)."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", call()), daemon=True)
    thread.start()
    thread.join(bound_s)
    assert not thread.is_alive(), "still waiting on the scheduler: no deadline bounds the handshake"
    return box["result"]


def test_a_silent_scheduler_is_given_up_on_within_the_deadline(silent_server):
    def reach():
        try:
            cluster.connect(silent_server, timeout_s=1)
        except ProcureError as exc:
            return str(exc)
        return "connected"

    assert "did not answer Dask's handshake" in _bounded(reach)


@pytest.mark.parametrize("command", ["stress", "batch"])
def test_stress_and_batch_do_not_hang_on_a_silent_scheduler(book, tmp_path, silent_server, monkeypatch, command):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1.0)
    wb = book(**capped(risks=CHINA_STOP))
    model = tmp_path / "m.toml"
    model.write_text('name = "m"\n')
    args = (["stress", str(wb), "--draws", "5"] if command == "stress" else ["batch", str(wb), str(model)]) + [
        "--scheduler", silent_server, "-o", str(tmp_path / ("s.xlsx" if command == "stress" else "runs"))]
    result = _bounded(lambda: runner.invoke(app, args))
    assert result.exit_code == 1, result.output
    assert "cannot reach the Dask scheduler" in result.output


def _stochastic_book(book, **more):
    """capped() with two scenarios from 2028, calm and a China stop; holding costs 2 USD/unit a period, so
    buying ahead in 2027 (2 USD/unit at the cap's mix, plus 2 to hold) never beats Canada's 3 in 2028."""
    sheets = capped(extra={"Scenarios": [{"scenario": "calm", "probability": 0.5},
                                         {"scenario": "stop", "probability": 0.5}],
                           "Shocks": [{"scenario": "stop", "country": "China", "capacity": 0, "period_from": 2028}]},
                    **more)
    sheets["minerals"][0]["holding_cost"] = 2
    return book(**sheets)


def test_diff_of_deterministic_and_stochastic_plans(book, tmp_path):
    # stochastic: 2027 as the deterministic plan (20); in 2028 calm buys as before (20), stop buys 10 at 3
    # (30, China's cap of 0.5 holds at 0 from China): expected spend 20 + (20 + 30) / 2 = 45
    det, sto, sto2 = tmp_path / "d.xlsx", tmp_path / "s.xlsx", tmp_path / "s2.xlsx"
    assert runner.invoke(app, ["solve", str(book(**capped())), "-o", str(det), "-q"]).exit_code == 0
    stochastic = _stochastic_book(book)
    for plan in (sto, sto2):
        assert runner.invoke(app, ["solve", str(stochastic), "-o", str(plan), "-q"]).exit_code == 0
    for a, b, change in ((det, sto, 5.0), (sto, sto2, 0.0)):
        js = tmp_path / "d.json"
        result = runner.invoke(app, ["diff", str(a), str(b), "--json", str(js)])
        assert result.exit_code == 0, result.output
        spend = next(f for f in json.loads(js.read_text())["figures"] if f["key"] == "spend")
        assert spend["change"] == pytest.approx(change)


def test_diff_of_a_stress_workbook_is_an_input_error_naming_it(book, tmp_path, scheduler):
    wb = book(**capped(risks=CHINA_STOP))
    plan, stressed = tmp_path / "p.xlsx", tmp_path / "s.xlsx"
    assert runner.invoke(app, ["solve", str(wb), "-o", str(plan), "-q"]).exit_code == 0
    assert runner.invoke(app, ["stress", str(wb), "--draws", "5", "--scheduler", scheduler, "-o", str(stressed),
                               "-q"]).exit_code == 0
    result = runner.invoke(app, ["diff", str(stressed), str(plan)])
    assert result.exit_code == 1
    assert "s.xlsx: is not a plan written by procure solve" in result.output


def test_compounded_shock_multipliers_are_an_input_error_naming_the_rows(book):
    # two rows of price x 1e12 hit Sino's price of 1 in 2028: 1 x 1e24, beyond the 1e13 a solver takes
    wb = book(**capped(extra={"Scenarios": [{"scenario": "spike", "probability": 1}],
                              "Shocks": [{"scenario": "spike", "country": "China", "price": 1e12},
                                         {"scenario": "spike", "mineral": "M", "price": 1e12, "period_from": 2028}]}))
    result = runner.invoke(app, ["solve", str(wb)])
    assert result.exit_code == 1, result.output
    assert "sheet 'Shocks', row 2, column 'price'" in result.output
    assert "the price multipliers of rows 2, 3 multiply to 1e+24 (1e+12 x 1e+12)" in result.output
    assert "Sino / M / all / row 2 in 2028 1 x 1e+24 = 1e+24" in result.output


def test_a_header_only_scenarios_sheet_is_an_error(book):
    wb = book(**capped(extra={"Scenarios": [{"_headers": ["scenario", "probability"]}]}))
    result = runner.invoke(app, ["validate", str(wb)])
    assert result.exit_code == 1
    assert "sheet 'Scenarios': has no scenario below its header" in result.output


def test_commit_through_that_is_no_period_is_an_error(book):
    # it was accepted, and committed every period it reached
    sheets = capped()
    sheets["policy"] = {"commit_through": 2031}
    result = runner.invoke(app, ["validate", str(book(**sheets))])
    assert result.exit_code == 1
    assert "sheet 'Policy', column 'commit_through': value 2031: is no period of the workbook" in result.output


def test_stress_of_a_plan_solved_under_another_model_warns_naming_both(book, tmp_path, scheduler):
    wb = book(**capped(risks=CHINA_STOP))
    model = tmp_path / "ban.toml"
    model.write_text('name = "ban"\n')
    plan = tmp_path / "ban-plan.xlsx"
    assert runner.invoke(app, ["solve", str(wb), "--model", str(model), "-o", str(plan), "-q"]).exit_code == 0
    args = ["stress", str(wb), "--plan", str(plan), "--draws", "5", "--scheduler", scheduler]
    unwarned = runner.invoke(app, args + ["--model", str(model), "-o", str(tmp_path / "s1.xlsx")])
    assert unwarned.exit_code == 0 and "warning" not in unwarned.output
    warned = runner.invoke(app, args + ["-o", str(tmp_path / "s2.xlsx")])
    assert warned.exit_code == 0, warned.output
    assert "ban-plan.xlsx: was solved under scenario 'ban', but this stress test runs scenario 'base' " \
           "(no --model)" in warned.output


def test_committing_past_the_shared_periods_of_a_stochastic_plan_warns(book, tmp_path, scheduler):
    wb = _stochastic_book(book, risks=CHINA_STOP)  # the scenarios differ from 2028: 2027 is shared
    args = ["stress", str(wb), "--draws", "5", "--scheduler", scheduler]
    shared = runner.invoke(app, args + ["-o", str(tmp_path / "a.xlsx")])
    assert shared.exit_code == 0 and "warning" not in shared.output, shared.output
    past = runner.invoke(app, args + ["--commit-through", "2028", "-o", str(tmp_path / "b.xlsx")])
    assert past.exit_code == 0, past.output
    assert "--commit-through 2028 reaches past 2027, the last period whose purchases every scenario" in past.output
    assert "the first scenario's ('calm')" in past.output


# ======================================================================== 5. faults

WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    import procure.plan
    from procure.cli import main

    mode, marker = sys.argv[1], Path(sys.argv[2])
    if mode == "stall":  # write part of the data rows, say so, then never finish: to be killed mid-write
        def stalled(temp, rows):
            Path(temp).write_bytes(b"PK" + b"half a plan" * 1000)
            marker.write_text(str(temp))
            time.sleep(600)
        procure.plan.fill_sheets = stalled
    else:  # both writers have a complete temporary plan before either renames it into place
        move = procure.plan.move_into_place
        def together(temp, path):
            Path(str(marker) + mode).write_text("ready")
            deadline = time.time() + 120
            while not all(Path(str(marker) + m).exists() for m in ("1", "2")) and time.time() < deadline:
                time.sleep(0.01)
            move(temp, path)
        procure.plan.move_into_place = together
    sys.argv = ["procure", *sys.argv[3:]]
    main()
""")


def _writer(tmp_path, mode, marker, *args):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return subprocess.Popen([sys.executable, str(script), mode, str(marker), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(path: Path, process: subprocess.Popen, bound_s: float = 120.0) -> None:
    deadline = time.time() + bound_s
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.time() < deadline, "the writer never reached the point to test"
        time.sleep(0.02)


def test_a_solve_killed_mid_write_leaves_the_previous_plan(book, tmp_path):
    wb = book(**capped())
    plan = tmp_path / "plan.xlsx"
    assert runner.invoke(app, ["solve", str(wb), "-o", str(plan), "-q"]).exit_code == 0
    before = digest(plan)
    marker = tmp_path / "writing"
    process = _writer(tmp_path, "stall", marker, "solve", wb, "-o", plan, "-q")
    try:
        _wait_for(marker, process)
        assert Path(marker.read_text()).exists()  # the new plan is half-written, beside the old one
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert digest(plan) == before
    summary = read_plan(plan)[0]  # by the keys procure writes beside the items
    assert summary["spend"] == pytest.approx(SPEND)


def test_two_solves_writing_one_plan_at_once_leave_one_complete_plan(book, tmp_path):
    wb = book(**capped())
    plan = tmp_path / "plan.xlsx"
    marker = tmp_path / "ready-"
    first = _writer(tmp_path, "1", marker, "solve", wb, "-o", plan, "-q")
    second = _writer(tmp_path, "2", marker, "solve", wb, "-o", plan, "-q")
    for process in (first, second):
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    summary = read_plan(plan)[0]  # by the keys procure writes beside the items
    assert summary["status"] == "optimal" and summary["spend"] == pytest.approx(SPEND)
    assert sorted(p.name for p in tmp_path.glob("*.xlsx")) == ["book0.xlsx", "plan.xlsx"]  # no temporary left
