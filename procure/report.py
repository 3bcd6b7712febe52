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

from procure import fmt, stochastic_report
from procure.data import OfferKind
from procure.explain import what_binds
from procure.facts import SPEND_PARTS, ZERO_TOL, Facts, clean, row_duals, scenario_facts
from procure.families import BALANCE, FAMILIES, Measure, Sense
from procure.figures import PlanFigures, plan_figures
from procure.items import Item, Kind
from procure.outcome import Outcome
from procure.relaxation import relaxation_table, scenario_relaxations
from procure.solve import Status
from procure.version import tool_version

# The plan's sheets, in the workbook's order (CLI.md): a table the report makes must have its place here
# (the writer refuses one it has none for), and its columns a kind in COLUMN_KINDS
SHEET_ORDER = ("Summary", "Allocation", "Minerals", "Countries", "Offers", "Agreements", "Constraints",
               "Relaxations", "Excluded", "RuleCosts", "Scenarios", "Recourse", "Reserve")


@dataclass
class Report:
    """Every table of the plan workbook (machine columns, typed by :data:`COLUMN_KINDS`), the Summary
    items (typed, keyed), the JSON document and the "what binds" findings."""

    summary: list[Item]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    json: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)  # the "what binds" sentences, most costly first
    # small tables the Summary shows beside its items (the spend by period), by title
    summary_tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def item(self, key: str, default=None):
        """The value of the Summary item ``key`` (``default`` when the plan has none)."""
        return next((i.value for i in self.summary if i.key == key), default)

    def kinds(self, table: str) -> dict[str, Kind]:
        """Each column's kind in ``table`` (KeyError for a column the report does not declare)."""
        return {column: column_kind(str(column)) for column in self.tables[table].columns}


RULE_COST_COLUMNS = ["item", "what", "compared", "status", "spend_difference_usd",
                     "shortfall_value_difference_usd", "objective_difference"]


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
                "objective_difference": c.objective,
            })
    return pd.DataFrame(rows, columns=RULE_COST_COLUMNS)


def _comparison_json(c, status_keys: tuple[str, str]) -> dict:
    return {"name": c.name, "description": c.description, status_keys[0]: str(c.first_status),
            status_keys[1]: str(c.second_status), "spend": _json_number(c.spend_usd),
            "shortfall_usd": _json_number(c.shortfall_usd), "objective": _json_number(c.objective)}


