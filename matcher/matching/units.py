"""Unit normalisation and conversion for lab thresholds (the table itself is data).

Each unit maps to a dimension and a factor to that dimension's base unit, e.g. platelets
written "100,000/mm3" and a FHIR value in "10*3/uL" both become counts per microlitre.
Conversions that depend on the analyte (creatinine in mg/dL <-> umol/L, HbA1c in % <->
mmol/mol) come from a per-analyte table (molar mass, or a linear map between two scales):
criteria and records from different countries write the same limit differently. An analyte
the table does not name still yields UNKNOWN rather than a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

_SPACE = re.compile(r"\s+")


def unit_key(unit: str) -> str:
    key = _SPACE.sub("", unit.strip().lower())
    key = key.replace("^", "*").replace("µ", "u").replace("μ", "u").replace("³", "3")
    key = key.replace("²", "2").replace("×", "x")
    return key


# The dimensions a molar mass bridges, and how their base units relate: the mass base is
# mg/dL and the substance base mmol/L, so mmol/L = mg/dL * 10 / (g/mol).
MASS, SUBSTANCE = "mass_concentration", "substance_concentration"
_MG_DL_PER_G_L = 10.0


@dataclass(frozen=True, slots=True)
class UnitDef:
    dimension: str
    factor: float


@dataclass(frozen=True, slots=True)
class Scale:
    """`to = scale * from + offset` between two units of one analyte (HbA1c NGSP % -> IFCC)."""

    from_unit: str
    to_unit: str
    scale: float
    offset: float = 0.0


@dataclass(frozen=True, slots=True)
class NormalLimits:
    """An analyte's upper (and lower) limit of normal as the interval that common adult
    reference ranges span, in `unit`: a criterion in multiples of a limit ("AST <= 2.5 x ULN")
    is decided only when it holds, or fails, at both ends (the record has no laboratory's own
    range)."""

    unit: str
    upper: tuple[float, float] | None = None
    lower: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class Analyte:
    names: tuple[str, ...]
    molar_mass: float | None = None
    scales: tuple[Scale, ...] = ()
    normal: NormalLimits | None = None


class UnitTable:
    def __init__(
        self, units: Mapping[str, tuple[str, float]], analytes: Iterable[Analyte] = ()
    ) -> None:
        self._units = {unit_key(u): UnitDef(d, f) for u, (d, f) in units.items()}
        names = sorted(
            ((n.lower(), a) for a in analytes for n in a.names), key=lambda t: -len(t[0])
        )
        self._names = [
            (re.compile(rf"(?<![a-z0-9]){re.escape(n)}(?![a-z0-9])"), a) for n, a in names
        ]

    def analyte(self, *texts: str) -> Analyte | None:
        """The analyte the first text that names one names (longest name first, so "urea
        nitrogen" wins over "urea")."""
        for text in texts:
            lowered = text.lower()
            for pattern, analyte in self._names:
                if pattern.search(lowered):
                    return analyte
        return None

    def convert(
        self, value: float, from_unit: str, to_unit: str, names: Sequence[str] = ()
    ) -> float | None:
        """`value` in `to_unit`, or None when the units are unknown or incompatible. `names`
        (the criterion's concept, the record's text) are searched for an analyte only when
        the units need one."""
        a, b = unit_key(from_unit), unit_key(to_unit)
        if a == b:
            return value
        ua, ub = self._units.get(a), self._units.get(b)
        if ua is not None and ub is not None and ua.dimension == ub.dimension:
            return value * ua.factor / ub.factor
        analyte = self.analyte(*names)
        return None if analyte is None else _convert_analyte(value, a, b, ua, ub, analyte)

    def multiple_of_limit(
        self, value: float, unit: str, limit: str, names: Sequence[str]
    ) -> tuple[tuple[float, float], Analyte] | None:
        """`value` as a multiple of the analyte's normal limit (`limit` "x ULN" or "x LLN"):
        the (low, high) interval over the table's range of that limit; None when the table
        gives no such limit for the analyte the names name, or the unit does not convert."""
        analyte = self.analyte(*names)
        normal = analyte.normal if analyte is not None else None
        if normal is None:
            return None
        bounds = normal.upper if limit.lower() == "x uln" else normal.lower
        converted = self.convert(value, unit, normal.unit, names) if bounds else None
        if bounds is None or converted is None:
            return None
        low, high = bounds
        assert analyte is not None
        return (converted / high, converted / low), analyte


def _convert_analyte(
    value: float, a: str, b: str, ua: UnitDef | None, ub: UnitDef | None, analyte: Analyte
) -> float | None:
    """A conversion only the analyte allows: one of its linear scales, else its molar mass
    between a mass and a substance concentration."""
    for s in analyte.scales:
        src, dst = unit_key(s.from_unit), unit_key(s.to_unit)
        if (a, b) == (src, dst):
            return s.scale * value + s.offset
        if (a, b) == (dst, src):
            return (value - s.offset) / s.scale
    if ua is None or ub is None or not analyte.molar_mass:
        return None
    base = value * ua.factor
    if (ua.dimension, ub.dimension) == (MASS, SUBSTANCE):
        return base * _MG_DL_PER_G_L / analyte.molar_mass / ub.factor
    if (ua.dimension, ub.dimension) == (SUBSTANCE, MASS):
        return base * analyte.molar_mass / _MG_DL_PER_G_L / ub.factor
    return None


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


# An interval as (low, low_closed, high, high_closed); infinite ends are open.
_Interval = tuple[float, bool, float, bool]
_INF = float("inf")


def _interval(comparator: str, low: float, high: float | None = None) -> _Interval | None:
    return {
        "=": (low, True, low, True),
        "<": (-_INF, False, low, False),
        "<=": (-_INF, False, low, True),
        ">": (low, False, _INF, False),
        ">=": (low, True, _INF, False),
        "between": (low, True, high, True) if high is not None else None,
    }.get(comparator)


def _within(a: _Interval, b: _Interval) -> bool:
    lo_ok = a[0] > b[0] or (a[0] == b[0] and (b[1] or not a[1]))
    hi_ok = a[2] < b[2] or (a[2] == b[2] and (b[3] or not a[3]))
    return lo_ok and hi_ok


def _apart(a: _Interval, b: _Interval) -> bool:
    def below(x: _Interval, y: _Interval) -> bool:  # x lies entirely below y
        return x[2] < y[0] or (x[2] == y[0] and not (x[3] and y[1]))

    return below(a, b) or below(b, a)


def compare_stated(
    stated: str, value: float, comparator: str, low: float | None, high: float | None
) -> bool | None:
    """`compare` for a value recorded with a bound ("WBC > 12,000"): True when every value the
    record allows satisfies the criterion, False when none does, None when it cannot tell."""
    if not stated or stated == "=":
        return compare(value, comparator, low, high)
    if low is None:
        return None
    recorded, wanted = _interval(stated, value), _interval(comparator, low, high)
    if recorded is None or wanted is None:
        return None
    if _within(recorded, wanted):
        return True
    return False if _apart(recorded, wanted) else None
