"""The typed input data: what :mod:`procure.validate` produces from a workbook.

Plain dataclasses, no pandas. Keys (``*_key``) are the normalised form used for
matching (trimmed, Unicode NFKC, case-folded); names are the first spelling seen,
used in every output. Quantities are in each mineral's own unit, money in USD.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Literal

from procure.errors import Problem

Period = int | str
class OfferKind(StrEnum):
    """An offer's ``agreement`` (WORKBOOK.md): bought freely, a contract procure may sign, or one in force."""

    SPOT = "spot"
    OPTIONAL = "optional"
    SIGNED = "signed"


AGREEMENT_KINDS = tuple(OfferKind)
SHARE_BASES = ("quantity", "value")
RISKS = ("expected", "worst", "cvar")


def normalize_key(text: str) -> str:
    """Keys match case-insensitively after trimming; NFKC folds look-alike Unicode forms."""
    return unicodedata.normalize("NFKC", str(text)).strip().casefold()


@dataclass(frozen=True)
class Mineral:
    """One row of Minerals. ``None`` means "take the default" (resolved in :mod:`procure.instance`)."""

    key: str
    name: str
    unit: str = "t"
    max_china_share: float | None = None
    shortfall_penalty_usd: float | None = None  # USD per unit of unmet demand
    reserve_penalty_usd: float | None = None  # USD per unit of reserve below target, per period
    reference_price_usd: float | None = None  # USD per unit: values this mineral where minerals are added up
    holding_cost_usd: float = 0.0  # USD per unit held per period
    initial_reserve: float = 0.0  # units
    row: int | None = None


@dataclass(frozen=True)
class DemandRow:
    """One row of Demand: ``demand`` and ``reserve_target`` in the mineral's unit."""

    mineral_key: str
    period: Period
    demand: float
    reserve_target: float | None = None
    row: int | None = None  # None: a pair a scenario's addition created
    # demand a reserve_days target is taken of: after scenario multipliers, before additions
    # (STOCKPILE.md); None: ``demand``
    reserve_basis: float | None = None


@dataclass(frozen=True)
class Offer:
    """One row of Offers: a supplier's price (USD/unit) and capacity (units/period) for one mineral."""

    row: int
    supplier: str
    supplier_key: str
    country_key: str
    mineral_key: str
    price_usd: float
    capacity: float
    period: Period | None = None  # None: every period
    processing_key: str | None = None  # None: same as country
    china_share: float | None = None  # None: from concern countries
    esg_score: float | None = None
    agreement: OfferKind = OfferKind.SPOT
    min_volume: float = 0.0
    fixed_cost_usd: float = 0.0
    blocked: bool = False

    @property
    def processing_country_key(self) -> str:
        return self.processing_key if self.processing_key is not None else self.country_key

    def offer_id(self, names: "Names") -> str:
        """``supplier / mineral / period-or-all / row N``, as WORKBOOK.md names an offer."""
        period = "all" if self.period is None else str(self.period)
        return f"{self.supplier} / {names.mineral(self.mineral_key)} / {period} / row {self.row}"


@dataclass(frozen=True)
class Country:
    """One row of Countries. ``concern`` None means the default (yes for China only)."""

    key: str
    concern: bool | None = None
    ally: bool = False
    max_share: float | None = None
    blocked: bool = False
    row: int | None = None


@dataclass(frozen=True)
class Policy:
    """The Policy sheet, every key with its WORKBOOK.md default."""

    max_china_share: float = 1.0
    max_country_share: float = 1.0
    max_supplier_share: float = 1.0
    share_basis: Literal["quantity", "value"] = "quantity"
    min_ally_share: float = 0.0
    min_esg_score: float | None = None
    min_avg_esg: float | None = None
    reserve_days: float | None = None
    days_per_period: float = 365.0
    budget_total: float | None = None  # USD over the horizon
    budget_per_period: float | None = None  # USD in any one period not listed on the Budget sheet
    scenario: str = "base"
    # stochastic plans (STOCKPILE.md)
    commit_through: Period | None = None  # purchases up to and including this period are common to all scenarios
    risk: Literal["expected", "worst", "cvar"] = "expected"  # how scenario costs are combined
    risk_level: float = 0.9  # CVaR confidence level alpha, 0 < alpha < 1
    risk_weight: float = 1.0  # weight lambda of CVaR against the expectation, 0..1
    # periods after a run of shocks during which a mineral's reserve target stays suspended (STOCKPILE.md)
    rebuild_periods: int = 1


