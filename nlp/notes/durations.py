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

from nlp.criteria.temporal import UNIT, unit_days
from nlp.criteria.text import COMMON
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


@cache
def _patterns(name: str = "durations") -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(kind, pattern) per template, in order; "3 years of age" is an age, not a span."""
    rules = load_notes_rules(name, DurationRules)
    words = sorted({*COMMON.number_words, *rules.numbers}, key=len, reverse=True)
    number = rf"(?P<n>\d+(?:\.\d+)?|{'|'.join(re.escape(w) for w in words)})"
    return tuple(
        (
            kind,
            re.compile(
                rf"\b{t.replace('{n}', number).replace('{unit}', UNIT)}(?!\s+(?:of\s+)?age\b)",
                re.I,
            ),
        )
        for kind, templates in ((LASTING, rules.lasting), (AGO, rules.ago))
        for t in templates
    )


def _number(word: str, extra: dict[str, float]) -> float | None:
    if word[0].isdigit():
        return float(word)
    lowered = word.lower()
    return COMMON.number_words.get(lowered, extra.get(lowered))


def find_durations(text: str, rules_name: str = "durations") -> list[Duration]:
    """Every duration phrase in `text`, in order; earlier templates win overlaps."""
    extra = load_notes_rules(rules_name, DurationRules).numbers
    out: list[Duration] = []
    for kind, rx in _patterns(rules_name):
        for m in rx.finditer(text):
            if any(d.start < m.end() and m.start() < d.end for d in out):
                continue
            value = _number(m.group("n"), extra)
            if value is None:
                continue
            # "four days of [cough]", "Over the past 3 months, [fatigue]": a phrase ending in
            # "of" or opening the text dates what follows it; "[cough] for 2 days" what precedes.
            forward = m.group().lower().endswith(" of") or not text[: m.start()].strip(
                " \t\n0123456789."
            )
            days = value * unit_days(m.group("unit"))
            out.append(Duration(m.start(), m.end(), days, kind, forward))
    return sorted(out, key=lambda d: d.start)


def nearest(durations: list[Duration], start: int, end: int) -> Duration | None:
    """The duration phrase dating the mention at [start, end) (same text offsets): the
    closest one pointing at it ("four days of non-productive [cough] and one day of fever":
    four days, though "one day of" stands closer)."""
    pointing = [
        d for d in durations if (d.forward and d.end <= start) or (not d.forward and d.start >= end)
    ]
    return min(pointing, key=lambda d: start - d.end if d.forward else d.start - end, default=None)
