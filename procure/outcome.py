"""A solved plan, whatever its kind (STOCKPILE.md, "One plan, whatever its kind").

:func:`optimize` builds the extensive form of the fan (for one scenario: the
scenario's own program), solves it, and, when it is infeasible, solves the
elastic form whose priced slacks explain why. A fan of two or more scenarios
also gets its measures (STOCKPILE.md): RP (this optimum), WS (each scenario
alone), EEV (the expected-value problem's common decisions fixed),
EVPI = RP - WS, VSS = EEV - RP, as objective values (spend plus penalty terms).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from procure import formulation
from procure.data import Period, StochasticScenario, WorkbookData
from procure.errors import SolverError
from procure.extensive import ExtensiveForm, build_extensive_form, risk_value
from procure.figures import PlanFigures, expected_figures, plan_figures
from procure.instance import Instance
from procure.program import LinearProgram
from procure.solve import Solution, SolveOptions, Status, solve
from procure.stochastic import Fan, expected_value_instance, prepare, risk_settings

FIX_TOL = 1e-7  # EV values this close to a bound (relative) are clipped onto it before fixing


@dataclass
class Measures:
    """RP, WS, EEV, EVPI, VSS (STOCKPILE.md): objective values (spend plus penalty terms), each also split
    into money by its ``*_figures`` (expected spend, shortfall value and reserve-gap value, USD).

    ``eev`` None (infinite) when ``eev_reason`` says why. WS's split is the expectation of each
    scenario's own optimum; EVPI's and VSS's are the differences of the splits (RP - WS, EEV - RP).
    """

    rp: float
    ws: float
    ws_by_scenario: np.ndarray
    eev: float | None
    eev_reason: str = ""
    rp_figures: PlanFigures | None = None
    ws_figures: PlanFigures | None = None
    eev_figures: PlanFigures | None = None

    @property
    def evpi(self) -> float:
        return self.rp - self.ws

    @property
    def vss(self) -> float | None:
        return None if self.eev is None else self.eev - self.rp


@dataclass
class Outcome:
    """A solved (or explained) plan of any kind: its fan, its extensive form and what the solver proved.

    ``status`` is optimal, infeasible or not_solved. When infeasible, ``relaxed``
    holds the elastic re-solve (of ``relaxed_form``) whose nonzero slacks explain why.
    ``measures`` (RP, WS, EEV) only for a fan of two or more scenarios.
    """

    data: WorkbookData  # the base data: the workbook with --model applied, before any scenario's shocks
    fan: Fan
    form: ExtensiveForm
    solution: Solution
    options: SolveOptions
    risk: str = "expected"
    risk_level: float = 0.9
    risk_weight: float = 1.0
    commit_through: Period | None = None
    strict: bool = False
    measures: Measures | None = None
    relaxed_form: ExtensiveForm | None = None
    relaxed: Solution | None = None
    timings: dict = field(default_factory=dict)

    @property
    def status(self) -> Status:
        return self.solution.status

    @property
    def stochastic(self) -> bool:
        """Two or more scenarios (a plan of one scenario reads as a deterministic plan)."""
        return len(self.fan.scenarios) > 1

    @property
    def program(self) -> LinearProgram:
        return self.form.program

    @property
    def instance(self) -> Instance:
        """The base instance (the data before any scenario's shocks; a deterministic plan's own)."""
        return self.fan.base

    @property
    def relaxed_program(self) -> LinearProgram | None:
        return self.relaxed_form.program if self.relaxed_form is not None else None

    def scenario_solution(self, s: int) -> np.ndarray:
        return self.form.scenario_values(self.solution.x, s)

    def scenario_costs(self) -> np.ndarray:
        """Each scenario's own objective (spend plus penalty terms) at the plan."""
        return self.form.scenario_costs(self.solution.x)


def build_form(fan: Fan, *, strict: bool = False, elastic: bool = False) -> ExtensiveForm:
    """The extensive form of ``fan`` under its Policy's risk settings."""
    risk, alpha, lam, commit = risk_settings(fan.base_data.policy)
    return build_extensive_form(fan.instances, fan.probabilities, risk=risk, risk_level=alpha, risk_weight=lam,
                                commit_through=commit, strict=strict, elastic=elastic)


def optimize(data: WorkbookData, options: SolveOptions = SolveOptions(), *, strict: bool = False,
             scenarios: list[StochasticScenario] | None = None, with_measures: bool = True) -> Outcome:
    """Build and solve the plan of ``data``: the fan of ``scenarios`` (default: the workbook's own
    scenarios, else the base data as one scenario of probability 1); then, for two or more scenarios,
    WS and EEV; when infeasible, the elastic explanation."""
    timings = {}
    started = time.perf_counter()
    fan = prepare(data, data.scenarios if scenarios is None else scenarios)
    risk, alpha, lam, commit = risk_settings(data.policy)
    timings["scenarios_s"] = time.perf_counter() - started
    form = build_form(fan, strict=strict)
    timings.update(form.stats["timings"])
    mark = time.perf_counter()
    solution = solve(form.program, options)
    timings["solve_s"] = time.perf_counter() - mark
    outcome = Outcome(data, fan, form, solution, options, risk, alpha, lam, commit, strict, timings=timings)
    if solution.status == Status.INFEASIBLE:
        outcome.relaxed_form = build_form(fan, strict=strict, elastic=True)
        outcome.relaxed = solve(outcome.relaxed_form.program, options, with_duals=False)
    elif solution.status == Status.OPTIMAL and with_measures and len(fan.scenarios) > 1:
        mark = time.perf_counter()
        outcome.measures = measures(outcome)
        timings["measures_s"] = time.perf_counter() - mark
    return outcome


