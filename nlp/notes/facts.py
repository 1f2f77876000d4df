"""A processed note Doc -> Facts: normalised text, kind, value/unit, assertion, evidence.

Assertion comes from three places that can disagree: ConText modifiers ("denies", "mother
had"), the section the mention is in ("Family History:"), and the term itself ("afebrile" is
fever, absent). All candidates are collected and the first in `assertion_precedence` wins, so
"no family history of X" is family (not the patient's) and "no history of X" is absent.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from spacy.tokens import Doc, Span

from matcher.model import Assertion, Code, Fact, FactKind, Note
from nlp.notes.context import SectionPolicy, section_of
from nlp.notes.durations import AGO, Duration, find_durations, nearest
from nlp.notes.lexicon import term_of
from nlp.notes.measurements import LAB_LABEL, Measurement, doc_measurements
from nlp.notes.schema import PipelineRules
from nlp.notes.sentences import Sentence, note_sentences


def _assertion(
    span: Span,
    category: str,
    own: str | None,
    policy: SectionPolicy | None,
    rules: PipelineRules,
) -> Assertion:
    found = {
        rules.context_assertions[m.category]
        for m in span._.modifiers
        if m.category in rules.context_assertions
    }
    if policy is not None and policy.assertion:
        found.add(policy.assertion)
    if own:
        found.add(own)  # type: ignore[arg-type]
    found -= set(rules.ignored_assertions.get(category, ()))  # type: ignore[call-overload]
    for name in rules.assertion_precedence:
        if name in found:
            return Assertion(name)
    return Assertion.PRESENT


def _sentence(sentences: list[Sentence], starts: list[int], char: int) -> Sentence | None:
    i = bisect_right(starts, char) - 1
    return sentences[max(i, 0)] if sentences else None


def _lab_facts(m: Measurement, base: Fact) -> list[Fact]:
    """The result itself, plus one fact per paired component (systolic, diastolic)."""
    out = [
        replace(
            base,
            text=m.name,
            value=m.value,
            unit=m.unit,
            value_text=m.value_text,
            comparator=m.comparator,
        )
    ]
    for name, value in m.components:
        text = f"{value:g} {m.unit}"
        out.append(
            replace(
                base, text=name, value=value, unit=m.unit, value_text=text, comparator=m.comparator
            )
        )
    return out


def _dated(
    fact: Fact, note_date: datetime | None, duration: Duration | None, measured: bool
) -> Fact:
    """The fact with the dates its sentence states: a finding "for 2 days" began two days
    before the note and still holds on its date; an event "2 years earlier" happened then.
    A value measured "for 2 days" is not dated by it (only "2 weeks ago" dates a value)."""
    if note_date is None or duration is None:
        return fact
    when = note_date - timedelta(days=duration.days)
    if duration.kind == AGO and fact.assertion in (Assertion.PRESENT, Assertion.HISTORICAL):
        return replace(fact, start=when, end=when)
    if not measured and fact.assertion == Assertion.PRESENT:
        return replace(fact, start=when, end=note_date)
    return fact


def _words(text: str) -> list[str]:
    return text.lower().replace("-", " ").split()


def _stems(words: list[str]) -> set[str]:
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words}


def _specific_name(name: str, surface: str) -> str:
    """The words the note used when they name a kind of the lexicon term ("cryptogenic
    stroke", "unstable angina" for "stroke", "angina"): the term's name alone would lose what
    a criterion may ask about. Other synonyms ("heart attack") give the term's name."""
    words = _words(surface)
    return " ".join(words) if _stems(_words(name)) < _stems(words) else name


def _narrowing(span: Span, text: str, rules: PipelineRules) -> str | None:
    """The modifier just before a negated mention that narrows what is denied, if any."""
    if span.start == 0 or not rules.narrowing_modifiers:
        return None
    word = span.doc[span.start - 1].lower_
    if word in rules.narrowing_modifiers and word not in text.split():
        return word
    return None


def doc_facts(
    doc: Doc,
    note: Note,
    rules: PipelineRules,
    sections: Mapping[str, SectionPolicy],
    ner: Mapping[tuple[int, int], str] | None = None,
) -> list[Fact]:
    """Facts of every mention in the span group, deduplicated per sentence."""
    sentences = note_sentences(doc)
    starts = [s.start for s in sentences]
    measurements = doc_measurements(doc)
    ner = ner or {}
    out: dict[tuple[object, ...], Fact] = {}
    durations: dict[int, list[Duration]] = {}  # per sentence index, in note offsets
    for span in doc.spans.get(rules.span_group, []):
        category = span.label_.lower()
        key = (span.start_char, span.end_char)
        term = term_of(span._.target_rule) if span.label_ != LAB_LABEL else None
        measurement = measurements.get(key) if span.label_ == LAB_LABEL else None
        if term is None and measurement is None and key not in ner:
            continue
        section = section_of(span)
        policy = sections.get(section) if section else None
        assertion = _assertion(span, category, term.assertion if term else None, policy, rules)
        kind_name = rules.fact_kinds.get(category, "note-mention")  # type: ignore[call-overload]
        if policy is not None:
            kind_name = policy.kind_overrides.get(category, kind_name)
        sentence = _sentence(sentences, starts, span.start_char)
        text = " ".join(span.text.lower().split())
        if term:
            spelled = span._.target_rule.pattern is None  # not an abbreviation ("LE edema")
            text = _specific_name(term.name, text) if spelled else term.name
        codes = [Code(system, code) for system, code in term.codes] if term else []
        narrowing = _narrowing(span, text, rules) if assertion == Assertion.ABSENT else None
        if narrowing:
            text, codes = f"{narrowing} {text}", []
        base = Fact(
            kind=FactKind(kind_name),
            text=text,
            source=f"{note.source}#s{sentence.index}" if sentence else note.source,
            codes=codes,
            start=None if assertion == Assertion.HISTORICAL else note.date,
            assertion=assertion,
            sentence=sentence.text(doc.text) if sentence else "",
        )
        if sentence is not None:
            found = durations.get(sentence.index)
            if found is None:
                found = durations[sentence.index] = [
                    replace(d, start=d.start + sentence.start, end=d.end + sentence.start)
                    for d in find_durations(doc.text[sentence.start : sentence.end])
                ]
            duration = nearest(found, span.start_char, span.end_char)
            base = _dated(base, note.date, duration, measured=measurement is not None)
        facts = _lab_facts(measurement, base) if measurement else [base]
        for fact in facts:
            dedupe = (fact.kind, fact.text, fact.assertion, fact.source, fact.value, fact.unit)
            out.setdefault(dedupe, fact)
    return list(out.values())
