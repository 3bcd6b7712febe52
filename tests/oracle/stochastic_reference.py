"""Independent reference for stochastic plans (STOCKPILE.md): RP, WS, EEV,
EVPI, VSS and each scenario's spend and shortfall value.

Written from the spec alone, like reference.py (whose extensive form, with one
copy of the variables per scenario and equality rows between scenarios that
share a node, it uses).

    stochastic_measures("wb.xlsx", ["a.toml", "b.toml"]) ->
    {"status": "optimal", "RP": .., "WS": .., "EEV": .., "EVPI": .., "VSS": ..,
     "EEV_reason": None, "scenarios": {name: {"probability", "spend",
     "shortfall_usd", "cost", "WS"}}}

EEV and VSS are None (JSON null) when the EV problem, or its fixed decisions
in the stochastic problem, is infeasible; ``EEV_reason`` then says why.
"""

from __future__ import annotations

from pathlib import Path

try:  # imported as tests.oracle.stochastic_reference, or from a script beside it
    from .reference import (
        Data,
        Model,
        node_representatives,
        read_model,
        read_scenario_file,
        scenario_data,
        shared_params,
        solve_scenarios,
    )
except ImportError:
    from reference import (  # type: ignore[no-redef]
        Data,
        Model,
        node_representatives,
        read_model,
        read_scenario_file,
        scenario_data,
        shared_params,
        solve_scenarios,
    )


def cvar(values: list[float], probabilities: list[float], alpha: float) -> float:
    """CVaR_alpha of a discrete cost distribution (Rockafellar-Uryasev):
    min over eta of eta + 1/(1 - alpha) sum pi max(c - eta, 0); the minimum of
    this convex piecewise-linear function lies at one of the values."""
    return min(
        eta + sum(p * max(c - eta, 0.0) for c, p in zip(values, probabilities)) / (1 - alpha)
        for eta in values
    )


def risk_value(values: list[float], probabilities: list[float], policy: dict) -> float:
    """The plan's risk measure of per-scenario costs (STOCKPILE.md, Model)."""
    expected = sum(p * c for c, p in zip(values, probabilities))
    risk = policy["risk"]
    if risk == "expected":
        return expected
    if risk == "worst":
        return max(values)
    lam = policy["risk_weight"]
    return (1 - lam) * expected + lam * cvar(values, probabilities, policy["risk_level"])


def mean_data(datas: list[Data], probabilities: list[float]) -> Data:
    """The EV problem's data: probability-weighted means of every number
    (minimum volumes after l = min(l, u), reserve targets included)."""

    def mean(attr: str) -> dict:
        keys = getattr(datas[0], attr)
        return {k: sum(p * getattr(d, attr)[k] for d, p in zip(datas, probabilities)) for k in keys}

    return Data(mean("price"), mean("capacity"), mean("min_volume"), mean("demand"), mean("target"))


def _infeasible_result(reason: str) -> dict:
    return {
        "status": "infeasible",
        "objective": None,
        "spend": None,
        "shortfall": None,
        "shortfall_usd": None,
        "stochastic": None,
        "reason": reason,
    }


