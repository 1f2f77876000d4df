"""Lab values and vital signs in free text: name, comparator, value(s) and a canonical unit.

Notes state values in many shapes ("HbA1c 8.2%", "creatinine of 2.1 mg/dL", "BP 150/95",
"WBC 14,000", "fever up to 39 C", "25% eosinophils") and often without a unit; the matcher
can only compare a value with a criterion's threshold when the unit is known. So a unit is
either read after the value or implied by the lab and the value's magnitude (WBC 14,000 is per
µL, WBC 14 is 10³/µL), and values outside a lab's plausible range for that unit are dropped
rather than guessed. Every name, unit spelling, filler word and range is data
(`nlp/notes/rules/measurements.yaml`); this module only assembles them into regexes.
"""

import re
from dataclasses import dataclass, field, replace
from functools import cache

from spacy.language import Language
from spacy.tokens import Doc, Span

from nlp.notes.schema import MeasurementRules, MeasurementSpec, load_notes_rules

MEASUREMENTS_KEY = "trialmatch_note_measurements"
LAB_LABEL = "LAB"
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
_I = re.IGNORECASE
_MIN_QUALITATIVE_NAME = 3  # "t high" or "k low" are too ambiguous to read as results


@dataclass(frozen=True, slots=True)
class Measurement:
    """One stated result. `components` carries paired values ("150/95" -> systolic, diastolic)."""

    name: str
    start: int
    end: int
    value: float | None = None
    unit: str = ""
    comparator: str = ""
    qualifier: str = ""
    components: tuple[tuple[str, float], ...] = field(default_factory=tuple)

    @property
    def value_text(self) -> str:
        if self.value is None:
            return self.qualifier
        shown = "/".join(f"{v:g}" for _, v in self.components) or f"{self.value:g}"
        return " ".join(p for p in (self.comparator, shown, self.unit) if p)


@dataclass(frozen=True, slots=True)
class _Spec:
    spec: MeasurementSpec
    name: re.Pattern[str]  # the name alone: a cheap gate before the costlier patterns
    name_first: re.Pattern[str]
    value_first: re.Pattern[str] | None
    qualitative: tuple[re.Pattern[str], ...]


@dataclass(frozen=True, slots=True)
class _Compiled:
    specs: tuple[_Spec, ...]
    units: tuple[tuple[re.Pattern[str], str], ...]
    comparators: tuple[tuple[re.Pattern[str], str], ...]
    qualifiers: tuple[tuple[re.Pattern[str], str], ...]
    coordination: re.Pattern[str]
    reject_after: re.Pattern[str]
    implied: tuple[tuple[re.Pattern[str], Measurement], ...] = ()


