"""A stochastic plan's own results (STOCKPILE.md, "Measures every stochastic plan reports").

Tables for the plan workbook (``Scenarios``, ``Recourse``, ``Reserve`` and the
per-node ``Allocation``), Summary items, and the JSON ``stochastic`` object.
Each scenario's numbers come from its own program at its share of the plan
(:class:`procure.facts.Facts`), so they are exactly the deterministic
definitions applied per scenario. Quantities stay per mineral in its unit;
wherever minerals are added up the total is in USD at the mineral's
``reference_price`` (from the base data, the same for every scenario): money,
never a penalty. RP, WS, EEV, EVPI and VSS are objective values (spend plus
penalty terms) and are also split into money.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from procure import fmt
from procure.facts import SPEND_PARTS, Facts, clean, row_duals
from procure.families import BALANCE
from procure.figures import PlanFigures
from procure.items import Item, Kind
from procure.outcome import Outcome

SCENARIO_COLUMNS = ["scenario", "probability", "description", "objective", "spend_usd", "acquisitions_usd",
                    "fees_usd", "holding_usd", "shortfall_value_usd", "reserve_gap_value_usd",
                    "china_share_by_value", "reserve_released_usd", "alone_optimum"]
RECOURSE_COLUMNS = ["scenario", "mineral", "unit", "period", "decided_with", "bought", "shortfall", "reserve_end",
                    "reserve_released", "reserve_below_target", "balance_dual"]
RESERVE_COLUMNS = ["scenario", "mineral", "unit", "period", "reserve_start", "reserve_released", "reserve_added",
                   "reserve_end", "reserve_target", "reserve_below_target"]
MEASURES = (("RP", "RP: the plan (recourse problem)"), ("WS", "WS: perfect foresight (wait-and-see)"),
            ("EEV", "EEV: the average-scenario plan in every scenario"),
            ("EVPI", "EVPI = RP - WS: value of perfect information"),
            ("VSS", "VSS = EEV - RP: value of planning for uncertainty"))


def _money(f: Facts) -> dict[str, float]:
    """A scenario's money (USD): spend split, shortfall and reserve-gap value at reference prices."""
    ref = f.inst.reference_price_usd
    split = f.spend_by_period.sum(axis=1)
    value = float(f.cost.sum())
    china = float((f.cost * f.inst.offer_exposure[f.inst.op_offer]).sum())
    return {
        "spend_usd": float(split.sum()), **{f"{part}_usd": float(v) for part, v in zip(SPEND_PARTS, split)},
        "shortfall_value_usd": float(f.shortfall.sum(axis=1) @ ref),
        "reserve_gap_value_usd": float(f.reserve_gap.sum(axis=1) @ ref),
        "china_share_by_value": china / value if value > 0 else np.nan,
        "reserve_released_usd": float(f.released.sum(axis=1) @ ref),
    }


def measure_figures(outcome: Outcome) -> dict[str, PlanFigures | None]:
    """RP, WS, EEV, EVPI, VSS as figures (objective, spend, shortfall value, reserve-gap value); EVPI and VSS
    the differences RP - WS and EEV - RP of every field. None where a measure is infinite or not computed."""
    m = outcome.measures
    if m is None or m.rp_figures is None:
        return {}

    def minus(a: PlanFigures | None, b: PlanFigures | None) -> PlanFigures | None:
        if a is None or b is None:
            return None
        return PlanFigures(objective=a.objective - b.objective, spend_usd=a.spend_usd - b.spend_usd,
                           penalty=a.penalty - b.penalty,
                           shortfall_value_usd=a.shortfall_value_usd - b.shortfall_value_usd,
                           reserve_gap_value_usd=a.reserve_gap_value_usd - b.reserve_gap_value_usd,
                           china_share_by_value=None)

    return {"RP": m.rp_figures, "WS": m.ws_figures, "EEV": m.eev_figures,
            "EVPI": minus(m.rp_figures, m.ws_figures), "VSS": minus(m.eev_figures, m.rp_figures)}


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