def solve_stochastic(model: Model, scenario_files=(), strict: bool = False) -> dict:
    """The stochastic plan of ``model`` over its Scenarios sheet and the files.

    Returns the dict of reference.solve_reference, with "objective" = RP,
    "spend" and "shortfall_usd" the probability-weighted expectations, and the
    measures under "stochastic".
    """
    scenarios = list(model.scenarios) + [read_scenario_file(f) for f in scenario_files]
    names = [sc.name for sc in scenarios]
    pi = [sc.probability for sc in scenarios]
    base = scenario_data(model, [])
    datas = [scenario_data(model, sc.changes) for sc in scenarios]
    params = shared_params(model, base, datas)  # the same defaults for RP, WS, EV
    policy = model.policy
    risk = policy["risk"]

    rp = solve_scenarios(model, params, datas, pi, risk=risk, strict=strict)
    if rp.status != "optimal":
        return _infeasible_result("the stochastic problem is infeasible")

    # WS: each scenario alone (perfect foresight), combined by the same risk.
    # INTERPRETATION: WS under worst/cvar is the risk measure of the WS[s]
    # (each with its own F y; the measures are translation-invariant).
    ws_each = []
    for k in range(len(datas)):
        alone = solve_scenarios(model, params, [datas[k]], [1.0], strict=strict)
        assert alone.status == "optimal", "a scenario of a feasible RP is feasible alone"
        ws_each.append(alone.objective)
    ws = risk_value(ws_each, pi, policy)

    eev, reason = _eev(model, params, datas, pi, names, strict)

    scen = {}
    for k, name in enumerate(names):
        scen[name] = {
            "probability": pi[k],
            "spend": rp.spend[k],
            "shortfall_usd": rp.shortfall_usd[k],
            "cost": rp.cost[k],
            "WS": ws_each[k],
        }
    measures = {
        "RP": rp.objective,
        "WS": ws,
        "EEV": eev,
        "EVPI": rp.objective - ws,
        "VSS": None if eev is None else eev - rp.objective,
        "EEV_reason": reason,
        "scenarios": scen,
    }
    return {
        "status": "optimal",
        "objective": rp.objective,
        "spend": sum(p * v for p, v in zip(pi, rp.spend)),
        "shortfall": sum(p * v for p, v in zip(pi, rp.shortfall)),
        "shortfall_usd": sum(p * v for p, v in zip(pi, rp.shortfall_usd)),
        "stochastic": measures,
    }


def _eev(model, params, datas, pi, names, strict) -> tuple[float | None, str | None]:
    """EEV: solve the EV problem, fix its agreements and the decisions of every
    node common to all scenarios (and committed purchases), then solve the
    stochastic problem with them fixed.

    INTERPRETATION: "decisions of a node" are x, s, r, d of the periods where
    every scenario is in one node; committed periods fix x only. The reason of
    an infinite EEV names the first scenario infeasible alone with them fixed.
    """
    ev_data = mean_data(datas, pi)
    ev = solve_scenarios(model, params, [ev_data], [1.0], strict=strict)
    if ev.status != "optimal":
        return None, "the expected-value problem is infeasible"
    T = range(len(model.periods))
    rep = node_representatives(model, datas)
    common = {t for t in T if all(rep[k][t] == 0 for k in range(len(datas)))}
    ct = model.policy.get("commit_through")
    committed = {t for t in T if ct is not None and model.periods[t] <= ct}
    fixed = {
        "y": dict(ev.y),
        "x": {(i, t): v for (i, t), v in ev.x[0].items() if t in common | committed},
        "s": {(m, t): v for (m, t), v in ev.s[0].items() if t in common},
        "r": {(m, t): v for (m, t), v in ev.r[0].items() if t in common},
        "d": {(m, t): v for (m, t), v in ev.d[0].items() if t in common},
    }
    sol = solve_scenarios(model, params, datas, pi, risk=model.policy["risk"], strict=strict, fixed=fixed)
    if sol.status == "optimal":
        return sol.objective, None
    for k, name in enumerate(names):
        alone = solve_scenarios(model, params, [datas[k]], [1.0], strict=strict, fixed=fixed)
        if alone.status != "optimal":
            return None, f"the expected-value decisions are infeasible in scenario {name!r}"
    return None, "the expected-value decisions are infeasible in the stochastic problem"


def stochastic_measures(
    workbook_path: str | Path,
    scenario_files=(),
    model_file: str | Path | None = None,
    strict: bool = False,
) -> dict:
    """{"status", "RP", "WS", "EEV", "EVPI", "VSS", "EEV_reason", "scenarios":
    {name: {"probability", "spend", "shortfall_usd", "cost", "WS"}}}, to
    compare with procure's JSON ``stochastic`` object. When the stochastic
    problem is infeasible, status is "infeasible" and the figures are None."""
    result = solve_stochastic(read_model(workbook_path, model_file), scenario_files, strict=strict)
    if result["status"] != "optimal":
        return {"status": result["status"], "RP": None, "WS": None, "EEV": None, "EVPI": None,
                "VSS": None, "EEV_reason": result["reason"], "scenarios": {}}
    return {"status": "optimal", **result["stochastic"]}
