"""Results as tables (pandas DataFrames) from a solved model, and the JSON summary.

Everything is mapped back by the keys the formulation stored on its blocks
(offer index, mineral and period index, country, supplier), never by names.
Derived results follow FORMULATION.md ("Results, derived"); shares use the
workbook's ``share_basis`` (units or dollars), as the caps do.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

import procure
from procure import fmt
from procure.data import OfferKind
from procure.explain import what_binds
from procure.families import FAMILIES, Measure, Sense, family_of
from procure.figures import plan_figures
from procure.pipeline import Outcome
from procure.program import LinearProgram, block_of
from procure.solve import Status

ZERO_TOL = 1e-9  # values below this (relative) are printed as 0


def clean(values: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Solver noise below ZERO_TOL x scale becomes an exact 0 (and -0.0 becomes 0.0)."""
    values = np.asarray(values, dtype=float).copy()
    values[np.abs(values) <= ZERO_TOL * max(scale, 1.0)] = 0.0
    return values + 0.0


@dataclass
class Report:
    """Every table of the plan workbook, and the figures of its Summary."""

    summary: list[tuple[str, object]]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    json: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)  # the "what binds" sentences, most costly first


def _block_values(program: LinearProgram, x: np.ndarray, name: str) -> np.ndarray:
    block = program.columns.get(name)
    return x[block.slice()] if block is not None else np.zeros(0)


def _row_duals(program: LinearProgram, duals: np.ndarray | None, name: str) -> np.ndarray | None:
    block = program.rows.get(name)
    if duals is None or block is None:
        return None
    return duals[block.slice()]


def scenario_facts(inst, program: LinearProgram, x: np.ndarray) -> "_Facts":
    """Facts of plan ``x`` of ``program`` (e.g. one scenario's columns of a stochastic plan)."""
    from procure.solve import Solution

    return _Facts(inst, program, Solution(Status.OPTIMAL, "", 0.0, x=x))


class _Facts:
    """The solution's numbers organised per offer-period, mineral-period and country."""

    def __init__(self, inst, program: LinearProgram, solution):
        self.program, self.solution = program, solution
        self.inst = inst
        self.names = inst.data.names
        x = solution.x
        self.n_m, self.n_t = len(inst.mineral_keys), len(inst.periods)
        self.buy = clean(_block_values(program, x, "x"))
        self.shortfall = clean(_block_values(program, x, "shortfall")).reshape(self.n_m, self.n_t)
        self.reserve = clean(_block_values(program, x, "reserve")).reshape(self.n_m, self.n_t)
        self.reserve_gap = clean(_block_values(program, x, "reserve_gap")).reshape(self.n_m, self.n_t)
        self.signed_y = np.round(_block_values(program, x, "y")).astype(int)
        self.mt = inst.offer_mineral[inst.op_offer] * self.n_t + inst.op_period
        self.weight = inst.weights()
        self.bought = (np.bincount(self.mt, weights=self.buy, minlength=self.n_m * self.n_t).astype(float)
                       .reshape(self.n_m, self.n_t))
        weighted = self.buy * self.weight
        self.bought_weighted = np.bincount(self.mt, weights=weighted, minlength=self.n_m * self.n_t).astype(float)
        exposure = weighted * inst.offer_exposure[inst.op_offer]
        self.exposure_weighted = np.bincount(self.mt, weights=exposure, minlength=self.n_m * self.n_t).astype(float)
        self.cost = self.buy * inst.op_price_usd
        self.row_dual = solution.row_dual
        self.col_dual = solution.col_dual

    def share(self, numerator, denominator):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denominator > ZERO_TOL, numerator / np.where(denominator > 0, denominator, 1), np.nan)


RULE_COST_COLUMNS = ["item", "what", "compared", "status", "spend_difference_usd",
                     "shortfall_value_difference_usd", "objective_difference_usd"]


def rule_costs_table(rule_costs, agreement_values) -> pd.DataFrame:
    """Each active rule (with minus without it) and each optional agreement (unsigned minus signed):
    differences in spend, shortfall value and objective, USD (FORMULATION.md)."""
    rows = []
    for kind, compared, items in (("rule", "with the rule minus without it", rule_costs or []),
                                  ("agreement", "unsigned minus signed", agreement_values or [])):
        for c in items:
            rows.append({
                "item": c.description, "what": kind, "compared": compared,
                "status": f"{c.first_status} / {c.second_status}",
                "spend_difference_usd": c.spend_usd, "shortfall_value_difference_usd": c.shortfall_usd,
                "objective_difference_usd": c.objective_usd,
            })
    return pd.DataFrame(rows, columns=RULE_COST_COLUMNS)