def scenarios_table(outcome: Outcome, facts: list[Facts]) -> pd.DataFrame:
    """Per scenario: probability, objective (spend plus penalties), spend split, shortfall and reserve-gap
    value (USD at reference prices), China share of purchases by value, reserve released (USD at reference
    prices), its optimum alone (WS[s], objective); then RP, WS, EEV, EVPI and VSS split alike."""
    alone = outcome.measures.ws_by_scenario if outcome.measures is not None else None
    rows = []
    for s, (sc, f) in enumerate(zip(outcome.fan.scenarios, facts)):
        rows.append({"scenario": sc.name, "probability": sc.probability, "description": sc.description,
                     "objective": f.program.objective_value(f.x), **_money(f),
                     "alone_optimum": float(alone[s]) if alone is not None else np.nan})
    for key, label in MEASURES:
        figures = measure_figures(outcome).get(key)
        if figures is not None:
            rows.append({"scenario": label, "objective": figures.objective, "spend_usd": figures.spend_usd,
                         "shortfall_value_usd": figures.shortfall_value_usd,
                         "reserve_gap_value_usd": figures.reserve_gap_value_usd})
    return pd.DataFrame(rows, columns=SCENARIO_COLUMNS)


def recourse_table(outcome: Outcome, facts: list[Facts]) -> pd.DataFrame:
    """Per scenario, mineral and period: the decisions, and which scenarios share them (one node). The
    balance row's dual is the scenario's own marginal value of the mineral (objective per unit)."""
    inst = outcome.fan.base
    names = inst.data.names
    shared = _decided_with(outcome)
    frames = []
    n_m, n_t = len(inst.mineral_keys), len(inst.periods)
    m_grid, t_grid = np.divmod(np.arange(n_m * n_t), n_t)
    for s, (sc, f) in enumerate(zip(outcome.fan.scenarios, facts)):
        dual = row_duals(f.program, f.row_dual, BALANCE.name)
        frames.append(pd.DataFrame({
            "scenario": sc.name,
            "mineral": [names.mineral(inst.mineral_keys[m]) for m in m_grid],
            "unit": [inst.units[m] for m in m_grid],
            "period": [inst.periods[t] for t in t_grid],
            "decided_with": shared[s, t_grid],
            "bought": f.bought.ravel(), "shortfall": f.shortfall.ravel(),
            "reserve_end": f.reserve.ravel(), "reserve_released": f.released.ravel(),
            "reserve_below_target": f.reserve_gap.ravel(),
            "balance_dual": clean(dual) if dual is not None else np.full(n_m * n_t, np.nan),
        }, columns=RECOURSE_COLUMNS))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RECOURSE_COLUMNS)


def reserve_table(outcome: Outcome, facts: list[Facts]) -> pd.DataFrame:
    """Per scenario, mineral and period: the reserve at the start, released, added, at the end, its target
    in that scenario (0 while a shock has it released) and how far below it (each in the mineral's unit)."""
    names = outcome.fan.base.data.names
    frames = []
    for sc, f in zip(outcome.fan.scenarios, facts):
        inst = f.inst
        m_grid, t_grid = np.divmod(np.arange(f.n_m * f.n_t), f.n_t)
        start = np.column_stack([inst.initial_reserve, f.reserve[:, :-1]])
        frames.append(pd.DataFrame({
            "scenario": sc.name,
            "mineral": [names.mineral(inst.mineral_keys[m]) for m in m_grid],
            "unit": [inst.units[m] for m in m_grid],
            "period": [inst.periods[t] for t in t_grid],
            "reserve_start": start.ravel(), "reserve_released": f.released.ravel(),
            "reserve_added": f.added.ravel(), "reserve_end": f.reserve.ravel(),
            "reserve_target": inst.reserve_target.ravel(), "reserve_below_target": f.reserve_gap.ravel(),
        }, columns=RESERVE_COLUMNS))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RESERVE_COLUMNS)


def first_shock_periods(inst) -> np.ndarray:
    """Per mineral, the index of its first release period in this scenario (-1: no shock hits it)."""
    hit = np.asarray(inst.reserve_release, dtype=bool)  # released periods: hits, then rebuild periods
    return np.where(hit.any(axis=1), hit.argmax(axis=1), -1)


