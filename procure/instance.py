"""Sets and data of the model (FORMULATION.md, "Sets and data"), as arrays.

From checked workbook data (a scenario already applied) this resolves every
default and exclusion and lays the model's data out as numpy arrays indexed by
position, so that :mod:`procure.formulation` can build constraint families in
bulk:

- ``O``: offers kept after excluding blocked offers, offers mined or processed
  in a blocked country, and offers scoring below ``min_esg_score``;
- offer-periods ``(o, t)``: one per period an offer covers, with price
  ``p[o,t]`` (USD/unit), capacity ``u[o,t]`` and minimum ``l[o,t] = min(l, u)``
  (units/period), after scenario shocks;
- per mineral and period: demand ``D`` and reserve target ``G`` (units), ``G = 0``
  in the mineral's release periods (STOCKPILE.md, :func:`release_periods`);
- per period: the budget ``Bt[t]`` (USD; the Budget sheet, else Policy
  ``budget_per_period``, else none);
- per mineral: initial reserve ``R0``, holding cost ``h`` (USD/unit/period),
  shortfall penalty ``P`` (USD/unit), reserve penalty ``Q`` (USD/unit/period),
  China cap ``a``, and a reference price (USD/unit) that values the mineral
  wherever quantities of different minerals are added up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from procure.data import (
    DemandFactor,
    Offer,
    OfferKind,
    Period,
    Policy,
    Shock,
    WorkbookData,
    period_in_range,
    shock_matches_offer,
)

CHINA_KEY = "china"


@dataclass(frozen=True)
class Exclusion:
    """An offer dropped before modelling, and why."""

    offer: Offer
    reason: str


@dataclass
class Instance:
    """Everything the model needs, by position. Quantities in each mineral's unit, money in USD."""

    data: WorkbookData
    policy: Policy
    periods: list[Period]
    mineral_keys: list[str]
    offers: list[Offer]  # the kept offers, O
    excluded: list[Exclusion]

    # per offer o
    offer_mineral: np.ndarray  # int, index into mineral_keys
    offer_country: np.ndarray  # int, index into country_keys (origin)
    offer_supplier: np.ndarray  # int, index into supplier_keys
    offer_exposure: np.ndarray  # e[o], China exposure share 0..1
    offer_ally: np.ndarray  # bool, origin or processing country is an ally
    offer_esg: np.ndarray  # g[o], 0 when blank
    offer_fixed_cost_usd: np.ndarray  # F[o]; 0 for spot offers
    offer_kind: np.ndarray  # str: spot | optional | signed
    offer_first_period: np.ndarray  # int, first covered period index

    # per offer-period k = (o, t)
    op_offer: np.ndarray
    op_period: np.ndarray
    op_price_usd: np.ndarray  # p[o,t]
    op_capacity: np.ndarray  # u[o,t]
    op_min_volume: np.ndarray  # l[o,t] = min(l, u)

    # per mineral m (rows) and period t (columns)
    demand: np.ndarray  # D[m,t]
    reserve_target: np.ndarray  # G[m,t], the EFFECTIVE target: 0 in a release period (constraint 2)
    reserve_target_nominal: np.ndarray  # the target as written (or from reserve_days), before release
    reserve_release: np.ndarray  # bool: t is a release period of m (a shock hits m, or rebuild follows)
    initial_reserve: np.ndarray  # R0[m]
    holding_cost_usd: np.ndarray  # h[m]
    shortfall_penalty_usd: np.ndarray  # P[m]
    reserve_penalty_usd: np.ndarray  # Q[m], per unit below target per period
    reference_price_usd: np.ndarray  # per mineral, USD/unit: values shortfall and reserve across minerals
    china_cap: np.ndarray  # a[m]

    country_keys: list[str]
    country_cap: np.ndarray  # b[c], per origin country
    supplier_keys: list[str]
    # per period t: Bt[t], USD that may be spent in t (constraint 10); NaN = no limit
    budget_by_period: np.ndarray
    units: list[str] = field(default_factory=list)

    @property
    def n_offer_periods(self) -> int:
        return len(self.op_offer)

    def weights(self) -> np.ndarray:
        """w[o,t]: 1 for quantity shares, the price for value shares."""
        if self.policy.share_basis == "value":
            return self.op_price_usd
        return np.ones(self.n_offer_periods)


def _is_concern(key: str, data: WorkbookData) -> bool:
    country = data.countries.get(key)
    if country is not None and country.concern is not None:
        return country.concern
    return key == CHINA_KEY