def build_report(outcome: Outcome, *, input_name: str, run_date: _dt.datetime | None = None,
                 rule_costs=None, agreement_values=None, budget_effects=()) -> Report:
    """All tables of the plan for ``outcome``, whatever its kind.

    A plan of one scenario has the deterministic tables. A plan of two or more
    scenarios has the same tables with a ``scenario`` column: each scenario's
    rows, and for Minerals, Countries and Constraints the ``expected`` rows
    first (:func:`expected_rows`); its Allocation is one row per decision node;
    and the Scenarios, Recourse and Reserve sheets. An infeasible model's tables
    come from its elastic re-solve (the relaxed plan), marked as such in the
    Summary, beside the Relaxations sheet.
    """
    report = Report(summary=[])
    tables = report.tables
    relaxed = not outcome.solution.has_plan
    facts = scenario_facts(outcome, relaxed=relaxed and outcome.relaxed is not None and outcome.relaxed.has_plan)
    pi = outcome.fan.probabilities
    names = outcome.fan.names
    findings = []
    if facts:
        if not outcome.stochastic:
            f = facts[0]
            tables["Allocation"] = allocation_table(f)
            tables["Minerals"] = minerals_table(f)
            tables["Countries"] = countries_table(f)
            tables["Offers"] = offers_table(f)
            tables["Agreements"] = agreements_table(f)
            tables["Constraints"] = constraints_table(f)
            expected_constraints = tables["Constraints"]
        else:
            tables["Allocation"] = stochastic_report.allocation_table(outcome, relaxed=relaxed)
            tables["Minerals"] = _stacked([minerals_table(f) for f in facts], names, pi, MINERAL_KEYS)
            tables["Countries"] = _stacked([countries_table(f) for f in facts], names, pi, COUNTRY_KEYS,
                                           missing_is_zero=("share",))
            tables["Offers"] = _stacked([offers_table(f) for f in facts], names, pi, None)
            tables["Agreements"] = _expected_agreements(facts, pi)
            tables["Constraints"] = _stacked([constraints_table(f) for f in facts], names, pi, CONSTRAINT_KEYS)
            expected_constraints = tables["Constraints"][tables["Constraints"]["scenario"] == EXPECTED]
        shortfall = sum(p * f.shortfall for p, f in zip(pi, facts))
        bought = sum(p * f.bought for p, f in zip(pi, facts))
        demand = sum(p * f.inst.demand for p, f in zip(pi, facts))
        findings = what_binds(outcome.instance, shortfall, bought, expected_constraints, budget_effects, demand)
        if outcome.stochastic and not relaxed:
            tables["Scenarios"] = stochastic_report.scenarios_table(outcome, facts)
            tables["Recourse"] = stochastic_report.recourse_table(outcome, facts)
            tables["Reserve"] = stochastic_report.reserve_table(outcome, facts)
    if outcome.relaxed is not None:
        tables["Relaxations"] = scenario_relaxations(outcome) if outcome.stochastic else relaxation_table(outcome)
    tables["Excluded"] = excluded_table(outcome)
    figures = [plan_figures(f.inst, f.program, f.x) for f in facts]
    report.findings = findings
    report.summary = summary_items(outcome, facts, figures, tables, findings, input_name, run_date)
    if facts:
        report.summary_tables["Spend by period (USD)"] = spend_table(outcome, facts)
    report.json = json_summary(outcome, facts, figures, tables)
    if rule_costs is not None or agreement_values is not None:
        tables["RuleCosts"] = rule_costs_table(rule_costs, agreement_values)
        report.json["rule_costs"] = [_comparison_json(c, ("status_with", "status_without"))
                                     for c in rule_costs or []]
        report.json["agreement_values"] = [_comparison_json(c, ("status_unsigned", "status_signed"))
                                           for c in agreement_values or []]
    return report


EXPECTED = "expected"  # the scenario column's value on the probability-weighted rows
MINERAL_KEYS = ["mineral", "period", "unit"]
COUNTRY_KEYS = ["mineral", "period", "country", "unit"]
CONSTRAINT_KEYS = ["constraint", "mineral", "period", "country", "supplier", "unit", "shadow_price_unit"]
_SUMMED = (Kind.MONEY, Kind.QUANTITY, Kind.OBJECTIVE)


def expected_rows(frames: list[pd.DataFrame], pi: np.ndarray, keys: list[str],
                  missing_is_zero: tuple[str, ...] = ()) -> pd.DataFrame:
    """The probability-weighted rows of per-scenario tables, one per key.

    Quantities and money are expectations, ``sum_s pi[s] v[s]``, a scenario
    without the row counting 0. Prices, shares, days and limits are
    probability-weighted means over the scenarios that have a value,
    ``sum pi v / sum pi`` (a share with no purchases has none), except the
    columns named in ``missing_is_zero``, which are expectations. A yes/no
    column becomes True where it holds in any scenario.
    """
    stacked = pd.concat([frame.assign(_pi=p) for frame, p in zip(frames, pi)], ignore_index=True)
    if stacked.empty:
        return frames[0].iloc[0:0].copy()
    kinds = {c: column_kind(str(c)) for c in frames[0].columns}
    # one group number per key, in the order keys first appear (the first scenario's row order)
    codes = stacked.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    groups, first = np.unique(codes, return_index=True)
    size = len(groups)
    weight = stacked["_pi"].to_numpy(float)
    out = stacked.iloc[first][keys].reset_index(drop=True)
    for column, kind in kinds.items():
        if column in keys:
            continue
        values = stacked[column]
        if kind == Kind.FLAG:
            out[column] = np.bincount(codes, weights=values.astype(bool).to_numpy(float), minlength=size) > 0
        elif kind in (Kind.TEXT, Kind.PERIOD):
            out[column] = values.to_numpy(object)[first]
        else:
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(float)
            present = ~np.isnan(numbers)
            total = np.bincount(codes, weights=np.where(present, numbers, 0.0) * weight, minlength=size)
            if kind in _SUMMED or column in missing_is_zero:
                out[column] = total
            else:
                mass = np.bincount(codes, weights=np.where(present, weight, 0.0), minlength=size)
                out[column] = np.where(mass > 0, total / np.where(mass > 0, mass, 1.0), np.nan)
    return out[list(frames[0].columns)]