def _comparison_json(c, status_keys: tuple[str, str]) -> dict:
    return {"name": c.name, "description": c.description, status_keys[0]: str(c.first_status),
            status_keys[1]: str(c.second_status), "spend": _json_number(c.spend_usd),
            "shortfall_usd": _json_number(c.shortfall_usd), "objective": _json_number(c.objective_usd)}


def build_report(outcome: Outcome, *, input_name: str, run_date: _dt.datetime | None = None,
                 rule_costs=None, agreement_values=None) -> Report:
    """All tables of the plan for ``outcome``.

    An infeasible model's tables come from its elastic re-solve (the relaxed
    plan), marked as such in the Summary, beside the Relaxations sheet.
    """
    inst, solution = outcome.instance, outcome.solution
    report = Report(summary=[])
    tables = report.tables
    tables["Excluded"] = excluded_table(outcome)
    relaxations = relaxation_table(outcome) if outcome.relaxed is not None else _empty_relaxations()
    facts = None
    if solution.has_plan:
        facts = _Facts(inst, outcome.program, solution)
    elif outcome.relaxed is not None and outcome.relaxed.has_plan:
        facts = _Facts(inst, outcome.relaxed_program, outcome.relaxed)
    findings = []
    if facts is not None:
        tables["Allocation"] = allocation_table(facts)
        tables["Minerals"] = minerals_table(facts, outcome)
        tables["Countries"] = countries_table(facts)
        tables["Offers"] = offers_table(facts, outcome)
        tables["Agreements"] = agreements_table(facts, outcome)
        tables["Constraints"] = constraints_table(facts, outcome)
        findings = what_binds(inst, facts.shortfall, facts.bought, tables["Constraints"])
    if outcome.relaxed is not None:
        tables["Relaxations"] = relaxations
    report.findings = findings
    report.summary = summary_items(outcome, facts, relaxations, findings, input_name, run_date)
    report.json = json_summary(outcome, facts, relaxations)
    if rule_costs is not None or agreement_values is not None:
        tables["RuleCosts"] = rule_costs_table(rule_costs, agreement_values)
        report.json["rule_costs"] = [_comparison_json(c, ("status_with", "status_without"))
                                     for c in rule_costs or []]
        report.json["agreement_values"] = [_comparison_json(c, ("status_unsigned", "status_signed"))
                                           for c in agreement_values or []]
    return report


# ---------------------------------------------------------------- tables


def _offer_labels(f: _Facts) -> dict[str, np.ndarray]:
    """Per kept offer, its display texts, as object arrays to be taken by offer index."""
    inst, names = f.inst, f.names
    return {
        "offer_row": np.array([o.row for o in inst.offers], dtype=np.int64),
        "supplier": np.array([o.supplier for o in inst.offers], dtype=object),
        "country": np.array([names.country(o.country_key) for o in inst.offers], dtype=object),
        "processing_country": np.array([names.country(o.processing_country_key) for o in inst.offers],
                                       dtype=object),
        "mineral": np.array([names.mineral(o.mineral_key) for o in inst.offers], dtype=object),
    }


def allocation_table(f: _Facts) -> pd.DataFrame:
    """One row per bought (offer, period)."""
    inst = f.inst
    k = np.flatnonzero(f.buy > 0)
    offer = inst.op_offer[k]
    labels = _offer_labels(f)
    share = f.share((f.buy * f.weight)[k], f.bought_weighted[f.mt[k]])
    return pd.DataFrame({
        "offer_row": labels["offer_row"][offer],  # the offer's row in the input's Offers sheet
        "supplier": labels["supplier"][offer],
        "country": labels["country"][offer],
        "processing_country": labels["processing_country"][offer],
        "mineral": labels["mineral"][offer],
        "period": np.array(inst.periods, dtype=object)[inst.op_period[k]],
        "quantity": f.buy[k],
        "unit": np.array(inst.units, dtype=object)[inst.offer_mineral[offer]],
        "price_usd": inst.op_price_usd[k],
        "cost_usd": f.cost[k],
        "share_of_mineral": share,
        "china_exposure": f.buy[k] * inst.offer_exposure[offer],
    })