def measures(outcome: Outcome) -> Measures:
    """WS (each scenario alone) and EEV (the EV problem's common decisions fixed) beside RP, each with
    its split into money."""
    fan, options = outcome.fan, outcome.options
    pi = fan.probabilities
    ws_each, ws_figures = [], []
    for sc, inst in zip(fan.scenarios, fan.instances):
        program = formulation.build(inst, strict=outcome.strict)
        alone = solve(program, options, with_duals=False)
        if alone.status != Status.OPTIMAL:  # a relaxation of a solved model: only a time limit can stop it
            raise SolverError(f"scenario {sc.name} solved alone (for WS) ended {alone.status}: {alone.message}")
        ws_each.append(alone.objective)
        ws_figures.append(plan_figures(inst, program, alone.x))
    ws_each = np.array(ws_each)
    risk = lambda costs: risk_value(costs, pi, outcome.risk, outcome.risk_level, outcome.risk_weight)  # noqa: E731
    ws = risk(ws_each)
    eev, reason, eev_figures = expected_value_of_ev_solution(outcome)
    return Measures(rp=float(outcome.solution.objective), ws=ws, ws_by_scenario=ws_each, eev=eev,
                    eev_reason=reason, rp_figures=expected_figures(fan, outcome.form, outcome.solution.x),
                    ws_figures=_expected_split(pi, ws_figures, ws), eev_figures=eev_figures)


def _expected_split(pi: np.ndarray, parts: list[PlanFigures], objective: float) -> PlanFigures:
    """The probability-weighted figures of ``parts``, with ``objective`` (the risk measure's value)."""
    spend = float(sum(p * f.spend_usd for p, f in zip(pi, parts)))
    return PlanFigures(objective=objective, spend_usd=spend, penalty=objective - spend,
                       shortfall_value_usd=float(sum(p * f.shortfall_value_usd for p, f in zip(pi, parts))),
                       reserve_gap_value_usd=float(sum(p * f.reserve_gap_value_usd for p, f in zip(pi, parts))),
                       china_share_by_value=None)


def expected_value_of_ev_solution(outcome: Outcome) -> tuple[float | None, str, PlanFigures | None]:
    """EEV: solve the EV problem, fix its decisions at every node common to all scenarios, re-solve;
    (EEV, why it is infinite, its figures)."""
    fan, form, options = outcome.fan, outcome.form, outcome.options
    ev_program = formulation.build(expected_value_instance(fan), strict=outcome.strict)
    ev = solve(ev_program, options, with_duals=False)
    if ev.status != Status.OPTIMAL:
        return None, f"the expected-value problem has no plan ({ev.status}: {ev.message})", None
    program = form.program
    n_s = len(fan.scenarios)
    local = np.flatnonzero(form.col_members[form.col_map[0]] == n_s)  # scenario 0's columns shared by all
    columns = form.col_map[0][local]
    values = _onto_bounds(ev.x[local], program.col_lower[columns], program.col_upper[columns])
    values = np.where(program.col_integer[columns], np.round(values), values)
    if _within(values, program.col_lower[columns], program.col_upper[columns]):
        fixed_program = _fixed(program, columns, values)
        fixed = solve(fixed_program, options, with_duals=False)
        if fixed.status == Status.OPTIMAL:
            return float(fixed.objective), "", expected_figures(fan, replace(form, program=fixed_program), fixed.x)
    # name the scenarios whose own data (not the committed bounds all scenarios share) refuse the plan
    culprits = []
    for s, inst in enumerate(fan.instances):
        lp = formulation.build(inst, strict=outcome.strict)
        if not _within(values, lp.col_lower[local], lp.col_upper[local]) or \
                solve(_fixed(lp, local, values), options, with_duals=False).status != Status.OPTIMAL:
            culprits.append(fan.scenarios[s].name)
    where = (f"in scenario {', '.join(culprits)}" if culprits
             else "in the scenarios together (each alone is feasible)")
    return None, f"the expected-value plan's common decisions are infeasible {where}", None


def _within(values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> bool:
    return bool(np.all((values >= lower) & (values <= upper)))


def _fixed(program: LinearProgram, columns: np.ndarray, values: np.ndarray) -> LinearProgram:
    """``program`` with ``columns`` fixed at ``values`` (fixed integer columns become continuous)."""
    lower, upper, integer = program.col_lower.copy(), program.col_upper.copy(), program.col_integer.copy()
    lower[columns] = upper[columns] = values
    integer[columns] = False
    return replace(program, col_lower=lower, col_upper=upper, col_integer=integer)


def _onto_bounds(values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Solver values within FIX_TOL (relative) outside a bound moved onto it; others left (and found infeasible)."""
    slack_up = FIX_TOL * np.maximum(1.0, np.abs(np.where(np.isfinite(upper), upper, 0.0)))
    slack_low = FIX_TOL * np.maximum(1.0, np.abs(np.where(np.isfinite(lower), lower, 0.0)))
    values = np.where((values > upper) & (values <= upper + slack_up), upper, values)
    return np.where((values < lower) & (values >= lower - slack_low), lower, values)


