"""The Risks sheet: parsed into typed events, every bad cell reported with sheet, row, column and value."""

from __future__ import annotations

import numpy as np
import pytest

from procure.errors import InputError
from procure.instance import build_instance
from procure.risks import read_risks, risk_masks
from procure.validate import validate
from procure.workbook import read_workbook


def sheets(risks):
    return dict(
        minerals=[{"mineral": "Gallium", "unit": "kg"}, {"mineral": "Cobalt"}],
        demand=[{"mineral": "Gallium", "period": 2027, "demand": 10},
                {"mineral": "Cobalt", "period": 2027, "demand": 5},
                {"mineral": "Gallium", "period": 2028, "demand": 10}],
        offers=[{"supplier": "Sino", "country": "China", "mineral": "Gallium", "price": 1, "capacity": 100},
                {"supplier": "Maple", "country": "Canada", "mineral": "Gallium", "price": 3, "capacity": 100,
                 "processing_country": "China"},
                {"supplier": "Gecamines", "country": "Congo", "mineral": "Cobalt", "price": 30, "capacity": 9}],
        extra_sheets={"Risks": risks},
    )


def read(path):
    raw = read_workbook(path)
    data = validate(raw)
    return read_risks(raw, data), data


def test_events_with_defaults_and_lists(book):
    path = book(**sheets([
        {"event": "China export controls", "probability": 0.2, "duration": 2, "country": "China; Congo"},
        {"event": "Gallium surge", "probability": "15%", "mineral": "gallium", "capacity": 1, "price": 1.5,
         "extra_demand": 4},
    ]))
    events, data = read(path)
    ban, surge = events
    [cut] = ban.effects
    assert (ban.name, ban.rows, ban.probability, ban.duration_periods) == ("China export controls", (2,), 0.2, 2)
    assert (ban.period_from, ban.period_to) == (None, None)  # may start in any period
    assert cut.countries == ("china", "congo") and cut.minerals is None
    assert (cut.capacity_factor, cut.price_factor, cut.extra_demand) == (0.0, 1.0, 0.0)  # blank capacity stops
    [gap] = surge.effects
    assert (surge.probability, surge.duration_periods) == (0.15, 1)
    assert (gap.capacity_factor, gap.price_factor, gap.extra_demand) == (1.0, 1.5, 4.0)
    inst = build_instance(data)
    masks = risk_masks(events, inst)
    offer_rows = np.array([inst.offers[o].row for o in inst.op_offer])
    # the ban hits Sino (China, row 2) and Gecamines (Congo, row 4) in each period they cover, not Maple
    assert set(offer_rows[masks.hits_offer_period[0]]) == {2, 4}
    assert set(offer_rows[masks.hits_offer_period[1]]) == {2, 3}  # both gallium offers
    gallium = inst.mineral_keys.index("gallium")
    assert masks.extra_demand[1, gallium] == 4 and masks.extra_demand[1].sum() == 4
    assert masks.start_allowed.all() and list(masks.effect_event) == [0, 1]


def test_rows_sharing_a_name_are_one_event_with_a_start_window(book):
    # "China stop" cuts gallium and cobalt together (two rows, two multipliers), starting only in 2028
    path = book(**sheets([
        {"event": "China stop", "probability": 0.3, "mineral": "Gallium", "country": "China", "price": 1.3426,
         "period_from": 2028, "period_to": 2028},
        {"event": "Quota", "probability": 0.1, "mineral": "Cobalt", "capacity": 0.5, "period_to": 2027},
        {"event": " china STOP ", "probability": 0.3, "mineral": "Cobalt", "capacity": 0.25,
         "period_from": 2028, "period_to": 2028},
    ]))
    events, data = read(path)
    stop, quota = events  # in the order of their first rows
    assert stop.name == "China stop" and stop.rows == (2, 4)
    assert [e.capacity_factor for e in stop.effects] == [0.0, 0.25]
    assert stop.effects[0].price_factor == 1.3426
    assert (stop.period_from, stop.period_to) == (2028, 2028)
    assert (quota.period_from, quota.period_to) == (None, 2027)
    inst = build_instance(data)
    masks = risk_masks(events, inst)
    assert list(masks.effect_event) == [0, 0, 1]  # effects in event order: the stop's two rows, then the quota
    assert masks.start_allowed.tolist() == [[False, True], [True, False]]  # periods 2027, 2028
    gallium, cobalt = inst.mineral_keys.index("gallium"), inst.mineral_keys.index("cobalt")
    # each row hits its own mineral only, in every period its offers cover (here all: no offer has a period)
    assert masks.hits_mineral_period[0, gallium].tolist() == [True, True]
    assert not masks.hits_mineral_period[0, cobalt].any()
    assert masks.hits_mineral_period[1, cobalt].tolist() == [True, True]