def _hhi(f: _Facts) -> np.ndarray:
    inst = f.inst
    n_c = len(inst.country_keys)
    key = f.mt * max(n_c, 1) + inst.offer_country[inst.op_offer]
    per_country = np.bincount(key, weights=f.buy * f.weight, minlength=f.n_m * f.n_t * max(n_c, 1)).astype(float)
    per_country = per_country.reshape(f.n_m * f.n_t, max(n_c, 1))
    shares = f.share(per_country, f.bought_weighted[:, None])
    return np.where(f.bought_weighted > ZERO_TOL, np.nansum(shares ** 2, axis=1), np.nan)


def minerals_table(f: _Facts, outcome: Outcome) -> pd.DataFrame:
    """Per mineral and period: demand, supply, reserve, cover, China share against its cap, HHI, marginal cost."""
    inst = f.inst
    m, t = np.divmod(np.arange(f.n_m * f.n_t), f.n_t)
    start = np.concatenate([inst.initial_reserve[:, None], f.reserve[:, :-1]], axis=1)
    demand = inst.demand.ravel()
    days = np.where(demand > 0, f.reserve.ravel() / np.where(demand > 0, demand, 1)
                    * inst.policy.days_per_period, np.nan)
    marginal = _row_duals(f.program, f.row_dual, "balance")
    cap = inst.china_cap[m]
    return pd.DataFrame({
        "mineral": [f.names.mineral(inst.mineral_keys[i]) for i in m],
        "period": [inst.periods[i] for i in t],
        "unit": [inst.units[i] for i in m],
        "demand": demand,
        "bought": f.bought.ravel(),
        "shortfall": f.shortfall.ravel(),
        "reserve_start": start.ravel(),
        "reserve_end": f.reserve.ravel(),
        "reserve_target": inst.reserve_target.ravel(),
        "reserve_below_target": f.reserve_gap.ravel(),
        "days_of_cover": days,
        "china_share": f.share(f.exposure_weighted, f.bought_weighted),
        "china_cap": np.where(cap < 1, cap, np.nan),
        "hhi": _hhi(f),
        "marginal_cost_usd": clean(marginal) if marginal is not None else np.nan,
        "spend_usd": np.bincount(f.mt, weights=f.cost, minlength=f.n_m * f.n_t).astype(float),
    })


COUNTRY_COLUMNS = ["mineral", "period", "country", "unit", "quantity", "share"]


def countries_table(f: _Facts) -> pd.DataFrame:
    """A long table: per mineral, period and origin country, the quantity bought and its share of the
    mineral's purchases (share basis). Countries sorted by name within each mineral and period."""
    inst = f.inst
    k = np.flatnonzero(f.buy > 0)
    if not len(k):
        return pd.DataFrame(columns=COUNTRY_COLUMNS)
    origin = inst.offer_country[inst.op_offer[k]]
    frame = pd.DataFrame({"mt": f.mt[k], "country": origin, "quantity": f.buy[k], "w": (f.buy * f.weight)[k]})
    grouped = frame.groupby(["mt", "country"], sort=True).sum().reset_index()
    labels = np.array([f.names.country(c) for c in inst.country_keys], dtype=object)
    grouped["name"] = labels[grouped["country"].to_numpy()]
    grouped["order"] = grouped["name"].str.casefold()
    grouped = grouped.sort_values(["mt", "order"], kind="stable")
    m, t = np.divmod(grouped["mt"].to_numpy(), f.n_t)
    totals = f.bought_weighted[grouped["mt"].to_numpy()]
    return pd.DataFrame({
        "mineral": [f.names.mineral(inst.mineral_keys[i]) for i in m.tolist()],
        "period": [inst.periods[i] for i in t.tolist()],
        "country": grouped["name"].to_numpy(),
        "unit": [inst.units[i] for i in m.tolist()],
        "quantity": grouped["quantity"].to_numpy(),
        "share": grouped["w"].to_numpy() / np.where(totals > 0, totals, 1.0),
    })


