"""procure.files: the one atomic write."""

from __future__ import annotations

import os

import pytest

from procure.errors import OutputError
from procure.files import atomic_write


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
            1 / 0
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_atomic_write_onto_a_folder_is_an_output_error_and_leaves_no_temp(tmp_path):
    target = tmp_path / "taken"
    (target / "inside").mkdir(parents=True)
    with pytest.raises(OutputError, match="cannot replace"):
        with atomic_write(target) as temp:
            temp.write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]