def _stacked(frames: list[pd.DataFrame], names: list[str], pi: np.ndarray, keys: list[str] | None,
             missing_is_zero: tuple[str, ...] = ()) -> pd.DataFrame:
    """One table of every scenario's rows with a ``scenario`` column, the expected rows first (when
    ``keys`` say how rows match across scenarios)."""
    parts = [frame.assign(scenario=name) for frame, name in zip(frames, names)]
    if keys is not None:
        parts.insert(0, expected_rows(frames, pi, keys, missing_is_zero).assign(scenario=EXPECTED))
    table = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    return table[["scenario"] + [c for c in table.columns if c != "scenario"]]


def _expected_agreements(facts: list[Facts], pi: np.ndarray) -> pd.DataFrame:
    """The agreements (decided once for every scenario), with the expected quantity bought under each."""
    table = agreements_table(facts[0])
    if len(table):
        table["bought_total"] = sum(p * agreements_table(f)["bought_total"].to_numpy(float)
                                    for p, f in zip(pi, facts))
    return table


# ---------------------------------------------------------------- tables


def _offer_labels(f: Facts) -> dict[str, np.ndarray]:
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


def allocation_table(f: Facts) -> pd.DataFrame:
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


def _hhi(f: Facts) -> np.ndarray:
    inst = f.inst
    n_c = len(inst.country_keys)
    key = f.mt * max(n_c, 1) + inst.offer_country[inst.op_offer]
    per_country = np.bincount(key, weights=f.buy * f.weight, minlength=f.n_m * f.n_t * max(n_c, 1)).astype(float)
    per_country = per_country.reshape(f.n_m * f.n_t, max(n_c, 1))
    shares = f.share(per_country, f.bought_weighted[:, None])
    return np.where(f.bought_weighted > ZERO_TOL, np.nansum(shares ** 2, axis=1), np.nan)


def minerals_table(f: Facts) -> pd.DataFrame:
    """Per mineral and period: demand, supply, reserve, cover, China share against its cap, HHI, marginal cost."""
    inst = f.inst
    m, t = np.divmod(np.arange(f.n_m * f.n_t), f.n_t)
    start = np.concatenate([inst.initial_reserve[:, None], f.reserve[:, :-1]], axis=1)
    demand = inst.demand.ravel()
    days = np.where(demand > 0, f.reserve.ravel() / np.where(demand > 0, demand, 1)
                    * inst.policy.days_per_period, np.nan)
    marginal = row_duals(f.program, f.row_dual, BALANCE.name)
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
        "marginal_cost": clean(marginal) if marginal is not None else np.nan,
        "spend_usd": np.bincount(f.mt, weights=f.cost, minlength=f.n_m * f.n_t).astype(float),
    })


COUNTRY_COLUMNS = ["mineral", "period", "country", "unit", "quantity", "share"]


def countries_table(f: Facts) -> pd.DataFrame:
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


def offers_table(f: Facts) -> pd.DataFrame:
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
        "reduced_cost": reduced if reduced is not None else np.full(n_o, np.nan),
    })
    return pd.DataFrame(columns)


def agreements_table(f: Facts) -> pd.DataFrame:
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
                      "shadow_price", "shadow_price_unit", "cost_of_tightening"]


def _labels(keys: dict, name: str, labels: list[str], size: int) -> list[str]:
    if name not in keys:
        return [""] * size
    return [labels[i] for i in keys[name].tolist()]


