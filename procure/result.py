"""What a solve returns, for every solver: status, options, the proven plan, and one run's raw result.

Kept apart from :mod:`procure.solve` (HiGHS) and :mod:`procure.pulp_model` (every other solver), which
both build these.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np


class Status(StrEnum):
    """What procure concludes about a model (CLI.md exit codes 0, 2, 3)."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    NOT_SOLVED = "not_solved"


class RawKind(StrEnum):
    """What one solver run reported, before procure judges it."""

    OPTIMAL = "optimal"
    GAP_LIMIT = "gap_limit"
    INFEASIBLE = "infeasible"
    STOPPED = "stopped"


@dataclass(frozen=True)
class SolveOptions:
    """How to solve. ``time_limit_s`` is the wall-clock limit of the whole command (every re-solve
    included); ``deadline`` is the epoch second it ends, set once by :meth:`started` when the command
    starts and shared by every solve of the command (frontier points, batch scenarios)."""

    solver: str = "highs"
    time_limit_s: float | None = None
    gap: float = 1e-6  # relative MIP gap
    verbose: bool = False
    deadline: float | None = None

    def started(self) -> "SolveOptions":
        """These options with the deadline fixed from now, unless already fixed."""
        if self.time_limit_s is None or self.deadline is not None:
            return self
        return replace(self, deadline=time.time() + self.time_limit_s)

    def remaining_s(self) -> float | None:
        """Seconds left before the deadline (None: no limit)."""
        return None if self.deadline is None else max(self.deadline - time.time(), 0.0)


@dataclass(frozen=True)
class Step:
    """One named step of a solve: how long it took and what came of it (``skipped``: the deadline had passed)."""

    name: str
    seconds: float
    outcome: str


@dataclass
class Solution:
    """What the solver proved. ``status``: optimal | infeasible | not_solved.

    ``x`` is set whenever the solver returned a plan (``has_plan``); a plan
    that is not proven optimal has status ``not_solved``. ``steps`` lists every
    solver call made for it, in order.
    """

    status: Status
    solver: str
    seconds: float
    x: np.ndarray | None = None
    objective: float | None = None
    best_bound: float | None = None
    gap: float | None = None
    row_dual: np.ndarray | None = None
    col_dual: np.ndarray | None = None
    duals_from_fixed_lp: bool = False
    message: str = ""
    violations: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    @property
    def has_plan(self) -> bool:
        return self.x is not None

    def add_message(self, text: str) -> None:
        self.message = f"{self.message}; {text}" if self.message else text


@contextlib.contextmanager
def quiet_stdout(enabled: bool):
    """Silence the solver's own output at the file-descriptor level (HiGHS prints a banner even with logging off)."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@dataclass
class RawResult:
    """What one solver run returned, before procure judges it."""

    kind: RawKind
    detail: str
    values: np.ndarray | None = None
    best_bound: float | None = None
    row_dual: np.ndarray | None = None
    col_dual: np.ndarray | None = None
