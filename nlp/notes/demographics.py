"""Age and sex of the patient a free-text note describes.

Topics (TREC, SIGIR) and admission notes carry the patient's demographics only in prose
("A 45-year-old man", "58 yo F", "74M", "a woman in her 60s"), while the matcher needs them as
structured fields for its hard filters. This is plain regex work over rules kept as data
(`nlp/notes/rules/demographics.yaml`), deliberately free of spaCy so that the topic converter
and the note pipeline can call it cheaply.

Precedence, because notes also talk about relatives ("his 45-year-old brother"): the earliest
age mention not about another person wins; its sex is the person noun right after it, else
the first person noun about the patient, else the majority of pronouns, else anatomy or
obstetric cues that only one sex has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from nlp.notes.schema import DemographicRules, load_notes_rules

_I = re.IGNORECASE


@dataclass(frozen=True, slots=True)
class AgeMention:
    years: float
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Compiled:
    age: tuple[re.Pattern[str], ...]
    short_form: re.Pattern[str]
    short_window: int
    decade: re.Pattern[str]
    decade_words: dict[str, int]
    decade_offsets: dict[str, int]
    units: tuple[tuple[re.Pattern[str], float], ...]
    other_person: re.Pattern[str]
    other_person_after: re.Pattern[str]
    nouns: dict[str, re.Pattern[str]]
    noun_window: int
    pronouns: dict[str, re.Pattern[str]]
    cues: dict[str, re.Pattern[str]]


@cache
def _rules() -> _Compiled:
    r = load_notes_rules("demographics", DemographicRules)
    return _Compiled(
        age=tuple(re.compile(p, _I) for p in r.age_patterns),
        short_form=re.compile(r.short_form_case_sensitive),
        short_window=r.short_form_window,
        decade=re.compile(r.decade_pattern, _I),
        decade_words=dict(r.decade_words),
        decade_offsets=dict(r.decade_offsets),
        units=tuple((re.compile(u.pattern, _I), u.years) for u in r.units),
        other_person=re.compile(r.other_person, _I),
        other_person_after=re.compile(r.other_person_after, _I),
        nouns={k: re.compile(v, _I) for k, v in r.person_nouns.items()},
        noun_window=r.noun_window_words,
        pronouns={k: re.compile(v, _I) for k, v in r.pronouns.items()},
        cues={k: re.compile(v, _I) for k, v in r.cues.items()},
    )


def _about_other_person(text: str, start: int, rules: _Compiled) -> bool:
    return rules.other_person.search(text[max(0, start - 60) : start]) is not None


def _unit_years(unit: str, rules: _Compiled) -> float | None:
    for pattern, years in rules.units:
        if pattern.fullmatch(unit.strip()):
            return years
    return None


def _decade_years(m: re.Match[str], rules: _Compiled) -> float | None:
    word = m.group("decade").lower()
    base = int(word[:-1]) if word[0].isdigit() else rules.decade_words.get(word)
    if base is None:
        return None
    return float(base + rules.decade_offsets[(m.group("part") or "none").lower()])


def find_age(text: str) -> AgeMention | None:
    """The earliest age mention about the patient, in years (fractions for infants)."""
    rules = _rules()
    best: AgeMention | None = None
    candidates: list[tuple[int, int, float]] = []
    for pattern in rules.age:
        for m in pattern.finditer(text):
            years = _unit_years(m.group("unit"), rules) if "unit" in m.re.groupindex else 1.0
            if years is not None:
                candidates.append((m.start(), m.end(), float(m.group("value")) * years))
    window = text[: rules.short_window]
    for m in rules.short_form.finditer(window):
        candidates.append((m.start("value"), m.end(), float(m.group("value"))))
    for m in rules.decade.finditer(text):
        years = _decade_years(m, rules)
        if years is not None:
            candidates.append((m.start(), m.end(), years))
    for start, end, years in sorted(candidates):
        if not 0 <= years < 130 or _about_other_person(text, start, rules):
            continue
        if not rules.other_person_after.match(text[end : end + 60]):
            best = AgeMention(round(years, 4), start, end)
            break
    return best


def _noun_after(text: str, end: int, rules: _Compiled) -> str | None:
    """The sex named by a person noun within a few words after an age mention."""
    words = re.finditer(r"[A-Za-z][A-Za-z'/-]*", text[end:])
    for i, w in enumerate(words):
        if i > rules.noun_window:
            break
        for sex, pattern in rules.nouns.items():
            if pattern.fullmatch(w.group()):
                return sex
    return None


def _first_noun(text: str, rules: _Compiled) -> str | None:
    hits: list[tuple[int, str]] = []
    for sex, pattern in rules.nouns.items():
        for m in pattern.finditer(text):
            if not _about_other_person(text, m.start(), rules):
                hits.append((m.start(), sex))
                break
    return min(hits)[1] if hits else None


def _majority(text: str, patterns: dict[str, re.Pattern[str]]) -> str | None:
    counts = {sex: len(p.findall(text)) for sex, p in patterns.items()}
    ranked = sorted(counts.items(), key=lambda kv: kv[1], reverse=True)
    if not ranked or ranked[0][1] == 0 or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def find_sex(text: str, age: AgeMention | None = None) -> str | None:
    """FHIR administrative gender (`male`/`female`) of the note's patient, or None."""
    rules = _rules()
    for m in rules.short_form.finditer(text[: rules.short_window]):
        return "male" if m.group("sex") == "M" else "female"
    if age is not None:
        sex = _noun_after(text, age.end, rules)
        if sex:
            return sex
    return (
        _first_noun(text, rules) or _majority(text, rules.pronouns) or _majority(text, rules.cues)
    )


def demographics(text: str) -> tuple[float | None, str | None]:
    """(age in years, `male`/`female`) of the patient a note describes; None where unstated."""
    age = find_age(text)
    return (age.years if age else None), find_sex(text, age)
