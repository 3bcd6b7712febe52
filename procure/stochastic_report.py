"""A stochastic plan's results (STOCKPILE.md, "Measures every stochastic plan reports").

Tables as pandas DataFrames for the plan workbook (``Scenarios``, ``Recourse``,
``Reserve``, and ``Relaxations`` when the model is infeasible), Summary items,
and the JSON ``stochastic`` object. Each scenario's numbers come from its own
program at its share of the plan (``x[col_map[s]]``), so they are exactly the
deterministic definitions applied per scenario. Quantities stay per mineral in
its unit; wherever minerals are added up the total is in USD at the mineral's
``reference_price`` (from the base data, the same for every scenario).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from procure.facts import clean
from procure.families import BALANCE
from procure.items import Item, Kind
from procure.outcome import Outcome

SCENARIO_COLUMNS = ["scenario", "probability", "description", "objective", "spend_usd", "shortfall_value_usd",
                    "reserve_gap_value_usd", "china_share_by_value", "reserve_released_usd", "alone_optimum"]
RECOURSE_COLUMNS = ["scenario", "mineral", "unit", "period", "decided_with", "bought", "shortfall", "reserve_end",
                    "reserve_released", "reserve_below_target", "balance_dual_usd"]
RESERVE_COLUMNS = ["mineral", "unit", "shortfall_expected", "shortfall_worst", "shortfall_expected_usd",
                   "shortfall_worst_usd", "reserve_bought_expected", "first_shock_period", "reserve_before_shock",
                   "days_of_cover_before_shock"]


class _Scenario:
    """One scenario's share of the plan, per mineral (rows) and period (columns), in the mineral's unit."""

    def __init__(self, outcome: Outcome, s: int):
        inst = outcome.fan.instances[s]
        lp = outcome.form.scenario_programs[s]
        x = outcome.scenario_solution(s)
        n_m, n_t = len(inst.mineral_keys), len(inst.periods)
        self.cost_usd = lp.objective_value(x)
        self.penalty = lp.penalty_value(x)
        block = lambda name: clean(x[lp.columns[name].slice()])  # noqa: E731
        self.buy = block("x")
        mt = inst.offer_mineral[inst.op_offer] * n_t + inst.op_period
        self.bought = np.bincount(mt, weights=self.buy, minlength=n_m * n_t).reshape(n_m, n_t)
        self.shortfall = block("shortfall").reshape(n_m, n_t)
        self.reserve = block("reserve").reshape(n_m, n_t)
        self.reserve_gap = block("reserve_gap").reshape(n_m, n_t)
        previous = np.column_stack([inst.initial_reserve, self.reserve[:, :-1]])
        self.released = np.maximum(previous - self.reserve, 0.0)
        self.added = np.maximum(self.reserve - previous, 0.0)
        value = self.buy * inst.op_price_usd
        self.purchase_usd = float(value.sum())
        self.china_usd = float((value * inst.offer_exposure[inst.op_offer]).sum())
        self.reserve_gap_usd = float((self.reserve_gap.sum(axis=1) * inst.reserve_penalty_usd).sum())



def scenario_parts(outcome: Outcome) -> list[_Scenario]:
    return [_Scenario(outcome, s) for s in range(len(outcome.fan.scenarios))]


def _decided_with(outcome: Outcome) -> np.ndarray:
    """Per (scenario, period): who shares that period's decisions ("all", or the scenarios' names)."""
    classes = outcome.form.classes
    names = outcome.fan.names
    labels = np.empty(classes.shape, dtype=object)
    for t in range(classes.shape[1]):
        for s in range(classes.shape[0]):
            peers = np.flatnonzero(classes[:, t] == classes[s, t])
            labels[s, t] = "all" if len(peers) == len(names) else "; ".join(names[p] for p in peers)
    return labels


def scenarios_table(outcome: Outcome, parts: list[_Scenario] | None = None) -> pd.DataFrame:
    """Per scenario: probability, cost, spend, shortfall value (USD at reference prices), China share
    of purchases by value, reserve released (USD at reference prices), and its optimum alone (WS[s])."""
    parts = parts or scenario_parts(outcome)
    ref = outcome.fan.reference_price_usd
    alone = outcome.measures.ws_by_scenario if outcome.measures is not None else None
    rows = []
    for s, (sc, part) in enumerate(zip(outcome.fan.scenarios, parts)):
        rows.append({
            "scenario": sc.name, "probability": sc.probability, "description": sc.description,
            "objective": part.cost_usd, "spend_usd": part.cost_usd - part.penalty,
            "shortfall_value_usd": float(part.shortfall.sum(axis=1) @ ref),
            "reserve_gap_value_usd": part.reserve_gap_usd,
            "china_share_by_value": part.china_usd / part.purchase_usd if part.purchase_usd > 0 else np.nan,
            "reserve_released_usd": float(part.released.sum(axis=1) @ ref),
            "alone_optimum": float(alone[s]) if alone is not None else np.nan,
        })
    return pd.DataFrame(rows, columns=SCENARIO_COLUMNS)


def recourse_table(outcome: Outcome, parts: list[_Scenario] | None = None) -> pd.DataFrame:
    """Per scenario, mineral and period: the decisions, and which scenarios share them (one node)."""
    parts = parts or scenario_parts(outcome)
    inst = outcome.fan.base
    names = inst.data.names
    shared = _decided_with(outcome)
    frames = []
    n_m, n_t = len(inst.mineral_keys), len(inst.periods)
    m_grid, t_grid = np.divmod(np.arange(n_m * n_t), n_t)
    row_dual = outcome.solution.row_dual
    for s, (sc, part) in enumerate(zip(outcome.fan.scenarios, parts)):
        # the balance row's dual in the extensive form (USD/unit, probability-weighted; a row shared by
        # several scenarios carries the sum over them); blank without duals (a MIP's are not computed here)
        balance = outcome.form.scenario_programs[s].rows[BALANCE.name]
        dual = (clean(row_dual[outcome.form.row_map[s][balance.slice()]]) if row_dual is not None
                else np.full(n_m * n_t, np.nan))
        frames.append(pd.DataFrame({
            "scenario": sc.name,
            "mineral": [names.mineral(inst.mineral_keys[m]) for m in m_grid],
            "unit": [inst.units[m] for m in m_grid],
            "period": [inst.periods[t] for t in t_grid],
            "decided_with": shared[s, t_grid],
            "bought": part.bought.ravel(), "shortfall": part.shortfall.ravel(),
            "reserve_end": part.reserve.ravel(), "reserve_released": part.released.ravel(),
            "reserve_below_target": part.reserve_gap.ravel(), "balance_dual_usd": dual,
        }, columns=RECOURSE_COLUMNS))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RECOURSE_COLUMNS)


def first_shock(outcome: Outcome) -> int | None:
    """Index of the first period whose decisions differ between scenarios (None: the data never differ)."""
    classes = outcome.form.classes
    split = np.flatnonzero((classes != classes[:1]).any(axis=0))
    return int(split[0]) if len(split) else None


def reserve_table(outcome: Outcome, parts: list[_Scenario] | None = None) -> pd.DataFrame:
    """Per mineral: expected and worst shortfall (units, and USD at the reference price), the reserve bought
    (expected sum of the increases of the reserve), and the reserve and days of cover held at the end of
    the last period before the first shock (``days = reserve / expected demand of the shock's period x
    days_per_period``; before the first period: the initial reserve)."""
    parts = parts or scenario_parts(outcome)
    fan = outcome.fan
    inst, pi, ref = fan.base, fan.probabilities, fan.reference_price_usd
    shortfall = np.array([p.shortfall.sum(axis=1) for p in parts])  # scenario x mineral
    added = np.array([p.added.sum(axis=1) for p in parts])
    t_shock = first_shock(outcome)
    demand = np.tensordot(pi, np.array([i.demand for i in fan.instances]), axes=1)
    rows = []
    for m, key in enumerate(inst.mineral_keys):
        if t_shock is None:
            before, t_ref = parts[0].reserve[m, -1], len(inst.periods) - 1
        else:
            before = parts[0].reserve[m, t_shock - 1] if t_shock > 0 else inst.initial_reserve[m]
            t_ref = t_shock
        d = demand[m, t_ref]
        rows.append({
            "mineral": inst.data.names.mineral(key), "unit": inst.units[m],
            "shortfall_expected": float(pi @ shortfall[:, m]), "shortfall_worst": float(shortfall[:, m].max()),
            "shortfall_expected_usd": float(pi @ shortfall[:, m]) * ref[m],
            "shortfall_worst_usd": float(shortfall[:, m].max()) * ref[m],
            "reserve_bought_expected": float(pi @ added[:, m]),
            "first_shock_period": inst.periods[t_shock] if t_shock is not None else "",
            "reserve_before_shock": float(before),
            "days_of_cover_before_shock": float(before / d * inst.policy.days_per_period) if d > 0 else np.nan,
        })
    return pd.DataFrame(rows, columns=RESERVE_COLUMNS)


def _number(value):
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def summary_items(outcome: Outcome) -> list[Item]:
    """The Summary's stochastic items: the risk settings, RP, WS, EEV, EVPI, VSS (objective values:
    spend plus penalty terms) and the model's size."""
    stats = outcome.form.stats
    items = [Item("plan_kind", "Plan", "stochastic (STOCKPILE.md)"),
             Item("scenarios", "Scenarios", len(outcome.fan.scenarios), Kind.COUNT),
             Item("risk", "Risk measure", outcome.risk)]
    if outcome.risk == "cvar":
        items += [Item("risk_level", "CVaR level (alpha)", outcome.risk_level, Kind.NUMBER),
                  Item("risk_weight", "CVaR weight (lambda)", outcome.risk_weight, Kind.NUMBER)]
    items.append(Item("commit_through", "Purchases committed through",
                      outcome.commit_through if outcome.commit_through is not None else "", Kind.PERIOD))
    m = outcome.measures
    if m is not None:
        items += [Item("RP", "RP: recourse problem optimum (objective: spend plus penalties)", m.rp, Kind.OBJECTIVE),
                  Item("WS", "WS: wait-and-see, perfect foresight (objective)", m.ws, Kind.OBJECTIVE),
                  Item("EEV", "EEV: the average-scenario plan in every scenario (objective)",
                       m.eev if m.eev is not None else "infinite", Kind.OBJECTIVE),
                  Item("EVPI", "EVPI: value of perfect information (objective)", m.evpi, Kind.OBJECTIVE),
                  Item("VSS", "VSS: value of planning for uncertainty (objective)",
                       m.vss if m.vss is not None else "infinite", Kind.OBJECTIVE)]
        if m.eev_reason:
            items.append(Item("eev_note", "EEV note", m.eev_reason))
    items += [Item("columns_before_sharing", "Columns before node sharing", stats["columns_before_sharing"],
                   Kind.COUNT),
              Item("columns", "Columns", stats["columns"], Kind.COUNT),
              Item("rows_before_sharing", "Rows before node sharing", stats["rows_before_sharing"], Kind.COUNT),
              Item("rows", "Rows", stats["rows"], Kind.COUNT)]
    return items


