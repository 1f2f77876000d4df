"""Unit normalisation and conversion for lab thresholds (the table itself is data).

Each unit maps to a dimension and a factor to that dimension's base unit, e.g. platelets
written "100,000/mm3" and a FHIR value in "10*3/uL" both become counts per microlitre.
Conversions that depend on the analyte (mg/dL <-> mmol/L) are deliberately absent: a
mismatch yields UNKNOWN rather than a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_SPACE = re.compile(r"\s+")


def unit_key(unit: str) -> str:
    key = _SPACE.sub("", unit.strip().lower())
    key = key.replace("^", "*").replace("µ", "u").replace("μ", "u").replace("³", "3")
    key = key.replace("²", "2").replace("×", "x")
    return key


@dataclass(frozen=True, slots=True)
class UnitDef:
    dimension: str
    factor: float


class UnitTable:
    def __init__(self, units: Mapping[str, tuple[str, float]]) -> None:
        self._units = {unit_key(u): UnitDef(d, f) for u, (d, f) in units.items()}

    def convert(self, value: float, from_unit: str, to_unit: str) -> float | None:
        """`value` in `to_unit`, or None when the units are unknown or incompatible."""
        a, b = unit_key(from_unit), unit_key(to_unit)
        if a == b:
            return value
        ua, ub = self._units.get(a), self._units.get(b)
        if ua is None or ub is None or ua.dimension != ub.dimension:
            return None
        return value * ua.factor / ub.factor


def compare(value: float, comparator: str, low: float | None, high: float | None) -> bool | None:
    """Whether `value` satisfies `comparator low [high]`; None when the comparator is unusable."""
    if low is None:
        return None
    ops = {
        "<": value < low,
        "<=": value <= low,
        ">": value > low,
        ">=": value >= low,
        "=": abs(value - low) < 1e-9,
        "!=": abs(value - low) >= 1e-9,
    }
    if comparator == "between":
        return None if high is None else low <= value <= high
    return ops.get(comparator)