def _is_ally(key: str, data: WorkbookData) -> bool:
    country = data.countries.get(key)
    return bool(country and country.ally)


def _is_blocked(key: str, data: WorkbookData) -> bool:
    country = data.countries.get(key)
    return bool(country and country.blocked)


def _exclusion_reason(offer: Offer, data: WorkbookData) -> str | None:
    if offer.blocked:
        return "blocked offer"
    if _is_blocked(offer.country_key, data):
        return f"mined in a blocked country ({data.names.country(offer.country_key)})"
    if _is_blocked(offer.processing_country_key, data):
        return f"processed in a blocked country ({data.names.country(offer.processing_country_key)})"
    threshold = data.policy.min_esg_score
    if threshold is not None:
        if offer.esg_score is None:
            return f"no ESG score while min_esg_score is {threshold:g}"
        if offer.esg_score < threshold:
            return f"ESG score {offer.esg_score:g} below min_esg_score {threshold:g}"
    return None


def _canonical(offer: Offer) -> tuple:
    """Offers in an order that does not depend on row order; the row is the last tie-breaker."""
    none_last = lambda v: (v is None, v if v is not None else 0)  # noqa: E731
    return (offer.mineral_key, offer.supplier_key, offer.country_key, offer.processing_country_key,
            offer.period is not None, str(offer.period) if offer.period is not None else "",
            offer.agreement, offer.price_usd, offer.capacity, offer.min_volume, offer.fixed_cost_usd,
            none_last(offer.china_share), none_last(offer.esg_score), offer.blocked, offer.row)


