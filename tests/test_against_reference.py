"""procure against an independent implementation of FORMULATION.md (tests/oracle/reference.py) on random workbooks.

The reference was written from the specification alone, without reading procure; the random workbooks
(tests/oracle/random_workbooks.py) exercise every column and Policy key over the seeds. Status and
objective must agree to 1e-6 relative. `python tests/oracle/compare.py --n 800` runs the same check
through the CLI on many more seeds.
"""

from __future__ import annotations

import pytest

from oracle.random_workbooks import random_workbook
from oracle.reference import solve_reference
from procure.pipeline import load, optimize

SEEDS = range(0, 60)


@pytest.mark.parametrize("strict", [False, True])
def test_random_workbooks_match_the_reference(tmp_path, strict):
    mismatches = []
    for seed in SEEDS:
        path = tmp_path / f"r{seed}.xlsx"
        random_workbook(seed, path)
        expected = solve_reference(path, strict=strict)
        outcome = optimize(load(path), strict=strict)
        got = outcome.status
        if got != expected["status"]:
            mismatches.append((seed, "status", expected["status"], got))
        elif got == "optimal":
            objective = outcome.solution.objective
            if abs(objective - expected["objective"]) > 1e-6 * max(1.0, abs(expected["objective"])):
                mismatches.append((seed, "objective", expected["objective"], objective))
    assert not mismatches
