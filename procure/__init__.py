"""procure: least-cost critical-mineral procurement plans from an Excel workbook.

The flow is one way: ``workbook`` (read) -> ``validate`` (typed data) ->
``scenario`` (variants) -> ``instance`` (sets and data of the model) ->
``formulation`` and ``extensive`` (the linear program) -> ``solve`` ->
``outcome`` -> ``report`` (typed tables and items) -> ``plan`` (the Excel plan).
:mod:`procure.pipeline` is the library call every command uses; ``cli`` (Typer)
and ``console`` (rendering) sit on top. A deterministic plan is a stochastic
plan with one scenario of probability 1.

    import procure
    data = procure.load("inputs/sample.xlsx")
    outcome = procure.optimize(data)
    report = procure.make_report(outcome, input_name="sample.xlsx")
    procure.write(outcome, report, "plan.xlsx")
"""

from procure.errors import InputError, Problem, ProcureError
from procure.outcome import Outcome
from procure.pipeline import load, make_report, optimize, run, write
from procure.report import Report
from procure.result import Solution, SolveOptions, Status
from procure.version import tool_version

__all__ = ["InputError", "Outcome", "Problem", "ProcureError", "Report", "Solution", "SolveOptions", "Status",
           "__version__", "load", "make_report", "optimize", "run", "write"]


def __getattr__(name: str):
    # the version is looked up only when asked for (importlib.metadata at start-up costs time)
    if name == "__version__":
        return tool_version().removeprefix("procure ")
    raise AttributeError(f"module 'procure' has no attribute {name!r}")


# a name exported here must not be a module's: ``import procure.report`` would then give the name
assert not {"load", "make_report", "optimize", "run", "write"} & {"report", "solve", "outcome"}
