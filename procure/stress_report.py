"""The figures of a stress test (STOCKPILE.md): statistics, the stress workbook's tables, and its JSON.

Statistics are over the draws that solved (failed draws are listed apart).
Shortfall of a mineral in a draw is summed over the periods, in the mineral's
unit; its value in USD is that times the mineral's reference price. The total
shortfall value of a draw is the sum of its minerals' values (USD only: units
of different minerals are never added). A draw's spend is money only (USD):
purchases at the draw's prices, holding costs and the agreements' fixed costs,
committed and recourse alike, never a penalty.

95% intervals of means are bootstrap percentile intervals (:func:`mean_intervals`):
each end is the mean of a resample of the draws, so an interval never leaves the
range of the values (a shortfall's lower end is never negative), where the normal
interval ``mean +- 1.96 s / sqrt(n)`` of a rare, skewed shortfall went below 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from procure import fmt
from procure.instance import Instance
from procure.items import Item, Kind
from procure.risks import RiskEvent
from procure.stress import Draws, RecourseBase, sample_events

PERCENTILES = (50, 90, 95, 99)
SPEND_PERCENTILES = (5, 50, 95)
CVAR_LEVEL = 0.95
WORST_DRAWS = 20
HISTOGRAM_BINS = 20  # at most, besides the bin of draws without shortfall
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_STREAM = 0xB0075  # the bootstrap's own random stream beside the draws' (SeedSequence([seed, this]))
INTERVAL_METHOD = (f"bootstrap percentile interval: the 2.5th and 97.5th percentiles of the means of "
                   f"{BOOTSTRAP_RESAMPLES:,} resamples of the solved draws (drawn with replacement from a stream "
                   "seeded by the seed); it stays within the range of the draws' values, so a shortfall's lower "
                   "end is never negative")
FORESIGHT_TEXT = {
    "none": "none: each period's decisions know only the events started by then (each lasting its stated "
            "duration) and assume no new one",
    "full": "full: each draw's recourse knows the draw's whole future, so every figure is an OPTIMISTIC BOUND",
}
OPTIMISTIC = "full foresight: an optimistic bound"


def reference_price_usd(inst: Instance) -> np.ndarray:
    """Per mineral, USD/unit: ``Instance.reference_price_usd`` when the instance has it, else
    the spec default: the median of the mineral's (offer, period) prices after exclusions and
    ``--model`` shocks (numpy median), 1 when the mineral has no offer."""
    given = getattr(inst, "reference_price_usd", None)
    if given is not None:
        return np.asarray(given, dtype=float)
    mineral_of_k = inst.offer_mineral[inst.op_offer]
    return np.array([float(np.median(inst.op_price_usd[mineral_of_k == m])) if (mineral_of_k == m).any() else 1.0
                     for m in range(len(inst.mineral_keys))])


def cvar(values: np.ndarray, level: float = CVAR_LEVEL) -> float:
    """CVaR at ``level`` of an equally likely sample: the mean of its worst ``1 - level`` of probability.

    Rockafellar-Uryasev on the empirical distribution: with n draws sorted
    descending, the largest ``floor(n (1 - level))`` count in full and the next
    one with the remaining fraction of weight.
    """
    values = np.sort(np.asarray(values, dtype=float))[::-1]
    n = len(values)
    if n == 0:
        return math.nan
    tail = n * (1.0 - level)
    whole = int(math.floor(tail + 1e-9))
    total = values[:whole].sum()
    if whole < n and tail - whole > 1e-9:
        total += (tail - whole) * values[whole]
    return float(total / tail)


def mean_intervals(values: np.ndarray, seed: int, resamples: int = BOOTSTRAP_RESAMPLES) -> np.ndarray:
    """95% bootstrap percentile intervals of the mean of each column of ``values`` (draws x columns):
    (columns, 2).

    ``resamples`` resamples of the n rows, drawn with replacement (the same resamples for every
    column) from the stream ``SeedSequence([seed, BOOTSTRAP_STREAM])``, so the interval is
    reproducible from the seed and independent of how the draws were computed. Each resample's
    mean is ``counts @ values / n`` (counts: how often each row was drawn); the interval is the
    2.5th and 97.5th percentiles of those means (numpy's linear rule), clipped to the sample mean's
    side where floating-point sums differ in the last bit. A mean of a constant column has the
    interval [value, value].
    """
    values = np.asarray(values, dtype=float)
    n, columns = values.shape
    if n == 0:
        return np.full((columns, 2), np.nan)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), BOOTSTRAP_STREAM]))
    means = np.empty((resamples, columns))
    batch = max(1, min(resamples, 2_000_000 // max(n, 1)))  # bounded memory: batch x n counts at a time
    for first in range(0, resamples, batch):
        size = min(batch, resamples - first)
        picks = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
        counts = np.bincount(picks.ravel(), minlength=size * n).reshape(size, n).astype(float)
        means[first:first + size] = counts @ values / n
    low, high = np.percentile(means, [2.5, 97.5], axis=0)
    smallest, largest = values.min(axis=0), values.max(axis=0)
    return np.stack([np.clip(low, smallest, largest), np.clip(high, smallest, largest)], axis=1)


def _summary(values: np.ndarray, interval, percentiles=PERCENTILES) -> dict:
    """Mean with its 95% interval (``interval``: from :func:`mean_intervals`), and the percentiles
    (numpy's linear rule)."""
    n = len(values)
    if n == 0:
        return {"mean": None, "mean_ci95": [None, None], **{f"p{q}": None for q in percentiles}}
    result = {"mean": float(values.mean()), "mean_ci95": [float(interval[0]), float(interval[1])]}
    for q, value in zip(percentiles, np.percentile(values, percentiles)):
        result[f"p{q}"] = float(value)
    return result


@dataclass
class StressResult:
    """Everything a stress test reports: the JSON, the workbook's tables with each column's kind, and the
    Summary items."""

    json: dict
    tables: dict[str, pd.DataFrame]
    kinds: dict[str, dict[str, Kind]]
    summary: list[Item]
    total_usd: np.ndarray  # per solved draw
    foresight: str = "none"


def event_starts(base: RecourseBase, events: list[RiskEvent], periods: list, seed: int, draw: int) -> list[tuple]:
    """The events that hit draw ``draw``: (event name, start period) per start, by period then sheet order."""
    _, started = sample_events(base.masks, len(periods), seed, draw)
    return [(events[e].name, periods[t]) for t in range(len(periods)) for e in range(len(events)) if started[e, t]]


def event_labels(base: RecourseBase, events: list[RiskEvent], periods: list, seed: int, draw: int) -> list[str]:
    """The events that hit draw ``draw``: ``"<event> <start period>"`` per start, by period then sheet order."""
    return [f"{name} {fmt.period(period)}" for name, period in event_starts(base, events, periods, seed, draw)]


def build_result(inst: Instance, base: RecourseBase, events: list[RiskEvent], draws: Draws, seed: int,
                 commit_through: int, hashes: dict[str, str]) -> StressResult:
    """Statistics, tables and JSON of ``draws``. ``hashes``: SHA-256 of the workbook (``input``), and of
    the ``model`` and ``plan`` files when given."""
    n = len(draws.relaxed)
    foresight = draws.foresight
    solved = np.array([i not in draws.failures for i in range(n)], dtype=bool)
    shortfall = draws.shortfall[solved]
    released = draws.released[solved]
    spend = draws.spend[solved]
    price = reference_price_usd(inst)
    total_usd = shortfall @ price
    names = [inst.data.names.mineral(k) for k in inst.mineral_keys]
    units = list(inst.units)
    # one set of resamples for every mean: the minerals' shortfall, the total shortfall value, the spend
    intervals = mean_intervals(np.column_stack([shortfall, total_usd, spend]), seed)
    minerals_json, quantity_rows, value_rows = {}, [], []
    for m, name in enumerate(names):
        figures = _summary(shortfall[:, m], intervals[m])
        p_short = float((shortfall[:, m] > 0).mean()) if len(shortfall) else None
        usd = {key: (None if value is None else value * price[m]) for key, value in figures.items()
               if key != "mean_ci95"}
        usd_ci = [None if v is None else v * price[m] for v in figures["mean_ci95"]]
        released_mean = float(released[:, m].mean()) if len(released) else None
        minerals_json[name] = {
            "unit": units[m], "p_shortfall": p_short, "mean": figures["mean"], "mean_ci95": figures["mean_ci95"],
            **{f"p{q}": figures[f"p{q}"] for q in PERCENTILES},
            "mean_usd": usd["mean"], "p95_usd": usd["p95"], "reserve_released_mean": released_mean,
        }
        quantity_rows.append([name, units[m], p_short, figures["mean"], *figures["mean_ci95"],
                              *[figures[f"p{q}"] for q in PERCENTILES], released_mean])
        value_rows.append([name, units[m], float(price[m]), usd["mean"], *usd_ci, *[usd[f"p{q}"] for q in PERCENTILES]])
    total = _summary(total_usd, intervals[len(names)])
    total["cvar95"] = cvar(total_usd) if len(total_usd) else None
    spend_figures = _summary(spend, intervals[len(names) + 1], SPEND_PERCENTILES)
    draw_index = np.flatnonzero(solved)
    positive = draw_index[total_usd > 0]
    value_of = dict(zip(draw_index.tolist(), total_usd.tolist()))
    spend_of = dict(zip(draw_index.tolist(), spend.tolist()))
    order = sorted(positive.tolist(), key=lambda i: (-value_of[i], i))
    worst = [{"draw": int(i), "shortfall_usd": float(value_of[i]),
              "events": event_labels(base, events, inst.periods, seed, i)} for i in order[:WORST_DRAWS]]
    period_label = fmt.period(inst.periods[commit_through])
    doc = {
        "draws": int(n), "seed": int(seed), "commit_through": period_label, "foresight": foresight,
        "failed_draws": [int(i) for i in draws.failures],
        "spend_usd": spend_figures,
        "input_sha256": hashes["input"],
        "total_shortfall_usd": total,
        "minerals": minerals_json,
        "worst": worst,
    }
    tables, kinds = _tables(inst, base, events, draws, seed, names, quantity_rows, value_rows, worst, spend_of,
                            total_usd, price)
    summary = _summary_items(n, solved, draws, seed, period_label, foresight, total, total_usd, spend_figures,
                             hashes)
    return StressResult(doc, tables, kinds, summary, total_usd, foresight)


QUANTITY_COLUMNS = ["Mineral", "Unit", "Share of draws with a shortfall", "Mean shortfall",
                    "Mean shortfall: 95% interval low", "Mean shortfall: 95% interval high",
                    "50th percentile", "90th percentile", "95th percentile", "99th percentile",
                    "Mean reserve released"]
VALUE_COLUMNS = ["Mineral", "Unit", "Reference price (USD per unit)", "Mean shortfall value (USD)",
                 "Mean: 95% interval low (USD)", "Mean: 95% interval high (USD)", "50th percentile (USD)",
                 "90th percentile (USD)", "95th percentile (USD)", "99th percentile (USD)"]


def _tables(inst, base, events, draws, seed, names, quantity_rows, value_rows, worst, spend_of, total_usd,
            price_of):
    """The workbook's tables (headers in words, quantities beside their unit) and each column's kind."""
    tables: dict[str, pd.DataFrame] = {}
    kinds: dict[str, dict[str, Kind]] = {}
    tables["Shortfall"] = pd.DataFrame(quantity_rows, columns=QUANTITY_COLUMNS)
    kinds["Shortfall"] = {"Mineral": Kind.TEXT, "Unit": Kind.TEXT, "Share of draws with a shortfall": Kind.SHARE,
                          **{c: Kind.QUANTITY for c in QUANTITY_COLUMNS[3:]}}
    tables["ShortfallValue"] = pd.DataFrame(value_rows, columns=VALUE_COLUMNS)
    kinds["ShortfallValue"] = {"Mineral": Kind.TEXT, "Unit": Kind.TEXT, VALUE_COLUMNS[2]: Kind.RATE,
                               **{c: Kind.MONEY for c in VALUE_COLUMNS[3:]}}
    tables["Histogram"] = histogram_table(total_usd)
    kinds["Histogram"] = {"Shortfall value from (USD)": Kind.MONEY, "Shortfall value to (USD)": Kind.MONEY,
                          "Draws": Kind.COUNT, "Bin": Kind.TEXT}
    # one row per worst draw and event start (short cells print whole), the draw's own figures on each
    worst_rows, short_rows = [], []
    for w in worst:
        for name, period in event_starts(base, events, inst.periods, seed, w["draw"]) or [("(none)", None)]:
            worst_rows.append([w["draw"], w["shortfall_usd"], spend_of[w["draw"]], name, period])
        row = draws.shortfall[w["draw"]]
        short_rows += [[w["draw"], names[m], inst.units[m], float(row[m]), float(row[m] * price_of[m])]
                       for m in range(len(names)) if row[m] > 0]
    columns = ["Draw", "Shortfall value of the draw (USD)", "Spend of the draw (USD)", "Event", "Start period"]
    tables["WorstDraws"] = pd.DataFrame(worst_rows, columns=columns)
    kinds["WorstDraws"] = dict(zip(columns, [Kind.PERIOD, Kind.MONEY, Kind.MONEY, Kind.TEXT, Kind.PERIOD]))
    columns = ["Draw", "Mineral", "Unit", "Shortfall", "Shortfall value (USD)"]
    tables["WorstDrawShortfall"] = pd.DataFrame(short_rows, columns=columns)
    kinds["WorstDrawShortfall"] = dict(zip(columns, [Kind.PERIOD, Kind.TEXT, Kind.TEXT, Kind.QUANTITY, Kind.MONEY]))
    relaxed_rows = []
    for i in np.flatnonzero(draws.relaxed):
        families = [f for b, f in enumerate(base.families) if int(draws.relaxed[i]) >> b & 1]
        relaxed_rows.append([int(i), ", ".join(families),
                             "; ".join(event_labels(base, events, inst.periods, seed, int(i)))])
    columns = ["Draw", "Rules that had to give", "Events (name and start period)"]
    tables["RulesRelaxed"] = pd.DataFrame(relaxed_rows, columns=columns)
    kinds["RulesRelaxed"] = dict(zip(columns, [Kind.PERIOD, Kind.TEXT, Kind.TEXT]))
    tables["FailedDraws"] = pd.DataFrame([[i, why] for i, why in draws.failures.items()], columns=["Draw", "Reason"])
    kinds["FailedDraws"] = {"Draw": Kind.PERIOD, "Reason": Kind.TEXT}
    tables["Events"], kinds["Events"] = events_table(inst, events)
    return tables, kinds


EVENT_COLUMNS = ["Event", "Risks row", "Probability of starting in a period", "Duration (periods)",
                 "May start from", "May start to", "Hits", "Capacity multiplier", "Price multiplier",
                 "Extra demand (units per period)", "Unit of extra demand"]


def events_table(inst: Instance, events: list[RiskEvent]) -> tuple[pd.DataFrame, dict[str, Kind]]:
    """One row per Risks row (an effect of its event), multipliers and probabilities as written."""
    unit_of = dict(zip(inst.mineral_keys, inst.units))
    names = inst.data.names
    rows = []
    for event in events:
        for effect in event.effects:
            hits = []
            for label, keys, name in (("country", effect.countries, names.country),
                                      ("processing country", effect.processing_countries, names.country),
                                      ("supplier", effect.suppliers, None), ("mineral", effect.minerals,
                                                                             names.mineral)):
                if keys is not None:
                    shown = [name(k) if name is not None else k for k in keys]
                    hits.append(f"{label} {', '.join(shown)}")
            extra_units = sorted({unit_of[k] for k in (effect.minerals or ()) if k in unit_of})
            rows.append([event.name, effect.row, event.probability, event.duration_periods,
                         "open" if event.period_from is None else fmt.period(event.period_from),
                         "open" if event.period_to is None else fmt.period(event.period_to),
                         "; ".join(hits) or "every offer", effect.capacity_factor, effect.price_factor,
                         effect.extra_demand, ", ".join(extra_units) if effect.extra_demand > 0 else ""])
    kinds = dict(zip(EVENT_COLUMNS, [Kind.TEXT, Kind.PERIOD, Kind.FACTOR, Kind.COUNT, Kind.TEXT, Kind.TEXT,
                                     Kind.TEXT, Kind.FACTOR, Kind.FACTOR, Kind.QUANTITY, Kind.TEXT]))
    return pd.DataFrame(rows, columns=EVENT_COLUMNS), kinds


def _summary_items(n, solved, draws, seed, period_label, foresight, total, total_usd, spend, hashes) -> list[Item]:
    """The Summary sheet: what was run, then the total shortfall value and the spend over the draws."""
    bound = f"; {OPTIMISTIC}" if foresight == "full" else ""
    items = [
        Item("foresight", "Foresight of each draw's recourse", FORESIGHT_TEXT[foresight], Kind.TEXT),
        Item("draws", "Draws", int(n), Kind.COUNT),
        Item("draws_solved", "Draws solved", int(solved.sum()), Kind.COUNT),
        Item("failed_draws", "Draws failed (FailedDraws sheet)", len(draws.failures), Kind.COUNT),
        Item("draws_relaxed", "Draws where a rule had to give (RulesRelaxed sheet)", int((draws.relaxed != 0).sum()),
             Kind.COUNT),
        Item("seed", "Seed", int(seed), Kind.PERIOD),  # an identifier: as written, no thousands separator
        Item("commit_through", "Purchases committed through period", period_label, Kind.PERIOD),
        Item("total_shortfall_usd.mean", f"Total shortfall value per draw, mean (USD{bound})", total["mean"],
             Kind.MONEY),
        Item("total_shortfall_usd.mean_ci95.low", f"Total shortfall value, mean: 95% interval low (USD{bound})",
             total["mean_ci95"][0], Kind.MONEY),
        Item("total_shortfall_usd.mean_ci95.high", f"Total shortfall value, mean: 95% interval high (USD{bound})",
             total["mean_ci95"][1], Kind.MONEY),
        *[Item(f"total_shortfall_usd.p{q}", f"Total shortfall value, {q}th percentile (USD{bound})", total[f"p{q}"],
               Kind.MONEY) for q in PERCENTILES],
        Item("total_shortfall_usd.cvar95", f"Total shortfall value, CVaR 95%: mean of the worst 5% (USD{bound})",
             total["cvar95"], Kind.MONEY),
        Item("share_short", f"Share of draws with any shortfall{' (' + OPTIMISTIC + ')' if bound else ''}",
             float((total_usd > 0).mean()) if len(total_usd) else None, Kind.SHARE),
        Item("spend_usd.mean", f"Spend per draw, committed plus recourse, mean (USD{bound})", spend["mean"],
             Kind.MONEY),
        Item("spend_usd.mean_ci95.low", f"Spend per draw, mean: 95% interval low (USD{bound})",
             spend["mean_ci95"][0], Kind.MONEY),
        Item("spend_usd.mean_ci95.high", f"Spend per draw, mean: 95% interval high (USD{bound})",
             spend["mean_ci95"][1], Kind.MONEY),
        *[Item(f"spend_usd.p{q}", f"Spend per draw, {q}th percentile (USD{bound})", spend[f"p{q}"], Kind.MONEY)
          for q in SPEND_PERCENTILES],
        Item("interval_method", "95% intervals of means: method", INTERVAL_METHOD, Kind.TEXT),
        Item("statistics", "Statistics", "over the draws that solved; shortfall summed over periods, valued at each "
                                         "mineral's reference price (ShortfallValue sheet); spend in USD, money only "
                                         "(purchases at the draw's prices, holding, agreements' fixed costs), no "
                                         "penalty", Kind.TEXT),
        Item("input_sha256", "Input SHA-256", hashes["input"], Kind.TEXT),
    ]
    if "model" in hashes:
        items.append(Item("model_sha256", "Model file SHA-256", hashes["model"], Kind.TEXT))
    if "plan" in hashes:
        items.append(Item("plan_sha256", "Plan file SHA-256", hashes["plan"], Kind.TEXT))
    return items


# ---------------------------------------------------------------- the histogram


_SCALES = ((1e9, "B"), (1e6, "M"), (1e3, "K"), (1.0, ""))


def _nice_width(span: float, bins: int) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at least ``span / bins``: bins whose edges read as round numbers."""
    raw = span / bins
    power = 10.0 ** math.floor(math.log10(raw))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= raw * (1 - 1e-12):
            return step * power
    return 10.0 * power


def _money_label(value: float, scale: float, suffix: str, decimals: int) -> str:
    return "$0" if value == 0 else f"${value / scale:,.{decimals}f}{suffix}"


def histogram_table(total_usd: np.ndarray, bins: int = HISTOGRAM_BINS) -> pd.DataFrame:
    """Draws per bin of total shortfall value: first the draws without shortfall, then at most ``bins``
    equal bins from 0 of a round width (1, 2, 2.5 or 5 x 10^k USD) up to the largest value; a bin holds
    [from, to), the last its upper end too. Labels in K, M or B dollars (``$0.1B-$0.2B``)."""
    columns = ["Shortfall value from (USD)", "Shortfall value to (USD)", "Draws", "Bin"]
    values = np.asarray(total_usd, dtype=float)
    if not len(values):
        return pd.DataFrame([], columns=columns)
    rows = [[0.0, 0.0, int((values <= 0).sum()), "no shortfall"]]
    positive = values[values > 0]
    if len(positive):
        largest = float(positive.max())
        width = _nice_width(largest, bins)
        count = max(1, int(math.ceil(largest / width - 1e-12)))
        edges = np.arange(count + 1) * width
        counts, _ = np.histogram(positive, bins=edges)
        scale, suffix = next((s, x) for s, x in _SCALES if largest >= s) if largest >= 1 else (1.0, "")
        exponent = math.floor(math.log10(width / scale) + 1e-12)
        # 2.5 x 10^k needs one decimal more than 10^k: $2.5M, $0.25B, but $25M
        decimals = max(0, -exponent + (1 if round(width / scale / 10.0 ** exponent, 6) == 2.5 else 0))
        for a, b, c in zip(edges[:-1], edges[1:], counts):
            rows.append([float(a), float(b), int(c), f"{_money_label(a, scale, suffix, decimals)}-"
                                                    f"{_money_label(b, scale, suffix, decimals)}"])
    return pd.DataFrame(rows, columns=columns)


CHART_ROWS, CHART_COLUMNS = 24, 15  # the chart's extent on the Charts sheet (cells of 64 x 20 px)


def stress_charts(foresight: str):
    """The ``charts`` callback of :func:`procure.plan.write_tables` for a stress workbook: the histogram
    chart, and under full foresight a printed header saying that every figure is an optimistic bound."""

    def add(book, tables: dict[str, pd.DataFrame]) -> None:
        histogram_chart(book, tables, foresight)
        if foresight == "full":  # every printed page says so
            for sheet in book.xlsx.worksheets():
                sheet.set_header(f"&C&\"Calibri,Bold\"Stress test with {OPTIMISTIC} (each draw knows its future)")

    return add


def histogram_chart(book, tables: dict[str, pd.DataFrame], foresight: str = "none") -> None:
    """The distribution of total shortfall value as a native Excel column chart, on a Charts sheet printed
    as one landscape page."""
    table = tables.get("Histogram")
    if table is None or table.empty:
        return
    sheet = book.xlsx.add_worksheet("Charts")  # book: procure.plan's workbook being written
    sheet.write_string(0, 0, "Draws by total shortfall value (USD at reference prices). Data: the Histogram sheet.")
    label_col = list(table.columns).index("Bin")
    draws_col = list(table.columns).index("Draws")
    last = len(table)
    chart = book.xlsx.add_chart({"type": "column"})
    chart.add_series({"name": "draws", "categories": ["Histogram", 1, label_col, last, label_col],
                      "values": ["Histogram", 1, draws_col, last, draws_col], "gap": 20})
    title = "Draws by total shortfall value" + (f" ({OPTIMISTIC})" if foresight == "full" else "")
    chart.set_title({"name": title, "name_font": {"size": 12, "bold": True}})
    chart.set_x_axis({"name": "Total shortfall value of a draw (USD at reference prices)",
                      "num_font": {"rotation": -45}})
    chart.set_y_axis({"name": "Draws", "num_format": "#,##0", "min": 0})
    chart.set_legend({"none": True})
    chart.set_size({"width": CHART_COLUMNS * 64, "height": (CHART_ROWS - 2) * 20})
    sheet.insert_chart(2, 0, chart)
    sheet.set_landscape()
    sheet.print_area(0, 0, CHART_ROWS, CHART_COLUMNS)
    sheet.fit_to_pages(1, 1)  # the chart is one printed page
    sheet.set_footer("&L&A&RPage &P of &N")
