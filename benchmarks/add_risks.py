"""Write a copy of a workbook with a Risks sheet added (for the stress benchmarks).

    python benchmarks/add_risks.py procure/data/sample.xlsx /tmp/sample-risks.xlsx

The events are labelled assumptions for measuring speed, not sourced
probabilities (the bundled sample's own Risks sheet is built elsewhere).
The input is never written: the copy goes to the second path.
"""

from __future__ import annotations

import sys
from pathlib import Path

import openpyxl

EVENTS = [  # event, probability per period, duration, filters, capacity, price, extra_demand
    {"event": "China export controls", "probability": 0.15, "duration": 2, "country": "China", "capacity": 0},
    {"event": "China processing squeeze", "probability": 0.10, "duration": 1, "processing_country": "China",
     "capacity": 0.5, "price": 1.3},
    {"event": "Russia sanctions", "probability": 0.08, "duration": 3, "country": "Russia", "capacity": 0},
    {"event": "DRC cobalt quota", "probability": 0.20, "duration": 1, "country": "Congo (Kinshasa)",
     "mineral": "Cobalt", "capacity": 0.6},
    {"event": "Graphite price spike", "probability": 0.25, "duration": 1, "mineral": "Graphite", "capacity": 1,
     "price": 1.8},
    {"event": "Defence gallium surge", "probability": 0.10, "duration": 2, "mineral": "Gallium; Germanium",
     "capacity": 1, "extra_demand": 2000},
]
COLUMNS = ["event", "probability", "duration", "country", "processing_country", "supplier", "mineral",
           "capacity", "price", "extra_demand"]


def add_risks(source: Path, target: Path, events=EVENTS) -> Path:
    if Path(source).resolve() == Path(target).resolve():
        raise SystemExit("the copy must go to another path: the input is never written")
    book = openpyxl.load_workbook(source)
    if "Risks" in book.sheetnames:
        del book["Risks"]
    sheet = book.create_sheet("Risks")
    sheet.append(COLUMNS)
    for event in events:
        sheet.append([event.get(c) for c in COLUMNS])
    book.save(target)
    return Path(target)


if __name__ == "__main__":
    print(add_risks(Path(sys.argv[1]), Path(sys.argv[2])))
