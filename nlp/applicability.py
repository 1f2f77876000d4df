"""Loads the evaluator's population and qualifier rules (nlp/rules/applicability.yaml,
qualifiers.yaml) strictly."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from matcher.matching.applicability import ApplicabilityRule, Qualifiers
from nlp.rules_loader import StrictModel, load_rules


class _Rule(StrictModel):
    name: str = Field(min_length=1)
    cues: list[str] = Field(min_length=1)
    gender: str = ""
    min_age: float | None = None
    subjects: list[str] = Field(default_factory=list)
    others: list[str] = Field(default_factory=list)


class _Rules(StrictModel):
    rules: list[_Rule] = Field(min_length=1)


@cache
def load_applicability() -> tuple[ApplicabilityRule, ...]:
    parsed = load_rules("applicability", _Rules)
    return tuple(
        ApplicabilityRule(
            r.name,
            tuple(c.lower() for c in r.cues),
            r.gender,
            r.min_age,
            tuple(w.lower() for w in r.subjects),
            tuple(w.lower() for w in r.others),
        )
        for r in parsed.rules
    )


class _Qualifiers(StrictModel):
    window_chars: int = Field(gt=0)
    qualifiers: list[str] = Field(min_length=1)
    governors: list[str] = Field(default_factory=list)
    fillers: list[str] = Field(default_factory=list)
    changes: list[str] = Field(default_factory=list)
    trailers: list[str] = Field(default_factory=list)
    methods: list[str] = Field(default_factory=list)
    current_words: list[str] = Field(default_factory=list)
    past_words: list[str] = Field(default_factory=list)
    permissions: list[str] = Field(default_factory=list)
    permission_blockers: list[str] = Field(default_factory=list)
    sex_scopes: list[str] = Field(default_factory=list)
    stated_by: dict[str, list[str]] = Field(default_factory=dict)
    list_cues: list[str] = Field(default_factory=list)
    restrictions: list[str] = Field(default_factory=list)
    treatment_trailers: list[str] = Field(default_factory=list)
    trailer_blockers: list[str] = Field(default_factory=list)
    healthy: list[str] = Field(default_factory=list)
    healthy_exceptions: list[str] = Field(default_factory=list)


@cache
def load_qualifiers() -> Qualifiers:
    parsed = load_rules("qualifiers", _Qualifiers)
    return Qualifiers(
        tuple(q.lower() for q in parsed.qualifiers),
        parsed.window_chars,
        # Longest first, so "related to" wins over "to" if both were listed.
        tuple(sorted((g.lower() for g in parsed.governors), key=len, reverse=True)),
        frozenset(f.lower() for f in parsed.fillers),
        tuple(c.lower() for c in parsed.changes),
        tuple(sorted((t.lower() for t in parsed.trailers), key=len, reverse=True)),
        frozenset(m.lower() for m in parsed.methods),
        tuple(w.lower() for w in parsed.current_words),
        tuple(w.lower() for w in parsed.past_words),
        tuple(w.lower() for w in parsed.permissions),
        tuple(w.lower() for w in parsed.permission_blockers),
        tuple(w.lower() for w in parsed.sex_scopes),
        {q.lower(): tuple(f.lower() for f in forms) for q, forms in parsed.stated_by.items()},
        tuple(c.lower() for c in parsed.list_cues),
        tuple(r.lower() for r in parsed.restrictions),
        tuple(t.lower() for t in parsed.treatment_trailers),
        frozenset(w.lower() for w in parsed.trailer_blockers),
        tuple(h.lower() for h in parsed.healthy),
        tuple(e.lower() for e in parsed.healthy_exceptions),
    )