def constraints_table(f: Facts) -> pd.DataFrame:
    """Each row of every family the registry gives a measure: limit, value reached, binding or not, shadow price.

    Shares: the value is the share reached; the shadow price is the row dual
    (USD per unit of exposure, or of ally purchases); the cost of tightening is
    d(objective)/d(cap) x 0.01 = dual x purchase total x 0.01 (one point of cap; for the
    average ESG rule one point of score, dual x units bought).
    Budgets: the cost of tightening is -dual, USD of objective per USD of budget.
    """
    inst, program = f.inst, f.program
    activity = program.row_activity(f.x)
    mineral_names = [f.names.mineral(k) for k in inst.mineral_keys]
    country_names = [f.names.country(k) for k in inst.country_keys]
    supplier_names = [f.names.supplier(k) for k in inst.supplier_keys]
    frames = []
    for family in FAMILIES:
        block = program.rows.get(family.name)
        if family.measure is None or block is None or not block.size:
            continue
        keys, n = block.keys, block.size
        duals = row_duals(program, f.row_dual, family.name)
        dual = clean(duals) if duals is not None else np.full(n, np.nan)
        rows = activity[block.slice()]
        limit = block.meta["limit"].astype(float)
        if family.measure == Measure.BUDGET:
            value = rows + block.meta["committed"]
            binding = value >= limit - 1e-6 * np.maximum(1.0, np.abs(limit))
            unit = "objective per USD of budget"
            limit_unit = "USD"
            tightening = -dual
        else:
            mt = keys["mineral"] * f.n_t + keys["period"]
            if family.measure == Measure.ESG_AVERAGE:
                total = f.bought.ravel()[mt]
                unit = "objective per score-unit (ESG points x units bought)"
                limit_unit = "ESG score (0-100)"
                step = 1.0  # one point of the 0-100 score
            else:
                total = f.bought_weighted[mt]
                unit = ("objective per unit of exposure" if family.sense == Sense.LE
                        else "objective per unit of ally purchases")
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
            "limit": limit, "value": value, "unit": limit_unit, "binding": binding,
            "shadow_price": dual, "shadow_price_unit": unit, "cost_of_tightening": clean(tightening),
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


# ---------------------------------------------------------------- summary and JSON


