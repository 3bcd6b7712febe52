"""The scenario fan of a plan (STOCKPILE.md): each scenario's data and instance, sharing their defaults.

A plan is a fan of scenarios with probabilities. A deterministic plan is the
fan of one scenario of probability 1 with no shocks: the base data itself.
Scenario ``s``'s data is the base data (``--model`` already applied) with the
scenario's shocks and demand changes, applied as ``--model`` applies its own
(:func:`procure.scenario.changed_demand`), so one scenario with no shocks is
the base data exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from procure.data import Period, StochasticScenario, WorkbookData
from procure.instance import Instance, build_instance
from procure.scenario import changed_demand, check_scenarios


def scenario_data(base: WorkbookData, scenario: StochasticScenario) -> WorkbookData:
    """``base`` (``--model`` already applied) with the scenario's shocks and demand changes.

    Demand changes combine with the base demand exactly as ``[[demand]]`` entries of
    ``--model`` do (:func:`procure.scenario.changed_demand`): ``D x (product of
    matching factors) + (sum of matching adds)``, an addition creating a missing
    pair, and a target derived from ``reserve_days`` keeping its basis (the demand
    before the scenario's additions, and before ``--model``'s). The shocks and demand changes
    are kept on the data (``shocks``, ``demand_changes``: --model's, then the scenario's) so
    the scenario's instance finds its release periods (STOCKPILE.md).
    """
    if not scenario.shocks and not scenario.demand_changes:
        return base.with_changes(scenario_description=scenario.description or base.scenario_description)
    return base.with_changes(demand=changed_demand(base, list(scenario.demand_changes)),
                             shocks=list(base.shocks) + list(scenario.shocks),
                             demand_changes=list(base.demand_changes) + list(scenario.demand_changes),
                             scenario_description=scenario.description)


# ---------------------------------------------------------------- shared defaults


def share_defaults(base: Instance, instances: list[Instance]) -> None:
    """Penalty defaults computed once, over the base data and every scenario's shocked prices (in place).

    For a mineral without an explicit ``shortfall_penalty`` each instance's default
    is 10 x its highest price (or its fallback); the largest over all instances is
    10 x the highest price over all of them. A defaulted reserve penalty keeps its
    ratio to the shortfall penalty, whatever rule :mod:`procure.instance` uses.
    """
    minerals = [base.data.minerals[k] for k in base.mineral_keys]
    explicit_p = np.array([m.shortfall_penalty_usd is not None for m in minerals], dtype=bool)
    explicit_q = np.array([m.reserve_penalty_usd is not None for m in minerals], dtype=bool)
    shortfall = np.max([inst.shortfall_penalty_usd for inst in [base, *instances]], axis=0)
    shortfall = np.where(explicit_p, base.shortfall_penalty_usd, shortfall)
    for inst in [base, *instances]:
        ratio = np.divide(inst.reserve_penalty_usd, inst.shortfall_penalty_usd,
                          out=np.zeros_like(shortfall), where=inst.shortfall_penalty_usd > 0)
        inst.reserve_penalty_usd = np.where(explicit_q, inst.reserve_penalty_usd, ratio * shortfall)
        inst.shortfall_penalty_usd = shortfall.copy()



# ---------------------------------------------------------------- solving and the measures


@dataclass
class Fan:
    """The scenarios of a plan with their instances, sharing their price-derived defaults (one for a
    deterministic plan)."""

    base_data: WorkbookData
    base: Instance  # the data after --model, before any scenario's shocks
    scenarios: list[StochasticScenario]
    instances: list[Instance]
    probabilities: np.ndarray
    reference_price_usd: np.ndarray  # per mineral, USD/unit, from the base data

    @property
    def names(self) -> list[str]:
        return [sc.name for sc in self.scenarios]

    def changed(self, change: Callable[[Instance], Instance]) -> Fan:
        """This fan with every scenario's instance, and the base, changed alike (a rule switched off, a
        cap or a budget set)."""
        return replace(self, base=change(self.base), instances=[change(inst) for inst in self.instances])


def base_scenario(data: WorkbookData) -> StochasticScenario:
    """The one scenario of a deterministic plan: the base data, probability 1, no shocks."""
    return StochasticScenario(data.policy.scenario, 1.0, data.scenario_description)


def prepare(base_data: WorkbookData, scenarios: list[StochasticScenario]) -> Fan:
    """Check the scenarios ([]: the base data as one scenario), build each one's instance, and share the
    penalty defaults and the reference prices (the base data's) between them."""
    scenarios = list(scenarios) or [base_scenario(base_data)]
    check_scenarios(scenarios)
    base = build_instance(base_data)
    if len(scenarios) == 1 and not scenarios[0].shocks and not scenarios[0].demand_changes:
        instances = [base]  # the base data itself
    else:
        instances = [build_instance(scenario_data(base_data, sc)) for sc in scenarios]
        share_defaults(base, instances)
    for inst in instances:
        inst.reference_price_usd = base.reference_price_usd
    return Fan(base_data, base, scenarios, instances,
               np.array([sc.probability for sc in scenarios], dtype=float), base.reference_price_usd)


def expected_value_instance(fan: Fan) -> Instance:
    """The EV problem: one scenario whose data are the probability-weighted means of the scenarios' data.

    Prices p[o,t] (USD/unit), capacities u[o,t] and minimum volumes l[o,t] (units/period), demand D[m,t]
    and reserve targets G[m,t] (units) are each ``sum_s pi[s] x (scenario s's value)``. The targets
    averaged are the EFFECTIVE ones (0 in a scenario's release periods, STOCKPILE.md): a target
    suspended in a shocked scenario weighs 0 in the mean, so ``G_EV[m,t] = sum over the scenarios
    where t is not a release period of m of pi[s] G[m,t]``. The nominal targets are averaged alike;
    a period is a release period of the EV problem when it is one in every scenario.
    """
    pi = fan.probabilities

    def mean(attr):
        return np.tensordot(pi, np.array([getattr(inst, attr) for inst in fan.instances]), axes=1)

    return replace(fan.instances[0], op_price_usd=mean("op_price_usd"), op_capacity=mean("op_capacity"),
                   op_min_volume=mean("op_min_volume"), demand=mean("demand"),
                   reserve_target=mean("reserve_target"), reserve_target_nominal=mean("reserve_target_nominal"),
                   # released in the EV problem where released in every scenario (G_EV is then 0)
                   reserve_release=np.logical_and.reduce([inst.reserve_release for inst in fan.instances]))


def risk_settings(policy) -> tuple[str, float, float, Period | None]:
    """(risk, risk_level, risk_weight, commit_through) from the Policy, with STOCKPILE.md's defaults."""
    return (getattr(policy, "risk", "expected"), getattr(policy, "risk_level", 0.9),
            getattr(policy, "risk_weight", 1.0), getattr(policy, "commit_through", None))


