"""Durations a note states ("fever for 2 days", "an MI 2 years earlier"), for fact dates.

A note is dated when it was written, so a fact read from it is only known to hold on that
date. A stated duration says more: a finding "for 2 days" began two days before the note (so
"fever for more than one week" is not met), and an event "2 years earlier" happened then (so
"myocardial infarction within 6 months" is not). The phrases are data
(nlp/notes/rules/durations.yaml); this module compiles them and finds the nearest one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from nlp.notes.schema import DurationRules, load_notes_rules

LASTING = "lasting"
AGO = "ago"


@dataclass(frozen=True, slots=True)
class Duration:
    start: int  # character offsets in the searched text
    end: int
    days: float
    kind: str  # LASTING: began `days` before; AGO: happened `days` before
    forward: bool = False  # dates what follows ("four days of cough"), else what precedes


@dataclass(frozen=True, slots=True)
class _Compiled:
    pattern: re.Pattern[str]
    units: tuple[tuple[re.Pattern[str], float], ...]
    numbers: dict[str, float]


def _template(template: str, number: str, unit: str) -> str:
    body = template.replace("{n}", f"(?P<n>{number})").replace("{unit}", f"(?P<unit>{unit})")
    return rf"\b{body}\b"


@cache
def _rules(name: str = "durations") -> _Compiled:
    rules = load_notes_rules(name, DurationRules)
    words = sorted(rules.numbers, key=len, reverse=True)
    number = r"\d+(?:\.\d+)?|" + "|".join(re.escape(w) for w in words)
    unit = "|".join(f"(?:{u.pattern})" for u in rules.units)
    # One alternation, a named group per phrase kind; "3 years of age" is an age, not a span.
    alternatives = [
        f"(?P<{kind}{i}>{_template(t, number, unit)})"
        for kind, templates in ((LASTING, rules.lasting), (AGO, rules.ago))
        for i, t in enumerate(templates)
    ]
    body = "|".join(alternatives)
    # Group names must be unique: number each template's inner groups apart.
    counter = iter(range(10_000))
    body = re.sub(r"\(\?P<(n|unit)>", lambda m: f"(?P<{m.group(1)}_{next(counter)}>", body)
    return _Compiled(
        re.compile(rf"(?:{body})(?!\s+(?:of\s+)?age\b)", re.I),
        tuple((re.compile(rf"^(?:{u.pattern})$", re.I), u.days) for u in rules.units),
        {k.lower(): v for k, v in rules.numbers.items()},
    )


def find_durations(text: str, rules_name: str = "durations") -> list[Duration]:
    """Every duration phrase in `text`, in order."""
    rules = _rules(rules_name)
    out: list[Duration] = []
    for m in rules.pattern.finditer(text):
        groups = {k: v for k, v in m.groupdict().items() if v is not None}
        kind = next(k for k in groups if k.startswith((LASTING, AGO)))
        n = next(v for k, v in groups.items() if k.startswith("n_"))
        unit = next(v for k, v in groups.items() if k.startswith("unit_"))
        value = float(n) if n[0].isdigit() else rules.numbers.get(n.lower())
        per = next((days for p, days in rules.units if p.match(unit)), None)
        if value is None or per is None:
            continue
        kind = AGO if kind.startswith(AGO) else LASTING
        # "four days of [cough]", "Over the past 3 months, [fatigue]": a phrase ending in
        # "of" or opening the text dates what follows it; "[cough] for 2 days" what precedes.
        phrase = m.group().lower()
        forward = phrase.endswith(" of") or not text[: m.start()].strip(" \t\n0123456789.")
        out.append(Duration(m.start(), m.end(), value * per, kind, forward))
    return out


def nearest(durations: list[Duration], start: int, end: int) -> Duration | None:
    """The duration phrase dating the mention at [start, end) (same text offsets): the
    closest one pointing at it ("four days of non-productive [cough] and one day of fever":
    four days, though "one day of" stands closer)."""
    pointing = [
        d for d in durations if (d.forward and d.end <= start) or (not d.forward and d.start >= end)
    ]
    return min(pointing, key=lambda d: start - d.end if d.forward else d.start - end, default=None)