def offers_table(f: _Facts, outcome: Outcome) -> pd.DataFrame:
    """Every kept offer: bought per period and in total, use of capacity, reduced cost."""
    inst = f.inst
    n_o = len(inst.offers)
    total = np.bincount(inst.op_offer, weights=f.buy, minlength=n_o).astype(float)
    capacity = np.bincount(inst.op_offer, weights=inst.op_capacity, minlength=n_o).astype(float)
    reduced = None
    if f.col_dual is not None:
        x_block = f.program.columns["x"]
        dj = clean(f.col_dual[x_block.slice()])
        reduced = np.full(n_o, np.inf)
        np.minimum.at(reduced, inst.op_offer, dj)
        reduced = np.where(np.isfinite(reduced), np.maximum(reduced, 0.0), np.nan)
    labels = _offer_labels(f)
    per_period = np.zeros((n_o, f.n_t))
    np.add.at(per_period, (inst.op_offer, inst.op_period), f.buy)
    columns = {
        "offer": [o.offer_id(f.names) for o in inst.offers],
        "supplier": labels["supplier"],
        "country": labels["country"],
        "processing_country": labels["processing_country"],
        "mineral": labels["mineral"],
        "unit": np.array(inst.units, dtype=object)[inst.offer_mineral],
        "agreement": [o.agreement for o in inst.offers],
        "china_exposure_share": inst.offer_exposure,
    }
    columns.update({f"bought {period}": per_period[:, t] for t, period in enumerate(inst.periods)})
    columns.update({
        "bought_total": total,
        "capacity_total": capacity,
        "capacity_used": f.share(total, capacity),
        "reduced_cost_usd": reduced if reduced is not None else np.full(n_o, np.nan),
    })
    return pd.DataFrame(columns)


def agreements_table(f: _Facts, outcome: Outcome) -> pd.DataFrame:
    inst = f.inst
    chosen = np.flatnonzero(inst.offer_kind != OfferKind.SPOT)
    y_block = f.program.columns["y"]
    y_of_offer = dict(zip(y_block.keys["offer"].tolist(), f.signed_y.tolist()))
    total = np.bincount(inst.op_offer, weights=f.buy, minlength=len(inst.offers)).astype(float)
    rows = []
    for o in chosen:
        offer = inst.offers[o]
        signed = offer.agreement == OfferKind.SIGNED or bool(y_of_offer.get(int(o), 0))
        rows.append({
            "offer": offer.offer_id(f.names), "supplier": offer.supplier,
            "country": f.names.country(offer.country_key), "mineral": f.names.mineral(offer.mineral_key),
            "agreement": offer.agreement,
            "signed": "yes" if signed else "no",
            "decision": ("already in force" if offer.agreement == OfferKind.SIGNED
                         else "sign" if signed else "do not sign"),
            "fixed_cost_usd": offer.fixed_cost_usd,
            "unit": inst.units[inst.offer_mineral[o]],
            "min_volume_per_period": offer.min_volume,
            "bought_total": total[o],
        })
    return pd.DataFrame(rows, columns=["offer", "supplier", "country", "mineral", "agreement", "signed",
                                       "decision", "fixed_cost_usd", "unit", "min_volume_per_period",
                                       "bought_total"])


CONSTRAINT_COLUMNS = ["constraint", "mineral", "period", "country", "supplier", "limit", "value", "unit", "binding",
                      "shadow_price", "shadow_price_unit", "cost_of_tightening_usd"]


def _labels(keys: dict, name: str, labels: list[str], size: int) -> list[str]:
    if name not in keys:
        return [""] * size
    return [labels[i] for i in keys[name].tolist()]


