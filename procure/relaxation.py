"""Why a plan is infeasible: each nonzero slack of the elastic re-solve, in the constraint's own unit
(FORMULATION.md, "Feasibility"), with the family's sentence from the registry."""

from __future__ import annotations

import numpy as np
import pandas as pd

from procure import fmt
from procure.facts import ZERO_TOL, Facts, clean, scenario_facts
from procure.families import Measure, family_of
from procure.outcome import Outcome
from procure.program import block_of


def empty_relaxations() -> pd.DataFrame:
    return pd.DataFrame(columns=["constraint", "mineral", "period", "country", "supplier", "amount", "unit",
                                 "meaning"])


def relaxation_table(outcome: Outcome) -> pd.DataFrame:
    """Each nonzero slack of the elastic re-solve: which constraint, where, and by how much to relax it
    (a plan of one scenario; :func:`scenario_relaxations` names the scenario of each)."""
    program, solution = outcome.relaxed_program, outcome.relaxed
    if solution is None or solution.x is None or "slack" not in program.columns:
        return empty_relaxations()
    f = scenario_facts(outcome, relaxed=True)[0]
    block = program.columns["slack"]
    slack = clean(solution.x[block.slice()], 1.0)
    rows = []
    for local in np.flatnonzero(slack > 1e-7):
        row_block, row_local = block_of(program.rows, int(block.keys["row"][local]))
        rows.append(describe_relaxation(f, row_block, row_local, float(slack[local])))
    return pd.DataFrame(rows, columns=list(empty_relaxations().columns))


def describe_relaxation(f: Facts, row_block, row_local: int, slack: float) -> dict:
    """One relaxation in the constraint's own unit (its family's sentence in the registry): percentage
    points of a share cap (the slack over the (m, t) purchases of the relaxed plan ``f``), ESG points
    of the average rule, USD of a budget, the mineral's unit for demand."""
    inst, names = f.inst, f.names
    family = family_of(row_block.name)
    keys = {k: v[row_local] for k, v in row_block.keys.items()}
    row = {"constraint": family.title, "mineral": "", "period": "", "country": "", "supplier": "",
           "amount": slack}
    if "mineral" in keys:
        row["mineral"] = names.mineral(inst.mineral_keys[keys["mineral"]])
    if "period" in keys:
        row["period"] = inst.periods[keys["period"]]
    if "country" in keys:
        row["country"] = names.country(inst.country_keys[keys["country"]])
    if "supplier" in keys:
        row["supplier"] = names.supplier(inst.supplier_keys[keys["supplier"]])
    if family.measure in (Measure.SHARE, Measure.ESG_AVERAGE):
        mt = keys["mineral"] * f.n_t + keys["period"]
        total = f.bought_weighted[mt] if family.measure == Measure.SHARE else f.bought.ravel()[mt]
        # slack / purchases: share points (x 100) or ESG points; with no purchases the row needs none
        if total > ZERO_TOL:
            row["amount"] = slack / total * (100.0 if family.measure == Measure.SHARE else 1.0)
    fields = dict(row, where=" ".join(fmt.period(row[k]) for k in ("mineral", "period") if row[k] != ""),
                  basis="USD" if inst.policy.share_basis == "value" else "units",
                  unit=inst.units[keys["mineral"]] if "mineral" in keys else "",
                  limit=float(row_block.meta["limit"][row_local]) if "limit" in row_block.meta else np.nan,
                  slack=slack)
    row["unit"] = family.relaxation_unit.format(**fields)
    row["meaning"] = family.relaxation.format(**fields)
    return row


def scenario_relaxations(outcome: Outcome) -> pd.DataFrame:
    """Each nonzero slack of the elastic re-solve of an infeasible stochastic model, naming its scenario;
    amounts in the constraint's own unit, taken over that scenario's purchases."""
    columns = ["scenario", "constraint", "mineral", "period", "country", "supplier", "amount", "unit", "meaning"]
    form, solution = outcome.relaxed_form, outcome.relaxed
    if form is None or solution is None or solution.x is None or "slack" not in form.program.columns:
        return pd.DataFrame(columns=columns)
    program = form.program
    block = program.columns["slack"]
    slack = clean(solution.x[block.slice()], 1.0)
    facts = scenario_facts(outcome, relaxed=True)  # each scenario's own relaxed plan
    rows = []
    for local in np.flatnonzero(slack > 1e-7):
        s = int(block.keys["scenario"][local])
        row_block, row_local = block_of(program.rows, int(block.keys["row"][local]))
        row = {"scenario": outcome.fan.scenarios[s].name,
               **describe_relaxation(facts[s], row_block, row_local, float(slack[local]))}
        row["meaning"] = f"scenario {row['scenario']}: {row['meaning']}"
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)