ALLOCATION_COLUMNS = ["offer_row", "supplier", "country", "mineral", "unit", "period", "decided_with",
                      "probability", "quantity", "price_usd_mean", "cost_usd", "agreement"]


def allocation_table(outcome: Outcome, *, relaxed: bool = False) -> pd.DataFrame:
    """Each purchase decision once per decision node: who shares it, their total probability, the quantity
    (in the mineral's unit) and the node's probability-weighted mean price (USD/unit); ``relaxed``: of the
    elastic re-solve's relaxed plan."""
    form, fan = (outcome.relaxed_form, outcome.fan) if relaxed else (outcome.form, outcome.fan)
    solution = outcome.relaxed if relaxed else outcome.solution
    program = form.program
    block = program.columns["x"]
    bought = clean(solution.x[block.slice()])
    chosen = np.flatnonzero(bought > 0)
    inst = fan.base
    names = inst.data.names
    n_s = len(fan.scenarios)
    members = np.zeros((len(chosen), n_s), dtype=bool)
    price = np.zeros(len(chosen))
    chosen_global = block.start + chosen  # sorted
    for s in range(n_s):
        lp_x = form.scenario_programs[s].columns["x"]
        local_global = form.col_map[s][lp_x.slice()]
        j = np.flatnonzero(np.isin(local_global, chosen_global))
        i = np.searchsorted(chosen_global, local_global[j])
        members[i, s] = True
        price[i] += fan.probabilities[s] * fan.instances[s].op_price_usd[j]
    probability = members.astype(float) @ fan.probabilities
    rows = []
    for i, g in enumerate(chosen):
        o, t = int(block.keys["offer"][g]), int(block.keys["period"][g])
        offer = inst.offers[o]
        m = int(inst.offer_mineral[o])
        rows.append({
            "offer_row": offer.row,  # the offer's row in the input's Offers sheet
            "supplier": offer.supplier, "country": names.country(offer.country_key),
            "mineral": names.mineral(offer.mineral_key), "unit": inst.units[m], "period": inst.periods[t],
            "decided_with": "all" if members[i].all() else "; ".join(
                fan.scenarios[s].name for s in np.flatnonzero(members[i])),
            "probability": float(probability[i]), "quantity": float(bought[g]),
            "price_usd_mean": float(price[i] / probability[i]) if probability[i] > 0 else np.nan,
            "cost_usd": float(bought[g] * price[i] / probability[i]) if probability[i] > 0 else np.nan,
            "agreement": offer.agreement,
        })
    return pd.DataFrame(rows, columns=ALLOCATION_COLUMNS)


