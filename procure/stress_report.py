"""The figures of a stress test (STOCKPILE.md): statistics, the stress workbook's tables, and its JSON.

Statistics are over the draws that solved (failed draws are listed apart).
Shortfall of a mineral in a draw is summed over the periods, in the mineral's
unit; its value in USD is that times the mineral's reference price. The total
shortfall value of a draw is the sum of its minerals' values (USD only: units
of different minerals are never added).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from procure.instance import Instance
from procure.risks import RiskEvent
from procure.stress import Draws, RecourseBase, sample_events

PERCENTILES = (50, 90, 95, 99)
CVAR_LEVEL = 0.95
WORST_DRAWS = 20
HISTOGRAM_BINS = 20
Z95 = 1.959963984540054  # two-sided 95% normal quantile


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


def _summary(values: np.ndarray) -> dict:
    """Mean with its 95% normal confidence interval, and the percentiles (numpy's linear rule)."""
    n = len(values)
    if n == 0:
        return {"mean": None, "mean_ci95": [None, None], **{f"p{q}": None for q in PERCENTILES}}
    mean = float(values.mean())
    half = Z95 * float(values.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    result = {"mean": mean, "mean_ci95": [mean - half, mean + half]}
    for q, value in zip(PERCENTILES, np.percentile(values, PERCENTILES)):
        result[f"p{q}"] = float(value)
    return result


@dataclass
class StressResult:
    """Everything a stress test reports."""

    json: dict
    tables: dict[str, pd.DataFrame]
    summary: list[tuple[str, object]]
    total_usd: np.ndarray  # per solved draw


def event_labels(base: RecourseBase, events: list[RiskEvent], periods: list, seed: int, draw: int) -> list[str]:
    """The events that hit draw ``draw``: ``"<event> <start period>"`` per start, by period then sheet order."""
    _, started = sample_events(base.masks, len(periods), seed, draw)
    return [f"{events[e].name} {periods[t]}" for t in range(len(periods)) for e in range(len(events))
            if started[e, t]]


def build_result(inst: Instance, base: RecourseBase, events: list[RiskEvent], draws: Draws, seed: int,
                 commit_through: int, hashes: dict[str, str]) -> StressResult:
    """Statistics, tables and JSON of ``draws``. ``hashes``: SHA-256 of the workbook (``input``), and of
    the ``model`` and ``plan`` files when given."""
    n = len(draws.relaxed)
    solved = np.array([i not in draws.failures for i in range(n)], dtype=bool)
    shortfall = draws.shortfall[solved]
    released = draws.released[solved]
    price = reference_price_usd(inst)
    total_usd = shortfall @ price
    names = [inst.data.names.mineral(k) for k in inst.mineral_keys]
    minerals_json, rows = {}, []
    for m, name in enumerate(names):
        units = _summary(shortfall[:, m])
        p_short = float((shortfall[:, m] > 0).mean()) if len(shortfall) else None
        mean_usd = units["mean"] * price[m] if units["mean"] is not None else None
        p95_usd = units["p95"] * price[m] if units["p95"] is not None else None
        released_mean = float(released[:, m].mean()) if len(released) else None
        minerals_json[name] = {
            "unit": inst.units[m], "p_shortfall": p_short, "mean": units["mean"], "mean_ci95": units["mean_ci95"],
            **{f"p{q}": units[f"p{q}"] for q in PERCENTILES},
            "mean_usd": mean_usd, "p95_usd": p95_usd, "reserve_released_mean": released_mean,
        }
        row = {"mineral": name, "unit": inst.units[m], "p_shortfall": p_short, "shortfall_mean": units["mean"],
               "shortfall_mean_ci95_low": units["mean_ci95"][0], "shortfall_mean_ci95_high": units["mean_ci95"][1]}
        row.update({f"shortfall_p{q}": units[f"p{q}"] for q in PERCENTILES})
        row["reference_price_usd"] = float(price[m])
        row["shortfall_mean_usd"] = mean_usd
        row["shortfall_mean_ci95_low_usd"] = units["mean_ci95"][0] * price[m] if units["mean"] is not None else None
        row["shortfall_mean_ci95_high_usd"] = units["mean_ci95"][1] * price[m] if units["mean"] is not None else None
        row.update({f"shortfall_p{q}_usd": units[f"p{q}"] * price[m] if units[f"p{q}"] is not None else None
                    for q in PERCENTILES})
        row["reserve_released_mean"] = released_mean
        rows.append(row)
    total = _summary(total_usd)
    total["cvar95"] = cvar(total_usd) if len(total_usd) else None
    draw_index = np.flatnonzero(solved)
    positive = draw_index[total_usd > 0]
    order = sorted(positive.tolist(), key=lambda i: (-float(total_usd[np.searchsorted(draw_index, i)]), i))
    worst = []
    for i in order[:WORST_DRAWS]:
        worst.append({"draw": int(i), "shortfall_usd": float(total_usd[np.searchsorted(draw_index, i)]),
                      "events": event_labels(base, events, inst.periods, seed, i)})
    period_label = str(inst.periods[commit_through])
    doc = {
        "draws": int(n), "seed": int(seed), "commit_through": period_label,
        "failed_draws": [int(i) for i in draws.failures],
        "input_sha256": hashes["input"],
        "total_shortfall_usd": total,
        "minerals": minerals_json,
        "worst": worst,
    }
    tables = {"Minerals": pd.DataFrame(rows)}
    tables["Histogram"] = histogram_table(total_usd)
    worst_rows = []
    for w in worst:
        shortfall_row = draws.shortfall[w["draw"]]
        worst_rows.append({"draw": w["draw"], "shortfall_usd": w["shortfall_usd"],
                           "events": "; ".join(w["events"]),
                           **{f"{name} ({inst.units[m]})": float(shortfall_row[m]) for m, name in enumerate(names)}})
    tables["WorstDraws"] = pd.DataFrame(worst_rows, columns=["draw", "shortfall_usd", "events"]
                                        + [f"{name} ({inst.units[m]})" for m, name in enumerate(names)])
    relaxed_rows = []
    for i in np.flatnonzero(draws.relaxed):
        families = [f for b, f in enumerate(base.families) if int(draws.relaxed[i]) >> b & 1]
        relaxed_rows.append({"draw": int(i), "rules_relaxed": ", ".join(families),
                             "events": "; ".join(event_labels(base, events, inst.periods, seed, int(i)))})
    tables["RulesRelaxed"] = pd.DataFrame(relaxed_rows, columns=["draw", "rules_relaxed", "events"])
    tables["FailedDraws"] = pd.DataFrame([{"draw": i, "reason": why} for i, why in draws.failures.items()],
                                         columns=["draw", "reason"])
    tables["Events"] = pd.DataFrame([{
        "event": e.name, "row": e.row, "probability": e.probability, "duration_periods": e.duration_periods,
        "capacity": e.capacity_factor, "price": e.price_factor, "extra_demand": e.extra_demand} for e in events])
    summary = [
        ("Draws", int(n)),
        ("Draws solved", int(solved.sum())),
        ("Draws failed", len(draws.failures)),
        ("Draws where a rule had to give", int((draws.relaxed != 0).sum())),
        ("Seed", int(seed)),
        ("Committed through period", period_label),
        ("Total shortfall value, mean (USD)", total["mean"]),
        ("Total shortfall value, mean 95% CI low (USD)", total["mean_ci95"][0]),
        ("Total shortfall value, mean 95% CI high (USD)", total["mean_ci95"][1]),
        *[(f"Total shortfall value, p{q} (USD)", total[f"p{q}"]) for q in PERCENTILES],
        ("Total shortfall value, CVaR 95% (USD)", total["cvar95"]),
        ("Share of draws with any shortfall", float((total_usd > 0).mean()) if len(total_usd) else None),
        ("Input SHA-256", hashes["input"]),
    ]
    if "model" in hashes:
        summary.append(("Model file SHA-256", hashes["model"]))
    if "plan" in hashes:
        summary.append(("Plan file SHA-256", hashes["plan"]))
    summary.append(("Statistics", "over the draws that solved; shortfall summed over periods, valued at each "
                                  "mineral's reference price (Minerals sheet)"))
    return StressResult(doc, tables, summary, total_usd)


def histogram_table(total_usd: np.ndarray, bins: int = HISTOGRAM_BINS) -> pd.DataFrame:
    """Draws per bin of total shortfall value: ``bins`` equal-width bins from the smallest to the
    largest value (one bin when every draw has the same value)."""
    if not len(total_usd) or total_usd.max() <= total_usd.min():
        value = float(total_usd[0]) if len(total_usd) else 0.0
        edges = np.array([value, value])
        counts = np.array([len(total_usd)])
    else:
        counts, edges = np.histogram(total_usd, bins=bins, range=(float(total_usd.min()), float(total_usd.max())))
    return pd.DataFrame({"from_usd": edges[:-1], "to_usd": edges[1:], "draws": counts.astype(np.int64),
                         "label": [f"{a:,.0f} - {b:,.0f}" for a, b in zip(edges[:-1], edges[1:])]})


def histogram_chart(book, tables: dict[str, pd.DataFrame]) -> None:
    """The distribution of total shortfall value as a native Excel column chart, on a Charts sheet."""
    table = tables.get("Histogram")
    if table is None or table.empty:
        return
    sheet = book.xlsx.add_worksheet("Charts")  # book: procure.plan's workbook being written
    sheet.write_string(0, 0, "Distribution of total shortfall value (USD) over the draws. Data: the Histogram sheet.")
    label_col = list(table.columns).index("label")
    draws_col = list(table.columns).index("draws")
    last = len(table)
    chart = book.xlsx.add_chart({"type": "column"})
    chart.add_series({"name": "draws", "categories": ["Histogram", 1, label_col, last, label_col],
                      "values": ["Histogram", 1, draws_col, last, draws_col], "gap": 5})
    chart.set_title({"name": "Total shortfall value per draw"})
    chart.set_x_axis({"name": "shortfall value (USD)"})
    chart.set_y_axis({"name": "draws", "num_format": "#,##0"})
    chart.set_legend({"none": True})
    sheet.insert_chart(2, 0, chart, {"x_scale": 2.0, "y_scale": 1.5})
