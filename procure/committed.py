"""What a stress test commits, checked against what it was asked to stress (``procure stress``).

:mod:`procure.stress` fixes the committed decisions; the checks here say, as
warnings naming both sides, when those decisions are not the plan the user
meant: a ``--plan`` solved under another scenario than the stress test's
``--model``, or a ``--commit-through`` that reaches past the periods every
scenario of a stochastic plan shares (beyond them each scenario buys its own,
and the first scenario's purchases would be committed as if they were the plan).
"""

from __future__ import annotations

from pathlib import Path

from procure import fmt
from procure.data import WorkbookData
from procure.diff import plan_summary
from procure.errors import Problem
from procure.extensive import shared_periods
from procure.stochastic import prepare as prepare_fan


def plan_scenario_warning(plan: Path, data: WorkbookData, model: Path | None) -> list[Problem]:
    """A warning when the plan at ``plan`` was solved under another scenario than ``data``'s (the workbook
    with ``model`` applied): its Summary names the scenario it was solved under."""
    solved_under = plan_summary(plan).get("scenario")
    if solved_under is None or str(solved_under) == data.policy.scenario:
        return []
    here = f"--model {model}" if model is not None else "no --model"
    return [Problem(f"was solved under scenario '{solved_under}', but this stress test runs scenario "
                    f"'{data.policy.scenario}' ({here}): the draws shock a plan made for other data; give the "
                    "--model the plan was solved with", file=str(plan), severity="warning")]


def commit_warning(data: WorkbookData, through: int) -> list[Problem]:
    """A warning when purchases through period index ``through`` are committed from a plan of several
    scenarios (solved here, no ``--plan``) whose scenarios stop sharing their purchases before that period."""
    if not data.scenarios:
        return []
    fan = prepare_fan(data, data.scenarios)
    shared = shared_periods(fan.instances, data.policy.commit_through)
    if through < shared:
        return []
    periods = fan.instances[0].periods
    first = fan.scenarios[0].name
    if shared == 0:
        return [Problem(f"purchases through {fmt.period(periods[through])} are committed, but the scenarios of the "
                        "stochastic plan share none (their data differ from the first period and Policy "
                        f"commit_through is not set): the first scenario's ('{first}') purchases are committed as "
                        "if they were the plan; set Policy commit_through, or give --plan", severity="warning")]
    return [Problem(f"--commit-through {fmt.period(periods[through])} reaches past "
                    f"{fmt.period(periods[shared - 1])}, the last period whose purchases every scenario of the "
                    f"stochastic plan shares: from {fmt.period(periods[shared])} on each scenario buys its own, and "
                    f"the first scenario's ('{first}') are committed as if they were the plan; commit through "
                    f"{fmt.period(periods[shared - 1])} at most, or give --plan", severity="warning")]
