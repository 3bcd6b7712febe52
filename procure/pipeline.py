"""The product's flow as library calls: load -> optimize -> report -> write.

Every command uses these (``cli``, ``batch``, ``stress``), and so can scripts
and tests. A deterministic plan and a stochastic plan take the same path: the
loaded data carries its scenarios (none for a plain plan, which is then the
base data as one scenario of probability 1). Nothing here prints.
"""

from __future__ import annotations

from pathlib import Path

from procure import analysis, scenario as scenario_files_module
from procure.data import WorkbookData
from procure.errors import InputError, Problem
from procure.outcome import Outcome, optimize
from procure.plan import write_json, write_plan
from procure.report import Report, build_report
from procure.scenario import check_scenarios
from procure.scenario_sheets import collect_scenario_sheets
from procure.solve import SolveOptions, Status
from procure.validate import Collector, validate
from procure.workbook import RawWorkbook, read_workbook

__all__ = ["load", "optimize", "make_report", "write", "run", "Outcome", "Report"]


def load(workbook: str | Path, model: str | Path | None = None, scenario_files=(), *,
         raw: RawWorkbook | None = None) -> WorkbookData:
    """Read and check ``workbook``, apply scenario file ``model`` (``--model``), and gather the scenarios
    of its ``Scenarios`` and ``Shocks`` sheets and of each ``--scenario`` file into ``data.scenarios``
    ([] for a plain plan). Every problem of all of them is raised at once as :class:`InputError`.

    ``raw``: the workbook already read (:func:`procure.workbook.read_workbook`), so it is read once.
    """
    raw = raw if raw is not None else read_workbook(workbook)
    data = validate(raw)
    if model is not None:
        data = scenario_files_module.apply(data, scenario_files_module.load_scenario(model, data))
    out = Collector(raw.path.name)
    scenarios = collect_scenario_sheets(raw, data, out)
    problems = list(out.problems)
    for path in scenario_files:
        try:
            scenarios.append(scenario_files_module.load_stochastic_scenario(path, data))
        except InputError as exc:
            problems += exc.problems + exc.warnings
    commit = data.policy.commit_through
    if commit is not None and data.periods and type(commit) is not type(data.periods[0]):
        problems.append(Problem("is not comparable with the workbook's periods ("
                                + ", ".join(str(p) for p in data.periods[:4]) + ", ...)",
                                sheet="Policy", column="commit_through", value=commit))
    elif commit is not None and data.periods and commit not in data.periods:  # else it commits whatever it reaches
        problems.append(Problem("is no period of the workbook; expected one of "
                                + ", ".join(str(p) for p in data.periods[:8])
                                + (", ..." if len(data.periods) > 8 else ""),
                                sheet="Policy", column="commit_through", value=commit))
    if scenarios:
        try:
            check_scenarios(scenarios)
        except InputError as exc:
            problems += exc.problems
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    return data.with_changes(scenarios=scenarios,
                             warnings=list(data.warnings) + [p for p in problems if p.severity == "warning"])


def make_report(outcome: Outcome, *, input_name: str, price_rules: bool = False) -> Report:
    """The plan's tables, Summary and JSON; with ``price_rules``, each active rule priced and each
    optional agreement valued by re-solving (only when the plan was solved). A binding budget is re-solved
    with 1% more and 1% less (what its "what binds" sentence says in money)."""
    rule_costs = agreement_values = None
    if price_rules and outcome.solution.has_plan:
        rule_costs, agreement_values = analysis.price_rules(outcome), analysis.agreement_values(outcome)
    effects = analysis.budget_effects(outcome) if outcome.solution.has_plan else []
    return build_report(outcome, input_name=input_name, rule_costs=rule_costs, agreement_values=agreement_values,
                        budget_effects=effects)


def written(outcome: Outcome) -> bool:
    """Whether a plan workbook is written: a plan was found, or the relaxed plan explains infeasibility."""
    return outcome.solution.has_plan or outcome.status == Status.INFEASIBLE


def write(outcome: Outcome, result: Report, plan_path: Path | None, json_path: Path | None = None) -> bool:
    """Write the plan workbook (when there is a plan to write) and the JSON; True when the plan was written."""
    wrote = plan_path is not None and written(outcome)
    if wrote:
        write_plan(result, plan_path)
    if json_path is not None:
        write_json(result.json, json_path)
    return wrote


def run(workbook: str | Path, model: str | Path | None = None, scenario_files=(),
          options: SolveOptions = SolveOptions(), *, strict: bool = False,
          price_rules: bool = False) -> tuple[Outcome, Report]:
    """load, optimize and make_report in one call (what ``procure solve`` does before writing)."""
    data = load(workbook, model, scenario_files)
    outcome = optimize(data, options, strict=strict)
    return outcome, make_report(outcome, input_name=Path(workbook).name, price_rules=price_rules)
