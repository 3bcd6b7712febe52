"""procure.files: the one atomic write and the one TOML reader."""

from __future__ import annotations

import os

import pytest

from procure.errors import InputError, OutputError
from procure.files import atomic_write, read_toml


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_write_replaces_the_target_whole_with_a_normal_mode(tmp_path):
    target = tmp_path / "new" / "folder" / "model.lp"
    with atomic_write(target) as temp:
        assert temp.parent == target.parent and temp.suffix == ".lp" and temp != target
        temp.write_text("first")
        assert not target.exists()  # nothing in place until the body succeeds
    assert target.read_text() == "first"
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()  # 0o644 under umask 022, never mkstemp's 0o600
    assert [p.name for p in target.parent.iterdir()] == ["model.lp"]


def test_atomic_write_failure_keeps_the_previous_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "plan.json"
    target.write_text("previous")
    with pytest.raises(ZeroDivisionError):
        with atomic_write(target, ".json") as temp:
            temp.write_text("half written")
            raise ZeroDivisionError("the write fails half way")
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_atomic_write_onto_a_folder_is_an_output_error_and_leaves_no_temp(tmp_path):
    target = tmp_path / "taken"
    (target / "inside").mkdir(parents=True)
    with pytest.raises(OutputError, match="cannot replace"):
        with atomic_write(target) as temp:
            temp.write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def _problem(path) -> str:
    with pytest.raises(InputError) as caught:
        read_toml(path, "scenario file")
    [problem] = caught.value.problems
    assert problem.file == str(path)
    return problem.message


def test_read_toml_reads_a_document(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('name = "ban"\n[[shock]]\ncapacity = 0\n', encoding="utf-8")
    assert read_toml(path) == {"name": "ban", "shock": [{"capacity": 0}]}


def test_read_toml_problems_name_the_file_and_what_is_wrong(tmp_path):
    assert _problem(tmp_path / "missing.toml") == "no such scenario file"
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "Curaçao"\n'.encode("latin-1"))
    assert _problem(latin).startswith("cannot be read as UTF-8 text")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[shock]\n", encoding="utf-8")
    assert _problem(broken).startswith("is not valid TOML") and "line 1" in _problem(broken)


@pytest.mark.parametrize("text", [
    "x = " + "[" * 100_000 + "]" * 100_000 + "\n",  # issue 21: exit 5 with a RecursionError
    "x = " + "{a = " * 100_000 + "1" + "}" * 100_000 + "\n",
])
def test_read_toml_nested_too_deeply(tmp_path, text):
    path = tmp_path / "deep.toml"
    path.write_text(text, encoding="utf-8")
    assert _problem(path).startswith("is nested too deeply")
