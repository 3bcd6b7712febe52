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
    assert (ban.name, ban.row, ban.probability, ban.duration_periods) == ("China export controls", 2, 0.2, 2)
    assert ban.countries == ("china", "congo") and ban.minerals is None
    assert (ban.capacity_factor, ban.price_factor, ban.extra_demand) == (0.0, 1.0, 0.0)  # blank capacity stops
    assert (surge.probability, surge.duration_periods) == (0.15, 1)
    assert (surge.capacity_factor, surge.price_factor, surge.extra_demand) == (1.0, 1.5, 4.0)
    masks = risk_masks(events, build_instance(data))
    inst = build_instance(data)
    offer_rows = np.array([inst.offers[o].row for o in inst.op_offer])
    # the ban hits Sino (China, row 2) and Gecamines (Congo, row 4) in each period they cover, not Maple
    assert set(offer_rows[masks.hits_offer_period[0]]) == {2, 4}
    assert set(offer_rows[masks.hits_offer_period[1]]) == {2, 3}  # both gallium offers
    gallium = inst.mineral_keys.index("gallium")
    assert masks.extra_demand[1, gallium] == 4 and masks.extra_demand[1].sum() == 4


def test_every_bad_cell_is_reported_at_once(book):
    path = book(**sheets([
        {"event": "Ban", "probability": 1.5, "duration": 0, "country": "Chnia"},
        {"event": "ban", "probability": None, "duration": 1.5, "price": -1},
        {"event": "Gap", "probability": 0.1, "extra_demand": 3, "capacity": 1},
    ]))
    with pytest.raises(InputError) as caught:
        read(path)
    found = {(p.sheet, p.row, p.column, p.value) for p in caught.value.problems}
    assert ("Risks", 2, "probability", 1.5) in found
    assert ("Risks", 2, "duration", 0) in found
    assert ("Risks", 2, "country", "Chnia") in found
    assert ("Risks", 3, "event", "ban") in found  # duplicate, case-insensitively
    assert ("Risks", 3, "probability", None) in found
    assert ("Risks", 3, "duration", 1.5) in found
    assert ("Risks", 3, "price", -1) in found
    assert ("Risks", 4, "extra_demand", 3.0) in found  # needs a mineral
    assert len(caught.value.problems) == 8
    texts = [str(p) for p in caught.value.problems]
    assert any("expected a number from 0 to 1" in t for t in texts)
    assert any("matches no country" in t for t in texts)


def test_missing_sheet_says_what_is_needed(book):
    parts = sheets([])
    parts.pop("extra_sheets")
    with pytest.raises(InputError) as caught:
        read(book(**parts))
    [problem] = caught.value.problems
    assert "missing sheet 'Risks'" in str(problem) and "probability" in str(problem)
