"""Values: comparator + number (+ upper bound) + UCUM unit, found in normalised text.

"between 7% and 10%" -> between 7 10 %; "≥ 1.5 x ULN" -> >= 1.5 x ULN; "> 100,000/mm3" ->
> 100000 /mm3; "7.5%-9%" -> between 7.5 9 %. Unit spellings and their UCUM codes are data
(nlp/rules/units.yaml); a bare number with neither comparator nor unit is not a value (it is a
count, a stage or a dose number far more often than a threshold).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from nlp.criteria.text import POSTFIX
from nlp.vocab import load_unit_rules

NUM = r"\d+(?:\.\d+)?"


@dataclass(frozen=True, slots=True)
class Quantity:
    """A value found in normalised text; `start`/`end` index the normalised text."""

    comparator: str  # <, <=, >, >=, =, between
    value: float
    high: float | None
    unit: str  # UCUM (or "x ULN"/"x LLN"), "" when none was written
    start: int
    end: int


@cache
def _units() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple(
        (re.compile(rf"(?:{s.pattern})", re.IGNORECASE), s.ucum)
        for s in load_unit_rules().spellings
    )


@cache
def unit_alternation() -> str:
    return "|".join(f"(?:{s.pattern})" for s in load_unit_rules().spellings)


@cache
def _value_re() -> re.Pattern[str]:
    unit = unit_alternation()
    return re.compile(
        rf"(?:(?<![\w.])(?P<between>between\s*|from\s*))?"
        rf"(?:(?P<cmp>[<>]=?|=)\s*|(?<![\w.,]))(?P<v>{NUM})(?!\d|(?:st|nd|rd|th)\b)\s*"
        rf"(?P<u1>{unit})?(?![a-z])\s*"
        rf"(?:(?P<conn>-|to|and)\s*(?P<cmp2>[<>]=?)?\s*(?P<h>{NUM})\s*)?"
        rf"(?P<unit>{unit})?(?![a-z])\s*(?P<post>[⊒⊑])?",
        re.IGNORECASE,
    )


def canonical_unit(found: str) -> str:
    """The UCUM code of a unit spelling ("mg/dl" -> "mg/dL"); unknown spellings unchanged."""
    found = found.strip()
    for rx, ucum in _units():
        if rx.fullmatch(found):
            return ucum
    return found


# "<= ULN", "> the upper limit of normal": a comparator straight before a normal-range limit
# means one times that limit.
_BARE_LIMIT = re.compile(
    r"(?P<cmp>[<>]=?)\s*(?:the\s+)?(?:institutional\s+)?(?:(?P<uln>i?uln|upper limits? of "
    r"(?:the\s+)?normal(?:\s+range)?)|(?P<lln>i?lln|lower limits? of (?:the\s+)?normal))\b"
)


def find_quantities(norm: str) -> list[Quantity]:
    """Every value in `norm`, left to right, non-overlapping."""
    out: list[Quantity] = []
    for m in _value_re().finditer(norm):
        q = _quantity(m)
        if q is not None:
            out.append(q)
    for m in _BARE_LIMIT.finditer(norm):
        if any(q.start < m.end() and m.start() < q.end for q in out):
            continue
        unit = "x ULN" if m.group("uln") else "x LLN"
        out.append(Quantity(m.group("cmp"), 1.0, None, unit, m.start(), m.end()))
    return sorted(out, key=lambda q: q.start)


def _quantity(m: re.Match[str]) -> Quantity | None:
    unit_text = m.group("unit") or m.group("u1") or ""
    # "between 7 and 10", "7-10", and "≥ 18.5 and ≤ 27.5" (a lower then an upper bound).
    bounded = (m.group("cmp") or "").startswith(">") and (m.group("cmp2") or "").startswith("<")
    ranged = m.group("h") is not None and (
        m.group("conn") != "and" or bool(m.group("between")) or bounded
    )
    if not (m.group("cmp") or unit_text or m.group("post") or (ranged and m.group("between"))):
        return None
    if m.group("conn") == "-" and not (unit_text or m.group("between") or m.group("cmp")):
        return None  # "1-2" alone is a range of counts or a code, not a threshold
    unit = canonical_unit(unit_text) if unit_text else ""
    start, end = m.start("v"), m.end()
    for name in ("between", "cmp"):
        if m.group(name):
            start = m.start(name)
            break
    text = m.group().rstrip()
    end = m.start() + len(text)
    value = float(m.group("v"))
    if ranged:
        high = float(m.group("h"))
        if high < value:
            return None
        return Quantity("between", value, high, unit, start, end)
    cmp = m.group("cmp") or POSTFIX.get(m.group("post") or "", "") or "="
    if m.group("h") is not None and m.group("conn") == "and":
        end = m.start("conn")  # "> 5 mg/dl and 3 ..." — the second number is not ours
        end = m.start() + len(m.string[m.start() : end].rstrip(" "))
    return Quantity(cmp, value, None, unit, start, end)
