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

from procure.data import OfferKind
from procure.program import block_of
from procure.report import INPUT_SHA, SOLVE_TIME, STATUS, clean, describe_relaxation, scenario_facts
from procure.stochastic import StochasticOutcome

SCENARIO_COLUMNS = ["scenario", "probability", "description", "cost_usd", "spend_usd", "shortfall_value_usd",
                    "reserve_gap_value_usd", "china_share_by_value", "reserve_released_usd", "alone_optimum_usd"]
RECOURSE_COLUMNS = ["scenario", "mineral", "unit", "period", "decided_with", "bought", "shortfall", "reserve_end",
                    "reserve_released", "reserve_below_target", "balance_dual_usd"]
RESERVE_COLUMNS = ["mineral", "unit", "shortfall_expected", "shortfall_worst", "shortfall_expected_usd",
                   "shortfall_worst_usd", "reserve_bought_expected", "first_shock_period", "reserve_before_shock",
                   "days_of_cover_before_shock"]


class _Scenario:
    """One scenario's share of the plan, per mineral (rows) and period (columns), in the mineral's unit."""

    def __init__(self, outcome: StochasticOutcome, s: int):
        inst = outcome.fan.instances[s]
        lp = outcome.form.scenario_programs[s]
        x = outcome.scenario_solution(s)
        n_m, n_t = len(inst.mineral_keys), len(inst.periods)
        self.cost_usd = lp.objective_value(x)
        self.penalty_usd = lp.penalty_value(x)
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


SPEND_EXPECTED = "Spend, expected over scenarios (USD)"
SHORTFALL_EXPECTED = "Shortfall value, expected (USD at reference prices)"

def _scenarios(outcome: StochasticOutcome) -> list[_Scenario]:
    return [_Scenario(outcome, s) for s in range(len(outcome.fan.scenarios))]


def _decided_with(outcome: StochasticOutcome) -> np.ndarray:
    """Per (scenario, period): who shares that period's decisions ("all", or the scenarios' names)."""
    classes = outcome.form.classes
    names = outcome.fan.names
    labels = np.empty(classes.shape, dtype=object)
    for t in range(classes.shape[1]):
        for s in range(classes.shape[0]):
            peers = np.flatnonzero(classes[:, t] == classes[s, t])
            labels[s, t] = "all" if len(peers) == len(names) else "; ".join(names[p] for p in peers)
    return labels


def scenarios_table(outcome: StochasticOutcome, parts: list[_Scenario] | None = None) -> pd.DataFrame:
    """Per scenario: probability, cost, spend, shortfall value (USD at reference prices), China share
    of purchases by value, reserve released (USD at reference prices), and its optimum alone (WS[s])."""
    parts = parts or _scenarios(outcome)
    ref = outcome.fan.reference_price_usd
    alone = outcome.measures.ws_by_scenario if outcome.measures is not None else None
    rows = []
    for s, (sc, part) in enumerate(zip(outcome.fan.scenarios, parts)):
        rows.append({
            "scenario": sc.name, "probability": sc.probability, "description": sc.description,
            "cost_usd": part.cost_usd, "spend_usd": part.cost_usd - part.penalty_usd,
            "shortfall_value_usd": float(part.shortfall.sum(axis=1) @ ref),
            "reserve_gap_value_usd": part.reserve_gap_usd,
            "china_share_by_value": part.china_usd / part.purchase_usd if part.purchase_usd > 0 else np.nan,
            "reserve_released_usd": float(part.released.sum(axis=1) @ ref),
            "alone_optimum_usd": float(alone[s]) if alone is not None else np.nan,
        })
    return pd.DataFrame(rows, columns=SCENARIO_COLUMNS)


def recourse_table(outcome: StochasticOutcome, parts: list[_Scenario] | None = None) -> pd.DataFrame:
    """Per scenario, mineral and period: the decisions, and which scenarios share them (one node)."""
    parts = parts or _scenarios(outcome)
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
        balance = outcome.form.scenario_programs[s].rows["balance"]
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


def first_shock(outcome: StochasticOutcome) -> int | None:
    """Index of the first period whose decisions differ between scenarios (None: the data never differ)."""
    classes = outcome.form.classes
    split = np.flatnonzero((classes != classes[:1]).any(axis=0))
    return int(split[0]) if len(split) else None


def reserve_table(outcome: StochasticOutcome, parts: list[_Scenario] | None = None) -> pd.DataFrame:
    """Per mineral: expected and worst shortfall (units, and USD at the reference price), the reserve bought
    (expected sum of the increases of the reserve), and the reserve and days of cover held at the end of
    the last period before the first shock (``days = reserve / expected demand of the shock's period x
    days_per_period``; before the first period: the initial reserve)."""
    parts = parts or _scenarios(outcome)
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