def constraints_table(f: _Facts, outcome: Outcome) -> pd.DataFrame:
    """Each row of every family the registry gives a measure: limit, value reached, binding or not, shadow price.

    Shares: the value is the share reached; the shadow price is the row dual
    (USD per unit of exposure, or of ally purchases); the cost of tightening is
    d(objective)/d(cap) x 0.01 = dual x purchase total x 0.01 (one point of cap; for the
    average ESG rule one point of score, dual x units bought).
    Budgets: the cost of tightening is -dual, USD of objective per USD of budget.
    """
    inst, program = f.inst, f.program
    activity = program.row_activity(f.solution.x)
    mineral_names = [f.names.mineral(k) for k in inst.mineral_keys]
    country_names = [f.names.country(k) for k in inst.country_keys]
    supplier_names = [f.names.supplier(k) for k in inst.supplier_keys]
    frames = []
    for family in FAMILIES:
        block = program.rows.get(family.name)
        if family.measure is None or block is None or not block.size:
            continue
        keys, n = block.keys, block.size
        duals = _row_duals(program, f.row_dual, family.name)
        dual = clean(duals) if duals is not None else np.full(n, np.nan)
        rows = activity[block.slice()]
        limit = block.meta["limit"].astype(float)
        if family.measure == Measure.BUDGET:
            value = rows + block.meta["committed"]
            binding = value >= limit - 1e-6 * np.maximum(1.0, np.abs(limit))
            unit = "USD per USD of budget"
            limit_unit = "USD"
            tightening = -dual
        else:
            mt = keys["mineral"] * f.n_t + keys["period"]
            if family.measure == Measure.ESG_AVERAGE:
                total = f.bought.ravel()[mt]
                unit = "USD per score-unit (ESG points x units bought)"
                limit_unit = "ESG score (0-100)"
                step = 1.0  # one point of the 0-100 score
            else:
                total = f.bought_weighted[mt]
                unit = ("USD per unit of exposure" if family.sense == Sense.LE
                        else "USD per unit of ally purchases")
                limit_unit = "share of purchases (0-1)"
                step = 0.01  # one point of cap is 0.01 of a share
            bought = total > ZERO_TOL
            safe_total = np.where(bought, total, 1.0)
            value = np.where(bought, rows / safe_total + limit, np.nan)
            binding = bought & (np.abs(rows) <= 1e-6 * np.maximum(1.0, total))
            tightening = np.where(bought, dual * total * step, 0.0)
            if family.sense == Sense.LE:
                tightening = -tightening  # <= rows: a looser cap lowers the cost
        frames.append(pd.DataFrame({
            "constraint": family.title,
            "mineral": _labels(keys, "mineral", mineral_names, n),
            "period": [inst.periods[t] for t in keys["period"].tolist()] if "period" in keys else [""] * n,
            "country": _labels(keys, "country", country_names, n),
            "supplier": _labels(keys, "supplier", supplier_names, n),
            "limit": limit, "value": value, "unit": limit_unit, "binding": np.where(binding, "yes", "no"),
            "shadow_price": dual, "shadow_price_unit": unit, "cost_of_tightening_usd": clean(tightening),
        }))
    if not frames:
        return pd.DataFrame(columns=CONSTRAINT_COLUMNS)
    return pd.concat(frames, ignore_index=True)[CONSTRAINT_COLUMNS]


def excluded_table(outcome: Outcome) -> pd.DataFrame:
    names = outcome.data.names
    rows = [{"offer": e.offer.offer_id(names), "supplier": e.offer.supplier,
             "country": names.country(e.offer.country_key),
             "processing_country": names.country(e.offer.processing_country_key),
             "mineral": names.mineral(e.offer.mineral_key), "reason": e.reason}
            for e in outcome.instance.excluded]
    return pd.DataFrame(rows, columns=["offer", "supplier", "country", "processing_country", "mineral", "reason"])


def _empty_relaxations() -> pd.DataFrame:
    return pd.DataFrame(columns=["constraint", "mineral", "period", "country", "supplier", "amount", "unit",
                                 "meaning"])


def relaxation_table(outcome: Outcome) -> pd.DataFrame:
    """Each nonzero slack of the elastic re-solve: which constraint, where, and by how much to relax it."""
    program, solution, inst = outcome.relaxed_program, outcome.relaxed, outcome.instance
    if solution is None or solution.x is None or "slack" not in program.columns:
        return _empty_relaxations()
    f = _Facts(inst, program, solution)
    block = program.columns["slack"]
    slack = clean(solution.x[block.slice()], 1.0)
    rows = []
    for local in np.flatnonzero(slack > 1e-7):
        row_block, row_local = block_of(program.rows, int(block.keys["row"][local]))
        rows.append(describe_relaxation(f, row_block, row_local, float(slack[local])))
    return pd.DataFrame(rows, columns=list(_empty_relaxations().columns))


