"""The main job as one library call: read, check, apply a scenario, build, solve, explain.

``cli`` calls these; so can scripts and tests. Nothing here prints or writes files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from procure import formulation, scenario as scenarios
from procure.data import WorkbookData
from procure.instance import Instance, build_instance
from procure.program import LinearProgram
from procure.solve import Solution, SolveOptions, Status, solve
from procure.validate import validate
from procure.workbook import read_workbook


def load(workbook: str | Path, model: str | Path | None = None, *, raw=None) -> WorkbookData:
    """Read and check ``workbook``, and apply scenario file ``model`` when given.

    ``raw``: the workbook already read (:func:`procure.workbook.read_workbook`), so it is read once.
    """
    data = validate(raw if raw is not None else read_workbook(workbook))
    if model is not None:
        data = scenarios.apply(data, scenarios.load_scenario(model, data))
    return data


@dataclass
class Outcome:
    """A solved (or explained) plan: the instance, the program, and what the solver proved.

    ``status`` is optimal, infeasible or not_solved. When infeasible,
    ``relaxed`` holds the elastic re-solve whose nonzero slacks explain why.
    """

    data: WorkbookData
    instance: Instance
    program: LinearProgram
    solution: Solution
    options: SolveOptions
    strict: bool = False
    relaxed_program: LinearProgram | None = None
    relaxed: Solution | None = None

    @property
    def status(self) -> str:
        return self.solution.status


def optimize(data: WorkbookData, options: SolveOptions = SolveOptions(), *, strict: bool = False) -> Outcome:
    """Build and solve the model of ``data``; when it is infeasible, re-solve with priced slacks to explain it."""
    instance = build_instance(data)
    program = formulation.build(instance, strict=strict)
    solution = solve(program, options)
    outcome = Outcome(data, instance, program, solution, options, strict)
    if solution.status == Status.INFEASIBLE:
        outcome.relaxed_program = formulation.build(instance, strict=strict, elastic=True)
        outcome.relaxed = solve(outcome.relaxed_program, options, with_duals=False)
    return outcome