def reserve_days_at_end(f: Facts) -> float | None:
    """Days of cover at the end of the horizon, for the mineral with the least (minerals with demand then)."""
    inst = f.inst
    last_demand = inst.demand[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        days = np.where(last_demand > 0, f.reserve[:, -1] / last_demand * inst.policy.days_per_period, np.nan)
    return float(np.nanmin(days)) if np.isfinite(days).any() else None


def _worst_mineral(f: Facts) -> tuple[str, float] | None:
    """The mineral with the highest China share of its purchases over the horizon (share basis)."""
    per_mineral = f.share(f.exposure_weighted.reshape(f.n_m, f.n_t).sum(axis=1),
                          f.bought_weighted.reshape(f.n_m, f.n_t).sum(axis=1))
    if not np.isfinite(per_mineral).any():
        return None
    worst = int(np.nanargmax(per_mineral))
    return f.names.mineral(f.inst.mineral_keys[worst]), float(per_mineral[worst])


VOLATILE_SUMMARY_ITEMS = ("run_date", "solve_time")  # the only items two runs may differ in (CLI.md)


def _expected(pi: np.ndarray, values: list) -> float:
    return float(sum(p * v for p, v in zip(pi, values)))


def summary_items(outcome: Outcome, facts: list[Facts], figures: list[PlanFigures], tables: dict,
                  findings, input_name: str, run_date) -> list[Item]:
    """The Summary sheet (CLI.md): the headline (status, spend against the budget, spend committed now,
    shortfall value, China share by value), what binds, then the rest. Figures of a plan of several
    scenarios are expectations over them (the scenarios' own on the Scenarios sheet); the spend by period,
    split into acquisitions, fees and holding, is :func:`spend_table`, written beside these items."""
    data, inst, solution, policy = outcome.data, outcome.instance, outcome.solution, outcome.data.policy
    pi = outcome.fan.probabilities
    relaxed = not solution.has_plan and bool(facts)
    several = outcome.stochastic
    expected = ", expected" if several else ""
    items: list[Item] = [
        Item("status", "Status", str(solution.status)),
        Item("status_detail", "Status detail",
             solution.message or ("optimal plan" if solution.status == Status.OPTIMAL else "")),
        Item("scenario", "Scenario", policy.scenario),
    ]
    if data.scenario_description:
        items.append(Item("scenario_description", "Scenario description", data.scenario_description))
    if relaxed:
        items.append(Item("plan_shown", "Plan shown", "the relaxed plan of the infeasibility report: the rules "
                                                      "listed on the Relaxations sheet are broken by the amounts "
                                                      "shown there"))
    if facts:
        spend = _expected(pi, [fig.spend_usd for fig in figures])
        items.append(Item("spend", f"Spend{expected} (USD)", spend, Kind.MONEY))
        if policy.budget_total is not None:
            items += [Item("budget_total", "Horizon budget (USD)", policy.budget_total, Kind.MONEY),
                      Item("budget_total_used", f"Budget used{expected} (share of horizon budget)",
                           spend / policy.budget_total if policy.budget_total > 0 else np.nan, Kind.SHARE)]
        if several:
            items.append(Item("spend_worst", "Spend, highest scenario (USD)",
                              max(fig.spend_usd for fig in figures), Kind.MONEY))
            classes = outcome.form.classes
            if classes is not None and inst.periods and bool((classes[:, 0] == classes[0, 0]).all()):
                items.append(Item("spend_first_period", f"Spend committed now: {fmt.period(inst.periods[0])}, the "
                                  "same in every scenario (USD)", float(facts[0].spend_by_period[:, 0].sum()),
                                  Kind.MONEY))
        limited = np.isfinite(inst.budget_by_period)  # Bt[t]: the Budget sheet's, else budget_per_period
        if limited.any():
            limits = inst.budget_by_period[limited]
            spent = np.array([f.spend_by_period.sum(axis=0)[limited] for f in facts])
            used = np.divide(spent, limits, out=np.full(spent.shape, np.nan), where=limits > 0)
            if policy.budget_per_period is not None:
                items.append(Item("budget_per_period", "Budget per period (USD)", policy.budget_per_period,
                                  Kind.MONEY))
            items.append(Item("budget_period_used", "Budget used, highest period" + (" and scenario" if several
                                                                                  else "")
                              + " (share of the period's budget)",
                              float(np.nanmax(used)) if np.isfinite(used).any() else np.nan, Kind.SHARE))
        items.append(Item("shortfall_usd", f"Shortfall value{expected} (USD at reference prices)",
                          _expected(pi, [fig.shortfall_value_usd for fig in figures]), Kind.MONEY))
        if several:
            items.append(Item("shortfall_worst_usd", "Shortfall value, worst scenario (USD at reference prices)",
                              max(fig.shortfall_value_usd for fig in figures), Kind.MONEY))
        china = _china_share(facts, pi)
        items.append(Item("china_share", f"China share of purchases{expected} (by value)",
                          china if china is not None else "", Kind.SHARE))
        worst = _worst_mineral(facts[0]) if not several else None
        if worst is not None:
            items += [Item("highest_china_share_mineral", "Highest China share: mineral", worst[0]),
                      Item("highest_china_share", f"Highest China share: share ({policy.share_basis})", worst[1],
                           Kind.SHARE)]
        items += [Item(f"what_binds_{i}", f"What binds {i}", finding.sentence)
                  for i, finding in enumerate(findings, start=1)] or [
            Item("what_binds", "What binds", "nothing: every mineral is supplied in full and no rule binds")]
    if several:
        items += stochastic_report.summary_items(outcome)
    if facts:
        items += [Item("reserve_gap_usd", f"Reserve below target{expected} (USD at reference prices)",
                       _expected(pi, [fig.reserve_gap_value_usd for fig in figures]), Kind.MONEY),
                  Item("objective", "Objective (spend plus penalty terms)" + (", expected" if several else ""),
                       _expected(pi, [fig.objective for fig in figures]), Kind.OBJECTIVE),
                  Item("penalty", "Penalty terms (objective terms, not spend)" + (", expected" if several else ""),
                       _expected(pi, [fig.penalty for fig in figures]), Kind.OBJECTIVE)]
        days = reserve_days_at_end(facts[0]) if not several else None
        if days is not None:
            items.append(Item("reserve_days_min", "Reserve cover at the end, lowest mineral (days)", days,
                              Kind.DAYS))
        items.append(Item("share_basis", "Share basis of the caps", policy.share_basis))
    if outcome.relaxed is not None:
        items.append(Item("relaxations", "Relaxations needed", len(tables.get("Relaxations", [])), Kind.COUNT))
    items += [
        Item("solver", "Solver", solution.solver),
        Item("gap", "MIP gap", solution.gap if solution.gap is not None else "", Kind.SHARE),
        Item("shadow_prices", "Shadow prices", "from the LP with agreement decisions fixed at their optimum"
             if solution.duals_from_fixed_lp else ("from the LP" if solution.row_dual is not None
                                                   else "not available")),
        Item("solve_time", "Solve time (s)", round(solution.seconds, 3), Kind.SECONDS),
        Item("strict", "Strict (demand met in full)", "yes" if outcome.strict else "no"),
        Item("input_file", "Input file", input_name),
        Item("input_sha256", "Input SHA-256", data.sha256),
        Item("offers_kept", "Offers kept", len(inst.offers), Kind.COUNT),
        Item("offers_excluded", "Offers excluded", len(inst.excluded), Kind.COUNT),
        Item("purchase_variables", "Purchase variables", inst.n_offer_periods, Kind.COUNT),
        Item("tool_version", "Tool version", tool_version()),
        Item("run_date", "Run date (UTC)",
             (run_date or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y-%m-%d %H:%M:%S")),
    ]
    return items


def spend_table(outcome: Outcome, facts: list[Facts]) -> pd.DataFrame:
    """Spend per period (expected over scenarios), split into acquisitions, agreement fees and holding,
    USD, with the total over the horizon last (FORMULATION.md, results)."""
    pi = outcome.fan.probabilities
    split = sum(p * f.spend_by_period for p, f in zip(pi, facts))  # parts x periods
    periods = [fmt.period(p) for p in outcome.instance.periods] + ["total"]
    table = pd.DataFrame({"period": periods})
    for part, values in zip(SPEND_PARTS, split):
        table[f"{part}_usd"] = np.append(values, values.sum())
    table["spend_usd"] = np.append(split.sum(axis=0), split.sum())
    return table


def _china_share(facts: list[Facts], pi: np.ndarray) -> float | None:
    """China share of purchases by value: expected China-exposed purchase value over expected purchase value."""
    value = sum(p * float(f.cost.sum()) for p, f in zip(pi, facts))
    china = sum(p * float((f.cost * f.inst.offer_exposure[f.inst.op_offer]).sum()) for p, f in zip(pi, facts))
    return china / value if value > 0 else None


def _json_number(value):
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def json_summary(outcome: Outcome, facts: list[Facts], figures: list[PlanFigures], tables: dict) -> dict:
    """CLI.md's JSON: money in USD only; quantities per mineral in its unit. A plan of several scenarios
    gives expectations over them, and the ``stochastic`` object (STOCKPILE.md)."""
    inst, solution = outcome.instance, outcome.solution
    pi = outcome.fan.probabilities
    has_plan = solution.has_plan and bool(facts)
    relaxations = tables.get("Relaxations")
    result = {
        "status": str(solution.status),
        "objective": _json_number(solution.objective) if has_plan else None,
        "spend": _json_number(_expected(pi, [f.spend_usd for f in figures])) if has_plan else None,
        "shortfall_usd": _json_number(_expected(pi, [f.shortfall_value_usd for f in figures])) if has_plan else None,
        "china_share": _json_number(_china_share(facts, pi)) if has_plan else None,
        "minerals": {},
        "relaxations": [
            {"constraint": r["constraint"], "mineral": r["mineral"] or None,
             "period": r["period"] if r["period"] != "" else None,
             "country": r["country"] or None, "supplier": r["supplier"] or None, "amount": r["amount"],
             "unit": r["unit"], **({"scenario": r["scenario"]} if "scenario" in r else {})}
            for r in relaxations.to_dict("records")] if relaxations is not None else [],
        "scenario": outcome.data.policy.scenario,
        "solver": solution.solver,
        "input_sha256": outcome.data.sha256,
        "gap": _json_number(solution.gap),
        "message": solution.message,
    }
    if has_plan:
        n_t = len(inst.periods)
        duals = [row_duals(f.program, f.row_dual, BALANCE.name) for f in facts]
        marginals = (sum(p * clean(d) for p, d in zip(pi, duals)) if all(d is not None for d in duals)
                     else None)  # expected marginal cost per (mineral, period), objective per unit
        for m, key in enumerate(inst.mineral_keys):
            bought_w = sum(p * f.bought_weighted.reshape(f.n_m, f.n_t)[m].sum() for p, f in zip(pi, facts))
            exposure = sum(p * f.exposure_weighted.reshape(f.n_m, f.n_t)[m].sum() for p, f in zip(pi, facts))
            marginal = {fmt.period(period): _json_number(marginals[m * n_t + t]) if marginals is not None else None
                        for t, period in enumerate(inst.periods)}
            result["minerals"][inst.data.names.mineral(key)] = {
                "unit": inst.units[m],
                "bought": float(sum(p * f.bought[m].sum() for p, f in zip(pi, facts))),
                "shortfall": float(sum(p * f.shortfall[m].sum() for p, f in zip(pi, facts))),
                "shortfall_usd": float(sum(p * f.shortfall[m].sum() for p, f in zip(pi, facts))
                                       * inst.reference_price_usd[m]),
                "china_share": exposure / bought_w if bought_w > ZERO_TOL else None,
                "reserve_end": float(sum(p * f.reserve[m, -1] for p, f in zip(pi, facts))) if n_t else 0.0,
                "marginal_cost": marginal,
            }
        split = sum(p * f.spend_by_period for p, f in zip(pi, facts))
        result["spend_split"] = {part: float(v) for part, v in zip(SPEND_PARTS, split.sum(axis=1))}
        result["spend_by_period"] = {fmt.period(period): {**{part: float(split[k, t]) for k, part in
                                                             enumerate(SPEND_PARTS)}, "total": float(split[:, t].sum())}
                                     for t, period in enumerate(inst.periods)}
        budget = outcome.data.policy.budget_total
        result["budget_total_used"] = None
        if budget is not None:
            result["budget_total_used"] = _json_number(result["spend"] / budget) if budget > 0 else None
    if outcome.stochastic:
        result["stochastic"] = stochastic_report.json_stochastic(outcome, facts if has_plan else [])
    return result


# Each table column's kind (how the writer formats it, how expected rows combine it): by name, since
# the same column means the same thing in every table. A column not declared here is refused.
COLUMN_KINDS: dict[str, Kind] = {
    **dict.fromkeys(["scenario", "supplier", "country", "processing_country", "mineral", "unit", "offer",
                     "agreement", "decision", "constraint", "shadow_price_unit", "reason", "meaning", "item",
                     "what", "compared", "status", "description", "decided_with", "signed"], Kind.TEXT),
    **dict.fromkeys(["period", "offer_row", "first_shock_period"], Kind.PERIOD),
    **dict.fromkeys(["binding"], Kind.FLAG),
    **dict.fromkeys(["quantity", "demand", "bought", "shortfall", "reserve_start", "reserve_end", "reserve_target",
                     "reserve_below_target", "china_exposure", "bought_total", "capacity_total",
                     "min_volume_per_period", "reserve_released", "shortfall_expected", "shortfall_worst",
                     "reserve_bought_expected", "reserve_before_shock", "amount", "reserve_added"], Kind.QUANTITY),
    **dict.fromkeys(["cost_usd", "spend_usd", "fixed_cost_usd", "shortfall_value_usd", "reserve_gap_value_usd",
                     "reserve_released_usd", "shortfall_expected_usd", "shortfall_worst_usd",
                     "spend_difference_usd", "shortfall_value_difference_usd", "acquisitions_usd", "fees_usd",
                     "holding_usd"], Kind.MONEY),
    **dict.fromkeys(["objective", "objective_difference", "alone_optimum", "cost_of_tightening"], Kind.OBJECTIVE),
    **dict.fromkeys(["price_usd", "price_usd_mean", "marginal_cost", "reduced_cost", "shadow_price",
                     "balance_dual"], Kind.RATE),
    **dict.fromkeys(["share", "share_of_mineral", "china_share", "china_cap", "hhi", "capacity_used",
                     "china_exposure_share", "probability", "china_share_by_value"], Kind.SHARE),
    **dict.fromkeys(["days_of_cover", "days_of_cover_before_shock"], Kind.DAYS),
    **dict.fromkeys(["limit", "value"], Kind.NUMBER),
}


# Each column's header in words with its unit (CLI.md): what a reader sees; the key stays in the table and
# in the JSON, and the plan keeps a hidden Columns sheet mapping each header back to its key.
HEADERS: dict[str, str] = {
    "scenario": "Scenario", "supplier": "Supplier", "country": "Origin country",
    "processing_country": "Processing country", "mineral": "Mineral", "unit": "Unit", "offer": "Offer",
    "agreement": "Agreement", "decision": "Decision", "constraint": "Constraint",
    "shadow_price_unit": "Shadow price unit", "reason": "Reason", "meaning": "Meaning", "item": "Item",
    "what": "What", "compared": "Compared", "status": "Status", "description": "Description",
    "decided_with": "Decided with (scenarios sharing the decision)", "signed": "Signed",
    "period": "Period", "offer_row": "Offers row", "first_shock_period": "First shock period",
    "binding": "Binding", "quantity": "Quantity", "demand": "Demand", "bought": "Bought",
    "shortfall": "Shortfall", "reserve_start": "Reserve at start", "reserve_end": "Reserve at end",
    "reserve_target": "Reserve target", "reserve_below_target": "Reserve below target",
    "china_exposure": "China exposure (units)", "bought_total": "Bought, all periods",
    "capacity_total": "Capacity, all periods", "min_volume_per_period": "Minimum volume per period",
    "reserve_released": "Reserve released", "shortfall_expected": "Shortfall, expected",
    "shortfall_worst": "Shortfall, worst scenario", "reserve_bought_expected": "Reserve bought, expected",
    "reserve_before_shock": "Reserve before shock", "amount": "Amount", "reserve_added": "Reserve added",
    "cost_usd": "Cost (USD)", "spend_usd": "Spend (USD)", "fixed_cost_usd": "Fixed cost (USD)",
    "shortfall_value_usd": "Shortfall value (USD at reference price)",
    "reserve_gap_value_usd": "Reserve gap value (USD at reference price)",
    "reserve_released_usd": "Reserve released (USD at reference price)",
    "shortfall_expected_usd": "Shortfall, expected (USD at reference price)",
    "shortfall_worst_usd": "Shortfall, worst scenario (USD at reference price)",
    "spend_difference_usd": "Spend difference (USD)",
    "shortfall_value_difference_usd": "Shortfall value difference (USD at reference price)",
    "acquisitions_usd": "Acquisitions (USD)", "fees_usd": "Agreement fees (USD)", "holding_usd": "Holding (USD)",
    "objective": "Objective (spend plus penalties)", "objective_difference": "Objective difference",
    "alone_optimum": "Optimum alone (objective)", "cost_of_tightening": "Cost of tightening (objective)",
    "price_usd": "Price (USD per unit)", "price_usd_mean": "Price, node mean (USD per unit)",
    "marginal_cost": "Marginal cost (objective per unit)", "reduced_cost": "Reduced cost (objective per unit)",
    "shadow_price": "Shadow price", "balance_dual": "Marginal value (objective per unit)", "share": "Share",
    "share_of_mineral": "Share of the mineral's purchases", "china_share": "China share",
    "china_cap": "China cap", "hhi": "Concentration (HHI)", "capacity_used": "Capacity used",
    "china_exposure_share": "China exposure share", "probability": "Probability",
    "china_share_by_value": "China share (by value)", "days_of_cover": "Cover (days)",
    "days_of_cover_before_shock": "Cover before shock (days)", "limit": "Limit", "value": "Value reached",
}


def column_header(column: str) -> str:
    """A column's header in words (``bought 2027`` of the Offers table reads ``Bought 2027``)."""
    if column.startswith("bought "):
        return "Bought " + column.removeprefix("bought ")
    return HEADERS[column]


def column_kind(column: str) -> Kind:
    """The kind of a table column (``bought 2027`` of the Offers table is a quantity)."""
    if column.startswith("bought "):
        return Kind.QUANTITY
    return COLUMN_KINDS[column]
