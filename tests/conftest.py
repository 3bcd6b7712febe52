from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from builders import write_workbook  # tests/ is on the path through pytest's `pythonpath` option

# CI (a clean clone, CI=true): the property tests draw the same examples on every run, with no example
# database, so a submission is judged on the same cases each time. On a developer's machine they explore.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def book(tmp_path):
    """``book(**sheets)`` writes a workbook into tmp_path and returns its path."""
    counter = iter(range(1000))

    def make(name=None, **sheets) -> Path:
        path = tmp_path / (name or f"book{next(counter)}.xlsx")
        return write_workbook(path, **sheets)

    return make


@pytest.fixture
def solve_book(book):
    """``solve_book(**sheets)`` writes and solves a workbook, returning the pipeline Outcome."""
    from procure.pipeline import load, optimize

    def run(model=None, strict=False, **sheets):
        data = load(book(**sheets), model)
        return optimize(data, strict=strict)

    return run


def objective(outcome) -> float:
    return outcome.program.objective_value(outcome.solution.x)