@dataclass
class Names:
    """Display spellings: the first one seen for each key."""

    minerals: dict[str, str] = field(default_factory=dict)
    countries: dict[str, str] = field(default_factory=dict)
    suppliers: dict[str, str] = field(default_factory=dict)

    def mineral(self, key: str) -> str:
        return self.minerals.get(key, key)

    def country(self, key: str) -> str:
        return self.countries.get(key, key)

    def supplier(self, key: str) -> str:
        return self.suppliers.get(key, key)


@dataclass(frozen=True)
class Shock:
    """A scenario's multipliers on matching offers: price and capacity, per matching period.

    Each filter is ``None`` (no filter) or a tuple of keys; periods are inclusive bounds.
    """

    capacity_factor: float = 1.0
    price_factor: float = 1.0
    suppliers: tuple[str, ...] | None = None
    countries: tuple[str, ...] | None = None
    processing_countries: tuple[str, ...] | None = None
    minerals: tuple[str, ...] | None = None
    period_from: Period | None = None
    period_to: Period | None = None


def period_in_range(period, low, high) -> bool:
    """Whether ``period`` lies within the inclusive bounds ``low``..``high`` (None: open)."""
    return (low is None or period >= low) and (high is None or period <= high)


def shock_matches_offer(shock: Shock, offer: Offer) -> bool:
    """Whether a shock's key filters match an offer (periods are matched per offer-period)."""
    return ((shock.suppliers is None or offer.supplier_key in shock.suppliers)
            and (shock.countries is None or offer.country_key in shock.countries)
            and (shock.processing_countries is None
                 or offer.processing_country_key in shock.processing_countries)
            and (shock.minerals is None or offer.mineral_key in shock.minerals))


@dataclass(frozen=True)
class DemandFactor:
    """A demand change (a ``[[demand]]`` entry, or a Shocks sheet's demand row): demand of matching
    (mineral, period) pairs is multiplied by ``factor`` and then ``add`` units are added (per period),
    as :func:`procure.scenario.changed_demand` combines them."""

    factor: float = 1.0
    add: float = 0.0  # units of the mineral per period
    minerals: tuple[str, ...] | None = None
    period_from: Period | None = None
    period_to: Period | None = None


@dataclass
class StochasticScenario:
    """One scenario of a plan (STOCKPILE.md): a name, its probability and the shocks that make it.

    A deterministic plan is one scenario of probability 1 with no shocks: the base data.
    """

    name: str
    probability: float
    description: str = ""
    shocks: list[Shock] = field(default_factory=list)
    demand_changes: list[DemandFactor] = field(default_factory=list)
    source: str = ""  # where it was defined, for messages ("sheet 'Scenarios' row 3", a file path)


@dataclass
class WorkbookData:
    """A checked workbook (and, after :func:`procure.scenario.apply`, a scenario applied to it)."""

    source: Path
    sha256: str
    minerals: dict[str, Mineral]  # in sheet order
    periods: list[Period]  # sorted
    demand: dict[tuple[str, Period], DemandRow]
    offers: list[Offer]  # in sheet order
    countries: dict[str, Country]
    policy: Policy
    names: Names
    warnings: list[Problem] = field(default_factory=list)
    shocks: list[Shock] = field(default_factory=list)
    scenario_description: str = ""
    # the scenarios of a stochastic plan (Scenarios/Shocks sheets, --scenario files); [] for a plain plan
    scenarios: list[StochasticScenario] = field(default_factory=list)
    # the demand changes already applied into ``demand`` (--model's, then a scenario's): kept so that the
    # instance knows which demand a shock raised (its release periods, STOCKPILE.md)
    demand_changes: list[DemandFactor] = field(default_factory=list)
    # the Budget sheet: USD that may be spent in each listed period (FORMULATION.md constraint 10, Bt[t])
    period_budgets: dict[Period, float] = field(default_factory=dict)

    def with_changes(self, **changes) -> "WorkbookData":
        return replace(self, **changes)