def test_an_effect_that_neither_cuts_nor_raises_nor_adds_hits_nothing(book):
    # capacity 1, price 1 and no extra demand: the event is in force but releases no reserve
    path = book(**sheets([{"event": "Noise", "probability": 0.5, "country": "China", "capacity": 1, "price": 1}]))
    events, data = read(path)
    masks = risk_masks(events, build_instance(data))
    assert masks.hits_offer_period[0].any() and not masks.hits_mineral_period.any()


def test_every_bad_cell_is_reported_at_once(book):
    path = book(**sheets([
        {"event": "Ban", "probability": 1.5, "duration": 0, "country": "Chnia"},
        {"event": "ban", "probability": None, "duration": 1.5, "price": -1},
        {"event": "Gap", "probability": 0.1, "extra_demand": 3, "capacity": 1},
        {"event": "Late", "probability": 0.1, "period_from": 2031},
        {"event": "Typed", "probability": 0.1, "period_to": "next year"},
    ]))
    with pytest.raises(InputError) as caught:
        read(path)
    found = {(p.sheet, p.row, p.column, p.value) for p in caught.value.problems}
    assert ("Risks", 2, "probability", 1.5) in found
    assert ("Risks", 2, "duration", 0) in found
    assert ("Risks", 2, "country", "Chnia") in found
    assert ("Risks", 3, "probability", None) in found
    assert ("Risks", 3, "duration", 1.5) in found
    assert ("Risks", 3, "price", -1) in found
    assert ("Risks", 4, "extra_demand", 3.0) in found  # needs a mineral
    assert ("Risks", 5, "period_from", 2031) in found  # no period of the workbook: it could never start
    assert ("Risks", 6, "period_to", "next year") in found  # text against year periods
    assert len(caught.value.problems) == 9
    texts = [str(p) for p in caught.value.problems]
    assert any("expected a number from 0 to 1" in t for t in texts)
    assert any("matches no country" in t for t in texts)
    assert any("could never start" in t for t in texts)


def test_rows_of_one_event_must_agree_on_how_it_starts_and_lasts(book):
    path = book(**sheets([
        {"event": "China stop", "probability": 0.3, "duration": 2, "mineral": "Gallium"},
        {"event": "China stop", "probability": 0.3, "duration": 2, "mineral": "Cobalt"},
        {"event": "China stop", "probability": 0.2, "duration": 1, "mineral": "Gallium", "period_from": 2028},
    ]))
    with pytest.raises(InputError) as caught:
        read(path)
    found = {(p.row, p.column, p.value): str(p) for p in caught.value.problems}
    assert set(found) == {(4, "probability", 0.2), (4, "duration", 1), (4, "period_from", 2028)}
    message = found[(4, "probability", 0.2)]
    assert "rows 2 and 4 are one event ('China stop'" in message and "0.3 in row 2" in message
    assert "blank in row 2" in found[(4, "period_from", 2028)]


def test_missing_sheet_says_what_is_needed(book):
    parts = sheets([])
    parts.pop("extra_sheets")
    with pytest.raises(InputError) as caught:
        read(book(**parts))
    [problem] = caught.value.problems
    assert "missing sheet 'Risks'" in str(problem) and "probability" in str(problem)