def _number(value):
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def summary_items(outcome: Outcome) -> list[Item]:
    """The Summary's stochastic items: the measures in words, as money (what perfect foresight and planning
    for uncertainty are worth in spend and in shortfall value), then the settings and the model's size."""
    items = [Item("plan_kind", "Plan", "stochastic (STOCKPILE.md)"),
             Item("scenarios", "Scenarios", len(outcome.fan.scenarios), Kind.COUNT)]
    figures = measure_figures(outcome)
    if figures.get("EVPI") is not None:
        items.append(Item("evpi_in_words", "Value of perfect information (EVPI), in money",
                          _in_words(figures["EVPI"], "perfect foresight would")))
    m = outcome.measures
    if figures.get("VSS") is not None:
        items.append(Item("vss_in_words", "Value of planning for uncertainty (VSS), in money",
                          _in_words(figures["VSS"], "planning for the average scenario instead would",
                                    more=True)))
    elif m is not None and m.eev_reason:
        items.append(Item("eev_note", "EEV note", m.eev_reason))
    items += [Item("risk", "Risk measure", outcome.risk)]
    if outcome.risk == "cvar":
        items += [Item("risk_level", "CVaR level (alpha)", outcome.risk_level, Kind.NUMBER),
                  Item("risk_weight", "CVaR weight (lambda)", outcome.risk_weight, Kind.NUMBER)]
    items.append(Item("commit_through", "Purchases committed through",
                      outcome.commit_through if outcome.commit_through is not None else "", Kind.PERIOD))
    if m is not None:
        items += [Item("RP", "RP: recourse problem optimum (objective: spend plus penalties)", m.rp, Kind.OBJECTIVE),
                  Item("WS", "WS: wait-and-see, perfect foresight (objective)", m.ws, Kind.OBJECTIVE),
                  Item("EEV", "EEV: the average-scenario plan in every scenario (objective)",
                       m.eev if m.eev is not None else "infinite", Kind.OBJECTIVE),
                  Item("EVPI", "EVPI: value of perfect information (objective)", m.evpi, Kind.OBJECTIVE),
                  Item("VSS", "VSS: value of planning for uncertainty (objective)",
                       m.vss if m.vss is not None else "infinite", Kind.OBJECTIVE)]
    stats = outcome.form.stats
    items += [Item("columns", "Columns (decision nodes shared)", stats["columns"], Kind.COUNT),
              Item("rows", "Rows (decision nodes shared)", stats["rows"], Kind.COUNT)]
    return items


def _in_words(figures: PlanFigures, subject: str, *, more: bool = False) -> str:
    """ "perfect foresight would spend $338 million less, leave the same shortfall value and $438 million less
    reserve-gap value; the rest of EVPI is penalty terms" (``more``: the differences read the other way
    round, for VSS: EEV - RP is what the average-scenario plan costs more than the plan)."""
    def amount(value: float, what: str) -> str:
        value = -value if more else value
        if abs(value) < 0.5:
            return f"the same {what}"
        return f"{fmt.usd_compact(abs(value))} {'less' if value > 0 else 'more'} {what}"

    spend = amount(figures.spend_usd, "")
    spend = "the same" if spend.startswith("the same") else spend.rstrip()
    measure = "VSS" if more else "EVPI"
    return (f"{subject} spend {spend}, leave {amount(figures.shortfall_value_usd, 'shortfall value')} and "
            f"{amount(figures.reserve_gap_value_usd, 'reserve-gap value')} (USD at reference prices); the rest of "
            f"{measure} ({fmt.quantity(round(figures.objective))} in objective terms in all) is penalty terms, "
            "not money")


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
    # who shares each decision, labelled once per distinct set of scenarios (not once per row)
    if n_s <= 63:  # each set of scenarios as one integer (bits), far faster to tell apart than rows
        codes = members.astype(np.int64) @ (np.int64(1) << np.arange(n_s, dtype=np.int64))
        _, first, pattern_of = np.unique(codes, return_index=True, return_inverse=True)
        patterns = members[first]
    else:
        patterns, pattern_of = np.unique(members, axis=0, return_inverse=True)
    labels = np.array(["all" if row.all() else "; ".join(fan.scenarios[s].name for s in np.flatnonzero(row))
                       for row in patterns], dtype=object)
    offer = block.keys["offer"][chosen].astype(np.int64)
    period = block.keys["period"][chosen].astype(np.int64)
    offer_row = np.array([o.row for o in inst.offers], dtype=np.int64)
    supplier = np.array([o.supplier for o in inst.offers], dtype=object)
    country = np.array([names.country(o.country_key) for o in inst.offers], dtype=object)
    mineral = np.array([names.mineral(o.mineral_key) for o in inst.offers], dtype=object)
    agreement = np.array([str(o.agreement) for o in inst.offers], dtype=object)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_price = np.where(probability > 0, price / np.where(probability > 0, probability, 1.0), np.nan)
    return pd.DataFrame({
        "offer_row": offer_row[offer],  # the offer's row in the input's Offers sheet
        "supplier": supplier[offer], "country": country[offer], "mineral": mineral[offer],
        "unit": np.array(inst.units, dtype=object)[inst.offer_mineral[offer]],
        "period": np.array(inst.periods, dtype=object)[period],
        "decided_with": labels[np.ravel(pattern_of)], "probability": probability, "quantity": bought[chosen],
        "price_usd_mean": mean_price, "cost_usd": bought[chosen] * mean_price, "agreement": agreement[offer],
    }, columns=ALLOCATION_COLUMNS)