def _alternation(patterns: list[str]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


def _compile_spec(
    spec: MeasurementSpec, rules: MeasurementRules, fill: str, cmp: str, qual: str
) -> _Spec:
    name = _alternation(spec.patterns)
    head = rf"(?<![\w/'])(?P<name>{name})(?![\w])"
    name_first = re.compile(
        rf"{head}(?:\s*(?:{fill})){{0,{rules.max_fillers}}}\s*(?:(?P<cmp>{cmp})\s*)?"
        rf"(?P<value>{_NUM})(?:\s*/\s*(?P<value2>{_NUM}))?",
        _I,
    )
    value_first = None
    if spec.value_first:
        units = _alternation([u.pattern for u in rules.units if u.unit in spec.units])
        value_first = re.compile(
            rf"(?<![\w.,])(?:(?P<cmp>{cmp})\s*)?(?P<value>{_NUM})\s*(?P<unit>{units})"
            rf"\s*(?:of\s+)?(?P<name>{name})(?![\w])",
            _I,
        )
    qualitative = (
        re.compile(rf"(?<![\w])(?P<qual>{qual})\s+(?:[a-z]+\s+)?{head}", _I),
        re.compile(
            rf"{head}\s+(?:(?:{rules.copulas})\s+)?(?:(?:{rules.intensifiers})\s+)?"
            rf"(?P<qual>{qual})(?![\w])",
            _I,
        ),
    )
    return _Spec(spec, re.compile(head, _I), name_first, value_first, qualitative)


@cache
def _rules(name: str = "measurements") -> _Compiled:
    rules = load_notes_rules(name, MeasurementRules)
    fill = _alternation([rf"(?:{f})(?![a-z])" for f in rules.fillers])
    cmp = _alternation([c.phrase for c in rules.comparators])
    qual = _alternation(list(rules.qualifiers.values()))
    return _Compiled(
        specs=tuple(_compile_spec(s, rules, fill, cmp, qual) for s in rules.measurements),
        units=tuple(
            (re.compile(rf"\s*(?:{u.pattern})(?![a-z0-9])", _I), u.unit) for u in rules.units
        ),
        comparators=tuple(
            (re.compile(rf"(?:{c.phrase})$", _I), c.symbol) for c in rules.comparators
        ),
        qualifiers=tuple(
            (re.compile(rf"(?:{p})$", _I), key) for key, p in rules.qualifiers.items()
        ),
        coordination=re.compile(rf"\s*(?:{rules.coordination})\s*(?:{_NUM})", _I),
        reject_after=re.compile(rules.reject_after, _I),
        implied=tuple(
            (
                re.compile(rf"(?<![\w-])(?:{i.pattern})(?![\w-])", _I),
                Measurement(i.name, 0, 0, i.value, i.unit, i.comparator),
            )
            for i in rules.implied
        ),
    )


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _symbol(text: str | None, rules: _Compiled) -> str:
    if not text:
        return ""
    for pattern, symbol in rules.comparators:
        if pattern.match(text.strip()):
            return symbol
    return ""


def _unit_at(text: str, pos: int, rules: _Compiled) -> tuple[str, int] | None:
    for pattern, unit in rules.units:
        m = pattern.match(text, pos)
        if m:
            return unit, m.end()
    return None


def _resolve_unit(spec: MeasurementSpec, value: float, stated: str | None) -> str | None:
    """The stated unit if the lab accepts it, else (nothing stated) the unit its magnitude
    implies; None when a stated unit is not one of the lab's ("HR 20%") or none fits."""
    if stated is not None:
        return stated if not spec.units or stated in spec.units else None
    if not spec.units:
        return ""
    for implied in spec.implied_units:
        if (implied.min is None or value >= implied.min) and (
            implied.max is None or value <= implied.max
        ):
            return implied.unit
    return None


def _plausible(spec: MeasurementSpec, value: float, unit: str) -> bool:
    bounds = spec.ranges.get(unit)
    return bounds is None or bounds[0] <= value <= bounds[1]


def _name_first(text: str, s: _Spec, rules: _Compiled) -> list[Measurement]:
    out = []
    for m in s.name_first.finditer(text):
        end = m.end()
        stated = _unit_at(text, end, rules)
        if stated is None and rules.reject_after.match(text, end):
            continue
        if (
            stated is None
            and end < len(text)
            and (text[end].isalnum() or (text[end] == "-" and text[end + 1 : end + 2].isdigit()))
        ):
            continue  # "70s", "2-3": not a single stated value
        value = _number(m.group("value"))
        unit = _resolve_unit(s.spec, value, stated[0] if stated else None)
        if unit is None or not _plausible(s.spec, value, unit):
            continue
        components: tuple[tuple[str, float], ...] = ()
        if m.group("value2"):
            if s.spec.pair is None:
                continue
            second = _number(m.group("value2"))
            if not _plausible(s.spec, second, unit) or second >= value:
                continue
            components = ((s.spec.pair[0], value), (s.spec.pair[1], second))
        if stated and (not s.spec.units or stated[0] in s.spec.units):
            end = stated[1]
        if rules.coordination.match(text, end):
            continue  # "LDL and HDL were 545 and 53": values cannot be paired with names
        out.append(
            Measurement(
                s.spec.name,
                m.start(),
                end,
                value,
                unit,
                _symbol(m.group("cmp"), rules),
                components=components,
            )
        )
    return out


def _value_first(text: str, s: _Spec, rules: _Compiled) -> list[Measurement]:
    if s.value_first is None:
        return []
    out = []
    for m in s.value_first.finditer(text):
        value = _number(m.group("value"))
        stated = _unit_at(text, m.start("unit"), rules)
        unit = _resolve_unit(s.spec, value, stated[0] if stated else None)
        if unit is None or not _plausible(s.spec, value, unit):
            continue
        out.append(
            Measurement(
                s.spec.name, m.start(), m.end(), value, unit, _symbol(m.group("cmp"), rules)
            )
        )
    return out


def _qualitative(text: str, s: _Spec, rules: _Compiled) -> list[Measurement]:
    out = []
    for pattern in s.qualitative:
        for m in pattern.finditer(text):
            if len(m.group("name")) < _MIN_QUALITATIVE_NAME:
                continue
            key = next((k for p, k in rules.qualifiers if p.match(m.group("qual"))), "")
            out.append(Measurement(s.spec.name, m.start(), m.end(), qualifier=key))
    return out


def _non_overlapping(found: list[Measurement], taken: list[tuple[int, int]]) -> list[Measurement]:
    """Earliest, then longest, wins; `taken` spans (already accepted) block overlaps."""
    out = []
    for m in sorted(found, key=lambda x: (x.start, -(x.end - x.start))):
        if any(m.start < e and s < m.end for s, e in taken):
            continue
        taken.append((m.start, m.end))
        out.append(m)
    return out


def find_measurements(text: str, rules_name: str = "measurements") -> list[Measurement]:
    """Numeric results first; qualitative ones ("elevated HbA1c") only where no value is."""
    rules = _rules(rules_name)
    numeric: list[Measurement] = []
    qualitative: list[Measurement] = []
    for s in rules.specs:
        if not s.name.search(text):
            continue  # most labs are not named in a given note
        numeric += _name_first(text, s, rules) + _value_first(text, s, rules)
        qualitative += _qualitative(text, s, rules)
    taken: list[tuple[int, int]] = []
    kept = _non_overlapping(numeric, taken)
    kept += _implied(text, rules, {m.name for m in kept}, taken)
    kept += _non_overlapping(qualitative, taken)
    return sorted(kept, key=lambda m: m.start)


def _implied(
    text: str, rules: _Compiled, stated: set[str], taken: list[tuple[int, int]]
) -> list[Measurement]:
    """Bounds that findings imply ("tachycardic": heart rate > 100/min), read only where the
    text states no value of that measurement: a number measured beats a word's definition.
    A note saying only "tachycardic" still answers "heart rate of at least 90/min"."""
    found = [
        replace(template, start=m.start(), end=m.end())
        for pattern, template in rules.implied
        if template.name not in stated
        for m in pattern.finditer(text)
    ]
    return _non_overlapping(found, taken)


def doc_measurements(doc: Doc) -> dict[tuple[int, int], Measurement]:
    """Measurement by the (start_char, end_char) of its span in the target span group."""
    return dict(doc.user_data.get(MEASUREMENTS_KEY, {}))


class MeasurementFinder:
    """Adds LAB spans to the span group; qualitative ones yield to lexicon mentions they
    overlap ("high blood pressure" is hypertension, not a blood-pressure result)."""

    def __init__(self, rules: str, span_group: str) -> None:
        self._rules = rules
        self._group = span_group
        _rules(rules)  # compile now: a bad pattern fails at pipeline build, not mid-ingest

    def __call__(self, doc: Doc) -> Doc:
        existing = list(doc.spans[self._group]) if self._group in doc.spans else []
        taken = [(s.start_char, s.end_char) for s in existing]
        by_span: dict[tuple[int, int], Measurement] = {}
        spans: list[Span] = []
        for m in find_measurements(doc.text, self._rules):
            if m.value is None and any(m.start < e and s < m.end for s, e in taken):
                continue
            span = doc.char_span(m.start, m.end, label=LAB_LABEL, alignment_mode="expand")
            if span is None or (span.start_char, span.end_char) in by_span:
                continue
            by_span[(span.start_char, span.end_char)] = m
            spans.append(span)
        doc.user_data[MEASUREMENTS_KEY] = by_span
        doc.spans[self._group] = existing + spans
        return doc


@Language.factory(
    "trialmatch_note_measurements",
    default_config={"rules": "measurements", "span_group": "note_targets"},
)
def make_measurement_finder(
    nlp: Language, name: str, rules: str, span_group: str
) -> MeasurementFinder:
    return MeasurementFinder(rules, span_group)