def relaxations_table(outcome: StochasticOutcome) -> pd.DataFrame:
    """Each nonzero slack of the elastic re-solve of an infeasible stochastic model, naming its scenario;
    amounts in the constraint's own unit, taken over that scenario's purchases."""
    columns = ["scenario", "constraint", "mineral", "period", "country", "supplier", "amount", "unit", "meaning"]
    form, solution = outcome.relaxed_form, outcome.relaxed
    if form is None or solution is None or solution.x is None or "slack" not in form.program.columns:
        return pd.DataFrame(columns=columns)
    program = form.program
    block = program.columns["slack"]
    slack = clean(solution.x[block.slice()], 1.0)
    facts = {}
    rows = []
    for local in np.flatnonzero(slack > 1e-7):
        s = int(block.keys["scenario"][local])
        if s not in facts:  # the scenario's own plan, read through its columns of the extensive form
            own = form.scenario_programs[s]
            facts[s] = scenario_facts(outcome.fan.instances[s], own, solution.x[form.col_map[s]])
        row_block, row_local = block_of(program.rows, int(block.keys["row"][local]))
        row = {"scenario": outcome.fan.scenarios[s].name,
               **describe_relaxation(facts[s], row_block, row_local, float(slack[local]))}
        row["meaning"] = f"scenario {row['scenario']}: {row['meaning']}"
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _number(value):
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def summary_items(outcome: StochasticOutcome, scenarios: pd.DataFrame | None = None) -> list[tuple[str, object]]:
    """The Summary sheet's stochastic items: the risk settings, RP, WS, EEV, EVPI, VSS and the model size."""
    stats = outcome.form.stats
    items: list[tuple[str, object]] = [
        ("Plan", "stochastic (STOCKPILE.md)"), ("Scenarios", len(outcome.fan.scenarios)),
        ("Risk measure", outcome.risk)]
    if outcome.risk == "cvar":
        items += [("CVaR level (alpha)", outcome.risk_level), ("CVaR weight (lambda)", outcome.risk_weight)]
    items.append(("Purchases committed through", outcome.commit_through if outcome.commit_through is not None
                  else ""))
    if scenarios is not None and len(scenarios):
        pi = scenarios["probability"].to_numpy(float)
        items += [(SPEND_EXPECTED, float(pi @ scenarios["spend_usd"].to_numpy(float))),
                  (SHORTFALL_EXPECTED, float(pi @ scenarios["shortfall_value_usd"].to_numpy(float)))]
    m = outcome.measures
    if m is not None:
        items += [("RP: recourse problem optimum (USD)", m.rp),
                  ("WS: wait-and-see, perfect foresight (USD)", m.ws),
                  ("EEV: the average-scenario plan in every scenario (USD)",
                   m.eev if m.eev is not None else "infinite"),
                  ("EVPI: value of perfect information (USD)", m.evpi),
                  ("VSS: value of planning for uncertainty (USD)", m.vss if m.vss is not None else "infinite")]
        if m.eev_reason:
            items.append(("EEV note", m.eev_reason))
    items += [("Columns before node sharing", stats["columns_before_sharing"]), ("Columns", stats["columns"]),
              ("Rows before node sharing", stats["rows_before_sharing"]), ("Rows", stats["rows"])]
    return items


ALLOCATION_COLUMNS = ["offer_row", "supplier", "country", "mineral", "unit", "period", "decided_with",
                      "probability", "quantity", "price_usd_mean", "agreement"]


def allocation_table(outcome: StochasticOutcome) -> pd.DataFrame:
    """Each purchase decision once per decision node: who shares it, their total probability, the quantity
    (in the mineral's unit) and the node's probability-weighted mean price (USD/unit)."""
    form, fan = outcome.form, outcome.fan
    program = form.program
    block = program.columns["x"]
    bought = clean(outcome.solution.x[block.slice()])
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
            "agreement": offer.agreement,
        })
    return pd.DataFrame(rows, columns=ALLOCATION_COLUMNS)


AGREEMENT_COLUMNS = ["offer", "supplier", "country", "mineral", "agreement", "signed", "decision", "fixed_cost_usd"]