def shock_factors(shocks: list[Shock], offers: list[Offer], periods: list[Period],
                  offer_index: np.ndarray, period_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Price and capacity multipliers for each offer-period ``(offer_index[k], period_index[k])``.

    A shock with a period filter applies only to the matching periods of an
    offer that covers every period, so its price and capacity become per period.
    """
    price = np.ones(len(offer_index))
    capacity = np.ones(len(offer_index))
    for shock in shocks:
        matching_offers = np.array([shock_matches_offer(shock, o) for o in offers], dtype=bool)
        matching_periods = np.array([period_in_range(p, shock.period_from, shock.period_to) for p in periods],
                                    dtype=bool)
        if not len(offer_index):
            continue
        hit = matching_offers[offer_index] & matching_periods[period_index]
        price[hit] *= shock.price_factor
        capacity[hit] *= shock.capacity_factor
    return price, capacity


def release_periods(hit: np.ndarray, rebuild_periods: int) -> np.ndarray:
    """The release periods of each mineral (STOCKPILE.md, "Release periods"), as a boolean mask.

    ``hit`` is a (minerals x periods) boolean matrix: ``hit[m, t]`` when a shock hits
    mineral m in period t (:func:`shock_hits`). The release periods of m are the periods
    it is hit and the ``rebuild_periods`` periods (an integer >= 0) that follow each run
    of them, within the horizon::

        release[m, t] = OR over k = 0..rebuild_periods of hit[m, t - k]   (t - k >= 0)

    (t follows a run ending in e <= t within ``rebuild_periods`` exactly when some
    hit lies in ``t - rebuild_periods .. t``). In a release period the reserve target
    ``G[m, t]`` is 0 (FORMULATION.md constraint 2). Returns a new array of ``hit``'s shape.
    """
    hit = np.asarray(hit, dtype=bool)
    if rebuild_periods < 0:
        raise ValueError(f"rebuild_periods must be >= 0, not {rebuild_periods}")
    release = hit.copy()
    for k in range(1, min(int(rebuild_periods), hit.shape[-1]) + 1):
        release[..., k:] |= hit[..., :-k]
    return release


def shock_hits(shocks: list[Shock], demand_changes: list[DemandFactor], mineral_keys: list[str],
               periods: list[Period], offers: list[Offer], offer_mineral: np.ndarray, op_offer: np.ndarray,
               op_period: np.ndarray) -> np.ndarray:
    """``hit[m, t]`` (bool, minerals x periods): a shock hits mineral m in period t (STOCKPILE.md).

    A shock entry in force in t hits m when it matches a kept offer of m covering t
    (``offers``, with offer-periods ``op_offer``/``op_period``) with a capacity
    multiplier below 1 or a price multiplier above 1, or when a demand change in
    force in t matches m (its mineral filter) with a multiplier above 1 or an
    addition above 0. Each entry is judged on its own multipliers: two entries
    whose product is 1 both count.
    """
    hit = np.zeros((len(mineral_keys), len(periods)), dtype=bool)
    for shock in shocks:
        if not (shock.capacity_factor < 1 or shock.price_factor > 1) or not len(op_offer):
            continue
        matching_offers = np.array([shock_matches_offer(shock, o) for o in offers], dtype=bool)
        in_force = np.array([period_in_range(p, shock.period_from, shock.period_to) for p in periods], dtype=bool)
        k = matching_offers[op_offer] & in_force[op_period]
        hit[offer_mineral[op_offer[k]], op_period[k]] = True
    for change in demand_changes:
        if not (change.factor > 1 or change.add > 0):
            continue
        minerals = np.array([change.minerals is None or key in change.minerals for key in mineral_keys], dtype=bool)
        in_force = np.array([period_in_range(p, change.period_from, change.period_to) for p in periods], dtype=bool)
        hit |= minerals[:, None] & in_force[None, :]
    return hit


def build_instance(data: WorkbookData) -> Instance:
    """Resolve defaults and exclusions of ``data`` into the model's sets and data."""
    policy = data.policy
    periods = list(data.periods)
    period_pos = {p: i for i, p in enumerate(periods)}
    # canonical order (not sheet order): shuffled rows must give the same model and the same plan
    mineral_keys = sorted(data.minerals)
    mineral_pos = {k: i for i, k in enumerate(mineral_keys)}
    n_m, n_t = len(mineral_keys), len(periods)

    kept: list[Offer] = []
    excluded: list[Exclusion] = []
    for offer in sorted(data.offers, key=_canonical):
        reason = _exclusion_reason(offer, data)
        if reason is None:
            kept.append(offer)
        else:
            excluded.append(Exclusion(offer, reason))

    country_keys = sorted({o.country_key for o in kept})
    country_pos = {k: i for i, k in enumerate(country_keys)}
    supplier_keys = sorted({o.supplier_key for o in kept})
    supplier_pos = {k: i for i, k in enumerate(supplier_keys)}

    n_o = len(kept)
    offer_mineral = np.array([mineral_pos[o.mineral_key] for o in kept], dtype=np.int64)
    offer_country = np.array([country_pos[o.country_key] for o in kept], dtype=np.int64)
    offer_supplier = np.array([supplier_pos[o.supplier_key] for o in kept], dtype=np.int64)
    exposure = np.array([
        o.china_share if o.china_share is not None
        else (1.0 if _is_concern(o.country_key, data) or _is_concern(o.processing_country_key, data) else 0.0)
        for o in kept], dtype=float)
    ally = np.array([_is_ally(o.country_key, data) or _is_ally(o.processing_country_key, data)
                     for o in kept], dtype=bool)
    esg = np.array([o.esg_score if o.esg_score is not None else 0.0 for o in kept], dtype=float)
    kind = np.array([o.agreement for o in kept], dtype=object)
    fixed = np.array([o.fixed_cost_usd if o.agreement != OfferKind.SPOT else 0.0 for o in kept], dtype=float)
    first_period = np.array([0 if o.period is None else period_pos[o.period] for o in kept], dtype=np.int64)

    # offer-periods: an all-period offer covers every period, a dated one its own
    covers = [range(n_t) if o.period is None else (period_pos[o.period],) for o in kept]
    counts = np.array([len(c) for c in covers], dtype=np.int64)
    op_offer = np.repeat(np.arange(n_o, dtype=np.int64), counts)
    op_period = np.fromiter((t for c in covers for t in c), dtype=np.int64, count=int(counts.sum()))
    base_price = np.array([o.price_usd for o in kept], dtype=float)
    base_capacity = np.array([o.capacity for o in kept], dtype=float)
    base_min = np.array([o.min_volume for o in kept], dtype=float)
    price_factor, capacity_factor = shock_factors(data.shocks, kept, periods, op_offer, op_period)
    op_price = base_price[op_offer] * price_factor if n_o else np.zeros(0)
    op_capacity = base_capacity[op_offer] * capacity_factor if n_o else np.zeros(0)
    op_min = np.minimum(base_min[op_offer], op_capacity) if n_o else np.zeros(0)

    demand = np.zeros((n_m, n_t))
    target = np.zeros((n_m, n_t))
    for (mineral_key, period), row in data.demand.items():
        m, t = mineral_pos[mineral_key], period_pos[period]
        demand[m, t] = row.demand
        if row.reserve_target is not None:
            target[m, t] = row.reserve_target
        elif policy.reserve_days is not None:
            basis = row.demand if row.reserve_basis is None else row.reserve_basis
            target[m, t] = policy.reserve_days / policy.days_per_period * basis
    # STOCKPILE.md, release periods: the reserve exists for the shock, so its target yields when one hits
    hit = shock_hits(data.shocks, data.demand_changes, mineral_keys, periods, kept, offer_mineral,
                     op_offer, op_period)
    release = release_periods(hit, policy.rebuild_periods)
    effective_target = np.where(release, 0.0, target)
    budget_by_period = np.array([
        data.period_budgets.get(p, policy.budget_per_period if policy.budget_per_period is not None else np.nan)
        for p in periods], dtype=float)

    shortfall_penalty, reserve_penalty = _penalties(data, mineral_keys, offer_mineral, op_offer, op_price)
    reference_price = _reference_prices(data, mineral_keys, offer_mineral[op_offer], op_price)
    minerals = [data.minerals[k] for k in mineral_keys]
    china_cap = np.array([m.max_china_share if m.max_china_share is not None else policy.max_china_share
                          for m in minerals], dtype=float)
    country_cap = np.array([
        data.countries[k].max_share
        if k in data.countries and data.countries[k].max_share is not None
        else policy.max_country_share
        for k in country_keys], dtype=float)

    return Instance(
        data=data, policy=policy, periods=periods, mineral_keys=mineral_keys, offers=kept,
        excluded=excluded, offer_mineral=offer_mineral, offer_country=offer_country,
        offer_supplier=offer_supplier, offer_exposure=exposure, offer_ally=ally, offer_esg=esg,
        offer_fixed_cost_usd=fixed, offer_kind=kind, offer_first_period=first_period,
        op_offer=op_offer, op_period=op_period, op_price_usd=op_price, op_capacity=op_capacity,
        op_min_volume=op_min, demand=demand, reserve_target=effective_target, reserve_target_nominal=target,
        reserve_release=release, budget_by_period=budget_by_period,
        initial_reserve=np.array([m.initial_reserve for m in minerals], dtype=float),
        holding_cost_usd=np.array([m.holding_cost_usd for m in minerals], dtype=float),
        shortfall_penalty_usd=shortfall_penalty, reserve_penalty_usd=reserve_penalty,
        reference_price_usd=reference_price,
        china_cap=china_cap, country_keys=country_keys, country_cap=country_cap,
        supplier_keys=supplier_keys, units=[m.unit for m in minerals],
    )


def _penalties(data, mineral_keys, offer_mineral, op_offer, op_price):
    """P[m] and Q[m] with WORKBOOK.md's defaults.

    P defaults to 10 x the highest price offered for the mineral, over kept
    offers at their shocked prices in any period; with no offer for the
    mineral, over any mineral; with no offers at all, 1. Q defaults to
    P / (number of periods + 1): a unit held below target through every period
    then costs less than one unit of unmet demand, so the reserve is drawn down
    before demand goes unmet.
    """
    n_m = len(mineral_keys)
    n_t = len(data.periods)
    highest = np.full(n_m, -np.inf)
    if len(op_offer):
        np.maximum.at(highest, offer_mineral[op_offer], op_price)
    overall = float(op_price.max()) if len(op_price) else None
    shortfall = np.empty(n_m)
    reserve = np.empty(n_m)
    for m, key in enumerate(mineral_keys):
        mineral = data.minerals[key]
        if mineral.shortfall_penalty_usd is not None:
            shortfall[m] = mineral.shortfall_penalty_usd
        elif np.isfinite(highest[m]):
            shortfall[m] = 10.0 * highest[m]
        elif overall is not None:
            shortfall[m] = 10.0 * overall
        else:
            shortfall[m] = 1.0
        reserve[m] = (mineral.reserve_penalty_usd if mineral.reserve_penalty_usd is not None
                      else shortfall[m] / (n_t + 1))
    return shortfall, reserve


def _reference_prices(data, mineral_keys, op_mineral, op_price) -> np.ndarray:
    """USD/unit per mineral (WORKBOOK.md, Minerals ``reference_price``).

    Default: the median (numpy's: the mean of the middle two for an even count)
    of the mineral's offer-period prices after exclusions and scenario shocks;
    1 when the mineral has no offer-period.
    """
    reference = np.ones(len(mineral_keys))
    for m, key in enumerate(mineral_keys):
        given = data.minerals[key].reference_price_usd
        if given is not None:
            reference[m] = given
        else:
            prices = op_price[op_mineral == m]
            if len(prices):
                reference[m] = float(np.median(prices))
    return reference