def json_stochastic(outcome: Outcome, facts: list[Facts]) -> dict:
    """The JSON ``stochastic`` object (STOCKPILE.md): the measures (objective values) and their split into
    money, per scenario its figures and per mineral its shortfall, reserve released, first shock period
    and the cover held when that period begins (days of that period's demand in this scenario)."""
    m = outcome.measures
    pi = outcome.fan.probabilities
    money = [_money(f) for f in facts]  # each scenario's money, once
    result = {
        "risk": outcome.risk, "risk_level": outcome.risk_level, "risk_weight": outcome.risk_weight,
        "commit_through": outcome.commit_through,
        "RP": _number(m.rp) if m else _number(outcome.solution.objective),
        "WS": _number(m.ws) if m else None, "EEV": _number(m.eev) if m else None,
        "EVPI": _number(m.evpi) if m else None, "VSS": _number(m.vss) if m else None,
        "eev_reason": m.eev_reason if m else "",
        "measures": {key: ({"objective": _number(f.objective), "spend": _number(f.spend_usd),
                            "shortfall_usd": _number(f.shortfall_value_usd),
                            "reserve_gap_usd": _number(f.reserve_gap_value_usd)} if f is not None else None)
                     for key, f in measure_figures(outcome).items()},
        "spend": _number(sum(p * m["spend_usd"] for p, m in zip(pi, money))) if facts else None,
        "shortfall_usd": (_number(sum(p * m["shortfall_value_usd"] for p, m in zip(pi, money)))
                          if facts else None),
        "scenarios": {}, "minerals": {},
        "model": {k: outcome.form.stats[k] for k in ("columns_before_sharing", "columns", "rows_before_sharing",
                                                     "rows", "nonzeros_before_sharing", "nonzeros", "nodes")},
    }
    alone = m.ws_by_scenario if m is not None else None
    names = outcome.fan.base.data.names
    for s, (sc, f, scenario_money) in enumerate(zip(outcome.fan.scenarios, facts, money)):
        inst = f.inst
        first = first_shock_periods(inst)
        minerals = {}
        for k, key in enumerate(inst.mineral_keys):
            t0 = int(first[k])
            held = (inst.initial_reserve[k] if t0 == 0 else f.reserve[k, t0 - 1]) if t0 >= 0 else None
            demand = inst.demand[k, t0] if t0 >= 0 else 0.0
            minerals[names.mineral(key)] = {
                "unit": inst.units[k], "shortfall": float(f.shortfall[k].sum()),
                "shortfall_usd": float(f.shortfall[k].sum() * inst.reference_price_usd[k]),
                "reserve_released": float(f.released[k].sum()),
                "first_shock_period": inst.periods[t0] if t0 >= 0 else None,
                "cover_days_at_first_shock": (float(held * inst.policy.days_per_period / demand)
                                              if t0 >= 0 and demand > 0 else None),
            }
        result["scenarios"][sc.name] = {
            "probability": sc.probability, "description": sc.description,
            "objective": _number(f.program.objective_value(f.x)), "spend": _number(scenario_money["spend_usd"]),
            "spend_split": {part: _number(scenario_money[f"{part}_usd"]) for part in SPEND_PARTS},
            "shortfall_usd": _number(scenario_money["shortfall_value_usd"]),
            "reserve_gap_usd": _number(scenario_money["reserve_gap_value_usd"]),
            "china_share": _number(scenario_money["china_share_by_value"]),
            "reserve_released_usd": _number(scenario_money["reserve_released_usd"]),
            "alone": _number(alone[s]) if alone is not None else None,
            "minerals": minerals,
        }
    ref = outcome.fan.reference_price_usd
    if facts:
        shortfall = np.array([f.shortfall.sum(axis=1) for f in facts])  # scenario x mineral
        added = np.array([f.added.sum(axis=1) for f in facts])
        for k, key in enumerate(outcome.fan.base.mineral_keys):
            result["minerals"][names.mineral(key)] = {
                "unit": outcome.fan.base.units[k],
                "shortfall_expected": float(pi @ shortfall[:, k]), "shortfall_worst": float(shortfall[:, k].max()),
                "shortfall_expected_usd": float(pi @ shortfall[:, k]) * ref[k],
                "shortfall_worst_usd": float(shortfall[:, k].max()) * ref[k],
                "reserve_bought": float(pi @ added[:, k]),
            }
    return result