def describe_relaxation(f: _Facts, row_block, row_local: int, slack: float) -> dict:
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


# ---------------------------------------------------------------- summary and JSON


def _spend_by_period(f: _Facts) -> np.ndarray:
    """Constraint 10's left side per period, committed fixed costs included (USD)."""
    inst = f.inst
    spend = np.bincount(inst.op_period, weights=f.cost, minlength=f.n_t).astype(float)
    spend += (f.reserve * inst.holding_cost_usd[:, None]).sum(axis=0)
    y_block = f.program.columns["y"]
    chosen = y_block.keys["offer"][f.signed_y > 0] if y_block.size else np.zeros(0, dtype=int)
    signed = np.flatnonzero(inst.offer_kind == OfferKind.SIGNED)
    for o in np.concatenate([chosen, signed]).astype(int):
        spend[inst.offer_first_period[o]] += inst.offer_fixed_cost_usd[o]
    return spend


def reserve_days_at_end(f: _Facts) -> float | None:
    """Days of cover at the end of the horizon, for the mineral with the least (minerals with demand then)."""
    inst = f.inst
    last_demand = inst.demand[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        days = np.where(last_demand > 0, f.reserve[:, -1] / last_demand * inst.policy.days_per_period, np.nan)
    return float(np.nanmin(days)) if np.isfinite(days).any() else None


def _worst_mineral(f: _Facts) -> tuple[str, float] | None:
    """The mineral with the highest China share of its purchases over the horizon (share basis)."""
    per_mineral = f.share(f.exposure_weighted.reshape(f.n_m, f.n_t).sum(axis=1),
                          f.bought_weighted.reshape(f.n_m, f.n_t).sum(axis=1))
    if not np.isfinite(per_mineral).any():
        return None
    worst = int(np.nanargmax(per_mineral))
    return f.names.mineral(f.inst.mineral_keys[worst]), float(per_mineral[worst])


# Summary labels that scripts and tests read back (CLI.md: labelled in words, with the unit)
STATUS, RUN_DATE, SOLVE_TIME, INPUT_SHA = "Status", "Run date (UTC)", "Solve time (s)", "Input SHA-256"
VOLATILE_SUMMARY_ITEMS = (RUN_DATE, SOLVE_TIME)  # the only cells two runs may differ in (CLI.md)


def summary_items(outcome: Outcome, f: _Facts | None, relaxations: pd.DataFrame, findings, input_name: str,
                  run_date) -> list[tuple[str, object]]:
    """The Summary sheet: the headline, then what binds, then the rest (CLI.md)."""
    data, inst, solution, policy = outcome.data, outcome.instance, outcome.solution, outcome.instance.policy
    relaxed = not solution.has_plan and f is not None
    items: list[tuple[str, object]] = [
        (STATUS, str(solution.status)),
        ("Status detail", solution.message or ("optimal plan" if solution.status == Status.OPTIMAL else "")),
        ("Scenario", policy.scenario),
    ]
    if data.scenario_description:
        items.append(("Scenario description", data.scenario_description))
    if relaxed:
        items.append(("Plan shown", "the relaxed plan of the infeasibility report: the rules listed on the "
                                    "Relaxations sheet are broken by the amounts shown there"))
    if f is not None:
        figures = plan_figures(inst, f.program, f.solution.x)
        by_period = _spend_by_period(f)
        items.append(("Spend (USD)", figures.spend_usd))
        if policy.budget_total is not None:
            items += [("Horizon budget (USD)", policy.budget_total),
                      ("Budget used (share of horizon budget)",
                       figures.spend_usd / policy.budget_total if policy.budget_total > 0 else np.nan)]
        if policy.budget_per_period is not None:
            items += [("Budget per period (USD)", policy.budget_per_period),
                      ("Budget used, highest period (share)",
                       by_period.max() / policy.budget_per_period if policy.budget_per_period > 0 else np.nan)]
        items += [("Shortfall value (USD at reference prices)", figures.shortfall_value_usd),
                  ("Reserve below target (USD at reference prices, per period)", figures.reserve_gap_value_usd),
                  ("China share of purchases (by value)", figures.china_share_by_value
                   if figures.china_share_by_value is not None else "")]
        worst = _worst_mineral(f)
        if worst is not None:
            items += [("Highest China share: mineral", worst[0]),
                      (f"Highest China share: share ({policy.share_basis})", worst[1])]
        items += [(f"What binds {i}", finding.sentence) for i, finding in enumerate(findings, start=1)] or [
            ("What binds", "nothing: every mineral is supplied in full and no rule binds")]
        items += [("Objective with penalties (USD)", figures.objective_usd),
                  ("Penalty terms (USD, at the model's penalties)", figures.penalty_usd)]
        items += [(f"Spend in {fmt.period(p)} (USD)", by_period[t]) for t, p in enumerate(inst.periods)]
        days = reserve_days_at_end(f)
        if days is not None:
            items.append(("Reserve cover at the end, lowest mineral (days)", days))
        items.append(("Share basis of the caps", policy.share_basis))
    if outcome.relaxed is not None:
        items.append(("Relaxations needed", len(relaxations)))
    items += [
        ("Solver", solution.solver),
        ("MIP gap", solution.gap if solution.gap is not None else ""),
        ("Shadow prices", "from the LP with agreement decisions fixed at their optimum"
         if solution.duals_from_fixed_lp else ("from the LP" if solution.row_dual is not None else "not available")),
        (SOLVE_TIME, round(solution.seconds, 3)),
        ("Strict (demand met in full)", "yes" if outcome.strict else "no"),
        ("Input file", input_name),
        (INPUT_SHA, data.sha256),
        ("Offers kept", len(inst.offers)),
        ("Offers excluded", len(inst.excluded)),
        ("Purchase variables", inst.n_offer_periods),
        ("Tool version", f"procure {procure.__version__}"),
        (RUN_DATE, (run_date or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y-%m-%d %H:%M:%S")),
    ]
    return items


def _json_number(value):
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def json_summary(outcome: Outcome, f: _Facts | None, relaxations: pd.DataFrame) -> dict:
    """CLI.md's JSON: money in USD only; quantities per mineral in its unit."""
    inst, solution = outcome.instance, outcome.solution
    has_plan = solution.has_plan and f is not None
    figures = plan_figures(inst, f.program, f.solution.x) if has_plan else None
    result = {
        "status": str(solution.status),
        "objective": _json_number(figures.objective_usd) if figures else None,
        "spend": _json_number(figures.spend_usd) if figures else None,
        "shortfall_usd": _json_number(figures.shortfall_value_usd) if figures else None,
        "china_share": _json_number(figures.china_share_by_value) if figures else None,
        "minerals": {},
        "relaxations": [
            {"constraint": r["constraint"], "mineral": r["mineral"] or None,
             "period": r["period"] if r["period"] != "" else None,
             "country": r["country"] or None, "supplier": r["supplier"] or None, "amount": r["amount"],
             "unit": r["unit"]}
            for r in relaxations.to_dict("records")] if outcome.relaxed is not None else [],
        "scenario": inst.policy.scenario,
        "solver": solution.solver,
        "input_sha256": outcome.data.sha256,
        "gap": _json_number(solution.gap),
        "message": solution.message,
    }
    if has_plan:
        balance = _row_duals(f.program, f.row_dual, "balance")
        for m, key in enumerate(inst.mineral_keys):
            bought_w = f.bought_weighted.reshape(f.n_m, f.n_t)[m].sum()
            exposure = f.exposure_weighted.reshape(f.n_m, f.n_t)[m].sum()
            result["minerals"][inst.data.names.mineral(key)] = {
                "unit": inst.units[m],
                "bought": float(f.bought[m].sum()),
                "shortfall": float(f.shortfall[m].sum()),
                "shortfall_usd": float(f.shortfall[m].sum() * inst.reference_price_usd[m]),
                "china_share": exposure / bought_w if bought_w > ZERO_TOL else None,
                "reserve_end": float(f.reserve[m, -1]) if f.n_t else 0.0,
                "marginal_cost": {fmt.period(p): (_json_number(clean(balance[m * f.n_t + t:m * f.n_t + t + 1])[0])
                                                  if balance is not None else None)
                                  for t, p in enumerate(inst.periods)},
            }
        if inst.policy.budget_total is not None:
            result["budget_total_used"] = (_json_number(figures.spend_usd / inst.policy.budget_total)
                                           if inst.policy.budget_total > 0 else None)
    return result