def agreements_table(outcome: StochasticOutcome) -> pd.DataFrame:
    """Each optional or signed offer: signed or not. Agreement decisions are shared by every scenario."""
    inst = outcome.fan.base
    names = inst.data.names
    y_block = outcome.form.program.columns["y"]
    signed_y = np.round(outcome.solution.x[y_block.slice()]).astype(int) if y_block.size else np.zeros(0, int)
    y_of_offer = dict(zip(y_block.keys["offer"].tolist(), signed_y.tolist())) if "offer" in y_block.keys else {}
    rows = []
    for o, offer in enumerate(inst.offers):
        if offer.agreement == OfferKind.SPOT:
            continue
        signed = offer.agreement == OfferKind.SIGNED or bool(y_of_offer.get(o, 0))
        rows.append({"offer": offer.offer_id(names), "supplier": offer.supplier,
                     "country": names.country(offer.country_key), "mineral": names.mineral(offer.mineral_key),
                     "agreement": str(offer.agreement), "signed": "yes" if signed else "no",
                     "decision": "already in force" if offer.agreement == OfferKind.SIGNED
                     else ("sign" if signed else "do not sign"),
                     "fixed_cost_usd": offer.fixed_cost_usd})
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def plan(outcome: StochasticOutcome, *, input_name: str, input_sha256: str, message: str = "") -> tuple[
        dict[str, pd.DataFrame], list[tuple[str, object]], dict]:
    """Everything a stochastic plan writes: the tables (Allocation per node first), the Summary items and
    the JSON document (``objective`` = RP; ``spend`` and ``shortfall_usd`` probability-weighted)."""
    tables, items, doc = build(outcome)
    if outcome.solution.has_plan:
        tables = {"Allocation": allocation_table(outcome), **tables, "Agreements": agreements_table(outcome)}
    solution = outcome.solution
    summary = [(STATUS, str(solution.status)),
               ("Status detail", solution.message or ("optimal plan" if solution.status == "optimal" else "")),
               ("Scenario", outcome.fan.base_data.policy.scenario),
               *items, ("Solver", solution.solver), (SOLVE_TIME, round(solution.seconds, 3)),
               ("Strict (demand met in full)", "yes" if outcome.strict else "no"), ("Input file", input_name),
               (INPUT_SHA, input_sha256)]
    document = {
        "status": solution.status,
        "objective": doc["RP"] if solution.has_plan else None,
        "spend": doc["spend"], "shortfall_usd": doc["shortfall_usd"],
        # expectations over the scenarios: China share by value, per mineral in its unit
        "china_share": _number(sum(v["probability"] * v["china_share"] for v in doc["scenarios"].values()
                                   if v["china_share"] is not None)) if doc["scenarios"] else None,
        "minerals": {name: {"unit": v["unit"], "shortfall": v["shortfall_expected"],
                            "shortfall_usd": v["shortfall_expected_usd"], "reserve_bought": v["reserve_bought"]}
                     for name, v in doc["minerals"].items()},
        "scenario": outcome.fan.base_data.policy.scenario, "solver": solution.solver,
        "input_sha256": input_sha256, "message": message or solution.message,
        "relaxations": doc["relaxations"], "stochastic": doc,
    }
    return tables, summary, document


def build(outcome: StochasticOutcome) -> tuple[dict[str, pd.DataFrame], list[tuple[str, object]], dict]:
    """(tables, Summary items, JSON ``stochastic`` object) of a stochastic plan."""
    tables: dict[str, pd.DataFrame] = {}
    scenarios = None
    if outcome.solution.has_plan:
        parts = _scenarios(outcome)
        scenarios = scenarios_table(outcome, parts)
        tables["Scenarios"] = scenarios
        tables["Recourse"] = recourse_table(outcome, parts)
        tables["Reserve"] = reserve_table(outcome, parts)
    if outcome.relaxed is not None:
        tables["Relaxations"] = relaxations_table(outcome)
    summary = summary_items(outcome, scenarios)
    return tables, summary, json_stochastic(outcome, tables, summary)


def json_stochastic(outcome: StochasticOutcome, tables: dict[str, pd.DataFrame],
                    summary: list[tuple[str, object]]) -> dict:
    """The JSON ``stochastic`` object (the plan's top-level ``objective`` is RP; ``spend`` and
    ``shortfall_usd`` are the probability-weighted expectations given here as well)."""
    m = outcome.measures
    items = dict(summary)
    result = {
        "risk": outcome.risk, "risk_level": outcome.risk_level, "risk_weight": outcome.risk_weight,
        "commit_through": outcome.commit_through,
        "RP": _number(m.rp) if m else _number(outcome.solution.objective),
        "WS": _number(m.ws) if m else None, "EEV": _number(m.eev) if m else None,
        "EVPI": _number(m.evpi) if m else None, "VSS": _number(m.vss) if m else None,
        "eev_reason": m.eev_reason if m else "",
        "spend": _number(items.get(SPEND_EXPECTED)),
        "shortfall_usd": _number(items.get(SHORTFALL_EXPECTED)),
        "scenarios": {}, "minerals": {},
        "model": {k: outcome.form.stats[k] for k in ("columns_before_sharing", "columns", "rows_before_sharing",
                                                     "rows", "nonzeros_before_sharing", "nonzeros", "nodes")},
        "relaxations": [],
    }
    if "Scenarios" in tables:
        for r in tables["Scenarios"].to_dict("records"):
            result["scenarios"][r["scenario"]] = {
                "probability": r["probability"], "description": r["description"], "cost": _number(r["cost_usd"]),
                "spend": _number(r["spend_usd"]), "shortfall_usd": _number(r["shortfall_value_usd"]),
                "china_share": _number(r["china_share_by_value"]),
                "reserve_released_usd": _number(r["reserve_released_usd"]),
                "alone": _number(r["alone_optimum_usd"])}
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