def json_stochastic(outcome: Outcome, tables: dict[str, pd.DataFrame]) -> dict:
    """The JSON ``stochastic`` object (the plan's top-level ``objective`` is RP; ``spend`` and
    ``shortfall_usd`` are the probability-weighted expectations given here as well)."""
    m = outcome.measures
    scenarios = tables.get("Scenarios")
    pi = outcome.fan.probabilities
    result = {
        "risk": outcome.risk, "risk_level": outcome.risk_level, "risk_weight": outcome.risk_weight,
        "commit_through": outcome.commit_through,
        "RP": _number(m.rp) if m else _number(outcome.solution.objective),
        "WS": _number(m.ws) if m else None, "EEV": _number(m.eev) if m else None,
        "EVPI": _number(m.evpi) if m else None, "VSS": _number(m.vss) if m else None,
        "eev_reason": m.eev_reason if m else "",
        "spend": _number(pi @ scenarios["spend_usd"].to_numpy(float)) if scenarios is not None else None,
        "shortfall_usd": (_number(pi @ scenarios["shortfall_value_usd"].to_numpy(float))
                          if scenarios is not None else None),
        "scenarios": {}, "minerals": {},
        "model": {k: outcome.form.stats[k] for k in ("columns_before_sharing", "columns", "rows_before_sharing",
                                                     "rows", "nonzeros_before_sharing", "nonzeros", "nodes")},
        "relaxations": [],
    }
    if "Scenarios" in tables:
        for r in tables["Scenarios"].to_dict("records"):
            result["scenarios"][r["scenario"]] = {
                "probability": r["probability"], "description": r["description"], "objective": _number(r["objective"]),
                "spend": _number(r["spend_usd"]), "shortfall_usd": _number(r["shortfall_value_usd"]),
                "china_share": _number(r["china_share_by_value"]),
                "reserve_released_usd": _number(r["reserve_released_usd"]),
                "alone": _number(r["alone_optimum"])}
    if "Reserve" in tables:
        for r in tables["Reserve"].to_dict("records"):
            result["minerals"][r["mineral"]] = {
                "unit": r["unit"], "shortfall_expected": r["shortfall_expected"],
                "shortfall_worst": r["shortfall_worst"], "shortfall_expected_usd": r["shortfall_expected_usd"],
                "shortfall_worst_usd": r["shortfall_worst_usd"], "reserve_bought": r["reserve_bought_expected"],
                "first_shock_period": r["first_shock_period"] if r["first_shock_period"] != "" else None,
                "days_of_cover_before_shock": _number(r["days_of_cover_before_shock"])}
    if "Relaxations" in tables:
        result["relaxations"] = [
            {"scenario": r["scenario"], "constraint": r["constraint"], "mineral": r["mineral"] or None,
             "period": r["period"] if r["period"] != "" else None, "country": r["country"] or None,
             "supplier": r["supplier"] or None, "amount": r["amount"], "meaning": r["meaning"]}
            for r in tables["Relaxations"].to_dict("records")]
    return result
