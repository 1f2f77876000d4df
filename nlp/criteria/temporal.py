"""Temporal expressions -> days, with what they mean for matching.

Four kinds, because the evaluator needs to know which way time runs:
- lookback: "within the last 6 months", "in the past year", "4 weeks prior to enrollment"
  -> the concept must be recorded inside [index - days, index];
- since: "at least 4 weeks since prior chemotherapy", "> 6 months ago" -> the event must be
  older than `days` (stated by the parser as: negated concept within `days`), except for a
  diagnosis, where it means the condition has lasted that long (see `relations.py`);
- duration: "for at least 3 months", "of at least 1 year duration" -> present for `days`;
- future: "during the study", "for 3 months after the last dose" -> a promise, not
  checkable in a record (no window).
Patterns are data (nlp/rules/common.yaml `temporal`); months are 30.44 days, years 365.25.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from nlp.criteria.text import COMMON

Kind = Literal["lookback", "since", "duration", "future"]
UNIT = r"(?P<unit>hours?|hrs?|days?|d|weeks?|wks?|w|months?|mos?|years?|yrs?|y)\b"
_N = r"(?P<n>\d+(?:\.\d+)?)"


@dataclass(frozen=True, slots=True)
class Window:
    kind: Kind
    days: float | None
    start: int  # offsets into the normalised text
    end: int


def unit_days(unit: str) -> float:
    u = unit.lower()
    if u.startswith("h"):
        return 1 / 24
    if u.startswith("mo") or u == "m":
        return COMMON.time_units["month"]
    return COMMON.time_units[{"d": "day", "w": "week", "y": "year"}[u[0]]]


@cache
def _patterns() -> tuple[tuple[Kind, re.Pattern[str]], ...]:
    out: list[tuple[Kind, re.Pattern[str]]] = []
    for rule in COMMON.temporal:
        pattern = rule.pattern.replace("{N}", _N).replace("{UNIT}", UNIT)
        out.append((rule.kind, re.compile(pattern, re.IGNORECASE)))
    return tuple(out)


def find_windows(norm: str) -> list[Window]:
    """Non-overlapping temporal expressions, left to right; earlier rules win overlaps."""
    found: list[Window] = []
    taken: list[tuple[int, int]] = []
    for kind, rx in _patterns():
        for m in rx.finditer(norm):
            a, b = m.span()
            if any(a < e and s < b for s, e in taken):
                continue
            groups = m.groupdict()
            days: float | None = None
            if groups.get("unit"):
                n = float(groups.get("n") or 1)
                days = round(n * unit_days(groups["unit"]), 2)
            found.append(Window(kind, days, a, b))
            taken.append((a, b))
    return sorted(found, key=lambda w: w.start)
